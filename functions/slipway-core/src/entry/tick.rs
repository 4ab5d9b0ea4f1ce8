//! `POST /api/tick`: called every minute by any scheduler (a Kubernetes
//! CronJob beside SpinKube, `slipway up --tick-path`) with any named API
//! token. Reconciles every
//! unfinished run and deployment within a time budget.

use serde_json::json;

use super::Reply;
use super::auth::authenticate;
use crate::engine::{Deps, tick};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::providers::Headers;

/// Time one tick may spend by default (a scheduler calling every minute
/// never overlaps itself).
pub const TICK_BUDGET_MS: u64 = 20_000;
/// The most a caller may ask for with `?budget_ms=`.
const MAX_TICK_BUDGET_MS: u64 = 50_000;

/// Handles a tick; `budget_ms` from the query, if given.
pub async fn handle_tick<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    headers: &Headers,
    budget_ms: Option<u64>,
) -> Reply
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    // Any known token: a tick only does what is already due.
    if let Err(reply) = authenticate(deps, headers).await {
        return reply;
    }
    let budget = budget_ms
        .unwrap_or(TICK_BUDGET_MS)
        .clamp(1, MAX_TICK_BUDGET_MS);
    let report = tick::tick(deps, budget).await;
    Reply::new(200, json!(report))
}
