//! Tests of the provider API requests and answers.

use super::*;
use std::collections::BTreeMap;

const SHA: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const TOKEN: &str = "tok-3cr3t";

fn api(provider: Provider, base: &str) -> RepoApi {
    RepoApi {
        provider,
        api_base: base.into(),
        token: Some(TOKEN.into()),
        organization: None,
    }
}

fn response(status: u16, body: &[u8]) -> HttpResponse {
    HttpResponse {
        status,
        headers: BTreeMap::new(),
        body: body.to_vec(),
    }
}

fn body_json(request: &HttpRequest) -> Value {
    serde_json::from_slice(&request.body).expect("JSON body")
}

fn status(state: CommitState, target_url: Option<&str>) -> CommitStatus {
    CommitStatus {
        state,
        context: "slipway/build".into(),
        description: "Build passed".into(),
        target_url: target_url.map(str::to_owned),
    }
}

#[test]
fn debug_redacts_the_token() {
    let text = format!("{:?}", api(Provider::GitHub, "https://api.github.com"));
    assert!(!text.contains(TOKEN), "{text}");
    assert!(text.contains("<redacted>"), "{text}");
}

#[test]
fn github_file_request() {
    let r = file_request(
        &api(Provider::GitHub, "https://api.github.com/"),
        "Codertocat/Hello-World",
        "/.slipway/pipeline file.toml",
        SHA,
    );
    assert_eq!(r.method, "GET");
    assert_eq!(
        r.url,
        format!(
            "https://api.github.com/repos/Codertocat/Hello-World/contents/.slipway/pipeline%20file.toml?ref={SHA}"
        )
    );
    assert_eq!(
        r.header_value("accept"),
        Some("application/vnd.github.raw+json")
    );
    assert_eq!(r.header_value("authorization"), Some("Bearer tok-3cr3t"));
    assert_eq!(r.header_value("x-github-api-version"), Some("2022-11-28"));
    assert_eq!(r.header_value("user-agent"), Some("slipway"));
    assert!(r.body.is_empty());
}

#[test]
fn gitlab_file_request_encodes_project_and_path() {
    let r = file_request(
        &api(Provider::GitLab, "https://gitlab.example.com/api/v4"),
        "group/sub/project",
        "src/main.rs",
        "main",
    );
    assert_eq!(
        r.url,
        "https://gitlab.example.com/api/v4/projects/group%2Fsub%2Fproject/repository/files/src%2Fmain.rs/raw?ref=main"
    );
    assert_eq!(r.header_value("private-token"), Some(TOKEN));
    assert_eq!(r.header_value("authorization"), None);
}

#[test]
fn gitee_file_request_uses_access_token() {
    let r = file_request(
        &api(Provider::Gitee, "https://gitee.com/api/v5"),
        "oschina/gitee",
        "a/b.yml",
        SHA,
    );
    assert_eq!(
        r.url,
        format!(
            "https://gitee.com/api/v5/repos/oschina/gitee/raw/a/b.yml?ref={SHA}&access_token=tok-3cr3t"
        )
    );
    assert_eq!(r.header_value("authorization"), None);
}

#[test]
fn codeup_file_request_with_and_without_organization() {
    let mut codeup = api(Provider::Codeup, "https://openapi-rdc.aliyuncs.com");
    codeup.organization = Some("60de7a6852743a5162b5f957".into());
    let r = file_request(
        &codeup,
        "60de7a6852743a5162b5f957/DemoRepo",
        "src/Test.java",
        SHA,
    );
    assert_eq!(
        r.url,
        format!(
            "https://openapi-rdc.aliyuncs.com/oapi/v1/codeup/organizations/60de7a6852743a5162b5f957/repositories/60de7a6852743a5162b5f957%2FDemoRepo/files/src%2FTest.java?ref={SHA}"
        )
    );
    assert_eq!(r.header_value("x-yunxiao-token"), Some(TOKEN));
    codeup.organization = None;
    let r = file_request(&codeup, "2813489", "README.md", SHA);
    assert_eq!(
        r.url,
        format!(
            "https://openapi-rdc.aliyuncs.com/oapi/v1/codeup/repositories/2813489/files/README.md?ref={SHA}"
        )
    );
}

#[test]
fn bitbucket_and_gitea_file_requests() {
    let r = file_request(
        &api(Provider::Bitbucket, "https://api.bitbucket.org/2.0"),
        "team/repo",
        "ci/x.yml",
        SHA,
    );
    assert_eq!(
        r.url,
        format!("https://api.bitbucket.org/2.0/repositories/team/repo/src/{SHA}/ci/x.yml")
    );
    assert_eq!(r.header_value("authorization"), Some("Bearer tok-3cr3t"));
    let r = file_request(
        &api(Provider::Gitea, "https://gitea.example.com/api/v1"),
        "gitea/webhooks",
        "x.yml",
        SHA,
    );
    assert_eq!(
        r.url,
        format!("https://gitea.example.com/api/v1/repos/gitea/webhooks/raw/x.yml?ref={SHA}")
    );
    assert_eq!(r.header_value("authorization"), Some("token tok-3cr3t"));
}

