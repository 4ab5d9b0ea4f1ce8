//! Provider REST APIs: read one file at a commit, set a commit status.
//! Only builds requests and interprets responses; the caller sends them.

use super::Provider;
use crate::ports::{HttpRequest, HttpResponse};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use std::fmt;

/// GitHub's REST API version header value.
pub(super) const GITHUB_API_VERSION: &str = "2022-11-28";
/// Sent on every request (GitHub rejects requests without one).
const USER_AGENT: &str = "slipway";
/// GitHub's limit on a status description, applied everywhere.
const MAX_DESCRIPTION_CHARS: usize = 140;
/// Codeup's limit on a status context.
const CODEUP_MAX_CONTEXT_CHARS: usize = 50;
/// How much of an error body an [`ApiError`] quotes.
const SNIPPET_CHARS: usize = 200;

/// Where and how to reach one provider's API.
#[derive(Clone, PartialEq, Eq)]
pub struct RepoApi {
    /// Which provider this is.
    pub provider: Provider,
    /// API root without a trailing slash, e.g. `https://api.github.com`,
    /// `https://gitlab.example.com/api/v4`, `https://gitee.com/api/v5`,
    /// `https://openapi-rdc.aliyuncs.com` (Codeup),
    /// `https://api.bitbucket.org/2.0`, `https://gitea.example.com/api/v1`.
    pub api_base: String,
    /// Access token (a secret: never shown by `Debug` or in errors).
    pub token: Option<String>,
    /// Codeup organization id; without it the Region-edition paths are used.
    pub organization: Option<String>,
}

impl fmt::Debug for RepoApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RepoApi")
            .field("provider", &self.provider)
            .field("api_base", &self.api_base)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("organization", &self.organization)
            .finish()
    }
}

impl RepoApi {
    pub(super) fn base(&self) -> &str {
        self.api_base.trim_end_matches('/')
    }

    /// Codeup's repository root: `/oapi/v1/codeup[/organizations/{org}]/repositories/{repo}`.
    fn codeup_repo(&self, repo: &str) -> String {
        match &self.organization {
            Some(org) => format!(
                "{}/oapi/v1/codeup/organizations/{}/repositories/{}",
                self.base(),
                encode_component(org),
                encode_component(repo)
            ),
            None => format!(
                "{}/oapi/v1/codeup/repositories/{}",
                self.base(),
                encode_component(repo)
            ),
        }
    }

    /// Adds the provider's authentication and common headers.
    pub(super) fn authorize(&self, mut request: HttpRequest) -> HttpRequest {
        request = request.header("user-agent", USER_AGENT);
        let Some(token) = &self.token else {
            return request;
        };
        match self.provider {
            Provider::GitHub | Provider::Bitbucket => {
                request.header("authorization", format!("Bearer {token}"))
            }
            Provider::GitLab => request.header("private-token", token.clone()),
            Provider::Codeup => request.header("x-yunxiao-token", token.clone()),
            Provider::Gitea => request.header("authorization", format!("token {token}")),
            // Gitee takes the token as the `access_token` query parameter.
            Provider::Gitee => request,
        }
    }
}

/// A provider API call that did not succeed. Never contains the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// An unexpected HTTP status, with the start of the body.
    #[error("{provider} API answered HTTP {status}: {snippet}")]
    Status {
        /// Which provider answered.
        provider: Provider,
        /// The HTTP status code.
        status: u16,
        /// The first characters of the response body.
        snippet: String,
    },
    /// A successful answer whose body is not in the documented form.
    #[error("{provider} API answer could not be decoded: {reason}")]
    Decode {
        /// Which provider answered.
        provider: Provider,
        /// What is wrong with it.
        reason: String,
    },
}

