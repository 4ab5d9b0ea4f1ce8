//! Tests of [`super::git::FakeGit`]: GitHub contents, statuses and Actions.

use serde_json::json;

use super::tests_git::{SHA, SHA2, TOKEN, fake};
use super::tests_support::{call, gh, hdrs};
#[test]
fn github_contents_raw_json_and_auth() {
    let git = fake();
    let url = format!(
        "{}/repos/acme/app/contents/.slipway.yml?ref={SHA}",
        git.url()
    );
    let raw = [("accept", "application/vnd.github.raw+json".to_string())];
    let headers: Vec<_> = gh(TOKEN).into_iter().chain(raw).collect();
    let r = call("GET", &url, &hdrs(&headers), b"");
    assert_eq!((r.status, r.text().as_str()), (200, "stages: [build]\n"));

    let r = call("GET", &url, &hdrs(&gh(TOKEN)), b"");
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["encoding"], "base64");
    assert!(v["content"].as_str().unwrap().ends_with('\n'));
    let long = "x".repeat(100);
    git.add_file("acme/app", SHA, "big.txt", long.as_bytes());
    let v = call(
        "GET",
        &url.replace(".slipway.yml", "big.txt"),
        &hdrs(&gh(TOKEN)),
        b"",
    )
    .json();
    let content = v["content"].as_str().unwrap();
    assert!(content.lines().all(|l| l.len() <= 60) && content.lines().count() > 1);

    // File only at the commit it was added for; branch refs resolve.
    let r = call("GET", &url.replace(SHA, SHA2), &hdrs(&gh(TOKEN)), b"");
    assert_eq!(r.status, 404);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("No commit found for the ref")
    );
    assert_eq!(
        call("GET", &url.replace(SHA, "main"), &hdrs(&gh(TOKEN)), b"").status,
        200
    );
    let r = call(
        "GET",
        &url.replace(".slipway.yml", "nope.yml"),
        &hdrs(&gh(TOKEN)),
        b"",
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "Not Found");
    assert_eq!(r.json()["status"], "404");

    let r = call("GET", &url, &hdrs(&gh("wrong")), b"");
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (401, json!("Bad credentials"))
    );
    let r = call("GET", &url, &[("user-agent", "x")], b"");
    assert_eq!(r.status, 404, "anonymous access to a private repo is a 404");
    // (ureq adds its own User-Agent unless told otherwise.)
    let r = call(
        "GET",
        &url,
        &[("authorization", "Bearer tok-123"), ("user-agent", "")],
        b"",
    );
    assert_eq!(r.status, 403, "no User-Agent");
    let token_scheme = [("authorization", "token tok-123"), ("user-agent", "x")];
    assert_eq!(call("GET", &url, &token_scheme, b"").status, 200);
}

#[test]
fn github_statuses_validate_and_record() {
    let git = fake();
    let url = format!("{}/repos/acme/app/statuses/{SHA}", git.url());
    let body = json!({"state": "pending", "context": "slipway/build", "description": "queued",
                      "target_url": "http://ci/1"});
    let r = call("POST", &url, &hdrs(&gh(TOKEN)), body.to_string().as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["state"], "pending");
    let r = call("POST", &url, &hdrs(&gh(TOKEN)), br#"{"state":"running"}"#);
    assert_eq!(r.status, 422);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("is not one of")
    );
    let r = call("POST", &url, &hdrs(&gh(TOKEN)), b"{not json");
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (400, json!("Problems parsing JSON"))
    );
    let r = call(
        "POST",
        &url.replace(SHA, SHA2),
        &hdrs(&gh(TOKEN)),
        br#"{"state":"success"}"#,
    );
    assert_eq!(r.status, 422, "unknown commit");
    let r = call(
        "POST",
        &url,
        &hdrs(&gh(TOKEN)),
        br#"{"state":"success","context":"slipway/build"}"#,
    );
    assert_eq!(r.status, 201);
    let s = git.statuses("ACME/app", SHA);
    assert_eq!(s.len(), 2);
    assert_eq!(
        (s[0]["provider"].as_str(), s[0]["state"].as_str()),
        (Some("github"), Some("pending"))
    );
    assert_eq!(
        (s[1]["context"].as_str(), s[1]["state"].as_str()),
        (Some("slipway/build"), Some("success"))
    );
    assert_eq!(s[0]["target_url"], "http://ci/1");
    assert_eq!(
        call(
            "GET",
            &format!("{}/nope", git.url()),
            &hdrs(&gh(TOKEN)),
            b""
        )
        .status,
        404
    );
}

#[test]
fn github_actions_dispatch_and_runs() {
    let git = fake();
    git.add_workflow("acme/app", "build.yml");
    let url = format!(
        "{}/repos/acme/app/actions/workflows/build.yml/dispatches",
        git.url()
    );
    let owned = gh(TOKEN);
    let h = hdrs(&owned);
    let r = call(
        "POST",
        &url,
        &h,
        br#"{"ref":"main","inputs":{"sha":"abc"}}"#,
    );
    assert_eq!((r.status, r.body.len()), (204, 0));
    let r = call(
        "POST",
        &url,
        &h,
        br#"{"ref":"main","return_run_details":true}"#,
    );
    assert_eq!(r.status, 200);
    let id = r.json()["workflow_run_id"].as_u64().unwrap();
    assert!(
        r.json()["run_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/actions/runs/{id}"))
    );
    let r = call("POST", &url, &h, br#"{"ref":""}"#);
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (422, json!("No ref found for: "))
    );
    let r = call("POST", &url, &h, format!(r#"{{"ref":"{SHA}"}}"#).as_bytes());
    assert_eq!(r.status, 422, "a sha is not a ref");
    let many: serde_json::Map<_, _> = (0..11).map(|i| (format!("k{i:02}"), json!("v"))).collect();
    let r = call(
        "POST",
        &url,
        &h,
        json!({"ref": "main", "inputs": many})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(r.status, 422);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("Unexpected inputs provided: [\"k10\"]")
    );
    let r = call(
        "POST",
        &url.replace("build.yml", "other.yml"),
        &h,
        br#"{"ref":"main"}"#,
    );
    assert_eq!(r.status, 404);

    let run_url = format!("{}/repos/acme/app/actions/runs/{id}", git.url());
    let run = call("GET", &run_url, &h, b"").json();
    assert_eq!(
        (run["status"].as_str(), run["head_sha"].as_str()),
        (Some("queued"), Some(SHA))
    );
    git.set_run_status(id, "completed", Some("success"));
    let run = call("GET", &run_url, &h, b"").json();
    assert_eq!(
        (run["status"].as_str(), run["conclusion"].as_str()),
        (Some("completed"), Some("success"))
    );
    assert_eq!(git.dispatches().len(), 2);
    assert_eq!(git.dispatches()[0].inputs["sha"], "abc");

    git.add_workflow_inputs("acme/app", "deploy.yml", &["env"]);
    let url = url.replace("build.yml", "deploy.yml");
    let r = call(
        "POST",
        &url,
        &h,
        br#"{"ref":"main","inputs":{"env":"prod","x":"1"}}"#,
    );
    assert_eq!(r.json()["message"], "Unexpected inputs provided: [\"x\"]");
}
