//! `/api/config`: the control-plane configuration changed at run time, by
//! an admin of every app and environment, with a version and an audit
//! entry ([`crate::config_store`]):
//!
//! - `GET /api/config`: the version in force, where it comes from and its
//!   text;
//! - `GET /api/config/history`: who changed what, when and why;
//! - `GET /api/config/versions/{n}`: the text of version `n` (0 is the
//!   packaged file);
//! - `PUT /api/config` `{"base_version", "text", "reason"}`: a new version;
//! - `DELETE /api/config` `{"base_version", "reason"}`: back to the packaged
//!   file, as a new version.
//!
//! A new text passes `slipway check`'s configuration checks first (422 with
//! `file:line:column` otherwise), may not need a Spin variable or an
//! outbound host the manifest does not give (spin.toml is fixed at deploy:
//! that needs a redeploy), and must leave its author an admin of
//! everything (nobody locks the door behind them). A stale `base_version`
//! gets 409.

use serde::Deserialize;
use serde_json::json;

use super::Reply;
use super::auth::authenticate;
use crate::access::Actor;
use crate::check::check_config;
use crate::config::ControlPlane;
use crate::config_store::{Change, ConfigSource, ConfigStore, ConfigStoreError};
use crate::engine::Deps;
use crate::least_privilege::needs;
use crate::ports::{Clock, KeyValue, Secrets};
use crate::providers::Headers;

/// Largest request accepted (a configuration file and a reason).
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;
/// Longest reason kept in the audit entry.
const MAX_REASON_CHARS: usize = 500;

/// The packaged configuration file, the default.
pub struct Packaged<'a> {
    /// Its text.
    pub text: &'a str,
    /// Parsed.
    pub config: &'a ControlPlane,
}

/// A request to `/api/config{/rest}`.
pub struct ConfigRequest<'a> {
    /// `GET`, `PUT` or `DELETE`.
    pub method: &'a str,
    /// The path after `/api/config`, split at `/`.
    pub rest: &'a [&'a str],
    /// The request's headers.
    pub headers: &'a Headers,
    /// Its body.
    pub body: &'a [u8],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PutBody {
    base_version: u64,
    text: String,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteBody {
    base_version: u64,
    reason: String,
}

/// Answers one request. `source` is where the configuration in force
/// (`deps.config`) came from.
pub async fn handle_config_api<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    packaged: &Packaged<'_>,
    source: &ConfigSource,
    request: &ConfigRequest<'_>,
) -> Reply
where
    K: KeyValue,
    C: Clock,
    S: Secrets,
{
    let actor = match authenticate(deps, request.headers).await {
        Ok(actor) => actor,
        Err(reply) => return reply,
    };
    if !deps.config.access.administers_everything(&actor.person) {
        return Reply::error(
            403,
            format!(
                "{} may not read or change the configuration: it takes the admin role for every app and environment",
                actor.person
            ),
        );
    }
    let store = ConfigStore::new(deps.kv);
    match (request.method, request.rest) {
        ("GET", []) => current(&store, packaged, source).await,
        ("GET", ["history"]) => match store.current().await {
            Ok(c) => Reply::new(200, json!({ "version": c.version, "history": c.history })),
            Err(e) => store_error(e),
        },
        ("GET", ["versions", n]) => version_text(&store, packaged, n).await,
        ("PUT", []) => put(deps, &store, packaged, &actor, request.body).await,
        ("DELETE", []) => reset(deps, &store, &actor, request.body).await,
        (_, [] | ["history"] | ["versions", _]) => Reply::error(405, "method not allowed"),
        _ => Reply::error(404, "no such route"),
    }
}

async fn current<K: KeyValue>(
    store: &ConfigStore<'_, K>,
    packaged: &Packaged<'_>,
    source: &ConfigSource,
) -> Reply {
    let record = match store.current().await {
        Ok(r) => r,
        Err(e) => return store_error(e),
    };
    let last = record.history.last();
    Reply::new(
        200,
        json!({
            "version": record.version,
            "source": source,
            "sha256": record.sha256,
            "text": record.text.as_deref().unwrap_or(packaged.text),
            "changed_by": last.map(|c| &c.by),
            "changed_at_ms": last.map(|c| c.at_ms),
            "reason": last.map(|c| &c.reason),
        }),
    )
}

