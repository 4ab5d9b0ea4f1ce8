//! Remote build services: triggering builds, following and polling them.
//!
//! - [`config`]: the `[build_services.*]` definitions (Jenkins, GitHub
//!   Actions, GitLab CI, Tekton, plain HTTP).
//! - [`trigger`]: the request that starts a stage's build, and what the
//!   answer means.
//! - [`retry`]: triggering with backoff inside a time budget.
//! - [`follow`]: Jenkins queue items.
//! - [`status`]: polling a build that has not called back.
//! - [`junit`]: JUnit XML test reports.
//!
//! Every build receives the run and stage identity, the attempt, the
//! commit, ref and repository, and a callback URL with its token. Nothing
//! here performs I/O directly: requests go through
//! [`HttpClient`](crate::ports::HttpClient), time through
//! [`Clock`](crate::ports::Clock). Secrets are passed in by value, never
//! stored, and never appear in errors or `Debug` output of these types.

pub mod config;
pub mod error;
pub mod follow;
pub mod junit;
pub mod retry;
pub mod status;
pub mod trigger;

mod github;
mod gitlab;
mod jenkins;
mod tekton;
mod util;
mod webhook;

#[cfg(test)]
mod tests;

pub use config::{
    BuildServiceConfig, GithubActionsConfig, GitlabCiConfig, HttpServiceConfig, JenkinsConfig,
    TektonConfig,
};
pub use error::BuildError;
pub use follow::{QueueState, interpret_queue_item, queue_item_request};
pub use github::{GITHUB_INPUT_LIMIT, SLIPWAY_INPUT};
pub use junit::{
    FailureKind, JunitError, TestFailure, TestSummary, parse_junit, parse_junit_reports,
};
pub use retry::{RetryPolicy, TriggerOutcome, trigger_with_retry};
pub use status::{BuildState, interpret_status, status_request};
pub use trigger::{BuildJob, TriggerResult, interpret_trigger, trigger_request};
