//! What a run needs next, derived from the run record alone: pure, so the
//! same record always gives the same plan, and a plan applied twice
//! changes nothing the second time.

use std::collections::{BTreeMap, BTreeSet};

use super::effect::Effect;
use super::statuses::desired_statuses;
use crate::config::ControlPlane;
use crate::engine::Mode;
use crate::intents::Claimed;
use crate::notify::NotifyOn;
use crate::pipeline::StageKind;
use crate::providers::Provider;
use crate::runs::hints::hinted_poll_due;
use crate::runs::{GatePolicy, RunRecord, RunStatus, StageStatus};

/// What a run's plan depends on besides the record: its app's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSettings {
    /// Ask the build service about a build silent this long.
    pub poll_after_ms: u64,
    /// Whether commit statuses go to the run's provider.
    pub post_statuses: bool,
    /// How long a claim on a side effect lasts.
    pub lease_ms: u64,
    /// Base of links in statuses and notices.
    pub public_base: String,
    /// Per chat target of the app: which notices it wants.
    pub notify: Vec<BTreeSet<NotifyOn>>,
    /// Per approval stage: what the configuration's policy asks of it.
    pub gates: BTreeMap<String, GatePolicy>,
}

impl RunSettings {
    /// The settings of `run`'s app in `config`.
    pub fn for_run(config: &ControlPlane, run: &RunRecord) -> RunSettings {
        let notify = config
            .apps
            .get(&run.app)
            .map(|a| {
                a.notify
                    .iter()
                    .map(|t| {
                        [NotifyOn::Failure, NotifyOn::Fixed, NotifyOn::Approval]
                            .into_iter()
                            .filter(|on| t.wants(*on))
                            .collect()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let gates = run
            .pipeline
            .iter()
            .flat_map(|p| p.stages.iter().map(move |s| (p, s)))
            .filter(|(_, s)| matches!(s.kind, StageKind::Approval { .. }))
            .map(|(p, s)| {
                let environment = p.gated_environment(&s.name).map(str::to_owned);
                let policy = environment
                    .as_deref()
                    .map(|e| config.access.policy(e))
                    .unwrap_or_default();
                let gate = GatePolicy {
                    environment,
                    required: policy.approvals,
                    ttl_ms: policy.approval_ttl_ms(),
                };
                (s.name.clone(), gate)
            })
            .collect();
        RunSettings {
            gates,
            poll_after_ms: config.tick.poll_after_ms(),
            lease_ms: config.tick.lease_ms(),
            post_statuses: Provider::from_path_segment(&run.trigger.provider).is_some(),
            public_base: config.public_base().to_owned(),
            notify,
        }
    }
}

/// Brings `run` up to date at `now_ms` (timeouts, approval stages
/// waiting, the run's status), records the side effects it calls for as
/// intents, and claims those that are due. The caller stores the record
/// with one compare-and-swap, then carries out the claims.
pub fn plan_run(
    run: &mut RunRecord,
    settings: &RunSettings,
    now_ms: u64,
    mode: Mode,
) -> Vec<Claimed> {
    let mut wanted = BTreeSet::new();
    // Nothing reads at, or reports on, an abbreviated commit: its full
    // hash comes first.
    let commit_known = run.trigger.commit_resolved();
    if run.awaiting_commit() {
        wanted.insert(Effect::ResolveCommit);
    } else if run.awaiting_pipeline() {
        wanted.insert(Effect::ReadPipeline);
    }
    run.expire_hold(now_ms);
    if !run.status.is_terminal() && run.pipeline.is_some() && !run.held() {
        time_out_stages(run, now_ms);
        start_ready_stages(run, settings, now_ms, &mut wanted);
        due_polls(run, settings, now_ms, &mut wanted);
        due_asks(run, settings, &mut wanted);
    }
    if settings.post_statuses && commit_known {
        if run.awaiting_base_comparison() {
            wanted.insert(Effect::CompareBasePipeline);
        }
        for status in desired_statuses(run, &settings.public_base) {
            if run.posted.get(&status.context) != Some(&super::statuses::key(&status)) {
                wanted.insert(Effect::Status {
                    context: status.context,
                });
            }
        }
    }
    if run.status.is_terminal() {
        due_notices(run, settings, &mut wanted);
    }
    let ids: BTreeSet<String> = wanted.iter().map(Effect::id).collect();
    run.intents.retain_wanted(now_ms, |id| ids.contains(id));
    for id in &ids {
        run.intents.want(id, now_ms);
    }
    run.intents
        .claim_due_where(now_ms, settings.lease_ms, |id| {
            mode == Mode::InRequest || Effect::parse(id).is_some_and(|e| e.may_repeat())
        })
}

/// Running or waiting stages past their timeout end as timed out.
fn time_out_stages(run: &mut RunRecord, now_ms: u64) {
    let Some(pipeline) = run.pipeline.clone() else {
        return;
    };
    for stage in &pipeline.stages {
        let Some(record) = run.stages.get(&stage.name) else {
            continue;
        };
        let live = matches!(
            record.status,
            StageStatus::Running | StageStatus::WaitingForApproval
        );
        let started = record.started_at_ms.unwrap_or(now_ms);
        let expired = record
            .approval
            .as_ref()
            .is_some_and(|g| now_ms >= g.expires_at_ms);
        if live && (expired || now_ms.saturating_sub(started) > stage.timeout_ms) {
            let attempt = record.attempt;
            let reason = if expired {
                "the approval request expired".to_owned()
            } else {
                format!("no result within {} s", stage.timeout_ms / 1000)
            };
            let _ = run.stage_finished(
                &stage.name,
                attempt,
                StageStatus::TimedOut,
                now_ms,
                Some(reason),
            );
        }
    }
}

/// Ready approval stages start waiting; ready build and deploy stages
/// want their start.
fn start_ready_stages(
    run: &mut RunRecord,
    settings: &RunSettings,
    now_ms: u64,
    wanted: &mut BTreeSet<Effect>,
) {
    let Some(pipeline) = run.pipeline.clone() else {
        return;
    };
    for name in run.ready_stages() {
        let (Some(stage), Some(record)) = (pipeline.stage(&name), run.stages.get(&name)) else {
            continue;
        };
        let attempt = record.attempt;
        match &stage.kind {
            StageKind::Approval { .. } => {
                let _ = run.stage_started(&name, attempt, now_ms, None, None);
                let policy = settings.gates.get(&name).cloned().unwrap_or(GatePolicy {
                    environment: None,
                    required: 1,
                    ttl_ms: crate::access::DEFAULT_APPROVAL_TTL_MS,
                });
                run.open_gate(&name, &policy, now_ms);
            }
            StageKind::Build { .. } => {
                wanted.insert(Effect::Trigger {
                    stage: name,
                    attempt,
                });
            }
            StageKind::Deploy { .. } => {
                wanted.insert(Effect::Deploy {
                    stage: name,
                    attempt,
                });
            }
        }
    }
}

/// Running builds silent for the poll interval, or that a hint asked
/// about, are asked about.
fn due_polls(run: &RunRecord, settings: &RunSettings, now_ms: u64, wanted: &mut BTreeSet<Effect>) {
    let Some(pipeline) = &run.pipeline else {
        return;
    };
    for stage in &pipeline.stages {
        let Some(record) = run.stages.get(&stage.name) else {
            continue;
        };
        let is_build = matches!(stage.kind, StageKind::Build { .. });
        let last = record
            .last_polled_at_ms
            .or(record.started_at_ms)
            .unwrap_or(now_ms);
        // A hint (check run, CloudEvent) makes the poll due now, at most
        // once per hint interval.
        let due = now_ms.saturating_sub(last) >= settings.poll_after_ms
            || hinted_poll_due(record, now_ms);
        if is_build && record.status == StageStatus::Running && record.external_id.is_some() && due
        {
            wanted.insert(Effect::Poll {
                stage: stage.name.clone(),
                attempt: record.attempt,
            });
        }
    }
}

/// Approval stages waiting for people ask each chat target that wants
/// approvals, once per attempt.
fn due_asks(run: &RunRecord, settings: &RunSettings, wanted: &mut BTreeSet<Effect>) {
    for (name, stage) in &run.stages {
        if stage.status != StageStatus::WaitingForApproval || stage.approval.is_none() {
            continue;
        }
        for (target, wants) in settings.notify.iter().enumerate() {
            let effect = Effect::Ask {
                stage: name.clone(),
                attempt: stage.attempt,
                target,
            };
            if wants.contains(&NotifyOn::Approval) && !run.notices.contains(&effect.id()) {
                wanted.insert(effect);
            }
        }
    }
}

/// The branch's outcome record, then failure and "fixed" notices, once
/// per chat target.
fn due_notices(run: &RunRecord, settings: &RunSettings, wanted: &mut BTreeSet<Effect>) {
    for index in 0..run.replies.len() {
        let effect = Effect::Reply { index };
        if !run.notices.contains(&effect.id()) {
            wanted.insert(effect);
        }
    }
    let failed = matches!(run.status, RunStatus::Failed | RunStatus::TimedOut);
    let counts = failed || run.status == RunStatus::Succeeded;
    if counts && run.previous_outcome.is_none() {
        wanted.insert(Effect::RecordOutcome);
    }
    let on = if failed {
        NotifyOn::Failure
    } else if run.status == RunStatus::Succeeded
        && run.previous_outcome.as_deref() == Some("failed")
    {
        NotifyOn::Fixed
    } else {
        return;
    };
    for (target, wants) in settings.notify.iter().enumerate() {
        let effect = Effect::Notify { on, target };
        if wants.contains(&on) && !run.notices.contains(&effect.id()) {
            wanted.insert(effect);
        }
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
