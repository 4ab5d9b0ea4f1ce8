//! Everything a component needs per request: the control-plane
//! configuration in force, the key-value store and the ports over Spin.

use serde_json::json;
use slipway_core::config::ControlPlane;
use slipway_core::config_store::{self, ConfigSource};
use slipway_core::engine::Deps;
use slipway_core::entry::chat::ChatHandled;
use slipway_core::entry::{self, Handled, Reply};
use spin_sdk::http::{HeaderMap, StatusCode};

use crate::clock::WasiClock;
use crate::http_client::SpinHttp;
use crate::key_value::SpinKv;
use crate::secrets::SpinVariables;

/// Where the control-plane configuration is mounted (Spin `files`).
pub const CONFIG_PATH: &str = "/config/slipway.toml";

/// A JSON response as components return it.
pub type JsonResponse = (StatusCode, HeaderMap, String);

/// The domain's dependencies over Spin, as [`App::deps`] gives them.
pub type AppDeps<'a> = Deps<'a, SpinKv, SpinHttp, WasiClock, SpinVariables>;

/// The per-request world of a component.
pub struct App {
    /// The control-plane configuration in force.
    pub config: ControlPlane,
    /// Where it comes from: the packaged file or a stored version.
    pub source: ConfigSource,
    /// The default key-value store.
    pub kv: SpinKv,
}

impl App {
    /// Opens the store and reads the configuration in force (a version
    /// stored through `/api/config`, else the packaged file), or the error
    /// response.
    pub async fn load() -> Result<App, JsonResponse> {
        let kv = SpinKv::open("default").await.map_err(|e| {
            crate::request::json(
                503,
                &json!({ "error": format!("state store unavailable: {e}") }),
            )
        })?;
        let in_force = config_store::in_force(&kv).await.map_err(|e| {
            crate::request::json(
                503,
                &json!({ "error": format!("configuration unavailable: {e}") }),
            )
        })?;
        let (config, source) = config_store::resolve(in_force, || packaged().map(|(_, p)| p))?;
        if let ConfigSource::StoredInvalid { version, error } = &source {
            eprintln!(
                "stored configuration version {version} is invalid ({error}); using the packaged file"
            );
        }
        Ok(App { config, source, kv })
    }

    /// The domain's dependencies.
    pub fn deps(&self) -> AppDeps<'_> {
        Deps {
            kv: &self.kv,
            http: &SpinHttp,
            clock: &WasiClock,
            secrets: &SpinVariables,
            config: &self.config,
        }
    }
}

/// The packaged configuration file, as text and parsed, or the error
/// response.
pub fn packaged() -> Result<(String, ControlPlane), JsonResponse> {
    std::fs::read_to_string(CONFIG_PATH)
        .map_err(|e| format!("cannot read {CONFIG_PATH}: {e}"))
        .and_then(|t| {
            let parsed = ControlPlane::parse(&t).map_err(|e| e.to_string())?;
            Ok((t, parsed))
        })
        .map_err(|e| {
            eprintln!("configuration error: {e}");
            crate::request::json(
                500,
                &json!({ "error": format!("configuration error: {e}") }),
            )
        })
}

/// Answers with `handled`'s reply and reconciles its follow-up after the
/// response is sent (WASIp3 keeps the instance while it is busy or serving
/// others; when the host drops it first, the tick finishes the work).
pub fn respond(app: App, handled: Handled) -> JsonResponse {
    let response = reply(handled.reply.clone());
    if !handled.follow_ups.is_empty() {
        spin_sdk::wasip3::spawn(async move {
            entry::follow_up(&app.deps(), &handled).await;
        });
    }
    response
}

/// Answers a chat request and, after the response, reconciles what the
/// command changed and posts its progress to the platform.
pub fn respond_chat(app: App, handled: ChatHandled) -> JsonResponse {
    let response = reply(handled.reply.clone());
    if let Some(follow_up) = handled.follow_up {
        spin_sdk::wasip3::spawn(async move {
            entry::chat::chat_follow_up(&app.deps(), &follow_up).await;
        });
    }
    response
}

/// The domain's reply as a response.
pub fn reply(reply: Reply) -> JsonResponse {
    let mut response = crate::request::json(reply.status, &reply.body);
    if reply.status == 304 {
        // Not modified: no body, and so no content type.
        response.1.clear();
        response.2.clear();
    }
    // 429 and 503 say when to come back in the body; HTTP clients read the header.
    if let Some(seconds) = reply.body.get("retry_after_s").and_then(|v| v.as_u64())
        && let Ok(value) = spin_sdk::http::HeaderValue::from_str(&seconds.to_string())
    {
        response.1.insert("retry-after", value);
    }
    for (name, value) in &reply.headers {
        if let (Ok(name), Ok(value)) = (
            spin_sdk::http::HeaderName::from_bytes(name.as_bytes()),
            spin_sdk::http::HeaderValue::from_str(value),
        ) {
            response.1.append(name, value);
        }
    }
    response
}
