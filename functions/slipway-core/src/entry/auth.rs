//! Who is calling the API: the owner of a named bearer token
//! ([`crate::access::tokens`]) or the person of a web session
//! ([`super::session_auth`]), what their grants allow, and a throttle on
//! failed attempts per source address.

use serde_json::json;
use subtle::ConstantTimeEq;

use super::Reply;
use super::session_auth::{session_actor, session_cookie};
use crate::access::tokens::{TokenHash, plausible};
use crate::access::{Actor, Role};
use crate::auth_failures::AuthFailures;
use crate::engine::Deps;
use crate::ports::{Clock, KeyValue, Secrets};
use crate::providers::Headers;

/// The bearer token of a request, if any.
pub fn bearer(headers: &Headers) -> Option<&str> {
    let value = headers.get("authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Whether `given` equals `expected` (constant time for equal lengths).
pub fn same(given: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// The address a request came from (Spin's `spin-client-addr`, without
/// the port), which failed attempts are counted against.
pub fn source(headers: &Headers) -> String {
    let Some(addr) = headers.get("spin-client-addr") else {
        return "unknown".into();
    };
    match addr.parse::<std::net::SocketAddr>() {
        Ok(socket) => socket.ip().to_string(),
        Err(_) => addr.clone(),
    }
}

/// What the caller may do, once its token is known.
#[derive(Debug, Clone, Copy)]
pub struct Need<'a> {
    /// The role.
    pub role: Role,
    /// For this app.
    pub app: &'a str,
    /// In this environment, when the action has one.
    pub environment: Option<&'a str>,
}

/// The verified owner of the request's token.
pub async fn authenticate<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    headers: &Headers,
) -> Result<Actor, Reply>
where
    K: KeyValue,
    C: Clock,
    S: Secrets,
{
    let throttle = AuthFailures::new(deps.kv);
    let from = source(headers);
    let now = deps.clock.now_ms();
    if let Ok(Some(retry_after_s)) = throttle.blocked(&from, now).await {
        return Err(Reply::new(
            429,
            json!({
                "error": "too many failed attempts from this address; try again later",
                "retry_after_s": retry_after_s,
            }),
        ));
    }
    let Some(token) = bearer(headers).filter(|t| !t.is_empty()) else {
        let Some(cookie) = session_cookie(headers) else {
            return Err(Reply::error(401, "missing bearer token or session"));
        };
        let signed_in = session_actor(deps, headers, cookie, now).await;
        if matches!(&signed_in, Err(r) if r.status == 401) {
            let _ = throttle.record(&from, now).await;
        }
        return signed_in;
    };
    if plausible(token)
        && let Some(actor) = token_owner(deps, token).await
    {
        return Ok(actor);
    }
    // A failure to count is no reason to let the guess through, nor to
    // answer anything but 401.
    let _ = throttle.record(&from, now).await;
    Err(Reply::error(401, "unknown bearer token"))
}

/// The token named in the configuration whose hash `token` has.
async fn token_owner<K, H, C, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    token: &str,
) -> Option<Actor> {
    let presented = TokenHash::of(token);
    for (name, config) in &deps.config.access.tokens {
        let Some(stored) = deps.secrets.get(&config.hash_secret).await else {
            continue;
        };
        if TokenHash::parse(&stored).is_ok_and(|h| h.matches(&presented)) {
            return Some(Actor::api_token(name, &config.owner));
        }
    }
    None
}

/// The verified owner of the request's token, if their grants give
/// `need`; 401 without a known token, 403 without the role.
pub async fn authorize<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    headers: &Headers,
    need: Need<'_>,
) -> Result<Actor, Reply>
where
    K: KeyValue,
    C: Clock,
    S: Secrets,
{
    let actor = authenticate(deps, headers).await?;
    permit(&deps.config.access, &actor, need)?;
    Ok(actor)
}

/// Whether `actor`'s grants give `need`; 403 with what is missing if not.
pub fn permit(access: &crate::access::Access, actor: &Actor, need: Need<'_>) -> Result<(), Reply> {
    if access.allows(&actor.person, need.role, need.app, need.environment) {
        return Ok(());
    }
    let scope = match need.environment {
        Some(env) => format!("{} in {env}", need.app),
        None => need.app.to_owned(),
    };
    Err(Reply::error(
        403,
        format!(
            "{} ({}) does not have the {} role for {scope}",
            actor.person, actor.identity, need.role
        ),
    ))
}

/// Whether anyone may read `app` without signing in: the app is public,
/// or the whole stage view is (`[web] public_read`).
pub fn public(config: &crate::config::ControlPlane, app: &str) -> bool {
    config.web.public_read || config.apps.get(app).is_some_and(|a| a.public_read)
}

/// Whether the request carries credentials (a bearer token or a session).
pub fn presents_credentials(headers: &Headers) -> bool {
    bearer(headers).is_some() || super::session_auth::session_cookie(headers).is_some()
}

/// For reads: the viewer role, or nothing to check when the app is public
/// and the request is anonymous. Returns who reads (none: anonymous).
pub async fn may_read<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    headers: &Headers,
    app: &str,
) -> Result<Option<Actor>, Reply>
where
    K: KeyValue,
    C: Clock,
    S: Secrets,
{
    if public(deps.config, app) && !presents_credentials(headers) {
        return Ok(None);
    }
    let actor = authenticate(deps, headers).await?;
    if public(deps.config, app) {
        return Ok(Some(actor));
    }
    let need = Need {
        role: Role::Viewer,
        app,
        environment: None,
    };
    permit(&deps.config.access, &actor, need)?;
    Ok(Some(actor))
}
