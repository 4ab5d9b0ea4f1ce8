//! Bearer tokens, compared in constant time.

use subtle::ConstantTimeEq;

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