#[test]
fn anonymous_requests_have_no_credentials() {
    let mut anon = api(Provider::GitHub, "https://api.github.com");
    anon.token = None;
    let r = file_request(&anon, "o/r", "f", SHA);
    assert_eq!(r.header_value("authorization"), None);
    anon.provider = Provider::Gitee;
    assert!(
        !file_request(&anon, "o/r", "f", SHA)
            .url
            .contains("access_token")
    );
}

#[test]
fn decode_file_statuses() {
    for p in Provider::ALL {
        let a = api(p, "https://x");
        assert_eq!(
            decode_file(&a, &response(404, b"{\"message\":\"404 File Not Found\"}")),
            Ok(None)
        );
        let err = decode_file(&a, &response(500, b"internal error")).expect_err("500");
        assert_eq!(
            err,
            ApiError::Status {
                provider: p,
                status: 500,
                snippet: "internal error".into()
            }
        );
        assert!(!err.to_string().contains(TOKEN));
    }
    let raw = b"stages:\n  - build\n";
    for p in [
        Provider::GitHub,
        Provider::GitLab,
        Provider::Gitee,
        Provider::Bitbucket,
        Provider::Gitea,
    ] {
        assert_eq!(
            decode_file(&api(p, "https://x"), &response(200, raw)),
            Ok(Some(raw.to_vec()))
        );
    }
}

#[test]
fn decode_codeup_file_forms() {
    let codeup = api(Provider::Codeup, "https://openapi-rdc.aliyuncs.com");
    let text = br#"{"blobId":"76c3f251f414ac31f2e01faf6f2008a9d756a437","content":"hello\n","encoding":"text","fileName":"Test.java","filePath":"src/Test.java","size":6}"#;
    assert_eq!(
        decode_file(&codeup, &response(200, text)),
        Ok(Some(b"hello\n".to_vec()))
    );
    let b64 = br#"{"content":"aGVs\nbG8K","encoding":"base64"}"#;
    assert_eq!(
        decode_file(&codeup, &response(200, b64)),
        Ok(Some(b"hello\n".to_vec()))
    );
    let wrapped = br#"{"success":true,"result":{"content":"xxxx","totalLines":1,"size":4}}"#;
    assert_eq!(
        decode_file(&codeup, &response(200, wrapped)),
        Ok(Some(b"xxxx".to_vec()))
    );
    for bad in [
        &b"not json"[..],
        br#"{"encoding":"text"}"#,
        br#"{"content":"@@","encoding":"base64"}"#,
    ] {
        assert!(matches!(
            decode_file(&codeup, &response(200, bad)),
            Err(ApiError::Decode { .. })
        ));
    }
}

#[test]
fn github_status_request() {
    let a = api(Provider::GitHub, "https://api.github.com");
    let r = status_request(
        &a,
        "o/r",
        SHA,
        &status(CommitState::Running, Some("https://ci/run/1")),
    )
    .expect("req");
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.url,
        format!("https://api.github.com/repos/o/r/statuses/{SHA}")
    );
    assert_eq!(
        r.header_value("accept"),
        Some("application/vnd.github+json")
    );
    assert_eq!(r.header_value("content-type"), Some("application/json"));
    assert_eq!(r.header_value("authorization"), Some("Bearer tok-3cr3t"));
    assert_eq!(r.header_value("user-agent"), Some("slipway"));
    assert_eq!(
        body_json(&r),
        json!({"state": "pending", "context": "slipway/build", "description": "Build passed", "target_url": "https://ci/run/1"})
    );
    let canceled =
        status_request(&a, "o/r", SHA, &status(CommitState::Canceled, None)).expect("req");
    assert_eq!(body_json(&canceled)["state"], "error");
    assert!(body_json(&canceled).get("target_url").is_none());
}

#[test]
fn gitlab_status_request() {
    let a = api(Provider::GitLab, "https://gitlab.example.com/api/v4");
    let r = status_request(
        &a,
        "g/p",
        SHA,
        &status(CommitState::Failure, Some("https://ci/1")),
    )
    .expect("req");
    assert_eq!(
        r.url,
        format!("https://gitlab.example.com/api/v4/projects/g%2Fp/statuses/{SHA}")
    );
    assert_eq!(r.header_value("private-token"), Some(TOKEN));
    assert_eq!(
        body_json(&r),
        json!({"state": "failed", "name": "slipway/build", "description": "Build passed", "target_url": "https://ci/1"})
    );
    let words: Vec<String> = [
        CommitState::Pending,
        CommitState::Running,
        CommitState::Success,
        CommitState::Error,
        CommitState::Canceled,
    ]
    .into_iter()
    .map(|s| {
        body_json(&status_request(&a, "g/p", SHA, &status(s, None)).expect("req"))["state"]
            .to_string()
    })
    .collect();
    assert_eq!(
        words,
        [
            "\"pending\"",
            "\"running\"",
            "\"success\"",
            "\"failed\"",
            "\"canceled\""
        ]
    );
}

