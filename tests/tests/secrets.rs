//! Secrets never leak: with every secret set to a value of its own, every
//! route is driven with good and bad input and with failing remote
//! services; then the host's console, the components' logs, every response
//! and every key-value row are searched for those values.

use serde_json::json;
use slipway_tests::chat_env::{
    APP, DINGTALK_SECRET, FEISHU_KEY, FEISHU_TOKEN, MM_TOKEN, SLACK_SECRET, World, post,
    run_waiting_for_approval, slack, slack_at, world,
};
use slipway_tests::fakes::now_millis;
use slipway_tests::pipeline_env::{
    API_TOKEN, CALLBACK_SECRET, GIT_TOKEN, HOOK_SECRET, JENKINS_TOKEN, sha,
};

/// Every secret value the world's app is given.
fn secret_values(w: &World) -> Vec<String> {
    let mut values: Vec<String> = [
        GIT_TOKEN,
        HOOK_SECRET,
        CALLBACK_SECRET,
        API_TOKEN,
        JENKINS_TOKEN,
        "tekton-token",
        "builder-token",
        "glptt-test",
        "k8s-token",
        SLACK_SECRET,
        MM_TOKEN,
        DINGTALK_SECRET,
        FEISHU_TOKEN,
        FEISHU_KEY,
        "feishu-app-secret",
    ]
    .map(str::to_owned)
    .to_vec();
    values.push(w.chat.slack_url());
    values
}

/// Collects every response body.
struct Responses(Vec<String>);

impl Responses {
    fn keep(&mut self, what: impl ToString) {
        self.0.push(what.to_string());
    }

    fn call(&mut self, w: &World, method: &str, path: &str, token: &str, body: &str) -> u16 {
        let response = ureq::request(method, &w.env.host.url(path))
            .set("authorization", &format!("Bearer {token}"))
            .set("content-type", "application/json")
            .send_string(body);
        let (status, text) = match response {
            Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
            Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
            Err(e) => panic!("{path}: {e}"),
        };
        self.keep(&text);
        status
    }
}

fn drive_pipeline_routes(w: &World, out: &mut Responses) {
    let run = run_waiting_for_approval(w, &sha(0x900));
    out.keep(w.env.run(&run));
    // Bad signatures, bodies and tokens.
    let forged = w
        .env
        .push("github", "main", &sha(0x901))
        .with_header("x-hub-signature-256", "sha256=00");
    out.keep(w.env.hook("github", &forged).1);
    let garbage = w
        .env
        .push("github", "main", &sha(0x902))
        .with_body(b"{not json");
    out.keep(w.env.hook("github", &garbage).1);
    let (_, reply) = w
        .env
        .callback(&run, "image", "wrong-token", "application/json", b"{}");
    out.keep(reply);
    let token = w.env.callback_token(&run, "image", 1);
    out.keep(
        w.env
            .callback(&run, "image", &token, "application/json", b"[1,2")
            .1,
    );
    // A build service that fails: the job does not exist on Jenkins.
    let missing_job =
        "[stages.build]\nkind = \"build\"\nservice = \"jenkins\"\njob = \"no/such-job\"\n";
    w.env.commit("github", &sha(0x903), missing_job);
    let (_, reply) = w
        .env
        .hook("github", &w.env.push("github", "main", &sha(0x903)));
    if let Some(id) = reply["run"].as_str() {
        out.keep(w.env.run(id));
    }
    out.keep(reply);
    // A provider that fails: no pipeline file at that commit.
    let (_, reply) = w
        .env
        .hook("github", &w.env.push("github", "main", &sha(0x904)));
    out.keep(reply);
    out.keep(w.env.tick());
}

