//! Canary on Swarm without a proxy: stable service `A` and canary service
//! `A-canary` both in endpoint mode `dnsrr` on `A`'s overlay networks, the
//! canary carrying network alias `A`, so `A` resolves to the tasks of both
//! and the canary's share of traffic is its share of tasks ([`split`]).
//!
//! [`reconcile`] is level-triggered, like Argo Rollouts' canary: each call
//! derives the wanted replica counts from the recorded step and makes the
//! services so (a write only when a spec differs), then reads the tasks.
//! A step's traffic moves only once its canary tasks are healthy: the
//! canary is scaled up first, stable is scaled down only after. Repeating a
//! call after a crash sends nothing new.

use serde::{Deserialize, Serialize};

use super::engine::{self, Engine};
use super::plan::{self, split};
use super::tasks::Health;
use super::{DockerEnv, SwarmPhase, SwarmRollout, deadline_ms};
use crate::deploy::{DeployError, StepOutcome};
use crate::ports::HttpClient;

/// The canary's part of a Swarm rollout (stored with the deployment).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CanaryState {
    /// Traffic percentages, increasing, ending at 100.
    pub steps: Vec<u8>,
    /// How long each step is held; `None` waits for promote.
    pub hold_ms: Option<u64>,
    /// Index of the current step.
    pub step: usize,
    /// When the current step's replicas were asked for (its deadline runs
    /// from here).
    pub step_started_at_ms: u64,
    /// When the current step's weight was reached (its hold runs from here).
    #[serde(default)]
    pub held_since_ms: Option<u64>,
    /// Tasks in all: the stable service's replicas when the rollout began.
    pub total: u64,
    /// The canary's share of tasks now, in percent.
    pub achieved_percent: u8,
    /// Past the last step: stable is taking the new image.
    #[serde(default)]
    pub finishing: bool,
}

/// `A-canary`.
pub fn canary_name(app: &str) -> String {
    format!("{app}-canary")
}

/// Checks canary steps: not empty, increasing, each 1–100, ending at 100.
fn check_steps(steps: &[u8]) -> Result<(), DeployError> {
    let increasing = steps.windows(2).all(|w| w[0] < w[1]);
    if steps.last() != Some(&100) || !increasing || steps.first() == Some(&0) {
        return Err(DeployError::Config(format!(
            "canary steps must increase from above 0 and end at 100, not {steps:?}"
        )));
    }
    Ok(())
}

/// Creates (or resets) `A-canary` from `A`'s spec with `image`, alias `A`
/// and the first step's replicas; nothing moves until its tasks are healthy.
pub(super) async fn start<H: HttpClient>(
    engine: &Engine<'_, H>,
    env: &DockerEnv,
    app: &str,
    image: &str,
    (steps, hold_ms): (&[u8], Option<u64>),
    now_ms: u64,
) -> Result<SwarmRollout, DeployError> {
    check_steps(steps)?;
    let stable = engine.inspect(app).await?;
    plan::check_shareable(app, &stable.spec)?;
    let total = plan::replicas(&stable.spec).unwrap_or(1).max(1);
    let first = split(steps[0], total);
    let configs = engine::update_configs(env)?;
    let name = canary_name(app);
    let spec = plan::copy_as(&stable.spec, &name, image, first.canary, "canary")?;
    let spec = engine::updated_spec(&plan::with_alias(&spec, app, true)?, image, &configs, false)?;
    engine.put(&name, &spec).await?;
    let state = CanaryState {
        steps: steps.to_vec(),
        hold_ms,
        step: 0,
        step_started_at_ms: now_ms,
        held_since_ms: None,
        total,
        achieved_percent: 0,
        finishing: false,
    };
    Ok(SwarmRollout {
        service: app.to_owned(),
        service_id: stable.id,
        image: image.to_owned(),
        previous_image: stable.image,
        version: stable.version,
        started_at_ms: now_ms,
        phase: SwarmPhase::Updating,
        progressive: Some(super::Progressive::Canary(state)),
    })
}

/// What a call asks of the canary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ask {
    /// Follow it.
    Step,
    /// The next step now.
    Promote,
}

/// One level-triggered pass over the canary (see the module docs).
pub(super) async fn reconcile<H: HttpClient>(
    engine: &Engine<'_, H>,
    env: &DockerEnv,
    rollout: &SwarmRollout,
    state: &mut CanaryState,
    ask: Ask,
    now_ms: u64,
) -> Result<StepOutcome, DeployError> {
    let deadline = deadline_ms(env)?;
    if state.finishing {
        return finish(engine, env, rollout, state, now_ms, deadline).await;
    }
    let mut promote = ask == Ask::Promote;
    // At most one pass per step: a held step or an unhealthy canary returns.
    for _ in 0..=state.steps.len() {
        let percent = state.steps.get(state.step).copied().unwrap_or(100);
        let want = split(percent, state.total);
        let name = canary_name(&rollout.service);
        // The image too: Swarm may have rolled a failed canary update back.
        engine
            .ensure(&name, |s| {
                plan::with_image(&plan::with_replicas(s, want.canary)?, &rollout.image)
            })
            .await?;
        let health = engine
            .health(&name, want.canary, &rollout.image, Some(&rollout.service))
            .await?;
        if !health.ready() {
            if promote {
                return Err(DeployError::NotApplicable(
                    "the canary is not ready for the next step yet".into(),
                ));
            }
            return unhealthy(engine, rollout, state, &health, percent, now_ms, deadline).await;
        }
        engine
            .ensure(&rollout.service, |s| plan::with_replicas(s, want.stable))
            .await?;
        state.achieved_percent = want.achieved_percent();
        if percent >= 100 {
            return promote_stable(engine, env, rollout, state, now_ms).await;
        }
        let held_since = *state.held_since_ms.get_or_insert(now_ms);
        let over = state
            .hold_ms
            .is_some_and(|h| now_ms.saturating_sub(held_since) >= h);
        if !(promote || over) {
            return Ok(StepOutcome::Paused {
                step: state.step,
                traffic_percent: state.achieved_percent,
            });
        }
        promote = false;
        state.step += 1;
        state.step_started_at_ms = now_ms;
        state.held_since_ms = None;
    }
    Ok(StepOutcome::InProgress {
        message: "canary past its last step".into(),
        traffic_percent: Some(state.achieved_percent),
    })
}

