//! One front for both container services: environment settings and the
//! rollout state of either adapter.

use serde::{Deserialize, Serialize};

use super::docker::compose::ComposeFile;
use super::docker::{self, DockerEnv, SwarmRollout};
use super::kubernetes::{self, KubeRollout, KubernetesEnv};
use super::{DeployError, StepOutcome, Strategy};
use crate::ports::{HttpClient, Secrets};

/// `[environments.<name>]` in the control-plane config.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "platform", rename_all = "snake_case")]
pub enum EnvironmentConfig {
    /// Kubernetes, including Alibaba Cloud ACK.
    Kubernetes(KubernetesEnv),
    /// Docker Engine in Swarm mode.
    Docker(DockerEnv),
}

/// The state of a rollout on either platform (stored in the deployment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "platform", rename_all = "snake_case")]
pub enum Rollout {
    /// On Kubernetes.
    Kubernetes(KubeRollout),
    /// On Docker Swarm.
    Docker(SwarmRollout),
}

impl Rollout {
    /// The image that served before this rollout, when known.
    pub fn previous_image(&self) -> Option<String> {
        match self {
            Rollout::Kubernetes(r) => r.previous_image.clone(),
            Rollout::Docker(r) => Some(r.previous_image.clone()).filter(|i| !i.is_empty()),
        }
    }

    /// A canary's current step (from 1), where the platform keeps one.
    pub fn step(&self) -> Option<usize> {
        match self {
            Rollout::Kubernetes(r) if r.strategy.name() == "canary" => Some(r.step + 1),
            Rollout::Docker(r) => r.canary_step(),
            _ => None,
        }
    }

    /// What an abort left, where the platform says more than "aborted".
    pub fn abort_note(&self) -> Option<String> {
        match self {
            Rollout::Docker(r) => r.abort_note(),
            Rollout::Kubernetes(_) => None,
        }
    }
}

/// Credentials of an environment, read from Spin variables.
struct Credentials {
    token: Option<String>,
    registry_auth: Option<String>,
}

async fn credentials(
    env: &EnvironmentConfig,
    secrets: &impl Secrets,
) -> Result<Credentials, DeployError> {
    match env {
        EnvironmentConfig::Kubernetes(k) => {
            let token = secrets.get(&k.token_secret).await.ok_or_else(|| {
                DeployError::Config(format!("the {} variable is not set", k.token_secret))
            })?;
            Ok(Credentials {
                token: Some(token),
                registry_auth: None,
            })
        }
        EnvironmentConfig::Docker(d) => Ok(Credentials {
            token: match &d.token_secret {
                Some(n) => secrets.get(n).await,
                None => None,
            },
            registry_auth: match &d.registry_auth_secret {
                Some(n) => secrets.get(n).await,
                None => None,
            },
        }),
    }
}

/// Starts rolling `image` out for `app`.
pub async fn start(
    http: &impl HttpClient,
    secrets: &impl Secrets,
    env: &EnvironmentConfig,
    app: &str,
    image: &str,
    strategy: &Strategy,
    now_ms: u64,
) -> Result<(Rollout, StepOutcome), DeployError> {
    let c = credentials(env, secrets).await?;
    match env {
        EnvironmentConfig::Kubernetes(k) => {
            let token = c.token.unwrap_or_default();
            kubernetes::start(http, k, &token, app, image, strategy, now_ms)
                .await
                .map(|(r, o)| (Rollout::Kubernetes(r), o))
        }
        EnvironmentConfig::Docker(d) => docker::start(
            http,
            d,
            c.token.as_deref(),
            c.registry_auth.as_deref(),
            app,
            image,
            strategy,
            now_ms,
        )
        .await
        .map(|(r, o)| (Rollout::Docker(r), o)),
    }
}

