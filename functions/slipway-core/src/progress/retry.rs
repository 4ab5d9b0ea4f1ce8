//! `POST /api/runs/{run}/stages/{stage}/retry`: start a failed stage again
//! as a new attempt.

use serde_json::json;

use super::API_TOKEN;
use super::auth::{bearer, same};
use crate::hooks::{Deps, Reply, start_ready_stages};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::providers::Headers;
use crate::runs::{RunStore, StoreError, TransitionError};

/// Whether the request carries the API token.
pub async fn authorized<S: Secrets>(secrets: &S, headers: &Headers) -> Result<(), Reply> {
    let Some(expected) = secrets.get(API_TOKEN).await else {
        return Err(Reply::error(
            401,
            "the API is disabled: api_token is not set",
        ));
    };
    match bearer(headers) {
        Some(token) if same(token, &expected) => Ok(()),
        _ => Err(Reply::error(401, "missing or wrong bearer token")),
    }
}

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
    let now = deps.clock.now_ms();
    let runs = RunStore::new(deps.kv);
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
    let record = start_ready_stages(deps, run_id, now + super::FOLLOW_UP_BUDGET_MS).await;
    let status = record
        .ok()
        .and_then(|r| r.stages.get(stage).map(|s| s.status));
    Reply {
        status: 202,
        body: json!({ "run": run_id, "stage": stage, "attempt": attempt, "status": status }),
    }
}
