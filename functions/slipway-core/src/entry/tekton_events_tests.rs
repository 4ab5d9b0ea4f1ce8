use std::cell::Cell;
use std::collections::BTreeMap;

use futures::executor::block_on;
use serde_json::Value;

use super::{CloudEventError, MAX_EVENT_BYTES, handle_tekton_event, parse};
use crate::config::ControlPlane;
use crate::engine::Deps;
use crate::pipeline::Pipeline;
use crate::ports::Secrets;
use crate::providers::Headers;
use crate::runs::{BuildIndex, BuildRef, PipelineSource, RunRecord, RunStore, RunTrigger};
use crate::testing::{FakeClock, MemKv};

const BODY: &str =
    include_str!("../../tests/fixtures/providers/tekton/pipelinerun_successful.json");
const HEADERS: &str =
    include_str!("../../tests/fixtures/providers/tekton/pipelinerun_successful.headers.json");
const NAME: &str = "slipway-build-x7k2p";

const CONFIG: &str = r#"
public_url = "https://slipway.test"
[apps.hello]
provider = "github"
repo = "acme/hello"
[build_services.tekton]
type = "tekton"
api_server = "https://k8s.test"
namespace = "default"
token_secret = "tekton_token"
"#;

struct MapSecrets(BTreeMap<&'static str, &'static str>);

impl Secrets for MapSecrets {
    async fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).map(|v| v.to_string())
    }
}

fn documented_headers() -> Headers {
    let map: BTreeMap<String, String> = serde_json::from_str(HEADERS).expect("fixture");
    map.into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

struct World {
    kv: MemKv,
    clock: FakeClock,
    secrets: MapSecrets,
    config: ControlPlane,
}

impl World {
    fn new(config: &str) -> World {
        World {
            kv: MemKv::default(),
            clock: FakeClock(Cell::new(1_700_000_000_000)),
            secrets: MapSecrets([("tekton_events_token", "sink-token")].into()),
            config: ControlPlane::parse(config).expect("config"),
        }
    }

    fn deps(&self) -> Deps<'_, MemKv, (), FakeClock, MapSecrets> {
        Deps {
            kv: &self.kv,
            http: &(),
            clock: &self.clock,
            secrets: &self.secrets,
            config: &self.config,
        }
    }

    /// A run whose `build` stage runs PipelineRun [`NAME`], indexed.
    fn running_stage(&self) {
        let pipeline = Pipeline::parse(
            "[stages.build]\nkind = \"build\"\nservice = \"tekton\"\njob = \"b\"\n",
        )
        .expect("pipeline");
        let trigger = RunTrigger {
            provider: "github".into(),
            repo: "acme/hello".into(),
            clone_url: None,
            git_ref: "refs/heads/main".into(),
            commit: "a".repeat(40),
            kind: "push".into(),
            target_branch: None,
            merge_request: None,
            pipeline_ref: None,
            actor: None,
            delivery_id: None,
            source: None,
        };
        let mut run = RunRecord::new("hello", 1, trigger, PipelineSource::Read(pipeline), 1);
        run.stage_started("build", 1, 2, Some(NAME.into()), None)
            .expect("starts");
        block_on(RunStore::new(&self.kv).create(&run)).expect("stored");
        let target = BuildRef {
            run: "hello-1".into(),
            stage: "build".into(),
            attempt: 1,
        };
        block_on(BuildIndex::new(&self.kv).put("tekton", NAME, &target)).expect("indexed");
    }

    fn post(&self, headers: &Headers, query: &str, body: &str) -> super::Handled {
        block_on(handle_tekton_event(
            &self.deps(),
            headers,
            query,
            body.as_bytes(),
        ))
    }

    fn requested(&self) -> Option<u64> {
        let run = block_on(RunStore::new(&self.kv).load("hello-1"))
            .expect("loads")
            .expect("exists");
        run.stages["build"].poll_requested_at_ms
    }
}

#[test]
fn documented_binary_event_parses() {
    let event = parse(&documented_headers(), BODY.as_bytes()).expect("parses");
    assert_eq!(event.kind, "dev.tekton.event.pipelinerun.successful.v1");
    assert_eq!(event.name.as_deref(), Some(NAME));
}