impl ApiError {
    pub(super) fn status(api: &RepoApi, response: &HttpResponse) -> ApiError {
        let mut snippet = response.text_snippet(SNIPPET_CHARS);
        // In case the provider echoes the request (Gitee's token is in the URL).
        if let Some(token) = api.token.as_deref().filter(|t| !t.is_empty()) {
            snippet = snippet.replace(token, "<redacted>");
        }
        ApiError::Status {
            provider: api.provider,
            status: response.status,
            snippet,
        }
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters (so `/`
/// becomes `%2F`, as GitLab's project ids and file paths require).
pub(super) fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encodes each `/`-separated segment, keeping the slashes.
pub(super) fn encode_path(s: &str) -> String {
    s.trim_matches('/')
        .split('/')
        .map(encode_component)
        .collect::<Vec<_>>()
        .join("/")
}

/// The request for the raw bytes of `path` at `commit` in `repo`
/// (`owner/name`).
pub fn file_request(api: &RepoApi, repo: &str, path: &str, commit: &str) -> HttpRequest {
    let base = api.base();
    let at = encode_component(commit);
    let request = match api.provider {
        Provider::GitHub => HttpRequest::new(
            "GET",
            format!(
                "{base}/repos/{}/contents/{}?ref={at}",
                encode_path(repo),
                encode_path(path)
            ),
        )
        .header("accept", "application/vnd.github.raw+json")
        .header("x-github-api-version", GITHUB_API_VERSION),
        Provider::GitLab => HttpRequest::new(
            "GET",
            format!(
                "{base}/projects/{}/repository/files/{}/raw?ref={at}",
                encode_component(repo),
                encode_component(path.trim_start_matches('/'))
            ),
        ),
        Provider::Gitee => {
            let mut url = format!(
                "{base}/repos/{}/raw/{}?ref={at}",
                encode_path(repo),
                encode_path(path)
            );
            if let Some(token) = &api.token {
                url.push_str(&format!("&access_token={}", encode_component(token)));
            }
            HttpRequest::new("GET", url)
        }
        Provider::Codeup => HttpRequest::new(
            "GET",
            format!(
                "{}/files/{}?ref={at}",
                api.codeup_repo(repo),
                encode_component(path.trim_start_matches('/'))
            ),
        )
        .header("accept", "application/json"),
        Provider::Bitbucket => HttpRequest::new(
            "GET",
            format!(
                "{base}/repositories/{}/src/{at}/{}",
                encode_path(repo),
                encode_path(path)
            ),
        ),
        Provider::Gitea => HttpRequest::new(
            "GET",
            format!(
                "{base}/repos/{}/raw/{}?ref={at}",
                encode_path(repo),
                encode_path(path)
            ),
        ),
    };
    api.authorize(request)
}

/// The file bytes of a [`file_request`] answer: `Ok(Some(bytes))` for 2xx
/// (decoding Codeup's `{content, encoding}` JSON), `Ok(None)` for 404,
/// otherwise an [`ApiError`] with the status and the start of the body.
pub fn decode_file(api: &RepoApi, response: &HttpResponse) -> Result<Option<Vec<u8>>, ApiError> {
    if response.status == 404 {
        return Ok(None);
    }
    if !response.is_success() {
        return Err(ApiError::status(api, response));
    }
    match api.provider {
        Provider::Codeup => decode_codeup_file(api, &response.body).map(Some),
        _ => Ok(Some(response.body.clone())),
    }
}

fn decode_codeup_file(api: &RepoApi, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let fail = |reason: String| ApiError::Decode {
        provider: api.provider,
        reason,
    };
    let json: Value =
        serde_json::from_slice(body).map_err(|e| fail(format!("body is not JSON: {e}")))?;
    // The older API wraps the file in `result`.
    let file = json
        .get("result")
        .filter(|r| r.is_object())
        .unwrap_or(&json);
    let content = file
        .get("content")
        .and_then(Value::as_str)
        .ok_or_else(|| fail("missing field `content`".into()))?;
    match file.get("encoding").and_then(Value::as_str) {
        Some("base64") => {
            let compact: String = content
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            STANDARD
                .decode(compact)
                .map_err(|e| fail(format!("`content` is not base64: {e}")))
        }
        Some("text") | None => Ok(content.as_bytes().to_vec()),
        Some(other) => Err(fail(format!("unknown encoding `{other}`"))),
    }
}

/// The state of a commit status, in Slipway's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitState {
    /// Queued, not started.
    Pending,
    /// Started.
    Running,
    /// Finished successfully.
    Success,
    /// Finished with a failure (tests failed, …).
    Failure,
    /// Could not run (infrastructure error).
    Error,
    /// Stopped before finishing.
    Canceled,
}

/// A commit status to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitStatus {
    /// The state.
    pub state: CommitState,
    /// Identifies the check among others on the commit (e.g. `slipway/build`).
    pub context: String,
    /// One line for humans; cut to 140 characters.
    pub description: String,
    /// Where the details are.
    pub target_url: Option<String>,
}

fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Each provider's word for a state.
fn state_word(provider: Provider, state: CommitState) -> &'static str {
    use CommitState::*;
    match (provider, state) {
        (Provider::GitLab, Pending) => "pending",
        (Provider::GitLab, Running) => "running",
        (Provider::GitLab, Success) => "success",
        (Provider::GitLab, Failure | Error) => "failed",
        (Provider::GitLab, Canceled) => "canceled",
        (Provider::Bitbucket, Pending | Running) => "INPROGRESS",
        (Provider::Bitbucket, Success) => "SUCCESSFUL",
        (Provider::Bitbucket, Failure | Error) => "FAILED",
        (Provider::Bitbucket, Canceled) => "STOPPED",
        // GitHub, Gitea and Codeup: pending/success/failure/error only.
        (_, Pending | Running) => "pending",
        (_, Success) => "success",
        (_, Failure) => "failure",
        (_, Error | Canceled) => "error",
    }
}