fn drive_api_routes(w: &World, out: &mut Responses) {
    let image = "registry.example.com/acme/shop@sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";
    let good = json!({ "app": APP, "environment": "staging", "image": image }).to_string();
    out.call(w, "POST", "/api/deploy", API_TOKEN, &good);
    out.call(w, "POST", "/api/deploy", "wrong-token-0123456789", &good);
    out.call(w, "POST", "/api/deploy", API_TOKEN, "{\"app\":");
    // A platform that fails: nothing named `ghost` on Kubernetes.
    let ghost = json!({ "app": APP, "environment": "production", "image": "ghost:1" }).to_string();
    out.call(w, "POST", "/api/deploy", API_TOKEN, &ghost);
    out.call(
        w,
        "POST",
        &format!("/api/deploy/{APP}/staging/promote"),
        API_TOKEN,
        "",
    );
    out.call(
        w,
        "POST",
        &format!("/api/deploy/{APP}/staging/rollback"),
        API_TOKEN,
        "",
    );
    out.call(
        w,
        "GET",
        &format!("/api/apps/{APP}/environments/staging/releases"),
        API_TOKEN,
        "",
    );
    out.call(w, "GET", "/api/runs/shop-github-1", "", "");
    out.call(
        w,
        "POST",
        "/api/runs/shop-github-1/stages/image/retry",
        API_TOKEN,
        "",
    );
    out.call(w, "GET", "/api/health", "", "");
    out.keep(w.env.tick());
}

fn drive_chat_routes(w: &World, out: &mut Responses) {
    out.keep(slack(w, "UALICE", &format!("status {APP}")).0);
    out.keep(slack(w, "UBOB", "whoami").0);
    let url = w.replies.slack_response_url();
    // A signature from another secret, and a stale one.
    let (_, body, _) = slack_at(&w.env, "UALICE", "help", &url, now_millis() / 1000 - 3600);
    out.keep(body);
    for platform in ["slack", "mattermost", "dingtalk", "feishu"] {
        let (status, body, _) = post(&w.env, &format!("/chat/{platform}"), &[], "garbage");
        out.keep(format!("{status} {body}"));
    }
}

fn found_in(haystack: &str, secrets: &[String]) -> Vec<String> {
    secrets
        .iter()
        .filter(|s| haystack.contains(s.as_str()))
        .cloned()
        .collect()
}

/// Every file under `dir` (component logs), as text.
fn files_under(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else if !path.to_string_lossy().contains("sqlite") {
            let text =
                String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).into_owned();
            out.push((path.display().to_string(), text));
        }
    }
}

#[test]
fn no_secret_reaches_a_log_a_response_or_the_store() {
    let w = world();
    let mut responses = Responses(Vec::new());
    drive_pipeline_routes(&w, &mut responses);
    drive_api_routes(&w, &mut responses);
    drive_chat_routes(&w, &mut responses);
    let secrets = secret_values(&w);

    let mut leaks: Vec<String> = Vec::new();
    for (i, body) in responses.0.iter().enumerate() {
        for s in found_in(body, &secrets) {
            leaks.push(format!("response {i}: {s}"));
        }
    }
    let console = [w.env.host.stdout(), w.env.host.stderr()]
        .concat()
        .join("\n");
    for s in found_in(&console, &secrets) {
        leaks.push(format!("host console: {s}"));
    }
    let mut logs = Vec::new();
    files_under(&w.env.dir.join(".spin"), &mut logs);
    assert!(
        logs.iter()
            .any(|(p, _)| p.contains("stdout") || p.contains("stderr")),
        "component logs: {logs:?}"
    );
    for (path, text) in &logs {
        for s in found_in(text, &secrets) {
            leaks.push(format!("{path}: {s}"));
        }
    }
    let rows = w.env.kv_dump();
    assert!(rows.len() > 10, "the store holds the runs: {}", rows.len());
    for (key, value) in &rows {
        let text = format!("{key} {}", String::from_utf8_lossy(value));
        for s in found_in(&text, &secrets) {
            leaks.push(format!("key-value row {key}: {s}"));
        }
    }
    assert!(responses.0.len() > 25, "{}", responses.0.len());
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
    // The search finds what it looks for.
    assert_eq!(
        found_in(&format!("x{HOOK_SECRET}x"), &secrets),
        [HOOK_SECRET]
    );
}
