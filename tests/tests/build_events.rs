//! Build services' own completion events, end to end through the real
//! components: GitHub `check_run`, `check_suite` and `workflow_run` (also
//! for a dispatch that returned no run id), Tekton's CloudEvents and
//! GitLab's Pipeline Hook. Payloads start from the providers' documented
//! examples (`functions/slipway-core/tests/fixtures/providers/`, sources in
//! its SOURCES file), bound to this test's repository, commit and build.
//!
//! Hints (check runs, check suites, CloudEvents) never end a stage: each
//! test first shows that the build's end is not seen without the hint
//! (the poll interval has not passed), then that the hint makes the next
//! reconcile read the build service's API, whose answer decides.

use serde_json::{Value, json};
use slipway_tests::fakes::webhooks;
use slipway_tests::pipeline_env::*;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../functions/slipway-core/tests/fixtures/providers"
);

fn fixture(path: &str) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{path}")).expect("fixture");
    serde_json::from_str(&text).expect("fixture JSON")
}

/// Sets `pointer` (which must exist) in `value`.
fn set(value: &mut Value, pointer: &str, new: Value) {
    *value
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} not in the fixture")) = new;
}

fn actions_env(return_run_details: bool) -> Env {
    let mut env = Env::start("");
    let extra = format!(
        "[build_services.actions]\ntype = \"github_actions\"\napi_base = \"{}\"\n\
         token_secret = \"github_token\"\nreturn_run_details = {return_run_details}\n",
        env.git.url()
    );
    env.reconfigure(&extra);
    env.git.add_workflow(&repo("github"), "build.yml");
    env.git.add_workflow(&repo("github"), "lint.yml");
    env
}

const TWO_WORKFLOWS: &str = r#"
[stages.build]
kind = "build"
service = "actions"
job = "build.yml"

[stages.lint]
kind = "build"
service = "actions"
job = "lint.yml"
"#;

/// Pushes `commit` to `main` of the provider's app; the run id.
fn push(env: &Env, provider: &str, n: u32, pipeline: &str) -> String {
    let commit = sha(n);
    env.commit(provider, &commit, pipeline);
    env.git.add_branch(&repo(provider), "main", &commit);
    let (status, reply) = env.hook(provider, &env.push(provider, "main", &commit));
    assert_eq!(status, 202, "{reply}");
    let run = reply["run"].as_str().expect("run id").to_owned();
    env.run(&run);
    run
}

