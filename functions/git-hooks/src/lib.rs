//! `POST /hooks/{provider}`: a git provider's webhook starts a pipeline run.
//! A thin adapter: the work is `slipway_core::hooks::handle_webhook`.

use serde_json::json;
use slipway_core::config::ControlPlane;
use slipway_core::hooks::{self, Deps, MAX_BODY_BYTES};
use slipway_spin::clock::WasiClock;
use slipway_spin::http_client::SpinHttp;
use slipway_spin::key_value::SpinKv;
use slipway_spin::request::{self, BodyError};
use slipway_spin::secrets::SpinVariables;
use spin_sdk::http::{IntoResponse, Method, Request};

/// Where the control-plane configuration is mounted (Spin `files`).
const CONFIG_PATH: &str = "/config/slipway.toml";

#[spin_sdk::http_service]
async fn handle(request: Request) -> anyhow::Result<impl IntoResponse> {
    if request.method() != Method::POST {
        return Ok(request::json(405, &json!({ "error": "use POST" })));
    }
    let provider = request
        .headers()
        .get("spin-path-match-provider")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let headers = request::headers(&request);
    let body = match request::body(request, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(BodyError::TooLarge(_)) => {
            return Ok(request::json(
                413,
                &json!({ "error": "payload larger than 25 MiB" }),
            ));
        }
        Err(BodyError::Read(e)) => {
            return Ok(request::json(
                400,
                &json!({ "error": format!("cannot read body: {e}") }),
            ));
        }
    };
    let config = match std::fs::read_to_string(CONFIG_PATH)
        .map_err(|e| format!("cannot read {CONFIG_PATH}: {e}"))
        .and_then(|t| ControlPlane::parse(&t).map_err(|e| e.to_string()))
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return Ok(request::json(
                500,
                &json!({ "error": format!("configuration error: {e}") }),
            ));
        }
    };
    let kv = match SpinKv::open("default").await {
        Ok(kv) => kv,
        Err(e) => {
            return Ok(request::json(
                503,
                &json!({ "error": format!("state store unavailable: {e}") }),
            ));
        }
    };
    let deps = Deps {
        kv: &kv,
        http: &SpinHttp,
        clock: &WasiClock,
        secrets: &SpinVariables,
        config: &config,
    };
    let reply = hooks::handle_webhook(&deps, &provider, &headers, &body).await;
    Ok(request::json(reply.status, &reply.body))
}
