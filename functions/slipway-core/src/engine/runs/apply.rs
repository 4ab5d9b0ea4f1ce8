//! Recording what a run's side effect did: pure, applied inside the
//! compare-and-swap round, and only while the claim that carried the effect
//! out still owns its intent (a stale result is dropped, never applied).

use super::effect::Effect;
use crate::intents::Claimed;
use crate::pipeline::Pipeline;
use crate::runs::{BaseComparison, ImageArtifact, Report, RunRecord, StageStatus};

/// Tries of a status or notice before it is given up (logged).
const MAX_NOTICE_TRIES: u32 = 5;
/// Tries of reading the pipeline file (or looking up the commit's full
/// hash) before the run fails.
const MAX_PIPELINE_TRIES: u32 = 8;

/// What carrying out one effect came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Not tried: this request ran out of time; the next reconcile does it.
    NotTried,
    /// A temporary failure: try again at `at_ms`.
    Retry {
        /// When.
        at_ms: u64,
        /// What went wrong (no secrets).
        error: String,
    },
    /// The commit's full hash, or why there is none (no such commit).
    CommitResolved(Result<String, String>),
    /// The pipeline file: found and parsed, absent, or invalid.
    PipelineRead(Result<Option<Pipeline>, String>),
    /// A merge request's pipeline file compared with its target branch's.
    BaseCompared(BaseComparison),
    /// The build service accepted the build.
    Triggered {
        /// Its id there.
        external_id: Option<String>,
        /// Its page.
        url: Option<String>,
    },
    /// The stage cannot start (refused, misconfigured): it fails.
    StageFailed(String),
    /// The deployment for a deploy stage exists.
    DeployStarted {
        /// Deployment id.
        deployment: String,
        /// What it deploys.
        image: ImageArtifact,
    },
    /// What polling found: a result, and a new build id (a Jenkins queue
    /// item that became a build).
    Polled {
        /// The build's result, if it ended.
        report: Option<Report>,
        /// Its new id and page.
        moved: Option<(String, Option<String>)>,
    },
    /// A commit status went out (its key).
    Posted(String),
    /// The branch's previous outcome.
    BranchRecorded(String),
    /// The notice went out.
    Noticed,
}

impl Outcome {
    /// Its name in log lines (`triggered`, `retry`, `stage_failed`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::NotTried => "not_tried",
            Outcome::Retry { .. } => "retry",
            Outcome::CommitResolved(Ok(_)) => "commit_resolved",
            Outcome::CommitResolved(Err(_)) => "commit_missing",
            Outcome::PipelineRead(Ok(Some(_))) => "pipeline_read",
            Outcome::PipelineRead(Ok(None)) => "pipeline_missing",
            Outcome::PipelineRead(Err(_)) => "pipeline_invalid",
            Outcome::BaseCompared(_) => "base_compared",
            Outcome::Triggered { .. } => "triggered",
            Outcome::StageFailed(_) => "stage_failed",
            Outcome::DeployStarted { .. } => "deploy_started",
            Outcome::Polled {
                report: Some(_), ..
            } => "polled_ended",
            Outcome::Polled { .. } => "polled_running",
            Outcome::Posted(_) => "posted",
            Outcome::BranchRecorded(_) => "branch_recorded",
            Outcome::Noticed => "noticed",
        }
    }
}