/// The canary's tasks are not (yet) healthy: wait, or past the deadline
/// put everything back on stable and say why.
async fn unhealthy<H: HttpClient>(
    engine: &Engine<'_, H>,
    rollout: &SwarmRollout,
    state: &CanaryState,
    health: &Health,
    percent: u8,
    now_ms: u64,
    deadline: u64,
) -> Result<StepOutcome, DeployError> {
    let what = health.describe(&canary_name(&rollout.service));
    if now_ms.saturating_sub(state.step_started_at_ms) < deadline {
        return Ok(StepOutcome::InProgress {
            message: format!("{what}, before {percent}%"),
            traffic_percent: Some(state.achieved_percent),
        });
    }
    to_stable(engine, rollout, state).await?;
    Ok(StepOutcome::Failed {
        reason: format!(
            "{what} within the deadline for {percent}%; rolled back: {}",
            abort_note(rollout, state)
        ),
        rolled_back: true,
    })
}

/// All tasks run the canary: stable takes the new image with its replicas.
async fn promote_stable<H: HttpClient>(
    engine: &Engine<'_, H>,
    env: &DockerEnv,
    rollout: &SwarmRollout,
    state: &mut CanaryState,
    now_ms: u64,
) -> Result<StepOutcome, DeployError> {
    let configs = engine::update_configs(env)?;
    let total = state.total;
    engine
        .ensure(&rollout.service, |s| {
            engine::updated_spec(
                &plan::with_replicas(s, total)?,
                &rollout.image,
                &configs,
                false,
            )
        })
        .await?;
    state.finishing = true;
    state.step_started_at_ms = now_ms;
    Ok(StepOutcome::InProgress {
        message: format!("canary at 100%; {} takes the new image", rollout.service),
        traffic_percent: Some(100),
    })
}

/// Stable runs the new image: once its tasks are healthy the canary is
/// removed; past the deadline everything goes back to the old image.
async fn finish<H: HttpClient>(
    engine: &Engine<'_, H>,
    env: &DockerEnv,
    rollout: &SwarmRollout,
    state: &mut CanaryState,
    now_ms: u64,
    deadline: u64,
) -> Result<StepOutcome, DeployError> {
    // A repeated call after a crash re-sends the stable update if missing.
    promote_stable(engine, env, rollout, state, state.step_started_at_ms).await?;
    let health = engine
        .health(&rollout.service, state.total, &rollout.image, None)
        .await?;
    if health.ready() {
        engine.remove(&canary_name(&rollout.service)).await?;
        state.achieved_percent = 100;
        return Ok(StepOutcome::Succeeded);
    }
    let what = health.describe(&rollout.service);
    if now_ms.saturating_sub(state.step_started_at_ms) < deadline {
        return Ok(StepOutcome::InProgress {
            message: what,
            traffic_percent: Some(100),
        });
    }
    to_stable(engine, rollout, state).await?;
    Ok(StepOutcome::Failed {
        reason: format!(
            "{what} within the deadline; rolled back: {}",
            abort_note(rollout, state)
        ),
        rolled_back: true,
    })
}

/// Back to the previous version: stable on its old image with all its
/// replicas first (so `A` never resolves to nothing), then the canary at 0.
pub(super) async fn to_stable<H: HttpClient>(
    engine: &Engine<'_, H>,
    rollout: &SwarmRollout,
    state: &CanaryState,
) -> Result<(), DeployError> {
    let total = state.total;
    let previous = rollout.previous_image.as_str();
    engine
        .ensure(&rollout.service, |s| {
            plan::with_image(&plan::with_replicas(s, total)?, previous)
        })
        .await?;
    let name = canary_name(&rollout.service);
    if engine.find(&name).await?.is_some() {
        engine.ensure(&name, |s| plan::with_replicas(s, 0)).await?;
    }
    Ok(())
}

/// What an abort (or an automatic rollback) leaves.
pub(super) fn abort_note(rollout: &SwarmRollout, state: &CanaryState) -> String {
    format!(
        "{} scaled to 0; {} back at {} task(s) of {}",
        canary_name(&rollout.service),
        rollout.service,
        state.total,
        rollout.previous_image
    )
}
