//! Counters and histograms kept in the key-value store, so every instance
//! of every component adds to the same numbers.
//!
//! Each count is one atomic [`KeyValue::increment`] of its own key: safe
//! under any concurrency without a compare-and-swap loop (an increment
//! never conflicts, so it never retries), and merged on read by
//! [`exposition`](super::exposition). Histograms keep one counter per
//! bucket (not cumulative, so an observation is one increment) and one
//! for the sum in milliseconds; the count is the buckets' total.
//!
//! What is counted, and what it costs:
//! - runs started: nothing, read from the run-number counter each app's
//!   webhook already increments (`app/{app}/runs`);
//! - runs finished, stage durations, deployments finished: counted by the
//!   stores when a compare-and-swap moves a record into an end state (the
//!   swap succeeds once, so each transition counts once): 1 increment per
//!   run or deployment end, 2 per stage end;
//! - webhook answer time: 2 increments after the response is sent;
//! - remote call errors: 1 increment per failed call, none per success.
//!
//! A failed metrics write is logged and dropped: it never fails the
//! request or the transition that caused it.

use crate::deploy::records::{Deployment, DeploymentStatus};
use crate::pipeline::StageKind;
use crate::ports::{KeyValue, KvError};
use crate::runs::{RunRecord, RunStatus};

/// A histogram: its metric name, help and bucket bounds.
#[derive(Debug, PartialEq, Eq)]
pub struct Histogram {
    /// Metric name (seconds, as Prometheus wants).
    pub name: &'static str,
    /// `# HELP` text.
    pub help: &'static str,
    /// The key segment under `metrics/`.
    key: &'static str,
    /// Upper bounds of the buckets in milliseconds (`+Inf` is implied).
    pub bounds_ms: &'static [u64],
}

/// How long stages ran, from start to end, by stage kind.
pub const STAGE_DURATION: Histogram = Histogram {
    name: "slipway_stage_duration_seconds",
    help: "Time from a stage's start to its end, by stage kind.",
    key: "stage_duration",
    bounds_ms: &[
        1_000, 5_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000,
    ],
};

/// How long `/hooks/{provider}` took to answer.
pub const WEBHOOK_ANSWER: Histogram = Histogram {
    name: "slipway_webhook_answer_seconds",
    help: "Time from a webhook's arrival to its answer.",
    key: "webhook_answer",
    bounds_ms: &[5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000],
};

/// The label value of the unlabelled webhook histogram.
pub const ALL: &str = "all";

impl Histogram {
    /// The bucket `ms` falls in (`bounds_ms.len()`: `+Inf`).
    pub fn bucket_of(&self, ms: u64) -> usize {
        self.bounds_ms
            .iter()
            .position(|bound| ms <= *bound)
            .unwrap_or(self.bounds_ms.len())
    }

    /// The counter of bucket `index` for `label`.
    pub fn bucket_key(&self, label: &str, index: usize) -> String {
        format!("metrics/{}/{label}/{index}", self.key)
    }

    /// The sum of observed milliseconds for `label`.
    pub fn sum_key(&self, label: &str) -> String {
        format!("metrics/{}/{label}/sum_ms", self.key)
    }

    /// Adds one observation of `ms` for `label`: two increments.
    pub async fn observe<K: KeyValue>(&self, kv: &K, label: &str, ms: u64) -> Result<(), KvError> {
        kv.increment(&self.bucket_key(label, self.bucket_of(ms)), 1)
            .await?;
        let ms = i64::try_from(ms).unwrap_or(i64::MAX);
        kv.increment(&self.sum_key(label), ms).await?;
        Ok(())
    }
}

/// End states of a run, as the `outcome` label says them.
pub const RUN_OUTCOMES: [&str; 5] = ["succeeded", "failed", "cancelled", "timed_out", "skipped"];
/// End states of a deployment.
pub const DEPLOYMENT_OUTCOMES: [&str; 3] = ["succeeded", "failed", "aborted"];
/// Stage kinds, as the `kind` label says them.
pub const STAGE_KINDS: [&str; 3] = ["build", "deploy", "approval"];

/// The `outcome` label of a run that ended with `status`.
pub fn run_outcome(status: RunStatus) -> Option<&'static str> {
    match status {
        RunStatus::Succeeded => Some("succeeded"),
        RunStatus::Failed => Some("failed"),
        RunStatus::Cancelled => Some("cancelled"),
        RunStatus::TimedOut => Some("timed_out"),
        RunStatus::Skipped => Some("skipped"),
        RunStatus::Queued | RunStatus::Running => None,
    }
}

