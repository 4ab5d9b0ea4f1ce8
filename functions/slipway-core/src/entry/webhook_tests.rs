use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use futures::executor::block_on;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::webhook::{MAX_BODY_BYTES, handle_webhook};
use super::{Handled, Reply, follow_up};
use crate::config::ControlPlane;
use crate::engine::{Deps, callback_token, tick};
use crate::ports::{HttpClient, HttpError, HttpRequest, HttpResponse, Secrets};
use crate::providers::Headers;
use crate::runs::{RunStatus, RunStore, StageStatus};
use crate::testing::{FakeClock, MemKv};

const PUSH: &str = include_str!("../../tests/fixtures/providers/github/push_new_branch.json");
const PING: &str = include_str!("../../tests/fixtures/providers/github/ping.json");
const SECRET: &str = "It's a Secret to Everybody";
const SHA: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";

const CONFIG: &str = r#"
public_url = "https://slipway.test"
[providers.github]
api_base = "https://git.test"
token_secret = "github_token"
webhook_secret = "github_webhook_secret"
[apps.hello]
provider = "github"
repo = "Codertocat/Hello-World"
[build_services.ci]
type = "jenkins"
url = "https://jenkins.test"
user = "slipway"
token_secret = "jenkins_token"
"#;

const PIPELINE: &str = r#"
[stages.unit]
kind = "build"
service = "ci"
job = "hello/unit"
retries = 2
[stages.image]
kind = "build"
service = "ci"
job = "hello/image"
needs = ["unit"]
"#;

/// Answers like GitHub and Jenkins would; records every request.
struct ScriptedHttp {
    pipeline: Option<&'static str>,
    jenkins_down: bool,
    requests: RefCell<Vec<HttpRequest>>,
}

impl ScriptedHttp {
    fn new(pipeline: Option<&'static str>) -> Self {
        ScriptedHttp {
            pipeline,
            jenkins_down: false,
            requests: RefCell::new(Vec::new()),
        }
    }

    fn to(&self, fragment: &str) -> Vec<HttpRequest> {
        self.requests
            .borrow()
            .iter()
            .filter(|r| r.url.contains(fragment))
            .cloned()
            .collect()
    }
}

fn response(status: u16, body: &str, headers: &[(&str, &str)]) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

impl HttpClient for ScriptedHttp {
    async fn send(
        &self,
        request: HttpRequest,
        _timeout_ms: u64,
    ) -> Result<HttpResponse, HttpError> {
        self.requests.borrow_mut().push(request.clone());
        let url = request.url.as_str();
        if url.contains("/contents/.slipway/pipeline.toml") {
            return Ok(match self.pipeline {
                Some(p) => response(200, p, &[]),
                None => response(404, r#"{"message":"Not Found"}"#, &[]),
            });
        }
        if url.contains("/statuses/") {
            return Ok(response(201, "{}", &[]));
        }
        if url.starts_with("https://jenkins.test") {
            if self.jenkins_down {
                return Err(HttpError::Transport("connection refused".into()));
            }
            if url.contains("buildWithParameters") {
                return Ok(response(
                    201,
                    "",
                    &[("location", "https://jenkins.test/queue/item/7/")],
                ));
            }
            if url.contains("/queue/item/7/") {
                return Ok(response(
                    200,
                    r#"{"id":7,"why":"In the quiet period","executable":null}"#,
                    &[],
                ));
            }
        }
        Ok(response(404, "not scripted", &[]))
    }
}

struct MapSecrets(BTreeMap<&'static str, &'static str>);

impl Secrets for MapSecrets {
    async fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).map(|v| v.to_string())
    }
}

fn secrets() -> MapSecrets {
    MapSecrets(
        [
            ("github_webhook_secret", SECRET),
            ("github_token", "gh-token"),
            ("jenkins_token", "jenkins-api-token"),
            ("callback_secret", "cb-secret"),
        ]
        .into(),
    )
}

