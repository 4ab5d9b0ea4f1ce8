//! Git providers: webhook signatures, event parsing, file and commit-status APIs.
//!
//! Every supported forge (GitHub, GitLab, Gitee, Alibaba Cloud Codeup,
//! Bitbucket Cloud, Gitea/Forgejo) delivers webhooks in its own shape. This
//! module verifies a delivery against the raw request bytes ([`verify`]),
//! names its idempotency key ([`delivery_id`]) and turns the body into one
//! provider-neutral [`ParsedEvent`] ([`parse`]). [`file_request`] and
//! [`status_request`] build the requests that read a file at a commit and
//! set a commit status, [`decode_file`] and [`interpret_status_response`]
//! read the answers; the caller sends them through its HTTP port.

mod api;
mod bitbucket;
pub mod checks;
mod codeup;
mod commits;
mod gitea;
mod gitee;
mod github;
mod gitlab;
mod payload;
pub(crate) mod signature;

pub use checks::{CheckRunEvent, CheckSuiteEvent};

pub use api::{
    ApiError, CommitState, CommitStatus, RepoApi, decode_file, file_request,
    interpret_status_response, status_request,
};
pub use commits::{commit_request, decode_commit};

use std::fmt;

/// Request headers with lowercased names.
pub type Headers = std::collections::BTreeMap<String, String>;

/// A supported git hosting provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// github.com and GitHub Enterprise Server.
    GitHub,
    /// gitlab.com and self-managed GitLab.
    GitLab,
    /// gitee.com.
    Gitee,
    /// Alibaba Cloud DevOps (Yunxiao) Codeup.
    Codeup,
    /// Bitbucket Cloud.
    Bitbucket,
    /// Gitea and its fork Forgejo (same payloads and headers).
    #[serde(alias = "forgejo")]
    Gitea,
}

impl Provider {
    /// Every provider, in a stable order.
    pub const ALL: [Provider; 6] = [
        Provider::GitHub,
        Provider::GitLab,
        Provider::Gitee,
        Provider::Codeup,
        Provider::Bitbucket,
        Provider::Gitea,
    ];

    /// The provider named by a URL path segment (`github`, `gitlab`, `gitee`,
    /// `codeup`, `bitbucket`, `gitea`, or `forgejo` for Gitea), ignoring ASCII case.
    pub fn from_path_segment(s: &str) -> Option<Provider> {
        match s.to_ascii_lowercase().as_str() {
            "github" => Some(Provider::GitHub),
            "gitlab" => Some(Provider::GitLab),
            "gitee" => Some(Provider::Gitee),
            "codeup" => Some(Provider::Codeup),
            "bitbucket" => Some(Provider::Bitbucket),
            "gitea" | "forgejo" => Some(Provider::Gitea),
            _ => None,
        }
    }

