//! Kubernetes adapter (also Alibaba Cloud ACK, which is upstream
//! Kubernetes).
//!
//! Talks to the API server with a ServiceAccount bearer token
//! (`Authorization: Bearer …`, `Accept: application/json`, 5 s per call).
//! Errors come back as `Status` objects; their `message` becomes
//! [`DeployError::Api`] (the token is never included). Every write reads
//! the object first and, on 409 Conflict, reads it again and retries (at
//! most 5 attempts).
//!
//! # Conventions
//!
//! For app `A` in namespace `N` ([`KubernetesEnv::namespace`]), with
//! container `C` = [`KubernetesEnv::container`] or `A`:
//!
//! - **Image bump** of a Deployment: strategic merge patch
//!   `{"spec":{"template":{"spec":{"containers":[{"name":C,"image":I}]}}}}`
//!   (`application/strategic-merge-patch+json`; other containers are kept).
//! - **Progress** of a Deployment: the `kubectl rollout status` test
//!   (`metadata.generation` vs `status.observedGeneration`, then
//!   `spec.replicas`, `status.updatedReplicas`, `status.replicas`,
//!   `status.availableReplicas`), and `spec.paused` reported as such. A
//!   `Progressing` condition with reason `ProgressDeadlineExceeded` fails
//!   the rollout; the adapter then puts the image recorded at start back
//!   and reports [`StepOutcome::Failed`] with `rolled_back: true`.
//! - **rolling**: Deployment `A` takes the new image.
//! - **blue-green**: Deployments `A-blue` and `A-green` (labelled and
//!   selecting `app: A, slot: blue|green`) and Service `A` whose
//!   `spec.selector` is `{app: A, slot: <live slot>}`. The new version goes
//!   to the idle slot (the one the Service does not select), scaled to
//!   `replicas_hint` or the live slot's replica count; if that Deployment
//!   does not exist it is created from the live one. Once all its replicas
//!   are available the Service selector switches to it (merge patch); the
//!   old slot stays as it is for instant rollback. Abort (or a stall)
//!   before the switch restores the idle slot's previous image and replica
//!   count (or scales it to zero if the adapter created it) and leaves the
//!   Service alone.
//! - **canary**: stable Deployment `A` (selecting `track: stable`), canary
//!   Deployment `A-canary` created by the adapter from the stable one's
//!   spec (labels, selector and pod labels `track: canary`, new image, one
//!   replica), Services `A-stable` and `A-canary` (assumed to exist). Traffic
//!   goes through Gateway API HTTPRoute `A` (rule 0 has backendRefs
//!   `A-stable` and `A-canary`; weights `100 - p` and `p`, set by a merge
//!   patch of the whole `rules` array carrying `metadata.resourceVersion`,
//!   since a CRD answers 415 to strategic merge) or, with
//!   `traffic = "ingress-nginx"`, Ingress `A-canary` whose annotations
//!   `nginx.ingress.kubernetes.io/canary: "true"` and
//!   `nginx.ingress.kubernetes.io/canary-weight: "p"` are merge-patched.
//!   Traffic is set to 0 first; once the canary is available the first step
//!   begins. Each step below 100 is held for `hold_ms` if set (and longer
//!   while the canary is not fully available), else until [`promote`]. Reaching 100 sends all traffic to the canary, gives the
//!   stable Deployment the new image, waits for it to roll out, then sends
//!   all traffic to stable and deletes `A-canary`. [`abort`] (or a stall)
//!   sends all traffic to stable, scales `A-canary` to zero and, if the
//!   stable Deployment was already being updated, restores its image.

mod canary;
mod client;
mod strategies;
mod traffic;
mod workload;

#[cfg(test)]
pub(crate) mod tests;

use serde::{Deserialize, Serialize};

use self::client::{Kube, is_dns_label};
use super::{DeployError, StepOutcome, Strategy, is_image_reference};
use crate::ports::HttpClient;

/// How canary traffic is split.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Traffic {
    /// Gateway API HTTPRoute `A` with weighted backendRefs (default).
    #[default]
    Gateway,
    /// Ingress-NGINX canary Ingress `A-canary` with `canary-weight`.
    IngressNginx,
}

/// `[environments.<name>]` settings of a Kubernetes cluster.
#[derive(Deserialize, Serialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct KubernetesEnv {
    /// The API server's URL, e.g. `https://10.0.0.1:6443`.
    pub api_server: String,
    /// The namespace holding the app's objects.
    pub namespace: String,
    /// NAME of the Spin variable holding the bearer token.
    pub token_secret: String,
    /// Container to update (default: the app's name).
    #[serde(default)]
    pub container: Option<String>,
    /// How canary traffic is split (`"gateway"` or `"ingress-nginx"`).
    #[serde(default)]
    pub traffic: Traffic,
    /// Replicas for a blue-green slot (default: as many as the live slot).
    #[serde(default)]
    pub replicas_hint: Option<u32>,
}

