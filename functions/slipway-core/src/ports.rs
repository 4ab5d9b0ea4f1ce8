//! The traits through which the domain reaches storage, the network and
//! time. Components implement them over Spin's APIs; tests implement them
//! in memory. Futures need not be `Send`: components run single-threaded.

use std::collections::BTreeMap;

/// A key-value store failure, with the backend's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key-value store: {0}")]
pub struct KvError(pub String);

/// Outcome of a compare-and-swap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Swap {
    /// The value was still the expected one and has been replaced.
    Swapped,
    /// Someone else changed it first; this is the value now (`None`: absent).
    Conflict(Option<Vec<u8>>),
}

/// A key-value store (Spin's `key-value` and `wasi:keyvalue` in production).
///
/// Portable rules, because real Spin stores differ: claim new keys with
/// [`KeyValue::increment`] (whoever gets 1 owns the key), compare-and-swap
/// only keys that already exist, and read counters with `increment(key, 0)`.
#[allow(async_fn_in_trait)]
pub trait KeyValue {
    /// The value of `key`, if set.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    /// Sets `key` to `value`.
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError>;
    /// Removes `key`; removing a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<(), KvError>;
    /// Atomically adds `delta` to the counter at `key` (absent = 0) and
    /// returns the new value.
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        let _ = (key, delta);
        Err(KvError("increment is not supported by this store".into()))
    }
    /// Atomically replaces the value of `key` with `new` if it is still
    /// `expected`.
    async fn compare_and_swap(
        &self,
        key: &str,
        expected: &[u8],
        new: &[u8],
    ) -> Result<Swap, KvError> {
        let _ = (key, expected, new);
        Err(KvError(
            "compare-and-swap is not supported by this store".into(),
        ))
    }
}

/// An outbound HTTP request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Header names (any case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body (empty for none).
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A request with no headers and no body.
    pub fn new(method: &str, url: impl Into<String>) -> Self {
        HttpRequest {
            method: method.to_owned(),
            url: url.into(),
            ..Default::default()
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Sets a JSON body and its content type.
    pub fn json(mut self, value: &serde_json::Value) -> Self {
        self.body = value.to_string().into_bytes();
        self.header("content-type", "application/json")
    }

    /// Sets a body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header names lowercased, with values.
    pub headers: BTreeMap<String, String>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text (lossy), cut to `max` bytes for messages.
    pub fn text_snippet(&self, max: usize) -> String {
        let text = String::from_utf8_lossy(&self.body);
        match text.char_indices().nth(max) {
            Some((i, _)) => format!("{}…", &text[..i]),
            None => text.into_owned(),
        }
    }
}

/// Why an outbound request got no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// No answer within the time allowed.
    #[error("timed out after {0} ms")]
    Timeout(u64),
    /// The host refused the request (not in `allowed_outbound_hosts`).
    #[error("request denied by the outbound allow-list")]
    Denied,
    /// Connection refused, DNS failure, reset, …
    #[error("{0}")]
    Transport(String),
}

/// Outbound HTTP.
#[allow(async_fn_in_trait)]
pub trait HttpClient {
    /// Sends `request`, giving up after `timeout_ms`.
    async fn send(&self, request: HttpRequest, timeout_ms: u64) -> Result<HttpResponse, HttpError>;
}

/// Wall-clock time and waiting.
#[allow(async_fn_in_trait)]
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// Waits `ms` milliseconds.
    async fn sleep(&self, ms: u64);
}

/// Secrets, looked up by name (Spin variables declared `secret = true`).
#[allow(async_fn_in_trait)]
pub trait Secrets {
    /// The secret called `name`, if set and not empty.
    async fn get(&self, name: &str) -> Option<String>;
}
