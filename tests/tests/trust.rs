//! Trust boundaries end to end through the real components: pull requests
//! from untrusted authors, the environments' deploy policy, and named API
//! tokens with roles.

use std::time::Duration;

use serde_json::{Value, json};
use slipway_tests::fakes::FakeKubernetes;
use slipway_tests::fakes::webhooks;
use slipway_tests::fakes::webhooks_pull_requests::{
    PullRequest, github_comment, github_pull_request, gitlab_merge_request, gitlab_note,
};
use slipway_tests::pipeline_env::{API_TOKEN, Env, HOOK_SECRET, repo, sha, token_hash};

const NS: &str = "shop";
const APP: &str = "shop-github";
const OLD: &str = "registry.example.com/acme/shop:1.0.0";
const IMAGE: &str = "registry.example.com/acme/shop@sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";
const ALICE_TOKEN: &str = "alice-token-0123456789abcdef";
const VIEWER_TOKEN: &str = "viewer-token-0123456789abcdef";

/// The target branch's pipeline: merge-request runs on, unit tests only.
const TARGET_PIPELINE: &str = r#"
[triggers]
merge_requests = true

[stages.unit-test]
kind = "build"
service = "jenkins"
job = "shop/unit-test"
"#;

/// What a fork would like to run: a deploy of another app to production.
const HOSTILE_PIPELINE: &str = r#"
[triggers]
merge_requests = true

[stages.unit-test]
kind = "build"
service = "jenkins"
job = "shop/unit-test"

[stages.steal]
kind = "deploy"
app = "shop-gitlab"
environment = "production"
needs = ["unit-test"]
"#;

struct World {
    env: Env,
    _k8s: FakeKubernetes,
}

fn world() -> World {
    let k8s = FakeKubernetes::start("k8s-token");
    k8s.add_namespace(NS);
    k8s.set_rollout_step(Some(Duration::from_millis(20)));
    k8s.add_deployment(NS, APP, &[("app", APP)], APP, OLD, 2);
    let config = format!(
        r#"
[environments.production]
platform = "kubernetes"
api_server = "{k8s}"
namespace = "{NS}"
token_secret = "kubernetes_token"
[environments.frozen]
platform = "kubernetes"
api_server = "{k8s}"
namespace = "{NS}"
token_secret = "kubernetes_token"
[access.environments.production]
branches = ["main"]
[[access.environments.frozen.freeze]]
name = "peak"
from = "2000-01-01T00:00:00Z"
until = "2100-01-01T00:00:00Z"
reason = "Black Friday traffic"
[access.people.alice]
git = ["github:alice"]
[access.people.maint]
git = ["github:maint", "gitlab:maint"]
[access.people.viewer-bot]
[[access.grants]]
role = "deployer"
to = ["alice"]
[[access.grants]]
role = "viewer"
to = ["viewer-bot"]
[access.tokens.alice]
owner = "alice"
hash_secret = "token_alice"
[access.tokens.viewer]
owner = "viewer-bot"
hash_secret = "token_viewer"
[apps.shop-github.pull_requests]
trusted = ["maint"]
[apps.shop-gitlab.pull_requests]
trusted = ["maint"]
"#,
        k8s = k8s.url(),
    );
    let alice = format!("token_alice={}", token_hash(ALICE_TOKEN));
    let viewer = format!("token_viewer={}", token_hash(VIEWER_TOKEN));
    let env = Env::start_with(&config, &["kubernetes_token=k8s-token", &alice, &viewer]);
    World { env, _k8s: k8s }
}

fn github_hook(env: &Env, event: &str, body: &Value) -> (u16, Value) {
    env.hook(
        "github",
        &webhooks::github(HOOK_SECRET, event, body.to_string().as_bytes()),
    )
}

fn gitlab_hook(env: &Env, event: &str, body: &Value) -> (u16, Value) {
    env.hook(
        "gitlab",
        &webhooks::gitlab(HOOK_SECRET, event, body.to_string().as_bytes()),
    )
}

/// The target branch `main` of `provider`'s repository at a commit with
/// [`TARGET_PIPELINE`], and a fork head with [`HOSTILE_PIPELINE`].
fn branches(env: &Env, provider: &str, main: &str, head: &str) {
    env.commit(provider, main, TARGET_PIPELINE);
    env.git.add_branch(&repo(provider), "main", main);
    env.commit(provider, head, HOSTILE_PIPELINE);
}