/// A blue-green slot.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Slot {
    /// Deployment `A-blue`.
    Blue,
    /// Deployment `A-green`.
    Green,
}

impl Slot {
    /// `blue` or `green` (the `slot` label value).
    pub fn name(self) -> &'static str {
        match self {
            Slot::Blue => "blue",
            Slot::Green => "green",
        }
    }

    /// The other slot.
    pub fn other(self) -> Slot {
        match self {
            Slot::Blue => Slot::Green,
            Slot::Green => Slot::Blue,
        }
    }

    /// The slot's Deployment name for `app`.
    pub fn deployment(self, app: &str) -> String {
        format!("{app}-{}", self.name())
    }
}

/// Blue-green slots of a rollout.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Slots {
    /// The slot taking the new version.
    pub target: Slot,
    /// The slot the Service selected at start.
    pub live: Slot,
    /// The target slot's image before (`None`: the adapter created it).
    pub target_image_before: Option<String>,
    /// The target slot's `spec.replicas` before.
    pub target_replicas_before: Option<u32>,
}

/// Where a rollout is.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Rolling / blue-green: waiting for the Deployment to roll out.
    Updating,
    /// Canary: waiting for `A-canary` to be available (no traffic yet).
    CanaryWarmup,
    /// Canary: `A-canary` scaled for step [`KubeRollout::step`]; its
    /// traffic moves once those replicas are available.
    CanaryScaling,
    /// Canary: holding step [`KubeRollout::step`].
    CanaryStep,
    /// Canary: all traffic on the canary while stable takes the new image.
    CanaryFinishing,
    /// Ended with this outcome; later calls report it again.
    Ended(StepOutcome),
}

/// Everything about an in-flight rollout that must survive between calls
/// (stored as JSON between requests).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct KubeRollout {
    /// The app (`A`).
    pub app: String,
    /// The image being rolled out.
    pub image: String,
    /// The image serving before (what abort, auto-rollback and
    /// [`rollback`] go back to).
    pub previous_image: Option<String>,
    /// The strategy.
    pub strategy: Strategy,
    /// The container whose image changes.
    pub container: String,
    /// Where it is.
    pub phase: Phase,
    /// Blue-green only: the slots.
    #[serde(default)]
    pub slots: Option<Slots>,
    /// Canary only: index of the current step.
    #[serde(default)]
    pub step: usize,
    /// Canary only: when the current step began (ms since the Unix epoch).
    #[serde(default)]
    pub step_started_at_ms: u64,
    /// When the rollout started (ms since the Unix epoch).
    pub started_at_ms: u64,
    /// Whether this rollout is a rollback (a stalled rollback is not
    /// rolled back again).
    #[serde(default)]
    pub is_rollback: bool,
    /// Canary only: the stable Deployment's replicas when the rollout
    /// began, which the canary's replicas follow step by step.
    #[serde(default)]
    pub stable_replicas: Option<u32>,
}

impl KubeRollout {
    fn new(
        app: &str,
        image: &str,
        previous_image: Option<String>,
        strategy: Strategy,
        container: &str,
        phase: Phase,
        now_ms: u64,
    ) -> Self {
        KubeRollout {
            app: app.to_owned(),
            image: image.to_owned(),
            previous_image,
            strategy,
            container: container.to_owned(),
            phase,
            slots: None,
            step: 0,
            step_started_at_ms: now_ms,
            started_at_ms: now_ms,
            is_rollback: false,
            stable_replicas: None,
        }
    }
}

/// Checks the app name: a DNS label short enough for `A-canary`.
fn check_app(app: &str) -> Result<(), DeployError> {
    if is_dns_label(app, 56) && app.starts_with(|c: char| c.is_ascii_lowercase()) {
        Ok(())
    } else {
        Err(DeployError::Config(format!(
            "app name {app:?} must be a lowercase DNS label of at most 56 characters"
        )))
    }
}

/// Starts rolling `image` out for `app` and reports where it is.
pub async fn start(
    http: &impl HttpClient,
    env: &KubernetesEnv,
    token: &str,
    app: &str,
    image: &str,
    strategy: &Strategy,
    now_ms: u64,
) -> Result<(KubeRollout, StepOutcome), DeployError> {
    check_app(app)?;
    if !is_image_reference(image) {
        return Err(DeployError::Config(format!(
            "{image:?} is not an image reference"
        )));
    }
    if let Strategy::Canary { steps, .. } = strategy {
        canary::check_steps(steps)?;
    }
    let kube = Kube::new(http, env, token)?;
    let container = env.container.clone().unwrap_or_else(|| app.to_owned());
    let mut rollout = match strategy {
        Strategy::Rolling => {
            strategies::start_rolling(&kube, app, image, &container, now_ms).await?
        }
        Strategy::BlueGreen => {
            strategies::start_blue_green(&kube, env, app, image, &container, now_ms).await?
        }
        Strategy::Canary { .. } => {
            canary::start(&kube, env, app, image, &container, strategy, now_ms).await?
        }
    };
    let outcome = advance(&kube, env, &mut rollout, now_ms).await?;
    Ok((rollout, outcome))
}

