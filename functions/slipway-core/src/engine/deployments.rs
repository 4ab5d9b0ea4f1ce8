//! Reconciling a deployment: one platform call at a time under a lease,
//! results applied only by the lease's holder, and terminal states final.
//!
//! Each round either takes the lease and makes the one platform call the
//! record calls for (start or roll back, abort when asked, promote when
//! asked, else step), or, once the deployment has ended, claims its
//! ending's side effects (free the environment, report to the pipeline
//! stage, tell the chat). Promote and abort are facts recorded on the
//! record by the API; a holder that finds one pending when it is done
//! takes another round, so an abort asked during a step is carried out
//! right after it, and a step's result can never undo an abort.

use super::chat::Delivery;
use super::{Deps, Mode, Target, Visit};
use crate::active::ActiveIndex;
use crate::deploy::platform::{self, Operation, Rollout};
use crate::deploy::records::{Deployment, DeploymentStatus, Records, StepLease};
use crate::deploy::{DeployError, StepOutcome};
use crate::engine::deploy_requests::LOCK_TTL_MS;
use crate::intents::Claimed;
use crate::notify::{Notice, NotifyOn};
use crate::obs::traced::{CallContext, Traced};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::runs::{Report, RunStore, StageStatus};

/// Rounds of one reconcile.
const MAX_ROUNDS: usize = 6;

/// What a round decided.
enum Work {
    /// Nothing to do now.
    Idle,
    /// This request holds the lease for one platform call.
    Platform(Operation, StepLease),
    /// Ending side effects claimed.
    Endings(Vec<Claimed>),
}

fn want_endings(
    d: &mut Deployment,
    notify_targets: &[bool],
    now_ms: u64,
    lease_ms: u64,
    mode: Mode,
) -> Vec<Claimed> {
    let mut wanted = vec!["release".to_owned()];
    if d.stage.is_some() {
        wanted.push("report".into());
    }
    for (i, wants) in notify_targets.iter().enumerate() {
        if *wants {
            wanted.push(format!("notify/{i}"));
        }
    }
    for i in 0..d.replies.len() {
        wanted.push(format!("reply/{i}"));
    }
    for id in wanted.iter().filter(|id| !d.done.contains(*id)) {
        d.intents.want(id, now_ms);
    }
    // Chat posts are not repeated by work after a response (see Mode).
    d.intents.claim_due_where(now_ms, lease_ms, |id| {
        mode == Mode::InRequest || !(id.starts_with("notify/") || id.starts_with("reply/"))
    })
}

fn plan(
    d: &mut Deployment,
    notify_targets: &[bool],
    now_ms: u64,
    lease_ms: u64,
    mode: Mode,
) -> Work {
    if d.status.is_final() {
        d.lease = None;
        return Work::Endings(want_endings(d, notify_targets, now_ms, lease_ms, mode));
    }
    if d.lease.as_ref().is_some_and(|l| l.until_ms > now_ms) {
        return Work::Idle;
    }
    let op = if d.abort_requested {
        Operation::Abort
    } else if d.rollout.is_none() {
        Operation::Step
    } else if d.promotions_requested > d.promotions_done {
        Operation::Promote
    } else {
        Operation::Step
    };
    let lease = StepLease {
        token: d.version + 1,
        until_ms: now_ms + lease_ms,
    };
    d.lease = Some(lease.clone());
    Work::Platform(op, lease)
}

