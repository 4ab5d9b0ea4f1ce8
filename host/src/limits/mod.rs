//! The host's defences against misbehaving guests and clients.
//!
//! - [`timeout`]: a wall-clock bound on every request, enforced inside guest
//!   code by epoch interruption, so a guest stuck in a CPU loop is stopped.
//! - [`memory`]: a cap on the linear memory of one instance.
//! - [`body`]: a cap on request bodies, counted while they stream.
//! - [`concurrency`]: a cap on the requests one component serves at a time.
//!
//! Every limit is a `slipway up` flag; `0` turns a limit off.

pub mod body;
pub mod concurrency;
pub mod memory;
pub mod timeout;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use crate::app::HttpBody;

/// Default `--request-timeout`.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default `--max-instance-memory`: 256 MiB.
pub const DEFAULT_MAX_INSTANCE_MEMORY: u64 = 256 << 20;
/// Default `--max-request-body`: 32 MiB, above the 25 MiB webhook bodies
/// the git-hooks component accepts.
pub const DEFAULT_MAX_REQUEST_BODY: u64 = 32 << 20;
/// Default `--max-concurrent-requests` (per component).
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 256;

/// The limits the host enforces; `None` means "no limit".
#[derive(Debug, Clone, Copy)]
pub struct HostLimits {
    /// Longest wall-clock time a request may take.
    pub request_timeout: Option<Duration>,
    /// Most linear memory, in bytes, one instance may have.
    pub max_instance_memory: Option<usize>,
    /// Largest request body, in bytes.
    pub max_request_body: Option<u64>,
    /// Most requests one component serves at the same time.
    pub max_concurrent_requests: Option<usize>,
}

impl Default for HostLimits {
    fn default() -> Self {
        HostLimits {
            request_timeout: Some(DEFAULT_REQUEST_TIMEOUT),
            max_instance_memory: usize::try_from(DEFAULT_MAX_INSTANCE_MEMORY).ok(),
            max_request_body: Some(DEFAULT_MAX_REQUEST_BODY),
            max_concurrent_requests: Some(DEFAULT_MAX_CONCURRENT_REQUESTS),
        }
    }
}

/// Why the host answered a request itself instead of letting a guest answer.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    /// The request body is, or was declared to be, larger than the limit.
    #[error("request body larger than the {limit}-byte limit")]
    BodyTooLarge {
        /// `--max-request-body`.
        limit: u64,
    },
    /// The component already serves as many requests as it may.
    #[error("component {component:?} is already serving {limit} requests")]
    Busy {
        /// The component id.
        component: String,
        /// `--max-concurrent-requests`.
        limit: usize,
    },
}

impl Rejection {
    /// The response the client gets: 413, or 503 with `Retry-After: 1`.
    pub fn into_response(self) -> http::Response<HttpBody> {
        let (status, text) = match &self {
            Rejection::BodyTooLarge { .. } => {
                (http::StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large\n")
            }
            Rejection::Busy { .. } => (
                http::StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable\n",
            ),
        };
        let mut response = http::Response::new(
            Full::new(Bytes::from_static(text.as_bytes()))
                .map_err(|never| match never {})
                .boxed_unsync(),
        );
        *response.status_mut() = status;
        let headers = response.headers_mut();
        match self {
            Rejection::Busy { .. } => {
                headers.insert(
                    http::header::RETRY_AFTER,
                    http::HeaderValue::from_static("1"),
                );
            }
            Rejection::BodyTooLarge { .. } => {
                // The rest of the body is never read: the connection ends.
                headers.insert(
                    http::header::CONNECTION,
                    http::HeaderValue::from_static("close"),
                );
            }
        }
        response
    }
}
