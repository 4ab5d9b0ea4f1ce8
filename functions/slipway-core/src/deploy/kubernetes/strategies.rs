//! Rolling updates and blue-green slots.

use super::client::{Kind, Kube};
use super::traffic::{live_slot, select_slot};
use super::workload::{self, Progress, available, replicas, require_image, set_image};
use super::{KubeRollout, KubernetesEnv, Phase, Slots};
use crate::deploy::{DeployError, StepOutcome, Strategy};
use crate::ports::HttpClient;

fn in_progress(message: String, traffic_percent: Option<u8>) -> StepOutcome {
    StepOutcome::InProgress {
        message,
        traffic_percent,
    }
}

/// Rolling: records the image of Deployment `app` and bumps it to `image`.
pub(super) async fn start_rolling<H: HttpClient>(
    kube: &Kube<'_, H>,
    app: &str,
    image: &str,
    container: &str,
    now_ms: u64,
) -> Result<KubeRollout, DeployError> {
    let current = kube.get_required(Kind::Deployment, app).await?;
    let previous = require_image(&current, container)?;
    set_image(kube, app, container, image, None).await?;
    Ok(KubeRollout::new(
        app,
        image,
        Some(previous),
        Strategy::Rolling,
        container,
        Phase::Updating,
        now_ms,
    ))
}

/// Rolling: follows Deployment `app`; on `ProgressDeadlineExceeded` puts
/// the previous image back (unless this rollout is itself a rollback).
pub(super) async fn step_rolling<H: HttpClient>(
    kube: &Kube<'_, H>,
    rollout: &KubeRollout,
) -> Result<StepOutcome, DeployError> {
    let d = kube.get_required(Kind::Deployment, &rollout.app).await?;
    Ok(match workload::progress(&d) {
        Progress::Done => StepOutcome::Succeeded,
        Progress::Waiting(m) => in_progress(m, None),
        Progress::Failed(reason) => match (&rollout.previous_image, rollout.is_rollback) {
            (Some(previous), false) => {
                set_image(kube, &rollout.app, &rollout.container, previous, None).await?;
                StepOutcome::Failed {
                    reason: format!("{reason}; rolled back to {previous}"),
                    rolled_back: true,
                }
            }
            _ => StepOutcome::Failed {
                reason,
                rolled_back: false,
            },
        },
    })
}

/// Rolling: puts the previous image back.
pub(super) async fn abort_rolling<H: HttpClient>(
    kube: &Kube<'_, H>,
    rollout: &KubeRollout,
) -> Result<StepOutcome, DeployError> {
    if let Some(previous) = &rollout.previous_image {
        set_image(kube, &rollout.app, &rollout.container, previous, None).await?;
    }
    Ok(StepOutcome::Aborted)
}

/// Blue-green: puts `image` on the slot Service `app` does not select
/// (creating that slot's Deployment from the live one if missing), with
/// `replicas_hint` or the live slot's replica count.
pub(super) async fn start_blue_green<H: HttpClient>(
    kube: &Kube<'_, H>,
    env: &KubernetesEnv,
    app: &str,
    image: &str,
    container: &str,
    now_ms: u64,
) -> Result<KubeRollout, DeployError> {
    let service = kube.get_required(Kind::Service, app).await?;
    let live = live_slot(&service, app)?;
    let target = live.other();
    let live_deployment = kube
        .get_required(Kind::Deployment, &live.deployment(app))
        .await?;
    let live_image = require_image(&live_deployment, container)?;
    let count = env
        .replicas_hint
        .or_else(|| replicas(&live_deployment))
        .unwrap_or(1)
        .max(1);
    let target_name = target.deployment(app);
    let (image_before, replicas_before) = match kube.get(Kind::Deployment, &target_name).await? {
        Some(d) => {
            let before = (Some(require_image(&d, container)?), replicas(&d));
            set_image(kube, &target_name, container, image, Some(count)).await?;
            before
        }
        None => {
            let copy = workload::copy(
                &live_deployment,
                &target_name,
                &env.namespace,
                ("slot", target.name()),
                container,
                image,
                count,
            )?;
            kube.create(Kind::Deployment, &copy).await?;
            (None, None)
        }
    };
    let mut rollout = KubeRollout::new(
        app,
        image,
        Some(live_image),
        Strategy::BlueGreen,
        container,
        Phase::Updating,
        now_ms,
    );
    rollout.slots = Some(Slots {
        target,
        live,
        target_image_before: image_before,
        target_replicas_before: replicas_before,
    });
    Ok(rollout)
}

fn slots(rollout: &KubeRollout) -> Result<&Slots, DeployError> {
    rollout
        .slots
        .as_ref()
        .ok_or_else(|| DeployError::Config("blue-green rollout without slot information".into()))
}

/// Blue-green: once the target slot is rolled out (with at least one
/// available replica) switches Service `app` to it; on
/// `ProgressDeadlineExceeded` restores the target slot and leaves the
/// Service alone.
pub(super) async fn step_blue_green<H: HttpClient>(
    kube: &Kube<'_, H>,
    rollout: &KubeRollout,
) -> Result<StepOutcome, DeployError> {
    let slots = slots(rollout)?;
    let name = slots.target.deployment(&rollout.app);
    let d = kube.get_required(Kind::Deployment, &name).await?;
    Ok(match workload::progress(&d) {
        Progress::Done if available(&d) > 0 => {
            select_slot(kube, &rollout.app, slots.target).await?;
            StepOutcome::Succeeded
        }
        Progress::Done => in_progress(format!("{name}: no replica available"), Some(0)),
        Progress::Waiting(m) => in_progress(format!("{name}: {m}"), Some(0)),
        Progress::Failed(reason) => {
            restore_target(kube, rollout, slots).await?;
            StepOutcome::Failed {
                reason: format!("{name}: {reason}; traffic stays on {}", slots.live.name()),
                rolled_back: true,
            }
        }
    })
}

/// Puts the target slot back as it was: its previous image and replica
/// count, or zero replicas if the adapter created it.
async fn restore_target<H: HttpClient>(
    kube: &Kube<'_, H>,
    rollout: &KubeRollout,
    slots: &Slots,
) -> Result<(), DeployError> {
    let name = slots.target.deployment(&rollout.app);
    match &slots.target_image_before {
        Some(image) => set_image(
            kube,
            &name,
            &rollout.container,
            image,
            slots.target_replicas_before,
        )
        .await
        .map(|_| ()),
        None => workload::scale(kube, &name, 0).await,
    }
}

/// Blue-green before the switch: restores the target slot.
pub(super) async fn abort_blue_green<H: HttpClient>(
    kube: &Kube<'_, H>,
    rollout: &KubeRollout,
) -> Result<StepOutcome, DeployError> {
    restore_target(kube, rollout, slots(rollout)?).await?;
    Ok(StepOutcome::Aborted)
}
