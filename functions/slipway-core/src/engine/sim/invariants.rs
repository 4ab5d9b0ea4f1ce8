//! What must hold after any schedule, once faults stop and time passes:
//!
//! - every run is finished with nothing pending, or waits on something
//!   outside that its record names (an environment held by a deployment
//!   paused for promote, a deployment still rolling out);
//! - one run per event, and every push answered 202 or "duplicate" has it;
//! - each stage attempt was triggered, and each notice sent, once, except
//!   for repeats by a request that died, stalled past its claim, or lost
//!   the answer (the at-least-once window the README documents);
//! - a deployment's status never leaves a terminal state; a finished
//!   canary leaves no traffic on the canary; the environment's lock is
//!   held only by an unfinished deployment;
//! - the active index covers every unfinished run and deployment.

use std::collections::BTreeMap;

use super::{Summary, World};
use crate::active::ActiveIndex;
use crate::deploy::Strategy;
use crate::deploy::kubernetes::tests::canary::weights;
use crate::deploy::records::{Deployment, DeploymentStatus, Lock};
use crate::runs::{RunRecord, StageStatus};

fn records<T: serde::de::DeserializeOwned>(w: &World, prefix: &str) -> Vec<T> {
    w.mem
        .map
        .borrow()
        .iter()
        .filter(|(k, _)| {
            k.starts_with(prefix) && k[prefix.len()..].bytes().all(|b| b.is_ascii_digit())
        })
        .filter_map(|(_, v)| serde_json::from_slice(v).ok())
        .collect()
}

fn violation(w: &World, what: String) {
    w.violations.borrow_mut().push(what);
}

/// Notes every deployment's status; a terminal one must never change.
pub fn observe_deployments(w: &World) {
    let now: Vec<Deployment> = records(w, "deployment/web/prod/");
    let mut seen = w.deployments_seen.borrow_mut();
    for d in now {
        let history = seen.entry(d.id.clone()).or_default();
        match history.last() {
            Some(last) if *last == d.status => {}
            Some(last) if last.is_final() => {
                violation(
                    w,
                    format!("deployment {} went from {last:?} to {:?}", d.id, d.status),
                );
                history.push(d.status);
            }
            _ => history.push(d.status),
        }
    }
}

/// Checks every invariant; the summary lists what broke.
pub fn check(w: &World) -> Summary {
    let runs: Vec<RunRecord> = records(w, "run/web/");
    let deployments: Vec<Deployment> = records(w, "deployment/web/prod/");
    check_runs(w, &runs, &deployments);
    check_answers(w, &runs);
    let repeats = check_calls(w);
    check_deployments(w, &deployments);
    check_index(w, &runs, &deployments);
    Summary {
        runs: runs.len() as u64,
        deployments: deployments.len() as u64,
        repeats,
        violations: w.violations.borrow().clone(),
        ..Summary::default()
    }
}

fn check_runs(w: &World, runs: &[RunRecord], deployments: &[Deployment]) {
    let mut per_event: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for run in runs {
        if let Some(e) = &run.event {
            per_event.entry(e).or_default().push(&run.id);
        }
        if run.status.is_terminal() && run.intents.is_empty() {
            continue;
        }
        let waits = run.intents.0.iter().all(|(id, i)| {
            id.starts_with("deploy/") && i.last_error.as_deref().is_some_and(|e| e.contains("busy"))
        }) && run.stages.values().all(|s| {
            s.status != StageStatus::Running
                || s.external_id.as_ref().is_some_and(|id| {
                    deployments
                        .iter()
                        .any(|d| &d.id == id && !d.status.is_final())
                })
        });
        if !waits {
            violation(
                w,
                format!(
                    "run {} is stuck: {}",
                    run.id,
                    serde_json::to_string(run).unwrap_or_default()
                ),
            );
        }
    }
    for (event, ids) in per_event {
        if ids.len() > 1 {
            violation(w, format!("event {event} has runs {ids:?}"));
        }
    }
}

fn check_answers(w: &World, runs: &[RunRecord]) {
    for answer in w.answers.borrow().iter() {
        let Some(id) = &answer.run else { continue };
        if !matches!(answer.status, 200 | 202) {
            continue;
        }
        if !runs.iter().any(|r| &r.id == id) {
            violation(
                w,
                format!(
                    "push {} was answered {} with run {id}, which does not exist",
                    answer.event, answer.status
                ),
            );
        }
    }
}

