use super::*;
use crate::builders::error::BuildError;
use crate::builders::follow::{QueueState, interpret_queue_item, queue_item_request};
use crate::builders::trigger::{TriggerResult, interpret_trigger};

fn started(result: TriggerResult) -> (Option<String>, Option<String>, Option<HttpRequest>) {
    match result {
        TriggerResult::Started {
            external_id,
            url,
            follow,
        } => (external_id, url, follow),
        other => panic!("not started: {other:?}"),
    }
}

#[test]
fn jenkins_201_with_location_is_followed() {
    let svc = jenkins();
    let p = params(&[]);
    let j = job(&svc, "app", &p);
    let answer = with_header(
        response(201, ""),
        "Location",
        "https://jenkins.example.com/queue/item/42/",
    );
    let (id, url, follow) = started(interpret_trigger(&j, &answer, Some(SECRET)));
    assert_eq!(
        id.as_deref(),
        Some("https://jenkins.example.com/queue/item/42/")
    );
    assert_eq!(url, None);
    let follow = follow.unwrap();
    assert_eq!(follow.method, "GET");
    assert_eq!(
        follow.url,
        "https://jenkins.example.com/queue/item/42/api/json"
    );
    assert_eq!(
        follow.header_value("authorization"),
        Some("Basic c2xpcHdheTpzM2NyM3QtdG9rZW4tdmFsdWU=")
    );
}

#[test]
fn jenkins_201_without_location() {
    let svc = jenkins();
    let p = params(&[]);
    let j = job(&svc, "app", &p);
    let (id, url, follow) = started(interpret_trigger(&j, &response(201, ""), Some(SECRET)));
    assert_eq!((id, url, follow), (None, None, None));
}

#[test]
fn jenkins_location_on_another_origin_is_rebased() {
    let svc = jenkins();
    let p = params(&[]);
    let j = job(&svc, "app", &p);
    let answer = with_header(
        response(201, ""),
        "location",
        "http://localhost:8080/queue/item/7/",
    );
    let (id, _, follow) = started(interpret_trigger(&j, &answer, Some(SECRET)));
    assert_eq!(
        id.as_deref(),
        Some("https://jenkins.example.com/queue/item/7/")
    );
    assert_eq!(
        follow.unwrap().url,
        "https://jenkins.example.com/queue/item/7/api/json"
    );
}

#[test]
fn jenkins_errors() {
    let svc = jenkins();
    let p = params(&[]);
    let j = job(&svc, "app", &p);
    let page = "<html><head><title>Error 403 No valid crumb was included in the request</title>\
                </head><body>…</body></html>";
    assert_eq!(
        interpret_trigger(&j, &response(403, page), Some(SECRET)),
        TriggerResult::Rejected(
            "jenkins: HTTP 403: Error 403 No valid crumb was included in the request".into()
        )
    );
    assert!(matches!(
        interpret_trigger(&j, &response(500, "boom"), Some(SECRET)),
        TriggerResult::Retryable(ref m) if m == "jenkins: HTTP 500: boom"
    ));
    assert!(matches!(
        interpret_trigger(&j, &response(302, ""), Some(SECRET)),
        TriggerResult::Rejected(ref m) if m.contains("HTTP 302")
    ));
    assert!(matches!(
        interpret_trigger(&j, &response(404, ""), Some(SECRET)),
        TriggerResult::Rejected(ref m) if m == "jenkins: HTTP 404: (empty body)"
    ));
}

#[test]
fn secrets_echoed_in_bodies_are_redacted() {
    let svc = github();
    let p = params(&[]);
    let j = job(&svc, "b.yml", &p);
    let body = format!("bad token {SECRET} and {CALLBACK_TOKEN}");
    let TriggerResult::Rejected(message) =
        interpret_trigger(&j, &response(401, &body), Some(SECRET))
    else {
        panic!("not rejected")
    };
    assert!(!message.contains(SECRET), "{message}");
    assert!(!message.contains(CALLBACK_TOKEN), "{message}");
    assert!(message.contains("***"));
}

#[test]
fn long_bodies_are_shortened() {
    let svc = http_service();
    let p = params(&[]);
    let j = job(&svc, "", &p);
    let body = "x".repeat(5000);
    let TriggerResult::Retryable(message) = interpret_trigger(&j, &response(503, &body), None)
    else {
        panic!("not retryable")
    };
    assert!(message.chars().count() < 260, "{}", message.len());
}

