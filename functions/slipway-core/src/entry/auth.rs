//! Who is calling the API: the owner of a named bearer token
//! ([`crate::access::tokens`]), what their grants allow, and a throttle on
//! failed attempts per source address.

use serde_json::json;
use subtle::ConstantTimeEq;

use super::Reply;
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
        return Err(Reply::error(401, "missing bearer token"));
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

/// For reads: nothing to check when the app is public, otherwise the
/// viewer role.
pub async fn may_read<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    headers: &Headers,
    app: &str,
) -> Result<(), Reply>
where
    K: KeyValue,
    C: Clock,
    S: Secrets,
{
    if deps.config.apps.get(app).is_some_and(|a| a.public_read) {
        return Ok(());
    }
    let need = Need {
        role: Role::Viewer,
        app,
        environment: None,
    };
    authorize(deps, headers, need).await.map(|_| ())
}
