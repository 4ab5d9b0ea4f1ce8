//! Docker Engine (Swarm services) adapter.
//!
//! Rolling updates of a Swarm service through the Engine API, reached over
//! TCP+TLS by URL (optionally under an API version prefix such as
//! `/v1.47`). An update copies the service's complete `Spec`, sets the new
//! image and an `UpdateConfig` that rolls back automatically on failure,
//! and posts it with the service's `Version.Index`; progress is read from
//! `UpdateStatus`.
//!
//! Blue-green ([`blue_green`]) and canary ([`canary`]) work without a
//! proxy: services in endpoint mode `dnsrr` that share a network alias
//! make that name resolve to all their tasks, so traffic follows task
//! counts and which services carry the app's name as an alias. Both move
//! traffic only to tasks that passed their health checks, and roll back by
//! themselves when that does not happen within
//! [`DockerEnv::progress_deadline`].
//!
//! An app may instead describe a whole stack in a Compose file
//! ([`compose`]): [`start_stack`] creates or updates every service of it
//! and the rollout follows the app's own service.

pub mod blue_green;
pub mod canary;
pub mod compose;
mod engine;
pub mod plan;
mod progressive;
pub use progressive::Progressive;
pub(crate) use progressive::deadline_ms;
mod stack;
mod tasks;
#[cfg(test)]
mod tests;

pub use stack::start as start_stack;

use serde::{Deserialize, Serialize};

use self::engine::{Engine, ServiceView};
use super::platform::Operation;
use super::{DeployError, StepOutcome, Strategy, is_image_reference};
use crate::ports::HttpClient;

/// After an update, how long a service without `UpdateStatus` is taken to
/// be waiting for the orchestrator rather than done (a Swarm update resets
/// `UpdateStatus` and sets it again once the first task is replaced; it
/// stays absent only when no task needs replacing).
const SETTLE_MS: u64 = 5_000;

/// `[environments.<name>]` settings of a Docker Engine in Swarm mode.
#[derive(Deserialize, Serialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct DockerEnv {
    /// The Engine's URL, e.g. `https://swarm.example.com:2376`.
    pub url: String,
    /// API version to prefix paths with, e.g. `"1.47"` → `/v1.47/services/…`.
    #[serde(default)]
    pub api_version: Option<String>,
    /// Variable holding a bearer token for a proxy in front of the Engine.
    #[serde(default)]
    pub token_secret: Option<String>,
    /// Variable holding the base64url `X-Registry-Auth` JSON
    /// (`{"username","password","serveraddress"}`).
    #[serde(default)]
    pub registry_auth_secret: Option<String>,
    /// Tasks updated at a time (default 1; 0 = all at once).
    #[serde(default)]
    pub parallelism: Option<u64>,
    /// Pause between batches of tasks, e.g. `"10s"` (default none).
    #[serde(default)]
    pub delay: Option<String>,
    /// Blue-green and canary: how long new tasks may take to become
    /// healthy at each step before the rollout is rolled back, e.g.
    /// `"2m"` (default 10 minutes).
    #[serde(default)]
    pub progress_deadline: Option<String>,
}

/// Where a Swarm rollout is.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum SwarmPhase {
    /// A service update to `image` is rolling out; the Engine rolls it back
    /// by itself if tasks fail.
    Updating,
    /// A server-side rollback (`?rollback=previous`) is restoring `image`.
    RollingBack,
    /// Ended with this outcome; further steps report it again.
    Finished(StepOutcome),
}

/// The state of one rollout on a Swarm service (stored with the deployment).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SwarmRollout {
    /// The service name as configured.
    pub service: String,
    /// The service's `ID`, used for every later call.
    pub service_id: String,
    /// The image this rollout puts in place.
    pub image: String,
    /// The image the service ran before.
    pub previous_image: String,
    /// The service's `Version.Index` when last seen.
    pub version: u64,
    /// When the rollout started (ms since the Unix epoch).
    pub started_at_ms: u64,
    /// Where it is.
    pub phase: SwarmPhase,
    /// Canary or blue-green state; `None` for a rolling update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progressive: Option<Progressive>,
}

fn engine<'a, H: HttpClient>(
    http: &'a H,
    env: &DockerEnv,
    token: Option<&'a str>,
    registry_auth: Option<&'a str>,
) -> Result<Engine<'a, H>, DeployError> {
    Ok(Engine {
        http,
        base: engine::base_url(env)?,
        token: token.filter(|t| !t.is_empty()),
        registry_auth: registry_auth.filter(|a| !a.is_empty()),
    })
}

/// The environment's `UpdateConfig` and `RollbackConfig`, which a Compose
/// file's `deploy.update_config` and `deploy.rollback_config` refine.
pub fn update_defaults(
    env: &DockerEnv,
) -> Result<(serde_json::Value, serde_json::Value), DeployError> {
    engine::update_configs(env)
}

