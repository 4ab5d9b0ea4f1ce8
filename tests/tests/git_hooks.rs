//! `POST /hooks/{provider}` end to end: the real components in the host,
//! against fake git providers and build services on loopback.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use slipway_tests::fakes::jenkins::FakeJenkins;
use slipway_tests::fakes::webhooks::{self, Webhook, hmac_sha256_hex};
use slipway_tests::fakes::webhooks_payloads::{self as payloads, Push, PushCommit, ZERO_SHA};
use slipway_tests::fakes::{FakeGit, FakeHttpBuilder, FakeTekton};
use slipway_tests::{Host, TempDir, app_manifest};

const GIT_TOKEN: &str = "git-api-token";
const HOOK_SECRET: &str = "hook-secret";
const CALLBACK_SECRET: &str = "test-callback-secret";
const JENKINS_TOKEN: &str = "jenkins-api-token";
const PROVIDERS: [&str; 6] = ["github", "gitlab", "gitee", "codeup", "bitbucket", "gitea"];

pub const PIPELINE: &str = r#"
[stages.unit-test]
kind = "build"
service = "jenkins"
job = "shop/unit-test"
params = { SUITE = "unit" }
retries = 2

[stages.image]
kind = "build"
service = "jenkins"
job = "shop/image"
needs = ["unit-test"]
"#;

/// The fakes, the app's state directory and the host.
pub struct Env {
    pub dir: TempDir,
    pub git: FakeGit,
    pub jenkins: FakeJenkins,
    pub tekton: FakeTekton,
    pub builder: FakeHttpBuilder,
    pub host: Arc<Host>,
}

fn repo(provider: &str) -> String {
    format!("acme/shop-{provider}")
}