/// Triggers and notices counted without the allowed repeats; returns how
/// many allowed repeats there were.
fn check_calls(w: &World) -> u64 {
    let crashed = w.crashed.borrow();
    let mut counted: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    let calls = w.calls.borrow();
    for call in calls.iter().filter(|c| !c.what.starts_with("status")) {
        let entry = counted.entry(call.what.as_str()).or_default();
        entry.0 += 1;
        if !call.lost && !call.stale && !crashed.contains(&call.request) {
            entry.1 += 1;
        }
    }
    let mut repeats = 0;
    for (what, (all, firm)) in counted {
        let allowed = allowed_sends(w, what);
        repeats += u64::from(all.saturating_sub(allowed));
        if firm > allowed {
            violation(
                w,
                format!("{what} went out {firm} times, {allowed} allowed"),
            );
        }
    }
    repeats
}

/// How often a call may go out firmly: once, and a failure notice once per
/// failed end of its run (a retried run can fail again).
fn allowed_sends(w: &World, what: &str) -> u32 {
    let Some(rest) = what.strip_prefix("notice ") else {
        return 1;
    };
    let record = rest.split(' ').next().unwrap_or("");
    let Some((app, n)) = record.rsplit_once('-').filter(|_| !record.contains('.')) else {
        return 1;
    };
    let key = format!("run/{app}/{n}");
    let map = w.mem.map.borrow();
    let Some(run) = map
        .get(&key)
        .and_then(|b| serde_json::from_slice::<RunRecord>(b).ok())
    else {
        return 1;
    };
    let ends = |to: &[&str]| {
        run.transitions
            .iter()
            .filter(|t| t.stage.is_none() && to.contains(&t.to.as_str()))
            .count() as u32
    };
    if what.contains("passed again") {
        ends(&["succeeded"]).max(1)
    } else {
        ends(&["failed", "timed-out"]).max(1)
    }
}

fn check_deployments(w: &World, deployments: &[Deployment]) {
    let newest_canary = deployments
        .iter()
        .filter(|d| matches!(d.strategy, Strategy::Canary { .. }) && d.rollout.is_some())
        .max_by_key(|d| d.number);
    // A canary that ended by abort, by success, or by failing and rolling
    // back leaves all traffic on stable.
    let back_on_stable = |d: &&Deployment| match d.status {
        DeploymentStatus::Failed => d.rolled_back,
        status => status.is_final(),
    };
    if let Some(d) = newest_canary.filter(back_on_stable)
        && weights(&w.kube) != (100, 0)
    {
        violation(
            w,
            format!(
                "canary {} ended {:?} but traffic is {:?}",
                d.id,
                d.status,
                weights(&w.kube)
            ),
        );
    }
    let now = w.clock.0.get();
    let lock: Option<Lock> = w
        .mem
        .map
        .borrow()
        .get("lock/web/prod")
        .and_then(|b| serde_json::from_slice(b).ok());
    if let Some(holder) = lock
        .filter(|l| l.expires_at_ms.is_some_and(|e| e > now))
        .and_then(|l| l.holder)
    {
        let live = deployments
            .iter()
            .any(|d| d.id == holder && !d.status.is_final());
        if !live {
            violation(
                w,
                format!("prod is held by {holder}, which is not in progress"),
            );
        }
    }
    for d in deployments
        .iter()
        .filter(|d| d.status == DeploymentStatus::InProgress)
    {
        // Nothing holds an unfinished deployment back after the settling
        // ticks but the cluster, which rolled everything out.
        let waiting_canary = matches!(d.strategy, Strategy::Canary { .. });
        if !waiting_canary {
            violation(
                w,
                format!("deployment {} is still in progress: {:?}", d.id, d.message),
            );
        }
    }
}

fn check_index(w: &World, runs: &[RunRecord], deployments: &[Deployment]) {
    let index = ActiveIndex::new(&w.mem);
    let Ok(active) = futures::executor::block_on(index.runs("web")) else {
        return violation(w, "active index unreadable".into());
    };
    for run in runs.iter().filter(|r| !r.status.is_terminal()) {
        if run.number <= active.watermark && !active.active.contains_key(&run.number) {
            violation(
                w,
                format!("unfinished run {} is missing from the index", run.id),
            );
        }
    }
    let listed = futures::executor::block_on(index.deployments()).unwrap_or_default();
    for d in deployments.iter().filter(|d| !d.status.is_final()) {
        if !listed.contains(&d.id) {
            violation(
                w,
                format!("unfinished deployment {} is missing from the index", d.id),
            );
        }
    }
}
