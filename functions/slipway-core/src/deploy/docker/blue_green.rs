//! Blue-green on Swarm without a proxy: slot services `A-blue` and
//! `A-green` in endpoint mode `dnsrr` on the same overlay networks; the
//! live slot carries network alias `A`, so `A` resolves to its tasks.
//!
//! The switch, measured on Docker Engine 20.10 (see the README's Docker
//! section): changing a service's aliases is a `TaskTemplate` change and
//! replaces its tasks. So the new version first goes to the idle slot
//! *without* the alias (reachable as `A-green` only, out of traffic); once
//! all its tasks are healthy it gains alias `A` by an update in order
//! `start-first` (each replacement task passes its health check before the
//! one it replaces stops, so the slot keeps serving); once every task
//! carrying the alias is healthy, the old slot loses the alias the same
//! way; the switch is done once no task of the old slot answers to `A`
//! (a task being stopped does until its container exits). `A` resolves to
//! the old slot, then to both, then to the new slot: never to nothing. Rollback runs the same switch the other way; the old
//! slot still runs the previous version, so only the alias moves.
//!
//! [`reconcile`] is level-triggered: it re-derives the wanted specs from
//! the recorded stage and writes only what differs.

use serde::{Deserialize, Serialize};

use super::engine::{self, Engine};
use super::plan;
use super::{DockerEnv, SwarmPhase, SwarmRollout, deadline_ms};
use crate::deploy::kubernetes::Slot;
use crate::deploy::{DeployError, StepOutcome};
use crate::ports::HttpClient;

/// Where a Swarm blue-green rollout is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The idle slot takes the new image, without the alias.
    Warming,
    /// The idle slot gains alias `A`.
    Joining,
    /// The old slot loses alias `A`.
    Leaving,
}

/// The blue-green part of a Swarm rollout (stored with the deployment).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BlueGreenState {
    /// The slot taking the new version.
    pub target: Slot,
    /// The slot carrying alias `A` at the start.
    pub live: Slot,
    /// Tasks of the target slot (the live slot's replicas).
    pub replicas: u64,
    /// Where it is.
    pub stage: Stage,
    /// When the stage began (its deadline runs from here).
    pub stage_started_at_ms: u64,
    /// The target slot's image and replicas before (`None`: created now).
    pub target_before: Option<(String, u64)>,
}

/// Finds the live slot: the one whose networks all carry alias `app`.
async fn live_slot<H: HttpClient>(
    engine: &Engine<'_, H>,
    app: &str,
) -> Result<(Slot, super::engine::ServiceView), DeployError> {
    let mut live = Vec::new();
    for slot in [Slot::Blue, Slot::Green] {
        if let Some(view) = engine.find(&slot.deployment(app)).await?
            && plan::has_alias(&view.spec, app)
        {
            live.push((slot, view));
        }
    }
    match live.len() {
        1 => Ok(live.remove(0)),
        0 => Err(DeployError::Config(format!(
            "blue-green on Swarm needs service {app}-blue or {app}-green carrying network \
             alias {app} (endpoint mode dnsrr on an overlay network); neither does"
        ))),
        _ => Err(DeployError::Config(format!(
            "both {app}-blue and {app}-green carry alias {app} (a switch was interrupted); \
             remove it from one of them"
        ))),
    }
}

/// Puts `image` on the idle slot (created from the live one when missing)
/// with the live slot's replicas and without the alias.
pub(super) async fn start<H: HttpClient>(
    engine: &Engine<'_, H>,
    env: &DockerEnv,
    app: &str,
    image: &str,
    now_ms: u64,
) -> Result<SwarmRollout, DeployError> {
    let (live, live_view) = live_slot(engine, app).await?;
    plan::check_shareable(&live.deployment(app), &live_view.spec)?;
    let target = live.other();
    let name = target.deployment(app);
    let replicas = plan::replicas(&live_view.spec).unwrap_or(1).max(1);
    let configs = engine::update_configs(env)?;
    let target_before = match engine.find(&name).await? {
        Some(view) => {
            let before = (view.image.clone(), plan::replicas(&view.spec).unwrap_or(0));
            engine
                .ensure(&name, |s| {
                    let s = plan::with_alias(&plan::with_replicas(s, replicas)?, app, false)?;
                    engine::updated_spec(&s, image, &configs, false)
                })
                .await?;
            Some(before)
        }
        None => {
            let spec = plan::copy_as(&live_view.spec, &name, image, replicas, "slot")?;
            let spec = plan::with_alias(&spec, app, false)?;
            let spec = engine::updated_spec(&spec, image, &configs, false)?;
            engine.put(&name, &spec).await?;
            None
        }
    };
    let state = BlueGreenState {
        target,
        live,
        replicas,
        stage: Stage::Warming,
        stage_started_at_ms: now_ms,
        target_before,
    };
    Ok(SwarmRollout {
        service: app.to_owned(),
        service_id: name,
        image: image.to_owned(),
        previous_image: live_view.image,
        version: live_view.version,
        started_at_ms: now_ms,
        phase: SwarmPhase::Updating,
        progressive: Some(super::Progressive::BlueGreen(state)),
    })
}

