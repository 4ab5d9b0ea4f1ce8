//! Following a Jenkins queue item until it becomes a build.
//!
//! Jenkins answers a trigger with `201` and `Location: {root}/queue/item/{id}/`.
//! `GET {Location}api/json` shows `why` while the item waits, `cancelled`
//! if it was cancelled, and `executable.{number,url}` once a build started.
//! The item disappears about five minutes after leaving the queue.
//!
//! URLs from Jenkins are built from its configured root URL, which may
//! differ from the one Slipway is configured with (proxy, `http` vs
//! `https`). Credentials go only to the configured origin: a URL elsewhere
//! is re-based onto the configured URL from its `/job/` or `/queue/item/`
//! part, or refused.

use url::Url;

use super::config::{BuildServiceConfig, JenkinsConfig};
use super::error::BuildError;
use super::util;
use crate::ports::{HttpRequest, HttpResponse};

const KIND: &str = "jenkins";

/// State of a Jenkins queue item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueState {
    /// Still queued; `why` is Jenkins' explanation (quiet period, waiting
    /// for an executor, …).
    Waiting {
        /// Why the item is waiting.
        why: String,
    },
    /// A build started.
    Started {
        /// Build number.
        number: u64,
        /// Build URL (ends with `/`), re-based onto the configured URL.
        url: String,
    },
    /// The item was cancelled before it started.
    Cancelled,
}

/// `GET {queue_url}api/json` with the service's credentials.
pub fn queue_item_request(
    service: &BuildServiceConfig,
    queue_url: &str,
    secret: Option<&str>,
) -> Result<HttpRequest, BuildError> {
    let config = jenkins_config(service)?;
    let url = rebase(config, queue_url)?;
    api_get(config, &url, None, secret)
}

/// Reads a queue item's `api/json`.
pub fn interpret_queue_item(
    service: &BuildServiceConfig,
    response: &HttpResponse,
) -> Result<QueueState, BuildError> {
    let config = jenkins_config(service)?;
    if !response.is_success() {
        return Err(util::status_error(KIND, response, &[]));
    }
    let json = util::json_body(KIND, response)?;
    queue_state(config, &json)
}

/// Whether a Jenkins `api/json` document is a queue item rather than a build.
pub(crate) fn is_queue_item(json: &serde_json::Value) -> bool {
    let class = json.get("_class").and_then(|c| c.as_str()).unwrap_or("");
    class.contains("Queue$") || json.get("inQueueSince").is_some()
}

/// The state described by a queue item document.
pub(crate) fn queue_state(
    config: &JenkinsConfig,
    json: &serde_json::Value,
) -> Result<QueueState, BuildError> {
    if json.get("cancelled").and_then(|c| c.as_bool()) == Some(true) {
        return Ok(QueueState::Cancelled);
    }
    if let Some(executable) = json.get("executable").filter(|e| e.is_object()) {
        let number = executable.get("number").and_then(|n| n.as_u64());
        let url = executable.get("url").and_then(|u| u.as_str());
        return match (number, url) {
            (Some(number), Some(url)) => Ok(QueueState::Started {
                number,
                url: rebase(config, url)?.to_string(),
            }),
            _ => Err(BuildError::InvalidResponse {
                service: KIND,
                reason: "queue item `executable` lacks number or url".to_owned(),
            }),
        };
    }
    let why = json
        .get("why")
        .and_then(|w| w.as_str())
        .filter(|w| !w.trim().is_empty())
        .unwrap_or("queued");
    Ok(QueueState::Waiting {
        why: util::truncate_chars(why.trim(), 200),
    })
}

/// `url` (absolute, or relative to the configured root) as a URL on the
/// configured origin, ending with `/`, without query or fragment.
pub(crate) fn rebase(config: &JenkinsConfig, url: &str) -> Result<Url, BuildError> {
    let base = util::parse_base(KIND, &config.url)?;
    let given = base
        .join(url.trim())
        .map_err(|e| BuildError::InvalidResponse {
            service: KIND,
            reason: format!("`{url}` is not a URL: {e}"),
        })?;
    let base_path = base.path().trim_end_matches('/');
    let under_base = given.path().starts_with(&format!("{base_path}/"));
    let mut out = if util::same_origin(&base, &given) && under_base {
        given
    } else {
        let path = given.path();
        let at = ["/job/", "/queue/item/"]
            .iter()
            .filter_map(|marker| path.find(marker))
            .min()
            .ok_or_else(|| BuildError::InvalidResponse {
                service: KIND,
                reason: format!(
                    "refusing to send credentials to `{}`, which is not under the configured URL",
                    given.origin().ascii_serialization()
                ),
            })?;
        let mut rebased = base.clone();
        rebased.set_path(&format!("{base_path}{}", &path[at..]));
        rebased
    };
    out.set_query(None);
    out.set_fragment(None);
    if !out.path().ends_with('/') {
        let path = format!("{}/", out.path());
        out.set_path(&path);
    }
    Ok(out)
}

/// `GET {url}api/json[?tree=…]` with Basic authentication.
pub(crate) fn api_get(
    config: &JenkinsConfig,
    url: &Url,
    tree: Option<&str>,
    secret: Option<&str>,
) -> Result<HttpRequest, BuildError> {
    let token = util::require_secret(KIND, &config.token_secret, secret)?;
    let mut api = url
        .join("api/json")
        .map_err(|e| BuildError::InvalidResponse {
            service: KIND,
            reason: format!("cannot build an API URL from `{url}`: {e}"),
        })?;
    if let Some(tree) = tree {
        api.query_pairs_mut().append_pair("tree", tree);
    }
    Ok(HttpRequest::new("GET", api.as_str())
        .header("authorization", util::basic_auth(&config.user, token))
        .header("accept", "application/json")
        .header("user-agent", "slipway"))
}

fn jenkins_config(service: &BuildServiceConfig) -> Result<&JenkinsConfig, BuildError> {
    match service {
        BuildServiceConfig::Jenkins(c) => Ok(c),
        other => Err(BuildError::Unsupported {
            service: other.kind(),
            reason: "queue items exist only on Jenkins".to_owned(),
        }),
    }
}
