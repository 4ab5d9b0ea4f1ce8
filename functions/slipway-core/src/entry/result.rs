//! What a build reports back, in the formats callbacks accept:
//!
//! - **Generic JSON** (`Content-Type: application/json`):
//!   ```json
//!   {
//!     "status": "succeeded",            // succeeded | failed | cancelled | running
//!     "message": "optional text",
//!     "tests": { "passed": 142, "failed": 2, "skipped": 1,
//!                "failures": [{ "name": "cart::adds", "message": "expected 2" }] },
//!     "junit": ["<testsuite …>…</testsuite>"],   // raw JUnit reports, merged into tests
//!     "artifacts": { "image": "registry.example.com/shop@sha256:…" },
//!     "log_url": "https://ci.example.com/job/42/console",
//!     "url": "https://ci.example.com/job/42/",
//!     "duration_ms": 81234
//!   }
//!   ```
//!   `artifacts.image` may also be `{ "reference": "…", "digest": "sha256:…" }`.
//! - **JUnit XML** (`application/xml` or `text/xml`): one report; the stage
//!   succeeds when no test failed or errored.
//! - **Jenkins Notification plugin** JSON (`{"name", "url", "build": {"phase",
//!   "status", "full_url", …}}`): `COMPLETED`/`FINALIZED` end the stage.

use serde::Deserialize;
use serde_json::Value;

use crate::builders::{TestSummary, parse_junit, parse_junit_reports};
use crate::runs::{ImageArtifact, StageStatus, is_digest};

/// A stage's reported outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageResult {
    /// Terminal status, or `None` for a progress report (still running).
    pub status: Option<StageStatus>,
    /// Short text shown with the stage.
    pub message: Option<String>,
    /// Test counts and first failures.
    pub tests: Option<TestSummary>,
    /// The image built.
    pub image: Option<ImageArtifact>,
    /// Link to the logs.
    pub log_url: Option<String>,
    /// Link to the build.
    pub url: Option<String>,
    /// How long the build took, as the build service measured it.
    pub duration_ms: Option<u64>,
}

impl StageResult {
    /// A bare terminal result.
    pub fn status(status: StageStatus, message: Option<String>) -> Self {
        StageResult {
            status: Some(status),
            message,
            tests: None,
            image: None,
            log_url: None,
            url: None,
            duration_ms: None,
        }
    }

