//! Signing in and out of the stage view.

use serde::Deserialize;
use serde_json::json;

use super::WebRequest;
use crate::access::Role;
use crate::auth_failures::AuthFailures;
use crate::engine::Deps;
use crate::entry::auth::{authenticate, source};
use crate::entry::session_auth::{csrf_checked_session, session_cookie, session_key, session_of};
use crate::entry::{Reply, json_body};
use crate::ports::{Clock, KeyValue, Secrets};
use crate::sessions::{COOKIE_NAME, SESSION_TTL_MS, SessionError, Sessions};

/// `GET /api/session`: the signed-in person and the CSRF token the page
/// sends with every other call.
pub async fn session<K: KeyValue, H, C: Clock, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    request: &WebRequest<'_>,
) -> Reply {
    let not_signed_in = || {
        Reply::new(
            401,
            json!({ "error": "not signed in", "public_read": deps.config.web.public_read }),
        )
    };
    let Some(cookie) = session_cookie(request.headers) else {
        return not_signed_in();
    };
    match session_of(deps, cookie, deps.clock.now_ms()).await {
        Ok((claims, key)) => Reply::new(
            200,
            json!({
                "person": claims.person,
                "csrf": key.csrf(&claims.session),
                "expires_at_ms": claims.expires_at_ms,
            }),
        ),
        Err(reply) if reply.status == 401 => {
            let mut reply = not_signed_in();
            reply.body["reason"] = reply_reason(&reply);
            reply.with_header("set-cookie", clear_cookie())
        }
        Err(reply) => reply,
    }
}

fn reply_reason(reply: &Reply) -> serde_json::Value {
    reply.body.get("error").cloned().unwrap_or_default()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    /// Whom the link signs in (an admin's choice; default the caller).
    #[serde(default)]
    person: Option<String>,
}

/// `POST /api/login-links` `{"person"?}`: a one-time sign-in link for the
/// caller (an admin may name another person of `[access.people]`).
pub async fn login_link<K: KeyValue, H, C: Clock, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    request: &WebRequest<'_>,
) -> Reply {
    let actor = match authenticate(deps, request.headers).await {
        Ok(actor) => actor,
        Err(reply) => return reply,
    };
    let body: LinkBody = match json_body(request.body) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let access = &deps.config.access;
    let person = body.person.unwrap_or_else(|| actor.person.clone());
    if person != actor.person && !access.allows(&actor.person, Role::Admin, "*", None) {
        return Reply::error(
            403,
            format!(
                "only an admin may ask for another person's sign-in link; {} is not one",
                actor.person
            ),
        );
    }
    if !access.people.contains_key(&person) {
        return Reply::error(
            400,
            format!("{person:?} is not a person of [access.people]; only people sign in"),
        );
    }
    let key = match session_key(deps).await {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    let now = deps.clock.now_ms();
    match Sessions::new(deps.kv, &key)
        .issue_login(&deps.config.public_url, &person, &actor.identity, now)
        .await
    {
        Ok(link) => Reply::new(
            201,
            json!({ "person": person, "url": link.url, "expires_at_ms": link.expires_at_ms }),
        ),
        Err(e) => Reply::error(503, e.to_string()),
    }
}

/// The `Set-Cookie` value of a new session.
fn session_cookie_header(value: &str) -> String {
    format!(
        "{COOKIE_NAME}={value}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=Strict",
        SESSION_TTL_MS / 1000
    )
}

/// The `Set-Cookie` value that removes the session cookie.
fn clear_cookie() -> String {
    format!("{COOKIE_NAME}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict")
}

/// A `303 See Other` to `location`.
fn see_other(location: &str, body: serde_json::Value) -> Reply {
    Reply::new(303, body).with_header("location", location)
}

/// Whether a form post comes from a page of this site: another site's form
/// could otherwise sign a visitor in as the attacker (login CSRF).
/// Browsers say where a request comes from in `Sec-Fetch-Site`; those
/// that do not send it are judged by `Origin` (which is `null` from our
/// own pages, sent with `Referrer-Policy: no-referrer`, so `null` is
/// refused only when there is no `Sec-Fetch-Site` to go by). Clients that
/// send neither (curl, tests) are not browsers carrying someone's cookies.
pub fn same_site_form(headers: &crate::providers::Headers) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site == "same-origin" || site == "none";
    }
    match (headers.get("origin"), headers.get("host")) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// `POST /login` with form field `code`: the link's code, once, for a
/// session cookie; then back to the overview (or to the sign-in page with
/// the reason).
pub async fn login<K: KeyValue, H, C: Clock, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    request: &WebRequest<'_>,
) -> Reply {
    if !same_site_form(request.headers) {
        return Reply::error(
            403,
            "sign-in forms are accepted only from this site's own page",
        );
    }
    let from = source(request.headers);
    let now = deps.clock.now_ms();
    let throttle = AuthFailures::new(deps.kv);
    if let Ok(Some(retry_after_s)) = throttle.blocked(&from, now).await {
        return Reply::new(
            429,
            json!({
                "error": "too many failed attempts from this address; try again later",
                "retry_after_s": retry_after_s,
            }),
        );
    }
    let code = url::form_urlencoded::parse(request.body)
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if code.is_empty() {
        return see_other(
            "/login?error=missing",
            json!({ "error": "the form has no sign-in code" }),
        );
    }
    let key = match session_key(deps).await {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    match Sessions::new(deps.kv, &key).redeem(&code, now).await {
        Ok(claims) => see_other("/", json!({ "signed_in": claims.person }))
            .with_header("set-cookie", session_cookie_header(&claims.seal(&key))),
        Err(SessionError::Kv(e)) => Reply::error(503, e.to_string()),
        Err(e) => {
            let _ = throttle.record(&from, now).await;
            let reason = match e {
                SessionError::UsedCode => "used",
                SessionError::ExpiredCode => "expired",
                _ => "unknown",
            };
            see_other(
                &format!("/login?error={reason}"),
                json!({ "error": e.to_string() }),
            )
        }
    }
}

/// `POST /logout` (with the CSRF token): ends the session, so its cookie
/// stops working even if it was copied.
pub async fn logout<K: KeyValue, H, C: Clock, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    request: &WebRequest<'_>,
) -> Reply {
    let Some(cookie) = session_cookie(request.headers) else {
        return Reply::new(200, json!({ "signed_out": false }))
            .with_header("set-cookie", clear_cookie());
    };
    let now = deps.clock.now_ms();
    let (claims, key) = match csrf_checked_session(deps, request.headers, cookie, now).await {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    match Sessions::new(deps.kv, &key).end(&claims.session).await {
        Ok(()) => {
            Reply::new(200, json!({ "signed_out": true })).with_header("set-cookie", clear_cookie())
        }
        Err(e) => Reply::error(503, e.to_string()),
    }
}
