//! GitHub's check events. A check run is ONE job of a GitHub Actions
//! workflow run and a check suite is the whole run, but neither payload
//! names the run by its id: a check run links to it (`details_url`,
//! `html_url`: `…/actions/runs/{run id}/job/{job id}`), a check suite only
//! carries its commit and branch. Both are hints that a build moved on;
//! what the build service's API says is what a stage records.

use serde_json::Value;

use super::EventError;
use super::payload::{opt_str, req_str, req_u64};

/// A GitHub `check_run` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRunEvent {
    /// Repository, `owner/name`.
    pub repo: String,
    /// The webhook action (`created`, `completed`, `rerequested`, …).
    pub action: String,
    /// The check run's own id (not a workflow run's).
    pub id: u64,
    /// Check (job) name.
    pub name: String,
    /// `queued`, `in_progress`, `completed`, …
    pub status: String,
    /// Commit the check ran at.
    pub head_sha: String,
    /// The GitHub Actions workflow run this job belongs to, when its links
    /// name one (none for checks of other apps).
    pub workflow_run_id: Option<u64>,
}

/// A GitHub `check_suite` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSuiteEvent {
    /// Repository, `owner/name`.
    pub repo: String,
    /// The webhook action (`completed`, `requested`, `rerequested`).
    pub action: String,
    /// `queued`, `in_progress`, `completed`, …
    pub status: Option<String>,
    /// Commit the suite ran at.
    pub head_sha: String,
    /// Branch, when the suite is for one.
    pub head_branch: Option<String>,
    /// Slug of the app that owns the suite (`github-actions` for a
    /// workflow run), when the payload names it.
    pub app_slug: Option<String>,
}

/// The GitHub Actions app's slug.
pub const ACTIONS_APP: &str = "github-actions";

/// The workflow run id in a link of the form `…/actions/runs/{id}[/…]`.
pub fn workflow_run_id_in(url: &str) -> Option<u64> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let mut segments = path.split('/');
    while let Some(segment) = segments.next() {
        if segment == "actions" && segments.next() == Some("runs") {
            return segments.next().and_then(|id| id.parse().ok());
        }
    }
    None
}

/// Parses a `check_run` payload.
pub(super) fn check_run(json: &Value) -> Result<CheckRunEvent, EventError> {
    let workflow_run_id = ["check_run.details_url", "check_run.html_url"]
        .iter()
        .filter_map(|path| opt_str(json, path))
        .find_map(workflow_run_id_in);
    Ok(CheckRunEvent {
        repo: req_str(json, "repository.full_name")?.to_owned(),
        action: req_str(json, "action")?.to_owned(),
        id: req_u64(json, "check_run.id")?,
        name: req_str(json, "check_run.name")?.to_owned(),
        status: req_str(json, "check_run.status")?.to_owned(),
        head_sha: req_str(json, "check_run.head_sha")?.to_owned(),
        workflow_run_id,
    })
}

/// Parses a `check_suite` payload.
pub(super) fn check_suite(json: &Value) -> Result<CheckSuiteEvent, EventError> {
    Ok(CheckSuiteEvent {
        repo: req_str(json, "repository.full_name")?.to_owned(),
        action: req_str(json, "action")?.to_owned(),
        status: opt_str(json, "check_suite.status").map(str::to_owned),
        head_sha: req_str(json, "check_suite.head_sha")?.to_owned(),
        head_branch: opt_str(json, "check_suite.head_branch").map(str::to_owned),
        app_slug: opt_str(json, "check_suite.app.slug").map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECK_RUN: &str =
        include_str!("../../tests/fixtures/providers/github/check_run_completed.json");
    const CHECK_SUITE: &str =
        include_str!("../../tests/fixtures/providers/github/check_suite_completed.json");

    #[test]
    fn run_ids_come_from_actions_links_only() {
        let job = "https://github.com/acme/shop/actions/runs/4242/job/99?pr=1";
        assert_eq!(workflow_run_id_in(job), Some(4242));
        assert_eq!(
            workflow_run_id_in("https://api.github.com/repos/a/b/actions/runs/7"),
            Some(7)
        );
        assert_eq!(workflow_run_id_in("https://octocoders.io"), None);
        assert_eq!(
            workflow_run_id_in("https://github.com/Codertocat/Hello-World/runs/128620228"),
            None
        );
        assert_eq!(workflow_run_id_in("https://x/actions/runs/abc"), None);
    }

    #[test]
    fn documented_check_run_names_no_workflow_run() {
        let json: Value = serde_json::from_str(CHECK_RUN).expect("fixture");
        let event = check_run(&json).expect("parses");
        assert_eq!(event.id, 128620228);
        assert_eq!(event.status, "completed");
        assert_eq!(event.workflow_run_id, None, "a third-party app's check");
        let mut actions = json.clone();
        actions["check_run"]["details_url"] =
            "https://github.com/Codertocat/Hello-World/actions/runs/30433642/job/1".into();
        assert_eq!(
            check_run(&actions).expect("parses").workflow_run_id,
            Some(30433642)
        );
    }

    #[test]
    fn documented_check_suite() {
        let json: Value = serde_json::from_str(CHECK_SUITE).expect("fixture");
        let event = check_suite(&json).expect("parses");
        assert_eq!(event.action, "completed");
        assert_eq!(event.head_sha, "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
        assert_eq!(event.head_branch.as_deref(), Some("main"));
        assert_eq!(event.app_slug.as_deref(), Some(ACTIONS_APP));
        let mut broken = json;
        broken["check_suite"]
            .as_object_mut()
            .map(|o| o.remove("head_sha"));
        assert!(check_suite(&broken).is_err());
    }
}