async fn version_text<K: KeyValue>(
    store: &ConfigStore<'_, K>,
    packaged: &Packaged<'_>,
    n: &str,
) -> Reply {
    let Ok(version) = n.parse::<u64>() else {
        return Reply::error(400, format!("{n:?} is not a version number"));
    };
    if version == 0 {
        return Reply::new(200, json!({ "version": 0, "text": packaged.text }));
    }
    let record = match store.current().await {
        Ok(r) => r,
        Err(e) => return store_error(e),
    };
    let Some(change) = record.history.iter().find(|c| c.version == version) else {
        return Reply::error(404, format!("no version {version} in the kept history"));
    };
    let Some(sha) = &change.sha256 else {
        return Reply::new(200, json!({ "version": version, "text": packaged.text }));
    };
    match store.text(sha).await {
        Ok(Some(text)) => Reply::new(200, json!({ "version": version, "text": text })),
        Ok(None) => Reply::error(404, format!("the text of version {version} is gone")),
        Err(e) => store_error(e),
    }
}

async fn put<K, H, C: Clock, S>(
    deps: &Deps<'_, K, H, C, S>,
    store: &ConfigStore<'_, K>,
    packaged: &Packaged<'_>,
    actor: &Actor,
    body: &[u8],
) -> Reply
where
    K: KeyValue,
{
    let body: PutBody = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(e) => return Reply::error(400, format!("malformed request: {e}")),
    };
    if let Err(reply) = check_reason(&body.reason) {
        return reply;
    }
    let config = match check_config("slipway.toml", &body.text) {
        Ok(c) => c,
        Err(d) => return Reply::new(422, json!({ "error": d.render(), "diagnostic": d })),
    };
    if let Err(reply) = within_manifest(&config, packaged.config) {
        return reply;
    }
    if !config.access.administers_everything(&actor.person) {
        return Reply::error(
            422,
            format!(
                "the new configuration would leave {} without the admin role for every app and environment, and nobody could change it back without a redeploy",
                actor.person
            ),
        );
    }
    let change = Change {
        base_version: body.base_version,
        text: Some(&body.text),
        by: &actor.person,
        identity: &actor.identity,
        at_ms: deps.clock.now_ms(),
        reason: &body.reason,
    };
    applied(store.apply(&change).await)
}

async fn reset<K, H, C: Clock, S>(
    deps: &Deps<'_, K, H, C, S>,
    store: &ConfigStore<'_, K>,
    actor: &Actor,
    body: &[u8],
) -> Reply
where
    K: KeyValue,
{
    let body: DeleteBody = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(e) => return Reply::error(400, format!("malformed request: {e}")),
    };
    if let Err(reply) = check_reason(&body.reason) {
        return reply;
    }
    let change = Change {
        base_version: body.base_version,
        text: None,
        by: &actor.person,
        identity: &actor.identity,
        at_ms: deps.clock.now_ms(),
        reason: &body.reason,
    };
    applied(store.apply(&change).await)
}

fn check_reason(reason: &str) -> Result<(), Reply> {
    if reason.trim().is_empty() {
        return Err(Reply::error(
            400,
            "say why in \"reason\": it goes in the audit entry",
        ));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(Reply::error(
            400,
            format!("\"reason\" is longer than {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(())
}

/// A new configuration may not need what the manifest does not give: the
/// manifest was written from the packaged file (`slipway manifest`), and
/// Spin refuses the rest at run time.
fn within_manifest(new: &ControlPlane, packaged: &ControlPlane) -> Result<(), Reply> {
    let (wanted, given) = match (needs(new), needs(packaged)) {
        (Ok(w), Ok(g)) => (w, g),
        (Err(e), _) => return Err(Reply::error(422, e.to_string())),
        (_, Err(e)) => return Err(Reply::error(500, format!("packaged configuration: {e}"))),
    };
    let mut missing = Vec::new();
    for (component, need) in &wanted {
        let Some(has) = given.get(component) else {
            continue;
        };
        for variable in need.variables.difference(&has.variables) {
            missing.push(format!("{component} would read variable {variable}"));
        }
        for host in need.outbound.difference(&has.outbound) {
            missing.push(format!("{component} would call {host}"));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(Reply::new(
        422,
        json!({
            "error": format!("the manifest does not allow this without a redeploy: {}", missing.join("; ")),
            "hint": "change config/slipway.toml, run `slipway manifest` and redeploy",
            "needs_redeploy": missing,
        }),
    ))
}

fn applied(result: Result<crate::config_store::StoredConfig, ConfigStoreError>) -> Reply {
    match result {
        Ok(record) => Reply::new(
            200,
            json!({ "version": record.version, "sha256": record.sha256 }),
        ),
        Err(e) => store_error(e),
    }
}

fn store_error(e: ConfigStoreError) -> Reply {
    match e {
        ConfigStoreError::Conflict { current, .. } => Reply::new(
            409,
            json!({ "error": e.to_string(), "current_version": current }),
        ),
        ConfigStoreError::Kv(_) => Reply::error(503, e.to_string()),
        ConfigStoreError::Corrupt(_) => Reply::error(500, e.to_string()),
    }
}

#[cfg(test)]
#[path = "config_api_tests.rs"]
mod tests;
