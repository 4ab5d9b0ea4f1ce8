//! Feedback to the developer on the git provider: a commit status for the
//! run, linking to it.

use super::{Deps, PROVIDER_CALL_TIMEOUT_MS};
use crate::ports::{HttpClient, Secrets};
use crate::providers::{self, CommitState, CommitStatus, RepoApi};
use crate::runs::{RunRecord, RunStatus, StageStatus};

/// The commit-status context Slipway reports the whole run under.
pub const RUN_CONTEXT: &str = "slipway";

/// What the run's commit status says now.
pub fn run_status(record: &RunRecord, public_base: &str) -> CommitStatus {
    let (state, description) = match record.status {
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
        target_url: Some(format!("{public_base}/api/runs/{}", record.id)),
    }
}

/// Posts the run's commit status; failures are logged, never fatal.
pub async fn post_run_status<K, H: HttpClient, C, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    api: &RepoApi,
    record: &RunRecord,
) {
    let status = run_status(record, deps.config.public_base());
    let Some(request) =
        providers::status_request(api, &record.trigger.repo, &record.trigger.commit, &status)
    else {
        return;
    };
    match deps.http.send(request, PROVIDER_CALL_TIMEOUT_MS).await {
        Ok(response) => {
            if let Err(e) = providers::interpret_status_response(api, &response) {
                eprintln!("commit status for run {} not accepted: {e}", record.id);
            }
        }
        Err(e) => eprintln!("commit status for run {} not sent: {e}", record.id),
    }
}