    /// "142 passed, 2 failed" style counts, when tests were reported.
    pub fn test_line(&self) -> Option<String> {
        self.tests.as_ref().map(TestSummary::line)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Generic {
    status: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    tests: Option<GenericTests>,
    #[serde(default)]
    junit: Vec<String>,
    #[serde(default)]
    artifacts: Option<GenericArtifacts>,
    #[serde(default)]
    log_url: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    duration_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GenericTests {
    #[serde(default)]
    passed: u64,
    #[serde(default)]
    failed: u64,
    #[serde(default)]
    errored: u64,
    #[serde(default)]
    skipped: u64,
    #[serde(default)]
    failures: Vec<GenericFailure>,
}

#[derive(Deserialize)]
struct GenericFailure {
    name: String,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct GenericArtifacts {
    #[serde(default)]
    image: Option<ImageField>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ImageField {
    Reference(String),
    Split {
        reference: String,
        #[serde(default)]
        digest: Option<String>,
    },
}

/// Parses a callback body by its content type.
pub fn parse(content_type: &str, body: &[u8]) -> Result<StageResult, String> {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media.ends_with("/xml") || media.ends_with("+xml") {
        let tests = parse_junit(body).map_err(|e| e.to_string())?;
        let status = if tests.failed + tests.errored > 0 {
            StageStatus::Failed
        } else {
            StageStatus::Succeeded
        };
        return Ok(StageResult {
            status: Some(status),
            message: None,
            duration_ms: Some(tests.duration_ms),
            tests: Some(tests),
            image: None,
            log_url: None,
            url: None,
        });
    }
    if !(media.is_empty() || media == "application/json" || media.ends_with("+json")) {
        return Err(format!(
            "unsupported content type {media:?}; send application/json or application/xml"
        ));
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    if value.get("build").is_some_and(|b| b.get("phase").is_some()) {
        return super::jenkins_notification::parse(&value);
    }
    generic(value)
}

fn generic(value: Value) -> Result<StageResult, String> {
    let g: Generic = serde_json::from_value(value).map_err(|e| format!("invalid result: {e}"))?;
    let status = match g.status.as_str() {
        "succeeded" | "success" => Some(StageStatus::Succeeded),
        "failed" | "failure" => Some(StageStatus::Failed),
        "cancelled" | "canceled" => Some(StageStatus::Cancelled),
        "running" => None,
        other => {
            return Err(format!(
                "unknown status {other:?}; use succeeded, failed, cancelled or running"
            ));
        }
    };
    let mut tests = g.tests.map(|t| TestSummary {
        passed: t.passed,
        failed: t.failed,
        errored: t.errored,
        skipped: t.skipped,
        duration_ms: 0,
        failures: t
            .failures
            .into_iter()
            .take(crate::builders::junit::MAX_LISTED_FAILURES)
            .map(|f| crate::builders::TestFailure {
                name: f.name,
                message: f.message.unwrap_or_default(),
                kind: crate::builders::FailureKind::Failure,
            })
            .collect(),
    });
    if !g.junit.is_empty() {
        let reports =
            parse_junit_reports(g.junit.iter().map(|r| r.as_bytes())).map_err(|e| e.to_string())?;
        match &mut tests {
            Some(t) => t.merge(&reports),
            None => tests = Some(reports),
        }
    }
    let image = g.artifacts.and_then(|a| a.image).map(|i| match i {
        ImageField::Reference(r) => ImageArtifact::parse(&r),
        ImageField::Split { reference, digest } => ImageArtifact { reference, digest },
    });
    if let Some(ImageArtifact {
        digest: Some(d), ..
    }) = &image
        && !is_digest(d)
    {
        return Err(format!("image digest {d:?} is not sha256:<64 hex>"));
    }
    Ok(StageResult {
        status,
        message: g.message,
        tests,
        image,
        log_url: g.log_url,
        url: g.url,
        duration_ms: g.duration_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn generic_json_with_tests_and_image() {
        let body = format!(
            r#"{{"status":"failed","tests":{{"passed":142,"failed":2,"failures":[{{"name":"cart::adds","message":"expected 2"}}]}},
               "artifacts":{{"image":"registry.example.com/shop@{DIGEST}"}},"log_url":"https://ci/log","duration_ms":5}}"#
        );
        let r = parse("application/json; charset=utf-8", body.as_bytes()).unwrap();
        assert_eq!(r.status, Some(StageStatus::Failed));
        assert_eq!(r.test_line().unwrap(), "142 passed, 2 failed");
        let image = r.image.unwrap();
        assert_eq!(image.reference, "registry.example.com/shop");
        assert_eq!(image.digest.as_deref(), Some(DIGEST));
        assert_eq!(r.log_url.as_deref(), Some("https://ci/log"));
    }

    #[test]
    fn junit_xml_body() {
        let xml = br#"<testsuite name="s" tests="2"><testcase classname="a" name="ok"/>
            <testcase classname="a" name="bad"><failure message="boom"/></testcase></testsuite>"#;
        let r = parse("application/xml", xml).unwrap();
        assert_eq!(r.status, Some(StageStatus::Failed));
        let t = r.tests.unwrap();
        assert_eq!((t.passed, t.failed), (1, 1));
        assert_eq!(t.failures[0].name, "a.bad");
    }

    #[test]
    fn several_junit_reports_in_json() {
        let body = serde_json::json!({
            "status": "succeeded",
            "junit": ["<testsuite><testcase name=\"a\"/></testsuite>", "<testsuites><testsuite><testcase name=\"b\"/><testcase name=\"c\"><skipped/></testcase></testsuite></testsuites>"]
        });
        let r = parse("application/json", body.to_string().as_bytes()).unwrap();
        assert_eq!(r.test_line().unwrap(), "2 passed, 1 skipped");
    }

    #[test]
    fn malformed_bodies_say_why() {
        assert!(
            parse("application/json", b"{")
                .unwrap_err()
                .contains("not JSON")
        );
        assert!(
            parse("application/json", br#"{"status":"great"}"#)
                .unwrap_err()
                .contains("unknown status")
        );
        assert!(parse("application/json", br#"{"status":"succeeded","colour":1}"#).is_err());
        assert!(parse("application/xml", b"<nope").is_err());
        assert!(
            parse("text/plain", b"ok")
                .unwrap_err()
                .contains("content type")
        );
        let bad =
            br#"{"status":"succeeded","artifacts":{"image":{"reference":"r","digest":"md5:1"}}}"#;
        assert!(
            parse("application/json", bad)
                .unwrap_err()
                .contains("digest")
        );
    }
}
