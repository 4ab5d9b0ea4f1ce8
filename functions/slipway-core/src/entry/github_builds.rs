//! GitHub Actions build events, matched to the stages they concern:
//!
//! - `workflow_run`: by the run id the dispatch returned ([`BuildIndex`]);
//!   else, for a dispatch that returned none (GitHub answers 204 unless
//!   asked for run details), by repository, commit, branch and workflow
//!   file among the running stages that have no build id yet: a unique
//!   match adopts the run, anything else is ignored.
//! - `check_run` (one job): by the workflow run its links name; asks for
//!   a poll.
//! - `check_suite` (a whole workflow run, named by nothing but its
//!   commit): by repository, commit and branch; asks for a poll of each
//!   running Actions stage there that has a build id.

use serde_json::json;

use super::build_events::{record_report, request_poll, workflow_report};
use super::{Handled, Reply};
use crate::builders::BuildServiceConfig;
use crate::engine::{Deps, Target};
use crate::pipeline::StageKind;
use crate::ports::{Clock, KeyValue};
use crate::providers::checks::ACTIONS_APP;
use crate::providers::{CheckRunEvent, CheckSuiteEvent, Provider, WorkflowRunEvent};
use crate::runs::index::{RunIndex, short_ref};
use crate::runs::{BuildIndex, BuildRef, RunStore, StageStatus};

const KIND: &str = "github_actions";

/// A running GitHub Actions stage at a commit.
struct Candidate {
    target: BuildRef,
    /// The stage's workflow (file name or numeric id).
    job: String,
    /// Whether the stage already knows its workflow run.
    has_build: bool,
    /// API base of the stage's build service.
    api_base: String,
}

/// A `workflow_run` event.
pub(super) async fn workflow_run<K: KeyValue, H, C: Clock, S>(
    deps: &Deps<'_, K, H, C, S>,
    run: &WorkflowRunEvent,
) -> Handled {
    match BuildIndex::new(deps.kv)
        .get(KIND, &run.id.to_string())
        .await
    {
        Ok(Some(target)) if run.status == "completed" => {
            record_report(deps, &target, workflow_report(run)).await
        }
        Ok(Some(_)) => Reply::ignored("workflow run not completed yet").into(),
        Ok(None) => adopt(deps, run).await,
        Err(e) => Reply::error(503, e.to_string()).into(),
    }
}

/// A `check_run` event: a job of a workflow run ended.
pub(super) async fn check_run<K: KeyValue, H, C: Clock, S>(
    deps: &Deps<'_, K, H, C, S>,
    check: &CheckRunEvent,
) -> Handled {
    if check.status != "completed" {
        return Reply::ignored("check run not completed yet").into();
    }
    let Some(id) = check.workflow_run_id else {
        return Reply::ignored("not a GitHub Actions job: its links name no workflow run").into();
    };
    match BuildIndex::new(deps.kv).get(KIND, &id.to_string()).await {
        Ok(Some(target)) => request_poll(deps, &target).await,
        Ok(None) => Reply::ignored("no stage is waiting for this build").into(),
        Err(e) => Reply::error(503, e.to_string()).into(),
    }
}

/// A `check_suite` event: for GitHub Actions, a workflow run ended.
pub(super) async fn check_suite<K: KeyValue, H, C: Clock, S>(
    deps: &Deps<'_, K, H, C, S>,
    suite: &CheckSuiteEvent,
) -> Handled {
    if suite.action != "completed" {
        return Reply::ignored("check suite not completed yet").into();
    }
    if suite.app_slug.as_deref().is_some_and(|s| s != ACTIONS_APP) {
        return Reply::ignored("not a GitHub Actions check suite").into();
    }
    let found = running_stages(
        deps,
        &suite.repo,
        &suite.head_sha,
        suite.head_branch.as_deref(),
    )
    .await;
    let candidates = match found {
        Ok(c) => c,
        Err(reply) => return reply.into(),
    };
    let mut polled = Vec::new();
    let mut follow_ups = Vec::new();
    for candidate in candidates.iter().filter(|c| c.has_build) {
        let handled = request_poll(deps, &candidate.target).await;
        polled.push(handled.reply.body);
        follow_ups.extend(handled.follow_ups);
    }
    if polled.is_empty() {
        return Reply::ignored("no running GitHub Actions stage with a build at this commit")
            .into();
    }
    let status = if follow_ups.is_empty() { 200 } else { 202 };
    Handled {
        reply: Reply::new(status, json!({ "stages": polled })),
        follow_ups,
    }
}

/// Adopts a dispatched workflow run whose id no stage knows: the one
/// running stage at its commit and branch that dispatched its workflow and
/// has no build id yet. Its conclusion is recorded when it completed.
async fn adopt<K: KeyValue, H, C: Clock, S>(
    deps: &Deps<'_, K, H, C, S>,
    run: &WorkflowRunEvent,
) -> Handled {
    if run.event.as_deref() != Some("workflow_dispatch") {
        return Reply::ignored("no stage is waiting for this build").into();
    }
    let found = running_stages(deps, &run.repo, &run.head_sha, run.head_branch.as_deref()).await;
    let candidates = match found {
        Ok(c) => c,
        Err(reply) => return reply.into(),
    };
    let matching: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| !c.has_build && same_workflow(&c.job, run))
        .collect();
    let candidate = match matching.as_slice() {
        [one] => *one,
        [] => {
            return Reply::ignored(
                "no stage waiting for a run id dispatched this workflow at this commit",
            )
            .into();
        }
        many => {
            return Reply::ignored(format!(
                "{} stages could have dispatched this workflow run; none adopts it",
                many.len()
            ))
            .into();
        }
    };
    record_adoption(deps, candidate, run).await
}

