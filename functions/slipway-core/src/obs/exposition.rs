//! `GET /metrics`: the key-value counters of [`metrics`](super::metrics)
//! in Prometheus' text exposition format (version 0.0.4).
//!
//! The store cannot list keys, so the label values are those the
//! configuration names (apps, environments, providers, build services,
//! chat platforms) and the fixed outcomes and stage kinds: a scrape reads
//! a fixed set of keys, one `get` each (and one `increment(key, 0)` for
//! a counter that exists), whatever the number of runs.

use std::fmt::Write;

use super::metrics::{
    self, ALL, DEPLOYMENT_OUTCOMES, Histogram, RUN_OUTCOMES, STAGE_DURATION, STAGE_KINDS,
    WEBHOOK_ANSWER,
};
use crate::config::ControlPlane;
use crate::ports::{KeyValue, KvError};

/// The content type of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The value of counter `key` (absent: 0), without writing it: counters
/// are read with `increment(key, 0)`, as stores keep them differently,
/// but only once `get` shows they exist.
async fn counter<K: KeyValue>(kv: &K, key: &str) -> Result<u64, KvError> {
    if kv.get(key).await?.is_none() {
        return Ok(0);
    }
    Ok(kv.increment(key, 0).await?.max(0) as u64)
}

/// The `service` label values calls may be counted under.
pub fn services(config: &ControlPlane) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    out.extend(config.providers.keys().map(|p| format!("provider/{p}")));
    out.extend(config.build_services.keys().map(|b| format!("build/{b}")));
    out.extend(
        config
            .environments
            .keys()
            .map(|e| format!("environment/{e}")),
    );
    out.extend(["chat/slack", "chat/dingtalk", "chat/feishu", "chat/reply"].map(String::from));
    out
}

/// A label value escaped for the text format.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes `# HELP` and `# TYPE`.
fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Milliseconds as seconds, as short as exact.
fn seconds(ms: u64) -> String {
    format!("{}", ms as f64 / 1000.0)
}

/// Writes one histogram series with `label` (`None`: no labels).
async fn histogram<K: KeyValue>(
    kv: &K,
    out: &mut String,
    h: &Histogram,
    label: Option<(&str, &str)>,
) -> Result<(), KvError> {
    let value = label.map_or(ALL, |(_, v)| v);
    let prefix = label.map_or(String::new(), |(n, v)| format!("{n}=\"{}\",", escape(v)));
    let plain = label.map_or(String::new(), |(n, v)| format!("{{{n}=\"{}\"}}", escape(v)));
    let mut cumulative = 0;
    for index in 0..=h.bounds_ms.len() {
        cumulative += counter(kv, &h.bucket_key(value, index)).await?;
        let le = h
            .bounds_ms
            .get(index)
            .map_or("+Inf".into(), |b| seconds(*b));
        let _ = writeln!(out, "{}_bucket{{{prefix}le=\"{le}\"}} {cumulative}", h.name);
    }
    let sum = counter(kv, &h.sum_key(value)).await?;
    let _ = writeln!(out, "{}_sum{plain} {}", h.name, seconds(sum));
    let _ = writeln!(out, "{}_count{plain} {cumulative}", h.name);
    Ok(())
}

/// The whole exposition.
pub async fn render<K: KeyValue>(kv: &K, config: &ControlPlane) -> Result<String, KvError> {
    let mut out = String::new();
    let name = "slipway_runs_started_total";
    header(&mut out, name, "counter", "Pipeline runs created, by app.");
    for app in config.apps.keys() {
        let started = counter(kv, &format!("app/{app}/runs")).await?;
        let _ = writeln!(out, "{name}{{app=\"{}\"}} {started}", escape(app));
    }
    let name = "slipway_runs_finished_total";
    header(
        &mut out,
        name,
        "counter",
        "Pipeline runs that ended, by app and outcome.",
    );
    for app in config.apps.keys() {
        for outcome in RUN_OUTCOMES {
            let n = counter(kv, &metrics::run_finished_key(app, outcome)).await?;
            let _ = writeln!(
                out,
                "{name}{{app=\"{}\",outcome=\"{outcome}\"}} {n}",
                escape(app)
            );
        }
    }
    header(
        &mut out,
        STAGE_DURATION.name,
        "histogram",
        STAGE_DURATION.help,
    );
    for kind in STAGE_KINDS {
        histogram(kv, &mut out, &STAGE_DURATION, Some(("kind", kind))).await?;
    }
    header(
        &mut out,
        WEBHOOK_ANSWER.name,
        "histogram",
        WEBHOOK_ANSWER.help,
    );
    histogram(kv, &mut out, &WEBHOOK_ANSWER, None).await?;
    let name = "slipway_remote_call_errors_total";
    header(
        &mut out,
        name,
        "counter",
        "Remote calls that got no answer, a 5xx, 401, 403 or 429, by service.",
    );
    for service in services(config) {
        let n = counter(kv, &metrics::call_error_key(&service)).await?;
        let _ = writeln!(out, "{name}{{service=\"{}\"}} {n}", escape(&service));
    }
    let name = "slipway_deployments_finished_total";
    header(
        &mut out,
        name,
        "counter",
        "Deployments that ended, by environment and outcome.",
    );
    for env in config.environments.keys() {
        for outcome in DEPLOYMENT_OUTCOMES {
            let n = counter(kv, &metrics::deployment_finished_key(env, outcome)).await?;
            let _ = writeln!(
                out,
                "{name}{{environment=\"{}\",outcome=\"{outcome}\"}} {n}",
                escape(env)
            );
        }
    }
    Ok(out)
}
