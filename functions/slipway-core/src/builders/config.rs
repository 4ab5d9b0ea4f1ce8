//! Build-service definitions as written in the Slipway configuration.
//!
//! ```toml
//! [build_services.ci]
//! type = "jenkins"            # jenkins | github_actions | gitlab_ci | tekton | http
//! url = "https://jenkins.example.com"
//! user = "slipway"
//! token_secret = "jenkins_token"
//! ```
//!
//! Every `*_secret` key holds the *name* of the Spin variable that holds the
//! secret, never the secret itself. Unknown keys are rejected, so a secret
//! pasted under a mistyped key (`token = "…"`) is caught at load time.

use serde::{Deserialize, Deserializer, Serialize};

use super::error::BuildError;
use super::util;

/// The default GitHub REST API base.
pub const DEFAULT_GITHUB_API: &str = "https://api.github.com";

/// The default name of the Tekton workspace Slipway provides.
pub const DEFAULT_TEKTON_WORKSPACE: &str = "source";

/// One remote build service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BuildServiceConfig {
    /// A Jenkins controller (Remote Access API).
    Jenkins(JenkinsConfig),
    /// GitHub Actions `workflow_dispatch`.
    GithubActions(GithubActionsConfig),
    /// GitLab CI through a pipeline trigger token.
    GitlabCi(GitlabCiConfig),
    /// Tekton Pipelines through the Kubernetes API.
    Tekton(TektonConfig),
    /// Any HTTP endpoint that accepts Slipway's JSON trigger.
    Http(HttpServiceConfig),
}

/// `type = "jenkins"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JenkinsConfig {
    /// Root URL of Jenkins, e.g. `https://jenkins.example.com` (a context
    /// path such as `/jenkins` is kept).
    pub url: String,
    /// The user owning the API token.
    pub user: String,
    /// Name of the secret holding the user's API token (HTTP Basic).
    pub token_secret: String,
}

/// `type = "github_actions"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubActionsConfig {
    /// REST API base; `https://api.github.com` by default,
    /// `https://ghe.example.com/api/v3` for GitHub Enterprise Server.
    #[serde(default = "default_github_api")]
    pub api_base: String,
    /// `owner/name` of the repository holding the workflow; by default the
    /// repository the run builds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Name of the secret holding a token with `actions: write`.
    pub token_secret: String,
    /// Ask GitHub to answer the dispatch with the run id (`true` by
    /// default). Set `false` for GitHub Enterprise Server 3.20 and older,
    /// which reject the unknown field.
    #[serde(default = "yes")]
    pub return_run_details: bool,
}

/// `type = "gitlab_ci"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitlabCiConfig {
    /// API base including `/api/v4`, e.g. `https://gitlab.example.com/api/v4`.
    pub api_base: String,
    /// Project id (`42`) or full path (`group/sub/project`).
    #[serde(deserialize_with = "string_or_integer")]
    pub project: String,
    /// Name of the secret holding a pipeline trigger token (`glptt-…`).
    pub token_secret: String,
    /// Name of the secret holding an API token with `read_api`, needed only
    /// to poll pipelines (a trigger token cannot read them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token_secret: Option<String>,
}

/// `type = "tekton"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TektonConfig {
    /// Kubernetes API server, e.g. `https://k8s.example.com:6443`.
    pub api_server: String,
    /// Namespace in which PipelineRuns are created.
    pub namespace: String,
    /// Name of the secret holding a service-account bearer token allowed to
    /// create and get `pipelineruns.tekton.dev`.
    pub token_secret: String,
    /// `spec.taskRunTemplate.serviceAccountName` of the PipelineRun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// Size of a per-run workspace volume (`"1Gi"`); no workspace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_storage: Option<String>,
    /// Name of that workspace as the Pipeline declares it (`source`).
    #[serde(default = "default_workspace")]
    pub workspace_name: String,
    /// Name of the secret that Tekton's CloudEvents sink URL carries as
    /// `?token=` (`/hooks/tekton?token=…`); when set, events without it
    /// are refused. Events only ever ask for a poll, so this bounds who
    /// can ask, not what a stage records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_token_secret: Option<String>,
}

/// `type = "http"`: a plain HTTP endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpServiceConfig {
    /// Endpoint URL; the stage's job, if any, is appended as a path.
    pub url: String,
    /// Name of the secret sent as `Authorization: Bearer`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret: Option<String>,
    /// HTTP method of the trigger (`POST` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

