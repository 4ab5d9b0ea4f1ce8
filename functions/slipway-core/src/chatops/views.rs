//! One-line descriptions of runs and deployments, and the reads behind
//! `status` and `runs`.

use crate::deploy::records::{Deployment, DeploymentStatus, Records};
use crate::engine::Refusal;
use crate::ports::KeyValue;
use crate::runs::{RunRecord, RunStore};

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

/// The newest runs of `app`, newest first, looking at most at `scan`
/// numbers and keeping those `keep` accepts, up to `limit`.
pub async fn recent_runs<K: KeyValue>(
    kv: &K,
    app: &str,
    scan: u64,
    limit: usize,
    keep: impl Fn(&RunRecord) -> bool,
) -> Result<Vec<RunRecord>, Refusal> {
    let runs = RunStore::new(kv);
    let unavailable = |e: crate::runs::StoreError| Refusal::Unavailable(e.to_string());
    let last = runs.last_number(app).await.map_err(unavailable)?;
    let mut out = Vec::new();
    let mut n = last;
    while n >= 1 && last - n < scan && out.len() < limit {
        if let Some(run) = runs
            .load(&crate::runs::run_id(app, n))
            .await
            .map_err(unavailable)?
            && keep(&run)
        {
            out.push(run);
        }
        n -= 1;
    }
    Ok(out)
}

/// The live release and the deployment in flight of `app` in `env`.
pub async fn releases<K: KeyValue>(
    kv: &K,
    app: &str,
    env: &str,
) -> Result<(Option<Deployment>, Option<Deployment>), Refusal> {
    let history = Records::new(kv)
        .history(app, env, 20)
        .await
        .map_err(|e| Refusal::Unavailable(e.to_string()))?;
    let live = history
        .iter()
        .find(|d| d.status == DeploymentStatus::Succeeded)
        .cloned();
    let moving = history.iter().find(|d| !d.status.is_final()).cloned();
    Ok((live, moving))
}
