//! `GET /api/health`: the app name, version and a key-value round trip.

use std::hash::{BuildHasher, RandomState};

use slipway_core::health;
use slipway_core::obs::log::Line;
use slipway_core::ports::{KeyValue, KvError};
use spin_sdk::http::{HeaderMap, HeaderValue, IntoResponse, Method, Request, StatusCode};
use spin_sdk::key_value::Store;

/// Spin's key-value store as the domain's [`KeyValue`].
struct SpinKv(Store);

fn kv_error(e: spin_sdk::key_value::Error) -> KvError {
    KvError(e.to_string())
}

impl KeyValue for SpinKv {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.0.get(key).await.map_err(kv_error)
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.0.set(key, value).await.map_err(kv_error)
    }
    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.0.delete(key).await.map_err(kv_error)
    }
}

/// A nonce from the host's randomness (std seeds `RandomState` from
/// `wasi:random`), so concurrent probes never share a key.
fn nonce() -> u64 {
    RandomState::new().hash_one(0u8)
}

fn json(status: StatusCode, body: String) -> anyhow::Result<(StatusCode, HeaderMap, String)> {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    Ok((status, headers, body))
}

#[spin_sdk::http_service]
async fn handle(request: Request) -> anyhow::Result<impl IntoResponse> {
    let started = now_ms();
    let method = request.method().as_str().to_owned();
    let response = serve(request).await?;
    // Its one log line (this component stays free of the Spin adapter
    // crate: it reads no configuration).
    let now = now_ms();
    Line::new("request", now)
        .text("component", "health")
        .text("route", "/api/health")
        .text("method", method)
        .number("status", u64::from(response.0.as_u16()))
        .number("duration_ms", now.saturating_sub(started))
        .emit();
    Ok(response)
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

async fn serve(request: Request) -> anyhow::Result<(StatusCode, HeaderMap, String)> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let body = serde_json::json!({ "error": "method not allowed: use GET" }).to_string();
        return json(StatusCode::METHOD_NOT_ALLOWED, body);
    }
    let report = match Store::open_default().await {
        Ok(store) => health::check(&SpinKv(store), nonce()).await,
        Err(e) => health::HealthReport {
            app: slipway_core::APP_NAME,
            version: slipway_core::VERSION,
            status: "degraded",
            key_value: health::KvCheck {
                ok: false,
                error: Some(format!("cannot open store: {e}")),
            },
        },
    };
    let status = if report.is_healthy() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json(status, serde_json::to_string(&report)?)
}