/// One level-triggered pass (see the module docs).
pub(super) async fn reconcile<H: HttpClient>(
    engine: &Engine<'_, H>,
    env: &DockerEnv,
    rollout: &SwarmRollout,
    state: &mut BlueGreenState,
    now_ms: u64,
) -> Result<StepOutcome, DeployError> {
    let deadline = deadline_ms(env)?;
    let app = rollout.service.as_str();
    let (target, live) = (state.target.deployment(app), state.live.deployment(app));
    for _ in 0..3 {
        let (service, image, alias) = match state.stage {
            Stage::Warming => (&target, &rollout.image, None),
            Stage::Joining => (&target, &rollout.image, Some(app)),
            Stage::Leaving => (&live, &rollout.previous_image, Some(app)),
        };
        // Both alias changes go out `start-first`, whatever order the slot
        // had: with `stop-first` a slot drops tasks while it switches.
        let configs = engine::update_configs(env)?;
        if state.stage == Stage::Joining {
            engine
                .ensure(&target, |s| {
                    plan::with_update_configs(&plan::with_alias(s, app, true)?, &configs)
                })
                .await?;
        } else if state.stage == Stage::Leaving {
            engine
                .ensure(&live, |s| {
                    plan::with_update_configs(&plan::with_alias(s, app, false)?, &configs)
                })
                .await?;
        }
        let wanted = if state.stage == Stage::Leaving {
            0
        } else {
            state.replicas
        };
        let tasks = engine.tasks(service).await?;
        let mut health = super::tasks::health(&tasks, wanted, image, alias);
        // Leaving is done when no task of the old slot carries the alias
        // and all its replacements run, ready for a switch back.
        let all = super::tasks::health(&tasks, state.replicas, image, None);
        // Tasks being stopped still answer to the alias until they exit.
        let serving = super::tasks::still_serving(&tasks, image, app);
        if state.stage == Stage::Leaving {
            health.healthy = health.healthy.max(serving);
        }
        let done = match state.stage {
            Stage::Leaving => health.healthy + health.starting == 0 && all.ready(),
            _ => health.ready(),
        };
        if !done {
            let seen = (&health, &all);
            return waiting(engine, rollout, state, seen, now_ms, deadline).await;
        }
        state.stage = match state.stage {
            Stage::Warming => Stage::Joining,
            Stage::Joining => Stage::Leaving,
            Stage::Leaving => return Ok(StepOutcome::Succeeded),
        };
        state.stage_started_at_ms = now_ms;
    }
    Ok(StepOutcome::Succeeded)
}

/// Not there yet: wait, or past the deadline put the target slot back and
/// say why.
async fn waiting<H: HttpClient>(
    engine: &Engine<'_, H>,
    rollout: &SwarmRollout,
    state: &BlueGreenState,
    (health, all): (&super::tasks::Health, &super::tasks::Health),
    now_ms: u64,
    deadline: u64,
) -> Result<StepOutcome, DeployError> {
    let app = rollout.service.as_str();
    let (target, live) = (state.target.deployment(app), state.live.deployment(app));
    let (what, traffic) = match state.stage {
        Stage::Warming => (health.describe(&target), 0),
        Stage::Joining => (format!("{} joining {app}", health.describe(&target)), 50),
        Stage::Leaving => (
            format!(
                "{live} leaving {app}: {} task(s) still carry the alias, {} of {} \
                 replacement(s) healthy",
                health.healthy + health.starting,
                all.healthy,
                all.wanted
            ),
            100,
        ),
    };
    if now_ms.saturating_sub(state.stage_started_at_ms) < deadline {
        return Ok(StepOutcome::InProgress {
            message: what,
            traffic_percent: Some(traffic),
        });
    }
    restore(engine, rollout, state).await?;
    Ok(StepOutcome::Failed {
        reason: format!("{what} within the deadline; {}", abort_note(rollout, state)),
        rolled_back: true,
    })
}

/// Back to the live slot: it carries the alias again first (so `A` never
/// resolves to nothing), then the target slot loses it and gets its old
/// image and replicas back (or none, if this rollout created it).
pub(super) async fn restore<H: HttpClient>(
    engine: &Engine<'_, H>,
    rollout: &SwarmRollout,
    state: &BlueGreenState,
) -> Result<(), DeployError> {
    let app = rollout.service.as_str();
    let (target, live) = (state.target.deployment(app), state.live.deployment(app));
    if state.stage == Stage::Leaving {
        engine
            .ensure(&live, |s| plan::with_alias(s, app, true))
            .await?;
    }
    let (image, replicas) = match &state.target_before {
        Some((image, replicas)) => (image.clone(), *replicas),
        None => (rollout.image.clone(), 0),
    };
    engine
        .ensure(&target, |s| {
            let s = plan::with_alias(&plan::with_replicas(s, replicas)?, app, false)?;
            plan::with_image(&s, &image)
        })
        .await?;
    Ok(())
}

/// What an abort (or an automatic rollback) leaves.
pub(super) fn abort_note(rollout: &SwarmRollout, state: &BlueGreenState) -> String {
    let app = rollout.service.as_str();
    format!(
        "traffic stays on {} ({app} resolves to it); {} put back",
        state.live.deployment(app),
        state.target.deployment(app)
    )
}
