//! The commit statuses a run should show on its commit: one for the run
//! (context `slipway`), one per finished stage (`slipway/{stage}`), and for
//! a merge request that changes the pipeline's stages, what it changes
//! (`slipway-pipeline`).

use crate::builders::TestSummary;
use crate::providers::{CommitState, CommitStatus};
use crate::runs::{RunRecord, RunStatus, StageRecord, StageStatus};

/// The commit-status context Slipway reports the whole run under.
pub const RUN_CONTEXT: &str = "slipway";
/// The context of a merge request's "adds stage X, drops stage Y" status
/// (no `/`: stage statuses are `slipway/{stage}`, whatever the name).
pub const PIPELINE_CHANGE_CONTEXT: &str = "slipway-pipeline";

/// What identifies a posted status: its state and text.
pub fn key(status: &CommitStatus) -> String {
    format!("{:?}: {}", status.state, status.description)
}

/// Every status `run` should show now.
pub fn desired_statuses(run: &RunRecord, public_base: &str) -> Vec<CommitStatus> {
    let link = format!("{public_base}/api/runs/{}", run.id);
    let mut out = vec![run_status(run, &link)];
    if let Some(line) = run.base_comparison.as_ref().and_then(|c| c.status_line()) {
        out.push(CommitStatus {
            state: CommitState::Success,
            context: PIPELINE_CHANGE_CONTEXT.into(),
            description: line,
            target_url: Some(link.clone()),
        });
    }
    for (name, stage) in &run.stages {
        if stage.status.is_terminal() {
            out.push(stage_status(name, stage, link.clone()));
        }
    }
    out
}

/// The run's own status.
pub fn run_status(record: &RunRecord, link: &str) -> CommitStatus {
    let (state, description) = match record.status {
        RunStatus::Queued if record.held() => (
            CommitState::Pending,
            format!(
                "Run #{} waits for /ok-to-test from a trusted member",
                record.number
            ),
        ),
        RunStatus::Queued | RunStatus::Running => (
            CommitState::Pending,
            format!("Run #{} is running", record.number),
        ),
        RunStatus::Succeeded => (
            CommitState::Success,
            format!("Run #{} succeeded", record.number),
        ),
        RunStatus::Cancelled => (
            CommitState::Canceled,
            format!("Run #{} was cancelled", record.number),
        ),
        RunStatus::Skipped => (
            CommitState::Success,
            format!(
                "Run #{} skipped: {}",
                record.number,
                record.error.clone().unwrap_or_default()
            ),
        ),
        RunStatus::Failed | RunStatus::TimedOut => {
            let why = record.error.clone().or_else(|| {
                record.stages.iter().find_map(|(name, s)| {
                    matches!(s.status, StageStatus::Failed | StageStatus::TimedOut).then(|| {
                        format!(
                            "{name}: {}",
                            s.reason.clone().unwrap_or_else(|| "failed".into())
                        )
                    })
                })
            });
            (
                if record.error.is_some() {
                    CommitState::Error
                } else {
                    CommitState::Failure
                },
                format!("Run #{} failed: {}", record.number, why.unwrap_or_default()),
            )
        }
    };
    CommitStatus {
        state,
        context: RUN_CONTEXT.into(),
        description,
        target_url: Some(link.to_owned()),
    }
}

/// The status of one stage.
pub fn stage_status(name: &str, stage: &StageRecord, link: String) -> CommitStatus {
    let tests = stage.tests.as_ref().and_then(|t| {
        serde_json::from_value::<TestSummary>(t.clone())
            .ok()
            .map(|t| t.line())
    });
    let (state, what) = match stage.status {
        StageStatus::Queued => (CommitState::Pending, "queued".to_owned()),
        StageStatus::Running => (CommitState::Running, "running".to_owned()),
        StageStatus::WaitingForApproval => {
            (CommitState::Pending, "waiting for approval".to_owned())
        }
        StageStatus::Succeeded => (CommitState::Success, "succeeded".to_owned()),
        StageStatus::Failed => (
            CommitState::Failure,
            stage.reason.clone().unwrap_or_else(|| "failed".into()),
        ),
        StageStatus::TimedOut => (CommitState::Failure, "timed out".to_owned()),
        StageStatus::Cancelled => (
            CommitState::Canceled,
            stage.reason.clone().unwrap_or_else(|| "cancelled".into()),
        ),
    };
    let description = match tests {
        Some(t) => format!("{name}: {t}"),
        None => format!("{name}: {what}"),
    };
    CommitStatus {
        state,
        context: format!("slipway/{name}"),
        description,
        target_url: Some(link),
    }
}
