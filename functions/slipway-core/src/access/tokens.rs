//! Named API tokens (`[access.tokens.<name>]`): each belongs to a person or
//! a service of `[access.people]`, whose grants say what it may do, and is
//! kept only as a SHA-256 hash in a Spin variable, so neither the
//! configuration, the manifest nor the key-value store holds a usable
//! token.
//!
//! ```toml
//! [access.people.ci-bot]                 # a service is a person without chat ids
//! [access.tokens.release-pipeline]
//! owner = "ci-bot"
//! hash_secret = "token_release_pipeline" # variable = "sha256:<hex of the token>"
//! ```
//!
//! A token is any string of at least [`MIN_TOKEN_LEN`] characters; make one
//! with `openssl rand -hex 32` and its hash with
//! `printf %s "$TOKEN" | sha256sum`.

use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Shortest token accepted: shorter ones are refused before hashing, so a
/// guessable token cannot be configured by mistake and still work.
pub const MIN_TOKEN_LEN: usize = 16;

/// `[access.tokens.<name>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The person or service the token acts as.
    pub owner: String,
    /// The Spin variable holding `sha256:<hex>` of the token.
    pub hash_secret: String,
}

/// Why a configured hash cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// Not `sha256:` followed by 64 hex digits.
    #[error("is not sha256:<64 hex digits>")]
    Malformed,
}

/// A configured token hash, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Parses `sha256:<hex>` (case-insensitive hex, surrounding space ignored).
    pub fn parse(text: &str) -> Result<TokenHash, HashError> {
        let hex_part = text
            .trim()
            .strip_prefix("sha256:")
            .ok_or(HashError::Malformed)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut out).map_err(|_| HashError::Malformed)?;
        Ok(TokenHash(out))
    }

    /// The hash of `token`.
    pub fn of(token: &str) -> TokenHash {
        TokenHash(Sha256::digest(token.as_bytes()).into())
    }

    /// Whether both hashes are equal, in constant time.
    pub fn matches(&self, other: &TokenHash) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }

    /// `sha256:<hex>`, as configured.
    pub fn to_config_value(&self) -> String {
        format!("sha256:{}", hex::encode(self.0))
    }
}

/// Whether a presented bearer token is worth hashing at all.
pub fn plausible(token: &str) -> bool {
    token.len() >= MIN_TOKEN_LEN && token.len() <= 4096
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_round_trip_and_compare() {
        let hash = TokenHash::of("a-long-enough-token");
        let parsed = TokenHash::parse(&hash.to_config_value()).unwrap();
        assert!(parsed.matches(&hash));
        assert!(!parsed.matches(&TokenHash::of("a-long-enough-tokeN")));
        // The hash of the empty string, upper-case, with spaces.
        let empty = "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855 ";
        assert!(TokenHash::parse(empty).unwrap().matches(&TokenHash::of("")));
    }

    #[test]
    fn malformed_hashes_are_refused() {
        for bad in ["", "sha256:", "sha256:abcd", "md5:00", "e3b0c442"] {
            assert_eq!(TokenHash::parse(bad), Err(HashError::Malformed), "{bad}");
        }
    }

    #[test]
    fn short_or_huge_tokens_are_not_plausible() {
        assert!(!plausible("short"));
        assert!(plausible("0123456789abcdef"));
        assert!(!plausible(&"x".repeat(5000)));
    }
}
