//! The real app wired to loopback fakes of every git provider and build
//! service: what the end-to-end tests and benchmarks of pipelines share.

use std::sync::Arc;

use serde_json::Value;

use crate::fakes::jenkins::FakeJenkins;
use crate::fakes::webhooks::{self, Webhook};
use crate::fakes::webhooks_payloads::{self as payloads, Push, PushCommit, ZERO_SHA};
use crate::fakes::{FakeGit, FakeHttpBuilder, FakeTekton};
use crate::{Host, TempDir, app_manifest};

pub const GIT_TOKEN: &str = "git-api-token";
pub const HOOK_SECRET: &str = "hook-secret";
pub const CALLBACK_SECRET: &str = "test-callback-secret";
/// What signs web sessions in tests.
pub const SESSION_SECRET: &str = "test-session-secret-of-32-characters";
/// Bearer token of the `ops` API token, whose owner is an admin of every
/// app and environment.
pub const API_TOKEN: &str = "test-api-token-of-the-operators";
/// The access configuration every test app has: the `ops` token.
pub const OPS_ACCESS: &str = r#"
[access.people.ops]
[[access.grants]]
role = "admin"
to = ["ops"]
[access.tokens.ops]
owner = "ops"
hash_secret = "token_operator"
"#;

/// `sha256:<hex>` of `token`, as a token's hash variable holds it.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(token.as_bytes()))
    )
}
pub const JENKINS_TOKEN: &str = "jenkins-api-token";
pub const PROVIDERS: [&str; 6] = ["github", "gitlab", "gitee", "codeup", "bitbucket", "gitea"];

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
    manifest: std::path::PathBuf,
    args: Vec<String>,
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The repository of the app on `provider`.
pub fn repo(provider: &str) -> String {
    format!("acme/shop-{provider}")
}

impl Env {
    /// Starts the fakes and the app configured for them.
    pub fn start(extra_config: &str) -> Env {
        Self::start_with(extra_config, &[])
    }

    /// Like [`Env::start`], with more `name=value` variables.
    pub fn start_with(extra_config: &str, extra_vars: &[&str]) -> Env {
        let git = FakeGit::start(GIT_TOKEN);
        let jenkins = FakeJenkins::start("slipway", JENKINS_TOKEN);
        jenkins.add_job("shop/unit-test");
        jenkins.add_job("shop/image");
        let tekton = FakeTekton::start("tekton-token");
        let builder = FakeHttpBuilder::start(Some("builder-token"));
        let dir = TempDir::new("git-hooks");
        let manifest = app_manifest(&dir);
        let mut config = String::from("public_url = \"http://slipway.test\"\n");
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
        // Side-effect claims last 1 s here, not 30 s: the fakes answer in
        // milliseconds, and with a fresh instance per request every claim
        // made after a response dies with its instance and waits this out.
        let lease = "[tick]\nlease = \"1s\"\n";
        if extra_config.contains("lease =") {
            config += extra_config;
        } else if extra_config.contains("[tick]\n") {
            config += &extra_config.replace("[tick]\n", lease);
        } else {
            config += &format!("{extra_config}\n{lease}");
        }
        config += OPS_ACCESS;
        std::fs::write(dir.join("config/slipway.toml"), config).unwrap();
        crate::sync_manifest(&manifest);
        let mut vars: Vec<String> = vec![
            format!("callback_secret={CALLBACK_SECRET}"),
            format!("session_secret={SESSION_SECRET}"),
            format!("jenkins_token={JENKINS_TOKEN}"),
            "tekton_token=tekton-token".into(),
            "builder_token=builder-token".into(),
            "gitlab_trigger_token=glptt-test".into(),
            format!("token_operator={}", token_hash(API_TOKEN)),
        ];
        vars.extend(extra_vars.iter().map(|v| v.to_string()));
        for p in PROVIDERS {
            vars.push(format!("{p}_token={GIT_TOKEN}"));
            vars.push(format!("{p}_webhook_secret={HOOK_SECRET}"));
        }
        let mut args: Vec<String> = Vec::new();
        for v in &vars {
            args.push("--variable".into());
            args.push(v.clone());
        }
        let host = Arc::new(Host::start(&manifest, &as_strs(&args)));
        Env {
            manifest,
            args,
            dir,
            git,
            jenkins,
            tekton,
            builder,
            host,
        }
    }

    /// Kills the host with SIGKILL (no chance to finish anything) and
    /// starts a new one on the same state.
    pub fn kill_and_restart(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-9", &self.host.pid().to_string()])
            .status();
        self.host = Arc::new(Host::start(&self.manifest, &as_strs(&self.args)));
    }

