//! Benchmark: a signed Slack slash command `status` end to end — the `v0`
//! signature, the person's role, and the reads behind the answer (the
//! newest runs per branch, releases and locks per environment) — beside
//! `/api/health` as the floor. Slack gives a command 3 s; the p99 printed
//! here should be far below that.
//!
//! Run: `scripts/bench.sh` (or `cargo test -p slipway-tests --bench chat`
//! after building the components). `BENCH_SECONDS` (default 5) and
//! `BENCH_CONCURRENCY` (default 16) tune it.

use std::sync::Arc;

use slipway_tests::fakes::encode_component;
use slipway_tests::fakes::now_millis;
use slipway_tests::fakes::webhooks::hmac_sha256_hex;
use slipway_tests::load::{drive, env_or};
use slipway_tests::pipeline_env::{Env, PIPELINE, sha};

const SECRET: &str = "bench-slack-signing-secret";
const CONFIG: &str = r#"
[environments.staging]
platform = "kubernetes"
api_server = "https://kubernetes.invalid:6443"
namespace = "shop"
token_secret = "kubernetes_token"
[environments.production]
platform = "kubernetes"
api_server = "https://kubernetes.invalid:6443"
namespace = "shop"
token_secret = "kubernetes_token"
[access.people.viewer]
chat = ["slack:T1:UVIEWER"]
[[access.grants]]
role = "viewer"
to = ["viewer"]
"#;

fn status_request(env: &Env) -> bool {
    let body = format!(
        "team_id=T1&user_id=UVIEWER&command=%2Fslipway&text={}&response_url={}",
        encode_component("status shop-github"),
        encode_component("https://hooks.slack.com/commands/T1/1/x")
    );
    let ts = now_millis() / 1000;
    let sig = hmac_sha256_hex(SECRET.as_bytes(), format!("v0:{ts}:{body}").as_bytes());
    let response = ureq::post(&env.host.url("/chat/slack"))
        .set("content-type", "application/x-www-form-urlencoded")
        .set("x-slack-request-timestamp", &ts.to_string())
        .set("x-slack-signature", &format!("v0={sig}"))
        .send_string(&body);
    match response {
        Ok(r) => r
            .into_string()
            .is_ok_and(|text| text.contains("shop-github:") && text.contains("main@")),
        Err(_) => false,
    }
}

fn main() {
    let seconds = env_or("BENCH_SECONDS", 5);
    let clients = env_or("BENCH_CONCURRENCY", 16);
    let env = Arc::new(Env::start_with(
        CONFIG,
        &[&format!("slack_signing_secret={SECRET}")],
    ));
    // Some history for `status` to read: runs on three branches.
    for (i, branch) in ["main", "main", "release", "feature-x", "main"]
        .iter()
        .enumerate()
    {
        let commit = sha(0xc0 + i as u32);
        env.commit("github", &commit, PIPELINE);
        assert_eq!(
            env.hook("github", &env.push("github", branch, &commit)).0,
            202
        );
    }
    assert!(status_request(&env), "status does not answer");
    let floor = env.clone();
    drive("GET /api/health (floor)", clients, seconds, move || {
        floor.host.get("/api/health").0 == 200
    });
    let ok = drive("POST /chat/slack status", clients, seconds, move || {
        status_request(&env)
    });
    assert!(ok > 0, "no status command succeeded");
}