/// The `outcome` label of a deployment that ended with `status`.
pub fn deployment_outcome(status: DeploymentStatus) -> Option<&'static str> {
    match status {
        DeploymentStatus::Succeeded => Some("succeeded"),
        DeploymentStatus::Failed => Some("failed"),
        DeploymentStatus::Aborted => Some("aborted"),
        DeploymentStatus::InProgress | DeploymentStatus::Paused => None,
    }
}

/// The `kind` label of a stage.
pub fn stage_kind(kind: &StageKind) -> &'static str {
    match kind {
        StageKind::Build { .. } => "build",
        StageKind::Deploy { .. } => "deploy",
        StageKind::Approval { .. } => "approval",
    }
}

/// Runs of `app` that ended with `outcome`.
pub fn run_finished_key(app: &str, outcome: &str) -> String {
    format!("metrics/runs_finished/{app}/{outcome}")
}

/// Deployments to `environment` that ended with `outcome`.
pub fn deployment_finished_key(environment: &str, outcome: &str) -> String {
    format!("metrics/deployments_finished/{environment}/{outcome}")
}

/// Failed remote calls to `service`.
pub fn call_error_key(service: &str) -> String {
    format!("metrics/remote_call_errors/{service}")
}

/// What one write of a record adds to the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// One more at this counter.
    Count(String),
    /// One observation of this many milliseconds.
    Observe(&'static Histogram, &'static str, u64),
}

/// What moving a run from `before` (`None`: it is new) to `after` counts:
/// the run's end, and the end of every stage that ended in this write.
pub fn run_changes(before: Option<&RunRecord>, after: &RunRecord) -> Vec<Change> {
    let mut changes = Vec::new();
    let was_over = before.is_some_and(|b| b.status.is_terminal());
    if !was_over && let Some(outcome) = run_outcome(after.status) {
        changes.push(Change::Count(run_finished_key(&after.app, outcome)));
    }
    for (name, stage) in &after.stages {
        let ended_before = before
            .and_then(|b| b.stages.get(name))
            .is_some_and(|s| s.status.is_terminal() && s.attempt == stage.attempt);
        if ended_before || !stage.status.is_terminal() {
            continue;
        }
        let (Some(start), Some(end)) = (stage.started_at_ms, stage.finished_at_ms) else {
            continue; // never started (cancelled while queued): no duration
        };
        let kind = after
            .pipeline
            .as_ref()
            .and_then(|p| p.stages.iter().find(|s| &s.name == name))
            .map_or("build", |s| stage_kind(&s.kind));
        changes.push(Change::Observe(
            &STAGE_DURATION,
            kind,
            end.saturating_sub(start),
        ));
    }
    changes
}

/// What moving a deployment from `before` (`None`: new) to `after` counts.
pub fn deployment_changes(before: Option<&Deployment>, after: &Deployment) -> Vec<Change> {
    let was_over = before.is_some_and(|b| b.status.is_final());
    match deployment_outcome(after.status) {
        Some(outcome) if !was_over => vec![Change::Count(deployment_finished_key(
            &after.environment,
            outcome,
        ))],
        _ => Vec::new(),
    }
}

/// Writes `changes`; a failure is logged, never returned.
pub async fn apply<K: KeyValue>(kv: &K, changes: &[Change]) {
    for change in changes {
        let written = match change {
            Change::Count(key) => kv.increment(key, 1).await.map(|_| ()),
            Change::Observe(histogram, label, ms) => histogram.observe(kv, label, *ms).await,
        };
        if let Err(e) = written {
            eprintln!("metrics not written: {e}");
        }
    }
}

/// Counts a failed call to `service`; a failure is logged, never returned.
pub async fn count_call_error<K: KeyValue>(kv: &K, service: &str) {
    apply(kv, &[Change::Count(call_error_key(service))]).await;
}

/// Records a webhook's answer time; a failure is logged, never returned.
pub async fn observe_webhook_answer<K: KeyValue>(kv: &K, ms: u64) {
    apply(kv, &[Change::Observe(&WEBHOOK_ANSWER, ALL, ms)]).await;
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
