//! `GET /api/runs/{run}`: a run with its stages, attempts, timings, build
//! links, test results, artifacts and approvals, for a viewer of its app
//! (or anyone, when the app is public).

use serde_json::json;

use super::Reply;
use super::auth::may_read;
use crate::engine::Deps;
use crate::ports::{Clock, KeyValue, Secrets};
use crate::providers::Headers;
use crate::runs::{RunStore, parse_run_id};

/// Answers with the run `run_id`.
pub async fn handle_get_run<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run_id: &str,
    headers: &Headers,
) -> Reply
where
    K: KeyValue,
    C: Clock,
    S: Secrets,
{
    let no_run = || Reply::error(404, format!("no run {run_id:?}"));
    // The app comes from the id, so who may not read it cannot learn
    // whether the run exists.
    let Some((app, _)) = parse_run_id(run_id) else {
        return no_run();
    };
    if let Err(reply) = may_read(deps, headers, app).await {
        return reply;
    }
    match RunStore::new(deps.kv).load(run_id).await {
        Ok(Some(record)) => match serde_json::to_value(&record) {
            Ok(body) => Reply::new(200, body),
            Err(e) => Reply::error(500, e.to_string()),
        },
        Ok(None) => no_run(),
        Err(e) => Reply::new(503, json!({ "error": e.to_string() })),
    }
}
