//! `GET /metrics` and the structured logs, end to end: a run driven
//! through the real components (push, a build service that fails once,
//! callbacks), then the exposition parsed with a Prometheus text-format
//! parser and checked against what happened, and the components' logs
//! checked for their JSON lines and for the absence of every secret.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use prometheus_parse::{Scrape, Value};
use serde_json::json;
use slipway_tests::pipeline_env::*;

const APP: &str = "shop-github";

/// Pushes a two-stage pipeline whose first trigger gets a 503, and
/// reports both stages as succeeded; returns the run id.
fn drive_a_run(env: &Env) -> String {
    let commit = sha(0x4d);
    env.commit("github", &commit, PIPELINE);
    // The first call to Jenkins fails: one remote call error, then the
    // trigger is retried (PIPELINE's `retries = 2`).
    env.jenkins.server().fail_next(1, 503);
    let (status, reply) = env.hook("github", &env.push("github", "main", &commit));
    assert_eq!(status, 202, "{reply}");
    let run = reply["run"].as_str().unwrap().to_owned();
    for stage in ["unit-test", "image"] {
        wait_until_running(env, &run, stage);
        let token = env.callback_token(&run, stage, 1);
        let body = json!({ "status": "succeeded" }).to_string();
        let (status, reply) =
            env.callback(&run, stage, &token, "application/json", body.as_bytes());
        assert_eq!(status, 200, "{reply}");
    }
    assert_eq!(env.run(&run)["status"], "succeeded");
    run
}

fn wait_until_running(env: &Env, run: &str, stage: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let record = env.run(run);
        if record["stages"][stage]["status"] == "running" {
            return;
        }
        assert!(Instant::now() < deadline, "{stage} never ran: {record}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `GET /metrics` with `token` (none: no header): status, content type, body.
fn scrape(env: &Env, token: Option<&str>) -> (u16, String, String) {
    let mut request = ureq::get(&env.host.url("/metrics"));
    if let Some(token) = token {
        request = request.set("authorization", &format!("Bearer {token}"));
    }
    match request.call() {
        Ok(r) => {
            let content_type = r.header("content-type").unwrap_or_default().to_owned();
            (r.status(), content_type, r.into_string().unwrap())
        }
        Err(ureq::Error::Status(code, r)) => (code, String::new(), r.into_string().unwrap()),
        Err(e) => panic!("/metrics: {e}"),
    }
}

/// The parsed samples by metric name and sorted `k=v` labels.
fn parse(text: &str) -> HashMap<(String, String), Value> {
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = Scrape::parse(lines).expect("valid exposition");
    scrape
        .samples
        .into_iter()
        .map(|s| {
            let mut labels: Vec<String> =
                s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            labels.sort();
            ((s.metric, labels.join(",")), s.value)
        })
        .collect()
}

fn number(samples: &HashMap<(String, String), Value>, metric: &str, labels: &str) -> f64 {
    match samples.get(&(metric.to_owned(), labels.to_owned())) {
        Some(Value::Counter(v) | Value::Untyped(v) | Value::Gauge(v)) => *v,
        other => panic!("{metric}{{{labels}}}: {other:?}"),
    }
}

/// The `+Inf` bucket of a histogram: its count.
fn histogram_count(samples: &HashMap<(String, String), Value>, metric: &str, labels: &str) -> f64 {
    match samples.get(&(metric.to_owned(), labels.to_owned())) {
        Some(Value::Histogram(buckets)) => {
            let inf = buckets.iter().find(|b| b.less_than.is_infinite());
            inf.expect("+Inf bucket").count
        }
        other => panic!("{metric}{{{labels}}}: {other:?}"),
    }
}

/// Every JSON line the components wrote to their logs.
fn log_lines(env: &Env) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(env.dir.join(".spin/logs")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        out.extend(text.lines().filter_map(|l| serde_json::from_str(l).ok()));
    }
    out
}

fn all_logs(env: &Env) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(env.dir.join(".spin/logs")).unwrap() {
        out += &std::fs::read_to_string(entry.unwrap().path()).unwrap();
    }
    out
}

