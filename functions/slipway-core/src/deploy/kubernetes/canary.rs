//! Canary: a `<app>-canary` Deployment beside the stable one, traffic moved
//! in steps, then the stable Deployment takes the new image.
//!
//! The canary carries its share: for a step of `w`% it runs
//! `ceil(w × stable replicas / 100)` replicas (at least one), and the step's
//! traffic moves only once they are available. Behind a Gateway API
//! HTTPRoute, each weight change must be accepted by the gateway
//! (`status.parents[].conditions` `Accepted` and `ResolvedRefs`); a refusal
//! fails the step with the gateway's message and puts traffic back on
//! stable. The stable Deployment keeps its replicas throughout.

use super::client::{Kind, Kube};
use super::traffic::{RouteVerdict, route_verdict, set_canary_weight};
use super::workload::{self, Progress, available, require_image, set_image};
use super::{KubeRollout, KubernetesEnv, Phase, Traffic};
use crate::deploy::{DeployError, StepOutcome, Strategy};
use crate::ports::HttpClient;

/// Checks canary steps: not empty, increasing, each 1–100, ending at 100.
pub(super) fn check_steps(steps: &[u8]) -> Result<(), DeployError> {
    let increasing = steps.windows(2).all(|w| w[0] < w[1]);
    if steps.last() != Some(&100) || !increasing || steps.first() == Some(&0) {
        return Err(DeployError::Config(format!(
            "canary steps must increase from above 0 and end at 100, not {steps:?}"
        )));
    }
    Ok(())
}

fn canary_name(app: &str) -> String {
    format!("{app}-canary")
}

/// Sends no traffic to the canary yet, then creates (or updates) the
/// canary Deployment from the stable one with `image` and one replica.
pub(super) async fn start<H: HttpClient>(
    kube: &Kube<'_, H>,
    env: &KubernetesEnv,
    app: &str,
    image: &str,
    container: &str,
    strategy: &Strategy,
    now_ms: u64,
) -> Result<KubeRollout, DeployError> {
    let stable = kube.get_required(Kind::Deployment, app).await?;
    let previous = require_image(&stable, container)?;
    set_canary_weight(kube, env, app, 0).await?;
    let name = canary_name(app);
    if kube.get(Kind::Deployment, &name).await?.is_some() {
        set_image(kube, &name, container, image, Some(1)).await?;
    } else {
        let copy = workload::copy(
            &stable,
            &name,
            &env.namespace,
            ("track", "canary"),
            container,
            image,
            1,
        )?;
        kube.create(Kind::Deployment, &copy).await?;
    }
    let mut rollout = KubeRollout::new(
        app,
        image,
        Some(previous),
        strategy.clone(),
        container,
        Phase::CanaryWarmup,
        now_ms,
    );
    rollout.stable_replicas = Some(workload::replicas(&stable).unwrap_or(1));
    Ok(rollout)
}

/// Replicas the canary runs at `percent` of traffic.
pub(super) fn canary_replicas(percent: u8, stable_replicas: u32) -> u32 {
    (u32::from(percent) * stable_replicas).div_ceil(100).max(1)
}

fn steps(rollout: &KubeRollout) -> (&[u8], Option<u64>) {
    match &rollout.strategy {
        Strategy::Canary { steps, hold_ms } => (steps, *hold_ms),
        _ => (&[100], None),
    }
}

/// Moves to step `index`: scales the canary for its weight, then (once
/// those replicas are available, see [`move_traffic`]) moves the traffic.
async fn enter_step<H: HttpClient>(
    kube: &Kube<'_, H>,
    env: &KubernetesEnv,
    rollout: &mut KubeRollout,
    index: usize,
    now_ms: u64,
) -> Result<StepOutcome, DeployError> {
    rollout.step = index;
    rollout.phase = Phase::CanaryScaling;
    let wanted = canary_replicas(step_percent(rollout), rollout.stable_replicas.unwrap_or(1));
    workload::scale(kube, &canary_name(&rollout.app), wanted).await?;
    move_traffic(kube, env, rollout, now_ms).await
}

/// The weight of the current step (100 past the last).
fn step_percent(rollout: &KubeRollout) -> u8 {
    steps(rollout)
        .0
        .get(rollout.step)
        .copied()
        .unwrap_or(100)
        .min(100)
}

/// The weight before the current step.
fn previous_percent(rollout: &KubeRollout) -> u8 {
    match rollout.step.checked_sub(1) {
        Some(i) => steps(rollout).0.get(i).copied().unwrap_or(0),
        None => 0,
    }
}

