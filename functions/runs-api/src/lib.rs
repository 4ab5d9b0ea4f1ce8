//! The pipeline API:
//! - `GET /api/runs/{run}` (viewer): a run with its stages, attempts,
//!   timings, build links, test results and artifacts;
//! - `POST /api/runs/{run}/stages/{stage}/retry` (deployer): start a failed
//!   stage again as a new attempt;
//! - `POST /api/runs/{run}/stages/{stage}/approve|reject` (approver, as the
//!   environment's policy and the pipeline say) `{"attempt"?, "reason"?}`;
//! - `POST /api/tick[?budget_ms=N]` (any API token): reconcile every
//!   unfinished run and deployment within a time budget;
//! - `/api/config` (admin of everything): the configuration in force, its
//!   history, and changes to it without a redeploy
//!   (`slipway_core::entry::config_api`);
//! - `GET /metrics` (any API token): Prometheus' text exposition.

use serde_json::json;
use slipway_core::entry::config_api::{self, ConfigRequest, MAX_CONFIG_BYTES, Packaged};
use slipway_core::entry::{approve_api, metrics, retry, runs_read, tick};
use slipway_core::obs::exposition;
use slipway_core::providers::Headers;
use slipway_core::runs::Verdict;
use slipway_spin::app::{self, App};
use slipway_spin::log::RequestLog;
use slipway_spin::request;
use spin_sdk::http::{HeaderValue, IntoResponse, Method, Request};

/// Largest request body accepted (an approval's reason).
const MAX_BODY_BYTES: usize = 16 * 1024;

#[spin_sdk::http_service]
async fn handle(request: Request) -> anyhow::Result<impl IntoResponse> {
    let log = RequestLog::start("runs-api", &request);
    let response = serve(request).await;
    log.finish_json(&response);
    Ok(response)
}

async fn serve(request: Request) -> app::JsonResponse {
    let path = request.uri().path().trim_end_matches('/').to_owned();
    if path == "/api/config" || path.starts_with("/api/config/") {
        return config(request, &path).await;
    }
    let method = request.method().clone();
    let headers = request::headers(&request);
    let query = request.uri().query().unwrap_or_default().to_owned();
    let body = match request::body_or_reply(request, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(reply) => return reply,
    };
    let app = match App::load().await {
        Ok(app) => app,
        Err(reply) => return reply,
    };
    let deps = app.deps();
    if path == "/metrics" {
        return metrics(&deps, method, &headers).await;
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let reply = match (method, segments.as_slice()) {
        (Method::POST, ["api", "tick"]) => {
            tick::handle_tick(&deps, &headers, query_u64(&query, "budget_ms")).await
        }
        (Method::GET, ["api", "runs", run]) => {
            runs_read::handle_get_run(&deps, run, &headers).await
        }
        (Method::POST, ["api", "runs", run, "stages", stage, "retry"]) => {
            retry::handle_retry(&deps, run, stage, &headers).await
        }
        (
            Method::POST,
            [
                "api",
                "runs",
                run,
                "stages",
                stage,
                action @ ("approve" | "reject"),
            ],
        ) => {
            let verdict = if *action == "approve" {
                Verdict::Approved
            } else {
                Verdict::Rejected
            };
            approve_api::handle_answer(&deps, run, stage, verdict, &headers, &body).await
        }
        (_, ["api", "tick"])
        | (_, ["api", "runs", _])
        | (
            _,
            [
                "api",
                "runs",
                _,
                "stages",
                _,
                "retry" | "approve" | "reject",
            ],
        ) => {
            return request::json(405, &json!({ "error": "method not allowed" }));
        }
        _ => {
            return request::json(404, &json!({ "error": format!("no route {path}") }));
        }
    };
    app::reply(reply)
}

/// `GET /metrics`: the Prometheus exposition, for any API token.
async fn metrics(deps: &app::AppDeps<'_>, method: Method, headers: &Headers) -> app::JsonResponse {
    if method != Method::GET && method != Method::HEAD {
        return request::json(405, &json!({ "error": "method not allowed: use GET" }));
    }
    match metrics::handle_metrics(deps, headers).await {
        Ok(text) => {
            let mut response = request::json(200, &json!(null));
            response.1.insert(
                "content-type",
                HeaderValue::from_static(exposition::CONTENT_TYPE),
            );
            response.2 = text;
            response
        }
        Err(reply) => app::reply(reply),
    }
}

/// A numeric query parameter, if present and valid.
fn query_u64(query: &str, name: &str) -> Option<u64> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.parse().ok()).flatten()
    })
}

/// `/api/config{/rest}`: a larger body limit (a whole configuration file).
async fn config(request: Request, path: &str) -> app::JsonResponse {
    let method = request.method().as_str().to_owned();
    let headers = request::headers(&request);
    let body = match request::body_or_reply(request, MAX_CONFIG_BYTES).await {
        Ok(b) => b,
        Err(reply) => return reply,
    };
    let app = match App::load().await {
        Ok(app) => app,
        Err(reply) => return reply,
    };
    let (text, parsed) = match app::packaged() {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let rest: Vec<&str> = path
        .trim_start_matches("/api/config")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let packaged = Packaged {
        text: &text,
        config: &parsed,
    };
    let request = ConfigRequest {
        method: &method,
        rest: &rest,
        headers: &headers,
        body: &body,
    };
    app::reply(config_api::handle_config_api(&app.deps(), &packaged, &app.source, &request).await)
}
