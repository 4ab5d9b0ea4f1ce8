//! Carrying out a run's claimed side effects. Each returns an
//! [`Outcome`] for [`apply`](super::apply::apply) and the other records it
//! touched (a deployment it asked for), never writing the run itself.

mod asks;
mod base;
mod build;
mod deploy_stage;
mod feedback;

use super::apply::Outcome;
use super::effect::Effect;
use crate::engine::chat::Delivery;
use crate::engine::repo::{self, PipelineFile};
use crate::engine::{Deps, Target};
use crate::intents::Claimed;
use crate::obs::traced::{CallContext, Traced};
use crate::pipeline::StageKind;
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::providers::Provider;
use crate::runs::RunRecord;

pub use build::{callback_token, index_build};

/// Backoff after the `tries`-th failed try: 1 s doubling, at most 5 min.
pub(super) fn backoff_ms(tries: u32) -> u64 {
    1_000u64
        .saturating_mul(1u64 << tries.saturating_sub(1).min(16))
        .min(300_000)
}

/// A temporary failure of `claim`: try again after its backoff.
pub(super) fn retry_later<C: Clock>(clock: &C, claim: &Claimed, error: String) -> Outcome {
    Outcome::Retry {
        at_ms: clock.now_ms() + backoff_ms(claim.tries),
        error,
    }
}

/// A chat post's delivery as an outcome: done, or try again later.
pub(super) fn delivered<C: Clock>(clock: &C, claim: &Claimed, delivery: Delivery) -> Outcome {
    match delivery {
        Delivery::Done => Outcome::Noticed,
        Delivery::Retry(error) => retry_later(clock, claim, error),
    }
}

/// The remote service `effect` of `run` talks to (the `service` label).
fn service_of(config: &crate::config::ControlPlane, run: &RunRecord, effect: &Effect) -> String {
    let stage_kind = |name: &str| {
        run.pipeline
            .as_ref()
            .and_then(|p| p.stages.iter().find(|s| s.name == name))
            .map(|s| &s.kind)
    };
    match effect {
        Effect::Trigger { stage, .. } | Effect::Poll { stage, .. } => match stage_kind(stage) {
            Some(StageKind::Build { service, .. }) => format!("build/{service}"),
            _ => "build/unknown".into(),
        },
        Effect::Deploy { stage, .. } => match stage_kind(stage) {
            Some(StageKind::Deploy { environment, .. }) => format!("environment/{environment}"),
            _ => "environment/unknown".into(),
        },
        Effect::Notify { target, .. } | Effect::Ask { target, .. } => config
            .apps
            .get(&run.app)
            .and_then(|a| a.notify.get(*target))
            .map_or("chat/unknown".into(), |t| {
                format!("chat/{}", t.kind.as_str())
            }),
        Effect::Reply { .. } => "chat/reply".into(),
        Effect::ResolveCommit
        | Effect::ReadPipeline
        | Effect::CompareBasePipeline
        | Effect::Status { .. }
        | Effect::RecordOutcome => format!("provider/{}", run.trigger.provider),
    }
}

/// [`execute`] with its remote calls logged and counted
/// ([`Traced`]), and one `effect` log line for the whole effect.
pub(super) async fn execute_traced<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run: &RunRecord,
    claim: &Claimed,
) -> (Outcome, Vec<Target>)
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let effect = Effect::parse(&claim.id);
    let (stage, attempt) = match &effect {
        Some(
            Effect::Trigger { stage, attempt }
            | Effect::Poll { stage, attempt }
            | Effect::Deploy { stage, attempt }
            | Effect::Ask { stage, attempt, .. },
        ) => (Some(stage.clone()), Some(*attempt)),
        _ => (None, None),
    };
    let context = CallContext {
        run: Some(run.id.clone()),
        deployment: None,
        stage,
        attempt,
        effect: claim.id.split('/').next().unwrap_or_default().to_owned(),
        service: effect
            .as_ref()
            .map_or("unknown".into(), |e| service_of(deps.config, run, e)),
    };
    let traced = Traced::new(deps.http, deps.kv, deps.clock, context);
    let traced_deps = Deps {
        kv: deps.kv,
        http: &traced,
        clock: deps.clock,
        secrets: deps.secrets,
        config: deps.config,
    };
    let started = deps.clock.now_ms();
    let (outcome, touched) = execute(&traced_deps, run, claim).await;
    let now = deps.clock.now_ms();
    traced
        .context()
        .line("effect", now)
        .number("try", u64::from(claim.tries))
        .number("calls", traced.calls())
        .maybe_number("http_status", traced.last_status().map(u64::from))
        .number("duration_ms", now.saturating_sub(started))
        .text("outcome", outcome.name())
        .emit();
    (outcome, touched)
}

