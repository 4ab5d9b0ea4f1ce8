//! `POST /api/runs/{run}/stages/{stage}/retry`: start a failed stage again
//! as a new attempt (a fact on the run), then reconcile it before
//! answering.

use serde_json::json;

use super::{FOLLOW_UP_BUDGET_MS, Reply, authorized};
use crate::active::ActiveIndex;
use crate::engine::{Deps, Engine, Target};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::providers::Headers;
use crate::runs::{RunStore, StoreError, TransitionError, parse_run_id};

/// Retries `stage` of `run_id`.
pub async fn handle_retry<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run_id: &str,
    stage: &str,
    headers: &Headers,
) -> Reply
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    if let Err(reply) = authorized(deps.secrets, headers).await {
        return reply;
    }
    let runs = RunStore::new(deps.kv);
    // Refusals first, writing nothing (the swap below checks again).
    match runs.load(run_id).await {
        Ok(Some(mut run)) => {
            if let Err(e) = run.retry_stage(stage, deps.clock.now_ms()) {
                let status = if matches!(e, TransitionError::UnknownStage(_)) {
                    404
                } else {
                    409
                };
                return Reply::error(status, e.to_string());
            }
        }
        Ok(None) => return Reply::error(404, format!("no run {run_id:?}")),
        Err(e) => return Reply::error(503, e.to_string()),
    }
    // The run may have finished and left the tick's index: put it back
    // first, so a retry recorded is never missed by the tick (an entry for
    // a retry refused below is dropped by the next tick).
    if let Some((app, number)) = parse_run_id(run_id)
        && let Err(e) = ActiveIndex::new(deps.kv)
            .reopen_run(app, number, deps.clock.now_ms())
            .await
    {
        return Reply::error(503, format!("state store unavailable: {e}"));
    }
    let now = deps.clock.now_ms();
    let attempt = match runs.update(run_id, |r| r.retry_stage(stage, now)).await {
        Ok((_, attempt, _)) => attempt,
        Err(StoreError::NotFound(_)) => {
            return Reply::error(404, format!("no run {run_id:?}"));
        }
        Err(StoreError::Transition(e @ TransitionError::UnknownStage(_))) => {
            return Reply::error(404, e.to_string());
        }
        Err(StoreError::Transition(e)) => {
            return Reply::error(409, e.to_string());
        }
        Err(e) => {
            return Reply::error(503, e.to_string());
        }
    };
    // And again: a tick that saw the run finished just before the fact
    // may have dropped it in between.
    if let Some((app, number)) = parse_run_id(run_id) {
        let _ = ActiveIndex::new(deps.kv)
            .reopen_run(app, number, deps.clock.now_ms())
            .await;
    }
    let deadline = deps.clock.now_ms() + FOLLOW_UP_BUDGET_MS;
    Engine::new(deps)
        .reconcile(Target::Run(run_id.to_owned()), deadline)
        .await;
    let status = runs
        .load(run_id)
        .await
        .ok()
        .flatten()
        .and_then(|r| r.stages.get(stage).map(|s| s.status));
    Reply::new(
        202,
        json!({ "run": run_id, "stage": stage, "attempt": attempt, "status": status }),
    )
}
