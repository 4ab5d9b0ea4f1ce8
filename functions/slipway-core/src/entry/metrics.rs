//! `GET /metrics`: Prometheus' text exposition of the app's counters
//! ([`crate::obs::exposition`]).
//!
//! It needs an API token (any named token, like the tick; Prometheus
//! sends it with `authorization: { credentials_file: … }`): a scrape
//! reads about a hundred keys, which an anonymous caller must not be able
//! to repeat at will, and the labels name the apps and environments.

use super::Reply;
use super::auth::authenticate;
use crate::engine::Deps;
use crate::obs::exposition;
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::providers::Headers;

/// The exposition's text, or the error reply (401/429 without a valid
/// token, 503 when the store fails).
pub async fn handle_metrics<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    headers: &Headers,
) -> Result<String, Reply>
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    authenticate(deps, headers).await?;
    exposition::render(deps.kv, deps.config)
        .await
        .map_err(|e| Reply::error(503, format!("state store unavailable: {e}")))
}
