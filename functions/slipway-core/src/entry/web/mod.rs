//! The stage view's own routes (the `web` component; its pages are static
//! files that read these):
//! - `GET /api/session`: who is signed in, and the session's CSRF token;
//! - `POST /api/login-links`: an API token's owner asks for a sign-in link;
//! - `POST /login` (form `code`): exchanges a sign-in link's code for a
//!   session cookie; `POST /logout` ends the session;
//! - `GET /api/apps`: every app the caller may read, with the newest run
//!   of each branch and each environment's live release and lock;
//! - `GET /api/apps/{app}/runs?branch=&status=&cursor=&limit=`: run
//!   summaries newest first, with the stage matrix's columns and averages;
//! - `GET /api/apps/{app}/environments/{env}?cursor=&limit=`: the live
//!   release, the deployment in flight, the lock and the release history;
//! - `GET /api/waiting`: approvals, promotes and retries the signed-in
//!   person may do now.
//!
//! Lists are cursor-paginated and read only the per-app indexes, never
//! every record ([`crate::runs::index`]).

mod apps;
mod environments;
pub(crate) mod signin;
mod viewer;
mod waiting;

use std::collections::BTreeMap;

pub use viewer::Viewer;

use super::Reply;
use crate::engine::Deps;
use crate::ports::{Clock, KeyValue, Secrets};
use crate::providers::Headers;

/// Most items one list request returns.
pub const MAX_LIMIT: usize = 100;
/// Items a list returns unless asked.
pub const DEFAULT_LIMIT: usize = 25;

/// A request to the stage view's routes.
#[derive(Debug, Clone, Copy)]
pub struct WebRequest<'a> {
    /// Method.
    pub method: &'a str,
    /// Path.
    pub path: &'a str,
    /// Query string (without `?`).
    pub query: &'a str,
    /// Headers (lowercase names).
    pub headers: &'a Headers,
    /// Body.
    pub body: &'a [u8],
}

impl WebRequest<'_> {
    /// The query's parameters (the last of each name wins).
    pub fn params(&self) -> BTreeMap<String, String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }
}

/// `limit` from the query: [`DEFAULT_LIMIT`] when absent, 400 when not a
/// number from 1 to [`MAX_LIMIT`].
pub fn limit(params: &BTreeMap<String, String>) -> Result<usize, Reply> {
    match params.get("limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| Reply::error(400, format!("limit must be 1 to {MAX_LIMIT}"))),
    }
}

/// `cursor` from the query as a number, 400 when it is not one.
pub fn cursor(params: &BTreeMap<String, String>) -> Result<Option<u64>, Reply> {
    match params.get("cursor") {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => v
            .parse::<u64>()
            .map(Some)
            .map_err(|_| Reply::error(400, "cursor must be a value a previous page returned")),
    }
}

/// Handles a request to one of the stage view's routes.
pub async fn handle<K, H, C, S>(deps: &Deps<'_, K, H, C, S>, request: &WebRequest<'_>) -> Reply
where
    K: KeyValue,
    C: Clock,
    S: Secrets,
{
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    match (request.method, segments.as_slice()) {
        ("GET", ["api", "session"]) => signin::session(deps, request).await,
        ("POST", ["api", "login-links"]) => signin::login_link(deps, request).await,
        ("POST", ["login"]) => signin::login(deps, request).await,
        ("POST", ["logout"]) => signin::logout(deps, request).await,
        ("GET", ["api", "apps"]) => apps::list_apps(deps, request).await,
        ("GET", ["api", "apps", app, "runs"]) => apps::list_runs(deps, request, app).await,
        ("GET", ["api", "apps", app, "environments", env]) => {
            environments::environment(deps, request, app, env).await
        }
        ("GET", ["api", "waiting"]) => waiting::waiting(deps, request).await,
        (
            _,
            ["api", "session"]
            | ["api", "login-links"]
            | ["login"]
            | ["logout"]
            | ["api", "apps"]
            | ["api", "apps", _, "runs"]
            | ["api", "apps", _, "environments", _]
            | ["api", "waiting"],
        ) => Reply::error(405, "method not allowed"),
        _ => Reply::error(404, format!("no route {} {}", request.method, request.path)),
    }
}

#[cfg(test)]
mod tests;
