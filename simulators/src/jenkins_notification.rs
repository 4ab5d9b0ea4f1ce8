//! Jenkins' Notification plugin (`notification`, com.tikal.hudson), as a
//! test drives it: for a build of the [`FakeJenkins`], it expands the job's
//! endpoint URL with the build's environment (its declared parameters plus
//! `BUILD_NUMBER`, `JOB_NAME`, `BUILD_URL`), skips the endpoint when a
//! `$variable` stays unresolved (the plugin logs "Ignoring sending
//! notification due to unresolved variable"), and POSTs the JobState JSON
//! with Gson's lower-case-with-underscores names and
//! `Content-Type: application/json`, no other header.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::jenkins::{BuildFacts, FakeJenkins};

/// A notification phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The build started.
    Started,
    /// The build finished (results recorded).
    Completed,
    /// The build is done for good (after post-build steps).
    Finalized,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Started => "STARTED",
            Phase::Completed => "COMPLETED",
            Phase::Finalized => "FINALIZED",
        }
    }
}

/// What one endpoint got: `None` when the plugin skipped it.
pub type Delivery = Option<(u16, Value)>;

impl FakeJenkins {
    /// Sends `phase` of build `number` of `job` to the endpoint configured
    /// as `url_template`, with `test_summary` (the plugin's TestState:
    /// `total`, `failed`, `passed`, `skipped`, `failed_tests`) if any.
    /// `reach` maps the expanded public URL to where the app listens in the
    /// test (what DNS and a load balancer do in production).
    pub fn notify(
        &self,
        job: &str,
        number: u64,
        phase: Phase,
        url_template: &str,
        test_summary: Option<Value>,
        reach: impl Fn(&str) -> String,
    ) -> Delivery {
        let build = self.build_facts(job, number);
        let url = reach(&expand(url_template, &environment(job, number, &build))?);
        let body = job_state(job, number, phase, &build, test_summary);
        let response = ureq::post(&url)
            .set("content-type", "application/json")
            .send_string(&body.to_string());
        let (status, text) = match response {
            Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
            Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
            Err(e) => panic!("notification to {url}: {e}"),
        };
        Some((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }
}

/// The variables the plugin expands the URL with.
fn environment(job: &str, number: u64, build: &BuildFacts) -> BTreeMap<String, String> {
    let mut env = build.params.clone();
    env.insert("BUILD_NUMBER".into(), number.to_string());
    env.insert("JOB_NAME".into(), job.into());
    env.insert("BUILD_URL".into(), build.full_url.clone());
    env
}

/// Jenkins' `EnvVars.expand`: `$NAME` and `${NAME}` are replaced when
/// defined and left as they are otherwise; `None` when any `$` remains.
fn expand(template: &str, env: &BTreeMap<String, String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, len) = match after.strip_prefix('{') {
            Some(inner) => match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => ("", 0),
            },
            None => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        match env.get(name).filter(|_| !name.is_empty()) {
            Some(value) => out.push_str(value),
            None => out.push_str(&rest[at..at + 1 + len]),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    (!out.contains('$')).then_some(out)
}

/// The plugin's JobState JSON.
fn job_state(
    job: &str,
    number: u64,
    phase: Phase,
    build: &BuildFacts,
    test_summary: Option<Value>,
) -> Value {
    let name = job.rsplit('/').next().unwrap_or(job);
    let path: String = job.split('/').map(|p| format!("job/{p}/")).collect();
    let done = phase != Phase::Started;
    let mut state = json!({
        "name": name,
        "display_name": name,
        "url": path,
        "build": {
            "full_url": build.full_url,
            "number": number,
            "queue_id": build.queue_id,
            "timestamp": 1_700_000_000_000u64,
            "phase": phase.name(),
            "url": format!("{path}{number}/"),
            "duration": if done { build.duration } else { 0 },
            "scm": { "changes": [], "culprits": [] },
            "log": "",
            "notes": "",
            "artifacts": {},
            "parameters": build.params,
        }
    });
    if done && let Some(result) = &build.result {
        state["build"]["status"] = json!(result);
    }
    if let Some(summary) = test_summary {
        state["build"]["test_summary"] = summary;
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_follows_jenkins() {
        let env = BTreeMap::from([
            ("A".to_string(), "x".to_string()),
            ("B_2".to_string(), "y".to_string()),
        ]);
        assert_eq!(expand("u/$A?t=${B_2}", &env).as_deref(), Some("u/x?t=y"));
        assert_eq!(expand("u/$MISSING", &env), None);
        assert_eq!(expand("u/${A", &env), None);
    }
}
