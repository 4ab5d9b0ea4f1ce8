//! The few Docker Engine API calls the adapter makes, and what it reads from
//! a service description.

use serde_json::{Value, json};

use super::DockerEnv;
use crate::deploy::DeployError;
use crate::ports::{HttpClient, HttpRequest, HttpResponse};

/// Time allowed for each Engine call.
pub(super) const TIMEOUT_MS: u64 = 5_000;

/// Default health-monitoring window after each task update: 5 s.
const MONITOR_NS: u64 = 5_000_000_000;

/// The message swarmkit gives when `version` is stale.
const OUT_OF_SEQUENCE: &str = "update out of sequence";

/// Where and how to reach one Engine, with the credentials of this call.
pub(super) struct Engine<'a, H> {
    pub http: &'a H,
    pub base: String,
    pub token: Option<&'a str>,
    pub registry_auth: Option<&'a str>,
}

/// What the adapter needs from `GET /services/{id}`.
#[derive(Debug, Clone)]
pub(super) struct ServiceView {
    /// `ID`.
    pub id: String,
    /// `Version.Index`.
    pub version: u64,
    /// `Spec`, complete, to send back with changes.
    pub spec: Value,
    /// `Spec.TaskTemplate.ContainerSpec.Image`.
    pub image: String,
    /// `PreviousSpec.TaskTemplate.ContainerSpec.Image`, when there is one.
    pub previous_spec_image: Option<String>,
    /// `UpdateStatus.State`, when an update has been recorded.
    pub state: Option<String>,
    /// `UpdateStatus.Message`.
    pub message: Option<String>,
}

fn spec_image(spec: &Value) -> Option<&str> {
    spec.pointer("/TaskTemplate/ContainerSpec/Image")
        .and_then(Value::as_str)
}

/// The Engine's base URL (`url` plus `/v<api_version>`), checked.
pub(super) fn base_url(env: &DockerEnv) -> Result<String, DeployError> {
    let url = env.url.trim().trim_end_matches('/');
    let parsed = url::Url::parse(url)
        .map_err(|_| DeployError::Config("the Docker url is not a valid URL".into()))?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
        return Err(DeployError::Config(
            "the Docker url must be an http(s) URL of the Engine (TCP+TLS)".into(),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(DeployError::Config(
            "the Docker url must not have a query or fragment".into(),
        ));
    }
    match env.api_version.as_deref().map(str::trim) {
        None | Some("") => Ok(url.to_owned()),
        Some(v) => {
            let v = v.strip_prefix('v').unwrap_or(v);
            let ok = v.split('.').count() == 2
                && v.split('.')
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
            if ok {
                Ok(format!("{url}/v{v}"))
            } else {
                Err(DeployError::Config(format!(
                    "api_version {v:?} is not like \"1.47\""
                )))
            }
        }
    }
}

/// Checks a service name or ID before it goes into a path.
pub(super) fn check_service(service: &str) -> Result<(), DeployError> {
    let ok = !service.is_empty()
        && service.len() <= 128
        && service.starts_with(|c: char| c.is_ascii_alphanumeric())
        && service
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(DeployError::Config(format!(
            "{service:?} is not a Docker service name"
        )))
    }
}

/// Parses a duration like `10s`, `1m30s`, `500ms` or `0` into nanoseconds.
pub(super) fn parse_duration_ns(text: &str) -> Result<u64, DeployError> {
    let bad = || DeployError::Config(format!("delay {text:?} is not a duration like \"10s\""));
    let text = text.trim();
    if text == "0" {
        return Ok(0);
    }
    let mut rest = text;
    let mut total: u64 = 0;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let factor: u64 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total = number
            .checked_mul(factor)
            .and_then(|n| total.checked_add(n))
            .filter(|n| *n <= i64::MAX as u64)
            .ok_or_else(bad)?;
    }
    Ok(total)
}

/// `Spec.UpdateConfig` and `Spec.RollbackConfig` for this environment.
pub(super) fn update_configs(env: &DockerEnv) -> Result<(Value, Value), DeployError> {
    let parallelism = env.parallelism.unwrap_or(1);
    let delay = match &env.delay {
        Some(d) => parse_duration_ns(d)?,
        None => 0,
    };
    let config = |failure_action: &str| {
        json!({
            "Parallelism": parallelism,
            "Delay": delay,
            "FailureAction": failure_action,
            "Monitor": MONITOR_NS,
            "MaxFailureRatio": 0.0,
            "Order": "start-first",
        })
    };
    // A rollback cannot itself roll back: the Engine pauses it instead.
    Ok((config("rollback"), config("pause")))
}

