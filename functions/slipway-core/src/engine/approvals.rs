//! Approving and rejecting an approval stage: one set of checks for every
//! path (chat command, chat button, API, web page), then the decision as a
//! fact on the run. Reconciling the run moves the pipeline on.

use super::deploy_requests::Refusal;
use crate::access::{Access, Actor, Role};
use crate::ports::KeyValue;
use crate::runs::{Decided, Decision, DecisionError, RunRecord, RunStore, StoreError, Verdict};

/// How many newer runs of the app are looked at for one that superseded
/// the run being approved.
const SUPERSEDE_WINDOW: u64 = 50;

/// What the caller decides.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Run id.
    pub run: String,
    /// Approval stage.
    pub stage: String,
    /// The attempt the request was for (buttons carry it; a typed command
    /// answers the current one).
    pub attempt: Option<u32>,
    /// Approve or reject.
    pub verdict: Verdict,
    /// Why.
    pub reason: Option<String>,
}

/// Checks that `actor` may answer, then records the answer on the run.
/// Refusals write nothing.
pub async fn decide(
    kv: &impl KeyValue,
    access: &Access,
    actor: &Actor,
    answer: &Answer,
    now_ms: u64,
) -> Result<(RunRecord, Decided), Refusal> {
    let runs = RunStore::new(kv);
    let run = runs
        .load(&answer.run)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| Refusal::NotFound(format!("no run {:?}", answer.run)))?;
    let decision = Decision {
        verdict: answer.verdict,
        by: actor.person.clone(),
        identity: actor.identity.clone(),
        via: actor.via.clone(),
        at_ms: now_ms,
        reason: answer.reason.clone(),
        commit: String::new(),
        digest: None,
    };
    // The record's own rules first (waiting, not expired, not answered
    // twice), on a copy, so the refusal names the real problem.
    run.clone()
        .decide(&answer.stage, answer.attempt, decision.clone(), now_ms)
        .map_err(refused)?;
    may_answer(access, actor, &run, &answer.stage)?;
    if let Some(newer) = superseded_by(&runs, &run, &answer.stage).await? {
        return Err(Refusal::Conflict(format!(
            "{} is superseded: {newer} has reached {}",
            run.id, answer.stage
        )));
    }
    let (stored, outcome, _) = runs
        .update(&answer.run, |r| {
            let mut trial = r.clone();
            let outcome = trial.decide(&answer.stage, answer.attempt, decision.clone(), now_ms);
            if outcome.is_ok() {
                *r = trial;
            }
            Ok(outcome)
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(id) => Refusal::NotFound(format!("no run {id:?}")),
            other => unavailable(other),
        })?;
    Ok((stored, outcome.map_err(refused)?))
}

fn unavailable(e: StoreError) -> Refusal {
    Refusal::Unavailable(e.to_string())
}

fn refused(e: DecisionError) -> Refusal {
    match e {
        DecisionError::Transition(crate::runs::TransitionError::UnknownStage(s)) => {
            Refusal::NotFound(format!("run has no stage {s:?}"))
        }
        other => Refusal::Conflict(other.to_string()),
    }
}

/// Whether `actor` may answer `stage` of `run`: the role, the pipeline's
/// approver list and the self-approval rule.
pub fn may_answer(
    access: &Access,
    actor: &Actor,
    run: &RunRecord,
    stage: &str,
) -> Result<(), Refusal> {
    let Some(gate) = run.stages.get(stage).and_then(|s| s.approval.as_ref()) else {
        return Err(Refusal::Conflict(format!(
            "{stage:?} is not waiting for approval"
        )));
    };
    let env = gate.environment.as_deref();
    let person = actor.person.as_str();
    if !access.allows(person, Role::Approver, &run.app, env) {
        return Err(Refusal::Forbidden(format!(
            "answering {stage} of {} needs the approver role for {}{}",
            run.app,
            run.app,
            env.map(|e| format!(" in {e}")).unwrap_or_default()
        )));
    }
    if !gate.approvers.is_empty() && !gate.approvers.iter().any(|a| access.is(person, a)) {
        return Err(Refusal::Forbidden(format!(
            "the pipeline names who approves {stage}: {}",
            gate.approvers.join(", ")
        )));
    }
    let self_approval = env.is_some_and(|e| access.policy(e).self_approval);
    let pushed = run
        .trigger
        .actor
        .as_deref()
        .is_some_and(|login| access.is_git_identity(person, &run.trigger.provider, login));
    if pushed && !self_approval {
        return Err(Refusal::Forbidden(format!(
            "{person} pushed {}; someone else must approve it{}",
            short(&run.trigger.commit),
            env.map(|e| format!(" (self-approval is off for {e})"))
                .unwrap_or_default()
        )));
    }
    Ok(())
}

fn short(commit: &str) -> &str {
    commit.get(..8).unwrap_or(commit)
}

/// A newer run of the same app and ref that has reached `stage`: an
/// approval of the older one would approve what is no longer the latest.
async fn superseded_by<K: KeyValue>(
    runs: &RunStore<'_, K>,
    run: &RunRecord,
    stage: &str,
) -> Result<Option<String>, Refusal> {
    let last = runs.last_number(&run.app).await.map_err(unavailable)?;
    let first = run.number + 1;
    let from = first.max(last.saturating_sub(SUPERSEDE_WINDOW) + 1);
    for number in (from..=last).rev() {
        let id = crate::runs::run_id(&run.app, number);
        let Some(newer) = runs.load(&id).await.map_err(unavailable)? else {
            continue;
        };
        let reached = newer
            .stages
            .get(stage)
            .is_some_and(|s| s.started_at_ms.is_some());
        if newer.trigger.git_ref == run.trigger.git_ref && reached {
            return Ok(Some(newer.id));
        }
    }
    Ok(None)
}
