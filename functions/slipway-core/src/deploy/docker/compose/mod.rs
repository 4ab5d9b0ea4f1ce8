//! The Compose file of a Swarm stack: the subset `docker stack deploy`
//! understands that Slipway maps to Engine API service specs.
//!
//! Every struct denies unknown fields, so a key outside the subset is
//! refused with its path (`services.web.build: not supported`) instead of
//! being silently dropped: a stack that deploys without the volume or build
//! it asks for would be worse than one that does not deploy.

mod fields;
mod spec;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::Deserialize;

pub use spec::{NAMESPACE_LABEL, SPEC_LABEL, StackPlan, plan};

/// A Compose file that cannot be deployed: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ComposeError {
    /// Dotted path of the key at fault (`services.web.build`), or `file`.
    pub path: String,
    /// Why.
    pub message: String,
}

impl ComposeError {
    pub(crate) fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        ComposeError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A Compose file (`compose.yaml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComposeFile {
    /// Obsolete in the Compose specification; accepted and ignored.
    #[serde(default)]
    pub version: Option<serde::de::IgnoredAny>,
    /// The stack's services by name.
    pub services: BTreeMap<String, Service>,
    /// Networks by name (`null` for an overlay network with defaults).
    #[serde(default)]
    pub networks: BTreeMap<String, Option<Network>>,
    /// Secrets by name; only `external` ones (created with `docker secret
    /// create`) are supported.
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretDefinition>,
}

/// A string or a list of strings (`command`, `entrypoint`, `test`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StringOrList {
    /// One string (a shell command line).
    One(String),
    /// An argument vector (`true` or `1` in it are taken as text).
    List(Vec<Scalar>),
}

/// A scalar value of a map (`KEY: 1`, `KEY: true`, `KEY: text`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// Text.
    Text(String),
}

impl Scalar {
    /// The value as Compose writes it into the container.
    pub fn text(&self) -> String {
        match self {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Text(t) => t.clone(),
        }
    }
}

/// `KEY: value` entries or a `KEY=value` list (`environment`, `labels`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum KeyValues {
    /// A map; a `null` value is refused (there is no shell to take it from).
    Map(BTreeMap<String, Option<Scalar>>),
    /// `KEY=value` strings.
    List(Vec<String>),
}

/// One entry of `ports`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Port {
    /// `"8080:80"`, `"8080:80/udp"`, `"80"` or `80`.
    Short(Scalar),
    /// The long syntax.
    Long(PortLong),
}

/// `ports` long syntax.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortLong {
    /// Container port.
    pub target: u16,
    /// Published port (none: the Engine picks one).
    #[serde(default)]
    pub published: Option<u16>,
    /// `tcp` (default), `udp` or `sctp`.
    #[serde(default)]
    pub protocol: Option<String>,
    /// `ingress` (default) or `host`.
    #[serde(default)]
    pub mode: Option<String>,
}

/// A service's `networks`: names, or names with settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ServiceNetworks {
    /// Network names.
    List(Vec<String>),
    /// Network names with their settings.
    Map(BTreeMap<String, Option<ServiceNetwork>>),
}

/// A service's settings on one network.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceNetwork {
    /// More names the service answers to on that network.
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// One entry of a service's `secrets`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SecretUse {
    /// The secret's name; mounted at `/run/secrets/<name>`.
    Short(String),
    /// The long syntax.
    Long(SecretUseLong),
}

/// A service's `secrets` long syntax.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretUseLong {
    /// The secret (a key of the top-level `secrets`).
    pub source: String,
    /// File name under `/run/secrets/` (default: `source`).
    #[serde(default)]
    pub target: Option<String>,
    /// Owner user id (default `"0"`).
    #[serde(default)]
    pub uid: Option<String>,
    /// Owner group id (default `"0"`).
    #[serde(default)]
    pub gid: Option<String>,
    /// File mode (default `0o444`); `0440` is octal, as Compose reads it.
    #[serde(default)]
    pub mode: Option<Scalar>,
}

/// Top-level `secrets.<name>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretDefinition {
    /// Must be `true`: the secret exists in the swarm already.
    #[serde(default)]
    pub external: bool,
    /// Its name in the swarm (default: the key).
    #[serde(default)]
    pub name: Option<String>,
}

/// Top-level `networks.<name>`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// `overlay` (the default; the only driver of a swarm-scoped network).
    #[serde(default)]
    pub driver: Option<String>,
    /// Whether standalone containers may attach.
    #[serde(default)]
    pub attachable: Option<bool>,
    /// Labels of the network.
    #[serde(default)]
    pub labels: Option<KeyValues>,
    /// The network exists already and is not the stack's.
    #[serde(default)]
    pub external: bool,
    /// Its name in the swarm (default `<stack>_<key>`, or the key when
    /// external).
    #[serde(default)]
    pub name: Option<String>,
}

