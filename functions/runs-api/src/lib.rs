//! The pipeline API:
//! - `GET /api/runs/{run}`: a run with its stages, attempts, timings, build
//!   links, test results and artifacts;
//! - `POST /api/runs/{run}/stages/{stage}/retry` (bearer `api_token`): start
//!   a failed stage again as a new attempt;
//! - `POST /api/tick[?budget_ms=N]` (bearer `api_token`): reconcile every
//!   unfinished run and deployment within a time budget.

use serde_json::json;
use slipway_core::entry::{retry, tick};
use slipway_core::runs::RunStore;
use slipway_spin::app::{self, App};
use slipway_spin::request;
use spin_sdk::http::{IntoResponse, Method, Request};

#[spin_sdk::http_service]
async fn handle(request: Request) -> anyhow::Result<impl IntoResponse> {
    let path = request.uri().path().trim_end_matches('/').to_owned();
    let method = request.method().clone();
    let headers = request::headers(&request);
    let app = match App::load().await {
        Ok(app) => app,
        Err(reply) => return Ok(reply),
    };
    let deps = app.deps();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let reply = match (method, segments.as_slice()) {
        (Method::POST, ["api", "tick"]) => {
            tick::handle_tick(&deps, &headers, query_u64(&request, "budget_ms")).await
        }
        (Method::GET, ["api", "runs", run]) => {
            return Ok(match RunStore::new(&app.kv).load(run).await {
                Ok(Some(record)) => request::json(200, &serde_json::to_value(&record)?),
                Ok(None) => request::json(404, &json!({ "error": format!("no run {run:?}") })),
                Err(e) => request::json(500, &json!({ "error": e.to_string() })),
            });
        }
        (Method::POST, ["api", "runs", run, "stages", stage, "retry"]) => {
            retry::handle_retry(&deps, run, stage, &headers).await
        }
        (_, ["api", "tick"])
        | (_, ["api", "runs", _])
        | (_, ["api", "runs", _, "stages", _, "retry"]) => {
            return Ok(request::json(
                405,
                &json!({ "error": "method not allowed" }),
            ));
        }
        _ => {
            return Ok(request::json(
                404,
                &json!({ "error": format!("no route {path}") }),
            ));
        }
    };
    Ok(app::reply(reply))
}

/// A numeric query parameter, if present and valid.
fn query_u64(request: &Request, name: &str) -> Option<u64> {
    request.uri().query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.parse().ok()).flatten()
    })
}
