//! `POST /api/runs/{run}/stages/{stage}/retry`: start a failed stage again
//! as a new attempt (a fact on the run), then reconcile it before
//! answering. Needs a token whose owner is a deployer of the run's app.

use serde_json::json;

use super::auth::{Need, authorize};
use super::{Reply, reconcile_for_answer};
use crate::access::Role;
use crate::engine::retries::retry_stage;
use crate::engine::{Deps, Refusal};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::providers::Headers;

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
    let Some((app, _)) = crate::runs::parse_run_id(run_id) else {
        return Reply::error(404, format!("no run {run_id:?}"));
    };
    let need = Need {
        role: Role::Deployer,
        app,
        environment: None,
    };
    let actor = match authorize(deps, headers, need).await {
        Ok(actor) => actor,
        Err(reply) => return reply,
    };
    let attempt = match retry_stage(deps.kv, deps.clock, run_id, stage, &actor.person).await {
        Ok(attempt) => attempt,
        Err(Refusal::NotFound(m)) => return Reply::error(404, m),
        Err(Refusal::Unavailable(m)) => return Reply::error(503, m),
        Err(Refusal::Conflict(m) | Refusal::BadRequest(m) | Refusal::Forbidden(m)) => {
            return Reply::error(409, m);
        }
        Err(Refusal::Busy(lock)) => {
            return Reply::error(409, crate::engine::deploy_requests::busy_message(&lock));
        }
    };
    let status = reconcile_for_answer(deps, run_id, stage).await;
    Reply::new(
        202,
        json!({ "run": run_id, "stage": stage, "attempt": attempt, "status": status }),
    )
}
