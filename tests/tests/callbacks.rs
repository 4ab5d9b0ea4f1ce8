//! Stage callbacks, advancing the pipeline, tick and retry, end to end.

use std::sync::Arc;

use serde_json::{Value, json};
use slipway_tests::fakes::FakeKubernetes;
use slipway_tests::fakes::chat::FakeChat;
use slipway_tests::pipeline_env::*;

const SUREFIRE_FAILING: &[u8] = include_bytes!("../fixtures/junit/TEST-com.acme.shop.CartTest.xml");
const SUREFIRE_PASSING: &[u8] =
    include_bytes!("../fixtures/junit/TEST-com.acme.shop.CartTest-passing.xml");
const DIGEST: &str = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";

const DELIVERY: &str = r#"
[stages.unit-test]
kind = "build"
service = "jenkins"
job = "shop/unit-test"

[stages.image]
kind = "build"
service = "jenkins"
job = "shop/image"
needs = ["unit-test"]

[stages.deploy-test]
kind = "deploy"
environment = "test"
needs = ["image"]
"#;

/// Pushes `commit` with `pipeline` to the GitHub app; returns the run id.
fn start_run(env: &Env, n: u32, pipeline: &str) -> String {
    let commit = sha(n);
    env.commit("github", &commit, pipeline);
    let (status, reply) = env.hook("github", &env.push("github", "main", &commit));
    assert_eq!(status, 202, "{reply}");
    let run = reply["run"].as_str().unwrap().to_owned();
    env.run(&run); // let the work after the answer finish
    run
}

fn stage<'a>(run: &'a Value, name: &str) -> &'a Value {
    &run["stages"][name]
}

