//! `type = "http"`: Slipway's own minimal protocol for any HTTP endpoint.
//!
//! Trigger: `{method} {url}[/{job}]` with `Authorization: Bearer {secret}`
//! when a secret is configured and the JSON body
//! `{run, stage, attempt, repo, ref, commit, clone_url, source_repo,
//! source_ref, source_clone_url, params, callback: {url, token}}` (the
//! `source_*` fields name the fork for a merge request from one, else
//! `repo`, `ref` and `clone_url`). Any 2xx starts the build; the service may
//! answer `{"id": "…", "url": "…"}` where `url` is an absolute URL Slipway
//! can poll.
//!
//! Status: `GET {url}` answers `{"status": "running" | "succeeded" |
//! "failed" | "cancelled", "message": "…"}`. The bearer token is sent only
//! if that URL is on the configured URL's origin.

use url::Url;

use super::config::HttpServiceConfig;
use super::error::BuildError;
use super::status::BuildState;
use super::trigger::{BuildJob, TriggerResult};
use super::util;
use crate::ports::{HttpRequest, HttpResponse};

const KIND: &str = "http";

/// The trigger request.
pub(super) fn trigger_request(
    config: &HttpServiceConfig,
    job: &BuildJob,
    secret: Option<&str>,
) -> Result<HttpRequest, BuildError> {
    let method = util::http_method(config.method.as_deref())?;
    let base = util::parse_base(KIND, &config.url)?;
    let path = job.job.trim().trim_start_matches('/');
    let url = if path.is_empty() {
        base
    } else {
        let joined = format!("{}/{path}", config.url.trim().trim_end_matches('/'));
        let url = util::parse_base(KIND, &joined)?;
        if !util::same_origin(&base, &url) {
            return Err(BuildError::InvalidJob {
                service: KIND,
                reason: format!("job path `{path}` leaves the configured URL"),
            });
        }
        url
    };
    let body = serde_json::json!({
        "run": job.run_id,
        "stage": job.stage,
        "attempt": job.attempt,
        "repo": job.repo,
        "ref": job.git_ref,
        "commit": job.commit,
        "clone_url": job.clone_url,
        "source_repo": job.source_repo,
        "source_ref": job.source_ref,
        "source_clone_url": job.source_clone_url,
        "params": job.params,
        "callback": { "url": job.callback_url, "token": job.callback_token },
    });
    let mut request = HttpRequest::new(&method, url.as_str())
        .header("accept", "application/json")
        .header("user-agent", "slipway");
    if let Some(name) = &config.token_secret {
        let token = util::require_secret(KIND, name, secret)?;
        request = request.header("authorization", format!("Bearer {token}"));
    }
    Ok(request.json(&body))
}

/// Any 2xx: `id` and `url` from an optional JSON body. The external id is
/// the status URL when given, else the id.
pub(super) fn started(config: &HttpServiceConfig, response: &HttpResponse) -> TriggerResult {
    let body: Option<serde_json::Value> = serde_json::from_slice(&response.body).ok();
    let id = util::id_text(body.as_ref().and_then(|b| b.get("id")));
    let base = util::parse_base(KIND, &config.url).ok();
    let url = body
        .as_ref()
        .and_then(|b| b.get("url"))
        .and_then(|u| u.as_str())
        .and_then(|u| match &base {
            Some(base) => base.join(u).ok(),
            None => Url::parse(u).ok(),
        })
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| u.to_string());
    TriggerResult::Started {
        external_id: url.clone().or(id),
        url,
        follow: None,
    }
}

/// `GET {external_id}`; `external_id` must be an absolute http(s) URL.
pub(super) fn status_request(
    config: &HttpServiceConfig,
    external_id: &str,
    secret: Option<&str>,
) -> Result<HttpRequest, BuildError> {
    let url = match Url::parse(external_id) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => url,
        _ => {
            return Err(BuildError::Unsupported {
                service: KIND,
                reason: format!(
                    "`{external_id}` is not a status URL; the service must answer the trigger \
                     with {{\"url\": …}} to be polled"
                ),
            });
        }
    };
    let base = util::parse_base(KIND, &config.url)?;
    let mut request = HttpRequest::new("GET", url.as_str())
        .header("accept", "application/json")
        .header("user-agent", "slipway");
    if let Some(name) = &config.token_secret
        && util::same_origin(&base, &url)
    {
        let token = util::require_secret(KIND, name, secret)?;
        request = request.header("authorization", format!("Bearer {token}"));
    }
    Ok(request)
}

/// `{"status": "running" | "succeeded" | "failed" | "cancelled"}`
/// (also `queued`/`pending`, `success`/`failure`, `canceled`).
pub(super) fn interpret_status(json: &serde_json::Value) -> Result<BuildState, BuildError> {
    let status = json.get("status").and_then(|s| s.as_str()).unwrap_or("");
    let message = json
        .get("message")
        .and_then(|m| m.as_str())
        .filter(|m| !m.trim().is_empty())
        .map(|m| util::truncate_chars(m.trim(), 300));
    match status.to_ascii_lowercase().as_str() {
        "running" | "queued" | "pending" => Ok(BuildState::Running),
        "succeeded" | "success" => Ok(BuildState::Succeeded),
        "failed" | "failure" => Ok(BuildState::Failed(
            message.unwrap_or_else(|| "build failed".to_owned()),
        )),
        "cancelled" | "canceled" => Ok(BuildState::Cancelled),
        _ => Err(BuildError::InvalidResponse {
            service: KIND,
            reason: format!(
                "`status` must be running, succeeded, failed or cancelled, not `{}`",
                util::truncate_chars(status, 40)
            ),
        }),
    }
}
