//! Asking for a deployment, a rollback, a promote or an abort: each checks
//! the request and records it as a fact (a new deployment holding its
//! environment's lock, or a flag on the live one). Refusals write nothing.
//! Talking to the platform is the engine's job, when it reconciles the
//! deployment.

use super::deploy_policy;
use crate::active::ActiveIndex;
use crate::config::ControlPlane;
use crate::deploy::platform::EnvironmentConfig;
use crate::deploy::records::{
    Deployment, DeploymentStatus, FreezeOverride, Lock, RecordError, Records, StageLink,
};
use crate::deploy::{Strategy, is_image_reference};
use crate::ports::KeyValue;

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
    /// An admin's reason to deploy through a freeze.
    pub override_freeze: Option<String>,
    /// The commit the image was built from, when known (a pipeline's).
    pub commit: Option<String>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// 400: unknown app or environment, bad image reference, …
    BadRequest(String),
    /// 403: the person lacks the role, or the policy forbids it.
    Forbidden(String),
    /// 404: nothing to act on.
    NotFound(String),
    /// 409: another deployment holds the environment.
    Busy(Lock),
    /// 409: the operation does not apply now.
    Conflict(String),
    /// 503: the store failed.
    Unavailable(String),
}

impl From<deploy_policy::Refused> for Refusal {
    fn from(r: deploy_policy::Refused) -> Self {
        match r {
            deploy_policy::Refused::Forbidden(m) => Refusal::Forbidden(m),
            deploy_policy::Refused::BadRequest(m) => Refusal::BadRequest(m),
        }
    }
}

impl From<RecordError> for Refusal {
    fn from(e: RecordError) -> Self {
        Refusal::Unavailable(e.to_string())
    }
}

impl From<crate::cells::CellError> for Refusal {
    fn from(e: crate::cells::CellError) -> Self {
        Refusal::Unavailable(e.to_string())
    }
}

/// Why a busy environment cannot take a deployment, for people.
pub fn busy_message(lock: &Lock) -> String {
    match (&lock.frozen, &lock.holder) {
        (Some(f), _) => format!(
            "the environment is locked by {}{}",
            f.by,
            f.reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
        (None, Some(holder)) => format!("another deployment holds this environment ({holder})"),
        (None, None) => "the environment is busy".into(),
    }
}

/// A promote or an abort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Canary: the next step now.
    Promote,
    /// Back to the previous version.
    Abort,
}

fn environment<'c>(config: &'c ControlPlane, name: &str) -> Result<&'c EnvironmentConfig, Refusal> {
    config
        .environments
        .get(name)
        .ok_or_else(|| Refusal::BadRequest(format!("unknown environment {name:?}")))
}

