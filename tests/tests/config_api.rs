//! The configuration changed at run time through `/api/config`, end to end
//! through the real components: a new app takes webhooks from the next
//! request on, in another component than the one that stored it, without
//! a restart; going back to the packaged file stops it again; every change
//! has a version and an audit entry; bad changes are refused and change
//! nothing.

use serde_json::{Value, json};
use slipway_tests::pipeline_env::{API_TOKEN, Env, sha};

fn call(env: &Env, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let request = ureq::request(method, &env.host.url(path))
        .set("authorization", &format!("Bearer {API_TOKEN}"));
    let response = match body {
        Some(b) => request
            .set("content-type", "application/json")
            .send_string(&b.to_string()),
        None => request.call(),
    };
    let (status, text) = match response {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(e) => panic!("{method} {path}: {e}"),
    };
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A push to `acme/cart` on GitHub, whose pipeline runs one Jenkins job.
fn push_cart(env: &Env, n: u32) -> (u16, Value) {
    let commit = sha(n);
    env.git.add_commit("acme/cart", &commit);
    env.git.add_file(
        "acme/cart",
        &commit,
        ".slipway/pipeline.toml",
        "[stages.unit]\nkind = \"build\"\nservice = \"jenkins\"\njob = \"shop/unit-test\"\n",
    );
    let push = slipway_tests::fakes::webhooks_payloads::Push::new(
        "acme/cart",
        "refs/heads/main",
        &"0".repeat(40),
        &commit,
    )
    .web_base(&env.git.url());
    env.hook(
        "github",
        &slipway_tests::pipeline_env::signed("github", &push),
    )
}

#[test]
fn a_new_app_takes_webhooks_without_a_redeploy_and_leaves_with_the_packaged_file() {
    let env = Env::start("");
    let (status, current) = call(&env, "GET", "/api/config", None);
    assert_eq!(status, 200, "{current}");
    assert_eq!(current["version"], 0);
    assert_eq!(current["source"], "packaged");
    let packaged = current["text"].as_str().expect("text").to_owned();

    let (status, reply) = push_cart(&env, 0xc01);
    assert_eq!(status, 200, "{reply}");
    assert!(
        reply["ignored"].is_string(),
        "no app for acme/cart yet: {reply}"
    );

    let text = format!("{packaged}\n[apps.cart]\nprovider = \"github\"\nrepo = \"acme/cart\"\n");
    let put = json!({ "base_version": 0, "text": text, "reason": "cart goes live" });
    let (status, reply) = call(&env, "PUT", "/api/config", Some(&put));
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["version"], 1);

    // git-hooks, another component, runs with it at once.
    let (status, reply) = push_cart(&env, 0xc02);
    assert_eq!(status, 202, "{reply}");
    let run = env.run(reply["run"].as_str().expect("run"));
    assert_eq!(run["app"], "cart");
    assert_eq!(run["stages"]["unit"]["status"], "running", "{run}");

    // The same base again: someone changed it first.
    let (status, reply) = call(&env, "PUT", "/api/config", Some(&put));
    assert_eq!(status, 409, "{reply}");
    assert_eq!(reply["current_version"], 1);

    let back = json!({ "base_version": 1, "reason": "cart postponed" });
    let (status, reply) = call(&env, "DELETE", "/api/config", Some(&back));
    assert_eq!(status, 200, "{reply}");
    let (status, reply) = push_cart(&env, 0xc03);
    assert_eq!(status, 200, "{reply}");

    let (_, history) = call(&env, "GET", "/api/config/history", None);
    let reasons: Vec<&str> = history["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|c| c["reason"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(reasons, ["cart goes live", "cart postponed"], "{history}");
    assert_eq!(history["history"][0]["by"], "ops");
    let (_, v1) = call(&env, "GET", "/api/config/versions/1", None);
    assert_eq!(v1["text"], text.as_str());
}

#[test]
fn changes_the_manifest_does_not_allow_are_refused_and_change_nothing() {
    let env = Env::start("");
    let (_, current) = call(&env, "GET", "/api/config", None);
    let packaged = current["text"].as_str().expect("text").to_owned();
    let rows = env.kv_rows();
    let cases = [
        (
            format!(
                "{packaged}\n[build_services.tekton]\ntype = \"tekton\"\napi_server = \"https://tekton.example.com\"\nnamespace = \"ci\"\ntoken_secret = \"tekton_new_token\"\n"
            ),
            "would read variable tekton_new_token",
        ),
        (
            format!("{packaged}\n[apps.x]\nprovider = \"svn\"\n"),
            "slipway.toml:",
        ),
    ];
    for (text, says) in cases {
        let put = json!({ "base_version": 0, "text": text, "reason": "try" });
        let (status, reply) = call(&env, "PUT", "/api/config", Some(&put));
        assert_eq!(status, 422, "{reply}");
        assert!(
            reply["error"].as_str().unwrap_or_default().contains(says),
            "{reply}"
        );
    }
    // Refused before it is read (the connection may close mid-body, so
    // the answer is read off the socket).
    let status = slipway_tests::pipeline_env::post_oversized(&env.host, "/api/config", 1_100_000);
    assert_eq!(status, 413);
    assert_eq!(env.kv_rows(), rows, "nothing written");
    let (_, after) = call(&env, "GET", "/api/config", None);
    assert_eq!(after["version"], 0);
}