/// Whether `e` is the Engine refusing a stale `version`.
pub(super) fn is_out_of_sequence(e: &DeployError) -> bool {
    matches!(e, DeployError::Api { message, .. } if message.contains(OUT_OF_SEQUENCE))
}

/// `spec` with `image` and our update and rollback settings; `force`
/// increments `TaskTemplate.ForceUpdate` so unchanged tasks are replaced.
pub(super) fn updated_spec(
    spec: &Value,
    image: &str,
    configs: &(Value, Value),
    force: bool,
) -> Result<Value, DeployError> {
    let mut spec = spec.clone();
    let not_container =
        || DeployError::Config("the service is not a container service (no ContainerSpec)".into());
    let template = spec
        .get_mut("TaskTemplate")
        .and_then(Value::as_object_mut)
        .ok_or_else(not_container)?;
    if force {
        let n = template
            .get("ForceUpdate")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        template.insert("ForceUpdate".into(), json!(n.wrapping_add(1)));
    }
    let container = template
        .get_mut("ContainerSpec")
        .and_then(Value::as_object_mut)
        .ok_or_else(not_container)?;
    container.insert("Image".into(), json!(image));
    let obj = spec.as_object_mut().ok_or_else(not_container)?;
    obj.insert("UpdateConfig".into(), configs.0.clone());
    obj.insert("RollbackConfig".into(), configs.1.clone());
    Ok(spec)
}

impl<H: HttpClient> Engine<'_, H> {
    pub(super) async fn send(&self, request: HttpRequest) -> Result<HttpResponse, DeployError> {
        let mut request = request.header("accept", "application/json");
        if let Some(token) = self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response =
            self.http
                .send(request, TIMEOUT_MS)
                .await
                .map_err(|e| DeployError::Unreachable {
                    service: "docker",
                    reason: e.to_string(),
                })?;
        if response.is_success() {
            return Ok(response);
        }
        let message = serde_json::from_slice::<Value>(&response.body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| response.text_snippet(200));
        Err(DeployError::Api {
            service: "docker",
            status: response.status,
            message,
        })
    }

    /// `GET /services/{service}`.
    pub async fn inspect(&self, service: &str) -> Result<ServiceView, DeployError> {
        let request = HttpRequest::new("GET", format!("{}/services/{service}", self.base));
        let response = self.send(request).await?;
        let unexpected = |what: &str| DeployError::Api {
            service: "docker",
            status: response.status,
            message: format!("unexpected service description: {what}"),
        };
        let body: Value =
            serde_json::from_slice(&response.body).map_err(|_| unexpected("not JSON"))?;
        let spec = body
            .get("Spec")
            .filter(|s| s.is_object())
            .ok_or_else(|| unexpected("no Spec"))?;
        let image = spec_image(spec).ok_or_else(|| {
            DeployError::Config("the service is not a container service (no image)".into())
        })?;
        let status = body.get("UpdateStatus").filter(|s| s.is_object());
        let text = |key: &str| {
            status
                .and_then(|s| s.get(key))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Ok(ServiceView {
            id: body
                .get("ID")
                .and_then(Value::as_str)
                .ok_or_else(|| unexpected("no ID"))?
                .to_owned(),
            version: body
                .pointer("/Version/Index")
                .and_then(Value::as_u64)
                .ok_or_else(|| unexpected("no Version.Index"))?,
            image: image.to_owned(),
            previous_spec_image: body
                .get("PreviousSpec")
                .and_then(spec_image)
                .map(str::to_owned),
            state: text("State"),
            message: text("Message"),
            spec: spec.clone(),
        })
    }

    /// `POST /services/{id}/update?version={version}` with the complete
    /// `spec` (`&rollback=previous` for a server-side rollback).
    pub async fn update(
        &self,
        id: &str,
        version: u64,
        spec: &Value,
        rollback: bool,
    ) -> Result<(), DeployError> {
        let mut url = format!("{}/services/{id}/update?version={version}", self.base);
        if rollback {
            url.push_str("&rollback=previous");
        }
        let mut request = HttpRequest::new("POST", url).json(spec);
        if let Some(auth) = self.registry_auth {
            request = request.header("x-registry-auth", auth);
        }
        self.send(request).await.map(|_| ())
    }
}
