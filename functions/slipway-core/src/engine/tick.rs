//! The tick: reconciles every unfinished run and deployment, found through
//! the active index, within a time budget, continuing from where the last
//! tick stopped. Its cost follows the records in flight, not the history.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Deps, Engine, Target};
use crate::active::{ActiveIndex, Seen};
use crate::deploy::records::Records;
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::runs::index::RunIndex;
use crate::runs::{RunStore, run_id};

/// Run numbers one tick adopts per app at most (a store upgraded from a
/// version without the index catches up over a few ticks).
const ADOPT_BATCH: u64 = 500;

/// What one tick did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct TickReport {
    /// Unfinished records found.
    pub active: usize,
    /// Records reconciled.
    pub visited: usize,
    /// Side effects carried out.
    pub effects: u32,
    /// Records that finished and left the index.
    pub finished: usize,
    /// Whether the budget ran out before every record was visited.
    pub more: bool,
}

/// Runs one tick, spending at most `budget_ms`.
pub async fn tick<K, H, C, S>(deps: &Deps<'_, K, H, C, S>, budget_ms: u64) -> TickReport
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let deadline = deps.clock.now_ms().saturating_add(budget_ms);
    let index = ActiveIndex::new(deps.kv);
    let mut targets = Vec::new();
    let mut generations = BTreeMap::new();
    for app in deps.config.apps.keys() {
        match adopt(deps, app).await {
            Ok(numbers) => {
                for (n, generation) in numbers {
                    generations.insert(run_id(app, n), generation);
                    targets.push(Target::Run(run_id(app, n)));
                }
            }
            Err(e) => eprintln!("tick: runs of {app}: {e}"),
        }
    }
    let indexed = match index.deployments().await {
        Ok(ids) => ids,
        Err(e) => {
            eprintln!("tick: deployments: {e}");
            Default::default()
        }
    };
    // Each environment's lock holder too: a deployment whose index entry
    // was lost to a crash still holds its environment. It goes back in.
    for holder in lock_holders(deps).await {
        if !indexed.contains(&holder) {
            let _ = index.set_deployment(&holder, true).await;
            targets.push(Target::Deployment(holder));
        }
    }
    targets.extend(indexed.into_iter().map(Target::Deployment));
    targets.sort();
    targets.dedup();
    // Start after the record the last tick stopped at, so a tick that
    // runs out of budget does not starve the records after it.
    if let Ok(Some(cursor)) = index.cursor().await {
        let at = targets.iter().position(|t| t.key() > cursor).unwrap_or(0);
        targets.rotate_left(at);
    }
    let mut report = TickReport {
        active: targets.len(),
        ..TickReport::default()
    };
    let engine = Engine::new(deps);
    let mut finished: BTreeMap<String, BTreeMap<u64, Seen>> = BTreeMap::new();
    let mut stopped_at = None;
    for target in targets {
        if deps.clock.now_ms() >= deadline {
            report.more = true;
            break;
        }
        let visit = engine.reconcile(target.clone(), deadline).await;
        report.visited += 1;
        report.effects += visit.effects;
        if visit.done {
            report.finished += 1;
            if let Target::Run(id) = &target
                && let Some((app, n)) = crate::runs::parse_run_id(id)
            {
                let generation = generations.get(id).copied();
                finished
                    .entry(app.to_owned())
                    .or_default()
                    .insert(n, Seen::Done(generation));
            }
        }
        stopped_at = Some(target.key());
    }
    let now = deps.clock.now_ms();
    for (app, seen) in finished {
        let watermark = index.runs(&app).await.map(|i| i.watermark).unwrap_or(0);
        if let Err(e) = index.record_runs(&app, watermark, &seen, now).await {
            eprintln!("tick: index of {app}: {e}");
        }
    }
    let cursor = if report.more { stopped_at } else { None };
    let _ = index.set_cursor(cursor.as_deref()).await;
    report
}

/// The deployments holding an environment of an app now.
async fn lock_holders<K: KeyValue, H, C: Clock, S>(deps: &Deps<'_, K, H, C, S>) -> Vec<String> {
    let records = Records::new(deps.kv);
    let now = deps.clock.now_ms();
    let mut holders = Vec::new();
    for app in deps.config.apps.keys() {
        for env in deps.config.environments.keys() {
            if let Ok(Some(lock)) = records.holder(app, env, now).await {
                holders.extend(lock.holder);
            }
        }
    }
    holders
}

/// Adopts `app`'s runs numbered above the index's watermark, and returns
/// the unfinished run numbers with their generations.
async fn adopt<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    app: &str,
) -> Result<Vec<(u64, u32)>, String>
where
    K: KeyValue,
    C: Clock,
{
    let runs = RunStore::new(deps.kv);
    let index = ActiveIndex::new(deps.kv);
    let counter = runs.last_number(app).await.map_err(|e| e.to_string())?;
    let current = index.runs(app).await.map_err(|e| e.to_string())?;
    let upto = counter.min(current.watermark + ADOPT_BATCH);
    let numbers: Vec<u64> = (current.watermark + 1..=upto)
        .chain(current.missing.keys().copied())
        .collect();
    if numbers.is_empty() {
        return Ok(current.active.into_iter().collect());
    }
    let mut seen = BTreeMap::new();
    let now = deps.clock.now_ms();
    for n in numbers {
        let state = match runs.load(&run_id(app, n)).await {
            Ok(Some(r)) if super::settled(&r, deps.config, now) => {
                // Never reconciled (it ended as it was written): index it
                // before it leaves the tick's view.
                if let Err(e) = RunIndex::new(deps.kv).ensure(&r).await {
                    return Err(e.to_string());
                }
                Seen::Done(None)
            }
            Ok(Some(_)) => Seen::Active,
            Ok(None) => Seen::Missing,
            Err(e) => return Err(e.to_string()),
        };
        seen.insert(n, state);
    }
    let updated = index
        .record_runs(app, upto, &seen, now)
        .await
        .map_err(|e| e.to_string())?;
    Ok(updated.active.into_iter().collect())
}
