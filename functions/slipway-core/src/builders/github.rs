//! GitHub Actions: `workflow_dispatch` and the workflow runs API.
//!
//! The workflow receives Slipway's identity as ONE input, `slipway`, holding
//! compact JSON (`run`, `stage`, `attempt`, `repo`, `ref`, `commit`,
//! `source_repo`, `source_ref`, `callback_url`, `callback_token`; read it with
//! `fromJSON(inputs.slipway)`), plus one input per stage param. It must
//! declare those inputs under `on: workflow_dispatch`.

use url::Url;

use super::config::GithubActionsConfig;
use super::error::BuildError;
use super::status::BuildState;
use super::trigger::{self, BuildJob, TriggerResult};
use super::util;
use crate::ports::{HttpRequest, HttpResponse};

const KIND: &str = "github_actions";

/// Most inputs a `workflow_dispatch` accepts, per GitHub's documentation.
pub const GITHUB_INPUT_LIMIT: usize = 10;

/// The name of the input carrying Slipway's identity JSON.
pub const SLIPWAY_INPUT: &str = "slipway";

/// `POST {api}/repos/{o}/{r}/actions/workflows/{file}/dispatches`.
pub(super) fn trigger_request(
    config: &GithubActionsConfig,
    job: &BuildJob,
    secret: Option<&str>,
) -> Result<HttpRequest, BuildError> {
    let token = util::require_secret(KIND, &config.token_secret, secret)?;
    let base = util::parse_base(KIND, &config.api_base)?;
    let (owner, name) = util::split_repo(KIND, config.repo.as_deref().unwrap_or(job.repo))?;
    let workflow = job.job.trim();
    if workflow.is_empty() {
        return Err(BuildError::InvalidJob {
            service: KIND,
            reason: "no workflow file given".to_owned(),
        });
    }
    let definition_ref = job.definition_ref();
    let short_ref = util::short_ref(KIND, &definition_ref)?;
    trigger::check_params(KIND, job.params, |n| n.eq_ignore_ascii_case(SLIPWAY_INPUT))?;
    let count = job.params.len() + 1;
    if count > GITHUB_INPUT_LIMIT {
        return Err(BuildError::TooManyInputs {
            count,
            limit: GITHUB_INPUT_LIMIT,
        });
    }
    let url = util::with_segments(
        KIND,
        &base,
        &[
            "repos",
            owner,
            name,
            "actions",
            "workflows",
            workflow,
            "dispatches",
        ],
    )?;
    let identity = serde_json::json!({
        "run": job.run_id,
        "stage": job.stage,
        "attempt": job.attempt,
        "repo": job.repo,
        "ref": job.git_ref,
        "commit": job.commit,
        "source_repo": job.source_repo,
        "source_ref": job.source_ref,
        "callback_url": job.callback_url,
        "callback_token": job.callback_token,
    });
    let mut inputs = serde_json::Map::new();
    for (key, value) in job.params {
        inputs.insert(key.clone(), serde_json::Value::String(value.clone()));
    }
    inputs.insert(
        SLIPWAY_INPUT.to_owned(),
        serde_json::Value::String(identity.to_string()),
    );
    let mut body = serde_json::json!({ "ref": short_ref, "inputs": inputs });
    if config.return_run_details {
        body["return_run_details"] = serde_json::Value::Bool(true);
    }
    Ok(with_headers(HttpRequest::new("POST", url.as_str()), token).json(&body))
}

/// Adds GitHub's REST headers.
fn with_headers(request: HttpRequest, token: &str) -> HttpRequest {
    request
        .header("authorization", format!("Bearer {token}"))
        .header("accept", "application/vnd.github+json")
        .header("x-github-api-version", "2022-11-28")
        .header("user-agent", "slipway")
}