#[test]
fn github_204_and_200_run_details() {
    let svc = github();
    let p = params(&[]);
    let j = job(&svc, "b.yml", &p);
    assert_eq!(
        started(interpret_trigger(&j, &response(204, ""), Some(SECRET))),
        (None, None, None)
    );
    let details = r#"{"workflow_run_id": 999,
        "run_url": "https://api.github.com/repos/acme/app/actions/runs/999",
        "html_url": "https://github.com/acme/app/actions/runs/999"}"#;
    let (id, url, follow) = started(interpret_trigger(&j, &response(200, details), Some(SECRET)));
    assert_eq!(
        id.as_deref(),
        Some("https://api.github.com/repos/acme/app/actions/runs/999")
    );
    assert_eq!(
        url.as_deref(),
        Some("https://github.com/acme/app/actions/runs/999")
    );
    assert!(follow.is_none());
}

#[test]
fn github_run_url_elsewhere_is_rebuilt_from_the_id() {
    let svc = github();
    let p = params(&[]);
    let j = job(&svc, "b.yml", &p);
    let details = r#"{"workflow_run_id": 5, "run_url": "https://evil.example.com/runs/5"}"#;
    let (id, url, _) = started(interpret_trigger(&j, &response(200, details), Some(SECRET)));
    assert_eq!(
        id.as_deref(),
        Some("https://api.github.com/repos/acme/app/actions/runs/5")
    );
    assert_eq!(url, None);
}

#[test]
fn github_errors_and_rate_limits() {
    let svc = github();
    let p = params(&[]);
    let j = job(&svc, "b.yml", &p);
    let body = r#"{"message":"Workflow does not have 'workflow_dispatch' trigger",
                   "documentation_url":"https://docs.github.com/rest"}"#;
    assert_eq!(
        interpret_trigger(&j, &response(422, body), Some(SECRET)),
        TriggerResult::Rejected(
            "github_actions: HTTP 422: Workflow does not have 'workflow_dispatch' trigger".into()
        )
    );
    let limited = with_header(
        response(403, r#"{"message":"API rate limit exceeded"}"#),
        "x-ratelimit-remaining",
        "0",
    );
    assert!(matches!(
        interpret_trigger(&j, &limited, Some(SECRET)),
        TriggerResult::Retryable(_)
    ));
    let secondary = with_header(response(403, "{}"), "retry-after", "60");
    assert!(matches!(
        interpret_trigger(&j, &secondary, Some(SECRET)),
        TriggerResult::Retryable(_)
    ));
    assert!(matches!(
        interpret_trigger(
            &j,
            &response(403, r#"{"message":"Resource not accessible"}"#),
            Some(SECRET)
        ),
        TriggerResult::Rejected(_)
    ));
    assert!(matches!(
        interpret_trigger(&j, &response(429, ""), Some(SECRET)),
        TriggerResult::Retryable(_)
    ));
    assert!(matches!(
        interpret_trigger(&j, &response(408, ""), Some(SECRET)),
        TriggerResult::Retryable(_)
    ));
}

#[test]
fn gitlab_201_pipeline() {
    let svc = gitlab();
    let p = params(&[]);
    let j = job(&svc, "", &p);
    let body = r#"{"id": 1234, "iid": 7, "project_id": 9, "sha": "abc", "ref": "main",
        "status": "created", "source": "trigger",
        "web_url": "https://gitlab.example.com/group/sub/app/-/pipelines/1234"}"#;
    let (id, url, _) = started(interpret_trigger(&j, &response(201, body), Some(SECRET)));
    assert_eq!(id.as_deref(), Some("1234"));
    assert_eq!(
        url.as_deref(),
        Some("https://gitlab.example.com/group/sub/app/-/pipelines/1234")
    );
    let refused = r#"{"message":{"base":["Reference not found"]}}"#;
    let TriggerResult::Rejected(m) = interpret_trigger(&j, &response(400, refused), Some(SECRET))
    else {
        panic!("not rejected")
    };
    assert!(m.contains("Reference not found"), "{m}");
}