#[test]
fn codeup_bitbucket_gitea_and_gitee_status_requests() {
    let mut codeup = api(Provider::Codeup, "https://openapi-rdc.aliyuncs.com");
    codeup.organization = Some("org1".into());
    let mut long = status(CommitState::Running, Some("https://ci/1"));
    long.context = "c".repeat(60);
    let r = status_request(&codeup, "org1/demo", SHA, &long).expect("req");
    assert_eq!(
        r.url,
        format!(
            "https://openapi-rdc.aliyuncs.com/oapi/v1/codeup/organizations/org1/repositories/org1%2Fdemo/commits/{SHA}/statuses"
        )
    );
    assert_eq!(r.header_value("x-yunxiao-token"), Some(TOKEN));
    let b = body_json(&r);
    assert_eq!(b["state"], "pending");
    assert_eq!(b["context"].as_str().map(str::len), Some(50));
    assert_eq!(b["targetUrl"], "https://ci/1");

    let bb = api(Provider::Bitbucket, "https://api.bitbucket.org/2.0");
    let r =
        status_request(&bb, "team/repo", SHA, &status(CommitState::Canceled, None)).expect("req");
    assert_eq!(
        r.url,
        format!("https://api.bitbucket.org/2.0/repositories/team/repo/commit/{SHA}/statuses/build")
    );
    assert_eq!(
        body_json(&r),
        json!({"state": "STOPPED", "key": "slipway/build", "name": "slipway/build", "description": "Build passed",
               "url": format!("https://bitbucket.org/team/repo/commits/{SHA}")})
    );
    let ok = status_request(
        &bb,
        "team/repo",
        SHA,
        &status(CommitState::Success, Some("https://ci/2")),
    )
    .expect("req");
    assert_eq!(body_json(&ok)["state"], "SUCCESSFUL");
    assert_eq!(body_json(&ok)["url"], "https://ci/2");

    let gitea = api(Provider::Gitea, "https://gitea.example.com/api/v1");
    let r = status_request(&gitea, "o/r", SHA, &status(CommitState::Failure, None)).expect("req");
    assert_eq!(
        r.url,
        format!("https://gitea.example.com/api/v1/repos/o/r/statuses/{SHA}")
    );
    assert_eq!(r.header_value("authorization"), Some("token tok-3cr3t"));
    assert_eq!(body_json(&r)["state"], "failure");

    assert_eq!(
        status_request(
            &api(Provider::Gitee, "https://gitee.com/api/v5"),
            "o/r",
            SHA,
            &long
        ),
        None
    );
}

#[test]
fn descriptions_are_cut_to_140_characters() {
    let mut s = status(CommitState::Success, None);
    s.description = "é".repeat(200);
    let r = status_request(
        &api(Provider::GitHub, "https://api.github.com"),
        "o/r",
        SHA,
        &s,
    )
    .expect("req");
    assert_eq!(
        body_json(&r)["description"]
            .as_str()
            .map(|d| d.chars().count()),
        Some(140)
    );
}

#[test]
fn error_snippets_never_echo_the_token() {
    let a = api(Provider::Gitee, "https://gitee.com/api/v5");
    let echoed = format!("bad request: /repos/o/r/raw/f?access_token={TOKEN}");
    let err = decode_file(&a, &response(400, echoed.as_bytes())).expect_err("400");
    assert!(!err.to_string().contains(TOKEN), "{err}");
    assert!(err.to_string().contains("<redacted>"), "{err}");
}

#[test]
fn status_responses() {
    let gitlab = api(Provider::GitLab, "https://gitlab.example.com/api/v4");
    assert_eq!(
        interpret_status_response(&gitlab, &response(201, b"{}")),
        Ok(())
    );
    let same_state =
        br#"{"message":"Cannot transition status via :run from :running (Reasons: ...)"}"#;
    assert_eq!(
        interpret_status_response(&gitlab, &response(400, same_state)),
        Ok(())
    );
    let other = interpret_status_response(
        &gitlab,
        &response(400, b"{\"message\":\"400 Bad request\"}"),
    );
    assert!(matches!(other, Err(ApiError::Status { status: 400, .. })));
    let github = api(Provider::GitHub, "https://api.github.com");
    assert!(interpret_status_response(&github, &response(400, same_state)).is_err());
    let long = "x".repeat(1000);
    let Err(ApiError::Status { snippet, .. }) =
        interpret_status_response(&github, &response(422, long.as_bytes()))
    else {
        panic!("expected a status error")
    };
    assert!(snippet.chars().count() <= 201, "snippet is short");
}