/// Records a final outcome in the rollout.
fn settle(rollout: &mut KubeRollout, outcome: StepOutcome) -> StepOutcome {
    if outcome.is_final() {
        rollout.phase = Phase::Ended(outcome.clone());
    }
    outcome
}

async fn advance<H: HttpClient>(
    kube: &Kube<'_, H>,
    env: &KubernetesEnv,
    rollout: &mut KubeRollout,
    now_ms: u64,
) -> Result<StepOutcome, DeployError> {
    if let Phase::Ended(outcome) = &rollout.phase {
        return Ok(outcome.clone());
    }
    let outcome = match rollout.strategy {
        Strategy::Rolling => strategies::step_rolling(kube, rollout).await?,
        Strategy::BlueGreen => strategies::step_blue_green(kube, rollout).await?,
        Strategy::Canary { .. } => canary::step(kube, env, rollout, now_ms).await?,
    };
    Ok(settle(rollout, outcome))
}

/// Reads the status and moves on: next canary step once its hold has
/// elapsed, blue-green switch once the new slot is ready, automatic
/// rollback when a Deployment exceeds its progress deadline. Called
/// periodically; an ended rollout reports its outcome again.
pub async fn step(
    http: &impl HttpClient,
    env: &KubernetesEnv,
    token: &str,
    rollout: &mut KubeRollout,
    now_ms: u64,
) -> Result<StepOutcome, DeployError> {
    if let Phase::Ended(outcome) = &rollout.phase {
        return Ok(outcome.clone());
    }
    let kube = Kube::new(http, env, token)?;
    advance(&kube, env, rollout, now_ms).await
}

fn ended() -> DeployError {
    DeployError::NotApplicable("the rollout has already ended".into())
}

/// Canary: moves to the next step now. Other strategies:
/// [`DeployError::NotApplicable`].
pub async fn promote(
    http: &impl HttpClient,
    env: &KubernetesEnv,
    token: &str,
    rollout: &mut KubeRollout,
    now_ms: u64,
) -> Result<StepOutcome, DeployError> {
    if !matches!(rollout.strategy, Strategy::Canary { .. }) {
        return Err(DeployError::NotApplicable(
            "promote applies to canary deployments".into(),
        ));
    }
    if matches!(rollout.phase, Phase::Ended(_)) {
        return Err(ended());
    }
    let kube = Kube::new(http, env, token)?;
    let outcome = canary::promote(&kube, env, rollout, now_ms).await?;
    Ok(settle(rollout, outcome))
}

/// Stops the rollout and goes back to the previous version
/// ([`StepOutcome::Aborted`]); an ended rollout cannot be aborted (use
/// [`rollback`]).
pub async fn abort(
    http: &impl HttpClient,
    env: &KubernetesEnv,
    token: &str,
    rollout: &mut KubeRollout,
    now_ms: u64,
) -> Result<StepOutcome, DeployError> {
    let _ = now_ms;
    if matches!(rollout.phase, Phase::Ended(_)) {
        return Err(ended());
    }
    let kube = Kube::new(http, env, token)?;
    let outcome = match rollout.strategy {
        Strategy::Rolling => strategies::abort_rolling(&kube, rollout).await?,
        Strategy::BlueGreen => strategies::abort_blue_green(&kube, rollout).await?,
        Strategy::Canary { .. } => canary::abort(&kube, env, rollout).await?,
    };
    Ok(settle(rollout, outcome))
}

/// Rolls back a finished release by the fastest path: blue-green → switch
/// the Service selector back to the previous slot (which still runs the
/// previous version; it is only re-imaged or scaled up if it no longer
/// does); otherwise strategic-patch Deployment `app` to `previous_image`
/// and follow it like a rolling update.
pub async fn rollback(
    http: &impl HttpClient,
    env: &KubernetesEnv,
    token: &str,
    app: &str,
    current: &KubeRollout,
    now_ms: u64,
) -> Result<(KubeRollout, StepOutcome), DeployError> {
    check_app(app)?;
    let previous = current.previous_image.as_deref().ok_or_else(|| {
        DeployError::NotApplicable("no previous image is recorded for this release".into())
    })?;
    let kube = Kube::new(http, env, token)?;
    let container = current.container.as_str();
    let mut rollout = match current.strategy {
        Strategy::BlueGreen => {
            strategies::start_blue_green(&kube, env, app, previous, container, now_ms).await?
        }
        _ => strategies::start_rolling(&kube, app, previous, container, now_ms).await?,
    };
    rollout.is_rollback = true;
    let outcome = advance(&kube, env, &mut rollout, now_ms).await?;
    Ok((rollout, outcome))
}
