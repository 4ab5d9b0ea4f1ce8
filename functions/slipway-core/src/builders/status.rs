//! Polling a build that has not called back in time.

use serde::{Deserialize, Serialize};

use super::config::BuildServiceConfig;
use super::error::BuildError;
use super::{github, gitlab, jenkins, tekton, util, webhook};
use crate::ports::{HttpRequest, HttpResponse};

/// Where a remote build stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildState {
    /// Queued or running.
    Running,
    /// Finished successfully.
    Succeeded,
    /// Finished unsuccessfully, with a short reason.
    Failed(String),
    /// Cancelled or aborted.
    Cancelled,
}

impl BuildState {
    /// Whether the build has finished.
    pub fn is_finished(&self) -> bool {
        !matches!(self, BuildState::Running)
    }
}

/// The request that reads the state of the build `external_id` (as returned
/// in [`TriggerResult::Started`](super::trigger::TriggerResult::Started)).
/// `secret` is the value of
/// [`status_token_secret`](BuildServiceConfig::status_token_secret).
///
/// - Jenkins: `GET {queue item or build URL}api/json`.
/// - GitHub Actions: `GET` the run API URL (or `…/actions/runs/{id}` when
///   `repo` is configured).
/// - GitLab: `GET {api_base}/projects/{project}/pipelines/{id}`.
/// - Tekton: `GET …/namespaces/{ns}/pipelineruns/{name}`.
/// - http: `GET {status URL}`.
pub fn status_request(
    service: &BuildServiceConfig,
    external_id: &str,
    secret: Option<&str>,
) -> Result<HttpRequest, BuildError> {
    let external_id = external_id.trim();
    match service {
        BuildServiceConfig::Jenkins(c) => jenkins::status_request(c, external_id, secret),
        BuildServiceConfig::GithubActions(c) => github::status_request(c, external_id, secret),
        BuildServiceConfig::GitlabCi(c) => gitlab::status_request(c, external_id, secret),
        BuildServiceConfig::Tekton(c) => tekton::status_request(c, external_id, secret),
        BuildServiceConfig::Http(c) => webhook::status_request(c, external_id, secret),
    }
}

/// What the answer to [`status_request`] says. A non-2xx answer is
/// [`BuildError::Status`] (see [`BuildError::is_retryable`]).
///
/// Jenkins: `building` → running; `result` `SUCCESS` → succeeded, `ABORTED`
/// → cancelled, `UNSTABLE`/`FAILURE`/`NOT_BUILT` → failed; a queue item is
/// running until started, or cancelled. GitHub: `completed` with
/// `success`/`neutral` → succeeded, `cancelled` → cancelled, other
/// conclusions → failed. GitLab: `success`, `failed`, `canceled`,
/// `skipped` (failed), else running. Tekton: the `Succeeded` condition.
pub fn interpret_status(
    service: &BuildServiceConfig,
    response: &HttpResponse,
) -> Result<BuildState, BuildError> {
    let kind = service.kind();
    if !response.is_success() {
        return Err(util::status_error(kind, response, &[]));
    }
    let json = util::json_body(kind, response)?;
    if !json.is_object() {
        return Err(BuildError::InvalidResponse {
            service: kind,
            reason: "the body is not a JSON object".to_owned(),
        });
    }
    match service {
        BuildServiceConfig::Jenkins(c) => jenkins::interpret_status(c, &json),
        BuildServiceConfig::GithubActions(_) => github::interpret_status(&json),
        BuildServiceConfig::GitlabCi(_) => gitlab::interpret_status(&json),
        BuildServiceConfig::Tekton(_) => tekton::interpret_status(&json),
        BuildServiceConfig::Http(_) => webhook::interpret_status(&json),
    }
}