/// Records the adopted run on its stage (and its conclusion when it
/// completed) with one compare-and-swap, then indexes it.
async fn record_adoption<K: KeyValue, H, C: Clock, S>(
    deps: &Deps<'_, K, H, C, S>,
    candidate: &Candidate,
    run: &WorkflowRunEvent,
) -> Handled {
    let target = &candidate.target;
    let api_url = format!(
        "{}/repos/{}/actions/runs/{}",
        candidate.api_base.trim_end_matches('/'),
        run.repo,
        run.id
    );
    let report = (run.status == "completed").then(|| workflow_report(run));
    let now = deps.clock.now_ms();
    let adopted = RunStore::new(deps.kv)
        .update(&target.run, |r| {
            let url = Some(run.html_url.clone());
            if !r.adopt_build(&target.stage, target.attempt, &api_url, url)? {
                return Ok(false);
            }
            if let Some(report) = &report {
                r.record_report(&target.stage, target.attempt, report.clone(), now)?;
            }
            Ok(true)
        })
        .await;
    match adopted {
        Ok((record, true, _)) => {
            // Indexed once the stage holds the id: an index entry never
            // points at a stage that did not adopt the run.
            if let Err(e) = BuildIndex::new(deps.kv).put(KIND, &api_url, target).await {
                eprintln!(
                    "run {}: build index for {} not written: {e}",
                    target.run, target.stage
                );
            }
            Handled::then(
                Reply::new(
                    200,
                    json!({ "run": target.run, "stage": target.stage, "adopted": true,
                            "completed": report.is_some(), "run_status": record.status }),
                ),
                Target::Run(target.run.clone()),
            )
        }
        Ok((_, false, _)) => Reply::ignored("the stage has a build already").into(),
        Err(e) => Reply::ignored(format!("stage not updated: {e}")).into(),
    }
}

/// Whether the stage's `job` names the run's workflow: its file name (the
/// base name of `workflow_run.path`) or, for a numeric job, its id.
fn same_workflow(job: &str, run: &WorkflowRunEvent) -> bool {
    let job = job.trim();
    if !job.is_empty() && job.bytes().all(|b| b.is_ascii_digit()) {
        return run.workflow_id.is_some_and(|id| id.to_string() == job);
    }
    // A called workflow's path may end in `@ref`.
    let file = run
        .path
        .as_deref()
        .map(|p| p.split('@').next().unwrap_or(p))
        .and_then(|p| p.rsplit('/').next());
    file.is_some_and(|f| !f.is_empty() && f == job)
}

/// The running GitHub Actions build stages of the newest run of each ref
/// of the app of `repo` that is at `sha` (and on `branch`, when given),
/// whose workflows live in `repo`.
async fn running_stages<K: KeyValue, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    repo: &str,
    sha: &str,
    branch: Option<&str>,
) -> Result<Vec<Candidate>, Reply> {
    let Some((app, _)) = deps.config.app_for(Provider::GitHub, repo) else {
        return Ok(Vec::new());
    };
    let unavailable = |e: crate::runs::StoreError| Reply::error(503, e.to_string());
    let heads = RunIndex::new(deps.kv)
        .heads(app)
        .await
        .map_err(unavailable)?;
    let mut out = Vec::new();
    for head in heads.heads.values() {
        let on_branch = branch.is_none_or(|b| short_ref(&head.git_ref) == b);
        if head.commit != sha || !on_branch || head.status.is_terminal() {
            continue;
        }
        if let Some(record) = RunStore::new(deps.kv)
            .load(&head.id)
            .await
            .map_err(unavailable)?
        {
            out.extend(actions_stages(deps, &record, repo));
        }
    }
    Ok(out)
}

/// The running stages of `record` built by GitHub Actions in `repo`.
fn actions_stages<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    record: &crate::runs::RunRecord,
    repo: &str,
) -> Vec<Candidate> {
    let Some(pipeline) = &record.pipeline else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for stage in &pipeline.stages {
        let StageKind::Build { service, job, .. } = &stage.kind else {
            continue;
        };
        let Some(BuildServiceConfig::GithubActions(config)) =
            deps.config.build_services.get(service)
        else {
            continue;
        };
        let workflow_repo = config.repo.as_deref().unwrap_or(&record.trigger.repo);
        let Some(state) = record.stages.get(&stage.name) else {
            continue;
        };
        if state.status == StageStatus::Running && workflow_repo.eq_ignore_ascii_case(repo) {
            out.push(Candidate {
                target: BuildRef {
                    run: record.id.clone(),
                    stage: stage.name.clone(),
                    attempt: state.attempt,
                },
                job: job.clone(),
                has_build: state.external_id.is_some(),
                api_base: config.api_base.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
#[path = "github_builds_tests.rs"]
mod tests;