#[test]
fn structured_mode_reads_the_envelope() {
    let data: Value = serde_json::from_str(BODY).expect("fixture");
    let envelope = serde_json::json!({
        "specversion": "1.0", "type": "dev.tekton.event.pipelinerun.failed.v1",
        "source": "/apis/tekton.dev/v1/namespaces/default/pipelineruns/x",
        "id": "1", "subject": "other-name", "data": data,
    });
    let headers: Headers = [(
        "content-type".to_owned(),
        "application/cloudevents+json; charset=utf-8".to_owned(),
    )]
    .into();
    let event = parse(&headers, envelope.to_string().as_bytes()).expect("parses");
    assert_eq!(event.kind, "dev.tekton.event.pipelinerun.failed.v1");
    assert_eq!(event.name.as_deref(), Some(NAME), "metadata before subject");
}

#[test]
fn a_successful_event_asks_for_a_poll_once_and_never_ends_the_stage() {
    let world = World::new(CONFIG);
    world.running_stage();
    let handled = world.post(&documented_headers(), "", BODY);
    assert_eq!(handled.reply.status, 202, "{:?}", handled.reply);
    assert_eq!(handled.follow_ups.len(), 1);
    assert_eq!(world.requested(), Some(1_700_000_000_000));
    let run = block_on(RunStore::new(&world.kv).load("hello-1"))
        .unwrap()
        .unwrap();
    assert_eq!(
        run.stages["build"].status,
        crate::runs::StageStatus::Running
    );
    // A flood of the same event writes nothing more and reconciles nothing.
    let writes = world.kv.writes.get();
    for _ in 0..20 {
        let again = world.post(&documented_headers(), "", BODY);
        assert_eq!(again.reply.status, 200, "{:?}", again.reply);
        assert!(again.follow_ups.is_empty());
    }
    assert_eq!(world.kv.writes.get(), writes);
}

#[test]
fn other_types_unknown_runs_and_non_events_ask_for_nothing() {
    let world = World::new(CONFIG);
    world.running_stage();
    let mut running = documented_headers();
    running.insert(
        "ce-type".into(),
        "dev.tekton.event.pipelinerun.running.v1".into(),
    );
    assert_eq!(
        world.post(&running, "", BODY).reply.body["ignored"],
        "dev.tekton.event.pipelinerun.running.v1: not the end of a PipelineRun"
    );
    let mut task = documented_headers();
    task.insert(
        "ce-type".into(),
        "dev.tekton.event.taskrun.successful.v1".into(),
    );
    assert!(world.post(&task, "", BODY).follow_ups.is_empty());
    let other = BODY.replace(NAME, "someone-elses-run");
    let reply = world.post(&documented_headers(), "", &other).reply;
    assert_eq!(
        reply.body["ignored"],
        "no stage is waiting for this PipelineRun"
    );
    assert_eq!(world.requested(), None);
    let plain: Headers = [("content-type".to_owned(), "application/json".to_owned())].into();
    assert_eq!(world.post(&plain, "", BODY).reply.status, 400);
    let reply = world.post(&documented_headers(), "", "{not json").reply;
    assert_eq!(reply.status, 400);
    assert_eq!(parse(&plain, b"{}"), Err(CloudEventError::NotCloudEvent));
    let huge = " ".repeat(MAX_EVENT_BYTES + 1);
    assert_eq!(
        world.post(&documented_headers(), "", &huge).reply.status,
        413
    );
}

#[test]
fn a_configured_sink_token_is_required() {
    let config = format!("{CONFIG}events_token_secret = \"tekton_events_token\"\n");
    let world = World::new(&config);
    world.running_stage();
    for query in ["", "token=wrong", "other=sink-token"] {
        let reply = world.post(&documented_headers(), query, BODY).reply;
        assert_eq!(reply.status, 401, "{query}");
        assert!(!reply.body.to_string().contains("sink-token"));
    }
    assert_eq!(world.requested(), None);
    let reply = world
        .post(&documented_headers(), "token=sink-token", BODY)
        .reply;
    assert_eq!(reply.status, 202, "{reply:?}");
}
