//! `GET /api/apps` and `GET /api/apps/{app}/runs`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::environments::environment_summary;
use super::{Viewer, WebRequest, cursor, limit};
use crate::access::Role;
use crate::engine::Deps;
use crate::entry::Reply;
use crate::entry::auth::{authenticate, may_read, presents_credentials, public};
use crate::ports::{Clock, KeyValue, Secrets};
use crate::runs::index::{RunIndex, RunSummary};
use crate::runs::{RunStatus, RunStore, StageStatus};

/// Pages of summaries one runs request reads at most (of 50 runs each):
/// a filter that matches little answers with fewer runs and a cursor.
const MAX_PAGES_PER_REQUEST: u64 = 20;
/// Branches shown per app in the overview.
const BRANCHES_SHOWN: usize = 10;

/// Who is asking, for a list over many apps: anonymous is fine when
/// something is public; a bad token or session is not.
async fn reader<K: KeyValue, H, C: Clock, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    request: &WebRequest<'_>,
) -> Result<Viewer, Reply> {
    if presents_credentials(request.headers) {
        let actor = authenticate(deps, request.headers).await?;
        return Ok(Viewer { actor: Some(actor) });
    }
    if deps.config.apps.keys().any(|app| public(deps.config, app)) {
        return Ok(Viewer::default());
    }
    Err(Reply::error(401, "missing bearer token or session"))
}

fn readable(deps_config: &crate::config::ControlPlane, viewer: &Viewer, app: &str) -> bool {
    public(deps_config, app) || viewer.allows(deps_config, Role::Viewer, app, None)
}

/// `GET /api/apps?cursor=&limit=`: the apps the caller may read, by name.
pub async fn list_apps<K: KeyValue, H, C: Clock, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    request: &WebRequest<'_>,
) -> Reply {
    let viewer = match reader(deps, request).await {
        Ok(v) => v,
        Err(reply) => return reply,
    };
    let params = request.params();
    let limit = match super::limit(&params) {
        Ok(n) => n,
        Err(reply) => return reply,
    };
    let after = params.get("cursor").cloned().unwrap_or_default();
    let names: Vec<&String> = deps
        .config
        .apps
        .keys()
        .filter(|name| after.is_empty() || name.as_str() > after.as_str())
        .filter(|name| readable(deps.config, &viewer, name))
        .collect();
    let mut apps = Vec::new();
    for name in names.iter().take(limit) {
        match app_card(deps, &viewer, name).await {
            Ok(card) => apps.push(card),
            Err(reply) => return reply,
        }
    }
    let next = (names.len() > limit).then(|| names[limit - 1].clone());
    Reply::new(
        200,
        json!({ "apps": apps, "next": next, "person": viewer.person() }),
    )
}

async fn app_card<K: KeyValue, H, C: Clock, S>(
    deps: &Deps<'_, K, H, C, S>,
    viewer: &Viewer,
    name: &str,
) -> Result<Value, Reply> {
    let config = &deps.config.apps[name];
    let heads = RunIndex::new(deps.kv)
        .heads(name)
        .await
        .map_err(|e| Reply::error(503, e.to_string()))?;
    let branches: Vec<&RunSummary> = heads
        .newest_first()
        .into_iter()
        .take(BRANCHES_SHOWN)
        .collect();
    let mut environments = Vec::new();
    for env in app_environments(deps.config, name) {
        environments.push(environment_summary(deps, name, &env).await?);
    }
    Ok(json!({
        "name": name,
        "repo": config.repo,
        "provider": config.provider,
        "branches": branches,
        "environments": environments,
        "may": { "operate": viewer.operates(deps.config, name) },
    }))
}

/// The environments `app` may deploy to under the access policy.
pub fn app_environments(config: &crate::config::ControlPlane, app: &str) -> Vec<String> {
    config
        .environments
        .keys()
        .filter(|env| config.access.policy(env).admits_app(env, app).is_ok())
        .cloned()
        .collect()
}

fn parse_status(s: &str) -> Result<RunStatus, Reply> {
    serde_json::from_value(Value::String(s.to_owned())).map_err(|_| {
        Reply::error(
            400,
            format!("unknown status {s:?}: one of queued, running, succeeded, failed, cancelled, timed-out, skipped"),
        )
    })
}

/// `GET /api/apps/{app}/runs?branch=&status=&cursor=&limit=`.
pub async fn list_runs<K: KeyValue, H, C: Clock, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    request: &WebRequest<'_>,
    app: &str,
) -> Reply {
    if let Err(reply) = may_read(deps, request.headers, app).await {
        return reply;
    }
    if !deps.config.apps.contains_key(app) {
        return Reply::error(404, format!("unknown app {app:?}"));
    }
    let params = request.params();
    let (limit, cursor) = match (limit(&params), cursor(&params)) {
        (Ok(l), Ok(c)) => (l, c),
        (Err(reply), _) | (_, Err(reply)) => return reply,
    };
    let status = match params.get("status").filter(|s| !s.is_empty()) {
        Some(s) => match parse_status(s) {
            Ok(status) => Some(status),
            Err(reply) => return reply,
        },
        None => None,
    };
    let branch = params.get("branch").filter(|b| !b.is_empty()).cloned();
    let before = match cursor {
        Some(c) => c,
        None => match RunStore::new(deps.kv).last_number(app).await {
            Ok(n) => n + 1,
            Err(e) => return Reply::error(503, e.to_string()),
        },
    };
    let keep = |s: &RunSummary| {
        status.is_none_or(|want| s.status == want)
            && branch
                .as_deref()
                .is_none_or(|b| s.branch == b || s.git_ref == b)
    };
    let scanned = RunIndex::new(deps.kv)
        .scan(app, before, limit, MAX_PAGES_PER_REQUEST, keep)
        .await;
    let (runs, next) = match scanned {
        Ok(found) => found,
        Err(e) => return Reply::error(503, e.to_string()),
    };
    let (stages, averages) = matrix(&runs);
    Reply::new(
        200,
        json!({
            "app": app,
            "stages": stages,
            "averages": averages,
            "runs": runs,
            "next": next.map(|n| n.to_string()),
            "environments": app_environments(deps.config, app),
        }),
    )
}

/// The stage matrix's columns (each stage in the order runs list them)
/// and each stage's average duration over the runs where it succeeded.
pub fn matrix(runs: &[RunSummary]) -> (Vec<String>, BTreeMap<String, u64>) {
    let mut columns: Vec<String> = Vec::new();
    let mut totals: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    // Oldest first, so a stage added later lands after the older ones.
    for run in runs.iter().rev() {
        let mut at = 0;
        for stage in &run.stages {
            match columns.iter().position(|c| *c == stage.name) {
                Some(i) => at = i + 1,
                None => {
                    columns.insert(at, stage.name.clone());
                    at += 1;
                }
            }
            if let (StageStatus::Succeeded, Some(ms)) = (stage.status, stage.duration_ms) {
                let t = totals.entry(stage.name.clone()).or_default();
                t.0 += ms;
                t.1 += 1;
            }
        }
    }
    let averages = totals
        .into_iter()
        .map(|(name, (sum, n))| (name, sum / n))
        .collect();
    (columns, averages)
}
