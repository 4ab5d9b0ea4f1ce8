//! Build status webhooks at `/hooks/{provider}`: GitHub `workflow_run` /
//! `check_run` and GitLab `Pipeline Hook` events complete the stage whose
//! build they describe.

use serde_json::json;

use super::advance::external_key;
use crate::hooks::{Deps, Reply};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::providers::ParsedEvent;
use crate::runs::{Report, StageStatus};

/// Handles a verified build status event.
pub async fn handle_build_event<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    event: &ParsedEvent,
) -> Reply
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let (key, status, url, message) = match event {
        ParsedEvent::WorkflowRun(run) => {
            if run.status != "completed" {
                return Reply::ignored("workflow run not completed yet");
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
                external_key("github_actions", &run.id.to_string()),
                status,
                Some(run.html_url.clone()),
                message,
            )
        }
        ParsedEvent::Pipeline(p) => {
            if !p.finished {
                return Reply::ignored("pipeline not finished yet");
            }
            let status = match p.status.as_str() {
                "success" => StageStatus::Succeeded,
                "canceled" => StageStatus::Cancelled,
                _ => StageStatus::Failed,
            };
            let message = (p.status != "success").then(|| format!("pipeline {}", p.status));
            (
                external_key("gitlab_ci", &p.id.to_string()),
                status,
                p.url.clone(),
                message,
            )
        }
        _ => return Reply::ignored("not a build status event"),
    };
    let target = match deps.kv.get(&key).await {
        Ok(Some(v)) => String::from_utf8_lossy(&v).into_owned(),
        Ok(None) => return Reply::ignored("no stage is waiting for this build"),
        Err(e) => {
            return Reply::error(503, e.to_string());
        }
    };
    let mut parts = target.splitn(3, '\n');
    let (Some(run_id), Some(stage), Some(attempt)) = (parts.next(), parts.next(), parts.next())
    else {
        return Reply::ignored("corrupt build index entry");
    };
    let Ok(attempt) = attempt.parse::<u32>() else {
        return Reply::ignored("corrupt build index entry");
    };
    let report = Report {
        status: Some(status),
        message,
        url,
        ..Report::default()
    };
    match super::report_and_advance(deps, run_id, stage, attempt, report).await {
        Ok((record, changed)) => Reply {
            status: 200,
            body: json!({ "run": run_id, "stage": stage, "completed": changed, "run_status": record.status }),
        },
        Err(e) => Reply {
            status: 200,
            body: json!({ "ignored": format!("stage not updated: {e}") }),
        },
    }
}