fn signed(event: &str, delivery: &str, body: &str) -> Headers {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let sig = hex::encode(mac.finalize().into_bytes());
    [
        ("content-type", "application/json".to_string()),
        ("x-github-event", event.to_string()),
        ("x-github-delivery", delivery.to_string()),
        ("x-hub-signature-256", format!("sha256={sig}")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

struct World {
    kv: MemKv,
    http: ScriptedHttp,
    clock: FakeClock,
    secrets: MapSecrets,
    config: ControlPlane,
}

impl World {
    fn new(pipeline: Option<&'static str>) -> Self {
        World {
            kv: MemKv::default(),
            http: ScriptedHttp::new(pipeline),
            clock: FakeClock(Cell::new(1_700_000_000_000)),
            secrets: secrets(),
            config: ControlPlane::parse(CONFIG).unwrap(),
        }
    }

    fn deps(&self) -> Deps<'_, MemKv, ScriptedHttp, FakeClock, MapSecrets> {
        Deps {
            kv: &self.kv,
            http: &self.http,
            clock: &self.clock,
            secrets: &self.secrets,
            config: &self.config,
        }
    }

    /// The webhook alone, as answered.
    fn answer(&self, provider: &str, headers: &Headers, body: &str) -> Handled {
        block_on(handle_webhook(
            &self.deps(),
            provider,
            headers,
            body.as_bytes(),
        ))
    }

    /// The webhook and the work after its answer.
    fn hook(&self, provider: &str, headers: &Headers, body: &str) -> Reply {
        let handled = self.answer(provider, headers, body);
        block_on(follow_up(&self.deps(), &handled));
        handled.reply
    }

    /// Lets `ms` pass, then ticks.
    fn tick_after(&self, ms: u64) {
        self.clock.0.set(self.clock.0.get() + ms);
        block_on(tick::tick(&self.deps(), 60_000));
    }

    fn run(&self, id: &str) -> crate::runs::RunRecord {
        block_on(RunStore::new(&self.kv).load(id)).unwrap().unwrap()
    }
}

#[test]
fn a_signed_push_creates_one_run_and_triggers_the_first_stage() {
    let w = World::new(Some(PIPELINE));
    let reply = w.hook("github", &signed("push", "d-1", PUSH), PUSH);
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.body["run"], "hello-1");
    assert_eq!(reply.body["number"], 1);

    let run = w.run("hello-1");
    assert_eq!(run.trigger.commit, SHA);
    assert_eq!(run.stages["unit"].status, StageStatus::Running);
    assert_eq!(run.stages["image"].status, StageStatus::Queued);
    assert_eq!(run.status, RunStatus::Running);

    let triggers = w.http.to("buildWithParameters");
    assert_eq!(triggers.len(), 1);
    let form = String::from_utf8(triggers[0].body.clone()).unwrap();
    assert!(
        triggers[0].url.contains("/job/hello/job/unit/"),
        "{}",
        triggers[0].url
    );
    assert!(form.contains("SLIPWAY_RUN=hello-1"), "{form}");
    assert!(form.contains(&format!("SLIPWAY_COMMIT={SHA}")), "{form}");
    let token = callback_token("cb-secret", "hello-1", "unit", 1);
    assert!(
        form.contains(&format!("SLIPWAY_CALLBACK_TOKEN={token}")),
        "{form}"
    );
    assert!(
        form.contains("slipway.test%2Fcallbacks%2Fhello-1%2Funit"),
        "{form}"
    );

    let statuses = w.http.to("/statuses/");
    assert_eq!(statuses.len(), 1, "pending status at start");
    let body: serde_json::Value = serde_json::from_slice(&statuses[0].body).unwrap();
    assert_eq!(body["state"], "pending");
    assert_eq!(body["target_url"], "https://slipway.test/api/runs/hello-1");
}

#[test]
fn the_webhook_answers_after_three_keys_and_leaves_the_rest_to_the_engine() {
    let w = World::new(Some(PIPELINE));
    let handled = w.answer("github", &signed("push", "d-1", PUSH), PUSH);
    assert_eq!(handled.reply.status, 202, "{}", handled.reply.body);
    assert_eq!(w.kv.keys().len(), 3, "{:?}", w.kv.keys());
    assert!(
        w.http.to("buildWithParameters").is_empty(),
        "nothing triggered yet"
    );
    assert_eq!(w.run("hello-1").stages["unit"].status, StageStatus::Queued);
    // The response went out and the instance died: the tick does the rest.
    w.tick_after(1_000);
    assert_eq!(w.run("hello-1").stages["unit"].status, StageStatus::Running);
    assert_eq!(w.http.to("buildWithParameters").len(), 1);
    w.tick_after(1_000);
    assert_eq!(w.http.to("buildWithParameters").len(), 1, "once");
}

#[test]
fn a_redelivery_or_the_same_push_under_another_id_creates_nothing() {
    let w = World::new(Some(PIPELINE));
    assert_eq!(
        w.hook("github", &signed("push", "d-1", PUSH), PUSH).status,
        202
    );
    let writes = w.kv.writes.get();
    let keys = w.kv.keys();
    for delivery in ["d-1", "d-2"] {
        let reply = w.hook("github", &signed("push", delivery, PUSH), PUSH);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["run"], "hello-1");
        assert_eq!(reply.body["duplicate"], true);
    }
    assert_eq!(w.kv.writes.get(), writes);
    assert_eq!(w.kv.keys(), keys);
    assert_eq!(w.http.to("buildWithParameters").len(), 1);
}