fn default_github_api() -> String {
    DEFAULT_GITHUB_API.to_owned()
}

fn default_workspace() -> String {
    DEFAULT_TEKTON_WORKSPACE.to_owned()
}

fn yes() -> bool {
    true
}

/// Accepts `project = 42` as well as `project = "group/name"`.
fn string_or_integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(u64),
    }
    Ok(match Raw::deserialize(deserializer)? {
        Raw::Text(text) => text,
        Raw::Number(n) => n.to_string(),
    })
}

impl BuildServiceConfig {
    /// The service type as written in `type = "…"`.
    pub fn kind(&self) -> &'static str {
        match self {
            BuildServiceConfig::Jenkins(_) => "jenkins",
            BuildServiceConfig::GithubActions(_) => "github_actions",
            BuildServiceConfig::GitlabCi(_) => "gitlab_ci",
            BuildServiceConfig::Tekton(_) => "tekton",
            BuildServiceConfig::Http(_) => "http",
        }
    }

    /// Name of the secret used to trigger builds, if the service uses one.
    pub fn token_secret(&self) -> Option<&str> {
        match self {
            BuildServiceConfig::Jenkins(c) => Some(&c.token_secret),
            BuildServiceConfig::GithubActions(c) => Some(&c.token_secret),
            BuildServiceConfig::GitlabCi(c) => Some(&c.token_secret),
            BuildServiceConfig::Tekton(c) => Some(&c.token_secret),
            BuildServiceConfig::Http(c) => c.token_secret.as_deref(),
        }
    }

    /// Name of the secret to pass to
    /// [`status_request`](super::status::status_request): the trigger
    /// secret, except for GitLab where it is `api_token_secret`.
    pub fn status_token_secret(&self) -> Option<&str> {
        match self {
            BuildServiceConfig::GitlabCi(c) => c.api_token_secret.as_deref(),
            other => other.token_secret(),
        }
    }

    /// The base URL the service is reached at (for allow-list checks).
    pub fn base_url(&self) -> &str {
        match self {
            BuildServiceConfig::Jenkins(c) => &c.url,
            BuildServiceConfig::GithubActions(c) => &c.api_base,
            BuildServiceConfig::GitlabCi(c) => &c.api_base,
            BuildServiceConfig::Tekton(c) => &c.api_server,
            BuildServiceConfig::Http(c) => &c.url,
        }
    }

    /// Checks what can be checked without a job: URLs are absolute
    /// http(s), required names are non-empty and well-formed.
    pub fn validate(&self) -> Result<(), BuildError> {
        let kind = self.kind();
        util::parse_base(kind, self.base_url())?;
        if let Some(name) = self.token_secret() {
            non_empty(kind, "token_secret", name)?;
        }
        match self {
            BuildServiceConfig::Jenkins(c) => non_empty(kind, "user", &c.user),
            BuildServiceConfig::GithubActions(c) => match &c.repo {
                Some(repo) => util::split_repo(kind, repo).map(|_| ()),
                None => Ok(()),
            },
            BuildServiceConfig::GitlabCi(c) => {
                non_empty(kind, "project", &c.project)?;
                match &c.api_token_secret {
                    Some(name) => non_empty(kind, "api_token_secret", name),
                    None => Ok(()),
                }
            }
            BuildServiceConfig::Tekton(c) => {
                if !util::is_dns_label(&c.namespace) {
                    return Err(config_error(
                        kind,
                        format!("namespace `{}` is not a valid Kubernetes name", c.namespace),
                    ));
                }
                non_empty(kind, "workspace_name", &c.workspace_name)?;
                match &c.service_account {
                    Some(sa) => non_empty(kind, "service_account", sa),
                    None => Ok(()),
                }
            }
            BuildServiceConfig::Http(c) => util::http_method(c.method.as_deref()).map(|_| ()),
        }
    }
}

fn non_empty(kind: &'static str, key: &str, value: &str) -> Result<(), BuildError> {
    if value.trim().is_empty() {
        Err(config_error(kind, format!("`{key}` must not be empty")))
    } else {
        Ok(())
    }
}

/// A [`BuildError::Config`].
pub(crate) fn config_error(service: &'static str, reason: String) -> BuildError {
    BuildError::Config { service, reason }
}
