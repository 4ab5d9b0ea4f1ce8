//! The environment's policy applied to every new deployment, whoever asks
//! (a pipeline stage, the API, a chat command): which apps may deploy
//! there, and the freeze windows, which only an admin's override with a
//! reason lets a deployment through.

use crate::access::Role;
use crate::config::ControlPlane;
use crate::deploy::records::FreezeOverride;

/// A deployment someone asks for, as the policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    /// The app.
    pub app: &'a str,
    /// The environment.
    pub environment: &'a str,
    /// Who asks.
    pub requested_by: &'a str,
    /// An admin's reason to deploy through a freeze.
    pub override_freeze: Option<&'a str>,
}

/// Why the policy refuses a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// A rule forbids it, or the override is not the asker's to give.
    Forbidden(String),
    /// The override has no reason.
    BadRequest(String),
}

/// Checks `req` against its environment's policy at `now_ms`; the
/// override to record when a freeze was lifted for it.
pub fn admit(
    config: &ControlPlane,
    req: Asked<'_>,
    now_ms: u64,
) -> Result<Option<FreezeOverride>, Refused> {
    let env = req.environment;
    let policy = config.access.policy(env);
    policy
        .admits_app(env, req.app)
        .map_err(|r| Refused::Forbidden(r.to_string()))?;
    let Some(freeze) = policy.freeze_at(now_ms) else {
        return Ok(None);
    };
    let rule = format!("access.environments.{env}.freeze");
    let Some(reason) = req.override_freeze else {
        return Err(Refused::Forbidden(format!(
            "{env} is frozen until {} by {:?}: {}; an admin may override with a reason \
             (refused by {rule})",
            rfc3339(freeze.until_ms),
            freeze.name,
            freeze.reason,
        )));
    };
    if reason.trim().is_empty() {
        return Err(Refused::BadRequest("override_freeze needs a reason".into()));
    }
    if !config
        .access
        .allows(req.requested_by, Role::Admin, req.app, Some(env))
    {
        return Err(Refused::Forbidden(format!(
            "only an admin of {} in {env} may override the freeze {:?} (refused by {rule})",
            req.app, freeze.name
        )));
    }
    Ok(Some(FreezeOverride {
        freeze: freeze.name,
        by: req.requested_by.to_owned(),
        reason: reason.trim().to_owned(),
    }))
}

/// `ms` since the epoch as an RFC 3339 UTC time.
fn rfc3339(ms: u64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000);
    at.ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{ms} ms"))
}