#[test]
fn junit_then_image_then_deploy_with_that_digest() {
    let k8s = FakeKubernetes::start("k8s-token");
    k8s.add_namespace("shop");
    k8s.stall("shop", "shop-github");
    k8s.add_deployment(
        "shop",
        "shop-github",
        &[("app", "shop-github")],
        "shop-github",
        "registry.example.com/acme/shop:1.0.0",
        2,
    );
    let config = format!(
        "[environments.test]\nplatform = \"kubernetes\"\napi_server = \"{}\"\nnamespace = \"shop\"\ntoken_secret = \"kubernetes_token\"\n",
        k8s.url()
    );
    let env = Env::start_with(&config, &["kubernetes_token=k8s-token"]);
    let run = start_run(&env, 0x100, DELIVERY);
    let token = env.callback_token(&run, "unit-test", 1);
    let (status, reply) = env.callback(
        &run,
        "unit-test",
        &token,
        "application/xml",
        SUREFIRE_PASSING,
    );
    assert_eq!(status, 200, "{reply}");
    let record = env.run(&run);
    assert_eq!(stage(&record, "unit-test")["status"], "succeeded");
    assert_eq!(stage(&record, "unit-test")["tests"]["passed"], 9);
    assert_eq!(stage(&record, "image")["status"], "running", "{record}");
    assert_eq!(env.jenkins.triggers().last().unwrap().0, "shop/image");

    let image = json!({
        "status": "succeeded",
        "artifacts": { "image": format!("registry.example.com/acme/shop@{DIGEST}") },
        "log_url": "http://jenkins/job/shop/job/image/1/console",
        "duration_ms": 81234
    });
    let token = env.callback_token(&run, "image", 1);
    let (status, reply) = env.callback(
        &run,
        "image",
        &token,
        "application/json",
        image.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{reply}");
    let record = env.run(&run);
    let deploy = stage(&record, "deploy-test");
    assert_eq!(deploy["status"], "running", "{record}");
    assert_eq!(deploy["image"]["digest"], DIGEST);
    assert_eq!(
        deploy["image"]["reference"],
        "registry.example.com/acme/shop"
    );
    // The deployment went out with exactly that digest.
    assert_eq!(
        k8s.image("shop", "shop-github").as_deref(),
        Some(format!("registry.example.com/acme/shop@{DIGEST}").as_str())
    );
    assert_eq!(deploy["external_id"], "shop-github.test.1");
    assert_eq!(
        stage(&record, "image")["log_url"],
        "http://jenkins/job/shop/job/image/1/console"
    );

    // Per-stage commit statuses with test counts.
    let statuses = env.git.statuses("acme/shop-github", &sha(0x100));
    let unit = statuses
        .iter()
        .find(|s| s["context"] == "slipway/unit-test")
        .expect("unit-test status");
    assert_eq!(unit["state"], "success");
    assert_eq!(unit["description"], "unit-test: 9 passed");
}

#[test]
fn failing_tests_stop_the_run_report_and_notify_once() {
    let chat = FakeChat::start();
    let notify = r#"
[[apps.shop-github.notify]]
type = "slack"
webhook_secret = "slack_webhook_url"
[[apps.shop-github.notify]]
type = "dingtalk"
webhook_secret = "dingtalk_webhook_url"
sign_secret = "dingtalk_sign_secret"
[[apps.shop-github.notify]]
type = "feishu"
webhook_secret = "feishu_webhook_url"
sign_secret = "feishu_sign_secret"
"#;
    let notify = format!("{notify}[chat]\nreply_hosts = [\"{}\"]\n", chat.url());
    let vars = [
        format!("slack_webhook_url={}", chat.slack_url()),
        format!("dingtalk_webhook_url={}", chat.dingtalk_url()),
        format!("dingtalk_sign_secret={}", chat.dingtalk_secret().unwrap()),
        format!("feishu_webhook_url={}", chat.feishu_url()),
        format!("feishu_sign_secret={}", chat.feishu_secret().unwrap()),
    ];
    let vars: Vec<&str> = vars.iter().map(String::as_str).collect();
    let env = Env::start_with(&notify, &vars);
    let run = start_run(&env, 0x200, DELIVERY);
    let token = env.callback_token(&run, "unit-test", 1);
    let (status, reply) = env.callback(&run, "unit-test", &token, "text/xml", SUREFIRE_FAILING);
    assert_eq!(status, 200, "{reply}");
    let record = env.run(&run);
    assert_eq!(record["status"], "failed");
    assert_eq!(stage(&record, "unit-test")["status"], "failed");
    assert_eq!(stage(&record, "image")["status"], "cancelled");
    assert_eq!(stage(&record, "deploy-test")["status"], "cancelled");
    assert_eq!(
        env.jenkins.triggers().len(),
        1,
        "nothing after the failure starts"
    );

    let statuses = env.git.statuses("acme/shop-github", &sha(0x200));
    let unit = statuses
        .iter()
        .find(|s| s["context"] == "slipway/unit-test")
        .unwrap();
    assert_eq!(unit["state"], "failure");
    assert_eq!(
        unit["description"],
        "unit-test: 9 passed, 2 failed, 1 skipped"
    );
    let overall = statuses
        .iter()
        .rev()
        .find(|s| s["context"] == "slipway")
        .unwrap();
    assert_eq!(overall["state"], "failure");

    // One message per platform, naming the failing tests.
    let messages = chat.messages();
    assert_eq!(messages.len(), 3, "{messages:?}");
    let text = messages
        .iter()
        .map(|(_, m)| m.to_string())
        .collect::<String>();
    assert!(text.contains("failed at unit-test"), "{text}");
    assert!(text.contains("totalsPrices"), "{text}");
    // A repeated callback is acknowledged as a duplicate, changes nothing
    // and sends nothing; a different outcome for the ended stage is refused.
    let (status, reply) = env.callback(&run, "unit-test", &token, "text/xml", SUREFIRE_FAILING);
    assert_eq!(
        (status, &reply["duplicate"]),
        (200, &json!(true)),
        "{reply}"
    );
    let ok = json!({ "status": "succeeded" }).to_string();
    let (status, reply) =
        env.callback(&run, "unit-test", &token, "application/json", ok.as_bytes());
    assert_eq!(status, 409, "{reply}");
    assert_eq!(chat.messages().len(), 3);

    // The first success after the failure says so, once.
    let run2 = start_run(
        &env,
        0x201,
        DELIVERY.split("[stages.image]").next().unwrap(),
    );
    let token = env.callback_token(&run2, "unit-test", 1);
    assert_eq!(
        env.callback(
            &run2,
            "unit-test",
            &token,
            "application/xml",
            SUREFIRE_PASSING
        )
        .0,
        200
    );
    assert_eq!(env.run(&run2)["status"], "succeeded");
    let messages = chat.messages();
    assert_eq!(messages.len(), 6, "{messages:?}");
    assert!(
        messages[5].1.to_string().contains("passed again"),
        "{:?}",
        messages[5]
    );
}

#[test]
fn wrong_tokens_old_attempts_and_bad_bodies_are_refused_without_writes() {
    let env = Env::start("");
    let run = start_run(&env, 0x300, DELIVERY);
    let rows = env.kv_rows();
    let good = env.callback_token(&run, "unit-test", 1);
    let wrong = env.callback_token(&run, "image", 1);
    assert_eq!(
        env.callback(
            &run,
            "unit-test",
            &wrong,
            "application/xml",
            SUREFIRE_PASSING
        )
        .0,
        401
    );
    assert_eq!(
        env.callback(
            &run,
            "unit-test",
            "nonsense",
            "application/xml",
            SUREFIRE_PASSING
        )
        .0,
        401
    );
    let (status, reply) = env.callback(
        &run,
        "unit-test",
        &good,
        "application/json",
        b"{\"status\": 1}",
    );
    assert_eq!(status, 400, "{reply}");
    let (status, reply) = env.callback(
        &run,
        "unit-test",
        &good,
        "application/xml",
        b"<testsuite><testcase",
    );
    assert_eq!(status, 400, "{reply}");
    assert_eq!(env.kv_rows(), rows);
    assert_eq!(env.run(&run)["version"], env.run(&run)["version"]);
    assert_eq!(stage(&env.run(&run), "unit-test")["status"], "running");
}

const PARALLEL: &str = r#"
[stages.a]
kind = "build"
service = "jenkins"
job = "shop/unit-test"
[stages.b]
kind = "build"
service = "jenkins"
job = "shop/unit-test"
[stages.join]
kind = "build"
service = "jenkins"
job = "shop/image"
needs = ["a", "b"]
"#;

#[test]
fn parallel_stages_finishing_together_start_the_join_once() {
    let env = Arc::new(Env::start(""));
    for i in 0..50u32 {
        let run = start_run(&env, 0x400 + i, PARALLEL);
        let handles: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|name| {
                let env = env.clone();
                let run = run.clone();
                std::thread::spawn(move || {
                    let token = env.callback_token(&run, name, 1);
                    let body = json!({ "status": "succeeded" }).to_string();
                    env.callback(&run, name, &token, "application/json", body.as_bytes())
                        .0
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), 200);
        }
        let record = env.run(&run);
        assert_eq!(stage(&record, "join")["status"], "running", "{record}");
        let joins = env
            .jenkins
            .triggers()
            .iter()
            .filter(|(job, p)| job == "shop/image" && p["SLIPWAY_RUN"] == run)
            .count();
        assert_eq!(joins, 1, "run {run}");
    }
}

#[test]
fn tick_completes_overdue_builds_and_times_out_stuck_ones() {
    let env = Env::start("[tick]\npoll_after = \"0s\"\n");
    let unauthorised = ureq::post(&env.host.url("/api/tick")).send_bytes(b"");
    assert!(matches!(unauthorised, Err(ureq::Error::Status(401, _))));

    let run = start_run(&env, 0x500, DELIVERY);
    // The build finishes on Jenkins but never calls back.
    let (status, _) = env.api_post("/api/tick");
    assert_eq!(status, 200);
    env.jenkins.finish_build("shop/unit-test", 1, "SUCCESS");
    let mut record = env.run(&run);
    for _ in 0..5 {
        let (status, reply) = env.api_post("/api/tick");
        assert_eq!(status, 200, "{reply}");
        record = env.run(&run);
        if stage(&record, "unit-test")["status"] == "succeeded" {
            break;
        }
    }
    assert_eq!(
        stage(&record, "unit-test")["status"],
        "succeeded",
        "{record}"
    );
    assert_eq!(stage(&record, "image")["status"], "running");

    let stuck = r#"
[stages.slow]
kind = "build"
service = "jenkins"
job = "shop/unit-test"
timeout = "1s"
"#;
    let run = start_run(&env, 0x501, stuck);
    std::thread::sleep(std::time::Duration::from_millis(1_200));
    let (status, reply) = env.api_post("/api/tick");
    assert_eq!(status, 200, "{reply}");
    let record = env.run(&run);
    assert_eq!(stage(&record, "slow")["status"], "timed-out", "{record}");
    assert_eq!(record["status"], "timed-out");
}

#[test]
fn retry_starts_a_new_attempt_and_a_late_callback_for_the_old_one_gets_409() {
    let env = Env::start("");
    let run = start_run(&env, 0x600, DELIVERY);
    let first = env.callback_token(&run, "unit-test", 1);
    let failed = json!({ "status": "failed", "message": "flaky network" }).to_string();
    assert_eq!(
        env.callback(
            &run,
            "unit-test",
            &first,
            "application/json",
            failed.as_bytes()
        )
        .0,
        200
    );
    assert_eq!(env.run(&run)["status"], "failed");

    let unauthorised = ureq::post(
        &env.host
            .url(&format!("/api/runs/{run}/stages/unit-test/retry")),
    )
    .send_bytes(b"");
    assert!(matches!(unauthorised, Err(ureq::Error::Status(401, _))));
    let (status, reply) = env.api_post(&format!("/api/runs/{run}/stages/unit-test/retry"));
    assert_eq!(status, 202, "{reply}");
    assert_eq!(reply["attempt"], 2);
    let record = env.run(&run);
    assert_eq!(record["status"], "running");
    assert_eq!(stage(&record, "unit-test")["attempt"], 2);
    assert_eq!(stage(&record, "unit-test")["status"], "running");
    assert_eq!(stage(&record, "image")["status"], "queued");
    let last = env.jenkins.triggers().last().cloned().unwrap();
    assert_eq!(last.1["SLIPWAY_ATTEMPT"], "2");

    // Attempt 1 calls back late: refused, nothing changes.
    let ok = json!({ "status": "succeeded" }).to_string();
    let (status, reply) =
        env.callback(&run, "unit-test", &first, "application/json", ok.as_bytes());
    assert_eq!(status, 409, "{reply}");
    assert_eq!(stage(&env.run(&run), "unit-test")["status"], "running");
    // Attempt 2 succeeds.
    let second = env.callback_token(&run, "unit-test", 2);
    assert_eq!(
        env.callback(
            &run,
            "unit-test",
            &second,
            "application/json",
            ok.as_bytes()
        )
        .0,
        200
    );
    assert_eq!(stage(&env.run(&run), "image")["status"], "running");
    // A stage that is running cannot be retried.
    assert_eq!(
        env.api_post(&format!("/api/runs/{run}/stages/image/retry"))
            .0,
        409
    );
}

#[test]
fn build_status_webhooks_complete_their_stage() {
    let extra = r#"
[build_services.actions]
type = "github_actions"
api_base = "GIT"
token_secret = "github_token"
"#;
    let mut env = Env::start("");
    let extra = extra.replace("GIT", &env.git.url());
    env.reconfigure(&extra);
    env.git.add_workflow("acme/shop-github", "build.yml");
    env.git.add_branch("acme/shop-github", "main", &sha(0x700));
    let run = start_run(
        &env,
        0x700,
        "[stages.build]\nkind = \"build\"\nservice = \"actions\"\njob = \"build.yml\"\n",
    );
    let dispatch = env.git.dispatches().last().cloned().unwrap();
    let run_id = dispatch.run_id;
    let event = json!({
        "action": "completed",
        "workflow_run": {
            "id": run_id, "name": "build", "workflow_id": 1, "run_number": 1, "run_attempt": 1,
            "event": "workflow_dispatch", "head_branch": "main", "head_sha": sha(0x700),
            "status": "completed", "conclusion": "success",
            "html_url": format!("https://github.com/acme/shop-github/actions/runs/{run_id}"),
            "pull_requests": [], "created_at": "2026-11-26T10:00:00Z", "updated_at": "2026-11-26T10:05:00Z"
        },
        "repository": { "full_name": "acme/shop-github", "name": "shop-github", "owner": { "login": "acme" } },
        "sender": { "login": "acme-bot" }
    });
    let webhook = slipway_tests::fakes::webhooks::github(
        HOOK_SECRET,
        "workflow_run",
        event.to_string().as_bytes(),
    );
    let (status, reply) = env.hook("github", &webhook);
    assert_eq!(status, 200, "{reply}");
    let record = env.run(&run);
    assert_eq!(
        stage(&record, "build")["status"],
        "succeeded",
        "{reply} {record}"
    );
    assert_eq!(record["status"], "succeeded");
}