#[test]
fn rejected_and_ignored_requests_write_nothing() {
    let w = World::new(Some(PIPELINE));
    let mut bad = signed("push", "d-1", PUSH);
    bad.insert(
        "x-hub-signature-256".into(),
        format!("sha256={}", "0".repeat(64)),
    );
    assert_eq!(w.hook("github", &bad, PUSH).status, 401);
    let mut unsigned = signed("push", "d-1", PUSH);
    unsigned.remove("x-hub-signature-256");
    assert_eq!(w.hook("github", &unsigned, PUSH).status, 401);
    let garbage = "{not json";
    assert_eq!(
        w.hook("github", &signed("push", "d-1", garbage), garbage)
            .status,
        400
    );
    assert_eq!(
        w.hook("svn", &signed("push", "d-1", PUSH), PUSH).status,
        404
    );
    let ping = w.hook("github", &signed("ping", "d-3", PING), PING);
    assert_eq!(
        (ping.status, ping.body["ignored"].as_str()),
        (200, Some("ping"))
    );
    let big = " ".repeat(MAX_BODY_BYTES + 1);
    assert_eq!(
        w.hook("github", &signed("push", "d-4", &big), &big).status,
        413
    );
    assert_eq!(w.kv.writes.get(), 0);
    assert!(w.kv.keys().is_empty());
}

#[test]
fn no_pipeline_file_or_a_filtered_branch_is_ignored() {
    let w = World::new(None);
    let reply = w.hook("github", &signed("push", "d-1", PUSH), PUSH);
    assert_eq!(reply.status, 200);
    assert!(
        reply.body["ignored"]
            .as_str()
            .unwrap()
            .contains("no pipeline file")
    );
    let filtered: &'static str =
        Box::leak(format!("[triggers]\nbranches = [\"main\"]\n{PIPELINE}").into_boxed_str());
    let w2 = World::new(Some(filtered));
    let reply = w2.hook("github", &signed("push", "d-1", PUSH), PUSH);
    assert_eq!(reply.status, 200);
    assert!(
        reply.body["ignored"].as_str().unwrap().contains("master"),
        "{}",
        reply.body
    );
    assert_eq!(w.kv.writes.get() + w2.kv.writes.get(), 0);
}

#[test]
fn an_invalid_pipeline_fails_the_run_with_line_and_column() {
    let w = World::new(Some("[stages.unit]\nkind = \"build\"\nservice = 3\n"));
    let reply = w.hook("github", &signed("push", "d-1", PUSH), PUSH);
    assert_eq!(reply.status, 202, "{}", reply.body);
    let run = w.run("hello-1");
    assert_eq!(run.status, RunStatus::Failed);
    let error = run.error.unwrap();
    assert!(error.contains("line 3, column"), "{error}");
    let statuses = w.http.to("/statuses/");
    let last: serde_json::Value = serde_json::from_slice(&statuses.last().unwrap().body).unwrap();
    assert_eq!(last["state"], "error");
    assert!(
        last["description"].as_str().unwrap().contains("line 3"),
        "{last}"
    );
}

#[test]
fn a_build_service_that_is_down_fails_the_stage_after_its_retries() {
    let mut w = World::new(Some(PIPELINE));
    w.http.jenkins_down = true;
    let reply = w.hook("github", &signed("push", "d-1", PUSH), PUSH);
    assert_eq!(reply.status, 202);
    assert_eq!(
        w.run("hello-1").stages["unit"].status,
        StageStatus::Queued,
        "backing off"
    );
    w.tick_after(1_000);
    w.tick_after(2_000);
    let run = w.run("hello-1");
    assert_eq!(run.stages["unit"].status, StageStatus::Failed);
    assert_eq!(run.stages["image"].status, StageStatus::Cancelled);
    assert_eq!(run.status, RunStatus::Failed);
    let reason = run.stages["unit"].reason.clone().unwrap();
    assert!(reason.contains("3 attempts"), "{reason}");
    assert_eq!(w.http.to("buildWithParameters").len(), 3);
    let statuses = w.http.to("/statuses/");
    let last: serde_json::Value = serde_json::from_slice(&statuses.last().unwrap().body).unwrap();
    assert_eq!(last["state"], "failure");
}
