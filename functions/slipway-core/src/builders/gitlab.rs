//! GitLab CI: the pipeline trigger API and the pipelines API.
//!
//! The pipeline sees the stage's params and the `SLIPWAY_*` values as CI
//! variables; `CI_PIPELINE_SOURCE` is `trigger`. The stage's job name is
//! not used: a trigger always runs the project's pipeline for the ref.

use super::config::GitlabCiConfig;
use super::error::BuildError;
use super::status::BuildState;
use super::trigger::{self, BuildJob, TriggerResult};
use super::util;
use crate::ports::{HttpRequest, HttpResponse};

const KIND: &str = "gitlab_ci";

/// `POST {api_base}/projects/{project}/trigger/pipeline` with JSON
/// `{"token", "ref", "variables"}`.
pub(super) fn trigger_request(
    config: &GitlabCiConfig,
    job: &BuildJob,
    secret: Option<&str>,
) -> Result<HttpRequest, BuildError> {
    let token = util::require_secret(KIND, &config.token_secret, secret)?;
    let base = util::parse_base(KIND, &config.api_base)?;
    let project = project(config)?;
    let definition_ref = job.definition_ref();
    let short_ref = util::short_ref(KIND, &definition_ref)?;
    trigger::check_params(KIND, job.params, trigger::is_slipway_variable)?;
    let url = util::with_segments(KIND, &base, &["projects", project, "trigger", "pipeline"])?;
    let mut variables = serde_json::Map::new();
    for (key, value) in job.params {
        variables.insert(key.clone(), serde_json::Value::String(value.clone()));
    }
    for (key, value) in trigger::slipway_variables(job) {
        variables.insert(key.to_owned(), serde_json::Value::String(value));
    }
    let body = serde_json::json!({
        "token": token,
        "ref": short_ref,
        "variables": variables,
    });
    Ok(HttpRequest::new("POST", url.as_str())
        .header("user-agent", "slipway")
        .json(&body))
}

fn project(config: &GitlabCiConfig) -> Result<&str, BuildError> {
    let project = config.project.trim().trim_matches('/');
    if project.is_empty() {
        return Err(BuildError::Config {
            service: KIND,
            reason: "`project` must not be empty".to_owned(),
        });
    }
    Ok(project)
}

/// `201` with the pipeline: external id = `id`, url = `web_url`.
pub(super) fn started(response: &HttpResponse) -> TriggerResult {
    let pipeline: Option<serde_json::Value> = serde_json::from_slice(&response.body).ok();
    let field = |name: &str| pipeline.as_ref().and_then(|p| p.get(name));
    TriggerResult::Started {
        external_id: util::id_text(field("id")),
        url: field("web_url").and_then(|u| u.as_str()).map(str::to_owned),
        follow: None,
    }
}

/// `GET {api_base}/projects/{project}/pipelines/{id}` with `PRIVATE-TOKEN`
/// (the secret named by `api_token_secret`; a trigger token cannot read
/// pipelines).
pub(super) fn status_request(
    config: &GitlabCiConfig,
    external_id: &str,
    secret: Option<&str>,
) -> Result<HttpRequest, BuildError> {
    let Some(secret_name) = config.api_token_secret.as_deref() else {
        return Err(BuildError::Unsupported {
            service: KIND,
            reason: "polling pipelines needs `api_token_secret` (a trigger token cannot read \
                     them)"
                .to_owned(),
        });
    };
    let token = util::require_secret(KIND, secret_name, secret)?;
    if external_id.is_empty() || !external_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BuildError::Unsupported {
            service: KIND,
            reason: format!("`{external_id}` is not a pipeline id"),
        });
    }
    let base = util::parse_base(KIND, &config.api_base)?;
    let url = util::with_segments(
        KIND,
        &base,
        &["projects", project(config)?, "pipelines", external_id],
    )?;
    Ok(HttpRequest::new("GET", url.as_str())
        .header("private-token", token)
        .header("accept", "application/json")
        .header("user-agent", "slipway"))
}

/// A pipeline's `status`: `success` succeeds; `failed` fails; `canceled`
/// (and `canceling`) is cancelled; `skipped` fails (nothing ran); every
/// other status (`created`, `pending`, `running`, `manual`, …) is running.
pub(super) fn interpret_status(json: &serde_json::Value) -> Result<BuildState, BuildError> {
    let status =
        json.get("status")
            .and_then(|s| s.as_str())
            .ok_or_else(|| BuildError::InvalidResponse {
                service: KIND,
                reason: "no `status` in the pipeline".to_owned(),
            })?;
    Ok(match status {
        "success" => BuildState::Succeeded,
        "failed" => BuildState::Failed("pipeline failed".to_owned()),
        "canceled" | "canceling" | "cancelled" => BuildState::Cancelled,
        "skipped" => BuildState::Failed("pipeline was skipped".to_owned()),
        _ => BuildState::Running,
    })
}
