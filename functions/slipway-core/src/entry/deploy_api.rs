//! The deploy API (a named API token whose owner is a deployer of the app
//! in the environment, for every change; a viewer for reads):
//! - `POST /api/deploy` `{"app", "environment", "image", "strategy": "rolling"|"blue-green"|"canary", "steps": [10, 25, 50, 100], "hold": "5m", "override_freeze": "reason", "commit": "<sha>"}`
//!   → 202 with the deployment; 400 unknown app/environment or bad image;
//!   403 when the environment's policy refuses it (a freeze: unless an
//!   admin gives `override_freeze`); 409 while another deployment holds the environment;
//! - `POST /api/deploy/{app}/{env}/promote` (canary: next step now), `/abort`, `/rollback`;
//!
//! Changes are recorded as made by the token's owner, never by a name the
//! caller types (a `requested_by` in the body is ignored).
//! - `GET /api/apps/{app}/environments/{env}/releases`: the release history, newest first.

use serde::Deserialize;
use serde_json::json;

use super::auth::{Need, authenticate, authorize, may_read, permit};
use super::{FOLLOW_UP_BUDGET_MS, Reply};
use crate::access::Role;
use crate::deploy::records::{Deployment, Records};
use crate::deploy::strategy;
use crate::engine::deploy_requests::{self as requests, DeployRequest, Operation, Refusal};
use crate::engine::{Deps, Engine, Target};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::providers::Headers;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeployBody {
    app: String,
    environment: String,
    image: String,
    #[serde(default)]
    strategy: Option<String>,
    #[serde(default)]
    steps: Option<Vec<u8>>,
    #[serde(default)]
    hold: Option<String>,
    /// An admin's reason to deploy through a freeze.
    #[serde(default)]
    override_freeze: Option<String>,
    /// The commit the image was built from: where a stack's Compose file
    /// is read.
    #[serde(default)]
    commit: Option<String>,
    /// Ignored: the token's owner is who asks.
    #[serde(default, rename = "requested_by")]
    _requested_by: Option<serde_json::Value>,
}

/// The HTTP answer to a refused request.
pub fn refused(r: Refusal) -> Reply {
    match r {
        Refusal::BadRequest(m) => Reply::new(400, json!({ "error": m })),
        Refusal::Forbidden(m) => Reply::new(403, json!({ "error": m })),
        Refusal::NotFound(m) => Reply::new(404, json!({ "error": m })),
        Refusal::Conflict(m) => Reply::new(409, json!({ "error": m })),
        Refusal::Busy(lock) => Reply::new(
            409,
            json!({
                "error": crate::engine::deploy_requests::busy_message(&lock),
                "held_by": lock.holder,
                "locked_by": lock.frozen.as_ref().map(|f| &f.by),
                "since_ms": lock.since_ms,
                "expires_at_ms": lock.expires_at_ms,
            }),
        ),
        Refusal::Unavailable(m) => Reply::new(503, json!({ "error": m })),
    }
}

/// A deployment as the API shows it.
pub fn view(d: &Deployment) -> serde_json::Value {
    json!({
        "id": d.id,
        "app": d.app,
        "environment": d.environment,
        "number": d.number,
        "kind": d.kind,
        "image": d.image,
        "digest": d.digest,
        "strategy": d.strategy.name(),
        "requested_by": d.requested_by,
        "commit": d.commit,
        "step": d.rollout.as_ref().and_then(|r| r.step()),
        "operated_by": d.operated_by,
        "run": d.stage.as_ref().map(|s| &s.run),
        "stage": d.stage.as_ref().map(|s| &s.stage),
        "status": d.status,
        "message": d.message,
        "traffic_percent": d.traffic_percent,
        "rolled_back": d.rolled_back,
        "freeze_override": d.freeze_override,
        "created_at_ms": d.created_at_ms,
        "finished_at_ms": d.finished_at_ms,
        "duration_ms": d.duration_ms(),
    })
}

