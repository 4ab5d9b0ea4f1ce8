//! Requests signed in through the web page: the session cookie names the
//! person, and every request but reading the session itself carries the
//! session's CSRF token in `X-CSRF-Token` (a page of another site can send
//! the cookie, in browsers without SameSite, but cannot read the token).

use super::Reply;
use crate::access::Actor;
use crate::engine::Deps;
use crate::ports::{KeyValue, Secrets};
use crate::providers::Headers;
use crate::sessions::{COOKIE_NAME, Claims, SESSION_SECRET, SessionKey, Sessions, cookie_value};

/// The header a signed-in page sends its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session cookie of a request, if it has one.
pub fn session_cookie(headers: &Headers) -> Option<&str> {
    cookie_value(headers.get("cookie")?, COOKIE_NAME).filter(|v| !v.is_empty())
}

/// The signing key, or 503 when web sign-in is not configured.
pub async fn session_key<K, H, C, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
) -> Result<SessionKey, Reply> {
    let secret = deps.secrets.get(SESSION_SECRET).await.unwrap_or_default();
    SessionKey::from_secret(&secret).ok_or_else(|| {
        Reply::error(
            503,
            format!("web sign-in is not configured: set the Spin variable {SESSION_SECRET} (32 characters or more)"),
        )
    })
}

/// The live session `value` names, with the key that checked it; 401
/// with the reason otherwise.
pub async fn session_of<K: KeyValue, H, C, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    value: &str,
    now_ms: u64,
) -> Result<(Claims, SessionKey), Reply> {
    let key = session_key(deps).await?;
    match Sessions::new(deps.kv, &key).check(value, now_ms).await {
        Ok(claims) => Ok((claims, key)),
        Err(crate::sessions::SessionError::Kv(e)) => Err(Reply::error(503, e.to_string())),
        Err(e) => Err(Reply::error(401, e.to_string())),
    }
}

/// The person a cookie-signed request acts as, once its CSRF token
/// matches; 401 for a bad session, 403 for a missing or wrong token.
pub async fn session_actor<K: KeyValue, H, C, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    headers: &Headers,
    value: &str,
    now_ms: u64,
) -> Result<Actor, Reply> {
    let (claims, _) = csrf_checked_session(deps, headers, value, now_ms).await?;
    Ok(Actor::web_session(&claims.person, &claims.session))
}

/// The live session `value` names, once the request's CSRF token matches
/// it; 401 for a bad session, 403 for a missing or wrong token.
pub async fn csrf_checked_session<K: KeyValue, H, C, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    headers: &Headers,
    value: &str,
    now_ms: u64,
) -> Result<(Claims, SessionKey), Reply> {
    let (claims, key) = session_of(deps, value, now_ms).await?;
    let token = headers.get(CSRF_HEADER).map(String::as_str).unwrap_or("");
    if !key.csrf_matches(&claims.session, token) {
        return Err(Reply::error(
            403,
            "missing or wrong CSRF token (send the session's token in X-CSRF-Token)",
        ));
    }
    Ok((claims, key))
}