/// Reconciles deployment `id`.
pub(super) async fn reconcile<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    id: &str,
    deadline_ms: u64,
    mode: Mode,
) -> (Visit, Vec<Target>)
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let records = Records::new(deps.kv);
    let lease_ms = deps.config.tick.lease_ms();
    let mut visit = Visit::default();
    let mut touched = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let current = match records.load_id(id).await {
            Ok(Some(d)) => d,
            Ok(None) => {
                forget_missing(deps, &records, id).await;
                visit.done = true;
                return (visit, touched);
            }
            Err(e) => {
                eprintln!("deployment {id}: {e}");
                return (visit, touched);
            }
        };
        let targets = notify_targets(deps, &current.app);
        let now = deps.clock.now_ms();
        let (d, work) = match records
            .update(&current, |d| plan(d, &targets, now, lease_ms, mode))
            .await
        {
            Ok(x) => x,
            Err(e) => {
                eprintln!("deployment {id}: {e}");
                return (visit, touched);
            }
        };
        match work {
            Work::Idle => return (visit, touched),
            Work::Platform(op, lease) => {
                visit.effects += 1;
                let stored = platform_call(deps, &records, &d, op, &lease).await;
                let more = stored.as_ref().is_some_and(|d| {
                    !d.status.is_final()
                        && (d.abort_requested || d.promotions_requested > d.promotions_done)
                });
                let ended = stored.as_ref().is_some_and(|d| d.status.is_final());
                if !(more || ended) {
                    return (visit, touched);
                }
            }
            Work::Endings(claims) => {
                if claims.is_empty() {
                    if d.intents.is_empty() {
                        let _ = ActiveIndex::new(deps.kv).set_deployment(id, false).await;
                        visit.done = true;
                    }
                    return (visit, touched);
                }
                visit.effects += claims.len() as u32;
                for claim in claims {
                    let ok = deps.clock.now_ms() < deadline_ms
                        && ending(deps, &d, &claim.id, &mut touched).await;
                    // Given up after five tries (logged by the effect).
                    let done = ok || claim.tries >= 5;
                    let now = deps.clock.now_ms();
                    let recorded = update_retrying(&records, &d, |d| {
                        if done && d.intents.finish(&claim) {
                            d.done.insert(claim.id.clone());
                        } else if !done {
                            d.intents.defer(&claim, now + 30_000, "not done yet");
                        }
                    })
                    .await;
                    if recorded.is_err() {
                        return (visit, touched);
                    }
                }
            }
        }
        if deps.clock.now_ms() >= deadline_ms {
            break;
        }
    }
    (visit, touched)
}

/// Whether a platform error is worth the same call again later.
fn is_transient(e: &DeployError) -> bool {
    match e {
        DeployError::Unreachable { .. } => true,
        DeployError::Api { status, .. } => *status >= 500 || matches!(status, 409 | 429),
        DeployError::Config(_) | DeployError::NotApplicable(_) => false,
    }
}

/// Tries to record a change a few times when the store fails: the change
/// records a platform call or an effect that happened, and leaving it to
/// the lease would repeat it.
async fn update_retrying<K: KeyValue, T>(
    records: &Records<'_, K>,
    d: &Deployment,
    mut change: impl FnMut(&mut Deployment) -> T,
) -> Result<(Deployment, T), crate::deploy::records::RecordError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match records.update(d, &mut change).await {
            Err(crate::deploy::records::RecordError::Kv(_)) if tries < 5 => continue,
            other => return other,
        }
    }
}

