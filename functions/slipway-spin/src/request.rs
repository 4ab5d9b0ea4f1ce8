//! Reading incoming requests: headers as the domain wants them, bodies with
//! a size limit, JSON replies.

use std::collections::BTreeMap;

use futures::StreamExt;
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{HeaderMap, HeaderValue, Request, StatusCode};

/// Request headers with lowercased names (first value of each).
pub fn headers(request: &Request) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, value) in request.headers() {
        out.entry(name.as_str().to_ascii_lowercase())
            .or_insert_with(|| String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    out
}

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// Larger than the limit.
    TooLarge(usize),
    /// The stream failed.
    Read(String),
}

/// Reads the body, refusing more than `limit` bytes (by `content-length`
/// first, then by what arrives, chunk by chunk).
pub async fn body(request: Request, limit: usize) -> Result<Vec<u8>, BodyError> {
    let declared = request
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge(limit));
    }
    // Counted as it arrives: a body without `content-length` is refused as
    // soon as it passes the limit, not after it has all been read.
    let mut stream = request.into_body().stream();
    let mut out = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| BodyError::Read(format!("{e:?}")))?;
        if out.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// A JSON response.
pub fn json(status: u16, body: &serde_json::Value) -> (StatusCode, HeaderMap, String) {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, headers, body.to_string())
}

/// The value of route parameter `:name` (Spin's `spin-path-match-<name>`).
pub fn path_param(request: &Request, name: &str) -> String {
    request
        .headers()
        .get(format!("spin-path-match-{name}").as_str())
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Reads the body (at most `limit` bytes), or the error response to send:
/// 413 when it is larger, 400 when it cannot be read.
pub async fn body_or_reply(
    request: Request,
    limit: usize,
) -> Result<Vec<u8>, (StatusCode, HeaderMap, String)> {
    match body(request, limit).await {
        Ok(b) => Ok(b),
        Err(BodyError::TooLarge(limit)) => Err(json(
            413,
            &serde_json::json!({ "error": format!("body larger than {limit} bytes") }),
        )),
        Err(BodyError::Read(e)) => Err(json(
            400,
            &serde_json::json!({ "error": format!("cannot read body: {e}") }),
        )),
    }
}
