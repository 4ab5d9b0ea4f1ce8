//! The one log line of every request, and metrics written after the
//! response.

use slipway_core::obs::log::Line;
use slipway_core::obs::metrics;
use slipway_core::ports::Clock;
use spin_sdk::http::Request;

use crate::app::JsonResponse;
use crate::clock::WasiClock;
use crate::key_value::SpinKv;

/// A request being served, logged when it is answered: component, route
/// pattern, method, status, duration and the run it concerns. Never the
/// path's query, a header or the body.
#[derive(Debug, Clone)]
pub struct RequestLog {
    component: &'static str,
    route: String,
    method: String,
    started_ms: u64,
    run: Option<String>,
}

impl RequestLog {
    /// Starts the clock for `request` to `component`.
    pub fn start(component: &'static str, request: &Request) -> RequestLog {
        // Spin's route pattern (`/callbacks/:run/:stage`), else the path.
        let route = request
            .headers()
            .get("spin-component-route")
            .and_then(|v| v.to_str().ok())
            .filter(|r| !r.is_empty())
            .map_or_else(|| request.uri().path().to_owned(), str::to_owned);
        let run = Some(crate::request::path_param(request, "run")).filter(|r| !r.is_empty());
        RequestLog {
            component,
            route,
            method: request.method().as_str().to_owned(),
            started_ms: WasiClock.now_ms(),
            run,
        }
    }

    /// Milliseconds since the request arrived.
    pub fn elapsed_ms(&self) -> u64 {
        WasiClock.now_ms().saturating_sub(self.started_ms)
    }

    /// Writes the line for an answer with `status` and JSON `body` (which
    /// names the run a webhook started, when the path does not).
    pub fn finish(&self, status: u16, body: &str) {
        let run = self.run.clone().or_else(|| run_in(body));
        Line::new("request", WasiClock.now_ms())
            .text("component", self.component)
            .text("route", self.route.as_str())
            .text("method", self.method.as_str())
            .number("status", u64::from(status))
            .number("duration_ms", self.elapsed_ms())
            .maybe_text("run", run.as_deref())
            .emit();
    }

    /// [`RequestLog::finish`] for a JSON response.
    pub fn finish_json(&self, response: &JsonResponse) {
        self.finish(response.0.as_u16(), &response.2);
    }
}

/// The `run` a small JSON answer names (`{"run": "shop-12", …}`).
fn run_in(body: &str) -> Option<String> {
    if body.len() > 4096 || !body.starts_with('{') {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    value.get("run")?.as_str().map(str::to_owned)
}

/// Records a webhook's answer time after the response is sent, so the
/// two increments never delay it; lost if the host drops the instance
/// first (a metric, not state).
pub fn webhook_answered(ms: u64) {
    spin_sdk::wasip3::spawn(async move {
        match SpinKv::open("default").await {
            Ok(kv) => metrics::observe_webhook_answer(&kv, ms).await,
            Err(e) => eprintln!("metrics not written: {e}"),
        }
    });
}
