//! Tekton: a `tekton.dev/v1` PipelineRun created through the Kubernetes API.
//!
//! The PipelineRun passes the params `revision` (commit), `repo-url` (clone
//! URL of the repository the change comes from, when known: a fork's for a
//! merge request from a fork), `git-ref` (full ref), `slipway-run`,
//! `slipway-stage`, `slipway-attempt`, `slipway-repo`,
//! `slipway-source-repo`, `slipway-source-ref`, `slipway-callback-url`,
//! `slipway-callback-token`, then the stage's params. Tekton accepts params
//! a Pipeline does not declare, so a Pipeline declares only those it uses.

use super::config::TektonConfig;
use super::error::BuildError;
use super::status::BuildState;
use super::trigger::{self, BuildJob, TriggerResult};
use super::util;
use crate::ports::{HttpRequest, HttpResponse};

const KIND: &str = "tekton";

/// Param names Slipway sets itself.
const RESERVED_PARAMS: [&str; 11] = [
    "revision",
    "repo-url",
    "git-ref",
    "slipway-run",
    "slipway-stage",
    "slipway-attempt",
    "slipway-repo",
    "slipway-source-repo",
    "slipway-source-ref",
    "slipway-callback-url",
    "slipway-callback-token",
];

/// Longest `generateName`: Kubernetes appends 5 characters and Tekton uses
/// the name as a label value (63 characters at most).
const GENERATE_NAME_MAX: usize = 57;

/// `POST {api_server}/apis/tekton.dev/v1/namespaces/{ns}/pipelineruns`.
pub(super) fn trigger_request(
    config: &TektonConfig,
    job: &BuildJob,
    secret: Option<&str>,
) -> Result<HttpRequest, BuildError> {
    let token = util::require_secret(KIND, &config.token_secret, secret)?;
    let pipeline = job.job.trim();
    if pipeline.is_empty() {
        return Err(BuildError::InvalidJob {
            service: KIND,
            reason: "no Pipeline name given".to_owned(),
        });
    }
    trigger::check_params(KIND, job.params, |n| RESERVED_PARAMS.contains(&n))?;
    let url = collection_url(config)?;

    let mut params = vec![param("revision", job.commit)];
    // `revision` is fetched from `repo-url`: for a change from a fork,
    // only the fork is sure to have it.
    if let Some(clone_url) = job.source_clone_url.or(job.clone_url) {
        params.push(param("repo-url", clone_url));
    }
    params.push(param("git-ref", job.git_ref));
    params.push(param("slipway-run", job.run_id));
    params.push(param("slipway-stage", job.stage));
    params.push(param("slipway-attempt", &job.attempt.to_string()));
    params.push(param("slipway-repo", job.repo));
    params.push(param("slipway-source-repo", job.source_repo));
    params.push(param("slipway-source-ref", job.source_ref));
    params.push(param("slipway-callback-url", job.callback_url));
    params.push(param("slipway-callback-token", job.callback_token));
    params.extend(job.params.iter().map(|(k, v)| param(k, v)));

    let mut spec = serde_json::json!({
        "pipelineRef": { "name": pipeline },
        "params": params,
    });
    if let Some(account) = &config.service_account {
        spec["taskRunTemplate"] = serde_json::json!({ "serviceAccountName": account });
    }
    if let Some(storage) = &config.workspace_storage {
        spec["workspaces"] = serde_json::json!([{
            "name": config.workspace_name,
            "volumeClaimTemplate": { "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": { "requests": { "storage": storage } },
            }},
        }]);
    }
    let body = serde_json::json!({
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {
            "generateName": generate_name(job.stage),
            "labels": {
                "slipway.dev/run": label_value(job.run_id),
                "slipway.dev/stage": label_value(job.stage),
                "slipway.dev/attempt": job.attempt.to_string(),
            },
            "annotations": {
                "slipway.dev/run": job.run_id,
                "slipway.dev/stage": job.stage,
                "slipway.dev/commit": job.commit,
            },
        },
        "spec": spec,
    });
    Ok(with_headers(HttpRequest::new("POST", url.as_str()), token).json(&body))
}

fn param(name: &str, value: &str) -> serde_json::Value {
    serde_json::json!({ "name": name, "value": value })
}

fn with_headers(request: HttpRequest, token: &str) -> HttpRequest {
    request
        .header("authorization", format!("Bearer {token}"))
        .header("accept", "application/json")
        .header("user-agent", "slipway")
}