fn in_progress(message: String) -> StepOutcome {
    StepOutcome::InProgress {
        message,
        traffic_percent: None,
    }
}

/// Updates `service` to `image` with this environment's update settings;
/// on a stale version, reads the service again and retries once. Returns
/// the service as it was before the update.
async fn update_to<H: HttpClient>(
    engine: &Engine<'_, H>,
    env: &DockerEnv,
    service: &str,
    image: &str,
) -> Result<ServiceView, DeployError> {
    let configs = engine::update_configs(env)?;
    let mut attempt = 0;
    loop {
        let view = engine.inspect(service).await?;
        // Same image again: force new tasks so a moved tag is pulled again.
        let spec = engine::updated_spec(&view.spec, image, &configs, view.image == image)?;
        match engine.update(&view.id, view.version, &spec, false).await {
            Ok(()) => return Ok(view),
            Err(e) if attempt == 0 && engine::is_out_of_sequence(&e) => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

/// How the service was taken from `from` back to `to`.
enum Revert {
    /// It already ran `to`; nothing was sent.
    AlreadyThere(ServiceView),
    /// `?rollback=previous` (its previous spec ran `to`).
    ServerSide(ServiceView),
    /// A normal update to `to`.
    Update(ServiceView),
}

/// Takes `service` from `from` back to `to`: server-side rollback when the
/// service runs `from` and its previous spec ran `to`, else a normal update
/// (refused when `only_from` and the service runs neither image).
async fn revert<H: HttpClient>(
    engine: &Engine<'_, H>,
    env: &DockerEnv,
    service: &str,
    from: &str,
    to: &str,
    only_from: bool,
) -> Result<Revert, DeployError> {
    let configs = engine::update_configs(env)?;
    let mut attempt = 0;
    loop {
        let view = engine.inspect(service).await?;
        if view.image == to {
            return Ok(Revert::AlreadyThere(view));
        }
        if only_from && view.image != from {
            return Err(DeployError::NotApplicable(format!(
                "the service now runs {}, not {from}; leaving it as it is",
                view.image
            )));
        }
        let server_side = view.image == from && view.previous_spec_image.as_deref() == Some(to);
        let result = if server_side {
            engine
                .update(&view.id, view.version, &view.spec, true)
                .await
        } else {
            let spec = engine::updated_spec(&view.spec, to, &configs, false)?;
            engine.update(&view.id, view.version, &spec, false).await
        };
        match result {
            Ok(()) if server_side => return Ok(Revert::ServerSide(view)),
            Ok(()) => return Ok(Revert::Update(view)),
            Err(e) if attempt == 0 && engine::is_out_of_sequence(&e) => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

/// What the service's state means for `rollout`.
fn classify(rollout: &SwarmRollout, view: &ServiceView, now_ms: u64) -> StepOutcome {
    let message = |default: &str| view.message.clone().unwrap_or_else(|| default.to_owned());
    let ours = view.image == rollout.image;
    let rolling_back = rollout.phase == SwarmPhase::RollingBack;
    let changed_elsewhere = || StepOutcome::Failed {
        reason: format!(
            "the service was changed outside this deployment; it now runs {}",
            view.image
        ),
        rolled_back: view.image == rollout.previous_image,
    };
    match view.state.as_deref() {
        Some("rollback_started") if !rolling_back || ours => {
            in_progress(format!("rolling back: {}", message("rollback started")))
        }
        Some("rollback_paused") if !rolling_back || ours => StepOutcome::Failed {
            reason: format!("the rollback paused: {}", message("rollback paused")),
            rolled_back: false,
        },
        Some("rollback_completed") if !rolling_back => StepOutcome::Failed {
            reason: format!(
                "the update was rolled back: {}",
                message("rollback completed")
            ),
            rolled_back: true,
        },
        _ if !ours => changed_elsewhere(),
        Some("rollback_completed") | Some("completed") => StepOutcome::Succeeded,
        Some("paused") => StepOutcome::Failed {
            reason: format!("the update paused: {}", message("update paused")),
            rolled_back: false,
        },
        Some("updating") => in_progress(format!("updating: {}", message("update in progress"))),
        None if now_ms.saturating_sub(rollout.started_at_ms) >= SETTLE_MS => StepOutcome::Succeeded,
        None => in_progress("waiting for the orchestrator to start the update".into()),
        Some(other) => in_progress(format!("update state {other}")),
    }
}

/// Records what `view` shows in `rollout` and returns it.
fn observe(rollout: &mut SwarmRollout, view: &ServiceView, now_ms: u64) -> StepOutcome {
    rollout.version = view.version;
    let outcome = classify(rollout, view, now_ms);
    if outcome.is_final() {
        rollout.phase = SwarmPhase::Finished(outcome.clone());
    }
    outcome
}

/// Reads the service after an update; if that read fails, the update was
/// still made, so the rollout goes on with the version the update produced.
async fn first_look<H: HttpClient>(
    engine: &Engine<'_, H>,
    rollout: &mut SwarmRollout,
    now_ms: u64,
) -> StepOutcome {
    match engine.inspect(&rollout.service_id).await {
        Ok(after) => observe(rollout, &after, now_ms),
        Err(_) => in_progress("update submitted".into()),
    }
}

/// A Compose stack is updated in place, service by service: only
/// [`Strategy::Rolling`] applies to it (single services also take
/// blue-green and canary).
pub(crate) fn stack_rolling_only(strategy: &Strategy) -> Result<(), DeployError> {
    if *strategy != Strategy::Rolling {
        return Err(DeployError::NotApplicable(format!(
            "a Compose stack on Docker Swarm is deployed by rolling update only, not {}; \
             deploy a single service for blue-green or canary",
            strategy.name()
        )));
    }
    Ok(())
}

/// Starts rolling `image` out to `service` with `strategy`: blue-green
/// ([`blue_green`]) and canary ([`canary`]) as their modules say, rolling
/// as follows.
///
/// Sends `GET /services/{service}`, then `POST /services/{ID}/update?version=
/// {Version.Index}` with the complete spec (new image, `UpdateConfig`
/// {Parallelism (default 1), Delay, FailureAction `rollback`, Monitor 5 s,
/// MaxFailureRatio 0, Order `start-first`} and a matching `RollbackConfig`
/// whose FailureAction is `pause`); on "update out of sequence" it reads and
/// posts once more. A final `GET /services/{ID}` gives the first outcome.
#[allow(clippy::too_many_arguments)]
pub async fn start(
    http: &impl HttpClient,
    env: &DockerEnv,
    token: Option<&str>,
    registry_auth: Option<&str>,
    service: &str,
    image: &str,
    strategy: &Strategy,
    now_ms: u64,
) -> Result<(SwarmRollout, StepOutcome), DeployError> {
    engine::check_service(service)?;
    if !is_image_reference(image) {
        return Err(DeployError::Config(format!(
            "{image:?} is not an image reference"
        )));
    }
    let engine = engine(http, env, token, registry_auth)?;
    if *strategy != Strategy::Rolling {
        return progressive::start(&engine, env, service, image, strategy, now_ms).await;
    }
    rolling(&engine, env, service, image, now_ms).await
}

/// A rolling update of `service` to `image`, and the first look at it.
async fn rolling<H: HttpClient>(
    engine: &Engine<'_, H>,
    env: &DockerEnv,
    service: &str,
    image: &str,
    now_ms: u64,
) -> Result<(SwarmRollout, StepOutcome), DeployError> {
    let before = update_to(engine, env, service, image).await?;
    let mut rollout = SwarmRollout {
        service: service.to_owned(),
        service_id: before.id,
        image: image.to_owned(),
        previous_image: before.image,
        version: before.version.saturating_add(1),
        started_at_ms: now_ms,
        phase: SwarmPhase::Updating,
        progressive: None,
    };
    let outcome = first_look(engine, &mut rollout, now_ms).await;
    Ok((rollout, outcome))
}

/// Looks at the service (`GET /services/{ID}`) and says where the rollout
/// is: `updating` → in progress, `completed` → succeeded, `rollback_started`
/// → in progress ("rolling back"), `rollback_completed` → failed and rolled
/// back, `paused` / `rollback_paused` → failed, not rolled back. A service
/// showing no `UpdateStatus` but the new image has succeeded once the
/// orchestrator has had a few seconds to start. An ended rollout reports its
/// outcome again without a request.
pub async fn step(
    http: &impl HttpClient,
    env: &DockerEnv,
    token: Option<&str>,
    rollout: &mut SwarmRollout,
    now_ms: u64,
) -> Result<StepOutcome, DeployError> {
    if let SwarmPhase::Finished(outcome) = &rollout.phase {
        return Ok(outcome.clone());
    }
    let engine = engine(http, env, token, None)?;
    if rollout.progressive.is_some() {
        return progressive::operate(&engine, env, rollout, Operation::Step, now_ms).await;
    }
    let view = engine.inspect(&rollout.service_id).await?;
    Ok(observe(rollout, &view, now_ms))
}

/// Canary: the next step now (once the current step's canary tasks are
/// healthy). Other strategies: [`DeployError::NotApplicable`].
pub async fn promote(
    http: &impl HttpClient,
    env: &DockerEnv,
    token: Option<&str>,
    rollout: &mut SwarmRollout,
    now_ms: u64,
) -> Result<StepOutcome, DeployError> {
    if !matches!(rollout.progressive, Some(Progressive::Canary(_))) {
        return Err(DeployError::NotApplicable(
            "promote applies to canary deployments".into(),
        ));
    }
    let engine = engine(http, env, token, None)?;
    progressive::operate(&engine, env, rollout, Operation::Promote, now_ms).await
}

/// Stops the rollout and puts the previous image back: `GET /services/{ID}`,
/// then `POST /services/{ID}/update?version={Version.Index}&rollback=previous`
/// (body: the current spec). Nothing is sent when the Engine has already
/// rolled back; when the service's previous spec is not the previous image,
/// a normal update to it is sent instead. Refused when the service runs
/// neither image.
pub async fn abort(
    http: &impl HttpClient,
    env: &DockerEnv,
    token: Option<&str>,
    rollout: &mut SwarmRollout,
    now_ms: u64,
) -> Result<StepOutcome, DeployError> {
    let _ = now_ms;
    match &rollout.phase {
        SwarmPhase::Finished(StepOutcome::Aborted) => return Ok(StepOutcome::Aborted),
        SwarmPhase::Finished(_) => {
            return Err(DeployError::NotApplicable(
                "the rollout has ended; roll back instead".into(),
            ));
        }
        SwarmPhase::Updating | SwarmPhase::RollingBack => {}
    }
    let engine = engine(http, env, token, None)?;
    if rollout.progressive.is_some() {
        return progressive::operate(&engine, env, rollout, Operation::Abort, now_ms).await;
    }
    let view = match revert(
        &engine,
        env,
        &rollout.service_id,
        &rollout.image,
        &rollout.previous_image,
        true,
    )
    .await?
    {
        Revert::AlreadyThere(v) => v,
        Revert::ServerSide(v) | Revert::Update(v) => ServiceView {
            version: v.version.saturating_add(1),
            ..v
        },
    };
    rollout.version = view.version;
    rollout.phase = SwarmPhase::Finished(StepOutcome::Aborted);
    Ok(StepOutcome::Aborted)
}

/// Rolls `service` back from the release whose rollout is `current` to
/// `current.previous_image`, as a new rollout to follow with [`step`].
///
/// Sends `GET /services/{service}`, then, when the service runs
/// `current.image` and its previous spec ran `current.previous_image`,
/// `POST /services/{ID}/update?version={Version.Index}&rollback=previous`
/// (server-side rollback, body: the current spec); otherwise a normal update
/// to `current.previous_image` like [`start`]. Retries once on "update out of
/// sequence"; a final `GET /services/{ID}` gives the first outcome. Nothing
/// is sent when the service already runs the previous image.
pub async fn rollback(
    http: &impl HttpClient,
    env: &DockerEnv,
    token: Option<&str>,
    service: &str,
    current: &SwarmRollout,
    now_ms: u64,
) -> Result<(SwarmRollout, StepOutcome), DeployError> {
    engine::check_service(service)?;
    if !is_image_reference(&current.previous_image) {
        return Err(DeployError::NotApplicable(
            "that release has no previous image to roll back to".into(),
        ));
    }
    let engine = engine(http, env, token, None)?;
    let to = current.previous_image.as_str();
    match &current.progressive {
        Some(Progressive::BlueGreen(_)) => {
            return progressive::start(&engine, env, service, to, &Strategy::BlueGreen, now_ms)
                .await;
        }
        // The stable service's previous spec is itself scaled to 0 during
        // the canary: a server-side rollback would restore that.
        Some(Progressive::Canary(_)) => {
            return rolling(&engine, env, service, to, now_ms).await;
        }
        None => {}
    }
    let reverted = revert(&engine, env, service, &current.image, to, false).await?;
    let (view, phase) = match reverted {
        Revert::AlreadyThere(v) => (
            ServiceView {
                image: current.image.clone(),
                ..v
            },
            SwarmPhase::Finished(StepOutcome::Succeeded),
        ),
        Revert::ServerSide(v) => (v, SwarmPhase::RollingBack),
        Revert::Update(v) => (v, SwarmPhase::Updating),
    };
    let mut rollout = SwarmRollout {
        service: service.to_owned(),
        service_id: view.id,
        image: to.to_owned(),
        previous_image: view.image,
        version: view.version,
        started_at_ms: now_ms,
        phase,
        progressive: None,
    };
    if let SwarmPhase::Finished(outcome) = &rollout.phase {
        return Ok((rollout.clone(), outcome.clone()));
    }
    rollout.version = rollout.version.saturating_add(1);
    let outcome = first_look(&engine, &mut rollout, now_ms).await;
    Ok((rollout, outcome))
}
