//! Jenkins Notification plugin (`notification` plugin, JSON format):
//! `{"name", "display_name", "url", "build": {"full_url", "number",
//! "queue_id", "phase", "status", "url", "duration", "scm", "parameters",
//! "test_summary": {"total", "failed", "passed", "skipped",
//! "failed_tests": [names]}, …}}`, field names in Gson's
//! `LOWER_CASE_WITH_UNDERSCORES`. The plugin posts `QUEUED`, `STARTED`,
//! `COMPLETED` and `FINALIZED`; the last two carry the result, so both end
//! the stage (the second is then a duplicate).
//!
//! The plugin sends no custom headers: the job's endpoint URL carries the
//! callback token (`$SLIPWAY_CALLBACK_URL?token=$SLIPWAY_CALLBACK_TOKEN`,
//! which the plugin expands from the build's parameters).

use serde_json::Value;

use super::result::StageResult;
use crate::builders::junit::MAX_LISTED_FAILURES;
use crate::builders::{FailureKind, TestFailure, TestSummary};
use crate::runs::StageStatus;

/// The result a notification describes: `None` status while the build is
/// queued or running.
pub(super) fn parse(value: &Value) -> Result<StageResult, String> {
    let build = &value["build"];
    let phase = build["phase"].as_str().unwrap_or_default();
    let url = build["full_url"].as_str().map(str::to_owned);
    let status = match phase {
        "QUEUED" | "STARTED" => None,
        "COMPLETED" | "FINALIZED" => match build["status"].as_str().unwrap_or_default() {
            "SUCCESS" => Some(StageStatus::Succeeded),
            "ABORTED" => Some(StageStatus::Cancelled),
            "FAILURE" | "UNSTABLE" | "NOT_BUILT" => Some(StageStatus::Failed),
            other => return Err(format!("unknown Jenkins build status {other:?}")),
        },
        other => return Err(format!("unknown Jenkins notification phase {other:?}")),
    };
    let message = match (status, build["status"].as_str()) {
        (Some(StageStatus::Succeeded), _) | (None, _) => None,
        (_, Some(s)) => Some(format!("Jenkins build {s}")),
        _ => None,
    };
    Ok(StageResult {
        status,
        message,
        tests: test_summary(&build["test_summary"]),
        image: None,
        log_url: url.as_ref().map(|u| format!("{u}console")),
        url,
        duration_ms: build["duration"].as_u64().filter(|d| *d > 0),
    })
}

/// Jenkins' test counts. Its `failed` counts failures and errors alike, and
/// `failed_tests` names them without a message.
fn test_summary(summary: &Value) -> Option<TestSummary> {
    let count = |name: &str| summary[name].as_u64().unwrap_or(0);
    summary.as_object()?;
    let failures = summary["failed_tests"]
        .as_array()
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .take(MAX_LISTED_FAILURES)
                .map(|name| TestFailure {
                    name: name.to_owned(),
                    message: String::new(),
                    kind: FailureKind::Failure,
                })
                .collect()
        })
        .unwrap_or_default();
    Some(TestSummary {
        passed: count("passed"),
        failed: count("failed"),
        errored: 0,
        skipped: count("skipped"),
        duration_ms: 0,
        failures,
    })
}

#[cfg(test)]
mod tests {
    use super::super::result::parse as parse_body;
    use super::*;

    #[test]
    fn completed_and_started_phases() {
        let done = br#"{"name":"shop-unit","url":"job/shop-unit/","build":{"full_url":"http://j/job/shop-unit/7/","number":7,"phase":"COMPLETED","status":"UNSTABLE","url":"job/shop-unit/7/"}}"#;
        let r = parse_body("application/json", done).unwrap();
        assert_eq!(r.status, Some(StageStatus::Failed));
        assert_eq!(r.url.as_deref(), Some("http://j/job/shop-unit/7/"));
        assert_eq!(r.message.as_deref(), Some("Jenkins build UNSTABLE"));
        let started = br#"{"name":"x","build":{"phase":"STARTED","number":7}}"#;
        assert_eq!(
            parse_body("application/json", started).unwrap().status,
            None
        );
    }

    #[test]
    fn test_summary_becomes_the_stage_tests() {
        let body = br#"{"name":"shop-unit","build":{"phase":"FINALIZED","status":"UNSTABLE","duration":81234,
            "test_summary":{"total":10,"failed":2,"passed":7,"skipped":1,"failed_tests":["cart.AddTest.adds","cart.AddTest.removes"]}}}"#;
        let r = parse_body("application/json", body).unwrap();
        let tests = r.tests.unwrap();
        assert_eq!((tests.passed, tests.failed, tests.skipped), (7, 2, 1));
        assert_eq!(tests.failures[1].name, "cart.AddTest.removes");
        assert_eq!(r.duration_ms, Some(81234));
    }

    #[test]
    fn unknown_phase_or_status_is_refused() {
        for body in [
            br#"{"build":{"phase":"EXPLODED"}}"#.as_slice(),
            br#"{"build":{"phase":"COMPLETED","status":"GREAT"}}"#.as_slice(),
        ] {
            assert!(parse_body("application/json", body).is_err());
        }
    }
}