    /// The canonical lowercase name (the path segment).
    pub fn as_str(&self) -> &'static str {
        match self {
            Provider::GitHub => "github",
            Provider::GitLab => "gitlab",
            Provider::Gitee => "gitee",
            Provider::Codeup => "codeup",
            Provider::Bitbucket => "bitbucket",
            Provider::Gitea => "gitea",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a delivery was not accepted as authentic. Never contains the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A required header is absent or empty; names the header(s) expected.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// The signature or token in the named header does not match.
    #[error("{0} does not match the configured secret")]
    Mismatch(&'static str),
    /// The signed timestamp is too far from now (replay protection).
    #[error("{header} is outside the allowed window of ±{window_s} s")]
    OutsideWindow {
        /// The header that carries the timestamp.
        header: &'static str,
        /// The tolerance, in seconds.
        window_s: u64,
    },
    /// A header is present but cannot be parsed.
    #[error("malformed {header} header: {reason}")]
    Malformed {
        /// The header at fault.
        header: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The configured secret cannot be used (empty, or not in the required form).
    #[error("unusable webhook secret: {0}")]
    BadSecret(String),
}

/// Verifies a delivery exactly as the provider documents it, comparing in
/// constant time, against the raw request `body`.
///
/// - GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`.
/// - GitLab: `X-Gitlab-Token` equals the secret, or (when the secret is a
///   `whsec_…` signing token) a Standard-Webhooks `webhook-signature` over
///   `id.timestamp.body`, within ±5 minutes.
/// - Gitee: `X-Gitee-Token` equals the password, or equals
///   `base64(HMAC-SHA256(secret, "<X-Gitee-Timestamp>\n<secret>"))` (plain or
///   URL-encoded) with the timestamp within ±1 hour.
/// - Codeup: `X-Codeup-Token` equals the secret.
/// - Bitbucket: `X-Hub-Signature: sha256=<hex>` over the body.
/// - Gitea/Forgejo: `X-Gitea-Signature` or `X-Forgejo-Signature`, bare hex
///   HMAC-SHA256 over the JSON payload (the decoded `payload` field when the
///   body is form-encoded).
///
/// An empty `secret` is always rejected ([`AuthError::BadSecret`]): it
/// would let anyone forge deliveries.
pub fn verify(
    provider: Provider,
    headers: &Headers,
    body: &[u8],
    secret: &str,
    now_ms: u64,
) -> Result<(), AuthError> {
    if secret.is_empty() {
        return Err(AuthError::BadSecret("the secret is empty".into()));
    }
    match provider {
        Provider::GitHub => github::verify(headers, body, secret),
        Provider::GitLab => gitlab::verify(headers, body, secret, now_ms),
        Provider::Gitee => gitee::verify(headers, secret, now_ms),
        Provider::Codeup => codeup::verify(headers, secret),
        Provider::Bitbucket => bitbucket::verify(headers, body, secret),
        Provider::Gitea => gitea::verify(headers, body, secret),
    }
}

/// The provider's delivery id, stable across retries where the provider
/// documents one: GitHub `X-GitHub-Delivery`, GitLab `Idempotency-Key`
/// (falling back to `X-Gitlab-Event-UUID`), Bitbucket `X-Request-UUID`,
/// Gitea `X-Gitea-Delivery` / `X-Forgejo-Delivery`. `None` for Gitee and
/// Codeup, which document none.
pub fn delivery_id(provider: Provider, headers: &Headers) -> Option<String> {
    let names: &[&str] = match provider {
        Provider::GitHub => &["x-github-delivery"],
        Provider::GitLab => &["idempotency-key", "x-gitlab-event-uuid"],
        Provider::Bitbucket => &["x-request-uuid"],
        Provider::Gitea => &["x-gitea-delivery", "x-forgejo-delivery"],
        Provider::Gitee | Provider::Codeup => &[],
    };
    names
        .iter()
        .find_map(|name| header(headers, name))
        .map(str::to_owned)
}

/// Why a delivery body could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The body or headers do not have the documented shape; the text says
    /// what is missing or wrong (e.g. "missing field `after`").
    #[error("malformed webhook: {0}")]
    Malformed(String),
}

/// Parses a (verified) delivery into a provider-neutral event.
///
/// Event types Slipway does not act on come back as [`ParsedEvent::Ignored`];
/// only a body that claims to be a handled event but lacks its fields is an
/// error. A Bitbucket push that updates several refs yields its first ref
/// change here; use [`parse_all`] to get one event per ref.
pub fn parse(
    provider: Provider,
    headers: &Headers,
    body: &[u8],
) -> Result<ParsedEvent, EventError> {
    match provider {
        Provider::GitHub => github::parse(headers, body),
        Provider::GitLab => gitlab::parse(headers, body),
        Provider::Gitee => gitee::parse(headers, body),
        Provider::Codeup => codeup::parse(headers, body),
        Provider::Bitbucket => bitbucket::parse(headers, body),
        Provider::Gitea => gitea::parse(headers, body),
    }
}

/// Like [`parse`], but returns one event per updated ref: a Bitbucket
/// `repo:push` may carry several ref changes. Other providers send one ref
/// per delivery, so this is `vec![parse(..)?]` for them.
pub fn parse_all(
    provider: Provider,
    headers: &Headers,
    body: &[u8],
) -> Result<Vec<ParsedEvent>, EventError> {
    match provider {
        Provider::Bitbucket => bitbucket::parse_all(headers, body),
        _ => Ok(vec![parse(provider, headers, body)?]),
    }
}

/// A webhook delivery, reduced to what Slipway acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedEvent {
    /// A connectivity test (GitHub/Gitea `ping`).
    Ping,
    /// A branch or tag push, including creation and deletion.
    Push(PushEvent),
    /// A pull/merge request was opened, updated, closed, merged, …
    MergeRequest(MergeRequestEvent),
    /// A GitHub Actions workflow run changed state.
    WorkflowRun(WorkflowRunEvent),
    /// A GitHub check run (one job of a workflow run) changed state.
    CheckRun(CheckRunEvent),
    /// A GitHub check suite (for Actions: a whole workflow run) changed state.
    CheckSuite(CheckSuiteEvent),
    /// A GitLab CI pipeline changed state.
    Pipeline(PipelineEvent),
    /// A comment on a pull/merge request.
    Comment(CommentEvent),
    /// An event type Slipway does not act on.
    Ignored {
        /// The provider's name for the event (header value or `object_kind`).
        event: String,
        /// Why it is ignored.
        reason: String,
    },
}

/// A push to one ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEvent {
    /// Full repository path, `owner/name` (GitLab: `group/sub/project`).
    pub repo: String,
    /// HTTPS clone URL, when the payload has one (Bitbucket: derived).
    pub clone_url: Option<String>,
    /// Full ref: `refs/heads/main` or `refs/tags/v1.2.0`.
    pub git_ref: String,
    /// Commit before the push (all zeros when the ref was created).
    pub before: String,
    /// Commit after the push (all zeros when the ref was deleted).
    pub after: String,
    /// The ref was deleted.
    pub deleted: bool,
    /// The ref was created.
    pub created: bool,
    /// Who pushed (login where the payload has one, else display name).
    pub pusher: Option<String>,
    /// Sorted union of added, modified and removed paths over the commits.
    pub changed_paths: Vec<String>,
    /// False when the list may miss paths (commits truncated, no commits,
    /// or no per-commit file lists): callers then treat path filters as
    /// matching.
    pub paths_complete: bool,
}

