//! Helpers shared by the service implementations: URL building, refs,
//! authentication headers and secret-free error messages.

use base64::Engine as _;
use url::Url;

use super::config::config_error;
use super::error::BuildError;
use crate::ports::HttpResponse;

/// Longest message quoted from a response body.
const MESSAGE_MAX_CHARS: usize = 200;

/// Most of a response body looked at when building a message.
const BODY_SCAN_BYTES: usize = 64 * 1024;

/// Parses a configured base URL: absolute, `http` or `https`, with a host.
pub(crate) fn parse_base(service: &'static str, raw: &str) -> Result<Url, BuildError> {
    let url = Url::parse(raw.trim())
        .map_err(|e| config_error(service, format!("`{raw}` is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(config_error(
            service,
            format!("`{raw}` must be an absolute http(s) URL"),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(config_error(
            service,
            "credentials do not belong in the URL; use token_secret".to_owned(),
        ));
    }
    Ok(url)
}

/// `base` with its query and fragment removed and `segments` appended as
/// percent-encoded path segments (a `/` inside a segment becomes `%2F`).
pub(crate) fn with_segments(
    service: &'static str,
    base: &Url,
    segments: &[&str],
) -> Result<Url, BuildError> {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    for segment in segments {
        if segment.is_empty() || *segment == "." || *segment == ".." {
            return Err(BuildError::InvalidJob {
                service,
                reason: format!("`{segment}` is not a valid path segment"),
            });
        }
    }
    url.path_segments_mut()
        .map_err(|()| config_error(service, format!("`{base}` cannot take a path")))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// Whether two URLs share scheme, host and port.
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

/// Splits `owner/name`.
pub(crate) fn split_repo<'r>(
    service: &'static str,
    repo: &'r str,
) -> Result<(&'r str, &'r str), BuildError> {
    let mut parts = repo.trim().trim_end_matches(".git").split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(owner), Some(name), None) if !owner.is_empty() && !name.is_empty() => {
            Ok((owner, name))
        }
        _ => Err(BuildError::InvalidJob {
            service,
            reason: format!("repository `{repo}` is not of the form owner/name"),
        }),
    }
}

/// The branch or tag name of a full ref (`refs/heads/main` → `main`,
/// `refs/tags/v1` → `v1`); a name without `refs/` is taken as is. Other
/// refs and commit SHAs are refused: the services want a branch or tag.
pub(crate) fn short_ref<'r>(
    service: &'static str,
    git_ref: &'r str,
) -> Result<&'r str, BuildError> {
    let name = if let Some(branch) = git_ref.strip_prefix("refs/heads/") {
        branch
    } else if let Some(tag) = git_ref.strip_prefix("refs/tags/") {
        tag
    } else if git_ref.starts_with("refs/") {
        return Err(BuildError::InvalidJob {
            service,
            reason: format!("`{git_ref}` is not a branch or tag"),
        });
    } else {
        git_ref
    };
    if name.is_empty() {
        return Err(BuildError::InvalidJob {
            service,
            reason: "the git ref is empty".to_owned(),
        });
    }
    let sha_like = matches!(name.len(), 40 | 64) && name.bytes().all(|b| b.is_ascii_hexdigit());
    if sha_like && !git_ref.starts_with("refs/") {
        return Err(BuildError::InvalidJob {
            service,
            reason: format!("`{name}` looks like a commit SHA; a branch or tag name is needed"),
        });
    }
    Ok(name)
}

/// The value of an `Authorization: Basic` header.
pub(crate) fn basic_auth(user: &str, password: &str) -> String {
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// The secret, or [`BuildError::MissingSecret`] naming the variable.
pub(crate) fn require_secret<'s>(
    service: &'static str,
    name: &str,
    secret: Option<&'s str>,
) -> Result<&'s str, BuildError> {
    match secret {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(BuildError::MissingSecret {
            service,
            name: name.to_owned(),
        }),
    }
}

/// The HTTP method of a plain-HTTP service (`POST` when unset).
pub(crate) fn http_method(method: Option<&str>) -> Result<String, BuildError> {
    let method = method.unwrap_or("POST").trim();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(config_error(
            "http",
            format!("`{method}` is not an HTTP method"),
        ));
    }
    Ok(method.to_ascii_uppercase())
}

/// Whether `name` is an RFC 1123 DNS label (Kubernetes namespace).
pub(crate) fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// `text` with every occurrence of each non-empty secret replaced by `***`.
pub(crate) fn redact(text: &str, secrets: &[Option<&str>]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().flatten() {
        if !secret.is_empty() {
            out = out.replace(secret, "***");
        }
    }
    out
}

/// Cuts `text` to `max` characters, marking the cut with `…`.
pub(crate) fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// A short, single-line, secret-free description of a response body: the
/// `message`/`error` of a JSON body, the `<title>` of an HTML page, or the
/// start of the text.
pub(crate) fn response_message(response: &HttpResponse, secrets: &[Option<&str>]) -> String {
    let end = response.body.len().min(BODY_SCAN_BYTES);
    let text = redact(&String::from_utf8_lossy(&response.body[..end]), secrets);
    let picked = json_message(&text)
        .or_else(|| html_title(&text))
        .unwrap_or(text);
    let single_line = picked.split_whitespace().collect::<Vec<_>>().join(" ");
    let short = truncate_chars(&single_line, MESSAGE_MAX_CHARS);
    if short.is_empty() {
        "(empty body)".to_owned()
    } else {
        short
    }
}

fn json_message(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let object = value.as_object()?;
    ["message", "error_description", "error"]
        .iter()
        .find_map(|key| match object.get(*key)? {
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        })
}

fn html_title(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower[start..].find("</title>")?;
    let title = text.get(start..end)?.trim();
    (!title.is_empty()).then(|| title.to_owned())
}

/// Parses a 2xx body as JSON.
pub(crate) fn json_body(
    service: &'static str,
    response: &HttpResponse,
) -> Result<serde_json::Value, BuildError> {
    serde_json::from_slice(&response.body).map_err(|e| BuildError::InvalidResponse {
        service,
        reason: format!("body is not JSON: {e}"),
    })
}

/// A JSON string or number as text.
pub(crate) fn id_text(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A [`BuildError::Status`] for a non-2xx answer to a status request.
pub(crate) fn status_error(
    service: &'static str,
    response: &HttpResponse,
    secrets: &[Option<&str>],
) -> BuildError {
    BuildError::Status {
        service,
        status: response.status,
        message: response_message(response, secrets),
    }
}
