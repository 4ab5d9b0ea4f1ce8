//! Unit tests of the build-service module, with shared fixtures: service
//! definitions, a job, a scripted HTTP client and a virtual clock.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};

use super::config::BuildServiceConfig;
use super::trigger::BuildJob;
use crate::ports::{Clock, HttpClient, HttpError, HttpRequest, HttpResponse};

mod config_tests;
mod fork_tests;
mod interpret_tests;
mod junit_tests;
mod request_tests;
mod retry_tests;
mod status_tests;

pub(super) const SECRET: &str = "s3cr3t-token-value";
pub(super) const CALLBACK_TOKEN: &str = "cb-token-123456";

/// Parses a service definition written as TOML.
pub(super) fn service(toml_text: &str) -> BuildServiceConfig {
    toml::from_str(toml_text).unwrap()
}

pub(super) fn jenkins() -> BuildServiceConfig {
    service(
        r#"
        type = "jenkins"
        url = "https://jenkins.example.com"
        user = "slipway"
        token_secret = "jenkins_token"
        "#,
    )
}

pub(super) fn github() -> BuildServiceConfig {
    service(
        r#"
        type = "github_actions"
        token_secret = "gh_token"
        "#,
    )
}

pub(super) fn gitlab() -> BuildServiceConfig {
    service(
        r#"
        type = "gitlab_ci"
        api_base = "https://gitlab.example.com/api/v4"
        project = "group/sub/app"
        token_secret = "gitlab_trigger"
        api_token_secret = "gitlab_api"
        "#,
    )
}

pub(super) fn tekton() -> BuildServiceConfig {
    service(
        r#"
        type = "tekton"
        api_server = "https://k8s.example.com:6443"
        namespace = "ci"
        token_secret = "k8s_token"
        service_account = "pipeline"
        workspace_storage = "1Gi"
        "#,
    )
}

pub(super) fn http_service() -> BuildServiceConfig {
    service(
        r#"
        type = "http"
        url = "https://builds.example.com/hooks/"
        token_secret = "http_token"
        "#,
    )
}

pub(super) fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A job for `service` with fixed identity values.
pub(super) fn job<'a>(
    service: &'a BuildServiceConfig,
    job: &'a str,
    params: &'a BTreeMap<String, String>,
) -> BuildJob<'a> {
    BuildJob {
        service,
        job,
        params,
        repo: "acme/app",
        clone_url: Some("https://github.com/acme/app.git"),
        git_ref: "refs/heads/main",
        source_repo: "acme/app",
        source_clone_url: Some("https://github.com/acme/app.git"),
        source_ref: "refs/heads/main",
        target_branch: None,
        commit: "0123456789abcdef0123456789abcdef01234567",
        run_id: "run-42",
        stage: "build",
        attempt: 1,
        callback_url: "https://slipway.example.com/callback?x=1&y=2",
        callback_token: CALLBACK_TOKEN,
    }
}

pub(super) fn response(status: u16, body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: BTreeMap::new(),
        body: body.as_bytes().to_vec(),
    }
}

pub(super) fn with_header(mut response: HttpResponse, name: &str, value: &str) -> HttpResponse {
    response
        .headers
        .insert(name.to_ascii_lowercase(), value.to_owned());
    response
}

pub(super) fn json_of(request: &HttpRequest) -> serde_json::Value {
    serde_json::from_slice(&request.body).unwrap()
}

/// A clock whose time moves only when slept on (or by the fake client).
#[derive(Default)]
pub(super) struct FakeClock {
    pub now: Cell<u64>,
    pub sleeps: RefCell<Vec<u64>>,
}

impl FakeClock {
    pub fn at(ms: u64) -> Self {
        let clock = FakeClock::default();
        clock.now.set(ms);
        clock
    }

    pub fn advance(&self, ms: u64) {
        self.now.set(self.now.get() + ms);
    }
}

impl Clock for FakeClock {
    fn now_ms(&self) -> u64 {
        self.now.get()
    }

    async fn sleep(&self, ms: u64) {
        self.sleeps.borrow_mut().push(ms);
        self.advance(ms);
    }
}

/// Answers from a script; each call takes `latency_ms` of virtual time
/// (a timeout takes the whole timeout).
pub(super) struct FakeHttp<'c> {
    pub clock: &'c FakeClock,
    pub latency_ms: u64,
    pub script: RefCell<VecDeque<Result<HttpResponse, HttpError>>>,
    /// Requests sent, with their timeout and the time they were sent.
    pub sent: RefCell<Vec<(HttpRequest, u64, u64)>>,
}

impl<'c> FakeHttp<'c> {
    pub fn new(clock: &'c FakeClock, script: Vec<Result<HttpResponse, HttpError>>) -> Self {
        FakeHttp {
            clock,
            latency_ms: 10,
            script: RefCell::new(script.into()),
            sent: RefCell::new(Vec::new()),
        }
    }

    pub fn urls(&self) -> Vec<String> {
        self.sent
            .borrow()
            .iter()
            .map(|(r, _, _)| r.url.clone())
            .collect()
    }
}

impl HttpClient for FakeHttp<'_> {
    async fn send(&self, request: HttpRequest, timeout_ms: u64) -> Result<HttpResponse, HttpError> {
        self.sent
            .borrow_mut()
            .push((request, timeout_ms, self.clock.now_ms()));
        let next = self
            .script
            .borrow_mut()
            .pop_front()
            .unwrap_or_else(|| Err(HttpError::Transport("script exhausted".into())));
        match &next {
            Err(HttpError::Timeout(_)) => self.clock.advance(timeout_ms),
            _ => self.clock.advance(self.latency_ms),
        }
        next
    }
}