/// When the canary has the replicas of the current step available: sets
/// its weight and holds it; a step of 100 (or running past the last)
/// hands all traffic to the canary and updates the stable Deployment.
async fn move_traffic<H: HttpClient>(
    kube: &Kube<'_, H>,
    env: &KubernetesEnv,
    rollout: &mut KubeRollout,
    now_ms: u64,
) -> Result<StepOutcome, DeployError> {
    let percent = step_percent(rollout);
    let name = canary_name(&rollout.app);
    let canary = kube.get_required(Kind::Deployment, &name).await?;
    let wanted = i64::from(canary_replicas(
        percent,
        rollout.stable_replicas.unwrap_or(1),
    ));
    let ready = available(&canary);
    if ready < wanted || workload::progress(&canary) != Progress::Done {
        return Ok(StepOutcome::InProgress {
            message: format!("{name}: {ready} of {wanted} replicas available before {percent}%"),
            traffic_percent: Some(previous_percent(rollout)),
        });
    }
    set_canary_weight(kube, env, &rollout.app, percent).await?;
    rollout.step_started_at_ms = now_ms;
    if percent < 100 {
        rollout.phase = Phase::CanaryStep;
        return Ok(StepOutcome::Paused {
            step: rollout.step,
            traffic_percent: percent,
        });
    }
    set_image(kube, &rollout.app, &rollout.container, &rollout.image, None).await?;
    rollout.phase = Phase::CanaryFinishing;
    Ok(StepOutcome::InProgress {
        message: format!("canary at 100%; updating {}", rollout.app),
        traffic_percent: Some(100),
    })
}

/// What the gateway made of the last weight change.
enum Gateway {
    /// Accepted, or nothing reports on it (Ingress-NGINX, or no
    /// controller writes the route's status).
    Agreed,
    /// Its controller has not looked at the change yet.
    Pending,
    /// Refused: traffic is back on stable, and the step fails so.
    Refused(StepOutcome),
}

/// Behind an HTTPRoute: whether the gateway took the last weight change.
/// A refusal puts traffic back on stable and fails with its message.
async fn gateway<H: HttpClient>(
    kube: &Kube<'_, H>,
    env: &KubernetesEnv,
    rollout: &KubeRollout,
) -> Result<Gateway, DeployError> {
    if env.traffic != Traffic::Gateway {
        return Ok(Gateway::Agreed);
    }
    match route_verdict(kube, &rollout.app).await? {
        RouteVerdict::Refused(why) => {
            let restore = rollout.phase == Phase::CanaryFinishing;
            to_stable(kube, env, rollout, restore).await?;
            Ok(Gateway::Refused(StepOutcome::Failed {
                reason: format!(
                    "HTTPRoute {} was not accepted: {why}; traffic back on {}",
                    rollout.app, rollout.app
                ),
                rolled_back: true,
            }))
        }
        RouteVerdict::Pending => Ok(Gateway::Pending),
        RouteVerdict::Accepted | RouteVerdict::Unreported => Ok(Gateway::Agreed),
    }
}

/// Follows the rollout: canary readiness, held steps, the final update of
/// the stable Deployment; a stalled Deployment fails and rolls back.
pub(super) async fn step<H: HttpClient>(
    kube: &Kube<'_, H>,
    env: &KubernetesEnv,
    rollout: &mut KubeRollout,
    now_ms: u64,
) -> Result<StepOutcome, DeployError> {
    if rollout.phase == Phase::CanaryFinishing {
        if let Gateway::Refused(outcome) = gateway(kube, env, rollout).await? {
            return Ok(outcome);
        }
        return finishing(kube, env, rollout).await;
    }
    let name = canary_name(&rollout.app);
    let canary = kube.get_required(Kind::Deployment, &name).await?;
    let progress = workload::progress(&canary);
    if let Progress::Failed(reason) = progress {
        to_stable(kube, env, rollout, false).await?;
        return Ok(StepOutcome::Failed {
            reason: format!("{name}: {reason}; traffic back on {}", rollout.app),
            rolled_back: true,
        });
    }
    match rollout.phase {
        Phase::CanaryWarmup => warmup(kube, env, rollout, &canary, progress, now_ms).await,
        Phase::CanaryScaling => move_traffic(kube, env, rollout, now_ms).await,
        _ => hold(kube, env, rollout, progress, now_ms).await,
    }
}

/// Before any traffic: the canary's first replica becomes available.
async fn warmup<H: HttpClient>(
    kube: &Kube<'_, H>,
    env: &KubernetesEnv,
    rollout: &mut KubeRollout,
    canary: &serde_json::Value,
    progress: Progress,
    now_ms: u64,
) -> Result<StepOutcome, DeployError> {
    let name = canary_name(&rollout.app);
    match progress {
        Progress::Done if available(canary) > 0 => enter_step(kube, env, rollout, 0, now_ms).await,
        Progress::Waiting(m) => Ok(StepOutcome::InProgress {
            message: format!("{name}: {m}"),
            traffic_percent: Some(0),
        }),
        _ => Ok(StepOutcome::InProgress {
            message: format!("{name}: no replica available"),
            traffic_percent: Some(0),
        }),
    }
}

