//! Blue-green and canary rollouts of a single service: how the adapter's
//! entry points reach [`super::canary`] and [`super::blue_green`].

use serde::{Deserialize, Serialize};

use super::engine::{self, Engine};
use super::{DockerEnv, SwarmPhase, SwarmRollout, blue_green, canary};
use crate::deploy::platform::Operation;
use crate::deploy::{DeployError, StepOutcome, Strategy};
use crate::ports::HttpClient;

/// Default of [`DockerEnv::progress_deadline`]: 10 minutes.
const DEFAULT_DEADLINE_MS: u64 = 600_000;

/// [`DockerEnv::progress_deadline`] in milliseconds.
pub(crate) fn deadline_ms(env: &DockerEnv) -> Result<u64, DeployError> {
    match &env.progress_deadline {
        Some(d) => engine::parse_duration_ns(d)
            .map(|ns| ns / 1_000_000)
            .map_err(|_| {
                DeployError::Config(format!(
                    "progress_deadline {d:?} is not a duration like \"2m\""
                ))
            }),
        None => Ok(DEFAULT_DEADLINE_MS),
    }
}

/// The strategy-specific part of a Swarm rollout.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "strategy", rename_all = "kebab-case")]
pub enum Progressive {
    /// Stable `A` and `A-canary` behind alias `A`.
    Canary(canary::CanaryState),
    /// Slots `A-blue` and `A-green`, the live one carrying alias `A`.
    BlueGreen(blue_green::BlueGreenState),
}

impl SwarmRollout {
    /// A canary's current step (from 1).
    pub fn canary_step(&self) -> Option<usize> {
        match &self.progressive {
            Some(Progressive::Canary(c)) => Some(c.step.min(c.steps.len().saturating_sub(1)) + 1),
            _ => None,
        }
    }

    /// What an abort of this rollout left, for the deployment's message.
    pub fn abort_note(&self) -> Option<String> {
        match &self.progressive {
            Some(Progressive::Canary(c)) => Some(canary::abort_note(self, c)),
            Some(Progressive::BlueGreen(b)) => Some(blue_green::abort_note(self, b)),
            None => None,
        }
    }
}

/// Starts a blue-green or canary rollout of `app` to `image` and takes the
/// first look at it.
pub(super) async fn start<H: HttpClient>(
    engine: &Engine<'_, H>,
    env: &DockerEnv,
    app: &str,
    image: &str,
    strategy: &Strategy,
    now_ms: u64,
) -> Result<(SwarmRollout, StepOutcome), DeployError> {
    let mut rollout = match strategy {
        Strategy::BlueGreen => blue_green::start(engine, env, app, image, now_ms).await?,
        Strategy::Canary { steps, hold_ms } => {
            canary::start(engine, env, app, image, (steps, *hold_ms), now_ms).await?
        }
        Strategy::Rolling => {
            return Err(DeployError::NotApplicable(
                "a rolling update is not a progressive rollout".into(),
            ));
        }
    };
    let outcome = operate(engine, env, &mut rollout, Operation::Step, now_ms).await?;
    Ok((rollout, outcome))
}

/// One level-triggered call: step, promote or abort. The rollout's state is
/// changed only by a call that succeeded, so a failed call leaves the
/// record as it was and the next one derives the same work again.
pub(super) async fn operate<H: HttpClient>(
    engine: &Engine<'_, H>,
    env: &DockerEnv,
    rollout: &mut SwarmRollout,
    op: Operation,
    now_ms: u64,
) -> Result<StepOutcome, DeployError> {
    if let SwarmPhase::Finished(outcome) = &rollout.phase {
        return match op {
            Operation::Step => Ok(outcome.clone()),
            _ => Err(DeployError::NotApplicable(
                "the rollout has already ended".into(),
            )),
        };
    }
    let mut progressive = rollout
        .progressive
        .clone()
        .ok_or_else(|| DeployError::Config("a rolling update has no steps".into()))?;
    let outcome = match (&mut progressive, op) {
        (Progressive::Canary(c), Operation::Abort) => {
            canary::to_stable(engine, rollout, c).await?;
            StepOutcome::Aborted
        }
        (Progressive::Canary(c), Operation::Promote) => {
            canary::reconcile(engine, env, rollout, c, canary::Ask::Promote, now_ms).await?
        }
        (Progressive::Canary(c), Operation::Step) => {
            canary::reconcile(engine, env, rollout, c, canary::Ask::Step, now_ms).await?
        }
        (Progressive::BlueGreen(b), Operation::Abort) => {
            blue_green::restore(engine, rollout, b).await?;
            StepOutcome::Aborted
        }
        (Progressive::BlueGreen(_), Operation::Promote) => {
            return Err(DeployError::NotApplicable(
                "promote applies to canary deployments".into(),
            ));
        }
        (Progressive::BlueGreen(b), Operation::Step) => {
            blue_green::reconcile(engine, env, rollout, b, now_ms).await?
        }
    };
    if let Progressive::Canary(c) = &mut progressive
        && outcome == StepOutcome::Aborted
    {
        c.achieved_percent = 0;
    }
    rollout.progressive = Some(progressive);
    if outcome.is_final() {
        rollout.phase = SwarmPhase::Finished(outcome.clone());
    }
    Ok(outcome)
}
