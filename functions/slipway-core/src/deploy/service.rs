//! Deployment orchestration: one deployment per environment at a time,
//! progress on every tick (and on promote/abort), rollback to the previous
//! release, and the hand-back to the pipeline stage that asked.

use std::future::Future;
use std::pin::Pin;

use super::platform::{self, EnvironmentConfig, Operation};
use super::records::{Deployment, DeploymentStatus, Lock, RecordError, Records, StageLink};
use super::{DeployError, Strategy, is_image_reference};
use crate::hooks::Deps;
use crate::notify::{Notice, NotifyOn};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::runs::{Report, StageStatus};

/// A lock whose holder has not renewed it for this long is free again.
pub const LOCK_TTL_MS: u64 = 30 * 60 * 1000;

/// What to deploy.
#[derive(Debug, Clone)]
pub struct DeployRequest {
    /// App name.
    pub app: String,
    /// Environment name.
    pub environment: String,
    /// Image reference (with digest, ideally).
    pub image: String,
    /// How.
    pub strategy: Strategy,
    /// Who asks.
    pub requested_by: String,
    /// The pipeline stage asking, if any.
    pub stage: Option<StageLink>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// 400: unknown app or environment, bad image reference, …
    BadRequest(String),
    /// 404: nothing to act on.
    NotFound(String),
    /// 409: another deployment holds the environment.
    Busy(Lock),
    /// 409: the operation does not apply now.
    Conflict(String),
    /// 503: the store failed.
    Unavailable(String),
}

impl From<RecordError> for Refusal {
    fn from(e: RecordError) -> Self {
        Refusal::Unavailable(e.to_string())
    }
}

fn environment<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    name: &str,
) -> Result<EnvironmentConfig, Refusal> {
    deps.config
        .environments
        .get(name)
        .cloned()
        .ok_or_else(|| Refusal::BadRequest(format!("unknown environment {name:?}")))
}

/// Starts a deployment: validates it, takes the environment's lock and
/// begins the rollout. Refusals write nothing.
pub async fn request<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    req: DeployRequest,
) -> Result<Deployment, Refusal>
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    if !deps.config.apps.contains_key(&req.app) {
        return Err(Refusal::BadRequest(format!("unknown app {:?}", req.app)));
    }
    let env = environment(deps, &req.environment)?;
    if !is_image_reference(&req.image) {
        return Err(Refusal::BadRequest(format!(
            "{:?} is not an image reference (name:tag or name@sha256:<digest>)",
            req.image
        )));
    }
    if matches!(env, EnvironmentConfig::Docker(_)) && req.strategy != Strategy::Rolling {
        return Err(Refusal::BadRequest(format!(
            "environment {:?} runs Docker Swarm, which supports rolling updates only",
            req.environment
        )));
    }
    if let Strategy::Canary { steps, .. } = &req.strategy {
        let increasing = steps.windows(2).all(|w| w[0] < w[1]);
        if steps.is_empty() || !increasing || steps.last() != Some(&100) {
            return Err(Refusal::BadRequest(
                "canary steps must increase and end at 100".into(),
            ));
        }
    }
    let records = Records::new(deps.kv);
    let now = deps.clock.now_ms();
    if let Some(lock) = records.holder(&req.app, &req.environment, now).await? {
        return Err(Refusal::Busy(lock));
    }
    let number = records.next_number(&req.app, &req.environment).await?;
    let id = format!("{}.{}.{number}", req.app, req.environment);
    if let Err(lock) = records
        .acquire(&req.app, &req.environment, &id, now, LOCK_TTL_MS)
        .await?
    {
        return Err(Refusal::Busy(lock));
    }
    let digest = req.image.split_once('@').map(|(_, d)| d.to_owned());
    let deployment = Deployment {
        version: 1,
        id,
        app: req.app.clone(),
        environment: req.environment.clone(),
        number,
        kind: "deploy".into(),
        image: req.image.clone(),
        digest,
        strategy: req.strategy.clone(),
        requested_by: req.requested_by,
        stage: req.stage,
        status: DeploymentStatus::InProgress,
        message: Some("starting".into()),
        traffic_percent: None,
        rolled_back: false,
        rollout: None,
        created_at_ms: now,
        finished_at_ms: None,
    };
    records.create(&deployment).await?;
    let started = platform::start(
        deps.http,
        deps.secrets,
        &env,
        &req.app,
        &req.image,
        &req.strategy,
        now,
    )
    .await;
    Ok(record_outcome(deps, &deployment, started.map(|(r, o)| (Some(r), o))).await?)
}