/// Reconciles the deployment a request recorded, then answers with it as
/// it is then.
async fn reconciled<K, H, C, S>(deps: &Deps<'_, K, H, C, S>, status: u16, d: Deployment) -> Reply
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let deadline = deps.clock.now_ms() + FOLLOW_UP_BUDGET_MS;
    Engine::new(deps)
        .reconcile(Target::Deployment(d.id.clone()), deadline)
        .await;
    let now = Records::new(deps.kv)
        .load_id(&d.id)
        .await
        .ok()
        .flatten()
        .unwrap_or(d);
    Reply::new(status, view(&now))
}

/// Handles a request under `/api/deploy` or `/api/apps`.
pub async fn handle<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    method: &str,
    path: &str,
    headers: &Headers,
    body: &[u8],
) -> Reply
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["api", "apps", app, "environments", env, "releases"]) => {
            if let Err(r) = may_read(deps, headers, app).await {
                return r;
            }
            if !deps.config.apps.contains_key(*app) {
                return Reply::new(404, json!({ "error": format!("unknown app {app:?}") }));
            }
            match Records::new(deps.kv).history(app, env, 100).await {
                Ok(list) => Reply::new(
                    200,
                    json!({ "app": app, "environment": env, "releases": list.iter().map(view).collect::<Vec<_>>() }),
                ),
                Err(e) => Reply::new(503, json!({ "error": e.to_string() })),
            }
        }
        ("POST", ["api", "deploy"]) => {
            let actor = match authenticate(deps, headers).await {
                Ok(actor) => actor,
                Err(r) => return r,
            };
            let request = match deploy_request(body, actor.person.clone()) {
                Ok(r) => r,
                Err(reply) => return reply,
            };
            let need = Need {
                role: Role::Deployer,
                app: &request.app,
                environment: Some(&request.environment),
            };
            if let Err(r) = permit(&deps.config.access, &actor, need) {
                return r;
            }
            let now = deps.clock.now_ms();
            match requests::request(deps.kv, deps.config, request, now).await {
                Ok(d) => reconciled(deps, 202, d).await,
                Err(r) => refused(r),
            }
        }
        ("POST", ["api", "deploy", app, env, action]) => {
            let need = Need {
                role: Role::Deployer,
                app,
                environment: Some(env),
            };
            let who = match authorize(deps, headers, need).await {
                Ok(actor) => actor.person,
                Err(r) => return r,
            };
            let now = deps.clock.now_ms();
            let (status, result) = match *action {
                "promote" => (
                    200,
                    requests::operate(
                        deps.kv,
                        deps.config,
                        app,
                        env,
                        Operation::Promote,
                        &who,
                        now,
                    )
                    .await,
                ),
                "abort" => (
                    200,
                    requests::operate(deps.kv, deps.config, app, env, Operation::Abort, &who, now)
                        .await,
                ),
                "rollback" => (
                    202,
                    requests::rollback(deps.kv, deps.config, app, env, None, &who, now).await,
                ),
                other => {
                    return Reply::new(
                        404,
                        json!({ "error": format!("unknown action {other:?}") }),
                    );
                }
            };
            match result {
                Ok(d) => reconciled(deps, status, d).await,
                Err(r) => refused(r),
            }
        }
        _ => Reply::new(404, json!({ "error": format!("no route {method} {path}") })),
    }
}

/// The deployment a `POST /api/deploy` body asks for.
fn deploy_request(body: &[u8], requested_by: String) -> Result<DeployRequest, Reply> {
    let parsed: DeployBody = serde_json::from_slice(body)
        .map_err(|e| Reply::new(400, json!({ "error": format!("malformed request: {e}") })))?;
    let hold_ms = match parsed
        .hold
        .as_deref()
        .map(crate::pipeline::duration::parse_ms)
    {
        Some(Err(e)) => return Err(Reply::new(400, json!({ "error": format!("hold: {e}") }))),
        Some(Ok(ms)) => Some(ms),
        None => None,
    };
    let strategy = strategy(
        parsed.strategy.as_deref().unwrap_or("rolling"),
        parsed.steps,
        hold_ms,
    )
    .map_err(|e| Reply::new(400, json!({ "error": e })))?;
    Ok(DeployRequest {
        app: parsed.app,
        environment: parsed.environment,
        image: parsed.image,
        strategy,
        requested_by,
        stage: None,
        override_freeze: parsed.override_freeze,
        commit: parsed.commit,
    })
}