/// A step's hold: over (and the canary healthy, and the gateway agreed)
/// moves to the next step; else the step stays paused.
async fn hold<H: HttpClient>(
    kube: &Kube<'_, H>,
    env: &KubernetesEnv,
    rollout: &mut KubeRollout,
    progress: Progress,
    now_ms: u64,
) -> Result<StepOutcome, DeployError> {
    let name = canary_name(&rollout.app);
    let (_, hold_ms) = steps(rollout);
    let percent = step_percent(rollout);
    let elapsed = hold_ms.is_some_and(|h| now_ms.saturating_sub(rollout.step_started_at_ms) >= h);
    let accepted = match gateway(kube, env, rollout).await? {
        Gateway::Refused(outcome) => return Ok(outcome),
        Gateway::Pending => false,
        Gateway::Agreed => true,
    };
    match progress {
        // The hold is over but the canary is not healthy: wait, don't advance.
        Progress::Waiting(m) if elapsed => Ok(StepOutcome::InProgress {
            message: format!("{name}: {m}; holding at {percent}%"),
            traffic_percent: Some(percent),
        }),
        _ if elapsed && !accepted => Ok(StepOutcome::InProgress {
            message: format!(
                "waiting for the gateway to accept HTTPRoute {}; holding at {percent}%",
                rollout.app
            ),
            traffic_percent: Some(percent),
        }),
        _ if elapsed => {
            let next = rollout.step + 1;
            enter_step(kube, env, rollout, next, now_ms).await
        }
        _ => Ok(StepOutcome::Paused {
            step: rollout.step,
            traffic_percent: percent,
        }),
    }
}

/// The stable Deployment is taking the new image with all traffic on the
/// canary: when it is rolled out, traffic returns to it and the canary is
/// deleted.
async fn finishing<H: HttpClient>(
    kube: &Kube<'_, H>,
    env: &KubernetesEnv,
    rollout: &mut KubeRollout,
) -> Result<StepOutcome, DeployError> {
    let stable = kube.get_required(Kind::Deployment, &rollout.app).await?;
    match workload::progress(&stable) {
        Progress::Done => {
            set_canary_weight(kube, env, &rollout.app, 0).await?;
            kube.delete(Kind::Deployment, &canary_name(&rollout.app))
                .await?;
            Ok(StepOutcome::Succeeded)
        }
        Progress::Waiting(m) => Ok(StepOutcome::InProgress {
            message: format!("{}: {m}", rollout.app),
            traffic_percent: Some(100),
        }),
        Progress::Failed(reason) => {
            to_stable(kube, env, rollout, true).await?;
            Ok(StepOutcome::Failed {
                reason: format!("{}: {reason}; rolled back", rollout.app),
                rolled_back: true,
            })
        }
    }
}

/// Back to the previous version: the stable image restored (when
/// `restore_stable`), all traffic on stable, the canary scaled to zero.
async fn to_stable<H: HttpClient>(
    kube: &Kube<'_, H>,
    env: &KubernetesEnv,
    rollout: &KubeRollout,
    restore_stable: bool,
) -> Result<(), DeployError> {
    if restore_stable && let Some(previous) = &rollout.previous_image {
        set_image(kube, &rollout.app, &rollout.container, previous, None).await?;
    }
    set_canary_weight(kube, env, &rollout.app, 0).await?;
    workload::scale(kube, &canary_name(&rollout.app), 0).await
}

/// `promote`: the next step now.
pub(super) async fn promote<H: HttpClient>(
    kube: &Kube<'_, H>,
    env: &KubernetesEnv,
    rollout: &mut KubeRollout,
    now_ms: u64,
) -> Result<StepOutcome, DeployError> {
    match rollout.phase {
        Phase::CanaryStep => {
            let next = rollout.step + 1;
            enter_step(kube, env, rollout, next, now_ms).await
        }
        Phase::CanaryWarmup | Phase::CanaryScaling => Err(DeployError::NotApplicable(
            "the canary is not ready for the next step yet".into(),
        )),
        _ => step(kube, env, rollout, now_ms).await,
    }
}

/// `abort`: traffic back on stable, canary scaled to zero, and the stable
/// image restored if it was already being updated.
pub(super) async fn abort<H: HttpClient>(
    kube: &Kube<'_, H>,
    env: &KubernetesEnv,
    rollout: &KubeRollout,
) -> Result<StepOutcome, DeployError> {
    let restore = rollout.phase == Phase::CanaryFinishing;
    to_stable(kube, env, rollout, restore).await?;
    Ok(StepOutcome::Aborted)
}