fn check(config: &ControlPlane, req: &DeployRequest) -> Result<(), Refusal> {
    if !config.apps.contains_key(&req.app) {
        return Err(Refusal::BadRequest(format!("unknown app {:?}", req.app)));
    }
    let env = environment(config, &req.environment)?;
    if !is_image_reference(&req.image) {
        return Err(Refusal::BadRequest(format!(
            "{:?} is not an image reference (name:tag or name@sha256:<digest>)",
            req.image
        )));
    }
    let compose = config.apps.get(&req.app).and_then(|a| a.compose.as_ref());
    if let (Some(c), EnvironmentConfig::Docker(_)) = (compose, env)
        && req.strategy != Strategy::Rolling
    {
        return Err(Refusal::BadRequest(format!(
            "app {:?} deploys to Docker Swarm as a Compose stack ({}), which is updated by \
             rolling update only, not {}",
            req.app,
            c.path,
            req.strategy.name()
        )));
    }
    if let (Some(c), EnvironmentConfig::Docker(_), None) = (compose, env, &req.commit) {
        return Err(Refusal::BadRequest(format!(
            "app {:?} deploys as a stack from {}, read at the deployed commit: give \"commit\"",
            req.app, c.path
        )));
    }
    if let Some(commit) = &req.commit
        && !is_commit(commit)
    {
        return Err(Refusal::BadRequest(format!(
            "{commit:?} is not a commit hash"
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
    Ok(())
}

/// Whether `text` looks like a full or abbreviated commit hash.
fn is_commit(text: &str) -> bool {
    (7..=64).contains(&text.len()) && text.chars().all(|c| c.is_ascii_hexdigit())
}

/// Records a new deployment holding its environment. A request from a
/// pipeline stage that already has its deployment (the stage's effect ran
/// twice) gets that deployment back.
pub async fn request(
    kv: &impl KeyValue,
    config: &ControlPlane,
    req: DeployRequest,
    now_ms: u64,
) -> Result<Deployment, Refusal> {
    check(config, &req)?;
    let asked = deploy_policy::Asked {
        app: &req.app,
        environment: &req.environment,
        requested_by: &req.requested_by,
        override_freeze: req.override_freeze.as_deref(),
    };
    let freeze_override = deploy_policy::admit(config, asked, now_ms)?;
    let records = Records::new(kv);
    if let Some(lock) = records.holder(&req.app, &req.environment, now_ms).await? {
        return match existing_for_stage(&records, &lock, req.stage.as_ref()).await? {
            Some(d) => Ok(d),
            None => Err(Refusal::Busy(lock)),
        };
    }
    let digest = req.image.split_once('@').map(|(_, d)| d.to_owned());
    let message = Some("starting".to_owned());
    let kind = Kind {
        name: "deploy",
        rollback_of: None,
        freeze_override,
    };
    create(
        &records,
        kv,
        &req,
        kind,
        (req.image.clone(), digest),
        message,
        now_ms,
    )
    .await
}

/// What a new deployment is.
struct Kind {
    /// `deploy` or `rollback`.
    name: &'static str,
    /// For a rollback: the rollout it undoes.
    rollback_of: Option<crate::deploy::platform::Rollout>,
    /// A freeze an admin lifted for it.
    freeze_override: Option<FreezeOverride>,
}

async fn existing_for_stage<K: KeyValue>(
    records: &Records<'_, K>,
    lock: &Lock,
    stage: Option<&StageLink>,
) -> Result<Option<Deployment>, Refusal> {
    let (Some(stage), Some(holder)) = (stage, &lock.holder) else {
        return Ok(None);
    };
    Ok(records
        .load_id(holder)
        .await?
        .filter(|d| d.stage.as_ref() == Some(stage)))
}

async fn create<K: KeyValue>(
    records: &Records<'_, K>,
    kv: &K,
    req: &DeployRequest,
    kind: Kind,
    (image, digest): (String, Option<String>),
    message: Option<String>,
    now_ms: u64,
) -> Result<Deployment, Refusal> {
    let number = records.next_number(&req.app, &req.environment).await?;
    let id = format!("{}.{}.{number}", req.app, req.environment);
    if let Err(lock) = records
        .acquire(&req.app, &req.environment, &id, now_ms, LOCK_TTL_MS)
        .await?
    {
        return Err(Refusal::Busy(lock));
    }
    let deployment = Deployment {
        version: 1,
        id: id.clone(),
        app: req.app.clone(),
        environment: req.environment.clone(),
        number,
        kind: kind.name.into(),
        image,
        digest,
        strategy: req.strategy.clone(),
        requested_by: req.requested_by.clone(),
        commit: req.commit.clone(),
        stage: req.stage.clone(),
        status: DeploymentStatus::InProgress,
        message,
        traffic_percent: None,
        rolled_back: false,
        rollout: None,
        created_at_ms: now_ms,
        finished_at_ms: None,
        rollback_of: kind.rollback_of,
        freeze_override: kind.freeze_override,
        lease: None,
        promotions_requested: 0,
        promotions_done: 0,
        abort_requested: false,
        operated_by: None,
        intents: Default::default(),
        done: Default::default(),
        replies: Vec::new(),
    };
    // Written before it is indexed, so the index never names a deployment
    // that is not there; one whose index entry was lost to a crash is
    // still found through its environment's lock by the tick.
    records.create(&deployment).await?;
    ActiveIndex::new(kv).set_deployment(&id, true).await?;
    Ok(deployment)
}

/// Records a rollback of `app` in `env` to release number `to`, or by
/// default to the release before the live one (for the first release
/// Slipway made, to the version before it).
pub async fn rollback(
    kv: &impl KeyValue,
    config: &ControlPlane,
    app: &str,
    env_name: &str,
    to: Option<u64>,
    requested_by: &str,
    now_ms: u64,
) -> Result<Deployment, Refusal> {
    if !config.apps.contains_key(app) {
        return Err(Refusal::BadRequest(format!("unknown app {app:?}")));
    }
    environment(config, env_name)?;
    let records = Records::new(kv);
    if let Some(lock) = records.holder(app, env_name, now_ms).await? {
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
    let target = match to {
        Some(n) => Some(
            history
                .iter()
                .find(|d| d.number == n && d.status == DeploymentStatus::Succeeded)
                .filter(|d| d.image != current.image)
                .ok_or_else(|| {
                    Refusal::Conflict(format!(
                        "release #{n} of {app} in {env_name} is not a succeeded release \
                         of another version than the live one"
                    ))
                })?,
        ),
        None => live.find(|d| d.image != current.image),
    };
    let commit = target.and_then(|previous| previous.commit.clone());
    let (image, digest, label) = match target {
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
    let req = DeployRequest {
        app: app.to_owned(),
        environment: env_name.to_owned(),
        image: image.clone(),
        strategy: current.strategy.clone(),
        requested_by: requested_by.to_owned(),
        stage: None,
        override_freeze: None,
        commit,
    };
    let message = Some(format!("rolling back to {label}"));
    let kind = Kind {
        name: "rollback",
        rollback_of: Some(current_rollout),
        freeze_override: None,
    };
    create(&records, kv, &req, kind, (image, digest), message, now_ms).await
}

/// Records a promote or an abort on the deployment holding `app`/`env`.
pub async fn operate(
    kv: &impl KeyValue,
    config: &ControlPlane,
    app: &str,
    env_name: &str,
    op: Operation,
    by: &str,
    now_ms: u64,
) -> Result<Deployment, Refusal> {
    environment(config, env_name)?;
    let records = Records::new(kv);
    let holder = records
        .holder(app, env_name, now_ms)
        .await?
        .and_then(|l| l.holder)
        .ok_or_else(|| {
            Refusal::NotFound(format!(
                "no deployment of {app} to {env_name} is in progress"
            ))
        })?;
    let deployment = records
        .load_id(&holder)
        .await?
        .ok_or_else(|| Refusal::NotFound(format!("deployment {holder} is gone")))?;
    if op == Operation::Promote && !matches!(deployment.strategy, Strategy::Canary { .. }) {
        return Err(Refusal::Conflict(
            "promote applies to canary deployments".into(),
        ));
    }
    let (stored, refusal) = records
        .update(&deployment, |d| {
            if d.status.is_final() {
                return Some(Refusal::Conflict(format!(
                    "deployment {} already ended",
                    d.id
                )));
            }
            match op {
                Operation::Promote => d.promotions_requested += 1,
                Operation::Abort => d.abort_requested = true,
            }
            d.operated_by = Some(by.to_owned());
            None
        })
        .await?;
    match refusal {
        Some(r) => Err(r),
        None => Ok(stored),
    }
}
