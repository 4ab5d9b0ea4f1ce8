//! Tests of [`super::git::FakeGit`]: GitLab, Gitee, Codeup, Bitbucket, Gitea.

use serde_json::json;

use super::git::FakeGit;
use super::tests_support::{call, hdrs};

pub(super) const TOKEN: &str = "tok-123";
pub(super) const SHA: &str = "1111111111111111111111111111111111111111";
pub(super) const SHA2: &str = "2222222222222222222222222222222222222222";

pub(super) fn fake() -> FakeGit {
    let git = FakeGit::start(TOKEN);
    git.add_file("acme/app", SHA, ".slipway.yml", b"stages: [build]\n");
    git.add_file("acme/app", SHA, "src/main.rs", b"fn main() {}\n");
    git.add_branch("acme/app", "main", SHA);
    git
}

fn gl(token: &str) -> Vec<(&'static str, String)> {
    vec![("private-token", token.to_string())]
}

#[test]
fn gitlab_files_need_encoded_paths_and_auth() {
    let git = fake();
    let id = git.project_id("acme/app");
    let base = git.api_base("gitlab");
    let url = format!("{base}/projects/acme%2Fapp/repository/files/src%2Fmain.rs/raw?ref={SHA}");
    let r = call("GET", &url, &hdrs(&gl(TOKEN)), b"");
    assert_eq!((r.status, r.text().as_str()), (200, "fn main() {}\n"));
    let by_id = format!("{base}/projects/{id}/repository/files/src%2Fmain.rs/raw?ref=main");
    let bearer = [("authorization", format!("Bearer {TOKEN}"))];
    assert_eq!(call("GET", &by_id, &hdrs(&bearer), b"").status, 200);
    let unencoded =
        format!("{base}/projects/acme%2Fapp/repository/files/src/main.rs/raw?ref={SHA}");
    let r = call("GET", &unencoded, &hdrs(&gl(TOKEN)), b"");
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (404, json!("404 Not Found"))
    );
    let r = call(
        "GET",
        &url.replace("main.rs", "lib.rs"),
        &hdrs(&gl(TOKEN)),
        b"",
    );
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (404, json!("404 File Not Found"))
    );
    let r = call("GET", &url, &hdrs(&gl("bad")), b"");
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (401, json!("401 Unauthorized"))
    );
    let json_url = url.replace("/raw?", "?");
    let v = call("GET", &json_url, &hdrs(&gl(TOKEN)), b"").json();
    assert_eq!(
        (v["file_path"].as_str(), v["commit_id"].as_str()),
        (Some("src/main.rs"), Some(SHA))
    );
}