impl Env {
    pub fn start(extra_config: &str) -> Env {
        let git = FakeGit::start(GIT_TOKEN);
        let jenkins = FakeJenkins::start("slipway", JENKINS_TOKEN);
        jenkins.add_job("shop/unit-test");
        jenkins.add_job("shop/image");
        let tekton = FakeTekton::start("tekton-token");
        let builder = FakeHttpBuilder::start(Some("builder-token"));
        let dir = TempDir::new("git-hooks");
        let manifest = app_manifest(&dir);
        let mut config = format!("public_url = \"http://slipway.test\"\n");
        for p in PROVIDERS {
            config += &format!(
                "[providers.{p}]\napi_base = \"{}\"\ntoken_secret = \"{p}_token\"\nwebhook_secret = \"{p}_webhook_secret\"\n",
                git.api_base(p)
            );
            if p == "codeup" {
                config += "organization = \"acme\"\n";
            }
            config += &format!(
                "[apps.shop-{p}]\nprovider = \"{p}\"\nrepo = \"{}\"\n",
                repo(p)
            );
        }
        config += &format!(
            "[build_services.jenkins]\ntype = \"jenkins\"\nurl = \"{}\"\nuser = \"slipway\"\ntoken_secret = \"jenkins_token\"\n",
            jenkins.url()
        );
        config += extra_config;
        std::fs::write(dir.join("config/slipway.toml"), config).unwrap();
        let mut vars: Vec<String> = vec![
            format!("callback_secret={CALLBACK_SECRET}"),
            format!("jenkins_token={JENKINS_TOKEN}"),
            "tekton_token=tekton-token".into(),
            "builder_token=builder-token".into(),
            "gitlab_trigger_token=glptt-test".into(),
            "internal_outbound_hosts=http://127.0.0.1:*".into(),
        ];
        for p in PROVIDERS {
            vars.push(format!("{p}_token={GIT_TOKEN}"));
            vars.push(format!("{p}_webhook_secret={HOOK_SECRET}"));
        }
        let mut args: Vec<String> = Vec::new();
        for v in &vars {
            args.push("--variable".into());
            args.push(v.clone());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let host = Arc::new(Host::start(&manifest, &args));
        Env {
            dir,
            git,
            jenkins,
            tekton,
            builder,
            host,
        }
    }

    /// Puts `pipeline` in the provider's repository at `sha`.
    pub fn commit(&self, provider: &str, sha: &str, pipeline: &str) {
        self.git.add_commit(&repo(provider), sha);
        self.git.add_file(
            &repo(provider),
            sha,
            ".slipway/pipeline.toml",
            pipeline.as_bytes(),
        );
    }

    /// A signed push of `sha` to `branch`, as the provider sends it.
    pub fn push(&self, provider: &str, branch: &str, sha: &str) -> Webhook {
        let push = Push::new(
            &repo(provider),
            &format!("refs/heads/{branch}"),
            ZERO_SHA,
            sha,
        )
        .commit(PushCommit::new(sha, "change").modified(&["src/main.rs"]))
        .web_base(&self.git.url());
        signed(provider, &push)
    }

    pub fn hook(&self, provider: &str, webhook: &Webhook) -> (u16, Value) {
        let (status, body) = webhook.post(&self.host.url(&format!("/hooks/{provider}")));
        (
            status,
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        )
    }

    pub fn run(&self, id: &str) -> Value {
        let (status, body) = self.host.get(&format!("/api/runs/{id}"));
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Number of rows in the app's key-value store.
    pub fn kv_rows(&self) -> usize {
        let db = self.dir.join(".spin/sqlite_key_value.db");
        let conn = rusqlite::Connection::open(db).unwrap();
        conn.query_row("SELECT COUNT(*) FROM spin_key_value", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap() as usize
    }
}

pub fn signed(provider: &str, push: &Push) -> Webhook {
    let body = |v: Value| v.to_string().into_bytes();
    match provider {
        "github" => webhooks::github(HOOK_SECRET, "push", &body(payloads::github_push(push))),
        "gitlab" => webhooks::gitlab(
            HOOK_SECRET,
            payloads::gitlab_event(push),
            &body(payloads::gitlab_push(push)),
        ),
        "gitee" => {
            webhooks::gitee_password(HOOK_SECRET, "Push Hook", &body(payloads::gitee_push(push)))
        }
        "codeup" => webhooks::codeup(HOOK_SECRET, "Push Hook", &body(payloads::codeup_push(push))),
        "bitbucket" => webhooks::bitbucket(
            HOOK_SECRET,
            "repo:push",
            &body(payloads::bitbucket_push(push)),
        ),
        "gitea" => webhooks::gitea(HOOK_SECRET, "push", &body(payloads::gitea_push(push))),
        other => panic!("unknown provider {other}"),
    }
}

/// Posts `size` bytes the way a client that does not wait for the answer
/// would, and returns the status the server answered with (it may answer
/// and close before the body is sent).
fn post_oversized(host: &Host, path: &str, size: usize) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(host.addr).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\nx-github-event: push\r\ncontent-length: {size}\r\nconnection: close\r\n\r\n",
        host.addr
    );
    stream.write_all(head.as_bytes()).unwrap();
    let chunk = vec![b' '; 64 * 1024];
    let mut sent = 0;
    while sent < size {
        match stream.write(&chunk[..chunk.len().min(size - sent)]) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn sha(n: u32) -> String {
    format!("{n:040x}")
}

#[test]
fn a_signed_push_to_each_provider_starts_one_run_and_its_first_build() {
    let env = Env::start("");
    for (i, provider) in PROVIDERS.iter().enumerate() {
        let commit = sha(0xa000 + i as u32);
        env.commit(provider, &commit, PIPELINE);
        let (status, reply) = env.hook(provider, &env.push(provider, "main", &commit));
        assert_eq!(status, 202, "{provider}: {reply}");
        let run_id = format!("shop-{provider}-1");
        assert_eq!(reply["run"], run_id.as_str(), "{provider}");
        assert_eq!(reply["number"], 1);

        let run = env.run(&run_id);
        assert_eq!(run["trigger"]["commit"], commit.as_str());
        assert_eq!(
            run["stages"]["unit-test"]["status"], "running",
            "{provider}: {run}"
        );
        assert_eq!(run["stages"]["image"]["status"], "queued");

        let triggers = env.jenkins.triggers();
        let (job, params) = triggers.last().unwrap();
        assert_eq!(job, "shop/unit-test");
        assert_eq!(params["SLIPWAY_RUN"], run_id);
        assert_eq!(params["SLIPWAY_STAGE"], "unit-test");
        assert_eq!(params["SLIPWAY_ATTEMPT"], "1");
        assert_eq!(params["SLIPWAY_COMMIT"], commit);
        assert_eq!(params["SLIPWAY_REF"], "refs/heads/main");
        assert_eq!(params["SUITE"], "unit");
        assert_eq!(
            params["SLIPWAY_CALLBACK_URL"],
            format!("http://slipway.test/callbacks/{run_id}/unit-test")
        );
        let token = hmac_sha256_hex(
            CALLBACK_SECRET.as_bytes(),
            format!("slipway-callback\n{run_id}\nunit-test\n1").as_bytes(),
        );
        assert_eq!(params["SLIPWAY_CALLBACK_TOKEN"], token);
        if *provider != "gitee" {
            let statuses = env.git.statuses(&repo(provider), &commit);
            assert!(
                statuses.iter().any(|s| s["state"]
                    .as_str()
                    .is_some_and(|st| st == "pending" || st == "INPROGRESS")),
                "{provider}: {statuses:?}"
            );
        }
    }
    assert_eq!(env.jenkins.triggers().len(), PROVIDERS.len());
}

#[test]
fn a_redelivery_creates_nothing() {
    let env = Env::start("");
    let commit = sha(0xb1);
    env.commit("github", &commit, PIPELINE);
    let webhook = env.push("github", "main", &commit);
    assert_eq!(env.hook("github", &webhook).0, 202);
    let rows = env.kv_rows();
    // The same delivery again, and the same push under a new delivery id.
    let again = env.hook("github", &webhook);
    assert_eq!(
        (again.0, again.1["run"].as_str()),
        (200, Some("shop-github-1"))
    );
    let other_id = webhook
        .clone()
        .with_header("x-github-delivery", "another-delivery-id");
    let again = env.hook("github", &other_id);
    assert_eq!((again.0, again.1["duplicate"].as_bool()), (200, Some(true)));
    assert_eq!(env.kv_rows(), rows);
    assert_eq!(env.jenkins.triggers().len(), 1);
}

#[test]
fn fifty_concurrent_pushes_create_fifty_runs_with_distinct_numbers() {
    let env = Arc::new(Env::start(""));
    for i in 0..50 {
        env.commit("gitlab", &sha(0xc000 + i), PIPELINE);
    }
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let env = env.clone();
            std::thread::spawn(move || {
                let (status, reply) =
                    env.hook("gitlab", &env.push("gitlab", "main", &sha(0xc000 + i)));
                assert_eq!(status, 202, "{reply}");
                reply["number"].as_u64().unwrap()
            })
        })
        .collect();
    let mut numbers: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    numbers.sort();
    assert_eq!(numbers, (1..=50).collect::<Vec<u64>>());
    assert_eq!(env.jenkins.triggers().len(), 50);
}

#[test]
fn rejected_and_ignored_requests_leave_the_store_unchanged() {
    let env = Env::start("");
    let commit = sha(0xd1);
    env.commit("github", &commit, PIPELINE);
    env.host.get("/api/health");
    let rows = env.kv_rows();
    let good = env.push("github", "main", &commit);

    let bad_sig = good
        .clone()
        .with_header("x-hub-signature-256", &format!("sha256={}", "0".repeat(64)));
    assert_eq!(env.hook("github", &bad_sig).0, 401);
    assert_eq!(
        env.hook(
            "github",
            &good.clone().without_header("x-hub-signature-256")
        )
        .0,
        401
    );
    let garbage = webhooks::github(HOOK_SECRET, "push", b"{\"ref\": ");
    let (status, reply) = env.hook("github", &garbage);
    assert_eq!(status, 400, "{reply}");
    assert!(
        reply["error"].as_str().unwrap().contains("malformed"),
        "{reply}"
    );
    assert_eq!(env.hook("svn", &good).0, 404);
    assert_eq!(
        post_oversized(&env.host, "/hooks/github", 26 * 1024 * 1024),
        413
    );
    // Events that start nothing.
    let ping = webhooks::github(
        HOOK_SECRET,
        "ping",
        br#"{"zen":"Keep it logically awesome.","hook_id":1}"#,
    );
    assert_eq!(env.hook("github", &ping).1["ignored"], "ping");
    let deletion = signed(
        "github",
        &Push::new(&repo("github"), "refs/heads/old", &commit, ZERO_SHA).web_base(&env.git.url()),
    );
    assert!(
        env.hook("github", &deletion).1["ignored"]
            .as_str()
            .unwrap()
            .contains("deletion")
    );
    let no_file = env.push("github", "main", &sha(0xd2));
    env.git.add_commit(&repo("github"), &sha(0xd2));
    assert!(
        env.hook("github", &no_file).1["ignored"]
            .as_str()
            .unwrap()
            .contains("no pipeline file")
    );
    env.commit(
        "github",
        &sha(0xd3),
        &format!("[triggers]\nbranches = [\"release/*\"]\n{PIPELINE}"),
    );
    let filtered = env.hook("github", &env.push("github", "main", &sha(0xd3)));
    assert!(
        filtered.1["ignored"].as_str().unwrap().contains("branch"),
        "{}",
        filtered.1
    );

    assert_eq!(env.kv_rows(), rows);
    assert!(env.jenkins.triggers().is_empty());
}

#[test]
fn an_invalid_pipeline_file_fails_the_run_and_says_where() {
    let env = Env::start("");
    let commit = sha(0xe1);
    env.commit(
        "github",
        &commit,
        "[stages.unit]\nkind = \"build\"\nservice = [\n",
    );
    let (status, reply) = env.hook("github", &env.push("github", "main", &commit));
    assert_eq!(status, 202, "{reply}");
    let run = env.run("shop-github-1");
    assert_eq!(run["status"], "failed");
    assert!(run["error"].as_str().unwrap().contains("line 3"), "{run}");
    let statuses = env.git.statuses(&repo("github"), &commit);
    let last = statuses.last().unwrap();
    assert_eq!(last["state"], "error");
    assert!(
        last["description"].as_str().unwrap().contains("line 3"),
        "{last}"
    );
}

#[test]
fn a_build_service_that_is_down_fails_the_stage_after_its_retries() {
    let env = Env::start("");
    let commit = sha(0xf1);
    env.commit("github", &commit, PIPELINE);
    env.jenkins.set_down(true);
    let (status, reply) = env.hook("github", &env.push("github", "main", &commit));
    assert_eq!(status, 202, "{reply}");
    let run = env.run("shop-github-1");
    assert_eq!(run["stages"]["unit-test"]["status"], "failed", "{run}");
    let reason = run["stages"]["unit-test"]["reason"].as_str().unwrap();
    assert!(reason.contains("3 attempts"), "{reason}");
    assert_eq!(run["stages"]["image"]["status"], "cancelled");
    assert_eq!(run["status"], "failed");
    let last = env
        .git
        .statuses(&repo("github"), &commit)
        .last()
        .cloned()
        .unwrap();
    assert_eq!(last["state"], "failure");
}

#[test]
fn a_failing_build_service_is_retried_with_backoff() {
    let env = Env::start("");
    let commit = sha(0xf2);
    env.commit("github", &commit, PIPELINE);
    env.jenkins.fail_next(2, 503);
    let (status, reply) = env.hook("github", &env.push("github", "main", &commit));
    assert_eq!(status, 202, "{reply}");
    let run = env.run("shop-github-1");
    assert_eq!(run["stages"]["unit-test"]["status"], "running", "{run}");
    let attempts = env
        .jenkins
        .requests_to("/job/shop/job/unit-test/buildWithParameters");
    assert_eq!(attempts.len(), 3);
    let spread = attempts[2]
        .received_at
        .duration_since(attempts[0].received_at)
        .unwrap();
    assert!(spread >= Duration::from_millis(200), "{spread:?}");
}

#[test]
fn every_build_service_gets_the_run_identity_and_callback() {
    let extra = r#"
[build_services.tekton]
type = "tekton"
api_server = "TEKTON"
namespace = "default"
token_secret = "tekton_token"
[build_services.builder]
type = "http"
url = "BUILDER/build"
token_secret = "builder_token"
[build_services.actions]
type = "github_actions"
api_base = "GIT"
token_secret = "github_token"
[build_services.gitlab]
type = "gitlab_ci"
api_base = "GIT/api/v4"
project = "acme/shop-gitlab"
token_secret = "gitlab_trigger_token"
"#;
    // The fakes must exist before the config names their URLs.
    let probe = Env::start("");
    let extra = extra
        .replace("TEKTON", &probe.tekton.url())
        .replace("BUILDER", &probe.builder.url())
        .replace("GIT", &probe.git.url());
    std::fs::write(
        probe.dir.join("config/slipway.toml"),
        std::fs::read_to_string(probe.dir.join("config/slipway.toml")).unwrap() + &extra,
    )
    .unwrap();
    let env = probe;
    env.git.add_workflow(&repo("github"), "build.yml");
    env.git.add_branch(&repo("github"), "main", &sha(0x1));
    env.git.add_trigger_token(&repo("gitlab"), "glptt-test");
    env.git.add_branch(&repo("gitlab"), "main", &sha(0x1));
    let pipeline = r#"
[stages.tekton]
kind = "build"
service = "tekton"
job = "build-and-test"
[stages.plain]
kind = "build"
service = "builder"
job = ""
[stages.actions]
kind = "build"
service = "actions"
job = "build.yml"
[stages.gitlab]
kind = "build"
service = "gitlab"
job = ""
"#;
    let commit = sha(0x1);
    env.commit("github", &commit, pipeline);
    let (status, reply) = env.hook("github", &env.push("github", "main", &commit));
    assert_eq!(status, 202, "{reply}");
    let run = env.run("shop-github-1");
    for stage in ["tekton", "plain", "actions", "gitlab"] {
        assert_eq!(run["stages"][stage]["status"], "running", "{stage}: {run}");
    }
    let pipeline_runs = env.tekton.runs();
    assert_eq!(pipeline_runs.len(), 1);
    let params: BTreeMap<String, String> = pipeline_runs[0]["spec"]["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["value"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(params.get("revision"), Some(&commit));
    let builds = env.builder.builds();
    assert_eq!(builds[0]["run"], "shop-github-1");
    assert_eq!(
        builds[0]["callback"]["url"],
        "http://slipway.test/callbacks/shop-github-1/plain"
    );
    let dispatches = env.git.dispatches();
    assert_eq!(dispatches.len(), 1);
    assert_eq!(dispatches[0].git_ref, "main");
    let triggers = env.git.pipeline_triggers();
    assert_eq!(triggers.len(), 1);
    assert_eq!(triggers[0].git_ref, "main");
    assert_eq!(triggers[0].variables["SLIPWAY_STAGE"], "gitlab");
    assert_eq!(triggers[0].variables["SLIPWAY_COMMIT"], commit);
}
