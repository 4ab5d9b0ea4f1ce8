//! `POST /chat/{platform}`: chat slash commands, messages to the bot and
//! button clicks from Slack, Mattermost, DingTalk and Feishu/Lark. A thin
//! adapter: the work is `slipway_core::entry::chat::handle_chat`; the
//! record a command changed is reconciled after the response, and its
//! progress posted to the platform's reply channel.

use serde_json::json;
use slipway_core::entry::chat;
use slipway_spin::app::{self, App};
use slipway_spin::log::RequestLog;
use slipway_spin::request;
use spin_sdk::http::{IntoResponse, Method, Request};

/// Largest request accepted (commands and Feishu events are small).
const MAX_BODY_BYTES: usize = 64 * 1024;

#[spin_sdk::http_service]
async fn handle(request: Request) -> anyhow::Result<impl IntoResponse> {
    let log = RequestLog::start("chatops", &request);
    let response = serve(request).await;
    log.finish_json(&response);
    Ok(response)
}

async fn serve(request: Request) -> app::JsonResponse {
    if request.method() != Method::POST {
        return request::json(405, &json!({ "error": "use POST" }));
    }
    let platform = request::path_param(&request, "platform");
    let headers = request::headers(&request);
    let body = match request::body_or_reply(request, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(reply) => return reply,
    };
    let app = match App::load().await {
        Ok(app) => app,
        Err(reply) => return reply,
    };
    let handled = chat::handle_chat(&app.deps(), &platform, &headers, &body).await;
    app::respond_chat(app, handled)
}
