//! Blue-green and canary rollouts of a single service: how the adapter's
//! entry points reach [`super::canary`] and [`super::blue_green`].

use super::engine::Engine;
use super::{DockerEnv, Progressive, SwarmPhase, SwarmRollout, blue_green, canary};
use crate::deploy::platform::Operation;
use crate::deploy::{DeployError, StepOutcome, Strategy};
use crate::ports::HttpClient;

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
