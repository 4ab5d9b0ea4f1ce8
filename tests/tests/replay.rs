//! `slipway replay` on the real binary: recorded deliveries of providers,
//! signed with a known secret, against a configuration and a pipeline
//! file; the printed plan is compared, and nothing is called (the
//! configured services do not exist).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use slipway_tests::fakes::webhooks::{self, Webhook};
use slipway_tests::{host_binary, workspace_root};

const CONFIG: &str = r#"public_url = "https://slipway.example.com"
[providers.github]
webhook_secret = "github_webhook_secret"
[providers.gitlab]
webhook_secret = "gitlab_webhook_secret"
[apps.hello]
provider = "github"
repo = "Codertocat/Hello-World"
[apps.gitlab-test]
provider = "gitlab"
repo = "gitlabhq/gitlab-test"
[providers.gitee]
webhook_secret = "gitee_webhook_secret"
[providers.codeup]
webhook_secret = "codeup_webhook_secret"
organization = "demo"
[providers.bitbucket]
webhook_secret = "bitbucket_webhook_secret"
[providers.gitea]
webhook_secret = "gitea_webhook_secret"
[apps.gitee-app]
provider = "gitee"
repo = "oschina/gitee"
[apps.codeup-app]
provider = "codeup"
repo = "demo/demo"
[apps.bitbucket-app]
provider = "bitbucket"
repo = "team_name/repo_name"
[apps.gitea-app]
provider = "gitea"
repo = "gitea/webhooks"
[build_services.jenkins]
type = "jenkins"
url = "https://jenkins.example.com"
user = "slipway"
token_secret = "jenkins_token"
[environments.production]
platform = "kubernetes"
api_server = "https://k8s.example.com:6443"
namespace = "shop"
token_secret = "kubernetes_token"
[access.people.ana]
[[access.grants]]
role = "approver"
to = ["ana"]
[access.environments.production]
branches = ["main"]
require_approval = true
approvals = 2
"#;

const PIPELINE: &str = r#"[triggers]
branches = ["*"]
merge_requests = true

[stages.unit]
kind = "build"
service = "jenkins"
job = "hello/unit"
params = { GOAL = "test" }

[stages.approve]
kind = "approval"
needs = ["unit"]

[stages.prod]
kind = "deploy"
environment = "production"
needs = ["approve"]
"#;

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(
        workspace_root()
            .join("functions/slipway-core/tests/fixtures/providers")
            .join(path),
    )
    .unwrap()
}

