//! Starting a build: the request to send and what the answer means.

use std::collections::BTreeMap;
use std::fmt;

use super::config::BuildServiceConfig;
use super::error::{BuildError, is_retryable_status};
use super::{github, gitlab, jenkins, tekton, util, webhook};
use crate::ports::{HttpRequest, HttpResponse};

/// Everything needed to start one attempt of one stage on a build service.
///
/// `Debug` hides `callback_token`.
#[derive(Clone, Copy)]
pub struct BuildJob<'a> {
    /// The service to trigger.
    pub service: &'a BuildServiceConfig,
    /// What to run: Jenkins job path `folder/name`; Actions workflow file
    /// `build.yml` (or id); GitLab: ignored; Tekton `pipelineRef` name;
    /// http: path appended to the URL, or empty.
    pub job: &'a str,
    /// The stage's parameters.
    pub params: &'a BTreeMap<String, String>,
    /// Repository being built, `owner/name`.
    pub repo: &'a str,
    /// URL to clone it from, if known.
    pub clone_url: Option<&'a str>,
    /// Full ref: `refs/heads/x` or `refs/tags/y`; for a merge request from
    /// a fork, the target repository's ref for it where the provider has
    /// one (`refs/pull/N/head`, `refs/merge-requests/N/head`).
    pub git_ref: &'a str,
    /// The repository the change comes from, `owner/name`: a fork, or `repo`.
    pub source_repo: &'a str,
    /// URL to clone `source_repo` from, if known.
    pub source_clone_url: Option<&'a str>,
    /// The change's ref in `source_repo` (`git_ref` for a change in `repo`).
    pub source_ref: &'a str,
    /// Target branch of a merge request.
    pub target_branch: Option<&'a str>,
    /// Commit SHA being built.
    pub commit: &'a str,
    /// Slipway run id.
    pub run_id: &'a str,
    /// Stage name.
    pub stage: &'a str,
    /// Attempt number of this stage (1 for the first).
    pub attempt: u32,
    /// Where the build reports its result.
    pub callback_url: &'a str,
    /// Token the build presents to the callback URL.
    pub callback_token: &'a str,
}

impl fmt::Debug for BuildJob<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildJob")
            .field("service", &self.service.kind())
            .field("job", &self.job)
            .field("params", &self.params)
            .field("repo", &self.repo)
            .field("clone_url", &self.clone_url)
            .field("git_ref", &self.git_ref)
            .field("source_repo", &self.source_repo)
            .field("source_clone_url", &self.source_clone_url)
            .field("source_ref", &self.source_ref)
            .field("target_branch", &self.target_branch)
            .field("commit", &self.commit)
            .field("run_id", &self.run_id)
            .field("stage", &self.stage)
            .field("attempt", &self.attempt)
            .field("callback_url", &self.callback_url)
            .field("callback_token", &"***")
            .finish()
    }
}

impl BuildJob<'_> {
    /// Whether the change comes from another repository (a fork).
    pub fn from_fork(&self) -> bool {
        !self.source_repo.eq_ignore_ascii_case(self.repo)
    }

    /// The branch or tag of the repository that a service running a
    /// definition kept there (GitHub Actions, GitLab CI) starts on:
    /// `git_ref`, but for a change from a fork its target branch, since
    /// the fork's branch is not in the repository (and its definitions are
    /// not the repository's to trust); the build fetches the change from
    /// `SLIPWAY_SOURCE_REPO` at `SLIPWAY_COMMIT`.
    pub fn definition_ref(&self) -> String {
        match self.target_branch.filter(|_| self.from_fork()) {
            Some(branch) => format!("refs/heads/{branch}"),
            None => self.git_ref.to_owned(),
        }
    }
}

/// What the answer to a trigger request means.
///
/// `Debug` shows only the method and URL of `follow`, never its headers.
#[derive(Clone, PartialEq, Eq)]
pub enum TriggerResult {
    /// The service accepted the build.
    Started {
        /// Id to poll with [`status_request`](super::status::status_request)
        /// (Jenkins: queue item or build URL; Actions: run API URL; GitLab:
        /// pipeline id; Tekton: PipelineRun name; http: status URL or id).
        external_id: Option<String>,
        /// Human-facing URL of the build, if known.
        url: Option<String>,
        /// Jenkins: `GET {Location}api/json` (same auth) to learn the build
        /// URL from the queue item.
        follow: Option<HttpRequest>,
    },
    /// Temporary failure (5xx, 429, 408, rate limit): try again later.
    Retryable(String),
    /// The service refused the build; trying again will not help.
    Rejected(String),
}

