//! `GET /api/apps/{app}/environments/{env}` and the environment part of
//! the overview: live release, deployment in flight, lock, history.

use serde_json::{Value, json};

use super::{Viewer, WebRequest, cursor, limit};
use crate::deploy::lock::Lock;
use crate::deploy::records::{Deployment, DeploymentStatus, Records};
use crate::engine::Deps;
use crate::entry::Reply;
use crate::entry::auth::may_read;
use crate::entry::deploy_api::view;
use crate::ports::{Clock, KeyValue, Secrets};

/// Releases looked back through for the live one.
const LIVE_SCAN: u64 = 50;

fn unavailable(e: impl std::fmt::Display) -> Reply {
    Reply::error(503, e.to_string())
}

fn release(d: &Deployment) -> Value {
    let mut v = view(d);
    v["live"] = json!(false);
    v
}

fn lock_view(lock: &Lock) -> Value {
    json!({
        "holder": lock.holder,
        "since_ms": lock.since_ms,
        "expires_at_ms": lock.expires_at_ms,
        "locked_by": lock.frozen.as_ref().map(|f| &f.by),
        "reason": lock.frozen.as_ref().map(|f| &f.reason),
    })
}

/// The newest succeeded release, and the newest deployment if it has not
/// ended (what is live, and what is going out).
async fn live_and_active<K: KeyValue>(
    records: &Records<'_, K>,
    app: &str,
    env: &str,
) -> Result<(Option<Deployment>, Option<Deployment>), Reply> {
    let last = records.last_number(app, env).await.map_err(unavailable)?;
    let mut active = None;
    let mut n = last;
    while n >= 1 && n + LIVE_SCAN > last {
        if let Some(d) = records.load(app, env, n).await.map_err(unavailable)? {
            if n == last && !d.status.is_final() {
                active = Some(d);
            } else if d.status == DeploymentStatus::Succeeded {
                return Ok((Some(d), active));
            }
        }
        n -= 1;
    }
    Ok((None, active))
}

/// `{"name", "live", "active", "lock"}` of `env` for `app`.
pub async fn environment_summary<K: KeyValue, H, C: Clock, S>(
    deps: &Deps<'_, K, H, C, S>,
    app: &str,
    env: &str,
) -> Result<Value, Reply> {
    let records = Records::new(deps.kv);
    let (live, active) = live_and_active(&records, app, env).await?;
    let lock = records
        .holder(app, env, deps.clock.now_ms())
        .await
        .map_err(unavailable)?;
    Ok(json!({
        "name": env,
        "live": live.as_ref().map(release),
        "active": active.as_ref().map(release),
        "lock": lock.as_ref().map(lock_view),
    }))
}

/// `GET /api/apps/{app}/environments/{env}?cursor=&limit=`: the release
/// history newest first (`cursor`: the release number to go on below).
pub async fn environment<K: KeyValue, H, C: Clock, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    request: &WebRequest<'_>,
    app: &str,
    env: &str,
) -> Reply {
    let actor = match may_read(deps, request.headers, app).await {
        Ok(actor) => actor,
        Err(reply) => return reply,
    };
    if !deps.config.apps.contains_key(app) {
        return Reply::error(404, format!("unknown app {app:?}"));
    }
    if !deps.config.environments.contains_key(env) {
        return Reply::error(404, format!("unknown environment {env:?}"));
    }
    let params = request.params();
    let (limit, cursor) = match (limit(&params), cursor(&params)) {
        (Ok(l), Ok(c)) => (l, c),
        (Err(reply), _) | (_, Err(reply)) => return reply,
    };
    let records = Records::new(deps.kv);
    let mut summary = match environment_summary(deps, app, env).await {
        Ok(s) => s,
        Err(reply) => return reply,
    };
    let live_number = summary["live"]["number"].as_u64();
    let start = match cursor {
        Some(c) => c,
        None => match records.last_number(app, env).await {
            Ok(n) => n + 1,
            Err(e) => return unavailable(e),
        },
    };
    let mut releases = Vec::new();
    let mut n = start;
    while n > 1 && releases.len() < limit {
        n -= 1;
        match records.load(app, env, n).await {
            Ok(Some(d)) => {
                let mut r = release(&d);
                r["live"] = json!(Some(d.number) == live_number);
                releases.push(r);
            }
            Ok(None) => {}
            Err(e) => return unavailable(e),
        }
    }
    let viewer = Viewer { actor };
    summary["app"] = json!(app);
    summary["environment"] = json!(env);
    summary["releases"] = json!(releases);
    summary["next"] = json!((n > 1).then(|| n.to_string()));
    summary["viewer"] = json!({
        "person": viewer.person(),
        "may": { "operate": viewer.operates(deps.config, app).iter().any(|e| e == env) },
    });
    Reply::new(200, summary)
}