/// Applies `outcome` of `claim` to `run` at `now_ms`.
pub fn apply(run: &mut RunRecord, claim: &Claimed, outcome: &Outcome, now_ms: u64) {
    if !run.intents.owns(claim) {
        return;
    }
    let Some(effect) = Effect::parse(&claim.id) else {
        run.intents.finish(claim);
        return;
    };
    match outcome {
        Outcome::NotTried => {
            run.intents.release(claim);
        }
        Outcome::Retry { at_ms, error } => retry(run, claim, &effect, *at_ms, error, now_ms),
        Outcome::CommitResolved(found) => {
            run.intents.finish(claim);
            run.commit_looked_up(found.clone(), now_ms);
            // The pipeline read is wanted in the same write, so the run
            // never looks settled between the two steps.
            if run.awaiting_pipeline() {
                run.intents.want(&Effect::ReadPipeline.id(), now_ms);
            }
        }
        Outcome::PipelineRead(read) => {
            run.intents.finish(claim);
            run.pipeline_read(read.clone(), now_ms);
        }
        Outcome::BaseCompared(found) => {
            run.intents.finish(claim);
            run.base_compared(found.clone());
        }
        Outcome::Triggered { external_id, url } => {
            let calls = run.intents.failures_with(claim);
            run.intents.finish(claim);
            if let Effect::Trigger { stage, attempt } = &effect {
                if let Some(s) = run.stages.get_mut(stage) {
                    s.trigger_calls = calls;
                }
                let _ =
                    run.stage_started(stage, *attempt, now_ms, external_id.clone(), url.clone());
            }
        }
        Outcome::StageFailed(reason) => {
            run.intents.finish(claim);
            fail_stage(run, &effect, reason, now_ms);
        }
        Outcome::DeployStarted { deployment, image } => {
            run.intents.finish(claim);
            if let Effect::Deploy { stage, attempt } = &effect
                && run
                    .stage_started(stage, *attempt, now_ms, Some(deployment.clone()), None)
                    .is_ok()
                && let Some(s) = run.stages.get_mut(stage)
            {
                s.image = Some(image.clone());
            }
        }
        Outcome::Polled { report, moved } => {
            let wanted_at = run.intents.0.get(&claim.id).map(|i| i.due_at_ms);
            run.intents.finish(claim);
            if let Effect::Poll { stage, attempt } = &effect {
                if let Some(at) = wanted_at {
                    run.poll_served(stage, *attempt, at);
                }
                if let Some(s) = run.stages.get_mut(stage).filter(|s| s.attempt == *attempt) {
                    s.last_polled_at_ms = Some(now_ms);
                }
                if let Some((id, url)) = moved {
                    let _ = run.stage_moved(stage, *attempt, id, url.clone());
                }
                if let Some(report) = report {
                    let _ = run.record_report(stage, *attempt, report.clone(), now_ms);
                }
            }
        }
        Outcome::Posted(key) => {
            run.intents.finish(claim);
            if let Effect::Status { context } = &effect {
                run.posted.insert(context.clone(), key.clone());
            }
        }
        Outcome::BranchRecorded(previous) => {
            run.intents.finish(claim);
            run.previous_outcome = Some(previous.clone());
        }
        Outcome::Noticed => {
            run.intents.finish(claim);
            run.notices.insert(claim.id.clone());
        }
    }
}

/// A temporary failure: try again later, unless the effect is out of
/// tries (a build trigger after the stage's retries, the pipeline file or
/// the commit lookup after [`MAX_PIPELINE_TRIES`], a status or notice after
/// [`MAX_NOTICE_TRIES`], which is then dropped).
fn retry(
    run: &mut RunRecord,
    claim: &Claimed,
    effect: &Effect,
    at_ms: u64,
    error: &str,
    now_ms: u64,
) {
    let max_tries = match effect {
        Effect::Trigger { stage, .. } => run
            .pipeline
            .as_ref()
            .and_then(|p| p.stage(stage))
            .map_or(1, |s| s.retries + 1),
        Effect::ReadPipeline | Effect::ResolveCommit => MAX_PIPELINE_TRIES,
        Effect::Status { .. }
        | Effect::CompareBasePipeline
        | Effect::Notify { .. }
        | Effect::Reply { .. }
        | Effect::Ask { .. }
        | Effect::RecordOutcome => MAX_NOTICE_TRIES,
        // A busy environment or an unreachable build service's status API
        // is waited out; the stage's timeout bounds it.
        Effect::Deploy { .. } | Effect::Poll { .. } => u32::MAX,
    };
    let failures = run.intents.failures_with(claim);
    if failures < max_tries {
        run.intents.defer(claim, at_ms, error);
        if let Effect::Trigger { stage, .. } | Effect::Deploy { stage, .. } = effect
            && let Some(s) = run.stages.get_mut(stage)
        {
            s.reason = Some(error.to_owned());
            s.trigger_calls = failures;
        }
        return;
    }
    run.intents.finish(claim);
    let attempts = if failures == 1 {
        "1 attempt".to_owned()
    } else {
        format!("{failures} attempts")
    };
    match effect {
        Effect::ReadPipeline => {
            run.pipeline_read(
                Err(format!("cannot read the pipeline file: {error}")),
                now_ms,
            );
        }
        Effect::ResolveCommit => {
            run.commit_looked_up(
                Err(format!(
                    "cannot look up commit {}: {error}",
                    run.trigger.commit
                )),
                now_ms,
            );
        }
        Effect::Status { context } => {
            eprintln!("run {}: commit status {context} given up: {error}", run.id);
            run.posted
                .insert(context.clone(), format!("given up: {error}"));
        }
        Effect::Notify { .. } | Effect::Reply { .. } | Effect::Ask { .. } => {
            eprintln!("run {}: notice {} given up: {error}", run.id, claim.id);
            run.notices.insert(claim.id.clone());
        }
        Effect::RecordOutcome => run.previous_outcome = Some("unknown".into()),
        Effect::CompareBasePipeline => run.base_compared(BaseComparison::NotCompared {
            reason: format!("cannot read the target branch's pipeline file: {error}"),
        }),
        _ => fail_stage(run, effect, &format!("{error} after {attempts}"), now_ms),
    }
}

fn fail_stage(run: &mut RunRecord, effect: &Effect, reason: &str, now_ms: u64) {
    if let Effect::Trigger { stage, attempt } | Effect::Deploy { stage, attempt } = effect {
        let _ = run.stage_finished(
            stage,
            *attempt,
            StageStatus::Failed,
            now_ms,
            Some(reason.to_owned()),
        );
    }
}
