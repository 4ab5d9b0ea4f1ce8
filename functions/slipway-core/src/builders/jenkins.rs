//! Jenkins: `buildWithParameters` with an API token, build `api/json`.
//!
//! The job must be parameterized and declare the `SLIPWAY_*` string
//! parameters it uses: Jenkins ignores parameters a job does not declare.

use super::config::JenkinsConfig;
use super::error::BuildError;
use super::follow::{self, QueueState};
use super::status::BuildState;
use super::trigger::{self, BuildJob, TriggerResult};
use super::util;
use crate::ports::{HttpRequest, HttpResponse};

const KIND: &str = "jenkins";

/// Fields of a build's `api/json` that status polling reads.
const BUILD_TREE: &str = "number,result,building,url,duration";

/// `POST {url}/job/a/job/b/buildWithParameters?delay=0sec` with the
/// stage's params and the `SLIPWAY_*` values as a form body.
pub(super) fn trigger_request(
    config: &JenkinsConfig,
    job: &BuildJob,
    secret: Option<&str>,
) -> Result<HttpRequest, BuildError> {
    let token = util::require_secret(KIND, &config.token_secret, secret)?;
    let base = util::parse_base(KIND, &config.url)?;
    let mut segments = Vec::new();
    for name in job_names(job.job)? {
        segments.push("job");
        segments.push(name);
    }
    segments.push("buildWithParameters");
    let mut url = util::with_segments(KIND, &base, &segments)?;
    url.query_pairs_mut().append_pair("delay", "0sec");

    trigger::check_params(KIND, job.params, trigger::is_slipway_variable)?;
    let slipway = trigger::slipway_variables(job);
    let form: Vec<(&str, &str)> = job
        .params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(slipway.iter().map(|(k, v)| (*k, v.as_str())))
        .collect();
    let body = serde_urlencoded::to_string(&form).map_err(|e| BuildError::InvalidJob {
        service: KIND,
        reason: format!("cannot encode parameters: {e}"),
    })?;
    Ok(HttpRequest::new("POST", url.as_str())
        .header("authorization", util::basic_auth(&config.user, token))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("user-agent", "slipway")
        .body(body))
}

/// `folder/name` → `["folder", "name"]`.
fn job_names(job: &str) -> Result<Vec<&str>, BuildError> {
    let trimmed = job.trim().trim_matches('/');
    if trimmed.is_empty() {
        return Err(BuildError::InvalidJob {
            service: KIND,
            reason: "no Jenkins job given".to_owned(),
        });
    }
    let names: Vec<&str> = trimmed.split('/').collect();
    if names
        .iter()
        .any(|n| n.is_empty() || *n == "." || *n == "..")
    {
        return Err(BuildError::InvalidJob {
            service: KIND,
            reason: format!("`{job}` is not a job path of the form folder/name"),
        });
    }
    Ok(names)
}

/// A 2xx answer: `201` with `Location` of the queue item, to be followed.
pub(super) fn started(
    config: &JenkinsConfig,
    response: &HttpResponse,
    secret: Option<&str>,
) -> TriggerResult {
    let queue = response
        .header("location")
        .filter(|l| l.contains("/queue/item/"))
        .and_then(|l| follow::rebase(config, l).ok());
    match queue {
        Some(queue_url) => {
            let follow = follow::api_get(config, &queue_url, None, secret).ok();
            TriggerResult::Started {
                external_id: Some(queue_url.to_string()),
                url: None,
                follow,
            }
        }
        None => TriggerResult::Started {
            external_id: None,
            url: None,
            follow: None,
        },
    }
}

/// `GET {external_id}api/json` for a queue item or a build URL.
pub(super) fn status_request(
    config: &JenkinsConfig,
    external_id: &str,
    secret: Option<&str>,
) -> Result<HttpRequest, BuildError> {
    if !external_id.contains("/job/") && !external_id.contains("/queue/item/") {
        return Err(BuildError::Unsupported {
            service: KIND,
            reason: format!("`{external_id}` is not a Jenkins build or queue item URL"),
        });
    }
    let url = follow::rebase(config, external_id)?;
    let tree = (!url.path().contains("/queue/item/")).then_some(BUILD_TREE);
    follow::api_get(config, &url, tree, secret)
}

/// Reads a build's (or a queue item's) `api/json`.
pub(super) fn interpret_status(
    config: &JenkinsConfig,
    json: &serde_json::Value,
) -> Result<BuildState, BuildError> {
    if follow::is_queue_item(json) {
        return Ok(match follow::queue_state(config, json)? {
            QueueState::Cancelled => BuildState::Cancelled,
            QueueState::Waiting { .. } | QueueState::Started { .. } => BuildState::Running,
        });
    }
    let building = json.get("building").and_then(|b| b.as_bool());
    let result = json.get("result").and_then(|r| r.as_str());
    let build = json
        .get("number")
        .and_then(|n| n.as_u64())
        .map(|n| format!("build #{n}"))
        .unwrap_or_else(|| "build".to_owned());
    if building == Some(true) {
        return Ok(BuildState::Running);
    }
    match result {
        None if json.get("building").is_none() && json.get("result").is_none() => {
            Err(BuildError::InvalidResponse {
                service: KIND,
                reason: "neither `building` nor `result` in the build JSON".to_owned(),
            })
        }
        // `result` stays null until the build has finished.
        None => Ok(BuildState::Running),
        Some("SUCCESS") => Ok(BuildState::Succeeded),
        Some("ABORTED") => Ok(BuildState::Cancelled),
        Some("UNSTABLE") => Ok(BuildState::Failed(format!("{build} is unstable"))),
        Some("NOT_BUILT") => Ok(BuildState::Failed(format!("{build} was not built"))),
        Some("FAILURE") => Ok(BuildState::Failed(format!("{build} failed"))),
        Some(other) => Ok(BuildState::Failed(format!(
            "{build} ended with {}",
            util::truncate_chars(other, 40)
        ))),
    }
}
