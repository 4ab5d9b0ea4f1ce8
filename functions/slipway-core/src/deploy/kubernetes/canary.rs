//! Canary: a `<app>-canary` Deployment beside the stable one, traffic moved
//! in steps, then the stable Deployment takes the new image.

use super::client::{Kind, Kube};
use super::traffic::set_canary_weight;
use super::workload::{self, Progress, available, require_image, set_image};
use super::{KubeRollout, KubernetesEnv, Phase};
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
    Ok(KubeRollout::new(
        app,
        image,
        Some(previous),
        strategy.clone(),
        container,
        Phase::CanaryWarmup,
        now_ms,
    ))
}

fn steps(rollout: &KubeRollout) -> (&[u8], Option<u64>) {
    match &rollout.strategy {
        Strategy::Canary { steps, hold_ms } => (steps, *hold_ms),
        _ => (&[100], None),
    }
}

/// Moves to step `index`: sets its weight and holds it; a step of 100 (or
/// running past the last) hands all traffic to the canary and updates the
/// stable Deployment.
async fn enter_step<H: HttpClient>(
    kube: &Kube<'_, H>,
    env: &KubernetesEnv,
    rollout: &mut KubeRollout,
    index: usize,
    now_ms: u64,
) -> Result<StepOutcome, DeployError> {
    let percent = steps(rollout).0.get(index).copied().unwrap_or(100).min(100);
    set_canary_weight(kube, env, &rollout.app, percent).await?;
    rollout.step = index;
    rollout.step_started_at_ms = now_ms;
    if percent < 100 {
        rollout.phase = Phase::CanaryStep;
        return Ok(StepOutcome::Paused {
            step: index,
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

/// Follows the rollout: canary readiness, held steps, the final update of
/// the stable Deployment; a stalled Deployment fails and rolls back.
pub(super) async fn step<H: HttpClient>(
    kube: &Kube<'_, H>,
    env: &KubernetesEnv,
    rollout: &mut KubeRollout,
    now_ms: u64,
) -> Result<StepOutcome, DeployError> {
    if rollout.phase == Phase::CanaryFinishing {
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
    if rollout.phase == Phase::CanaryWarmup {
        return match progress {
            Progress::Done if available(&canary) > 0 => {
                enter_step(kube, env, rollout, 0, now_ms).await
            }
            Progress::Waiting(m) => Ok(StepOutcome::InProgress {
                message: format!("{name}: {m}"),
                traffic_percent: Some(0),
            }),
            _ => Ok(StepOutcome::InProgress {
                message: format!("{name}: no replica available"),
                traffic_percent: Some(0),
            }),
        };
    }
    let (steps, hold_ms) = steps(rollout);
    let percent = steps.get(rollout.step).copied().unwrap_or(100);
    let elapsed = hold_ms.is_some_and(|h| now_ms.saturating_sub(rollout.step_started_at_ms) >= h);
    match progress {
        // The hold is over but the canary is not healthy: wait, don't advance.
        Progress::Waiting(m) if elapsed => Ok(StepOutcome::InProgress {
            message: format!("{name}: {m}; holding at {percent}%"),
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
        Phase::CanaryWarmup => Err(DeployError::NotApplicable(
            "the canary is not ready yet".into(),
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
