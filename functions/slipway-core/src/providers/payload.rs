//! Reading webhook bodies: JSON or form-encoded `payload=`, typed field
//! access with actionable errors, and the path lists of push commits.

use super::{EventError, Headers, header};
use serde_json::Value;
use std::collections::BTreeSet;

/// A full SHA of zeros (the "no commit" side of a created or deleted ref).
pub(crate) const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

fn malformed(reason: impl Into<String>) -> EventError {
    EventError::Malformed(reason.into())
}

/// Whether the body is `application/x-www-form-urlencoded` (by content
/// type, or, without one, by its `payload=` start).
pub(crate) fn is_form(headers: &Headers, body: &[u8]) -> bool {
    match header(headers, "content-type") {
        Some(ct) => ct
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded"),
        None => body.starts_with(b"payload="),
    }
}

/// The decoded `payload` field of a form-encoded body.
pub(crate) fn form_payload(body: &[u8]) -> Result<String, EventError> {
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|e| malformed(format!("body is not form-encoded: {e}")))?;
    fields
        .into_iter()
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v)
        .ok_or_else(|| malformed("form-encoded body has no `payload` field"))
}

/// The body as a JSON object, unwrapping a form-encoded `payload` field.
pub(crate) fn decode_body(headers: &Headers, body: &[u8]) -> Result<Value, EventError> {
    let value: Value = if is_form(headers, body) {
        let text = form_payload(body)?;
        serde_json::from_str(&text)
            .map_err(|e| malformed(format!("form field `payload` is not JSON: {e}")))?
    } else {
        serde_json::from_slice(body).map_err(|e| malformed(format!("body is not JSON: {e}")))?
    };
    if value.is_object() {
        Ok(value)
    } else {
        Err(malformed("body is not a JSON object"))
    }
}

/// The value at a dotted `path`; JSON `null` counts as absent.
pub(crate) fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(v, |node, key| node.get(key))
        .filter(|v| !v.is_null())
}

/// A string field, or an error naming it.
pub(crate) fn req_str<'a>(v: &'a Value, path: &str) -> Result<&'a str, EventError> {
    match get(v, path) {
        None => Err(malformed(format!("missing field `{path}`"))),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(malformed(format!("field `{path}` is not a string"))),
    }
}

/// A string field, if present and a string.
pub(crate) fn opt_str<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    get(v, path).and_then(Value::as_str)
}

/// The first non-empty string among `paths`.
pub(crate) fn first_str<'a>(v: &'a Value, paths: &[&str]) -> Option<&'a str> {
    paths
        .iter()
        .find_map(|p| opt_str(v, p).filter(|s| !s.is_empty()))
}

/// The first non-empty string among `paths`, or an error naming the first.
pub(crate) fn req_first_str<'a>(v: &'a Value, paths: &[&str]) -> Result<&'a str, EventError> {
    match first_str(v, paths) {
        Some(s) => Ok(s),
        None => Err(malformed(format!(
            "missing field `{}`",
            paths.first().copied().unwrap_or("?")
        ))),
    }
}

/// A non-negative integer field (a number, or digits in a string).
pub(crate) fn req_u64(v: &Value, path: &str) -> Result<u64, EventError> {
    match get(v, path) {
        None => Err(malformed(format!("missing field `{path}`"))),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| malformed(format!("field `{path}` is not a non-negative integer"))),
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| malformed(format!("field `{path}` is not a non-negative integer"))),
        Some(_) => Err(malformed(format!("field `{path}` is not a number"))),
    }
}

/// An integer field, if present (floats are rounded, as GitLab sends both).
pub(crate) fn opt_u64(v: &Value, path: &str) -> Option<u64> {
    match get(v, path)? {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f.round() as u64)
        }),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A boolean field, if present.
pub(crate) fn opt_bool(v: &Value, path: &str) -> Option<bool> {
    get(v, path).and_then(Value::as_bool)
}

/// Whether `sha` is all zeros (SHA-1 or SHA-256 width).
pub(crate) fn is_zero_sha(sha: &str) -> bool {
    !sha.is_empty() && sha.bytes().all(|b| b == b'0')
}

