//! Recording a report and everything that follows from it: per-stage commit
//! status, the next stages, the run's status and notifications.

use sha2::{Digest, Sha256};

use super::FOLLOW_UP_BUDGET_MS;
use crate::hooks::{Deps, post_run_status, repo_api, start_ready_stages};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::providers::{self, CommitState, CommitStatus, Provider};
use crate::runs::{Report, RunRecord, RunStore, StageRecord, StageStatus, StoreError};

/// Key of the index from a build service's id to the stage it runs.
pub fn external_key(kind: &str, external_id: &str) -> String {
    match kind {
        // The API URL of the run ends in its numeric id, which webhooks carry.
        "github_actions" => format!(
            "external/github_actions/{}",
            external_id
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or(external_id)
        ),
        "gitlab_ci" => format!("external/gitlab_ci/{external_id}"),
        _ => format!(
            "external/{kind}/{}",
            hex::encode(&Sha256::digest(external_id.as_bytes())[..16])
        ),
    }
}

/// The commit status of one stage.
pub fn stage_status(name: &str, stage: &StageRecord, link: String) -> CommitStatus {
    let tests = stage.tests.as_ref().and_then(|t| {
        serde_json::from_value::<crate::builders::TestSummary>(t.clone())
            .ok()
            .map(|t| super::result::test_line(&t))
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

/// Records `report` for `stage` at `attempt` and, when it changed the run,
/// posts the stage's commit status, starts what became ready, and reports
/// the run's end. Errors (unknown stage, stale attempt, stage already
/// ended) leave the store unchanged.
pub async fn report_and_advance<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run_id: &str,
    stage: &str,
    attempt: u32,
    report: Report,
) -> Result<(RunRecord, bool), StoreError>
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let started = deps.clock.now_ms();
    let runs = RunStore::new(deps.kv);
    // The status this change started from (the last CAS round's view).
    let mut before_status = None;
    let (record, _, changed) = runs
        .update(run_id, |r| {
            before_status = Some(r.status);
            r.record_report(stage, attempt, report.clone(), started)
        })
        .await?;
    if !changed {
        return Ok((record, false));
    }
    let provider = Provider::from_path_segment(&record.trigger.provider);
    let api = match provider {
        Some(p) => Some(repo_api(deps, p).await),
        None => None,
    };
    let link = format!("{}/api/runs/{}", deps.config.public_base(), record.id);
    if let (Some(api), Some(s)) = (&api, record.stages.get(stage))
        && s.status.is_terminal()
    {
        let status = stage_status(stage, s, link.clone());
        if let Some(request) =
            providers::status_request(api, &record.trigger.repo, &record.trigger.commit, &status)
        {
            match deps
                .http
                .send(request, crate::hooks::PROVIDER_CALL_TIMEOUT_MS)
                .await
            {
                Ok(response) => {
                    if let Err(e) = providers::interpret_status_response(api, &response) {
                        eprintln!("stage status for {run_id}/{stage} not accepted: {e}");
                    }
                }
                Err(e) => eprintln!("stage status for {run_id}/{stage} not sent: {e}"),
            }
        }
    }
    let record = if record.status.is_terminal() {
        record
    } else {
        start_ready_stages(deps, run_id, started + FOLLOW_UP_BUDGET_MS)
            .await
            .unwrap_or(record)
    };
    if record.status.is_terminal() && before_status != Some(record.status) {
        if let Some(api) = &api {
            post_run_status(deps, api, &record).await;
        }
        crate::progress::notify_run_end(deps, &record).await;
    }
    Ok((record, true))
}
