//! `GET /api/runs/{run}`: a run as recorded — status, stages with their
//! attempts, timings, build links, test results and artifacts.

use serde_json::json;
use slipway_core::runs::RunStore;
use slipway_spin::key_value::SpinKv;
use slipway_spin::request;
use spin_sdk::http::{IntoResponse, Method, Request};

#[spin_sdk::http_service]
async fn handle(request: Request) -> anyhow::Result<impl IntoResponse> {
    if request.method() != Method::GET {
        return Ok(request::json(405, &json!({ "error": "use GET" })));
    }
    let id = request
        .headers()
        .get("spin-path-match-run")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let kv = match SpinKv::open("default").await {
        Ok(kv) => kv,
        Err(e) => return Ok(request::json(503, &json!({ "error": e.to_string() }))),
    };
    match RunStore::new(&kv).load(&id).await {
        Ok(Some(run)) => Ok(request::json(200, &serde_json::to_value(&run)?)),
        Ok(None) => Ok(request::json(
            404,
            &json!({ "error": format!("no run {id:?}") }),
        )),
        Err(e) => Ok(request::json(500, &json!({ "error": e.to_string() }))),
    }
}