impl fmt::Debug for TriggerResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TriggerResult::Started {
                external_id,
                url,
                follow,
            } => f
                .debug_struct("Started")
                .field("external_id", external_id)
                .field("url", url)
                .field(
                    "follow",
                    &follow.as_ref().map(|r| format!("{} {}", r.method, r.url)),
                )
                .finish(),
            TriggerResult::Retryable(reason) => f.debug_tuple("Retryable").field(reason).finish(),
            TriggerResult::Rejected(reason) => f.debug_tuple("Rejected").field(reason).finish(),
        }
    }
}

/// The request that starts `job`. `secret` is the value of the service's
/// [`token_secret`](BuildServiceConfig::token_secret).
pub fn trigger_request(job: &BuildJob, secret: Option<&str>) -> Result<HttpRequest, BuildError> {
    match job.service {
        BuildServiceConfig::Jenkins(c) => jenkins::trigger_request(c, job, secret),
        BuildServiceConfig::GithubActions(c) => github::trigger_request(c, job, secret),
        BuildServiceConfig::GitlabCi(c) => gitlab::trigger_request(c, job, secret),
        BuildServiceConfig::Tekton(c) => tekton::trigger_request(c, job, secret),
        BuildServiceConfig::Http(c) => webhook::trigger_request(c, job, secret),
    }
}

/// What the service's answer to [`trigger_request`] means: 2xx → started;
/// 5xx, 429, 408 (and GitHub rate limits, Kubernetes name conflicts) →
/// retryable; any other status → rejected with the status and a short,
/// secret-free excerpt of the body.
pub fn interpret_trigger(
    job: &BuildJob,
    response: &HttpResponse,
    secret: Option<&str>,
) -> TriggerResult {
    if response.is_success() {
        return match job.service {
            BuildServiceConfig::Jenkins(c) => jenkins::started(c, response, secret),
            BuildServiceConfig::GithubActions(c) => github::started(c, job, response),
            BuildServiceConfig::GitlabCi(_) => gitlab::started(response),
            BuildServiceConfig::Tekton(_) => tekton::started(response),
            BuildServiceConfig::Http(c) => webhook::started(c, response),
        };
    }
    let secrets = [secret, Some(job.callback_token)];
    let reason = format!(
        "{}: HTTP {}: {}",
        job.service.kind(),
        response.status,
        util::response_message(response, &secrets)
    );
    let retryable = is_retryable_status(response.status)
        || match job.service {
            BuildServiceConfig::GithubActions(_) => github::is_rate_limited(response),
            BuildServiceConfig::Tekton(_) => response.status == 409,
            _ => false,
        };
    if retryable {
        TriggerResult::Retryable(reason)
    } else {
        TriggerResult::Rejected(reason)
    }
}

/// Slipway's identity variables, as Jenkins parameters and GitLab variables.
pub(crate) fn slipway_variables(job: &BuildJob) -> [(&'static str, String); 10] {
    [
        ("SLIPWAY_RUN", job.run_id.to_owned()),
        ("SLIPWAY_STAGE", job.stage.to_owned()),
        ("SLIPWAY_ATTEMPT", job.attempt.to_string()),
        ("SLIPWAY_COMMIT", job.commit.to_owned()),
        ("SLIPWAY_REF", job.git_ref.to_owned()),
        ("SLIPWAY_REPO", job.repo.to_owned()),
        ("SLIPWAY_SOURCE_REPO", job.source_repo.to_owned()),
        ("SLIPWAY_SOURCE_REF", job.source_ref.to_owned()),
        ("SLIPWAY_CALLBACK_URL", job.callback_url.to_owned()),
        ("SLIPWAY_CALLBACK_TOKEN", job.callback_token.to_owned()),
    ]
}

/// Refuses empty parameter names and names for which `reserved` is true.
pub(crate) fn check_params(
    service: &'static str,
    params: &BTreeMap<String, String>,
    reserved: impl Fn(&str) -> bool,
) -> Result<(), BuildError> {
    for name in params.keys() {
        if name.trim().is_empty() {
            return Err(BuildError::InvalidJob {
                service,
                reason: "a stage parameter has an empty name".to_owned(),
            });
        }
        if reserved(name) {
            return Err(BuildError::ReservedParam {
                service,
                name: name.clone(),
            });
        }
    }
    Ok(())
}

/// Whether `name` starts with `SLIPWAY_` (any case).
pub(crate) fn is_slipway_variable(name: &str) -> bool {
    name.get(..8)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("SLIPWAY_"))
}