/// `204` (no run details) or `200` with `workflow_run_id`, `run_url`,
/// `html_url`. The external id is the run's API URL.
pub(super) fn started(
    config: &GithubActionsConfig,
    job: &BuildJob,
    response: &HttpResponse,
) -> TriggerResult {
    let details: Option<serde_json::Value> = if response.status == 204 {
        None
    } else {
        serde_json::from_slice(&response.body).ok()
    };
    let Some(details) = details else {
        return TriggerResult::Started {
            external_id: None,
            url: None,
            follow: None,
        };
    };
    let run_id = util::id_text(details.get("workflow_run_id"));
    let base = util::parse_base(KIND, &config.api_base).ok();
    let given = details
        .get("run_url")
        .and_then(|u| u.as_str())
        .and_then(|u| Url::parse(u).ok())
        .filter(|u| base.as_ref().is_some_and(|b| util::same_origin(b, u)));
    let built = || -> Option<Url> {
        let (owner, name) =
            util::split_repo(KIND, config.repo.as_deref().unwrap_or(job.repo)).ok()?;
        let id = run_id.as_deref()?;
        util::with_segments(
            KIND,
            base.as_ref()?,
            &["repos", owner, name, "actions", "runs", id],
        )
        .ok()
    };
    let external_id = given
        .or_else(built)
        .map(|u| u.to_string())
        .or_else(|| run_id.clone());
    let url = details
        .get("html_url")
        .and_then(|u| u.as_str())
        .map(str::to_owned);
    TriggerResult::Started {
        external_id,
        url,
        follow: None,
    }
}

/// Whether a 403/429 is GitHub's rate limit rather than a refusal.
pub(super) fn is_rate_limited(response: &HttpResponse) -> bool {
    matches!(response.status, 403 | 429)
        && (response.header("x-ratelimit-remaining") == Some("0")
            || response.header("retry-after").is_some())
}

/// `GET` the run: `external_id` is its API URL, or a bare run id when the
/// service has a configured `repo`.
pub(super) fn status_request(
    config: &GithubActionsConfig,
    external_id: &str,
    secret: Option<&str>,
) -> Result<HttpRequest, BuildError> {
    let token = util::require_secret(KIND, &config.token_secret, secret)?;
    let base = util::parse_base(KIND, &config.api_base)?;
    let url = if let Ok(url) = Url::parse(external_id) {
        if !util::same_origin(&base, &url) {
            return Err(BuildError::Unsupported {
                service: KIND,
                reason: format!("`{external_id}` is not on the configured api_base"),
            });
        }
        url
    } else if !external_id.is_empty() && external_id.bytes().all(|b| b.is_ascii_digit()) {
        let Some(repo) = config.repo.as_deref() else {
            return Err(BuildError::Unsupported {
                service: KIND,
                reason: "a bare run id can be polled only when `repo` is configured".to_owned(),
            });
        };
        let (owner, name) = util::split_repo(KIND, repo)?;
        util::with_segments(
            KIND,
            &base,
            &["repos", owner, name, "actions", "runs", external_id],
        )?
    } else {
        return Err(BuildError::Unsupported {
            service: KIND,
            reason: format!("`{external_id}` is neither a run URL nor a run id"),
        });
    };
    Ok(with_headers(HttpRequest::new("GET", url.as_str()), token))
}

/// A workflow run: finished when `status` is `completed`; `success` and
/// `neutral` succeed, `cancelled` is cancelled, anything else (including
/// `skipped`: nothing was built) fails.
pub(super) fn interpret_status(json: &serde_json::Value) -> Result<BuildState, BuildError> {
    let status =
        json.get("status")
            .and_then(|s| s.as_str())
            .ok_or_else(|| BuildError::InvalidResponse {
                service: KIND,
                reason: "no `status` in the workflow run".to_owned(),
            })?;
    if status != "completed" {
        return Ok(BuildState::Running);
    }
    Ok(match json.get("conclusion").and_then(|c| c.as_str()) {
        Some("success") | Some("neutral") => BuildState::Succeeded,
        Some("cancelled") => BuildState::Cancelled,
        Some(other) => BuildState::Failed(format!(
            "workflow run concluded {}",
            util::truncate_chars(other, 40)
        )),
        None => BuildState::Failed("workflow run completed without a conclusion".to_owned()),
    })
}
