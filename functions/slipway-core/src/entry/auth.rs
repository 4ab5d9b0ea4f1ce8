//! Bearer tokens, compared in constant time.

use subtle::ConstantTimeEq;

use super::{API_TOKEN, Reply};
use crate::ports::Secrets;
use crate::providers::Headers;

/// The bearer token of a request, if any.
pub fn bearer(headers: &Headers) -> Option<&str> {
    let value = headers.get("authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Whether `given` equals `expected` (constant time for equal lengths).
pub fn same(given: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// Whether the request carries the API token.
pub async fn authorized<S: Secrets>(secrets: &S, headers: &Headers) -> Result<(), Reply> {
    let Some(expected) = secrets.get(API_TOKEN).await else {
        return Err(Reply::error(
            401,
            "the API is disabled: api_token is not set",
        ));
    };
    match bearer(headers) {
        Some(token) if same(token, &expected) => Ok(()),
        _ => Err(Reply::error(401, "missing or wrong bearer token")),
    }
}
