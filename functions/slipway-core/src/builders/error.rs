//! The error type of the build-service module.

/// Why a build-service request could not be built or a response not
/// understood. Messages never contain secrets: response bodies quoted here
/// have the service token and the callback token removed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The service definition cannot be used (bad URL, missing field, …).
    #[error("{service}: invalid configuration: {reason}")]
    Config {
        /// The service type (`jenkins`, `github_actions`, …).
        service: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The service needs a secret and none was given.
    #[error("{service}: the secret named `{name}` is not set")]
    MissingSecret {
        /// The service type.
        service: &'static str,
        /// The name of the Spin variable that should hold it.
        name: String,
    },
    /// The stage's job, ref or repository cannot be sent to this service.
    #[error("{service}: {reason}")]
    InvalidJob {
        /// The service type.
        service: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A stage parameter uses a name Slipway sets itself.
    #[error("{service}: parameter `{name}` is reserved by slipway")]
    ReservedParam {
        /// The service type.
        service: &'static str,
        /// The offending parameter name.
        name: String,
    },
    /// A workflow dispatch would carry more inputs than GitHub accepts.
    #[error(
        "github_actions: a workflow dispatch takes at most {limit} inputs, this stage needs \
         {count} (the `slipway` input plus {} stage params)",
        .count.saturating_sub(1)
    )]
    TooManyInputs {
        /// Inputs needed, including the `slipway` input.
        count: usize,
        /// GitHub's limit.
        limit: usize,
    },
    /// The service answered a status request with a non-2xx status.
    #[error("{service}: HTTP {status}: {message}")]
    Status {
        /// The service type.
        service: &'static str,
        /// The HTTP status.
        status: u16,
        /// A short, secret-free description taken from the body.
        message: String,
    },
    /// The service answered 2xx with a body this module does not understand.
    #[error("{service}: unexpected response: {reason}")]
    InvalidResponse {
        /// The service type.
        service: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The operation is not possible with this service or configuration.
    #[error("{service}: {reason}")]
    Unsupported {
        /// The service type.
        service: &'static str,
        /// Why.
        reason: String,
    },
}

impl BuildError {
    /// Whether trying the same request again later may succeed (a status
    /// request answered 5xx, 429 or 408).
    pub fn is_retryable(&self) -> bool {
        matches!(self, BuildError::Status { status, .. } if is_retryable_status(*status))
    }
}

/// Whether an HTTP status means "try again later": 5xx, 429, 408.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    status >= 500 || status == 429 || status == 408
}
