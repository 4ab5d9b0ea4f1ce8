//! `POST /hooks/{provider}`: a git provider's webhook starts a pipeline run
//! (or, for build status events, completes a stage). A thin adapter: the
//! work is `slipway_core::entry::webhook::handle_webhook`; the run is
//! reconciled after the response.

use serde_json::json;
use slipway_core::entry::webhook::{self, MAX_BODY_BYTES};
use slipway_spin::app::{self, App};
use slipway_spin::request;
use spin_sdk::http::{IntoResponse, Method, Request};

#[spin_sdk::http_service]
async fn handle(request: Request) -> anyhow::Result<impl IntoResponse> {
    if request.method() != Method::POST {
        return Ok(request::json(405, &json!({ "error": "use POST" })));
    }
    let provider = request::path_param(&request, "provider");
    let headers = request::headers(&request);
    let body = match request::body_or_reply(request, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(reply) => return Ok(reply),
    };
    let app = match App::load().await {
        Ok(app) => app,
        Err(reply) => return Ok(reply),
    };
    let handled = webhook::handle_webhook(&app.deps(), &provider, &headers, &body).await;
    Ok(app::respond(app, handled))
}
