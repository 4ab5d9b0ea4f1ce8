use futures::executor::block_on;

use super::*;
use crate::builders::retry::{RetryPolicy, TriggerOutcome, trigger_with_retry};

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay_ms: 500,
        max_delay_ms: 4_000,
        call_timeout_ms: 2_000,
        budget_ms: 60_000,
    }
}

fn refused() -> Result<HttpResponse, HttpError> {
    Err(HttpError::Transport("connection refused".into()))
}

const T0: u64 = 1_000_000;

#[test]
fn delays_double_and_are_capped() {
    let p = policy();
    assert_eq!(p.delay_after(1), 500);
    assert_eq!(p.delay_after(2), 1_000);
    assert_eq!(p.delay_after(3), 2_000);
    assert_eq!(p.delay_after(4), 4_000);
    assert_eq!(p.delay_after(10), 4_000);
    assert_eq!(p.delay_after(200), 4_000);
    assert_eq!(p.delay_after(0), 500);
}

#[test]
fn first_attempt_succeeds() {
    let svc = gitlab();
    let p = params(&[]);
    let j = job(&svc, "", &p);
    let clock = FakeClock::at(T0);
    let http = FakeHttp::new(
        &clock,
        vec![Ok(response(201, r#"{"id": 5, "web_url": "w"}"#))],
    );
    let outcome = block_on(trigger_with_retry(
        &http,
        &clock,
        &j,
        Some(SECRET),
        &policy(),
        0,
    ));
    assert_eq!(
        outcome,
        TriggerOutcome::Started {
            external_id: Some("5".into()),
            url: Some("w".into()),
            attempts: 1
        }
    );
    assert!(clock.sleeps.borrow().is_empty());
    assert_eq!(http.sent.borrow()[0].1, 2_000);
}

#[test]
fn connection_refused_three_times_fails() {
    let svc = jenkins();
    let p = params(&[]);
    let j = job(&svc, "app", &p);
    let clock = FakeClock::at(T0);
    let http = FakeHttp::new(&clock, vec![refused(), refused(), refused()]);
    let outcome = block_on(trigger_with_retry(
        &http,
        &clock,
        &j,
        Some(SECRET),
        &policy(),
        0,
    ));
    assert_eq!(
        outcome,
        TriggerOutcome::Failed {
            reason: "jenkins: connection refused after 3 attempts".into(),
            attempts: 3
        }
    );
    assert_eq!(*clock.sleeps.borrow(), vec![500, 1_000]);
    assert_eq!(http.sent.borrow().len(), 3);
}

#[test]
fn server_error_then_success() {
    let svc = tekton();
    let p = params(&[]);
    let j = job(&svc, "build", &p);
    let clock = FakeClock::at(T0);
    let http = FakeHttp::new(
        &clock,
        vec![
            Ok(response(503, "unavailable")),
            Err(HttpError::Timeout(2_000)),
            Ok(response(
                201,
                r#"{"metadata":{"name":"slipway-build-abcde"}}"#,
            )),
        ],
    );
    let outcome = block_on(trigger_with_retry(
        &http,
        &clock,
        &j,
        Some(SECRET),
        &policy(),
        0,
    ));
    assert_eq!(
        outcome,
        TriggerOutcome::Started {
            external_id: Some("slipway-build-abcde".into()),
            url: None,
            attempts: 3
        }
    );
    assert_eq!(*clock.sleeps.borrow(), vec![500, 1_000]);
    // 10 ms + 500 + 2000 (timeout) + 1000
    assert_eq!(http.sent.borrow()[2].2, T0 + 3_510);
}

#[test]
fn rejection_fails_at_once() {
    let svc = github();
    let p = params(&[]);
    let j = job(&svc, "b.yml", &p);
    let clock = FakeClock::at(T0);
    let http = FakeHttp::new(
        &clock,
        vec![Ok(response(404, r#"{"message":"Not Found"}"#))],
    );
    let outcome = block_on(trigger_with_retry(
        &http,
        &clock,
        &j,
        Some(SECRET),
        &policy(),
        0,
    ));
    assert_eq!(
        outcome,
        TriggerOutcome::Failed {
            reason: "github_actions: HTTP 404: Not Found".into(),
            attempts: 1
        }
    );
    assert!(clock.sleeps.borrow().is_empty());
}

#[test]
fn denied_host_fails_at_once() {
    let svc = http_service();
    let p = params(&[]);
    let j = job(&svc, "", &p);
    let clock = FakeClock::at(T0);
    let http = FakeHttp::new(&clock, vec![Err(HttpError::Denied)]);
    let outcome = block_on(trigger_with_retry(
        &http,
        &clock,
        &j,
        Some(SECRET),
        &policy(),
        0,
    ));
    assert!(matches!(
        outcome,
        TriggerOutcome::Failed { ref reason, attempts: 1 } if reason.contains("allow-list")
    ));
}

#[test]
fn request_errors_fail_without_sending() {
    let svc = jenkins();
    let p = params(&[]);
    let j = job(&svc, "app", &p);
    let clock = FakeClock::at(T0);
    let http = FakeHttp::new(&clock, vec![]);
    let outcome = block_on(trigger_with_retry(&http, &clock, &j, None, &policy(), 0));
    assert_eq!(
        outcome,
        TriggerOutcome::Failed {
            reason: "jenkins: the secret named `jenkins_token` is not set".into(),
            attempts: 0
        }
    );
    assert!(http.sent.borrow().is_empty());
}

#[test]
fn defers_when_the_next_attempt_does_not_fit_the_budget() {
    let svc = jenkins();
    let p = params(&[]);
    let j = job(&svc, "app", &p);
    let clock = FakeClock::at(T0);
    let http = FakeHttp::new(&clock, vec![refused(), refused(), refused()]);
    let tight = RetryPolicy {
        budget_ms: 4_000,
        ..policy()
    };
    // Attempts at T0, T0+510, T0+1520 (10 ms each, sleeps 500 and 1000).
    // After the third, 2000 ms of delay plus a 2000 ms call would end past
    // T0+4000, so the call returns and leaves the rest to a later tick.
    let many = RetryPolicy {
        max_attempts: 5,
        ..tight
    };
    let outcome = block_on(trigger_with_retry(
        &http,
        &clock,
        &j,
        Some(SECRET),
        &many,
        0,
    ));
    assert_eq!(
        outcome,
        TriggerOutcome::Deferred {
            attempts: 3,
            next_attempt_at_ms: T0 + 1_530 + 2_000,
            last_error: "jenkins: connection refused".into()
        }
    );
    assert_eq!(*clock.sleeps.borrow(), vec![500, 1_000]);
}

#[test]
fn a_later_tick_continues_the_count() {
    let svc = jenkins();
    let p = params(&[]);
    let j = job(&svc, "app", &p);
    let clock = FakeClock::at(T0);
    let http = FakeHttp::new(&clock, vec![refused()]);
    let outcome = block_on(trigger_with_retry(
        &http,
        &clock,
        &j,
        Some(SECRET),
        &policy(),
        2,
    ));
    assert_eq!(
        outcome,
        TriggerOutcome::Failed {
            reason: "jenkins: connection refused after 3 attempts".into(),
            attempts: 3
        }
    );
    let clock = FakeClock::at(T0);
    let http = FakeHttp::new(&clock, vec![]);
    let outcome = block_on(trigger_with_retry(
        &http,
        &clock,
        &j,
        Some(SECRET),
        &policy(),
        3,
    ));
    assert!(matches!(
        outcome,
        TriggerOutcome::Failed { attempts: 3, .. }
    ));
    assert!(http.sent.borrow().is_empty());
}

#[test]
fn deferred_delay_uses_the_total_attempt_count() {
    let svc = jenkins();
    let p = params(&[]);
    let j = job(&svc, "app", &p);
    let clock = FakeClock::at(T0);
    let http = FakeHttp::new(&clock, vec![refused()]);
    let short = RetryPolicy {
        max_attempts: 10,
        budget_ms: 3_000,
        ..policy()
    };
    let outcome = block_on(trigger_with_retry(
        &http,
        &clock,
        &j,
        Some(SECRET),
        &short,
        2,
    ));
    // Third attempt overall failed: next delay is 500 · 2² = 2000.
    assert_eq!(
        outcome,
        TriggerOutcome::Deferred {
            attempts: 3,
            next_attempt_at_ms: T0 + 10 + 2_000,
            last_error: "jenkins: connection refused".into()
        }
    );
}

#[test]
fn the_call_timeout_never_exceeds_the_budget() {
    let svc = jenkins();
    let p = params(&[]);
    let j = job(&svc, "app", &p);
    let clock = FakeClock::at(T0);
    let http = FakeHttp::new(&clock, vec![Err(HttpError::Timeout(700))]);
    let small = RetryPolicy {
        budget_ms: 700,
        ..policy()
    };
    let outcome = block_on(trigger_with_retry(
        &http,
        &clock,
        &j,
        Some(SECRET),
        &small,
        0,
    ));
    assert_eq!(http.sent.borrow()[0].1, 700);
    assert!(matches!(
        outcome,
        TriggerOutcome::Deferred { attempts: 1, ref last_error, .. }
            if last_error == "jenkins: timed out after 700 ms"
    ));
    let none = RetryPolicy {
        budget_ms: 0,
        ..policy()
    };
    let http = FakeHttp::new(&clock, vec![]);
    let outcome = block_on(trigger_with_retry(
        &http,
        &clock,
        &j,
        Some(SECRET),
        &none,
        0,
    ));
    assert!(matches!(
        outcome,
        TriggerOutcome::Deferred { attempts: 0, .. }
    ));
}

fn queue_created() -> Result<HttpResponse, HttpError> {
    Ok(with_header(
        response(201, ""),
        "location",
        "https://jenkins.example.com/queue/item/42/",
    ))
}

const WAITING: &str = r#"{"_class":"hudson.model.Queue$BuildableItem","why":"Waiting for next available executor","cancelled":false}"#;
const LEFT: &str = r#"{"_class":"hudson.model.Queue$LeftItem","cancelled":false,"executable":{"number":12,"url":"https://jenkins.example.com/job/app/12/"}}"#;

#[test]
fn jenkins_follows_the_queue_item() {
    let svc = jenkins();
    let p = params(&[]);
    let j = job(&svc, "app", &p);
    let clock = FakeClock::at(T0);
    let http = FakeHttp::new(&clock, vec![queue_created(), Ok(response(200, LEFT))]);
    let outcome = block_on(trigger_with_retry(
        &http,
        &clock,
        &j,
        Some(SECRET),
        &policy(),
        0,
    ));
    assert_eq!(
        outcome,
        TriggerOutcome::Started {
            external_id: Some("https://jenkins.example.com/job/app/12/".into()),
            url: Some("https://jenkins.example.com/job/app/12/".into()),
            attempts: 1
        }
    );
    assert_eq!(
        http.urls(),
        vec![
            "https://jenkins.example.com/job/app/buildWithParameters?delay=0sec",
            "https://jenkins.example.com/queue/item/42/api/json",
        ]
    );
    let follow = &http.sent.borrow()[1].0;
    assert!(follow.header_value("authorization").is_some());
}

#[test]
fn jenkins_queue_still_waiting_keeps_the_queue_url() {
    let svc = jenkins();
    let p = params(&[]);
    let j = job(&svc, "app", &p);
    let clock = FakeClock::at(T0);
    let http = FakeHttp::new(&clock, vec![queue_created(), Ok(response(200, WAITING))]);
    let outcome = block_on(trigger_with_retry(
        &http,
        &clock,
        &j,
        Some(SECRET),
        &policy(),
        0,
    ));
    assert_eq!(
        outcome,
        TriggerOutcome::Started {
            external_id: Some("https://jenkins.example.com/queue/item/42/".into()),
            url: None,
            attempts: 1
        }
    );
    assert_eq!(http.sent.borrow().len(), 2, "one read: the tick follows it");
}

#[test]
fn jenkins_follow_stays_inside_the_budget() {
    let svc = jenkins();
    let p = params(&[]);
    let j = job(&svc, "app", &p);
    let clock = FakeClock::at(T0);
    let http = FakeHttp::new(
        &clock,
        vec![
            queue_created(),
            Ok(response(200, WAITING)),
            Ok(response(200, LEFT)),
        ],
    );
    let tight = RetryPolicy {
        budget_ms: 2_100,
        ..policy()
    };
    let outcome = block_on(trigger_with_retry(
        &http,
        &clock,
        &j,
        Some(SECRET),
        &tight,
        0,
    ));
    // One follow (waiting); no time to wait 500 ms and ask again.
    assert!(matches!(
        outcome,
        TriggerOutcome::Started { ref external_id, .. }
            if external_id.as_deref() == Some("https://jenkins.example.com/queue/item/42/")
    ));
    assert_eq!(http.sent.borrow().len(), 2);
    assert!(http.sent.borrow()[1].1 <= 2_090);
    assert!(clock.sleeps.borrow().is_empty());
}

#[test]
fn jenkins_follow_failure_is_not_a_trigger_failure() {
    let svc = jenkins();
    let p = params(&[]);
    let j = job(&svc, "app", &p);
    let clock = FakeClock::at(T0);
    let http = FakeHttp::new(&clock, vec![queue_created(), refused()]);
    let outcome = block_on(trigger_with_retry(
        &http,
        &clock,
        &j,
        Some(SECRET),
        &policy(),
        0,
    ));
    assert!(matches!(
        outcome,
        TriggerOutcome::Started { attempts: 1, .. }
    ));
}
