use super::*;
use crate::builders::error::BuildError;
use crate::builders::status::{BuildState, interpret_status, status_request};

fn state(svc: &BuildServiceConfig, body: &str) -> BuildState {
    interpret_status(svc, &response(200, body)).unwrap()
}

#[test]
fn jenkins_status_requests() {
    let svc = jenkins();
    let build = status_request(
        &svc,
        "https://jenkins.example.com/job/app/12/",
        Some(SECRET),
    )
    .unwrap();
    assert_eq!(build.method, "GET");
    assert_eq!(
        build.url,
        "https://jenkins.example.com/job/app/12/api/json?tree=number%2Cresult%2Cbuilding%2Curl%2Cduration"
    );
    assert!(
        build
            .header_value("authorization")
            .unwrap()
            .starts_with("Basic ")
    );
    let queue = status_request(
        &svc,
        "https://jenkins.example.com/queue/item/42/",
        Some(SECRET),
    )
    .unwrap();
    assert_eq!(
        queue.url,
        "https://jenkins.example.com/queue/item/42/api/json"
    );
    assert!(matches!(
        status_request(&svc, "42", Some(SECRET)),
        Err(BuildError::Unsupported { .. })
    ));
}

#[test]
fn jenkins_build_results() {
    let svc = jenkins();
    assert_eq!(
        state(&svc, r#"{"number":12,"building":true,"result":null}"#),
        BuildState::Running
    );
    assert_eq!(
        state(
            &svc,
            r#"{"number":12,"building":false,"result":"SUCCESS","duration":5000}"#
        ),
        BuildState::Succeeded
    );
    assert_eq!(
        state(
            &svc,
            r#"{"number":12,"building":false,"result":"UNSTABLE"}"#
        ),
        BuildState::Failed("build #12 is unstable".into())
    );
    assert_eq!(
        state(&svc, r#"{"number":12,"building":false,"result":"FAILURE"}"#),
        BuildState::Failed("build #12 failed".into())
    );
    assert_eq!(
        state(
            &svc,
            r#"{"number":12,"building":false,"result":"NOT_BUILT"}"#
        ),
        BuildState::Failed("build #12 was not built".into())
    );
    assert_eq!(
        state(&svc, r#"{"building":false,"result":"ABORTED"}"#),
        BuildState::Cancelled
    );
    assert!(interpret_status(&svc, &response(200, r#"{"number":1}"#)).is_err());
    // A queue item that has not become a build yet.
    assert_eq!(
        state(
            &svc,
            r#"{"_class":"hudson.model.Queue$WaitingItem","why":"waiting"}"#
        ),
        BuildState::Running
    );
    assert_eq!(
        state(
            &svc,
            r#"{"_class":"hudson.model.Queue$LeftItem","cancelled":true}"#
        ),
        BuildState::Cancelled
    );
}

#[test]
fn github_status_requests() {
    let svc = github();
    let url = "https://api.github.com/repos/acme/app/actions/runs/999";
    let request = status_request(&svc, url, Some(SECRET)).unwrap();
    assert_eq!(request.url, url);
    assert_eq!(
        request.header_value("accept"),
        Some("application/vnd.github+json")
    );
    assert!(matches!(
        status_request(&svc, "999", Some(SECRET)),
        Err(BuildError::Unsupported { .. })
    ));
    assert!(matches!(
        status_request(&svc, "https://evil.example.com/runs/1", Some(SECRET)),
        Err(BuildError::Unsupported { .. })
    ));
    let with_repo = service(
        r#"
        type = "github_actions"
        repo = "ops/pipelines"
        token_secret = "t"
        "#,
    );
    let request = status_request(&with_repo, "999", Some(SECRET)).unwrap();
    assert_eq!(
        request.url,
        "https://api.github.com/repos/ops/pipelines/actions/runs/999"
    );
}

#[test]
fn github_run_states() {
    let svc = github();
    assert_eq!(
        state(&svc, r#"{"status":"queued","conclusion":null}"#),
        BuildState::Running
    );
    assert_eq!(
        state(&svc, r#"{"status":"in_progress","conclusion":null}"#),
        BuildState::Running
    );
    assert_eq!(
        state(&svc, r#"{"status":"completed","conclusion":"success"}"#),
        BuildState::Succeeded
    );
    assert_eq!(
        state(&svc, r#"{"status":"completed","conclusion":"failure"}"#),
        BuildState::Failed("workflow run concluded failure".into())
    );
    assert_eq!(
        state(&svc, r#"{"status":"completed","conclusion":"cancelled"}"#),
        BuildState::Cancelled
    );
    assert!(matches!(
        state(&svc, r#"{"status":"completed","conclusion":"skipped"}"#),
        BuildState::Failed(_)
    ));
    assert!(interpret_status(&svc, &response(200, "{}")).is_err());
}

#[test]
fn gitlab_status() {
    let svc = gitlab();
    let request = status_request(&svc, "1234", Some("glpat-abc")).unwrap();
    assert_eq!(
        request.url,
        "https://gitlab.example.com/api/v4/projects/group%2Fsub%2Fapp/pipelines/1234"
    );
    assert_eq!(request.header_value("private-token"), Some("glpat-abc"));
    let no_api_token = service(
        r#"
        type = "gitlab_ci"
        api_base = "https://gitlab.example.com/api/v4"
        project = 9
        token_secret = "trigger"
        "#,
    );
    let err = status_request(&no_api_token, "1234", Some("x")).unwrap_err();
    assert!(err.to_string().contains("api_token_secret"), "{err}");
    assert!(status_request(&svc, "12a", Some("x")).is_err());
    for (status, expected) in [
        ("created", BuildState::Running),
        ("pending", BuildState::Running),
        ("running", BuildState::Running),
        ("manual", BuildState::Running),
        ("success", BuildState::Succeeded),
        ("failed", BuildState::Failed("pipeline failed".into())),
        ("canceled", BuildState::Cancelled),
        ("skipped", BuildState::Failed("pipeline was skipped".into())),
    ] {
        let body = format!(r#"{{"id":1234,"status":"{status}"}}"#);
        assert_eq!(state(&svc, &body), expected, "{status}");
    }
}

#[test]
fn tekton_status() {
    let svc = tekton();
    let request = status_request(&svc, "slipway-build-x7k2p", Some(SECRET)).unwrap();
    assert_eq!(
        request.url,
        "https://k8s.example.com:6443/apis/tekton.dev/v1/namespaces/ci/pipelineruns/slipway-build-x7k2p"
    );
    for bad in ["../secrets", "..", ".", ""] {
        assert!(status_request(&svc, bad, Some(SECRET)).is_err(), "{bad}");
    }
    let run = |condition: &str| {
        format!(
            r#"{{"apiVersion":"tekton.dev/v1","kind":"PipelineRun","metadata":{{"name":"r"}},
               "status":{{"conditions":[{condition}]}}}}"#
        )
    };
    assert_eq!(
        state(
            &svc,
            &run(r#"{"type":"Succeeded","status":"True","reason":"Succeeded"}"#)
        ),
        BuildState::Succeeded
    );
    assert_eq!(
        state(
            &svc,
            &run(r#"{"type":"Succeeded","status":"Unknown","reason":"Running"}"#)
        ),
        BuildState::Running
    );
    assert_eq!(
        state(
            &svc,
            &run(r#"{"type":"Succeeded","status":"False","reason":"Failed",
                     "message":"Tasks Completed: 2 (Failed: 1, Cancelled 0), Skipped: 0"}"#)
        ),
        BuildState::Failed(
            "Failed: Tasks Completed: 2 (Failed: 1, Cancelled 0), Skipped: 0".into()
        )
    );
    assert_eq!(
        state(
            &svc,
            &run(r#"{"type":"Succeeded","status":"False","reason":"Cancelled"}"#)
        ),
        BuildState::Cancelled
    );
    assert_eq!(
        state(
            &svc,
            &run(r#"{"type":"Succeeded","status":"False","reason":"PipelineRunTimeout"}"#)
        ),
        BuildState::Failed("PipelineRunTimeout".into())
    );
    assert_eq!(
        state(&svc, r#"{"kind":"PipelineRun","metadata":{"name":"r"}}"#),
        BuildState::Running
    );
}

#[test]
fn http_status() {
    let svc = http_service();
    let own = status_request(&svc, "https://builds.example.com/status/1", Some(SECRET)).unwrap();
    assert_eq!(own.url, "https://builds.example.com/status/1");
    assert_eq!(
        own.header_value("authorization"),
        Some(format!("Bearer {SECRET}").as_str())
    );
    let foreign = status_request(&svc, "https://other.example.com/s/1", Some(SECRET)).unwrap();
    assert_eq!(foreign.header_value("authorization"), None);
    assert!(matches!(
        status_request(&svc, "b-1", Some(SECRET)),
        Err(BuildError::Unsupported { .. })
    ));
    assert_eq!(state(&svc, r#"{"status":"running"}"#), BuildState::Running);
    assert_eq!(
        state(&svc, r#"{"status":"succeeded"}"#),
        BuildState::Succeeded
    );
    assert_eq!(
        state(&svc, r#"{"status":"failed","message":"lint errors"}"#),
        BuildState::Failed("lint errors".into())
    );
    assert_eq!(
        state(&svc, r#"{"status":"cancelled"}"#),
        BuildState::Cancelled
    );
    assert!(interpret_status(&svc, &response(200, r#"{"status":"weird"}"#)).is_err());
}

#[test]
fn status_errors() {
    let svc = jenkins();
    let err = interpret_status(&svc, &response(503, "down")).unwrap_err();
    assert_eq!(
        err,
        BuildError::Status {
            service: "jenkins",
            status: 503,
            message: "down".into()
        }
    );
    assert!(err.is_retryable());
    let err = interpret_status(&svc, &response(404, "")).unwrap_err();
    assert!(!err.is_retryable());
    assert!(matches!(
        interpret_status(&svc, &response(200, "<html>")),
        Err(BuildError::InvalidResponse { .. })
    ));
    assert!(matches!(
        interpret_status(&svc, &response(200, "[]")),
        Err(BuildError::InvalidResponse { .. })
    ));
    assert!(BuildState::Cancelled.is_finished());
    assert!(!BuildState::Running.is_finished());
    let json = serde_json::to_string(&BuildState::Failed("x".into())).unwrap();
    assert_eq!(json, r#"{"failed":"x"}"#);
}