/// A directory with the configuration, the pipeline and deliveries.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir =
            std::env::temp_dir().join(format!("slipway-replay-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("slipway.toml"), CONFIG).unwrap();
        std::fs::write(dir.join("pipeline.toml"), PIPELINE).unwrap();
        Dir(dir)
    }

    /// Saves `hook` as a recorded request to `/hooks/{provider}`.
    fn record(&self, provider: &str, hook: &Webhook) -> PathBuf {
        let mut raw = format!("POST /hooks/{provider} HTTP/1.1\r\n").into_bytes();
        for (name, value) in &hook.headers {
            raw.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        raw.extend_from_slice(&hook.body);
        let path = self.0.join(format!("{provider}.http"));
        std::fs::write(&path, raw).unwrap();
        path
    }

    /// Runs `slipway replay` with the webhook secrets as Spin passes them.
    fn replay(&self, delivery: &Path, args: &[&str]) -> (i32, String) {
        let out = Command::new(host_binary())
            .arg("replay")
            .arg("--delivery")
            .arg(delivery)
            .args(["--config", "slipway.toml", "--pipeline", "pipeline.toml"])
            .args(args)
            .current_dir(&self.0)
            .env("SPIN_VARIABLE_GITHUB_WEBHOOK_SECRET", "gh-secret")
            .env("SPIN_VARIABLE_GITLAB_WEBHOOK_SECRET", "gl-secret")
            .env("SPIN_VARIABLE_GITEE_WEBHOOK_SECRET", "ge-secret")
            .env("SPIN_VARIABLE_CODEUP_WEBHOOK_SECRET", "cu-secret")
            .env("SPIN_VARIABLE_BITBUCKET_WEBHOOK_SECRET", "bb-secret")
            .env("SPIN_VARIABLE_GITEA_WEBHOOK_SECRET", "gt-secret")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code().unwrap_or(-1), text)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_signed_github_push_shows_each_stage_and_the_policy_that_refuses_it() {
    let dir = Dir::new("github");
    let hook = webhooks::github("gh-secret", "push", &fixture("github/push_new_branch.json"));
    let delivery = dir.record("github", &hook);
    let (code, out) = dir.replay(&delivery, &[]);
    assert_eq!(code, 0, "{out}");
    let expected = [
        "github delivery, signature verified",
        "push of 6113728f27ae to refs/heads/master in Codertocat/Hello-World",
        "  would start a run",
        "  app hello, push refs/heads/master at 6113728f27ae, from Codertocat/Hello-World; pipeline read at 6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "  - unit: build hello/unit on jenkins: POST https://jenkins.example.com/job/hello/job/unit/buildWithParameters?delay=0sec",
        "  - approve (after unit): wait for 2 approval(s) for production by anyone with the approver role",
        "  - prod (after approve): deploy hello to production (rolling), REFUSED: branch \"master\" may not deploy to production (refused by access.environments.production.branches)",
    ];
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("      "))
        .collect();
    assert_eq!(lines, expected, "{out}");
    // The build's parameters, with the callback token masked.
    let (_, json) = dir.replay(&delivery, &["--format", "json"]);
    let plan: Value = serde_json::from_str(&json).unwrap();
    let body = &plan["events"][0]["run"]["stages"][0]["request"]["Ok"]["body"];
    assert_eq!(body["GOAL"], "test", "{json}");
    assert_eq!(body["SLIPWAY_CALLBACK_TOKEN"], "***");
    assert_eq!(
        body["SLIPWAY_COMMIT"],
        "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    );
    assert!(!json.contains("gh-secret"));
}

type Sign = fn(&str, &[u8]) -> Webhook;

#[test]
fn a_signed_push_of_every_other_provider_is_planned() {
    let dir = Dir::new("providers");
    let cases: [(&str, &str, Sign, [&str; 2]); 4] = [
        (
            "gitee",
            "ge-secret",
            |s, b| webhooks::gitee_signed(s, "Push Hook", b),
            [
                "push of 1cdcd819599c to refs/heads/change_commitlint_config in oschina/gitee",
                "  app gitee-app, push refs/heads/change_commitlint_config at 1cdcd819599c, from oschina/gitee; pipeline read at 1cdcd819599cbb4099289dbbec762452f006cb40",
            ],
        ),
        (
            "codeup",
            "cu-secret",
            |s, b| webhooks::codeup(s, "Push Hook", b),
            [
                "push of eb63d0277e64 to refs/heads/master in demo/demo",
                "  app codeup-app, push refs/heads/master at eb63d0277e64, from demo/demo; pipeline read at eb63d0277e64684236ebf8394b919230c4b8a286",
            ],
        ),
        (
            "bitbucket",
            "bb-secret",
            |s, b| webhooks::bitbucket(s, "repo:push", b),
            [
                "push of 709d658dc5b6 to refs/heads/name-of-branch in team_name/repo_name",
                "  app bitbucket-app, push refs/heads/name-of-branch at 709d658dc5b6, from team_name/repo_name; pipeline read at 709d658dc5b6d6afcd46049c2f332ee3f515a67d",
            ],
        ),
        (
            "gitea",
            "gt-secret",
            |s, b| webhooks::gitea(s, "push", b),
            [
                "push of bffeb7422404 to refs/heads/develop in gitea/webhooks",
                "  app gitea-app, push refs/heads/develop at bffeb7422404, from gitea/webhooks; pipeline read at bffeb74224043ba2feb48d137756c8a9331c449a",
            ],
        ),
    ];
    for (provider, secret, sign, [event, app]) in cases {
        let body = fixture(&format!("{provider}/push.json"));
        let (code, out) = dir.replay(&dir.record(provider, &sign(secret, &body)), &[]);
        assert_eq!(code, 0, "{out}");
        let lines: Vec<&str> = out
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with("      "))
            .take(5)
            .collect();
        let signature = format!("{provider} delivery, signature verified");
        assert_eq!(
            lines,
            [
                signature.as_str(),
                event,
                "  would start a run",
                app,
                "  - unit: build hello/unit on jenkins: POST https://jenkins.example.com/job/hello/job/unit/buildWithParameters?delay=0sec",
            ],
            "{out}"
        );
        let forged = sign("not-the-secret", &body);
        let (_, out) = dir.replay(&dir.record(provider, &forged), &[]);
        assert!(out.contains("signature FAILS"), "{provider}: {out}");
    }
}

#[test]
fn a_delivery_signed_with_another_secret_fails_its_check() {
    let dir = Dir::new("forged");
    let hook = webhooks::github(
        "not-the-secret",
        "push",
        &fixture("github/push_new_branch.json"),
    );
    let (code, out) = dir.replay(&dir.record("github", &hook), &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("github delivery, signature FAILS ("),
        "{out}"
    );
    assert!(out.contains("the webhook would answer 401"), "{out}");
}

#[test]
fn an_untrusted_merge_request_is_held_and_reads_the_target_branch_pipeline() {
    let dir = Dir::new("gitlab");
    let hook = webhooks::gitlab(
        "gl-secret",
        "Merge Request Hook",
        &fixture("gitlab/merge_request.json"),
    );
    let (code, out) = dir.replay(&dir.record("gitlab", &hook), &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("gitlab delivery, signature verified"),
        "{out}"
    );
    assert!(
        out.contains("would start a run held for /ok-to-test (the author is not trusted)"),
        "{out}"
    );
    assert!(out.contains("pipeline read at master"), "{out}");
    assert!(
        out.contains("merge-request runs do not deploy to production"),
        "{out}"
    );
}

#[test]
fn a_base_pipeline_file_shows_what_the_change_adds_and_drops() {
    let dir = Dir::new("base");
    let base = "[triggers]\nmerge_requests = true\n[stages.unit]\nkind = \"build\"\nservice = \"jenkins\"\njob = \"hello/unit\"\n[stages.lint]\nkind = \"build\"\nservice = \"jenkins\"\njob = \"hello/lint\"\n";
    std::fs::write(dir.0.join("base.toml"), base).unwrap();
    std::fs::write(dir.0.join("broken.toml"), "[stages.x]\nkind = \"nope\"\n").unwrap();
    let hook = webhooks::github("gh-secret", "push", &fixture("github/push_new_branch.json"));
    let delivery = dir.record("github", &hook);
    let (code, out) = dir.replay(&delivery, &["--base-pipeline", "base.toml"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "pipeline file against the base's: adds stages approve, prod; drops stage lint"
        ),
        "{out}"
    );
    let (_, json) = dir.replay(
        &delivery,
        &["--base-pipeline", "base.toml", "--format", "json"],
    );
    let plan: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        plan["pipeline_change"]["dropped"],
        serde_json::json!(["lint"])
    );
    let (code, out) = dir.replay(&delivery, &["--base-pipeline", "broken.toml"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("the base pipeline file is invalid"), "{out}");
}

#[test]
fn ignored_events_say_why_and_bad_input_is_refused() {
    let dir = Dir::new("ignored");
    let hook = webhooks::github(
        "gh-secret",
        "push",
        &fixture("github/push_tag_deleted.json"),
    );
    let (code, out) = dir.replay(&dir.record("github", &hook), &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("ignored: tag deletion (refs/tags/simple-tag)"),
        "{out}"
    );
    // A GitHub API delivery: re-serialized, so its signature is not checked.
    let api = serde_json::json!({"id": 1, "event": "ping", "request": {
        "headers": {"X-GitHub-Event": "ping", "X-Hub-Signature-256": "sha256=00"},
        "payload": serde_json::from_slice::<Value>(&fixture("github/ping.json")).unwrap()}});
    let path = dir.0.join("api.json");
    std::fs::write(&path, api.to_string()).unwrap();
    let (code, out) = dir.replay(&path, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "signature not checked (the provider's API gives the payload back re-serialized"
        ),
        "{out}"
    );
    let bad = dir.0.join("bad.http");
    std::fs::write(&bad, "X-GitHub-Event: push\n").unwrap();
    let (code, out) = dir.replay(&bad, &["--provider", "github"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("no blank line between the headers and the body"),
        "{out}"
    );
}

/// `POST /api/dry-run` with `token`: status and JSON.
fn dry_run_api(env: &slipway_tests::pipeline_env::Env, token: &str, body: &Value) -> (u16, Value) {
    let response = ureq::post(&env.host.url("/api/dry-run"))
        .set("authorization", &format!("Bearer {token}"))
        .set("content-type", "application/json")
        .send_string(&body.to_string());
    let (status, text) = match response {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(e) => panic!("dry run: {e}"),
    };
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[test]
fn the_dry_run_api_answers_the_plan_and_changes_nothing() {
    use slipway_tests::pipeline_env::{API_TOKEN, Env, sha};
    let env = Env::start("");
    let commit = sha(0x700);
    let hook = env.push("github", "main", &commit);
    let headers: serde_json::Map<String, Value> = hook
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let request = serde_json::json!({
        "provider": "github",
        "headers": headers,
        "body": String::from_utf8(hook.body.clone()).unwrap(),
        "pipeline": "[stages.unit]\nkind = \"build\"\nservice = \"jenkins\"\njob = \"shop/unit-test\"\n",
    });
    let rows = env.kv_rows();
    let (status, plan) = dry_run_api(&env, API_TOKEN, &request);
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["signature"]["state"], "verified", "{plan}");
    let run = &plan["events"][0]["run"];
    assert_eq!(run["app"], "shop-github", "{plan}");
    assert_eq!(run["commit"], commit.as_str());
    assert_eq!(
        run["stages"][0]["request"]["Ok"]["method"], "POST",
        "{plan}"
    );
    assert_eq!(
        run["stages"][0]["request"]["Ok"]["body"]["SLIPWAY_CALLBACK_TOKEN"],
        "***"
    );
    assert!(plan["pipeline_change"].is_null(), "no base file given");
    let mut against = request.clone();
    against["base_pipeline"] = Value::String(
        "[stages.lint]\nkind = \"build\"\nservice = \"jenkins\"\njob = \"shop/lint\"\n".into(),
    );
    let (status, plan) = dry_run_api(&env, API_TOKEN, &against);
    assert_eq!(status, 200, "{plan}");
    assert_eq!(
        plan["pipeline_change"]["summary"], "adds stage unit; drops stage lint",
        "{plan}"
    );
    against["base_pipeline"] = Value::String("[stages".into());
    let (status, reply) = dry_run_api(&env, API_TOKEN, &against);
    assert_eq!(status, 400, "{reply}");
    // Nothing was recorded, nothing triggered.
    assert_eq!(env.kv_rows(), rows);
    assert!(env.jenkins.triggers().is_empty());

    let mut forged = request.clone();
    forged["body"] = Value::String(forged["body"].as_str().unwrap().replace("main", "mainx"));
    let (status, plan) = dry_run_api(&env, API_TOKEN, &forged);
    assert_eq!(
        (status, &plan["signature"]["state"]),
        (200, &Value::from("failed")),
        "{plan}"
    );
    assert_eq!(dry_run_api(&env, "wrong-token", &request).0, 401);
    let (status, reply) = dry_run_api(&env, API_TOKEN, &serde_json::json!({"provider": "github"}));
    assert_eq!(status, 400, "{reply}");
    let (status, reply) = dry_run_api(
        &env,
        API_TOKEN,
        &serde_json::json!({"provider": "svn", "body": ""}),
    );
    assert_eq!(
        (status, reply["error"].as_str().unwrap()),
        (400, "unknown provider \"svn\"")
    );
}
