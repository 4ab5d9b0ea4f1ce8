//! The deploy API (bearer `api_token` for every change):
//! - `POST /api/deploy` `{"app", "environment", "image", "strategy": "rolling"|"blue-green"|"canary", "steps": [10, 25, 50, 100], "hold": "5m"}`
//!   → 202 with the deployment; 400 unknown app/environment or bad image; 409 while another deployment holds the environment;
//! - `POST /api/deploy/{app}/{env}/promote` (canary: next step now), `/abort`, `/rollback`;
//!
//! Changes are recorded as made by the API token's owner
//! (`[access] api_token_owner`), never by a name the caller types.
//! - `GET /api/apps/{app}/environments/{env}/releases`: the release history, newest first.

use serde::Deserialize;
use serde_json::json;

use super::{FOLLOW_UP_BUDGET_MS, Reply, authorized};
use crate::access::Actor;
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
}

fn refused(r: Refusal) -> Reply {
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

fn view(d: &Deployment) -> serde_json::Value {
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
        "operated_by": d.operated_by,
        "run": d.stage.as_ref().map(|s| &s.run),
        "stage": d.stage.as_ref().map(|s| &s.stage),
        "status": d.status,
        "message": d.message,
        "traffic_percent": d.traffic_percent,
        "rolled_back": d.rolled_back,
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
            if let Err(r) = authorized(deps.secrets, headers).await {
                return r;
            }
            let who = Actor::api_token(&deps.config.access).person;
            let request = match deploy_request(body, who) {
                Ok(r) => r,
                Err(reply) => return reply,
            };
            let now = deps.clock.now_ms();
            match requests::request(deps.kv, deps.config, request, now).await {
                Ok(d) => reconciled(deps, 202, d).await,
                Err(r) => refused(r),
            }
        }
        ("POST", ["api", "deploy", app, env, action]) => {
            if let Err(r) = authorized(deps.secrets, headers).await {
                return r;
            }
            let now = deps.clock.now_ms();
            let who = Actor::api_token(&deps.config.access).person;
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
    })
}
