//! Outbound HTTP that logs each call and counts its failures: the engine
//! wraps its HTTP port in one of these around every side effect, so each
//! remote call is logged once, with the run, stage, attempt and effect it
//! serves, whatever adapter (provider, build service, platform, chat)
//! made it.

use std::cell::Cell;

use super::log::{Line, origin};
use super::metrics;
use crate::ports::{Clock, HttpClient, HttpError, HttpRequest, HttpResponse, KeyValue};

/// What a remote call is made for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallContext {
    /// The run, if it is for one.
    pub run: Option<String>,
    /// The deployment, if it is for one.
    pub deployment: Option<String>,
    /// The stage.
    pub stage: Option<String>,
    /// The stage's attempt.
    pub attempt: Option<u32>,
    /// The effect's kind (`trigger`, `poll`, `status`, `notify`, `step`, …).
    pub effect: String,
    /// The remote service (`provider/github`, `build/jenkins`,
    /// `environment/production`, `chat/slack`): the `service` label.
    pub service: String,
}

impl CallContext {
    /// A line for `event` with the context's fields.
    pub fn line(&self, event: &'static str, now_ms: u64) -> Line {
        Line::new(event, now_ms)
            .maybe_text("run", self.run.as_deref())
            .maybe_text("deployment", self.deployment.as_deref())
            .maybe_text("stage", self.stage.as_deref())
            .maybe_number("attempt", self.attempt.map(u64::from))
            .text("effect", self.effect.as_str())
            .text("service", self.service.as_str())
    }
}

/// How a call went: the `outcome` of its line, and whether it counts as a
/// remote call error (no answer, a server error, refused credentials or
/// throttling; a 404 or 409 is an answer the caller acts on).
pub fn call_outcome(result: &Result<HttpResponse, HttpError>) -> (&'static str, bool) {
    match result {
        Ok(r) if r.status >= 500 => ("server_error", true),
        Ok(r) if matches!(r.status, 401 | 403 | 429) => ("refused", true),
        Ok(r) if r.status >= 400 => ("client_error", false),
        Ok(_) => ("ok", false),
        Err(HttpError::Timeout(_)) => ("timeout", true),
        Err(HttpError::Denied) => ("denied", true),
        Err(HttpError::Transport(_)) => ("unreachable", true),
    }
}

/// An [`HttpClient`] that logs and counts what `inner` does.
pub struct Traced<'a, H, K, C> {
    inner: &'a H,
    kv: &'a K,
    clock: &'a C,
    context: CallContext,
    calls: Cell<u64>,
    last_status: Cell<Option<u16>>,
}

impl<'a, H, K, C> Traced<'a, H, K, C> {
    /// Wraps `inner` for calls made in `context`.
    pub fn new(inner: &'a H, kv: &'a K, clock: &'a C, context: CallContext) -> Self {
        Traced {
            inner,
            kv,
            clock,
            context,
            calls: Cell::new(0),
            last_status: Cell::new(None),
        }
    }

    /// The context calls are logged with.
    pub fn context(&self) -> &CallContext {
        &self.context
    }

    /// Calls made so far.
    pub fn calls(&self) -> u64 {
        self.calls.get()
    }

    /// The HTTP status of the last call that got an answer.
    pub fn last_status(&self) -> Option<u16> {
        self.last_status.get()
    }
}

impl<H: HttpClient, K: KeyValue, C: Clock> HttpClient for Traced<'_, H, K, C> {
    async fn send(&self, request: HttpRequest, timeout_ms: u64) -> Result<HttpResponse, HttpError> {
        let method = request.method.clone();
        let target = origin(&request.url);
        let started = self.clock.now_ms();
        let result = self.inner.send(request, timeout_ms).await;
        let now = self.clock.now_ms();
        let (outcome, failed) = call_outcome(&result);
        let status = result.as_ref().ok().map(|r| r.status);
        self.calls.set(self.calls.get() + 1);
        if status.is_some() {
            self.last_status.set(status);
        }
        self.context
            .line("call", now)
            .text("method", method)
            .text("origin", target)
            .maybe_number("http_status", status.map(u64::from))
            .number("duration_ms", now.saturating_sub(started))
            .text("outcome", outcome)
            .emit();
        if failed {
            metrics::count_call_error(self.kv, &self.context.service).await;
        }
        result
    }
}
