//! `POST /callbacks/{run}/{stage}`: a build service reports a stage's
//! result; the run records it and moves on. The work is
//! `slipway_core::entry::callback::handle_callback`.

use serde_json::json;
use slipway_core::entry::callback;
use slipway_spin::app::{self, App};
use slipway_spin::log::RequestLog;
use slipway_spin::request;
use spin_sdk::http::{IntoResponse, Method, Request};

/// Largest report accepted (JUnit reports of big suites are large).
const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

#[spin_sdk::http_service]
async fn handle(request: Request) -> anyhow::Result<impl IntoResponse> {
    let log = RequestLog::start("callbacks", &request);
    let response = serve(request).await;
    log.finish_json(&response);
    Ok(response)
}

async fn serve(request: Request) -> app::JsonResponse {
    if request.method() != Method::POST {
        return request::json(405, &json!({ "error": "use POST" }));
    }
    let run = request::path_param(&request, "run");
    let stage = request::path_param(&request, "stage");
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
    let reply = callback::handle_callback(&app.deps(), &run, &stage, &headers, &query, &body).await;
    app::reply(reply)
}
