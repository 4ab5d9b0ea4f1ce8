use futures::executor::block_on;

use super::*;
use crate::config::ControlPlane;
use crate::obs::exposition;
use crate::obs::traced::{CallContext, Traced};
use crate::pipeline::Pipeline;
use crate::ports::{HttpClient, HttpError, HttpRequest, HttpResponse};
use crate::runs::{PipelineSource, RunStore, RunTrigger, StageStatus};
use crate::testing::{FakeClock, MemKv};

const PIPELINE: &str = r#"
[stages.unit]
kind = "build"
service = "ci"
job = "unit"
[stages.approve]
kind = "approval"
needs = ["unit"]
"#;

const CONFIG: &str = r#"
public_url = "https://slipway.example.com"
[providers.github]
api_base = "https://api.github.com"
token_secret = "github_token"
webhook_secret = "github_webhook_secret"
[apps.shop]
provider = "github"
repo = "acme/shop"
[build_services.ci]
type = "jenkins"
url = "https://jenkins.example.com"
user = "slipway"
token_secret = "jenkins_token"
"#;

fn run(number: u64) -> RunRecord {
    let trigger = RunTrigger {
        provider: "github".into(),
        repo: "acme/shop".into(),
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
    let pipeline = PipelineSource::Read(Pipeline::parse(PIPELINE).unwrap());
    RunRecord::new("shop", number, trigger, pipeline, 1_000)
}

fn count(kv: &MemKv, key: &str) -> i64 {
    block_on(kv.increment(key, 0)).unwrap()
}

#[test]
fn buckets_take_their_upper_bound() {
    assert_eq!(WEBHOOK_ANSWER.bucket_of(0), 0);
    assert_eq!(WEBHOOK_ANSWER.bucket_of(5), 0);
    assert_eq!(WEBHOOK_ANSWER.bucket_of(6), 1);
    assert_eq!(WEBHOOK_ANSWER.bucket_of(5_000), 9);
    assert_eq!(WEBHOOK_ANSWER.bucket_of(5_001), 10, "+Inf");
}

#[test]
fn transitions_count_once_each() {
    let kv = MemKv::default();
    let runs = RunStore::new(&kv);
    block_on(runs.create(&run(1))).unwrap();
    assert!(
        kv.keys().iter().all(|k| !k.starts_with("metrics/")),
        "a new run counts nothing"
    );
    let id = run(1).id;
    let start = |r: &mut RunRecord| r.stage_started("unit", 1, 2_000, None, None).map(|_| ());
    block_on(runs.update(&id, start)).unwrap();
    let finish = |r: &mut RunRecord| {
        r.stage_finished("unit", 1, StageStatus::Failed, 9_500, None)
            .map(|_| ())
    };
    block_on(runs.update(&id, finish)).unwrap();
    // The same report again changes nothing and counts nothing.
    block_on(runs.update(&id, finish)).unwrap();
    let bucket = STAGE_DURATION.bucket_of(7_500);
    assert_eq!(count(&kv, &STAGE_DURATION.bucket_key("build", bucket)), 1);
    assert_eq!(count(&kv, &STAGE_DURATION.sum_key("build")), 7_500);
    assert_eq!(count(&kv, &run_finished_key("shop", "failed")), 1);
}

#[test]
fn a_run_failed_at_creation_counts_as_finished() {
    let kv = MemKv::default();
    let mut r = run(2);
    r = RunRecord::new(
        "shop",
        2,
        r.trigger,
        PipelineSource::Invalid("line 1: bad".into()),
        1_000,
    );
    block_on(RunStore::new(&kv).create(&r)).unwrap();
    assert_eq!(count(&kv, &run_finished_key("shop", "failed")), 1);
}

/// Answers every request with the status it was built with, or a timeout.
struct Fixed(Result<u16, ()>);

impl HttpClient for Fixed {
    async fn send(&self, _: HttpRequest, timeout_ms: u64) -> Result<HttpResponse, HttpError> {
        match self.0 {
            Ok(status) => Ok(HttpResponse {
                status,
                ..Default::default()
            }),
            Err(()) => Err(HttpError::Timeout(timeout_ms)),
        }
    }
}

#[test]
fn remote_call_errors_count_failures_not_answers() {
    let kv = MemKv::default();
    let clock = FakeClock(std::cell::Cell::new(5_000));
    let context = CallContext {
        service: "build/ci".into(),
        effect: "trigger".into(),
        ..Default::default()
    };
    let request = || HttpRequest::new("POST", "https://jenkins.example.com/job/x?token=sekrit");
    for (answer, counted) in [
        (Ok(200), 0),
        (Ok(404), 0),
        (Ok(503), 1),
        (Ok(401), 2),
        (Err(()), 3),
    ] {
        let http = Fixed(answer);
        let traced = Traced::new(&http, &kv, &clock, context.clone());
        let _ = block_on(traced.send(request(), 1_000));
        assert_eq!(traced.calls(), 1);
        assert_eq!(
            count(&kv, &call_error_key("build/ci")),
            counted,
            "{answer:?}"
        );
    }
    let writes = kv.writes.get();
    let http = Fixed(Ok(200));
    let traced = Traced::new(&http, &kv, &clock, context);
    block_on(traced.send(request(), 1_000)).unwrap();
    assert_eq!(kv.writes.get(), writes, "a good call writes nothing");
}

#[test]
fn a_call_line_names_the_origin_never_the_path_or_query() {
    let context = CallContext {
        run: Some("shop-1".into()),
        stage: Some("unit".into()),
        attempt: Some(2),
        effect: "trigger".into(),
        service: "build/ci".into(),
        ..Default::default()
    };
    let line = context
        .line("call", 0)
        .text(
            "origin",
            crate::obs::log::origin("https://ci.example/job?token=sekrit"),
        )
        .render();
    assert!(!line.contains("sekrit"), "{line}");
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["run"], "shop-1");
    assert_eq!(v["attempt"], 2);
    assert_eq!(v["service"], "build/ci");
    assert_eq!(v["origin"], "https://ci.example");
}