fn collection_url(config: &TektonConfig) -> Result<url::Url, BuildError> {
    if !util::is_dns_label(&config.namespace) {
        return Err(BuildError::Config {
            service: KIND,
            reason: format!(
                "namespace `{}` is not a valid Kubernetes name",
                config.namespace
            ),
        });
    }
    let base = util::parse_base(KIND, &config.api_server)?;
    util::with_segments(
        KIND,
        &base,
        &[
            "apis",
            "tekton.dev",
            "v1",
            "namespaces",
            &config.namespace,
            "pipelineruns",
        ],
    )
}

/// A valid Kubernetes label value: at most 63 of `[A-Za-z0-9_.-]`,
/// beginning and ending with an alphanumeric (or empty).
pub(crate) fn label_value(raw: &str) -> String {
    let mapped: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    mapped
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

/// `slipway-{stage}-`, lowercased and reduced to `[a-z0-9-]`.
pub(crate) fn generate_name(stage: &str) -> String {
    let mut slug = String::new();
    for c in stage.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let room = GENERATE_NAME_MAX - "slipway-".len() - 1;
    let slug: String = slug.chars().take(room).collect();
    let slug = slug.trim_matches('-');
    if slug.is_empty() {
        "slipway-".to_owned()
    } else {
        format!("slipway-{slug}-")
    }
}

/// `201` with the created PipelineRun: external id = `metadata.name`.
pub(super) fn started(response: &HttpResponse) -> TriggerResult {
    let run: Option<serde_json::Value> = serde_json::from_slice(&response.body).ok();
    let name = run
        .as_ref()
        .and_then(|r| r.pointer("/metadata/name"))
        .and_then(|n| n.as_str())
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    TriggerResult::Started {
        external_id: name,
        url: None,
        follow: None,
    }
}

/// `GET …/pipelineruns/{name}`.
pub(super) fn status_request(
    config: &TektonConfig,
    external_id: &str,
    secret: Option<&str>,
) -> Result<HttpRequest, BuildError> {
    let token = util::require_secret(KIND, &config.token_secret, secret)?;
    let valid = !external_id.is_empty()
        && external_id.len() <= 253
        && external_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && external_id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && external_id.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !valid {
        return Err(BuildError::Unsupported {
            service: KIND,
            reason: format!("`{external_id}` is not a PipelineRun name"),
        });
    }
    let mut url = collection_url(config)?;
    url.path_segments_mut()
        .map_err(|()| BuildError::Config {
            service: KIND,
            reason: "api_server cannot take a path".to_owned(),
        })?
        .push(external_id);
    Ok(with_headers(HttpRequest::new("GET", url.as_str()), token))
}

/// The `Succeeded` condition: `True` succeeds; `False` fails, or is
/// cancelled when the reason says so; `Unknown` or absent is running.
pub(super) fn interpret_status(json: &serde_json::Value) -> Result<BuildState, BuildError> {
    if json.get("kind").and_then(|k| k.as_str()) != Some("PipelineRun") {
        return Err(BuildError::InvalidResponse {
            service: KIND,
            reason: "the body is not a PipelineRun".to_owned(),
        });
    }
    let condition = json
        .pointer("/status/conditions")
        .and_then(|c| c.as_array())
        .and_then(|conditions| {
            conditions
                .iter()
                .find(|c| c.get("type").and_then(|t| t.as_str()) == Some("Succeeded"))
        });
    let Some(condition) = condition else {
        return Ok(BuildState::Running);
    };
    let text = |key: &str| condition.get(key).and_then(|v| v.as_str()).unwrap_or("");
    let reason = text("reason");
    Ok(match text("status") {
        "True" => BuildState::Succeeded,
        "False" if reason.starts_with("Cancelled") || reason.starts_with("StoppedRunFinally") => {
            BuildState::Cancelled
        }
        "False" if reason == "PipelineRunCancelled" => BuildState::Cancelled,
        "False" => {
            let message = text("message");
            let detail = match (reason.is_empty(), message.is_empty()) {
                (false, false) => format!("{reason}: {message}"),
                (false, true) => reason.to_owned(),
                (true, false) => message.to_owned(),
                (true, true) => "PipelineRun failed".to_owned(),
            };
            BuildState::Failed(util::truncate_chars(&detail, 300))
        }
        _ => BuildState::Running,
    })
}