/// The provider's create-commit-status request for `sha` in `repo`, or
/// `None` where the provider has no status API (Gitee). Bitbucket requires a
/// link: without `target_url` the commit's page is used.
pub fn status_request(
    api: &RepoApi,
    repo: &str,
    sha: &str,
    status: &CommitStatus,
) -> Option<HttpRequest> {
    let base = api.base();
    let state = state_word(api.provider, status.state);
    let description = cut(&status.description, MAX_DESCRIPTION_CHARS);
    let sha_part = encode_component(sha);
    let (url, mut body) = match api.provider {
        Provider::Gitee => return None,
        Provider::GitHub | Provider::Gitea => (
            format!("{base}/repos/{}/statuses/{sha_part}", encode_path(repo)),
            json!({"state": state, "context": status.context, "description": description}),
        ),
        Provider::GitLab => (
            format!(
                "{base}/projects/{}/statuses/{sha_part}",
                encode_component(repo)
            ),
            json!({"state": state, "name": status.context, "description": description}),
        ),
        Provider::Codeup => (
            format!("{}/commits/{sha_part}/statuses", api.codeup_repo(repo)),
            json!({
                "state": state,
                "context": cut(&status.context, CODEUP_MAX_CONTEXT_CHARS),
                "description": description,
            }),
        ),
        Provider::Bitbucket => (
            format!(
                "{base}/repositories/{}/commit/{sha_part}/statuses/build",
                encode_path(repo)
            ),
            json!({
                "state": state,
                "key": status.context,
                "name": status.context,
                "description": description,
                "url": status.target_url.clone().unwrap_or_else(|| {
                    format!("https://bitbucket.org/{repo}/commits/{sha}")
                }),
            }),
        ),
    };
    if let (Some(target), Some(obj)) = (&status.target_url, body.as_object_mut()) {
        match api.provider {
            Provider::GitHub | Provider::Gitea | Provider::GitLab => {
                obj.insert("target_url".into(), Value::String(target.clone()));
            }
            Provider::Codeup => {
                obj.insert("targetUrl".into(), Value::String(target.clone()));
            }
            Provider::Bitbucket | Provider::Gitee => {}
        }
    }
    let mut request = HttpRequest::new("POST", url).json(&body);
    if api.provider == Provider::GitHub {
        request = request
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", GITHUB_API_VERSION);
    }
    Some(api.authorize(request))
}

/// `Ok` for a 2xx answer to a [`status_request`], and for GitLab's 400
/// "Cannot transition status via :enqueue/:run from …" (the same state
/// posted again: a no-op); otherwise an [`ApiError`].
pub fn interpret_status_response(api: &RepoApi, response: &HttpResponse) -> Result<(), ApiError> {
    if response.is_success() {
        return Ok(());
    }
    if api.provider == Provider::GitLab
        && response.status == 400
        && String::from_utf8_lossy(&response.body).contains("Cannot transition status via")
    {
        return Ok(());
    }
    Err(ApiError::status(api, response))
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