fn stage_names(run: &Value) -> Vec<String> {
    run["stages"]
        .as_object()
        .map(|s| s.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn an_untrusted_fork_runs_nothing_until_a_trusted_ok_to_test_then_the_target_pipeline() {
    let w = world();
    let (main, head) = (sha(0x100), sha(0x101));
    branches(&w.env, "github", &main, &head);
    let pr = PullRequest::from_fork(&repo("github"), 7, "forker", &head);
    let (status, reply) = github_hook(&w.env, "pull_request", &github_pull_request(&pr, "opened"));
    assert_eq!(status, 202, "{reply}");
    let run_id = reply["run"].as_str().unwrap().to_owned();
    let run = w.env.run(&run_id);
    assert_eq!(run["status"], "queued", "{run}");
    assert!(run["ok_to_test"]["granted"].is_null(), "{run}");
    assert_eq!(run["trigger"]["pipeline_ref"], "main", "{run}");
    assert_eq!(
        stage_names(&run),
        ["unit-test"],
        "the target's pipeline, not the fork's"
    );
    assert!(
        w.env.jenkins.triggers().is_empty(),
        "nothing runs while held"
    );
    let statuses = w.env.git.statuses(&repo("github"), &head);
    assert!(
        statuses.iter().any(|s| s["description"]
            .as_str()
            .unwrap_or_default()
            .contains("/ok-to-test")),
        "{statuses:?}"
    );

    // Anyone else's /ok-to-test changes nothing.
    let by_stranger = github_comment(&pr, "stranger", "NONE", "/ok-to-test");
    let (status, reply) = github_hook(&w.env, "issue_comment", &by_stranger);
    assert_eq!(status, 200, "{reply}");
    assert!(
        reply["ignored"].as_str().unwrap().contains("not trusted"),
        "{reply}"
    );
    let by_author = github_comment(&pr, "forker", "CONTRIBUTOR", "/ok-to-test");
    assert_eq!(github_hook(&w.env, "issue_comment", &by_author).0, 200);
    assert!(w.env.run(&run_id)["ok_to_test"]["granted"].is_null());
    assert!(w.env.jenkins.triggers().is_empty());

    // A trusted member's lets this run, of this head, go.
    let by_maint = github_comment(&pr, "maint", "NONE", "Looks harmless.\n/ok-to-test");
    let (status, reply) = github_hook(&w.env, "issue_comment", &by_maint);
    assert_eq!(status, 202, "{reply}");
    assert_eq!(reply["run"], run_id.as_str());
    let run = w.env.run(&run_id);
    assert_eq!(run["ok_to_test"]["granted"]["by"], "maint", "{run}");
    assert_eq!(run["stages"]["unit-test"]["status"], "running", "{run}");
    let jobs: Vec<String> = w
        .env
        .jenkins
        .triggers()
        .into_iter()
        .map(|(job, _)| job)
        .collect();
    assert_eq!(jobs, ["shop/unit-test"]);

    // A new push asks again.
    let newer = sha(0x102);
    w.env.commit("github", &newer, HOSTILE_PIPELINE);
    let pushed = pr.pushed(&newer);
    let (status, reply) = github_hook(
        &w.env,
        "pull_request",
        &github_pull_request(&pushed, "synchronize"),
    );
    assert_eq!(status, 202, "{reply}");
    let second = w.env.run(reply["run"].as_str().unwrap());
    assert!(second["ok_to_test"]["granted"].is_null(), "{second}");
    assert_eq!(w.env.jenkins.triggers().len(), 1);
}

#[test]
fn the_forks_own_trigger_switch_counts_for_nothing() {
    let w = world();
    let (main, head) = (sha(0x200), sha(0x201));
    // The target branch does not run merge requests; the fork's file would.
    w.env.commit(
        "github",
        &main,
        "[stages.unit-test]\nkind = \"build\"\nservice = \"jenkins\"\njob = \"shop/unit-test\"\n",
    );
    w.env.git.add_branch(&repo("github"), "main", &main);
    w.env.commit("github", &head, HOSTILE_PIPELINE);
    let pr = PullRequest::from_fork(&repo("github"), 8, "forker", &head);
    let rows = w.env.kv_rows();
    let (status, reply) = github_hook(&w.env, "pull_request", &github_pull_request(&pr, "opened"));
    assert_eq!(status, 200, "{reply}");
    assert!(
        reply["ignored"].as_str().unwrap().contains("merge request"),
        "{reply}"
    );
    assert_eq!(w.env.kv_rows(), rows, "nothing recorded");
}

#[test]
fn a_trusted_authors_request_runs_its_own_pipeline_without_deploys() {
    let w = world();
    let (main, head) = (sha(0x300), sha(0x301));
    branches(&w.env, "github", &main, &head);
    let mut pr = PullRequest::from_fork(&repo("github"), 9, "member", &head);
    pr.association = "MEMBER".into();
    let (status, reply) = github_hook(&w.env, "pull_request", &github_pull_request(&pr, "opened"));
    assert_eq!(status, 202, "{reply}");
    let run = w.env.run(reply["run"].as_str().unwrap());
    assert!(run["ok_to_test"].is_null(), "{run}");
    assert!(run["trigger"]["pipeline_ref"].is_null(), "{run}");
    assert_eq!(stage_names(&run), ["unit-test"], "{run}");
    let withheld = run["pipeline"]["withheld"]["steal"]
        .as_str()
        .unwrap_or_default();
    assert!(
        withheld.contains("access.environments.production.pull_requests"),
        "{run}"
    );
    assert_eq!(run["stages"]["unit-test"]["status"], "running");
    // The request's commit status says what it does to the pipeline.
    let change: Vec<Value> = w
        .env
        .git
        .all_statuses()
        .into_iter()
        .filter(|s| s["context"] == "slipway-pipeline")
        .collect();
    assert_eq!(change.len(), 1, "{change:?}");
    assert_eq!(change[0]["state"], "success");
    assert_eq!(
        change[0]["description"],
        "This change adds stage steal (against main)"
    );
    assert_eq!(
        run["base_comparison"]["change"]["added"],
        json!(["steal"]),
        "{run}"
    );
}

#[test]
fn an_ok_to_test_binds_to_the_head_the_comment_names() {
    let w = world();
    let (main, first, second) = (sha(0x400), sha(0x401), sha(0x402));
    branches(&w.env, "gitlab", &main, &first);
    w.env.commit("gitlab", &second, HOSTILE_PIPELINE);
    let pr = PullRequest::from_fork(&repo("gitlab"), 3, "forker", &first);
    let (status, a) = gitlab_hook(
        &w.env,
        "Merge Request Hook",
        &gitlab_merge_request(&pr, "open", "forker"),
    );
    assert_eq!(status, 202, "{a}");
    let pushed = pr.pushed(&second);
    let (status, b) = gitlab_hook(
        &w.env,
        "Merge Request Hook",
        &gitlab_merge_request(&pushed, "update", "forker"),
    );
    assert_eq!(status, 202, "{b}");
    // The note names the head it was written at: the second push.
    let (status, reply) = gitlab_hook(
        &w.env,
        "Note Hook",
        &gitlab_note(&pushed, "maint", "/ok-to-test"),
    );
    assert_eq!(status, 202, "{reply}");
    assert_eq!(reply["run"], b["run"]);
    let older = w.env.run(a["run"].as_str().unwrap());
    assert_eq!(older["status"], "cancelled", "{older}");
    assert!(
        older["error"].as_str().unwrap().contains("superseded"),
        "{older}"
    );
    let newer = w.env.run(b["run"].as_str().unwrap());
    assert_eq!(newer["ok_to_test"]["granted"]["by"], "maint", "{newer}");
    assert_eq!(newer["stages"]["unit-test"]["status"], "running", "{newer}");
}

#[test]
fn a_deploy_from_a_branch_the_environment_does_not_allow_is_refused_by_its_rule() {
    let w = world();
    let pipeline = "[stages.image]\nkind = \"build\"\nservice = \"jenkins\"\njob = \"shop/image\"\n\
                    [stages.production]\nkind = \"deploy\"\nenvironment = \"production\"\nneeds = [\"image\"]\n";
    let commit = sha(0x500);
    w.env.commit("github", &commit, pipeline);
    let (status, reply) = w
        .env
        .hook("github", &w.env.push("github", "feature/x", &commit));
    assert_eq!(status, 202, "{reply}");
    let run = reply["run"].as_str().unwrap().to_owned();
    let token = w.env.callback_token(&run, "image", 1);
    let result = json!({ "status": "succeeded", "artifacts": { "image": IMAGE } });
    let (status, answer) = w.env.callback(
        &run,
        "image",
        &token,
        "application/json",
        result.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{answer}");
    let record = w.env.run(&run);
    let stage = &record["stages"]["production"];
    assert_eq!(stage["status"], "failed", "{record}");
    let reason = stage["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("access.environments.production.branches"),
        "{reason}"
    );
    assert!(reason.contains("feature/x"), "{reason}");
}

fn deploy_as(env: &Env, token: &str, body: &Value) -> (u16, Value, Option<String>) {
    let response = ureq::post(&env.host.url("/api/deploy"))
        .set("authorization", &format!("Bearer {token}"))
        .set("content-type", "application/json")
        .send_string(&body.to_string());
    let (status, retry, text) = match response {
        Ok(r) => (
            r.status(),
            r.header("retry-after").map(str::to_owned),
            r.into_string().unwrap_or_default(),
        ),
        Err(ureq::Error::Status(code, r)) => (
            code,
            r.header("retry-after").map(str::to_owned),
            r.into_string().unwrap_or_default(),
        ),
        Err(e) => panic!("deploy: {e}"),
    };
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
        retry,
    )
}

#[test]
fn a_freeze_refuses_deploys_unless_an_admin_overrides_with_a_reason() {
    let w = world();
    let body = json!({ "app": APP, "environment": "frozen", "image": IMAGE });
    let (status, reply, _) = deploy_as(&w.env, API_TOKEN, &body);
    assert_eq!(status, 403, "{reply}");
    let error = reply["error"].as_str().unwrap();
    assert!(
        error.contains("access.environments.frozen.freeze"),
        "{error}"
    );
    assert!(error.contains("Black Friday traffic"), "{error}");
    let overridden = json!({ "app": APP, "environment": "frozen", "image": IMAGE,
                             "override_freeze": "hotfix for the checkout outage",
                             "requested_by": "somebody-else" });
    let (status, reply, _) = deploy_as(&w.env, ALICE_TOKEN, &overridden);
    assert_eq!(status, 403, "a deployer is not an admin: {reply}");
    assert!(
        reply["error"].as_str().unwrap().contains("only an admin"),
        "{reply}"
    );
    let (status, reply, _) = deploy_as(&w.env, API_TOKEN, &overridden);
    assert_eq!(status, 202, "{reply}");
    assert_eq!(
        reply["requested_by"], "ops",
        "the token's owner, not the body's name"
    );
    assert_eq!(reply["freeze_override"]["freeze"], "peak");
    assert_eq!(reply["freeze_override"]["by"], "ops");
    assert_eq!(
        reply["freeze_override"]["reason"],
        "hotfix for the checkout outage"
    );
}

#[test]
fn tokens_carry_their_owners_roles_and_reads_need_one() {
    let w = world();
    let body = json!({ "app": APP, "environment": "production", "image": IMAGE });
    let (status, reply, _) = deploy_as(&w.env, VIEWER_TOKEN, &body);
    assert_eq!(status, 403, "{reply}");
    assert!(
        reply["error"].as_str().unwrap().contains("viewer-bot"),
        "{reply}"
    );
    assert!(
        reply["error"].as_str().unwrap().contains("deployer"),
        "{reply}"
    );
    let (status, reply, _) = deploy_as(&w.env, ALICE_TOKEN, &body);
    assert_eq!(status, 202, "{reply}");
    assert_eq!(reply["requested_by"], "alice");
    let releases = format!("/api/apps/{APP}/environments/production/releases");
    assert_eq!(w.env.api_call("GET", &releases, VIEWER_TOKEN).0, 200);
    assert_eq!(w.env.host.get(&releases).0, 401);
    assert_eq!(
        w.env
            .api_call("GET", "/api/runs/shop-github-1", "not-a-known-token-at-all")
            .0,
        401
    );
    assert_eq!(
        w.env
            .api_call("GET", "/api/runs/shop-github-1", VIEWER_TOKEN)
            .0,
        404
    );
    assert_eq!(
        w.env.api_call("POST", "/api/tick", VIEWER_TOKEN).0,
        200,
        "any token ticks"
    );
}

#[test]
fn an_app_may_open_its_runs_and_releases_to_anyone() {
    let mut w = world();
    let releases = format!("/api/apps/{APP}/environments/production/releases");
    assert_eq!(w.env.host.get(&releases).0, 401);
    w.env.edit_config(|config| {
        config.replace(
            "repo = \"acme/shop-github\"\n",
            "repo = \"acme/shop-github\"\npublic_read = true\n",
        )
    });
    assert_eq!(w.env.host.get(&releases).0, 200);
    assert_eq!(w.env.host.get("/api/runs/shop-github-1").0, 404);
    // Reading is all it opens.
    let (status, _) = w.env.host.post("/api/deploy", b"{}");
    assert_eq!(status, 401);
    let other = "/api/apps/shop-gitlab/environments/production/releases";
    assert_eq!(w.env.host.get(other).0, 401);
}

#[test]
fn failed_attempts_are_throttled_per_source() {
    let w = world();
    for _ in 0..20 {
        assert_eq!(
            w.env
                .api_call("GET", "/api/runs/shop-github-1", "guess-0123456789abcdef")
                .0,
            401
        );
    }
    let body = json!({ "app": APP, "environment": "production", "image": IMAGE });
    let (status, reply, retry_after) = deploy_as(&w.env, API_TOKEN, &body);
    assert_eq!(status, 429, "even the right token waits: {reply}");
    let retry_after: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
}
