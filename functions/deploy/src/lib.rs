//! Deployments over HTTP: `POST /api/deploy`, `POST /api/deploy/{app}/{env}/
//! promote|abort|rollback` and `GET /api/apps/{app}/environments/{env}/releases`.
//! The work is `slipway_core::deploy::api::handle`.

use serde_json::json;
use slipway_core::deploy;
use slipway_spin::app::{self, App};
use slipway_spin::request::{self, BodyError};
use spin_sdk::http::{IntoResponse, Request};

/// Largest request body accepted.
const MAX_BODY_BYTES: usize = 64 * 1024;

#[spin_sdk::http_service]
async fn handle(request: Request) -> anyhow::Result<impl IntoResponse> {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let headers = request::headers(&request);
    let body = match request::body(request, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(BodyError::TooLarge(_)) => {
            return Ok(request::json(
                413,
                &json!({ "error": "request larger than 64 KiB" }),
            ));
        }
        Err(BodyError::Read(e)) => {
            return Ok(request::json(
                400,
                &json!({ "error": format!("cannot read body: {e}") }),
            ));
        }
    };
    let app = match App::load().await {
        Ok(app) => app,
        Err(reply) => return Ok(reply),
    };
    let reply = deploy::api::handle(&app.deps(), &method, &path, &headers, &body).await;
    Ok(app::reply(reply))
}