/// The commits array (empty when absent).
pub(crate) fn commits(v: &Value) -> &[Value] {
    get(v, "commits")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The sorted union of `added`, `modified` and `removed` over `commits`,
/// and whether it is complete as far as the commits themselves tell:
/// false when there are no commits, when a commit carries none of the
/// three lists, or when a list reaches `list_cap` entries (the provider's
/// per-commit truncation limit).
pub(crate) fn changed_paths(commits: &[Value], list_cap: Option<usize>) -> (Vec<String>, bool) {
    let mut paths = BTreeSet::new();
    let mut complete = !commits.is_empty();
    for commit in commits {
        let mut listed = false;
        for key in ["added", "modified", "removed"] {
            if let Some(list) = commit.get(key).and_then(Value::as_array) {
                listed = true;
                if list_cap.is_some_and(|cap| list.len() >= cap) {
                    complete = false;
                }
                paths.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
            }
        }
        if !listed {
            complete = false;
        }
    }
    (paths.into_iter().collect(), complete)
}

/// The repository path (`group/name`) of a web URL such as a Codeup
/// `homepage`, without surrounding slashes or a `.git` suffix.
pub(crate) fn repo_path_of_url(web_url: &str) -> Option<String> {
    let parsed = url::Url::parse(web_url).ok()?;
    let path = parsed.path().trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    (!path.is_empty()).then(|| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::test_support::headers;
    use serde_json::json;

    #[test]
    fn json_and_form_bodies() {
        let h = headers(&[("content-type", "application/json")]);
        assert_eq!(decode_body(&h, br#"{"a":1}"#).expect("json")["a"], 1);
        let form = headers(&[("content-type", "application/x-www-form-urlencoded")]);
        let body = b"payload=%7B%22a%22%3A%22x+y%22%7D";
        assert_eq!(decode_body(&form, body).expect("form")["a"], "x y");
        // Without a content type, a `payload=` body is still recognised.
        assert_eq!(
            decode_body(&Headers::new(), body).expect("sniffed")["a"],
            "x y"
        );
    }

    #[test]
    fn body_errors_say_what_is_wrong() {
        let h = Headers::new();
        let e = decode_body(&h, b"{not json").expect_err("bad json");
        assert!(e.to_string().contains("body is not JSON"), "{e}");
        let e = decode_body(&h, b"[1,2]").expect_err("array");
        assert!(e.to_string().contains("not a JSON object"), "{e}");
        let form = headers(&[("content-type", "application/x-www-form-urlencoded")]);
        let e = decode_body(&form, b"other=1").expect_err("no payload");
        assert!(e.to_string().contains("`payload`"), "{e}");
        let e = decode_body(&form, b"payload=nope").expect_err("payload not json");
        assert!(e.to_string().contains("not JSON"), "{e}");
    }

    #[test]
    fn field_access() {
        let v = json!({"a": {"b": "x", "n": 7, "f": 63.6, "s": "12", "z": null, "t": true}});
        assert_eq!(req_str(&v, "a.b").expect("str"), "x");
        assert_eq!(
            req_str(&v, "a.c").expect_err("missing").to_string(),
            "malformed webhook: missing field `a.c`"
        );
        assert!(
            req_str(&v, "a.n")
                .expect_err("type")
                .to_string()
                .contains("not a string")
        );
        assert_eq!(opt_str(&v, "a.z"), None);
        assert_eq!(req_u64(&v, "a.n").expect("n"), 7);
        assert_eq!(req_u64(&v, "a.s").expect("s"), 12);
        assert!(req_u64(&v, "a.b").is_err());
        assert_eq!(opt_u64(&v, "a.f"), Some(64));
        assert_eq!(opt_bool(&v, "a.t"), Some(true));
        assert_eq!(first_str(&v, &["a.z", "a.b"]), Some("x"));
        assert!(
            req_first_str(&v, &["a.q", "a.r"])
                .expect_err("none")
                .to_string()
                .contains("`a.q`")
        );
    }

    #[test]
    fn paths_union_and_completeness() {
        let commits = vec![
            json!({"added": ["b"], "modified": ["a"], "removed": []}),
            json!({"added": null, "modified": ["a", "c"], "removed": null}),
        ];
        let (paths, complete) = changed_paths(&commits, None);
        assert_eq!(paths, vec!["a", "b", "c"]);
        assert!(complete);
        let (_, complete) = changed_paths(&[json!({"id": "x"})], None);
        assert!(!complete, "a commit without file lists");
        let (_, complete) = changed_paths(&[], None);
        assert!(!complete, "no commits");
        let (_, complete) = changed_paths(&[json!({"added": ["a", "b"]})], Some(2));
        assert!(!complete, "list at the cap");
    }

    #[test]
    fn zero_shas_and_url_paths() {
        assert!(is_zero_sha(ZERO_SHA));
        assert!(is_zero_sha(&"0".repeat(64)));
        assert!(!is_zero_sha(""));
        assert!(!is_zero_sha("00a0"));
        assert_eq!(
            repo_path_of_url("https://codeup.aliyun.com/demo/demo").as_deref(),
            Some("demo/demo")
        );
        assert_eq!(
            repo_path_of_url("https://codeup.aliyun.com/org/group/repo.git/").as_deref(),
            Some("org/group/repo")
        );
        assert_eq!(repo_path_of_url("https://codeup.aliyun.com/"), None);
        assert_eq!(repo_path_of_url("not a url"), None);
    }
}