impl PushEvent {
    /// The branch name, if this is a branch push.
    pub fn branch(&self) -> Option<&str> {
        self.git_ref.strip_prefix("refs/heads/")
    }

    /// The tag name, if this is a tag push.
    pub fn tag(&self) -> Option<&str> {
        self.git_ref.strip_prefix("refs/tags/")
    }
}

/// What happened to a merge request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MrAction {
    /// Newly opened.
    Opened,
    /// New commits on the source branch (GitHub `synchronize`, GitLab
    /// `update` with `oldrev`, Bitbucket `pullrequest:updated`, …).
    Updated,
    /// Reopened after being closed.
    Reopened,
    /// Closed without merging.
    Closed,
    /// Merged.
    Merged,
    /// Anything else (edited, labeled, approved, ready_for_review, …), as
    /// the provider names it.
    Other(String),
}

/// A pull/merge request event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRequestEvent {
    /// Target repository, `owner/name`.
    pub repo: String,
    /// Number within the repository (GitLab/Codeup `iid`, Bitbucket `id`).
    pub number: u64,
    /// What happened.
    pub action: MrAction,
    /// Source branch name.
    pub source_branch: String,
    /// Target branch name.
    pub target_branch: String,
    /// Head commit of the source branch. Bitbucket sends a 12-character
    /// abbreviation: resolve it through the API before using it as a SHA.
    pub head_sha: String,
    /// Source repository, `owner/name` (differs from `repo` for forks).
    pub source_repo: String,
    /// HTTPS clone URL of the source repository, where the payload has one
    /// (Bitbucket: derived from its full name, as for pushes).
    pub source_clone_url: Option<String>,
    /// Web page of the request.
    pub url: Option<String>,
    /// Marked as draft / work in progress.
    pub draft: bool,
    /// Who opened it (or, where the provider names only the actor of the
    /// event, who caused this one): the provider login.
    pub author: Option<String>,
    /// The author's relation to the repository where the provider says
    /// (GitHub's and Gitea's `author_association`: `OWNER`, `MEMBER`,
    /// `COLLABORATOR`, `CONTRIBUTOR`, `FIRST_TIME_CONTRIBUTOR`, `NONE`…).
    pub author_association: Option<String>,
}