#[test]
fn tekton_201_and_conflicts() {
    let svc = tekton();
    let p = params(&[]);
    let j = job(&svc, "build", &p);
    let body = r#"{"apiVersion":"tekton.dev/v1","kind":"PipelineRun",
        "metadata":{"name":"slipway-build-x7k2p","namespace":"ci"}}"#;
    let (id, _, _) = started(interpret_trigger(&j, &response(201, body), Some(SECRET)));
    assert_eq!(id.as_deref(), Some("slipway-build-x7k2p"));
    assert!(matches!(
        interpret_trigger(&j, &response(409, "{}"), Some(SECRET)),
        TriggerResult::Retryable(_)
    ));
    let invalid = r#"{"kind":"Status","status":"Failure","message":"admission webhook denied",
        "reason":"BadRequest","code":400}"#;
    assert_eq!(
        interpret_trigger(&j, &response(400, invalid), Some(SECRET)),
        TriggerResult::Rejected("tekton: HTTP 400: admission webhook denied".into())
    );
}

#[test]
fn http_started_answers() {
    let svc = http_service();
    let p = params(&[]);
    let j = job(&svc, "", &p);
    let (id, url, _) = started(interpret_trigger(
        &j,
        &response(202, r#"{"id": 17, "url": "/hooks/status/17"}"#),
        Some(SECRET),
    ));
    assert_eq!(
        id.as_deref(),
        Some("https://builds.example.com/hooks/status/17")
    );
    assert_eq!(id, url);
    let (id, url, _) = started(interpret_trigger(
        &j,
        &response(200, r#"{"id":"b-1"}"#),
        None,
    ));
    assert_eq!((id.as_deref(), url), (Some("b-1"), None));
    assert_eq!(
        started(interpret_trigger(&j, &response(204, ""), None)),
        (None, None, None)
    );
}

#[test]
fn queue_item_states() {
    let svc = jenkins();
    let waiting = r#"{"_class":"hudson.model.Queue$WaitingItem","id":42,"blocked":false,
        "cancelled":false,"why":"In the quiet period. Expires in 4.9 sec","executable":null}"#;
    assert_eq!(
        interpret_queue_item(&svc, &response(200, waiting)).unwrap(),
        QueueState::Waiting {
            why: "In the quiet period. Expires in 4.9 sec".into()
        }
    );
    let left = r#"{"_class":"hudson.model.Queue$LeftItem","id":42,"cancelled":false,"why":null,
        "executable":{"_class":"hudson.model.FreeStyleBuild","number":12,
        "url":"https://jenkins.example.com/job/app/12/"}}"#;
    assert_eq!(
        interpret_queue_item(&svc, &response(200, left)).unwrap(),
        QueueState::Started {
            number: 12,
            url: "https://jenkins.example.com/job/app/12/".into()
        }
    );
    let cancelled =
        r#"{"_class":"hudson.model.Queue$LeftItem","cancelled":true,"executable":null}"#;
    assert_eq!(
        interpret_queue_item(&svc, &response(200, cancelled)).unwrap(),
        QueueState::Cancelled
    );
    assert!(matches!(
        interpret_queue_item(&svc, &response(404, "")),
        Err(BuildError::Status { status: 404, .. })
    ));
    assert!(matches!(
        interpret_queue_item(&github(), &response(200, waiting)),
        Err(BuildError::Unsupported { .. })
    ));
}

#[test]
fn queue_urls_stay_on_the_configured_origin() {
    let svc = jenkins();
    let foreign = r#"{"_class":"hudson.model.Queue$LeftItem","cancelled":false,
        "executable":{"number":3,"url":"http://10.0.0.5:8080/job/a/job/b/3/"}}"#;
    assert_eq!(
        interpret_queue_item(&svc, &response(200, foreign)).unwrap(),
        QueueState::Started {
            number: 3,
            url: "https://jenkins.example.com/job/a/job/b/3/".into()
        }
    );
    let elsewhere = queue_item_request(&svc, "https://evil.example.com/steal/", Some(SECRET));
    assert!(elsewhere.is_err());
    let request = queue_item_request(
        &svc,
        "https://jenkins.example.com/queue/item/9",
        Some(SECRET),
    )
    .unwrap();
    assert_eq!(
        request.url,
        "https://jenkins.example.com/queue/item/9/api/json"
    );
    assert!(queue_item_request(&svc, "https://jenkins.example.com/queue/item/9/", None).is_err());
}
