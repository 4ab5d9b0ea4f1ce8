//! Entry points, one per route: each verifies its input, records a fact
//! with one compare-and-swap, and hands the record to the engine, either
//! before answering (people waiting on the API) or after (webhooks and
//! callbacks, answered fast; the component reconciles after the response
//! where the runtime allows, and the tick catches what it could not).
//!
//! - [`webhook`]: `POST /hooks/{provider}`
//! - [`tekton_events`]: `POST /hooks/tekton`: Tekton's CloudEvents
//! - [`callback`]: `POST /callbacks/{run}/{stage}`
//! - [`retry`]: `POST /api/runs/{run}/stages/{stage}/retry`
//! - [`tick`]: `POST /api/tick`
//! - [`deploy_api`]: `/api/deploy…` and the release history
//! - [`chat`]: `POST /chat/{platform}`: chat commands and buttons
//! - [`runs_read`]: `GET /api/runs/{run}`
//!
//! Every `/api/*` route names its caller by a token ([`auth`]).

pub mod approve_api;
pub mod auth;
mod build_events;
pub mod callback;
pub mod chat;
pub mod config_api;
pub mod deploy_api;
pub mod dry_run;
mod github_builds;
mod jenkins_notification;
pub mod metrics;
pub mod ok_to_test;
pub mod result;
pub mod retry;
pub mod runs_read;
pub mod session_auth;
pub mod tekton_events;
pub mod tick;
pub mod web;
pub mod webhook;
mod webhook_candidate;

#[cfg(test)]
mod webhook_tests;

use serde_json::json;

use crate::engine::{Deps, Engine, Mode, Target};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};

/// Time the engine may spend on a follow-up: inside an API request, or
/// after a webhook's response (where Spin keeps an idle instance about 1 s,
/// so the tick finishes what this does not).
pub const FOLLOW_UP_BUDGET_MS: u64 = 8_000;

/// An HTTP reply: status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// JSON body.
    pub body: serde_json::Value,
    /// Headers besides the content type (`ETag`, `Set-Cookie`, …).
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// A reply with `status` and JSON `body`.
    pub fn new(status: u16, body: serde_json::Value) -> Reply {
        Reply {
            status,
            body,
            headers: Vec::new(),
        }
    }

    /// This reply with header `name: value` added.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// `{"error": message}` with `status`.
    pub fn error(status: u16, message: impl Into<String>) -> Reply {
        Reply::new(status, json!({ "error": message.into() }))
    }

    /// 200 `{"ignored": reason}`: the request starts or changes nothing.
    pub fn ignored(reason: impl Into<String>) -> Reply {
        Reply::new(200, json!({ "ignored": reason.into() }))
    }
}

/// A reply, and the record to reconcile after sending it.
#[derive(Debug, Clone, PartialEq)]
pub struct Handled {
    /// What to answer.
    pub reply: Reply,
    /// What the engine should reconcile once the reply is sent.
    pub follow_ups: Vec<Target>,
}

impl From<Reply> for Handled {
    fn from(reply: Reply) -> Self {
        Handled {
            reply,
            follow_ups: Vec::new(),
        }
    }
}

impl Handled {
    /// `reply`, then reconcile `target`.
    pub fn then(reply: Reply, target: Target) -> Self {
        Handled {
            reply,
            follow_ups: vec![target],
        }
    }
}

/// Reconciles run `run` within the follow-up budget (for a person waiting
/// on the API), then returns the status of its `stage` as stored.
pub async fn reconcile_for_answer<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run: &str,
    stage: &str,
) -> Option<crate::runs::StageStatus>
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let deadline = deps.clock.now_ms() + FOLLOW_UP_BUDGET_MS;
    Engine::new(deps)
        .reconcile(Target::Run(run.to_owned()), deadline)
        .await;
    crate::runs::RunStore::new(deps.kv)
        .load(run)
        .await
        .ok()
        .flatten()
        .and_then(|r| r.stages.get(stage).map(|s| s.status))
}

/// A JSON request body, or `T::default()` for an empty one; 400 with the
/// reason when it does not parse.
pub fn json_body<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, Reply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| Reply::error(400, format!("malformed request: {e}")))
}

/// Reconciles a handled request's follow-up (what a component runs after
/// its response, and tests run directly).
pub async fn follow_up<K, H, C, S>(deps: &Deps<'_, K, H, C, S>, handled: &Handled)
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let deadline = deps.clock.now_ms() + FOLLOW_UP_BUDGET_MS;
    for target in &handled.follow_ups {
        Engine::new(deps)
            .reconcile_in(target.clone(), deadline, Mode::AfterResponse)
            .await;
    }
}