/// Carries out `claim` for `run`.
pub(super) async fn execute<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run: &RunRecord,
    claim: &Claimed,
) -> (Outcome, Vec<Target>)
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let Some(effect) = Effect::parse(&claim.id) else {
        return (Outcome::Noticed, Vec::new());
    };
    let outcome = match &effect {
        Effect::ResolveCommit => resolve_commit(deps, run, claim).await,
        Effect::ReadPipeline => read_pipeline(deps, run, claim).await,
        Effect::CompareBasePipeline => base::compare(deps, run, claim).await,
        Effect::Trigger { stage, attempt } => {
            build::trigger(deps, run, stage, *attempt, claim).await
        }
        Effect::Poll { stage, attempt } => build::poll(deps, run, stage, *attempt).await,
        Effect::Deploy { stage, attempt } => {
            return deploy_stage::start(deps, run, stage, *attempt).await;
        }
        Effect::Status { context } => feedback::post_status(deps, run, context, claim).await,
        Effect::RecordOutcome => feedback::record_outcome(deps, run, claim).await,
        Effect::Notify { on, target } => feedback::notify(deps, run, *on, *target, claim).await,
        Effect::Reply { index } => feedback::reply(deps, run, *index, claim).await,
        Effect::Ask {
            stage,
            attempt,
            target,
        } => asks::ask(deps, run, stage, *attempt, *target, claim).await,
    };
    (outcome, Vec::new())
}

async fn read_pipeline<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run: &RunRecord,
    claim: &Claimed,
) -> Outcome
where
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let (Some(provider), Some(app)) = (
        Provider::from_path_segment(&run.trigger.provider),
        deps.config.apps.get(&run.app),
    ) else {
        return Outcome::PipelineRead(Err(format!("app {} is no longer configured", run.app)));
    };
    let (read_repo, read_at) = run.trigger.pipeline_location();
    let read = repo::read_pipeline(
        deps,
        provider,
        read_repo,
        &app.pipeline_path,
        read_at,
        repo::PROVIDER_CALL_TIMEOUT_MS,
    )
    .await;
    match read {
        Ok(PipelineFile::Valid(p)) => {
            let p = crate::engine::trust::restrict(deps.config, &run.trigger, p);
            Outcome::PipelineRead(Ok(Some(p)))
        }
        Ok(PipelineFile::Missing) => Outcome::PipelineRead(Ok(None)),
        Ok(PipelineFile::Invalid(why)) => Outcome::PipelineRead(Err(why)),
        Err(error) => retry_later(deps.clock, claim, error),
    }
}

/// Looks the run's abbreviated commit up where it lives: the full hash, a
/// clear failure when the provider has no such commit, or a retry.
async fn resolve_commit<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run: &RunRecord,
    claim: &Claimed,
) -> Outcome
where
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let Some(provider) = Provider::from_path_segment(&run.trigger.provider) else {
        return Outcome::CommitResolved(Err(format!(
            "unknown provider {:?}",
            run.trigger.provider
        )));
    };
    let repo = run.trigger.commit_repo();
    let commit = &run.trigger.commit;
    match repo::resolve_commit(deps, provider, repo, commit).await {
        Ok(Some(full)) => Outcome::CommitResolved(Ok(full)),
        Ok(None) => Outcome::CommitResolved(Err(format!(
            "commit {commit} does not exist in {repo} (or the token cannot see it)"
        ))),
        Err(error) => retry_later(deps.clock, claim, error),
    }
}
