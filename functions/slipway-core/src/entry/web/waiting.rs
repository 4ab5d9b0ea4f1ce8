//! `GET /api/waiting`: what the signed-in person may move on now, across
//! every app: approvals they may give, canaries paused for a promote,
//! and the newest run of a branch that failed, to retry. Its cost follows
//! the unfinished work (the active indexes) and the number of branches,
//! not the history.

use serde_json::{Value, json};

use super::{Viewer, WebRequest};
use crate::access::Role;
use crate::active::ActiveIndex;
use crate::deploy::records::{DeploymentStatus, Records};
use crate::engine::Deps;
use crate::entry::Reply;
use crate::entry::auth::authenticate;
use crate::ports::{Clock, KeyValue, Secrets};
use crate::runs::index::RunIndex;
use crate::runs::{RunStatus, RunStore, StageStatus, run_id};

fn unavailable(e: impl std::fmt::Display) -> Reply {
    Reply::error(503, e.to_string())
}

/// Everything waiting for the caller.
pub async fn waiting<K: KeyValue, H, C: Clock, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    request: &WebRequest<'_>,
) -> Reply {
    let actor = match authenticate(deps, request.headers).await {
        Ok(actor) => actor,
        Err(reply) => return reply,
    };
    let viewer = Viewer { actor: Some(actor) };
    let mut approvals = Vec::new();
    let mut retries = Vec::new();
    for app in deps.config.apps.keys() {
        if !viewer.allows(deps.config, Role::Viewer, app, None) {
            continue;
        }
        match approvals_of(deps, &viewer, app).await {
            Ok(found) => approvals.extend(found),
            Err(reply) => return reply,
        }
        if viewer.allows(deps.config, Role::Deployer, app, None) {
            match retries_of(deps, app).await {
                Ok(found) => retries.extend(found),
                Err(reply) => return reply,
            }
        }
    }
    let promotions = match promotions(deps, &viewer).await {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    Reply::new(
        200,
        json!({
            "person": viewer.person(),
            "approvals": approvals,
            "promotions": promotions,
            "retries": retries,
        }),
    )
}

/// The unfinished runs of `app`: the active index, and the runs numbered
/// above its watermark that the tick has not adopted yet.
async fn unfinished<K: KeyValue>(kv: &K, app: &str) -> Result<Vec<u64>, Reply> {
    let index = ActiveIndex::new(kv).runs(app).await.map_err(unavailable)?;
    let last = RunStore::new(kv)
        .last_number(app)
        .await
        .map_err(unavailable)?;
    let mut numbers: Vec<u64> = index.active.keys().copied().collect();
    numbers.extend(index.watermark + 1..=last);
    numbers.sort_unstable();
    numbers.dedup();
    Ok(numbers)
}

async fn approvals_of<K: KeyValue, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    viewer: &Viewer,
    app: &str,
) -> Result<Vec<Value>, Reply> {
    let numbers = unfinished(deps.kv, app).await?;
    let summaries = RunIndex::new(deps.kv)
        .summaries(app, numbers)
        .await
        .map_err(unavailable)?;
    let runs = RunStore::new(deps.kv);
    let mut out = Vec::new();
    for summary in summaries.iter().rev() {
        let waits = summary
            .stages
            .iter()
            .any(|s| s.status == StageStatus::WaitingForApproval);
        if !waits {
            continue;
        }
        let Some(run) = runs
            .load(&run_id(app, summary.number))
            .await
            .map_err(unavailable)?
        else {
            continue;
        };
        for stage in viewer.approves(deps.config, &run) {
            let record = &run.stages[&stage];
            let gate = record.approval.as_ref();
            out.push(json!({
                "run": run.id,
                "app": app,
                "stage": stage,
                "attempt": record.attempt,
                "environment": gate.and_then(|g| g.environment.clone()),
                "commit": run.trigger.commit,
                "branch": summary.branch,
                "since_ms": record.started_at_ms,
                "expires_at_ms": gate.map(|g| g.expires_at_ms),
            }));
        }
    }
    Ok(out)
}

async fn retries_of<K: KeyValue, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    app: &str,
) -> Result<Vec<Value>, Reply> {
    let heads = RunIndex::new(deps.kv)
        .heads(app)
        .await
        .map_err(unavailable)?;
    let mut out = Vec::new();
    for head in heads.newest_first() {
        if !matches!(head.status, RunStatus::Failed | RunStatus::TimedOut) {
            continue;
        }
        let failed = head
            .stages
            .iter()
            .find(|s| matches!(s.status, StageStatus::Failed | StageStatus::TimedOut));
        if let Some(stage) = failed {
            out.push(json!({
                "run": head.id,
                "app": app,
                "stage": stage.name,
                "branch": head.branch,
                "status": stage.status,
            }));
        }
    }
    Ok(out)
}

async fn promotions<K: KeyValue, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    viewer: &Viewer,
) -> Result<Vec<Value>, Reply> {
    let records = Records::new(deps.kv);
    let ids = ActiveIndex::new(deps.kv)
        .deployments()
        .await
        .map_err(unavailable)?;
    let mut out = Vec::new();
    for id in ids {
        let Some(d) = records.load_id(&id).await.map_err(unavailable)? else {
            continue;
        };
        let may = viewer.allows(deps.config, Role::Deployer, &d.app, Some(&d.environment));
        if d.status == DeploymentStatus::Paused && may {
            out.push(json!({
                "deployment": d.id,
                "app": d.app,
                "environment": d.environment,
                "traffic_percent": d.traffic_percent,
                "step": d.rollout.as_ref().and_then(|r| r.step()),
                "run": d.stage.as_ref().map(|s| &s.run),
            }));
        }
    }
    Ok(out)
}
