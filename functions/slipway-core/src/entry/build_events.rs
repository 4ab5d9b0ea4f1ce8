//! Build status webhooks at `/hooks/{provider}` (signed like every other
//! delivery of that provider):
//!
//! - GitHub `workflow_run` and GitLab `Pipeline Hook` end the stage whose
//!   build they describe (a fact on the run). A `workflow_run` of a
//!   dispatch that returned no run id is first matched to its stage and
//!   adopted ([`super::github_builds`]).
//! - GitHub `check_run` (one job of a workflow run) and `check_suite` (the
//!   whole run, named only by its commit) ask for a poll of the stage: the
//!   workflow run as the API shows it decides.
//!
//! The run is reconciled after the response.

use serde_json::json;

use super::github_builds;
use super::{Handled, Reply};
use crate::engine::{Deps, Target};
use crate::ports::{Clock, KeyValue};
use crate::providers::{ParsedEvent, PipelineEvent, WorkflowRunEvent};
use crate::runs::{BuildIndex, BuildRef, Report, RunStore, StageStatus};

/// Handles a verified build status event.
pub async fn handle_build_event<K: KeyValue, H, C: Clock, S>(
    deps: &Deps<'_, K, H, C, S>,
    event: &ParsedEvent,
) -> Handled {
    match event {
        ParsedEvent::WorkflowRun(run) => github_builds::workflow_run(deps, run).await,
        ParsedEvent::CheckRun(check) => github_builds::check_run(deps, check).await,
        ParsedEvent::CheckSuite(suite) => github_builds::check_suite(deps, suite).await,
        ParsedEvent::Pipeline(pipeline) => gitlab_pipeline(deps, pipeline).await,
        _ => Reply::ignored("not a build status event").into(),
    }
}

/// A GitLab pipeline that finished ends its stage.
async fn gitlab_pipeline<K: KeyValue, H, C: Clock, S>(
    deps: &Deps<'_, K, H, C, S>,
    p: &PipelineEvent,
) -> Handled {
    if !p.finished {
        return Reply::ignored("pipeline not finished yet").into();
    }
    let status = match p.status.as_str() {
        "success" => StageStatus::Succeeded,
        "canceled" => StageStatus::Cancelled,
        _ => StageStatus::Failed,
    };
    let report = Report {
        status: Some(status),
        message: (p.status != "success").then(|| format!("pipeline {}", p.status)),
        url: p.url.clone(),
        ..Report::default()
    };
    match BuildIndex::new(deps.kv)
        .get("gitlab_ci", &p.id.to_string())
        .await
    {
        Ok(Some(target)) => record_report(deps, &target, report).await,
        Ok(None) => Reply::ignored("no stage is waiting for this build").into(),
        Err(e) => Reply::error(503, e.to_string()).into(),
    }
}

/// What a completed workflow run concluded, as a stage report.
pub(super) fn workflow_report(run: &WorkflowRunEvent) -> Report {
    let status = match run.conclusion.as_deref() {
        Some("success") | Some("neutral") => StageStatus::Succeeded,
        Some("cancelled") => StageStatus::Cancelled,
        Some("timed_out") => StageStatus::TimedOut,
        _ => StageStatus::Failed,
    };
    let message = run
        .conclusion
        .as_ref()
        .filter(|c| *c != "success")
        .map(|c| format!("workflow {}: {c}", run.name));
    Report {
        status: Some(status),
        message,
        url: Some(run.html_url.clone()),
        ..Report::default()
    }
}

/// Records `report` on the stage `target` names (one compare-and-swap),
/// then reconciles the run after the response.
pub(super) async fn record_report<K: KeyValue, H, C: Clock, S>(
    deps: &Deps<'_, K, H, C, S>,
    target: &BuildRef,
    report: Report,
) -> Handled {
    let now = deps.clock.now_ms();
    let recorded = RunStore::new(deps.kv)
        .update(&target.run, |r| {
            r.record_report(&target.stage, target.attempt, report.clone(), now)
        })
        .await;
    match recorded {
        Ok((record, _, changed)) => Handled::then(
            Reply::new(
                200,
                json!({ "run": target.run, "stage": target.stage, "completed": changed, "run_status": record.status }),
            ),
            Target::Run(target.run.clone()),
        ),
        Err(e) => Reply::ignored(format!("stage not updated: {e}")).into(),
    }
}

/// Asks for a poll of the stage `target` names (one compare-and-swap;
/// nothing is written when one is already asked for). 202 when asked, and
/// the run is reconciled after the response; 200 when nothing changed.
pub(super) async fn request_poll<K: KeyValue, H, C: Clock, S>(
    deps: &Deps<'_, K, H, C, S>,
    target: &BuildRef,
) -> Handled {
    let now = deps.clock.now_ms();
    let requested = RunStore::new(deps.kv)
        .update(&target.run, |r| {
            r.request_poll(&target.stage, target.attempt, now)
        })
        .await;
    match requested {
        Ok((_, true, _)) => Handled::then(
            Reply::new(
                202,
                json!({ "run": target.run, "stage": target.stage, "poll_requested": true }),
            ),
            Target::Run(target.run.clone()),
        ),
        Ok((_, false, _)) => Reply::new(
            200,
            json!({ "run": target.run, "stage": target.stage, "poll_requested": false,
                    "ignored": "a poll is already asked for, or the stage has no build to poll yet" }),
        )
        .into(),
        Err(e) => Reply::ignored(format!("stage not updated: {e}")).into(),
    }
}