    /// Appends `extra` to the app's configuration and restarts the host on
    /// the same state with its manifest synced to the new configuration.
    pub fn reconfigure(&mut self, extra: &str) {
        self.edit_config(|config| config + extra);
    }

    /// Rewrites the app's configuration with `change` and restarts the
    /// host on the same state with its manifest synced to it.
    pub fn edit_config(&mut self, change: impl FnOnce(String) -> String) {
        let path = self.dir.join("config/slipway.toml");
        let config = change(std::fs::read_to_string(&path).unwrap());
        std::fs::write(&path, config).unwrap();
        crate::sync_manifest(&self.manifest);
        self.kill_and_restart();
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

    /// Posts `webhook` to `/hooks/{provider}`.
    pub fn hook(&self, provider: &str, webhook: &Webhook) -> (u16, Value) {
        let (status, body) = webhook.post(&self.host.url(&format!("/hooks/{provider}")));
        (
            status,
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        )
    }

    /// The callback token the app gave `stage` of `run` at `attempt`.
    pub fn callback_token(&self, run: &str, stage: &str, attempt: u32) -> String {
        webhooks::hmac_sha256_hex(
            CALLBACK_SECRET.as_bytes(),
            format!("slipway-callback\n{run}\n{stage}\n{attempt}").as_bytes(),
        )
    }

    /// Posts a build result to `/callbacks/{run}/{stage}` with `token`.
    pub fn callback(
        &self,
        run: &str,
        stage: &str,
        token: &str,
        content_type: &str,
        body: &[u8],
    ) -> (u16, Value) {
        let response = ureq::post(&self.host.url(&format!("/callbacks/{run}/{stage}")))
            .set("authorization", &format!("Bearer {token}"))
            .set("content-type", content_type)
            .send_bytes(body);
        let (status, text) = match response {
            Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
            Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
            Err(e) => panic!("callback: {e}"),
        };
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// `POST path` with the API token.
    pub fn api_post(&self, path: &str) -> (u16, Value) {
        self.api_call("POST", path, API_TOKEN)
    }

    /// `GET path` with the API token.
    pub fn api_get(&self, path: &str) -> (u16, Value) {
        self.api_call("GET", path, API_TOKEN)
    }

    /// `method path` with `token` as the bearer token.
    pub fn api_call(&self, method: &str, path: &str, token: &str) -> (u16, Value) {
        let response = ureq::request(method, &self.host.url(path))
            .set("authorization", &format!("Bearer {token}"))
            .send_bytes(b"");
        let (status, text) = match response {
            Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
            Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
            Err(e) => panic!("{path}: {e}"),
        };
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// `GET /api/runs/{id}` once the work after the last request is done:
    /// webhooks and callbacks answer first and reconcile after the
    /// response (or, when the instance is gone, on the next tick), so this
    /// ticks until the run has no side effect pending.
    pub fn run(&self, id: &str) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            // A run not reconciled yet has nothing pending either: tick first.
            self.tick();
            let run = self.run_now(id);
            if run.get("intents").is_none_or(Value::is_null) || std::time::Instant::now() > deadline
            {
                return run;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// `GET /api/runs/{id}` as it is now.
    pub fn run_now(&self, id: &str) -> Value {
        let (status, body) = self.api_get(&format!("/api/runs/{id}"));
        assert_eq!(status, 200, "{body}");
        body
    }

    /// `POST /api/tick`; its report.
    pub fn tick(&self) -> Value {
        let (status, report) = self.api_post("/api/tick");
        assert_eq!(status, 200, "{report}");
        report
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

    /// Every key and value in the app's key-value store.
    pub fn kv_dump(&self) -> Vec<(String, Vec<u8>)> {
        let db = self.dir.join(".spin/sqlite_key_value.db");
        let conn = rusqlite::Connection::open(db).unwrap();
        let mut statement = conn
            .prepare("SELECT key, value FROM spin_key_value ORDER BY key")
            .unwrap();
        statement
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// The keys in the app's key-value store, sorted (to show what a
    /// request wrote).
    pub fn kv_keys(&self) -> Vec<String> {
        let db = self.dir.join(".spin/sqlite_key_value.db");
        let conn = rusqlite::Connection::open(db).unwrap();
        let mut statement = conn
            .prepare("SELECT key FROM spin_key_value ORDER BY key")
            .unwrap();
        statement
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

/// `push` as `provider` sends it, signed with [`HOOK_SECRET`].
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
pub fn post_oversized(host: &Host, path: &str, size: usize) -> u16 {
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

/// A 40-hex commit id made from `n`.
pub fn sha(n: u32) -> String {
    format!("{n:040x}")
}