/// The run once `stage` has left `running`, ticking for up to 10 s: a
/// hint's poll waits out the hint interval after the stage's last poll.
fn settled(env: &Env, run: &str, stage: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let record = env.run(run);
        if status(&record, stage) != "running" || std::time::Instant::now() > deadline {
            return record;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The run once the poll a hint asked for has been made (up to 10 s).
fn hint_served(env: &Env, run: &str, stage: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let record = env.run(run);
        let pending = !record["stages"][stage]["poll_requested_at_ms"].is_null();
        if !pending {
            return record;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "poll never made: {record}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

fn status(run: &Value, stage: &str) -> String {
    run["stages"][stage]["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The workflow run dispatched for `workflow`.
fn dispatched(env: &Env, workflow: &str) -> u64 {
    env.git
        .dispatches()
        .iter()
        .rev()
        .find(|d| d.workflow == workflow)
        .map(|d| d.run_id)
        .expect("dispatched")
}

/// GitHub's `check_run` example as GitHub Actions sends it for one job of
/// workflow run `run_id` at `commit`.
fn actions_check_run(env: &Env, run_id: u64, commit: &str) -> webhooks::Webhook {
    let mut event = fixture("github/check_run_completed.json");
    let full = repo("github");
    let web = format!("{}/{full}/actions/runs/{run_id}/job/4242", env.git.url());
    set(&mut event, "/repository/full_name", json!(full));
    set(&mut event, "/check_run/head_sha", json!(commit));
    set(&mut event, "/check_run/details_url", json!(web));
    set(&mut event, "/check_run/html_url", json!(web));
    set(
        &mut event,
        "/check_run/app",
        json!({ "id": 15368, "slug": "github-actions", "name": "GitHub Actions" }),
    );
    webhooks::github(HOOK_SECRET, "check_run", event.to_string().as_bytes())
}

#[test]
fn a_check_run_asks_for_a_poll_and_the_workflow_run_decides() {
    let env = actions_env(true);
    let run = push(&env, "github", 0x901, TWO_WORKFLOWS);
    let build = dispatched(&env, "build.yml");
    env.git.set_run_status(build, "completed", Some("success"));
    // Without a hint the end is seen at the next poll, a minute away.
    assert_eq!(status(&env.run(&run), "build"), "running");

    let (code, reply) = env.hook("github", &actions_check_run(&env, build, &sha(0x901)));
    assert_eq!(code, 202, "{reply}");
    assert_eq!(reply["poll_requested"], true, "{reply}");
    let record = settled(&env, &run, "build");
    assert_eq!(status(&record, "build"), "succeeded", "{record}");
    assert_eq!(
        status(&record, "lint"),
        "running",
        "one stage per check run"
    );

    // A job's check run while the workflow run still runs: the poll reads
    // it and the stage keeps running.
    let lint = dispatched(&env, "lint.yml");
    env.git.set_run_status(lint, "in_progress", None);
    let (code, reply) = env.hook("github", &actions_check_run(&env, lint, &sha(0x901)));
    assert_eq!(code, 202, "{reply}");
    assert_eq!(status(&hint_served(&env, &run, "lint"), "lint"), "running");

    // A check run of another app, or of no stage, starts nothing.
    let (code, reply) = env.hook("github", &actions_check_run(&env, 999_999, &sha(0x901)));
    assert_eq!(code, 200, "{reply}");
    assert!(reply["ignored"].is_string(), "{reply}");
    let rows = env.kv_rows();
    let mut other = fixture("github/check_run_completed.json");
    set(&mut other, "/repository/full_name", json!(repo("github")));
    let hook = webhooks::github(HOOK_SECRET, "check_run", other.to_string().as_bytes());
    let (code, reply) = env.hook("github", &hook);
    assert_eq!(code, 200, "{reply}");
    assert!(
        reply["ignored"]
            .as_str()
            .unwrap_or_default()
            .contains("workflow run"),
        "{reply}"
    );
    assert_eq!(env.kv_rows(), rows, "an ignored event writes nothing");
}

#[test]
fn a_check_suite_polls_every_actions_stage_at_its_commit() {
    let env = actions_env(true);
    let run = push(&env, "github", 0x902, TWO_WORKFLOWS);
    env.git
        .set_run_status(dispatched(&env, "build.yml"), "completed", Some("success"));
    env.git
        .set_run_status(dispatched(&env, "lint.yml"), "completed", Some("failure"));
    assert_eq!(status(&env.run(&run), "build"), "running");

    let mut event = fixture("github/check_suite_completed.json");
    set(&mut event, "/repository/full_name", json!(repo("github")));
    set(&mut event, "/check_suite/head_sha", json!(sha(0x902)));
    set(&mut event, "/check_suite/head_branch", json!("main"));
    let hook = webhooks::github(HOOK_SECRET, "check_suite", event.to_string().as_bytes());
    let (code, reply) = env.hook("github", &hook);
    assert_eq!(code, 202, "{reply}");
    settled(&env, &run, "build");
    let record = settled(&env, &run, "lint");
    assert_eq!(status(&record, "build"), "succeeded", "{record}");
    assert_eq!(status(&record, "lint"), "failed", "{record}");
    assert_eq!(record["status"], "failed");

    // The same suite again: every stage has ended, nothing is written.
    let rows = env.kv_rows();
    let (code, reply) = env.hook("github", &hook);
    assert_eq!(code, 200, "{reply}");
    assert_eq!(env.kv_rows(), rows);
}

#[test]
fn a_workflow_run_of_a_dispatch_without_run_id_is_adopted_by_its_stage() {
    // GitHub Enterprise Server 3.20 and older answer a dispatch 204, with
    // no run id; the workflow_run event is the first to name the run.
    let env = actions_env(false);
    let run = push(&env, "github", 0x903, TWO_WORKFLOWS);
    let record = env.run(&run);
    assert!(
        record["stages"]["build"]["external_id"].is_null(),
        "{record}"
    );
    let build = dispatched(&env, "build.yml");
    env.git.set_run_status(build, "completed", Some("success"));
    let mut event = fixture("github/workflow_run_completed.json");
    let full = repo("github");
    let workflow_run = env.git.run(build).expect("the fake's run");
    set(&mut event, "/repository/full_name", json!(full));
    set(&mut event, "/workflow_run", workflow_run);
    let hook = webhooks::github(HOOK_SECRET, "workflow_run", event.to_string().as_bytes());
    let (code, reply) = env.hook("github", &hook);
    assert!(code == 200 || code == 202, "{code} {reply}");
    let record = env.run(&run);
    assert_eq!(status(&record, "build"), "succeeded", "{record}");
    assert!(
        record["stages"]["build"]["external_id"]
            .as_str()
            .is_some_and(|id| id.ends_with(&format!("/actions/runs/{build}"))),
        "{record}"
    );
    assert_eq!(
        status(&record, "lint"),
        "running",
        "lint's run is not build's"
    );
}

fn tekton_env(events_token: bool) -> Env {
    let vars: &[&str] = if events_token {
        &["tekton_events_token=sink-secret"]
    } else {
        &[]
    };
    let mut env = Env::start_with("", vars);
    let mut extra = format!(
        "[build_services.tekton]\ntype = \"tekton\"\napi_server = \"{}\"\n\
         namespace = \"default\"\ntoken_secret = \"tekton_token\"\n",
        env.tekton.url()
    );
    if events_token {
        extra += "events_token_secret = \"tekton_events_token\"\n";
    }
    env.reconfigure(&extra);
    env
}

const TEKTON_PIPELINE: &str =
    "[stages.build]\nkind = \"build\"\nservice = \"tekton\"\njob = \"build-and-test\"\n";

/// Posts Tekton's binary-mode CloudEvent of type `kind` about `name`.
fn cloud_event(env: &Env, query: &str, kind: &str, name: &str) -> (u16, Value) {
    let headers = fixture("tekton/pipelinerun_successful.headers.json");
    let mut body = fixture("tekton/pipelinerun_successful.json");
    set(&mut body, "/pipelineRun/metadata/name", json!(name));
    let mut request = ureq::post(&env.host.url(&format!("/hooks/tekton{query}")));
    for (k, v) in headers.as_object().expect("headers") {
        if !["Connection", "Accept-Encoding"].contains(&k.as_str()) {
            request = request.set(k, v.as_str().unwrap_or_default());
        }
    }
    let response = request
        .set("Ce-Type", kind)
        .set("Ce-Subject", name)
        .send_bytes(body.to_string().as_bytes());
    let (code, text) = match response {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(e) => panic!("{e}"),
    };
    (
        code,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn pipeline_run_name(env: &Env, run: &str) -> String {
    let record = env.run(run);
    record["stages"]["build"]["external_id"]
        .as_str()
        .expect("the stage's PipelineRun")
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn tekton_cloud_events_ask_for_a_poll_and_a_forged_one_ends_nothing() {
    let env = tekton_env(false);
    let run = push(&env, "github", 0x904, TEKTON_PIPELINE);
    let name = pipeline_run_name(&env, &run);
    const FAILED: &str = "dev.tekton.event.pipelinerun.failed.v1";
    const SUCCESSFUL: &str = "dev.tekton.event.pipelinerun.successful.v1";

    // Forged: the PipelineRun still runs, so the poll keeps the stage going.
    env.tekton
        .set_condition("default", &name, "Unknown", "Running", "Tasks Completed: 1");
    let (code, reply) = cloud_event(&env, "", FAILED, &name);
    assert_eq!(code, 202, "{reply}");
    let record = hint_served(&env, &run, "build");
    assert_eq!(status(&record, "build"), "running", "{record}");

    // Not an end, not a CloudEvent, no such PipelineRun.
    let rows = env.kv_rows();
    let (code, reply) = cloud_event(&env, "", "dev.tekton.event.pipelinerun.running.v1", &name);
    assert_eq!(code, 200, "{reply}");
    let (code, reply) = cloud_event(&env, "", SUCCESSFUL, "slipway-build-nothing");
    assert_eq!(code, 200, "{reply}");
    assert!(reply["ignored"].is_string(), "{reply}");
    let plain = ureq::post(&env.host.url("/hooks/tekton"))
        .set("content-type", "application/json")
        .send_bytes(b"{}");
    assert!(
        matches!(plain, Err(ureq::Error::Status(400, _))),
        "a body without CloudEvent attributes: {plain:?}"
    );
    assert_eq!(
        env.kv_rows(),
        rows,
        "ignored and refused events write nothing"
    );

    env.tekton
        .set_condition("default", &name, "True", "Succeeded", "Tasks Completed: 3");
    assert_eq!(status(&env.run(&run), "build"), "running", "no hint yet");
    let (code, reply) = cloud_event(&env, "", SUCCESSFUL, &name);
    assert_eq!(code, 202, "{reply}");
    let record = settled(&env, &run, "build");
    assert_eq!(status(&record, "build"), "succeeded", "{record}");
}

#[test]
fn a_tekton_sink_with_a_token_refuses_events_without_it() {
    let env = tekton_env(true);
    let run = push(&env, "github", 0x905, TEKTON_PIPELINE);
    let name = pipeline_run_name(&env, &run);
    env.tekton.set_condition(
        "default",
        &name,
        "False",
        "Failed",
        "Tasks Completed: 1 (Failed: 1)",
    );
    const FAILED: &str = "dev.tekton.event.pipelinerun.failed.v1";
    let rows = env.kv_rows();
    for query in ["", "?token=wrong", "?token="] {
        let (code, reply) = cloud_event(&env, query, FAILED, &name);
        assert_eq!(code, 401, "{query}: {reply}");
    }
    assert_eq!(env.kv_rows(), rows);
    let (code, reply) = cloud_event(&env, "?token=sink-secret", FAILED, &name);
    assert_eq!(code, 202, "{reply}");
    let record = settled(&env, &run, "build");
    assert_eq!(status(&record, "build"), "failed", "{record}");
}

#[test]
fn a_gitlab_pipeline_hook_ends_its_stage() {
    let mut env = Env::start("");
    let extra = format!(
        "[build_services.gitlab]\ntype = \"gitlab_ci\"\napi_base = \"{}/api/v4\"\n\
         project = \"{}\"\ntoken_secret = \"gitlab_trigger_token\"\n",
        env.git.url(),
        repo("gitlab")
    );
    env.reconfigure(&extra);
    env.git.add_trigger_token(&repo("gitlab"), "glptt-test");
    let pipeline = "[stages.build]\nkind = \"build\"\nservice = \"gitlab\"\njob = \"build\"\n";
    let run = push(&env, "gitlab", 0x906, pipeline);
    let trigger = env
        .git
        .pipeline_triggers()
        .last()
        .cloned()
        .expect("triggered");
    let id = trigger.pipeline_id;
    assert_eq!(status(&env.run(&run), "build"), "running");

    let hook_for = |state: &str| {
        let mut event = fixture("gitlab/pipeline.json");
        set(
            &mut event,
            "/project/path_with_namespace",
            json!(repo("gitlab")),
        );
        set(&mut event, "/object_attributes/id", json!(id));
        set(&mut event, "/object_attributes/status", json!(state));
        set(&mut event, "/object_attributes/sha", json!(sha(0x906)));
        set(&mut event, "/object_attributes/ref", json!("main"));
        webhooks::gitlab(HOOK_SECRET, "Pipeline Hook", event.to_string().as_bytes())
    };
    let (code, reply) = env.hook("gitlab", &hook_for("running"));
    assert_eq!(code, 200, "{reply}");
    assert_eq!(status(&env.run(&run), "build"), "running");

    env.git.set_pipeline_status(id, "failed");
    let (code, reply) = env.hook("gitlab", &hook_for("failed"));
    assert!(code == 200 || code == 202, "{code} {reply}");
    let record = env.run(&run);
    assert_eq!(status(&record, "build"), "failed", "{record}");
    // GitLab retries a delivery it thinks failed: the same event is a no-op.
    let rows = env.kv_rows();
    let (code, reply) = env.hook("gitlab", &hook_for("failed"));
    assert!(code < 300, "{code} {reply}");
    assert_eq!(env.kv_rows(), rows);
}
