//! The reads behind `status` and `runs`.

use crate::deploy::records::{Deployment, DeploymentStatus, Records};
use crate::engine::Refusal;
use crate::ports::KeyValue;
use crate::runs::{RunRecord, RunStore};

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
