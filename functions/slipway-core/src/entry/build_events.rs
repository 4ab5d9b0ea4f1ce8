//! Build status webhooks at `/hooks/{provider}`: GitHub `workflow_run` and
//! GitLab `Pipeline Hook` events end the stage whose build they describe
//! (a fact on the run); the run is reconciled after the response.

use serde_json::json;

use super::{Handled, Reply};
use crate::engine::{Deps, Target};
use crate::ports::{Clock, KeyValue};
use crate::providers::ParsedEvent;
use crate::runs::{BuildIndex, Report, RunStore, StageStatus};

/// Handles a verified build status event.
pub async fn handle_build_event<K: KeyValue, H, C: Clock, S>(
    deps: &Deps<'_, K, H, C, S>,
    event: &ParsedEvent,
) -> Handled {
    let (kind, id, status, url, message) = match event {
        ParsedEvent::WorkflowRun(run) => {
            if run.status != "completed" {
                return Reply::ignored("workflow run not completed yet").into();
            }
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
            (
                "github_actions",
                run.id.to_string(),
                status,
                Some(run.html_url.clone()),
                message,
            )
        }
        ParsedEvent::Pipeline(p) => {
            if !p.finished {
                return Reply::ignored("pipeline not finished yet").into();
            }
            let status = match p.status.as_str() {
                "success" => StageStatus::Succeeded,
                "canceled" => StageStatus::Cancelled,
                _ => StageStatus::Failed,
            };
            let message = (p.status != "success").then(|| format!("pipeline {}", p.status));
            (
                "gitlab_ci",
                p.id.to_string(),
                status,
                p.url.clone(),
                message,
            )
        }
        _ => return Reply::ignored("not a build status event").into(),
    };
    let target = match BuildIndex::new(deps.kv).get(kind, &id).await {
        Ok(Some(t)) => t,
        Ok(None) => return Reply::ignored("no stage is waiting for this build").into(),
        Err(e) => return Reply::error(503, e.to_string()).into(),
    };
    let report = Report {
        status: Some(status),
        message,
        url,
        ..Report::default()
    };
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