/// Deploys the Compose stack `compose` with `image` as the image of
/// `settings.service`: Docker environments only (Kubernetes has no stacks).
#[allow(clippy::too_many_arguments)]
pub async fn start_stack(
    http: &impl HttpClient,
    secrets: &impl Secrets,
    env: &EnvironmentConfig,
    compose: &ComposeFile,
    settings: &crate::config::ComposeSettings,
    app: &str,
    image: &str,
    strategy: &Strategy,
    now_ms: u64,
) -> Result<(Rollout, StepOutcome), DeployError> {
    let EnvironmentConfig::Docker(d) = env else {
        return Err(DeployError::Config(
            "a Compose stack deploys to a Docker environment only".into(),
        ));
    };
    let defaults = docker::update_defaults(d)?;
    let stack = settings.stack.as_deref().unwrap_or(app);
    let service = settings.service.as_deref().unwrap_or(app);
    let plan = docker::compose::plan(compose, stack, service, image, &defaults)
        .map_err(|e| DeployError::Config(format!("{}: {e}", settings.path)))?;
    let c = credentials(env, secrets).await?;
    docker::start_stack(
        http,
        d,
        c.token.as_deref(),
        c.registry_auth.as_deref(),
        &plan,
        image,
        strategy,
        now_ms,
    )
    .await
    .map(|(r, o)| (Rollout::Docker(r), o))
}

/// What an operation on a running rollout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Look at the status and move on.
    Step,
    /// Canary: the next step now.
    Promote,
    /// Back to the previous version.
    Abort,
}

/// Applies `op` to `rollout`.
pub async fn operate(
    http: &impl HttpClient,
    secrets: &impl Secrets,
    env: &EnvironmentConfig,
    rollout: &mut Rollout,
    op: Operation,
    now_ms: u64,
) -> Result<StepOutcome, DeployError> {
    let c = credentials(env, secrets).await?;
    match (env, rollout) {
        (EnvironmentConfig::Kubernetes(k), Rollout::Kubernetes(r)) => {
            let token = c.token.unwrap_or_default();
            match op {
                Operation::Step => kubernetes::step(http, k, &token, r, now_ms).await,
                Operation::Promote => kubernetes::promote(http, k, &token, r, now_ms).await,
                Operation::Abort => kubernetes::abort(http, k, &token, r, now_ms).await,
            }
        }
        (EnvironmentConfig::Docker(d), Rollout::Docker(r)) => match op {
            Operation::Step => docker::step(http, d, c.token.as_deref(), r, now_ms).await,
            Operation::Promote => docker::promote(http, d, c.token.as_deref(), r, now_ms).await,
            Operation::Abort => docker::abort(http, d, c.token.as_deref(), r, now_ms).await,
        },
        _ => Err(DeployError::Config(
            "the environment's platform changed during the deployment".into(),
        )),
    }
}

/// Rolls `app` back from the release whose rollout is `current`.
pub async fn rollback(
    http: &impl HttpClient,
    secrets: &impl Secrets,
    env: &EnvironmentConfig,
    app: &str,
    current: &Rollout,
    now_ms: u64,
) -> Result<(Rollout, StepOutcome), DeployError> {
    let c = credentials(env, secrets).await?;
    match (env, current) {
        (EnvironmentConfig::Kubernetes(k), Rollout::Kubernetes(r)) => {
            let token = c.token.unwrap_or_default();
            kubernetes::rollback(http, k, &token, app, r, now_ms)
                .await
                .map(|(r, o)| (Rollout::Kubernetes(r), o))
        }
        (EnvironmentConfig::Docker(d), Rollout::Docker(r)) => {
            // A stack's rollout names its service (`<stack>_<service>`).
            let service = if r.service.is_empty() {
                app
            } else {
                &r.service
            };
            docker::rollback(http, d, c.token.as_deref(), service, r, now_ms)
                .await
                .map(|(r, o)| (Rollout::Docker(r), o))
        }
        _ => Err(DeployError::Config(
            "the environment's platform changed since that release".into(),
        )),
    }
}
