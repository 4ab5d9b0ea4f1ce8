//! The stage view. Pages are one static shell and its script and styles,
//! packaged in the component (no CDN: it works offline and on a cluster
//! without internet); the script reads the JSON routes of
//! `slipway_core::entry::web` (sign-in, apps, runs, environments, what is
//! waiting) and the runs and deploy APIs.

mod assets;

use slipway_core::entry::web::{self, WebRequest};
use slipway_spin::app::{self, App};
use slipway_spin::log::RequestLog;
use slipway_spin::request;
use spin_sdk::http::{IntoResponse, Method, Request};

/// Largest request body accepted (a sign-in form, a link request).
const MAX_BODY_BYTES: usize = 16 * 1024;

#[spin_sdk::http_service]
async fn handle(request: Request) -> anyhow::Result<impl IntoResponse> {
    let log = RequestLog::start("web", &request);
    let response = serve(request).await;
    log.finish_json(&response);
    Ok(response)
}

async fn serve(request: Request) -> app::JsonResponse {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    if (method == Method::GET || method == Method::HEAD)
        && let Some(page) = assets::page(&path)
    {
        return page;
    }
    let query = request.uri().query().unwrap_or_default().to_owned();
    let mut headers = request::headers(&request);
    // The sign-in form's origin check compares with the host the request
    // was sent to, which WASI HTTP gives as the URI's authority, not as
    // a `host` header.
    if !headers.contains_key("host")
        && let Some(authority) = authority(&request, &headers)
    {
        headers.insert("host".into(), authority);
    }
    let body = match request::body_or_reply(request, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(reply) => return reply,
    };
    let app = match App::load().await {
        Ok(app) => app,
        Err(reply) => return reply,
    };
    let web_request = WebRequest {
        method: method.as_str(),
        path: &path,
        query: &query,
        headers: &headers,
        body: &body,
    };
    let reply = web::handle(&app.deps(), &web_request).await;
    app::reply(reply)
}

/// The `host:port` the request was sent to: the URI's authority, else
/// the one in Spin's `spin-full-url`.
fn authority(
    request: &Request,
    headers: &std::collections::BTreeMap<String, String>,
) -> Option<String> {
    if let Some(a) = request.uri().authority() {
        return Some(a.to_string());
    }
    let full = headers.get("spin-full-url")?;
    let (_, rest) = full.split_once("://")?;
    Some(rest.split('/').next().unwrap_or(rest).to_owned())
}