/// A deployment that is not there: out of the index, and its environment
/// freed if a request died after taking the lock for it and before
/// writing it (after a minute, so one still writing it is left alone).
async fn forget_missing<K: KeyValue, H, C: Clock, S>(
    deps: &Deps<'_, K, H, C, S>,
    records: &Records<'_, K>,
    id: &str,
) {
    let _ = ActiveIndex::new(deps.kv).set_deployment(id, false).await;
    let mut parts = id.rsplitn(3, '.');
    let (Some(_), Some(env), Some(app)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let now = deps.clock.now_ms();
    if let Ok(Some(lock)) = records.holder(app, env, now).await
        && lock.holder.as_deref() == Some(id)
        && lock.since_ms.is_some_and(|t| t + 60_000 < now)
    {
        let _ = records.release(app, env, id).await;
    }
}

fn notify_targets<K, H, C, S>(deps: &Deps<'_, K, H, C, S>, app: &str) -> Vec<bool> {
    deps.config
        .apps
        .get(app)
        .map(|a| a.notify.iter().map(|t| t.wants(NotifyOn::Deploy)).collect())
        .unwrap_or_default()
}

/// What a platform call of `d` is for, in its log lines.
fn call_context(d: &Deployment, op: Operation) -> CallContext {
    CallContext {
        run: d.stage.as_ref().map(|s| s.run.clone()),
        deployment: Some(d.id.clone()),
        stage: d.stage.as_ref().map(|s| s.stage.clone()),
        attempt: d.stage.as_ref().map(|s| s.attempt),
        effect: match op {
            Operation::Step => "step",
            Operation::Promote => "promote",
            Operation::Abort => "abort",
        }
        .into(),
        service: format!("environment/{}", d.environment),
    }
}

/// The `effect` log line of a platform call that started at `started`.
fn log_platform_call<H, K, C, T>(
    traced: &Traced<'_, H, K, C>,
    result: &Result<T, DeployError>,
    started: u64,
    now: u64,
) {
    traced
        .context()
        .line("effect", now)
        .number("calls", traced.calls())
        .maybe_number("http_status", traced.last_status().map(u64::from))
        .number("duration_ms", now.saturating_sub(started))
        .text("outcome", if result.is_ok() { "done" } else { "error" })
        .emit();
}

/// Makes the platform call `op` under `lease` and records its result if
/// the lease is still this request's. Returns the stored deployment.
async fn platform_call<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    records: &Records<'_, K>,
    d: &Deployment,
    op: Operation,
    lease: &StepLease,
) -> Option<Deployment>
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let now = deps.clock.now_ms();
    let traced = Traced::new(deps.http, deps.kv, deps.clock, call_context(d, op));
    let result = match deps.config.environments.get(&d.environment) {
        None => Err(DeployError::Config(format!(
            "environment {:?} is no longer configured",
            d.environment
        ))),
        Some(env) => match (&d.rollout, &d.rollback_of) {
            // Aborted before it touched the platform: nothing to undo.
            (None, _) if op == Operation::Abort => Ok((None, StepOutcome::Aborted)),
            (None, Some(from)) => platform::rollback(&traced, deps.secrets, env, &d.app, from, now)
                .await
                .map(|(r, o)| (Some(r), o)),
            (None, None) => start(deps, &traced, env, d, now)
                .await
                .map(|(r, o)| (Some(r), o)),
            (Some(rollout), _) => {
                let mut rollout: Rollout = rollout.clone();
                platform::operate(&traced, deps.secrets, env, &mut rollout, op, now)
                    .await
                    .map(|o| (Some(rollout), o))
            }
        },
    };
    log_platform_call(&traced, &result, now, deps.clock.now_ms());
    let now = deps.clock.now_ms();
    let stored = update_retrying(records, d, |d| {
        if d.lease.as_ref() != Some(lease) {
            // Someone took over after our lease ran out: their view wins.
            return;
        }
        d.lease = None;
        match &result {
            Ok((rollout, outcome)) => {
                if let Some(r) = rollout {
                    d.rollout = Some(r.clone());
                }
                if op == Operation::Promote {
                    d.promotions_done = d.promotions_requested;
                }
                d.apply(outcome, now);
            }
            Err(DeployError::NotApplicable(why)) => {
                d.promotions_done = d.promotions_requested;
                d.message = Some(why.clone());
            }
            // The platform did not answer, or asked us to come back: the
            // next reconcile makes the same call again (its patches set
            // absolute values, so repeating one is harmless).
            Err(e) if is_transient(e) => {
                d.message = Some(format!("retrying: {e}"));
            }
            Err(e) => {
                d.apply(
                    &StepOutcome::Failed {
                        reason: e.to_string(),
                        rolled_back: false,
                    },
                    now,
                );
            }
        }
    })
    .await;
    match stored {
        Ok((d, ())) => {
            if !d.status.is_final() {
                let _ = records
                    .renew(&d.app, &d.environment, &d.id, now, LOCK_TTL_MS)
                    .await;
            }
            Some(d)
        }
        Err(e) => {
            eprintln!("deployment {}: result not recorded: {e}", d.id);
            None
        }
    }
}