/// A comment on a pull/merge request (what `/ok-to-test` comes in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentEvent {
    /// Target repository, `owner/name`.
    pub repo: String,
    /// The request's number within the repository.
    pub number: u64,
    /// The comment's text.
    pub body: String,
    /// Who wrote it: the provider login.
    pub author: String,
    /// Their relation to the repository, where the provider says.
    pub author_association: Option<String>,
    /// The request's head commit when the comment was made, where the
    /// payload carries it (GitLab, Codeup, Gitee; Bitbucket abbreviated).
    pub head_sha: Option<String>,
    /// A new comment (not an edit or a deletion).
    pub created: bool,
}

/// A GitHub Actions workflow run event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowRunEvent {
    /// Repository, `owner/name`.
    pub repo: String,
    /// The webhook action (`requested`, `in_progress`, `completed`, …).
    pub action: String,
    /// Run id.
    pub id: u64,
    /// Workflow (or check) name.
    pub name: String,
    /// `queued`, `in_progress`, `completed`, …
    pub status: String,
    /// `success`, `failure`, `cancelled`, … once completed.
    pub conclusion: Option<String>,
    /// Commit the run is for.
    pub head_sha: String,
    /// Branch the run is for, when known.
    pub head_branch: Option<String>,
    /// Web page of the run.
    pub html_url: String,
    /// Attempt number (1 for the first run).
    pub run_attempt: u64,
    /// What started the run (`workflow_dispatch`, `push`, …).
    pub event: Option<String>,
    /// The workflow file, `.github/workflows/build.yml`.
    pub path: Option<String>,
    /// The workflow's numeric id.
    pub workflow_id: Option<u64>,
    /// API URL of the run.
    pub url: Option<String>,
}

impl ParsedEvent {
    /// The repository the event names (before its signature is checked,
    /// only to choose the secret to check it with).
    pub fn repo(&self) -> Option<&str> {
        match self {
            ParsedEvent::Push(p) => Some(&p.repo),
            ParsedEvent::MergeRequest(m) => Some(&m.repo),
            ParsedEvent::WorkflowRun(w) => Some(&w.repo),
            ParsedEvent::CheckRun(c) => Some(&c.repo),
            ParsedEvent::CheckSuite(c) => Some(&c.repo),
            ParsedEvent::Pipeline(p) => Some(&p.repo),
            ParsedEvent::Comment(c) => Some(&c.repo),
            ParsedEvent::Ping | ParsedEvent::Ignored { .. } => None,
        }
    }

    /// Whether it reports on a build rather than on the repository.
    pub fn is_build_status(&self) -> bool {
        matches!(
            self,
            ParsedEvent::WorkflowRun(_)
                | ParsedEvent::CheckRun(_)
                | ParsedEvent::CheckSuite(_)
                | ParsedEvent::Pipeline(_)
        )
    }
}

/// A GitLab pipeline event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineEvent {
    /// Project path, `group/project`.
    pub repo: String,
    /// Pipeline id.
    pub id: u64,
    /// `created`, `pending`, `running`, `success`, `failed`, `canceled`, …
    pub status: String,
    /// Commit the pipeline runs.
    pub sha: String,
    /// Full ref (`refs/heads/x`, `refs/tags/x`, or GitLab's own
    /// `refs/merge-requests/…` as sent).
    pub git_ref: String,
    /// Web page of the pipeline.
    pub url: Option<String>,
    /// Duration in whole seconds, once known.
    pub duration: Option<u64>,
    /// The status is terminal (success, failed, canceled, skipped).
    pub finished: bool,
}

/// The value of header `name` (lowercase), trimmed; `None` when absent or empty.
pub(crate) fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    let value = match headers.get(name) {
        Some(v) => Some(v),
        None => headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v),
    };
    value.map(|v| v.trim()).filter(|v| !v.is_empty())
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::Headers;

    /// Headers from pairs (names lowercased, as Spin delivers them).
    pub fn headers(pairs: &[(&str, &str)]) -> Headers {
        pairs
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_owned()))
            .collect()
    }

    /// Lowercase hex HMAC-SHA256.
    pub fn hmac_hex(secret: &str, body: &[u8]) -> String {
        hex::encode(super::signature::hmac_sha256(secret.as_bytes(), &[body]).unwrap_or([0; 32]))
    }

    /// A fixture as a mutable JSON value.
    pub fn json(text: &str) -> serde_json::Value {
        serde_json::from_str(text).expect("fixture is JSON")
    }
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
