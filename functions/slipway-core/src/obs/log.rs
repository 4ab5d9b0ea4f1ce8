//! One JSON line per request and per side effect or remote call, on the
//! component's stdout (Spin and `slipway up` capture it per component).
//!
//! Fields are named by the code, never taken from input: a line holds ids,
//! names, statuses and durations, never a URL's path or query, a header, a
//! body or a secret.

use serde_json::{Map, Value};

/// A log line being built.
#[derive(Debug, Clone, PartialEq)]
pub struct Line(Map<String, Value>);

impl Line {
    /// A line for `event` (`request`, `effect`, `call`) at `now_ms`.
    pub fn new(event: &'static str, now_ms: u64) -> Line {
        let mut fields = Map::new();
        fields.insert("ts".into(), Value::String(timestamp(now_ms)));
        fields.insert("event".into(), Value::String(event.into()));
        Line(fields)
    }

    /// Adds a text field.
    pub fn text(mut self, name: &'static str, value: impl Into<String>) -> Line {
        self.0.insert(name.into(), Value::String(value.into()));
        self
    }

    /// Adds a text field when there is a value.
    pub fn maybe_text(self, name: &'static str, value: Option<&str>) -> Line {
        match value {
            Some(v) => self.text(name, v),
            None => self,
        }
    }

    /// Adds a number.
    pub fn number(mut self, name: &'static str, value: u64) -> Line {
        self.0.insert(name.into(), Value::from(value));
        self
    }

    /// Adds a number when there is one.
    pub fn maybe_number(self, name: &'static str, value: Option<u64>) -> Line {
        match value {
            Some(v) => self.number(name, v),
            None => self,
        }
    }

    /// The field `name`, for tests and callers that route on it.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// The line as JSON, without the newline.
    pub fn render(&self) -> String {
        Value::Object(self.0.clone()).to_string()
    }

    /// Writes the line to stdout in one write (stdout is line-buffered and
    /// the line ends with its only newline), so lines of concurrent
    /// requests sharing the log file do not interleave. `print!`, not a
    /// raw write, so that unit tests capture it.
    pub fn emit(&self) {
        let mut text = self.render();
        text.push('\n');
        print!("{text}");
    }
}

/// `now_ms` as RFC 3339 UTC (milliseconds when there are any).
fn timestamp(now_ms: u64) -> String {
    let nanos = i128::from(now_ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| now_ms.to_string())
}

/// Where a remote call went: scheme, host and port, without path or query
/// (a chat webhook's path is its secret; some callers put tokens in the
/// query).
pub fn origin(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or_default();
            match u.port() {
                Some(port) => format!("{}://{host}:{port}", u.scheme()),
                None => format!("{}://{host}", u.scheme()),
            }
        }
        Err(_) => "invalid-url".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_one_json_object_with_time_and_event() {
        let line = Line::new("request", 1_764_325_860_123)
            .text("component", "git-hooks")
            .number("status", 202)
            .maybe_text("run", None)
            .maybe_number("attempt", Some(2));
        let text = line.render();
        assert!(!text.contains('\n'));
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["ts"], "2025-11-28T10:31:00.123Z");
        assert_eq!(v["event"], "request");
        assert_eq!(v["component"], "git-hooks");
        assert_eq!(v["status"], 202);
        assert_eq!(v["attempt"], 2);
        assert!(v.get("run").is_none());
    }

    #[test]
    fn origins_keep_no_path_query_or_credentials() {
        assert_eq!(
            origin("https://hooks.slack.com/services/T0/B0/secretpart"),
            "https://hooks.slack.com"
        );
        assert_eq!(
            origin("http://user:pw@127.0.0.1:8080/job/x/build?token=abc"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(origin("not a url"), "invalid-url");
    }
}
