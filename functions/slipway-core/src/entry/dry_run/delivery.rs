//! A recorded webhook delivery, as `slipway replay` reads it: either the
//! request as sent (an optional `POST /hooks/{provider} HTTP/1.1` line,
//! `Name: value` header lines, a blank line, the body), or a delivery from
//! GitHub's API (`GET /repos/{o}/{r}/hooks/{id}/deliveries/{delivery_id}`:
//! `{"event", "request": {"headers", "payload"}}`), whose payload GitHub
//! gives back parsed, so its signature cannot be checked.

use serde_json::Value;

use crate::providers::Headers;

/// A delivery to replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The provider named by the request line's `/hooks/{provider}`, if any.
    pub provider: Option<String>,
    /// Header names (lower case) and values.
    pub headers: Headers,
    /// The body.
    pub body: Vec<u8>,
    /// The body was re-serialized (from a provider's API), not as signed.
    pub reserialized: bool,
}

/// Reads a recorded delivery; the error says what is wrong with it.
pub fn parse_delivery(bytes: &[u8]) -> Result<Delivery, String> {
    let text_start = String::from_utf8_lossy(&bytes[..bytes.len().min(256)]);
    if text_start.trim_start().starts_with('{') {
        return from_api(bytes);
    }
    let split = find(bytes, b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| find(bytes, b"\n\n").map(|i| (i, 2)))
        .ok_or("no blank line between the headers and the body")?;
    let head = std::str::from_utf8(&bytes[..split.0]).map_err(|_| "headers are not UTF-8")?;
    let mut provider = None;
    let mut headers = Headers::new();
    for (i, line) in head.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if i == 0 && !line.contains(": ") && line.contains(' ') {
            provider = request_line_provider(line);
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("line {} is not `Name: value`", i + 1))?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    Ok(Delivery {
        provider,
        headers,
        body: bytes[split.0 + split.1..].to_vec(),
        reserialized: false,
    })
}

/// `POST /hooks/github HTTP/1.1` → `github`.
fn request_line_provider(line: &str) -> Option<String> {
    let path = line.split_whitespace().nth(1)?;
    let rest = path.split('?').next()?.strip_prefix("/hooks/")?;
    (!rest.is_empty() && !rest.contains('/')).then(|| rest.to_owned())
}

fn from_api(bytes: &[u8]) -> Result<Delivery, String> {
    let json: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not a JSON delivery: {e}"))?;
    let request = &json["request"];
    let headers: Headers = request["headers"]
        .as_object()
        .ok_or("a JSON delivery needs request.headers (GitHub's hook deliveries API)")?
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|v| (k.to_ascii_lowercase(), v.to_owned())))
        .collect();
    let payload = request
        .get("payload")
        .filter(|p| !p.is_null())
        .ok_or("a JSON delivery needs request.payload")?;
    Ok(Delivery {
        provider: Some("github".into()),
        headers,
        body: serde_json::to_vec(payload).map_err(|e| e.to_string())?,
        reserialized: true,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_request_with_its_request_line() {
        let raw = b"POST /hooks/gitlab HTTP/1.1\r\nX-Gitlab-Event: Push Hook\r\nX-Gitlab-Token: s\r\n\r\n{\"a\":1}";
        let d = parse_delivery(raw).unwrap();
        assert_eq!(d.provider.as_deref(), Some("gitlab"));
        assert_eq!(d.headers["x-gitlab-event"], "Push Hook");
        assert_eq!(d.body, b"{\"a\":1}");
        assert!(!d.reserialized);
    }

    #[test]
    fn headers_only_and_a_github_api_delivery() {
        let d = parse_delivery(b"X-GitHub-Event: ping\n\n{}").unwrap();
        assert_eq!(
            (d.provider, d.headers["x-github-event"].as_str()),
            (None, "ping")
        );
        let api = br#"{"id": 1, "event": "push", "request": {"headers": {"X-GitHub-Event": "push"}, "payload": {"ref": "refs/heads/main"}}}"#;
        let d = parse_delivery(api).unwrap();
        assert!(d.reserialized);
        assert_eq!(d.provider.as_deref(), Some("github"));
        assert_eq!(d.body, br#"{"ref":"refs/heads/main"}"#);
    }

    #[test]
    fn malformed_deliveries_say_why() {
        assert!(
            parse_delivery(b"X-GitHub-Event: ping")
                .unwrap_err()
                .contains("blank line")
        );
        assert!(
            parse_delivery(b"nonsense line\nmore\n\n{}")
                .unwrap_err()
                .contains("line 2")
        );
        assert!(
            parse_delivery(br#"{"request": {}}"#)
                .unwrap_err()
                .contains("request.headers")
        );
    }
}
