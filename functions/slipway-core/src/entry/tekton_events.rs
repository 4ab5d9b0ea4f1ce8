//! `POST /hooks/tekton`: CloudEvents from Tekton's events controller
//! (Tekton `docs/events.md`), in binary mode (`Ce-Type`, `Ce-Specversion`,
//! … headers and the JSON `{"pipelineRun": {…}}` as the body) or in
//! structured mode (`application/cloudevents+json`, the same object under
//! `data`).
//!
//! Tekton sends them without authentication, so an event is only a hint:
//! a `successful` or `failed` PipelineRun event asks for a poll of the
//! stage that created the PipelineRun, and the PipelineRun as the
//! Kubernetes API shows it (read with the service's token) decides. A
//! forged event costs at most one poll per stage per
//! [`HINT_POLL_INTERVAL_MS`](crate::runs::hints::HINT_POLL_INTERVAL_MS)
//! and writes nothing while a poll is pending. When a Tekton service names
//! an `events_token_secret`, the sink URL must carry it as `?token=`.
//!
//! Replies: 202 when a poll was asked for; 200 `{"ignored": reason}` for
//! events that ask for nothing; 400 for a body that is not a CloudEvent;
//! 401 for a missing or wrong token; 413 over [`MAX_EVENT_BYTES`].

use serde_json::Value;

use super::auth::same;
use super::build_events::request_poll;
use super::{Handled, Reply};
use crate::builders::BuildServiceConfig;
use crate::engine::Deps;
use crate::ports::{Clock, KeyValue, Secrets};
use crate::providers::Headers;
use crate::runs::BuildIndex;

/// Largest event accepted: a PipelineRun with its status (etcd keeps
/// objects under 1.5 MiB).
pub const MAX_EVENT_BYTES: usize = 1536 * 1024;

/// The PipelineRun event types that say a run ended.
const ENDED: [&str; 2] = [
    "dev.tekton.event.pipelinerun.successful.v1",
    "dev.tekton.event.pipelinerun.failed.v1",
];

/// Why a request is not a CloudEvent Slipway can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudEventError {
    /// Neither the headers nor a structured body name the event type.
    #[error("not a CloudEvent: no ce-specversion and ce-type")]
    NotCloudEvent,
    /// The body is not the JSON the content type says.
    #[error("the body is not JSON: {0}")]
    NotJson(String),
}

/// The parts of a CloudEvent Slipway reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudEvent {
    /// `ce-type`.
    pub kind: String,
    /// The PipelineRun's name (`metadata.name`, else `ce-subject`).
    pub name: Option<String>,
}

/// Handles one delivery to `/hooks/tekton`; `query` is the URL's query.
pub async fn handle_tekton_event<K: KeyValue, H, C: Clock, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    headers: &Headers,
    query: &str,
    body: &[u8],
) -> Handled {
    if body.len() > MAX_EVENT_BYTES {
        return Reply::error(413, "event larger than 1.5 MiB").into();
    }
    if let Err(reply) = check_token(deps, query).await {
        return reply.into();
    }
    let event = match parse(headers, body) {
        Ok(e) => e,
        Err(e) => return Reply::error(400, e.to_string()).into(),
    };
    if !ENDED.contains(&event.kind.as_str()) {
        return Reply::ignored(format!("{}: not the end of a PipelineRun", event.kind)).into();
    }
    let Some(name) = event.name else {
        return Reply::ignored("the event names no PipelineRun").into();
    };
    match BuildIndex::new(deps.kv).get("tekton", &name).await {
        Ok(Some(target)) => request_poll(deps, &target).await,
        Ok(None) => Reply::ignored("no stage is waiting for this PipelineRun").into(),
        Err(e) => Reply::error(503, e.to_string()).into(),
    }
}

/// When any Tekton service names an events token, the query's `token`
/// must equal one of them (compared in constant time).
async fn check_token<K, H, C, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    query: &str,
) -> Result<(), Reply> {
    let names: Vec<&str> = deps
        .config
        .build_services
        .values()
        .filter_map(|s| match s {
            BuildServiceConfig::Tekton(t) => t.events_token_secret.as_deref(),
            _ => None,
        })
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let given = query_param(query, "token").unwrap_or_default();
    for name in names {
        if let Some(expected) = deps.secrets.get(name).await
            && same(&given, &expected)
        {
            return Ok(());
        }
    }
    Err(Reply::error(401, "missing or wrong token in the sink URL"))
}

/// The percent-decoded value of `name` in a query string.
fn query_param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Reads a binary-mode or structured-mode CloudEvent.
pub fn parse(headers: &Headers, body: &[u8]) -> Result<CloudEvent, CloudEventError> {
    let header = |name: &str| crate::providers::header(headers, name).map(str::to_owned);
    let structured = header("content-type").is_some_and(|t| {
        t.to_ascii_lowercase()
            .starts_with("application/cloudevents+json")
    });
    let json: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(body).map_err(|e| CloudEventError::NotJson(e.to_string()))?
    };
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let (spec, kind, subject, data) = if structured {
        let data = json.get("data").cloned().unwrap_or(Value::Null);
        (
            text(&json, "specversion"),
            text(&json, "type"),
            text(&json, "subject"),
            data,
        )
    } else {
        (
            header("ce-specversion"),
            header("ce-type"),
            header("ce-subject"),
            json,
        )
    };
    let (Some(_), Some(kind)) = (spec, kind) else {
        return Err(CloudEventError::NotCloudEvent);
    };
    let name = data
        .pointer("/pipelineRun/metadata/name")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or(subject)
        .filter(|n| !n.is_empty());
    Ok(CloudEvent { kind, name })
}

#[cfg(test)]
#[path = "tekton_events_tests.rs"]
mod tests;
