//! One-line descriptions of runs and deployments, for chat answers and
//! reports.

use crate::deploy::records::{Deployment, DeploymentStatus};
use crate::runs::RunRecord;

fn status_name<T: serde::Serialize>(status: &T) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `1h 2m`, `3m 20s`, `45s`.
pub fn duration(ms: u64) -> String {
    let s = ms / 1000;
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s}s"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}

/// The branch or tag a run built.
pub fn branch(run: &RunRecord) -> &str {
    let r = &run.trigger.git_ref;
    r.strip_prefix("refs/heads/")
        .or_else(|| r.strip_prefix("refs/tags/"))
        .unwrap_or(r)
}

/// `shop-12 main@abc12345 succeeded in 3m 2s by alice`, with the stage
/// waiting or failing.
pub fn run_line(run: &RunRecord) -> String {
    let short = run.trigger.commit.get(..8).unwrap_or(&run.trigger.commit);
    let mut line = format!(
        "{} {}@{short} {}",
        run.id,
        branch(run),
        status_name(&run.status)
    );
    if let Some(ms) = run.duration_ms() {
        line.push_str(&format!(" in {}", duration(ms)));
    }
    if let Some(actor) = &run.trigger.actor {
        line.push_str(&format!(" by {actor}"));
    }
    let notable = run.stages.iter().find(|(_, s)| {
        matches!(
            s.status,
            crate::runs::StageStatus::WaitingForApproval
                | crate::runs::StageStatus::Failed
                | crate::runs::StageStatus::TimedOut
                | crate::runs::StageStatus::Running
        )
    });
    if let Some((name, stage)) = notable {
        line.push_str(&format!("; {name} {}", status_name(&stage.status)));
    }
    line
}

/// `#4 rolling registry/shop@sha256:… in-progress (canary at 25%) by alice`.
pub fn deployment_line(d: &Deployment) -> String {
    let mut line = format!(
        "{} #{} {} {} {}",
        d.environment,
        d.number,
        d.kind,
        d.image,
        status_name(&d.status)
    );
    let worth_saying = !d.status.is_final() || d.status == DeploymentStatus::Failed;
    if let Some(m) = d.message.as_deref().filter(|_| worth_saying) {
        line.push_str(&format!(" ({m})"));
    }
    if let Some(p) = d.traffic_percent.filter(|_| !d.status.is_final()) {
        line.push_str(&format!(", {p}% of traffic"));
    }
    line.push_str(&format!(" by {}", d.requested_by));
    line
}