/// Stores an adapter's answer and, when the deployment ended, frees the
/// environment and tells the pipeline and the chat.
async fn record_outcome<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    deployment: &Deployment,
    result: Result<(Option<platform::Rollout>, super::StepOutcome), DeployError>,
) -> Result<Deployment, RecordError>
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let records = Records::new(deps.kv);
    let now = deps.clock.now_ms();
    let (stored, ended) = records
        .update(deployment, |d| match &result {
            Ok((rollout, outcome)) => {
                if let Some(r) = rollout {
                    d.rollout = Some(r.clone());
                }
                d.apply(outcome, now)
            }
            Err(e) => d.apply(
                &super::StepOutcome::Failed {
                    reason: e.to_string(),
                    rolled_back: false,
                },
                now,
            ),
        })
        .await?;
    if ended {
        finish(deps, &stored).await;
    } else {
        let _ = records
            .renew(
                &stored.app,
                &stored.environment,
                &stored.id,
                now,
                LOCK_TTL_MS,
            )
            .await;
    }
    Ok(stored)
}

/// After a deployment ended: free the lock, report to its stage, notify.
async fn finish<K, H, C, S>(deps: &Deps<'_, K, H, C, S>, d: &Deployment)
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let _ = Records::new(deps.kv)
        .release(&d.app, &d.environment, &d.id)
        .await;
    if let Some(link) = &d.stage {
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
        // Boxed: advancing the run may start the next deploy stage.
        let advance: Pin<Box<dyn Future<Output = _> + '_>> = Box::pin(
            crate::progress::report_and_advance(deps, &link.run, &link.stage, link.attempt, report),
        );
        if let Err(e) = advance.await {
            eprintln!("deployment {}: stage {} not updated: {e}", d.id, link.stage);
        }
    }
    let outcome = match d.status {
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
    let notice = Notice {
        on: NotifyOn::Deploy,
        app: d.app.clone(),
        run_id: d.id.clone(),
        run_number: d.number,
        title: outcome,
        lines,
        link: Some(format!(
            "{}/api/apps/{}/environments/{}/releases",
            deps.config.public_base(),
            d.app,
            d.environment
        )),
    };
    crate::progress::send_notice(deps, &d.app, &notice).await;
}

/// Applies `op` to the deployment holding `app`/`env`.
pub async fn operate<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    app: &str,
    env_name: &str,
    op: Operation,
) -> Result<Deployment, Refusal>
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let env = environment(deps, env_name)?;
    let records = Records::new(deps.kv);
    let now = deps.clock.now_ms();
    let Some(lock) = records.holder(app, env_name, now).await? else {
        return Err(Refusal::NotFound(format!(
            "no deployment of {app} to {env_name} is in progress"
        )));
    };
    let Some(holder) = lock.holder else {
        return Err(Refusal::NotFound("no deployment in progress".into()));
    };
    let Some(mut deployment) = records.load_id(&holder).await? else {
        let _ = records.release(app, env_name, &holder).await;
        return Err(Refusal::NotFound(format!(
            "deployment {holder} is gone; lock released"
        )));
    };
    if deployment.status.is_final() {
        finish(deps, &deployment).await;
        return Ok(deployment);
    }
    let Some(mut rollout) = deployment.rollout.clone() else {
        return Err(Refusal::Conflict(
            "the deployment has not started on the platform".into(),
        ));
    };
    let result = platform::operate(deps.http, deps.secrets, &env, &mut rollout, op, now).await;
    if let Err(DeployError::NotApplicable(why)) = &result {
        return Err(Refusal::Conflict(why.clone()));
    }
    deployment = record_outcome(deps, &deployment, result.map(|o| (Some(rollout), o))).await?;
    Ok(deployment)
}