/// `services.<name>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Image (the app's service gets the image the build reported instead).
    #[serde(default)]
    pub image: Option<String>,
    /// Arguments (`ContainerSpec.Args`).
    #[serde(default)]
    pub command: Option<StringOrList>,
    /// Entry point (`ContainerSpec.Command`).
    #[serde(default)]
    pub entrypoint: Option<StringOrList>,
    /// Environment variables.
    #[serde(default)]
    pub environment: Option<KeyValues>,
    /// Published ports.
    #[serde(default)]
    pub ports: Vec<Port>,
    /// Networks (default: the stack's `default` network).
    #[serde(default)]
    pub networks: Option<ServiceNetworks>,
    /// Container health check.
    #[serde(default)]
    pub healthcheck: Option<Healthcheck>,
    /// Secrets, by reference.
    #[serde(default)]
    pub secrets: Vec<SecretUse>,
    /// Swarm settings.
    #[serde(default)]
    pub deploy: Option<Deploy>,
    /// Container labels.
    #[serde(default)]
    pub labels: Option<KeyValues>,
    /// Working directory.
    #[serde(default)]
    pub working_dir: Option<String>,
    /// User to run as.
    #[serde(default)]
    pub user: Option<String>,
    /// Container host name.
    #[serde(default)]
    pub hostname: Option<String>,
    /// Time to stop before a kill, e.g. `10s`.
    #[serde(default)]
    pub stop_grace_period: Option<String>,
}

/// `healthcheck`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Healthcheck {
    /// `["CMD", …]`, `["CMD-SHELL", "…"]`, `["NONE"]` or a shell line.
    #[serde(default)]
    pub test: Option<StringOrList>,
    /// Time between checks.
    #[serde(default)]
    pub interval: Option<String>,
    /// Time a check may take.
    #[serde(default)]
    pub timeout: Option<String>,
    /// Failures in a row that make the container unhealthy.
    #[serde(default)]
    pub retries: Option<u64>,
    /// Grace period after start.
    #[serde(default)]
    pub start_period: Option<String>,
    /// Turns the image's health check off.
    #[serde(default)]
    pub disable: bool,
}

/// `deploy`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deploy {
    /// `replicated` (default) or `global`.
    #[serde(default)]
    pub mode: Option<String>,
    /// Tasks of a replicated service (default 1).
    #[serde(default)]
    pub replicas: Option<u64>,
    /// How updates roll out.
    #[serde(default)]
    pub update_config: Option<UpdateConfig>,
    /// How rollbacks roll out.
    #[serde(default)]
    pub rollback_config: Option<UpdateConfig>,
    /// Service labels.
    #[serde(default)]
    pub labels: Option<KeyValues>,
    /// When tasks are restarted.
    #[serde(default)]
    pub restart_policy: Option<RestartPolicy>,
}

/// `deploy.update_config` / `deploy.rollback_config`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateConfig {
    /// Tasks at a time (0: all).
    #[serde(default)]
    pub parallelism: Option<u64>,
    /// Pause between batches.
    #[serde(default)]
    pub delay: Option<String>,
    /// `continue`, `pause` or `rollback` (rollback_config: not `rollback`).
    #[serde(default)]
    pub failure_action: Option<String>,
    /// How long each task is watched after its update.
    #[serde(default)]
    pub monitor: Option<String>,
    /// Failures tolerated, 0 to 1.
    #[serde(default)]
    pub max_failure_ratio: Option<f64>,
    /// `stop-first` or `start-first`.
    #[serde(default)]
    pub order: Option<String>,
}

/// `deploy.restart_policy`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestartPolicy {
    /// `none`, `on-failure` or `any`.
    #[serde(default)]
    pub condition: Option<String>,
    /// Time between restarts.
    #[serde(default)]
    pub delay: Option<String>,
    /// Restarts before giving up (0: no limit).
    #[serde(default)]
    pub max_attempts: Option<u64>,
    /// Time a restart is judged over.
    #[serde(default)]
    pub window: Option<String>,
}

/// Parses a Compose file; an unsupported key is an error naming its path.
pub fn parse(text: &str) -> Result<ComposeFile, ComposeError> {
    serde_yaml_ng::from_str(text).map_err(|e| yaml_error(&e))
}

/// Turns a YAML error into a path and a message: `path: unknown field
/// `build`, expected …` becomes `path.build: not supported`.
fn yaml_error(e: &serde_yaml_ng::Error) -> ComposeError {
    let text = e.to_string();
    let line = e
        .location()
        .map(|l| format!(" (line {})", l.line()))
        .unwrap_or_default();
    // serde_yaml_ng prefixes the path of the value at fault, if not the root.
    let (path, rest) = match text.split_once(": ") {
        Some((p, r)) if !p.contains(' ') => (p.to_owned(), r.to_owned()),
        _ => (String::new(), text.clone()),
    };
    if let Some(after) = rest.strip_prefix("unknown field `")
        && let Some((field, _)) = after.split_once('`')
    {
        let full = if path.is_empty() {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        };
        return ComposeError::at(full, format!("not supported{line}"));
    }
    let rest = rest.split(" at line ").next().unwrap_or(&rest).to_owned();
    let path = if path.is_empty() { "file".into() } else { path };
    ComposeError::at(path, format!("{rest}{line}"))
}
