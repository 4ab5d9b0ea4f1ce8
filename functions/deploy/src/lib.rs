//! Deployments over HTTP: `POST /api/deploy`, `POST /api/deploy/{app}/{env}/
//! promote|abort|rollback` and `GET /api/apps/{app}/environments/{env}/releases`.
//! The work is `slipway_core::entry::deploy_api::handle`.

use slipway_core::entry::deploy_api;
use slipway_spin::app::{self, App};
use slipway_spin::log::RequestLog;
use slipway_spin::request;
use spin_sdk::http::{IntoResponse, Request};

/// Largest request body accepted.
const MAX_BODY_BYTES: usize = 64 * 1024;

#[spin_sdk::http_service]
async fn handle(request: Request) -> anyhow::Result<impl IntoResponse> {
    let log = RequestLog::start("deploy", &request);
    let response = serve(request).await;
    log.finish_json(&response);
    Ok(response)
}

async fn serve(request: Request) -> app::JsonResponse {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let headers = request::headers(&request);
    let body = match request::body_or_reply(request, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(reply) => return reply,
    };
    let app = match App::load().await {
        Ok(app) => app,
        Err(reply) => return reply,
    };
    let reply = deploy_api::handle(&app.deps(), &method, &path, &headers, &body).await;
    app::reply(reply)
}
