//! `POST /hooks/{provider}`: a git provider's webhook starts a pipeline run
//! (or, for build status events, completes a stage); `POST /hooks/tekton`
//! takes Tekton's CloudEvents (hints that ask for a poll). A thin adapter:
//! the work is `slipway_core::entry::webhook::handle_webhook` and
//! `slipway_core::entry::tekton_events::handle_tekton_event`; the run is
//! reconciled after the response. `POST /api/dry-run` (here because only
//! this component holds the webhook secrets) says what a delivery would do
//! without doing it: `slipway_core::entry::dry_run::api`.

use serde_json::json;
use slipway_core::entry::dry_run::api::{MAX_DRY_RUN_BYTES, handle_dry_run};
use slipway_core::entry::tekton_events::{self, MAX_EVENT_BYTES};
use slipway_core::entry::webhook::{self, MAX_BODY_BYTES};
use slipway_spin::app::{self, App};
use slipway_spin::log::{self, RequestLog};
use slipway_spin::request;
use spin_sdk::http::{IntoResponse, Method, Request, StatusCode};

#[spin_sdk::http_service]
async fn handle(request: Request) -> anyhow::Result<impl IntoResponse> {
    let log = RequestLog::start("git-hooks", &request);
    // Git deliveries only: Tekton's events may come unauthenticated.
    let path = request.uri().path();
    let webhook = path.starts_with("/hooks/") && path != "/hooks/tekton";
    let response = serve(request).await;
    log.finish_json(&response);
    // The answer time of deliveries that started work (202): ignored,
    // duplicate and refused ones write nothing, and counting refused ones
    // would let anyone write to the store.
    if webhook && response.0 == StatusCode::ACCEPTED {
        log::webhook_answered(log.elapsed_ms());
    }
    Ok(response)
}

async fn serve(request: Request) -> app::JsonResponse {
    if request.method() != Method::POST {
        return request::json(405, &json!({ "error": "use POST" }));
    }
    if request.uri().path() == "/api/dry-run" {
        return dry_run(request).await;
    }
    let provider = request::path_param(&request, "provider");
    let headers = request::headers(&request);
    let query = request.uri().query().unwrap_or_default().to_owned();
    // Tekton's events are unauthenticated hints: a smaller body limit.
    let tekton = provider == "tekton";
    let limit = if tekton {
        MAX_EVENT_BYTES
    } else {
        MAX_BODY_BYTES
    };
    let body = match request::body_or_reply(request, limit).await {
        Ok(b) => b,
        Err(reply) => return reply,
    };
    let app = match App::load().await {
        Ok(app) => app,
        Err(reply) => return reply,
    };
    let handled = if tekton {
        tekton_events::handle_tekton_event(&app.deps(), &headers, &query, &body).await
    } else {
        webhook::handle_webhook(&app.deps(), &provider, &headers, &body).await
    };
    app::respond(app, handled)
}

/// `POST /api/dry-run`.
async fn dry_run(request: Request) -> app::JsonResponse {
    let headers = request::headers(&request);
    let body = match request::body_or_reply(request, MAX_DRY_RUN_BYTES).await {
        Ok(b) => b,
        Err(reply) => return reply,
    };
    let app = match App::load().await {
        Ok(app) => app,
        Err(reply) => return reply,
    };
    app::reply(handle_dry_run(&app.deps(), &headers, &body).await)
}
