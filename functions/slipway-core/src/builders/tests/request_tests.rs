use super::*;
use crate::builders::error::BuildError;
use crate::builders::tekton::{generate_name, label_value};
use crate::builders::trigger::trigger_request;

fn form_of(request: &HttpRequest) -> BTreeMap<String, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(&request.body)
        .unwrap()
        .into_iter()
        .collect()
}

#[test]
fn jenkins_build_with_parameters() {
    let svc = jenkins();
    let p = params(&[("TARGET", "linux x64")]);
    let request = trigger_request(&job(&svc, "folder/my app", &p), Some(SECRET)).unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.url,
        "https://jenkins.example.com/job/folder/job/my%20app/buildWithParameters?delay=0sec"
    );
    // base64("slipway:s3cr3t-token-value")
    assert_eq!(
        request.header_value("authorization"),
        Some("Basic c2xpcHdheTpzM2NyM3QtdG9rZW4tdmFsdWU=")
    );
    assert_eq!(
        request.header_value("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form = form_of(&request);
    assert_eq!(form["TARGET"], "linux x64");
    assert_eq!(form["SLIPWAY_RUN"], "run-42");
    assert_eq!(form["SLIPWAY_STAGE"], "build");
    assert_eq!(form["SLIPWAY_ATTEMPT"], "1");
    assert_eq!(
        form["SLIPWAY_COMMIT"],
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(form["SLIPWAY_REF"], "refs/heads/main");
    assert_eq!(form["SLIPWAY_REPO"], "acme/app");
    assert_eq!(form["SLIPWAY_SOURCE_REPO"], "acme/app");
    assert_eq!(form["SLIPWAY_SOURCE_REF"], "refs/heads/main");
    assert_eq!(
        form["SLIPWAY_CALLBACK_URL"],
        "https://slipway.example.com/callback?x=1&y=2"
    );
    assert_eq!(form["SLIPWAY_CALLBACK_TOKEN"], CALLBACK_TOKEN);
    assert_eq!(form.len(), 11);
}

#[test]
fn jenkins_keeps_a_context_path_and_checks_the_job() {
    let svc = service(
        r#"
        type = "jenkins"
        url = "https://ci.example.com/jenkins/"
        user = "u"
        token_secret = "t"
        "#,
    );
    let p = params(&[]);
    let request = trigger_request(&job(&svc, "/deploy/", &p), Some(SECRET)).unwrap();
    assert_eq!(
        request.url,
        "https://ci.example.com/jenkins/job/deploy/buildWithParameters?delay=0sec"
    );
    for bad in ["", "a//b", "a/../b"] {
        assert!(
            matches!(
                trigger_request(&job(&svc, bad, &p), Some(SECRET)),
                Err(BuildError::InvalidJob { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn jenkins_refuses_reserved_params_and_missing_secrets() {
    let svc = jenkins();
    let p = params(&[("slipway_run", "spoofed")]);
    let err = trigger_request(&job(&svc, "app", &p), Some(SECRET)).unwrap_err();
    assert!(matches!(err, BuildError::ReservedParam { ref name, .. } if name == "slipway_run"));
    let p = params(&[]);
    let err = trigger_request(&job(&svc, "app", &p), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "jenkins: the secret named `jenkins_token` is not set"
    );
}

#[test]
fn github_workflow_dispatch() {
    let svc = github();
    let p = params(&[("target", "linux")]);
    let request = trigger_request(&job(&svc, "build.yml", &p), Some(SECRET)).unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.url,
        "https://api.github.com/repos/acme/app/actions/workflows/build.yml/dispatches"
    );
    assert_eq!(
        request.header_value("authorization"),
        Some(format!("Bearer {SECRET}").as_str())
    );
    assert_eq!(
        request.header_value("accept"),
        Some("application/vnd.github+json")
    );
    assert_eq!(
        request.header_value("x-github-api-version"),
        Some("2022-11-28")
    );
    assert_eq!(request.header_value("user-agent"), Some("slipway"));
    let body = json_of(&request);
    assert_eq!(body["ref"], "main");
    assert_eq!(body["return_run_details"], true);
    let inputs = body["inputs"].as_object().unwrap();
    assert_eq!(inputs.len(), 2);
    assert_eq!(inputs["target"], "linux");
    let identity: serde_json::Value =
        serde_json::from_str(inputs["slipway"].as_str().unwrap()).unwrap();
    assert_eq!(
        identity,
        serde_json::json!({
            "run": "run-42", "stage": "build", "attempt": 1, "repo": "acme/app",
            "ref": "refs/heads/main", "commit": "0123456789abcdef0123456789abcdef01234567",
            "source_repo": "acme/app", "source_ref": "refs/heads/main",
            "callback_url": "https://slipway.example.com/callback?x=1&y=2",
            "callback_token": CALLBACK_TOKEN,
        })
    );
    // Compact JSON: no spaces after separators.
    assert!(!inputs["slipway"].as_str().unwrap().contains(": "));
}

#[test]
fn github_tags_configured_repo_and_no_run_details() {
    let svc = service(
        r#"
        type = "github_actions"
        api_base = "https://ghe.example.com/api/v3/"
        repo = "ops/pipelines"
        token_secret = "t"
        return_run_details = false
        "#,
    );
    let p = params(&[]);
    let mut j = job(&svc, "release.yml", &p);
    j.git_ref = "refs/tags/v1.2.0";
    let request = trigger_request(&j, Some(SECRET)).unwrap();
    assert_eq!(
        request.url,
        "https://ghe.example.com/api/v3/repos/ops/pipelines/actions/workflows/release.yml/dispatches"
    );
    let body = json_of(&request);
    assert_eq!(body["ref"], "v1.2.0");
    assert!(body.get("return_run_details").is_none());
}

#[test]
fn github_input_limit() {
    let svc = github();
    let nine: Vec<(String, String)> = (0..9).map(|i| (format!("p{i}"), "v".to_owned())).collect();
    let p: BTreeMap<String, String> = nine.into_iter().collect();
    assert!(trigger_request(&job(&svc, "b.yml", &p), Some(SECRET)).is_ok());
    let mut p = p;
    p.insert("p9".to_owned(), "v".to_owned());
    let err = trigger_request(&job(&svc, "b.yml", &p), Some(SECRET)).unwrap_err();
    assert_eq!(
        err,
        BuildError::TooManyInputs {
            count: 11,
            limit: 10
        }
    );
    assert!(err.to_string().contains("at most 10 inputs"));
    assert!(err.to_string().contains("10 stage params"));
}

#[test]
fn github_refuses_bad_refs_and_reserved_input() {
    let svc = github();
    let p = params(&[]);
    for bad in [
        "refs/pull/1/head",
        "",
        "0123456789abcdef0123456789abcdef01234567",
    ] {
        let mut j = job(&svc, "b.yml", &p);
        j.git_ref = bad;
        assert!(
            matches!(
                trigger_request(&j, Some(SECRET)),
                Err(BuildError::InvalidJob { .. })
            ),
            "{bad}"
        );
    }
    let p = params(&[("Slipway", "x")]);
    assert!(matches!(
        trigger_request(&job(&svc, "b.yml", &p), Some(SECRET)),
        Err(BuildError::ReservedParam { .. })
    ));
    let p = params(&[]);
    let mut j = job(&svc, "b.yml", &p);
    j.repo = "no-owner";
    assert!(trigger_request(&j, Some(SECRET)).is_err());
}

#[test]
fn gitlab_pipeline_trigger() {
    let svc = gitlab();
    let p = params(&[("DEPLOY", "yes")]);
    let mut j = job(&svc, "ignored", &p);
    j.git_ref = "refs/heads/feature/x";
    let request = trigger_request(&j, Some(SECRET)).unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.url,
        "https://gitlab.example.com/api/v4/projects/group%2Fsub%2Fapp/trigger/pipeline"
    );
    assert_eq!(
        request.header_value("content-type"),
        Some("application/json")
    );
    let body = json_of(&request);
    assert_eq!(body["token"], SECRET);
    assert_eq!(body["ref"], "feature/x");
    let vars = body["variables"].as_object().unwrap();
    assert_eq!(vars["DEPLOY"], "yes");
    assert_eq!(vars["SLIPWAY_RUN"], "run-42");
    assert_eq!(vars["SLIPWAY_STAGE"], "build");
    assert_eq!(vars["SLIPWAY_ATTEMPT"], "1");
    assert_eq!(vars["SLIPWAY_REF"], "refs/heads/feature/x");
    assert_eq!(vars["SLIPWAY_CALLBACK_TOKEN"], CALLBACK_TOKEN);
    assert_eq!(vars.len(), 11);
}

#[test]
fn gitlab_refuses_a_sha_as_ref() {
    let svc = gitlab();
    let p = params(&[]);
    let mut j = job(&svc, "", &p);
    j.git_ref = "0123456789abcdef0123456789abcdef01234567";
    let err = trigger_request(&j, Some(SECRET)).unwrap_err();
    assert!(err.to_string().contains("branch or tag"), "{err}");
}

#[test]
fn tekton_pipeline_run() {
    let svc = tekton();
    let p = params(&[("image", "app:1")]);
    let mut j = job(&svc, "build-and-test", &p);
    j.run_id = "run:2026/01/01#7";
    j.stage = "Build & Test";
    j.attempt = 2;
    let request = trigger_request(&j, Some(SECRET)).unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.url,
        "https://k8s.example.com:6443/apis/tekton.dev/v1/namespaces/ci/pipelineruns"
    );
    assert_eq!(
        request.header_value("authorization"),
        Some(format!("Bearer {SECRET}").as_str())
    );
    let body = json_of(&request);
    assert_eq!(body["apiVersion"], "tekton.dev/v1");
    assert_eq!(body["kind"], "PipelineRun");
    assert_eq!(body["metadata"]["generateName"], "slipway-build-test-");
    let labels = &body["metadata"]["labels"];
    assert_eq!(labels["slipway.dev/run"], "run-2026-01-01-7");
    assert_eq!(labels["slipway.dev/stage"], "Build---Test");
    assert_eq!(labels["slipway.dev/attempt"], "2");
    assert_eq!(
        body["metadata"]["annotations"]["slipway.dev/run"],
        "run:2026/01/01#7"
    );
    let spec = &body["spec"];
    assert_eq!(spec["pipelineRef"]["name"], "build-and-test");
    assert_eq!(spec["taskRunTemplate"]["serviceAccountName"], "pipeline");
    assert_eq!(spec["workspaces"][0]["name"], "source");
    assert_eq!(
        spec["workspaces"][0]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"],
        "1Gi"
    );
    let params: BTreeMap<String, String> = spec["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        params["revision"],
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(params["repo-url"], "https://github.com/acme/app.git");
    assert_eq!(params["git-ref"], "refs/heads/main");
    assert_eq!(params["slipway-run"], "run:2026/01/01#7");
    assert_eq!(params["slipway-stage"], "Build & Test");
    assert_eq!(params["slipway-attempt"], "2");
    assert_eq!(params["slipway-repo"], "acme/app");
    assert_eq!(params["slipway-source-repo"], "acme/app");
    assert_eq!(params["slipway-source-ref"], "refs/heads/main");
    assert_eq!(
        params["slipway-callback-url"],
        "https://slipway.example.com/callback?x=1&y=2"
    );
    assert_eq!(params["slipway-callback-token"], CALLBACK_TOKEN);
    assert_eq!(params["image"], "app:1");
    assert!(spec.get("timeouts").is_none());
}

#[test]
fn tekton_minimal_and_reserved() {
    let svc = service(
        r#"
        type = "tekton"
        api_server = "https://k8s:6443"
        namespace = "ci"
        token_secret = "k"
        "#,
    );
    let p = params(&[]);
    let mut j = job(&svc, "build", &p);
    j.clone_url = None;
    j.source_clone_url = None;
    let body = json_of(&trigger_request(&j, Some(SECRET)).unwrap());
    assert!(body["spec"].get("taskRunTemplate").is_none());
    assert!(body["spec"].get("workspaces").is_none());
    let names: Vec<&str> = body["spec"]["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"repo-url"));
    let p = params(&[("revision", "x")]);
    assert!(matches!(
        trigger_request(&job(&svc, "build", &p), Some(SECRET)),
        Err(BuildError::ReservedParam { .. })
    ));
    let p = params(&[]);
    assert!(trigger_request(&job(&svc, " ", &p), Some(SECRET)).is_err());
}

#[test]
fn kubernetes_names_are_sanitized() {
    assert_eq!(label_value("ok-1.2_x"), "ok-1.2_x");
    assert_eq!(label_value("--a b--"), "a-b");
    assert_eq!(label_value("ü"), "");
    let long = "a".repeat(100);
    assert_eq!(label_value(&long).len(), 63);
    let tricky = format!("{}-b", "a".repeat(62));
    assert_eq!(label_value(&tricky), "a".repeat(62));
    assert_eq!(generate_name("Build"), "slipway-build-");
    assert_eq!(generate_name("!!!"), "slipway-");
    let long_stage = generate_name(&"x".repeat(200));
    assert!(long_stage.len() <= 57);
    assert!(long_stage.ends_with("x-"));
}

#[test]
fn http_trigger() {
    let svc = http_service();
    let p = params(&[("k", "v")]);
    let request = trigger_request(&job(&svc, "/build/app", &p), Some(SECRET)).unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "https://builds.example.com/hooks/build/app");
    assert_eq!(
        request.header_value("authorization"),
        Some(format!("Bearer {SECRET}").as_str())
    );
    let body = json_of(&request);
    assert_eq!(
        body,
        serde_json::json!({
            "run": "run-42", "stage": "build", "attempt": 1, "repo": "acme/app",
            "ref": "refs/heads/main", "commit": "0123456789abcdef0123456789abcdef01234567",
            "clone_url": "https://github.com/acme/app.git", "params": {"k": "v"},
            "source_repo": "acme/app", "source_ref": "refs/heads/main",
            "source_clone_url": "https://github.com/acme/app.git",
            "callback": {"url": "https://slipway.example.com/callback?x=1&y=2",
                         "token": CALLBACK_TOKEN},
        })
    );
    assert!(matches!(
        trigger_request(&job(&svc, "", &p), None),
        Err(BuildError::MissingSecret { .. })
    ));
}

#[test]
fn http_without_secret_and_with_method() {
    let svc = service(
        r#"
        type = "http"
        url = "https://builds.example.com/run"
        method = "put"
        "#,
    );
    let p = params(&[]);
    let request = trigger_request(&job(&svc, "", &p), None).unwrap();
    assert_eq!(request.method, "PUT");
    assert_eq!(request.url, "https://builds.example.com/run");
    assert_eq!(request.header_value("authorization"), None);
    // A job path cannot move the request to another host.
    let request = trigger_request(&job(&svc, "//evil.example.com/x", &p), None).unwrap();
    assert_eq!(
        request.url,
        "https://builds.example.com/run/evil.example.com/x"
    );
}

#[test]
fn debug_output_hides_secrets() {
    let svc = jenkins();
    let p = params(&[]);
    let j = job(&svc, "app", &p);
    let text = format!("{j:?}");
    assert!(!text.contains(CALLBACK_TOKEN), "{text}");
    assert!(text.contains("run-42"));
    let follow = HttpRequest::new("GET", "https://jenkins.example.com/queue/item/1/api/json")
        .header("authorization", format!("Bearer {SECRET}"));
    let result = crate::builders::trigger::TriggerResult::Started {
        external_id: None,
        url: None,
        follow: Some(follow),
    };
    let text = format!("{result:?}");
    assert!(!text.contains(SECRET), "{text}");
    assert!(text.contains("GET https://jenkins.example.com/queue/item/1/api/json"));
}