/// Rolls `app` in `env` back to the release before the live one, by the
/// fastest path the platform has.
pub async fn rollback<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    app: &str,
    env_name: &str,
    requested_by: &str,
) -> Result<Deployment, Refusal>
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    if !deps.config.apps.contains_key(app) {
        return Err(Refusal::BadRequest(format!("unknown app {app:?}")));
    }
    let env = environment(deps, env_name)?;
    let records = Records::new(deps.kv);
    let now = deps.clock.now_ms();
    if let Some(lock) = records.holder(app, env_name, now).await? {
        return Err(Refusal::Busy(lock));
    }
    let history = records.history(app, env_name, 100).await?;
    let mut live = history
        .iter()
        .filter(|d| d.status == DeploymentStatus::Succeeded);
    let Some(current) = live.next() else {
        return Err(Refusal::Conflict(format!(
            "{app} has no release in {env_name} to roll back"
        )));
    };
    let Some(current_rollout) = current.rollout.clone() else {
        return Err(Refusal::Conflict(
            "the live release has no rollout state".into(),
        ));
    };
    // The release before the live one; for the first release Slipway made,
    // the version that served before it.
    let (target_image, target_digest, target_label) = match live.find(|d| d.image != current.image)
    {
        Some(previous) => (
            previous.image.clone(),
            previous.digest.clone(),
            format!("release #{}", previous.number),
        ),
        None => match current_rollout.previous_image() {
            Some(image) => {
                let digest = image.split_once('@').map(|(_, d)| d.to_owned());
                (
                    image,
                    digest,
                    "the version before the first release".to_owned(),
                )
            }
            None => {
                return Err(Refusal::Conflict(format!(
                    "{app} has no earlier release in {env_name} to roll back to"
                )));
            }
        },
    };
    let number = records.next_number(app, env_name).await?;
    let id = format!("{app}.{env_name}.{number}");
    if let Err(lock) = records
        .acquire(app, env_name, &id, now, LOCK_TTL_MS)
        .await?
    {
        return Err(Refusal::Busy(lock));
    }
    let deployment = Deployment {
        version: 1,
        id,
        app: app.to_owned(),
        environment: env_name.to_owned(),
        number,
        kind: "rollback".into(),
        image: target_image,
        digest: target_digest,
        strategy: current.strategy.clone(),
        requested_by: requested_by.to_owned(),
        stage: None,
        status: DeploymentStatus::InProgress,
        message: Some(format!("rolling back to {target_label}")),
        traffic_percent: None,
        rolled_back: false,
        rollout: None,
        created_at_ms: now,
        finished_at_ms: None,
    };
    records.create(&deployment).await?;
    let result =
        platform::rollback(deps.http, deps.secrets, &env, app, &current_rollout, now).await;
    Ok(record_outcome(deps, &deployment, result.map(|(r, o)| (Some(r), o))).await?)
}

/// Moves every deployment in progress on; returns how many were looked at.
pub async fn tick<K, H, C, S>(deps: &Deps<'_, K, H, C, S>) -> u64
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let mut stepped = 0;
    for app in deps.config.apps.keys() {
        for env in deps.config.environments.keys() {
            let now = deps.clock.now_ms();
            match Records::new(deps.kv).holder(app, env, now).await {
                Ok(Some(_)) => {
                    stepped += 1;
                    if let Err(e) = operate(deps, app, env, Operation::Step).await {
                        eprintln!("tick: deployment of {app} to {env}: {e:?}");
                    }
                }
                Ok(None) => {}
                Err(e) => eprintln!("tick: lock of {app}/{env}: {e}"),
            }
        }
    }
    stepped
}
