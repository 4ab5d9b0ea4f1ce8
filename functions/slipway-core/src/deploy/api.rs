//! The deploy API (bearer `api_token` for every change):
//! - `POST /api/deploy` `{"app", "environment", "image", "strategy": "rolling"|"blue-green"|"canary", "steps": [10, 25, 50, 100], "hold": "5m"}`
//!   → 202 with the deployment; 400 unknown app/environment or bad image; 409 while another deployment holds the environment;
//! - `POST /api/deploy/{app}/{env}/promote` (canary: next step now), `/abort`, `/rollback`;
//! - `GET /api/apps/{app}/environments/{env}/releases`: the release history, newest first.

use serde::Deserialize;
use serde_json::json;

use super::Strategy;
use super::platform::Operation;
use super::records::{Deployment, Records};
use super::service::{self, DeployRequest, Refusal};
use crate::hooks::{Deps, Reply};
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
    #[serde(default)]
    requested_by: Option<String>,
}

fn refused(r: Refusal) -> Reply {
    match r {
        Refusal::BadRequest(m) => Reply::new(400, json!({ "error": m })),
        Refusal::NotFound(m) => Reply::new(404, json!({ "error": m })),
        Refusal::Conflict(m) => Reply::new(409, json!({ "error": m })),
        Refusal::Busy(lock) => Reply::new(
            409,
            json!({
                "error": "another deployment holds this environment",
                "held_by": lock.holder,
                "since_ms": lock.since_ms,
                "expires_at_ms": lock.expires_at_ms,
            }),
        ),
        Refusal::Unavailable(m) => Reply::new(503, json!({ "error": m })),
    }
}

/// The strategy named in a request or a pipeline stage.
pub fn strategy(
    name: &str,
    steps: Option<Vec<u8>>,
    hold_ms: Option<u64>,
) -> Result<Strategy, String> {
    match name {
        "rolling" => Ok(Strategy::Rolling),
        "blue-green" => Ok(Strategy::BlueGreen),
        "canary" => Ok(Strategy::Canary {
            steps: steps.unwrap_or_else(|| vec![10, 25, 50, 100]),
            hold_ms,
        }),
        other => Err(format!(
            "unknown strategy {other:?}; use rolling, blue-green or canary"
        )),
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
            if let Err(r) = crate::progress::authorized(deps.secrets, headers).await {
                return r;
            }
            let parsed: DeployBody = match serde_json::from_slice(body) {
                Ok(b) => b,
                Err(e) => {
                    return Reply::new(400, json!({ "error": format!("malformed request: {e}") }));
                }
            };
            let hold_ms = match parsed
                .hold
                .as_deref()
                .map(crate::pipeline::duration::parse_ms)
            {
                Some(Err(e)) => return Reply::new(400, json!({ "error": format!("hold: {e}") })),
                Some(Ok(ms)) => Some(ms),
                None => None,
            };
            let strategy = match strategy(
                parsed.strategy.as_deref().unwrap_or("rolling"),
                parsed.steps,
                hold_ms,
            ) {
                Ok(s) => s,
                Err(e) => return Reply::new(400, json!({ "error": e })),
            };
            let request = DeployRequest {
                app: parsed.app,
                environment: parsed.environment,
                image: parsed.image,
                strategy,
                requested_by: parsed.requested_by.unwrap_or_else(|| "api".into()),
                stage: None,
            };
            match service::request(deps, request).await {
                Ok(d) => Reply::new(202, view(&d)),
                Err(r) => refused(r),
            }
        }
        ("POST", ["api", "deploy", app, env, action]) => {
            if let Err(r) = crate::progress::authorized(deps.secrets, headers).await {
                return r;
            }
            let result = match *action {
                "promote" => service::operate(deps, app, env, Operation::Promote).await,
                "abort" => service::operate(deps, app, env, Operation::Abort).await,
                "rollback" => service::rollback(deps, app, env, "api").await,
                other => {
                    return Reply::new(
                        404,
                        json!({ "error": format!("unknown action {other:?}") }),
                    );
                }
            };
            match result {
                Ok(d) => Reply::new(if *action == "rollback" { 202 } else { 200 }, view(&d)),
                Err(r) => refused(r),
            }
        }
        _ => Reply::new(404, json!({ "error": format!("no route {method} {path}") })),
    }
}