#[test]
fn gitlab_status_transitions_like_gitlab() {
    let git = fake();
    let url = format!(
        "{}/projects/acme%2Fapp/statuses/{SHA}",
        git.api_base("gitlab")
    );
    let owned = gl(TOKEN);
    let h = hdrs(&owned);
    let post = |body: &str| {
        call(
            "POST",
            &url,
            &[h[0], ("content-type", "application/json")],
            body.as_bytes(),
        )
    };
    assert_eq!(post(r#"{"state":"pending","name":"slipway"}"#).status, 201);
    let r = post(r#"{"state":"pending","name":"slipway"}"#);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "Cannot transition status via :enqueue from :pending (Reason(s): Status cannot transition via \"enqueue\".)"
    );
    assert_eq!(post(r#"{"state":"running","name":"slipway"}"#).status, 201);
    assert_eq!(post(r#"{"state":"running","name":"slipway"}"#).status, 400);
    assert_eq!(post(r#"{"state":"success","name":"slipway"}"#).status, 201);
    assert_eq!(
        post(r#"{"state":"pending","name":"slipway"}"#).status,
        201,
        "a finished status starts anew"
    );
    let r = post(r#"{"state":"bogus"}"#);
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, json!("state does not have a valid value"))
    );
    let form = call(
        "POST",
        &format!("{url}?state=failed&context=other"),
        &h,
        b"",
    );
    assert_eq!(form.status, 201);
    let states: Vec<_> = git
        .statuses("acme/app", SHA)
        .iter()
        .map(|s| s["state"].clone())
        .collect();
    assert_eq!(
        states,
        [
            json!("pending"),
            json!("running"),
            json!("success"),
            json!("pending"),
            json!("failed")
        ]
    );
    assert_eq!(git.statuses("acme/app", SHA)[4]["context"], "other");
}

#[test]
fn gitlab_ci_trigger_and_pipeline() {
    let git = fake();
    git.add_trigger_token("acme/app", "glptt-abc");
    let base = git.api_base("gitlab");
    let url = format!("{base}/projects/acme%2Fapp/trigger/pipeline");
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let r = call(
        "POST",
        &url,
        &form,
        b"token=glptt-abc&ref=main&variables[SLIPWAY_RUN]=7",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let p = r.json();
    assert_eq!(
        (
            p["status"].as_str(),
            p["source"].as_str(),
            p["sha"].as_str()
        ),
        (Some("created"), Some("trigger"), Some(SHA))
    );
    assert_eq!(git.pipeline_triggers()[0].variables["SLIPWAY_RUN"], "7");
    let r = call(
        "POST",
        &url,
        &form,
        format!("token=glptt-abc&ref={SHA}").as_bytes(),
    );
    assert_eq!(
        (r.status, r.json()),
        (400, json!({"message": {"base": ["Reference not found"]}}))
    );
    let r = call("POST", &url, &form, b"token=wrong&ref=main");
    assert_eq!(
        (r.status, r.json()),
        (404, json!({"message": "404 Not Found"}))
    );
    let js = [("content-type", "application/json")];
    let r = call(
        "POST",
        &url,
        &js,
        br#"{"token":"glptt-abc","ref":"main","variables":{"A":"b"}}"#,
    );
    assert_eq!(r.status, 201);
    let pid = p["id"].as_u64().unwrap();
    let get = format!(
        "{base}/projects/{}/pipelines/{pid}",
        git.project_id("acme/app")
    );
    assert_eq!(
        call("GET", &get, &hdrs(&gl(TOKEN)), b"").json()["status"],
        "created"
    );
    git.set_pipeline_status(pid, "success");
    assert_eq!(
        call("GET", &get, &hdrs(&gl(TOKEN)), b"").json()["status"],
        "success"
    );
    assert_eq!(call("GET", &get, &[], b"").status, 404);
}

#[test]
fn gitee_codeup_bitbucket_gitea_files() {
    let git = fake();
    let u = git.url();
    let r = call(
        "GET",
        &format!("{u}/api/v5/repos/acme/app/raw/src/main.rs?ref={SHA}&access_token={TOKEN}"),
        &[],
        b"",
    );
    assert_eq!((r.status, r.text().as_str()), (200, "fn main() {}\n"));
    let r = call(
        "GET",
        &format!("{u}/api/v5/repos/acme/app/raw/src/main.rs?ref={SHA}&access_token=x"),
        &[],
        b"",
    );
    assert_eq!(r.status, 401);

    let cu = format!(
        "{u}/oapi/v1/codeup/organizations/acme/repositories/acme%2Fapp/files/src%2Fmain.rs?ref={SHA}"
    );
    let r = call("GET", &cu, &[("x-yunxiao-token", TOKEN)], b"");
    assert_eq!(
        (r.status, r.json()["encoding"].clone()),
        (200, json!("base64"))
    );
    assert_eq!(
        call("GET", &cu, &[("x-yunxiao-token", "no")], b"").json()["errorCode"],
        "InvalidTokenError"
    );

    let bb = format!("{u}/2.0/repositories/acme/app/src/{SHA}/src/main.rs");
    let bearer = format!("Bearer {TOKEN}");
    let r = call("GET", &bb, &[("authorization", &bearer)], b"");
    assert_eq!((r.status, r.text().as_str()), (200, "fn main() {}\n"));
    let r = call("GET", &bb, &[("authorization", "Bearer nope")], b"");
    assert_eq!((r.status, r.json()["type"].clone()), (401, json!("error")));
    let r = call(
        "GET",
        &bb.replace("main.rs", "x.rs"),
        &[("authorization", &bearer)],
        b"",
    );
    assert_eq!(r.status, 404);

    let gt = format!("{u}/api/v1/repos/acme/app/raw/src/main.rs?ref={SHA}");
    let auth = format!("token {TOKEN}");
    assert_eq!(
        call("GET", &gt, &[("authorization", &auth)], b"").status,
        200
    );
    let r = call("GET", &gt, &[("authorization", "token bad")], b"");
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (401, json!("invalid username, password or token"))
    );
}

#[test]
fn other_providers_statuses() {
    let git = fake();
    let u = git.url();
    let bearer = format!("Bearer {TOKEN}");
    let bb = format!("{u}/2.0/repositories/acme/app/commit/{SHA}/statuses/build");
    let h = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
    ];
    let r = call(
        "POST",
        &bb,
        &h,
        br#"{"state":"INPROGRESS","url":"http://ci/1"}"#,
    );
    assert_eq!(
        (r.status, r.json()["error"]["message"].clone()),
        (400, json!("key: This field is required."))
    );
    let r = call(
        "POST",
        &bb,
        &h,
        br#"{"state":"DONE","key":"k","url":"http://ci/1"}"#,
    );
    assert_eq!(r.status, 400);
    let r = call(
        "POST",
        &bb,
        &h,
        br#"{"state":"SUCCESSFUL","key":"slipway","url":"http://ci/1"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text());

    let gt = format!("{u}/api/v1/repos/acme/app/statuses/{SHA}");
    let auth = format!("token {TOKEN}");
    let r = call(
        "POST",
        &gt,
        &[("authorization", &auth)],
        br#"{"state":"success","context":"c"}"#,
    );
    assert_eq!(
        (r.status, r.json()["status"].clone()),
        (201, json!("success"))
    );

    let cu = format!(
        "{u}/oapi/v1/codeup/organizations/acme/repositories/acme%2Fapp/commits/{SHA}/statuses"
    );
    let r = call(
        "POST",
        &cu,
        &[("x-yunxiao-token", TOKEN)],
        br#"{"state":"pending","context":"c","targetUrl":"http://x"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());

    let providers: Vec<_> = git
        .statuses("acme/app", SHA)
        .iter()
        .map(|s| s["provider"].clone())
        .collect();
    assert_eq!(
        providers,
        [json!("bitbucket"), json!("gitea"), json!("codeup")]
    );
    assert_eq!(git.statuses("acme/app", SHA)[0]["context"], "slipway");
    assert_eq!(git.statuses("acme/app", SHA)[2]["target_url"], "http://x");
}