/// Starts deployment `d`: as a stack when its app names a Compose file and
/// the environment is a Docker one, else as an update of one workload.
async fn start<K, H, C, S, T>(
    deps: &Deps<'_, K, H, C, S>,
    http: &T,
    env: &crate::deploy::EnvironmentConfig,
    d: &Deployment,
    now: u64,
) -> Result<(Rollout, StepOutcome), DeployError>
where
    H: HttpClient,
    S: Secrets,
    T: HttpClient,
{
    let app = deps.config.apps.get(&d.app);
    let compose = app.and_then(|a| a.compose.as_ref().map(|c| (a, c)));
    match (compose, env) {
        (Some((app, settings)), crate::deploy::EnvironmentConfig::Docker(_)) => {
            let file = super::repo::read_compose(deps, app, settings, d.commit.as_deref()).await?;
            platform::start_stack(
                http,
                deps.secrets,
                env,
                &file,
                settings,
                &d.app,
                &d.image,
                &d.strategy,
                now,
            )
            .await
        }
        _ => platform::start(http, deps.secrets, env, &d.app, &d.image, &d.strategy, now).await,
    }
}

/// Carries out one ending side effect; true when it is done.
async fn ending<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    d: &Deployment,
    id: &str,
    touched: &mut Vec<Target>,
) -> bool
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    match id {
        "release" => Records::new(deps.kv)
            .release(&d.app, &d.environment, &d.id)
            .await
            .is_ok(),
        "report" => {
            let Some(link) = &d.stage else { return true };
            let status = match d.status {
                DeploymentStatus::Succeeded => StageStatus::Succeeded,
                DeploymentStatus::Aborted => StageStatus::Cancelled,
                _ => StageStatus::Failed,
            };
            let report = Report {
                status: Some(status),
                message: d
                    .message
                    .clone()
                    .filter(|_| status != StageStatus::Succeeded),
                ..Report::default()
            };
            let now = deps.clock.now_ms();
            let result = RunStore::new(deps.kv)
                .update(&link.run, |r| {
                    r.record_report(&link.stage, link.attempt, report.clone(), now)
                })
                .await;
            touched.push(Target::Run(link.run.clone()));
            // A stage that already ended (timed out, retried) keeps its end.
            !matches!(
                result,
                Err(crate::runs::StoreError::Kv(_) | crate::runs::StoreError::Contention(_))
            )
        }
        other => {
            let index = |prefix: &str| {
                other
                    .strip_prefix(prefix)
                    .and_then(|i| i.parse::<usize>().ok())
            };
            if let Some(i) = index("notify/") {
                return notify_deploy(deps, d, i).await;
            }
            match index("reply/").and_then(|i| d.replies.get(i)) {
                Some(pending) => {
                    let text = format!("{}: {}", d.id, crate::chat::lines::deployment_line(d));
                    super::chat::reply_to(deps, pending, text).await == Delivery::Done
                }
                None => true,
            }
        }
    }
}

async fn notify_deploy<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    d: &Deployment,
    index: usize,
) -> bool
where
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let notice = deploy_notice(d, deps.config.public_base());
    super::chat::send_to_target(deps, &d.app, index, &notice).await == super::chat::Delivery::Done
}

fn deploy_notice(d: &Deployment, public_base: &str) -> Notice {
    let title = match d.status {
        DeploymentStatus::Succeeded => format!(
            "{} {} to {} ({})",
            d.app,
            if d.kind == "rollback" {
                "rolled back"
            } else {
                "deployed"
            },
            d.environment,
            d.strategy.name()
        ),
        DeploymentStatus::Aborted => format!("{} deploy to {} aborted", d.app, d.environment),
        _ => format!("{} deploy to {} failed", d.app, d.environment),
    };
    let mut lines = vec![d.image.clone()];
    if let Some(m) = &d.message {
        lines.push(m.clone());
    }
    Notice {
        on: NotifyOn::Deploy,
        app: d.app.clone(),
        run_id: d.id.clone(),
        run_number: d.number,
        title,
        lines,
        link: Some(format!(
            "{public_base}/api/apps/{}/environments/{}/releases",
            d.app, d.environment
        )),
        actions: Vec::new(),
    }
}