#[test]
fn metrics_count_a_run_and_logs_trace_it_without_secrets() {
    let env = Env::start("");
    let run = drive_a_run(&env);

    let (status, _, body) = scrape(&env, None);
    assert_eq!(status, 401, "{body}");
    let (status, _, _) = scrape(&env, Some("not-a-token"));
    assert_eq!(status, 401);

    // The webhook's answer time is written after its response: wait for it.
    let deadline = Instant::now() + Duration::from_secs(10);
    let samples = loop {
        let (status, content_type, text) = scrape(&env, Some(API_TOKEN));
        assert_eq!(status, 200, "{text}");
        assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
        let samples = parse(&text);
        if histogram_count(&samples, "slipway_webhook_answer_seconds", "") >= 1.0
            || Instant::now() > deadline
        {
            break samples;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let app = format!("app={APP}");
    assert_eq!(number(&samples, "slipway_runs_started_total", &app), 1.0);
    let outcome = |o: &str| format!("{app},outcome={o}");
    assert_eq!(
        number(
            &samples,
            "slipway_runs_finished_total",
            &outcome("succeeded")
        ),
        1.0
    );
    assert_eq!(
        number(&samples, "slipway_runs_finished_total", &outcome("failed")),
        0.0
    );
    assert_eq!(
        number(&samples, "slipway_runs_started_total", "app=shop-gitlab"),
        0.0
    );
    assert_eq!(
        histogram_count(&samples, "slipway_stage_duration_seconds", "kind=build"),
        2.0
    );
    assert_eq!(
        histogram_count(&samples, "slipway_stage_duration_seconds", "kind=deploy"),
        0.0
    );
    assert_eq!(
        histogram_count(&samples, "slipway_webhook_answer_seconds", ""),
        1.0
    );
    assert_eq!(
        number(
            &samples,
            "slipway_remote_call_errors_total",
            "service=build/jenkins"
        ),
        1.0
    );
    assert_eq!(
        number(
            &samples,
            "slipway_remote_call_errors_total",
            "service=provider/github"
        ),
        0.0
    );

    let lines = log_lines(&env);
    let hook = lines
        .iter()
        .find(|l| l["event"] == "request" && l["component"] == "git-hooks")
        .expect("the webhook's request line");
    assert_eq!(hook["route"], "/hooks/:provider");
    assert_eq!(hook["method"], "POST");
    assert_eq!(hook["status"], 202);
    assert_eq!(hook["run"], run.as_str());
    assert!(hook["duration_ms"].is_u64());
    let callback = lines
        .iter()
        .find(|l| l["event"] == "request" && l["component"] == "callbacks")
        .expect("a callback's request line");
    assert_eq!(callback["run"], run.as_str());
    let failed = lines
        .iter()
        .find(|l| l["event"] == "call" && l["http_status"] == 503)
        .expect("the failed call's line");
    assert_eq!(failed["run"], run.as_str());
    assert_eq!(failed["stage"], "unit-test");
    assert_eq!(failed["attempt"], 1);
    assert_eq!(failed["effect"], "trigger");
    assert_eq!(failed["service"], "build/jenkins");
    assert_eq!(failed["outcome"], "server_error");
    assert!(failed["duration_ms"].is_u64());
    let triggered = lines
        .iter()
        .find(|l| l["event"] == "effect" && l["outcome"] == "triggered")
        .expect("a trigger's effect line");
    assert_eq!(triggered["run"], run.as_str());
    assert!(
        lines.iter().any(|l| l["event"] == "effect"
            && l["effect"] == "status"
            && l["service"] == "provider/github"),
        "commit statuses are logged"
    );

    // The webhook's own remote call: the pipeline file, read before the answer.
    assert!(
        lines.iter().any(|l| l["event"] == "call"
            && l["effect"] == "pipeline"
            && l["service"] == "provider/github"
            && l["http_status"] == 200),
        "the webhook's pipeline read is logged"
    );
    assert!(
        lines.iter().any(|l| l["event"] == "request"
            && l["component"] == "runs-api"
            && l["route"] == "/metrics"
            && l["status"] == 401),
        "refused scrapes are logged"
    );

    let logs = all_logs(&env);
    let mut secrets = vec![
        HOOK_SECRET.to_owned(),
        GIT_TOKEN.to_owned(),
        JENKINS_TOKEN.to_owned(),
        CALLBACK_SECRET.to_owned(),
        API_TOKEN.to_owned(),
        SESSION_SECRET.to_owned(),
    ];
    for stage in ["unit-test", "image"] {
        secrets.push(env.callback_token(&run, stage, 1));
    }
    for secret in secrets {
        assert!(!logs.contains(&secret), "a secret is in the logs");
    }
}