#[test]
fn exposition_is_cumulative_with_sum_and_count() {
    let kv = MemKv::default();
    let config = ControlPlane::parse(CONFIG).unwrap();
    block_on(kv.increment("app/shop/runs", 3)).unwrap();
    block_on(kv.increment(&run_finished_key("shop", "succeeded"), 2)).unwrap();
    for ms in [3, 40, 40, 9_000] {
        block_on(observe_webhook_answer(&kv, ms));
    }
    block_on(count_call_error(&kv, "build/ci"));
    let text = block_on(exposition::render(&kv, &config)).unwrap();
    for expected in [
        "# TYPE slipway_runs_started_total counter",
        "slipway_runs_started_total{app=\"shop\"} 3",
        "slipway_runs_finished_total{app=\"shop\",outcome=\"succeeded\"} 2",
        "slipway_runs_finished_total{app=\"shop\",outcome=\"failed\"} 0",
        "# TYPE slipway_webhook_answer_seconds histogram",
        "slipway_webhook_answer_seconds_bucket{le=\"0.005\"} 1",
        "slipway_webhook_answer_seconds_bucket{le=\"0.05\"} 3",
        "slipway_webhook_answer_seconds_bucket{le=\"5\"} 3",
        "slipway_webhook_answer_seconds_bucket{le=\"+Inf\"} 4",
        "slipway_webhook_answer_seconds_sum 9.083",
        "slipway_webhook_answer_seconds_count 4",
        "slipway_stage_duration_seconds_bucket{kind=\"build\",le=\"+Inf\"} 0",
        "slipway_stage_duration_seconds_count{kind=\"approval\"} 0",
        "slipway_remote_call_errors_total{service=\"build/ci\"} 1",
        "slipway_remote_call_errors_total{service=\"provider/github\"} 0",
    ] {
        assert!(text.lines().any(|l| l == expected), "{expected} in\n{text}");
    }
    // A scrape creates no key: absent counters are read as 0.
    let keys = kv.keys();
    block_on(exposition::render(&kv, &config)).unwrap();
    assert_eq!(kv.keys(), keys);
}
