//! The session cookie and the CSRF token: what they carry and how they
//! are signed (HMAC-SHA256 under the `session_secret` variable).
//!
//! A cookie value is `v1.{session}.{expires_at_ms}.{person}.{signature}`,
//! the person base64url-encoded, the signature over everything before it.
//! The CSRF token of a session is a second HMAC over its id, so a page
//! that can read the token (same origin) can act, and no other can.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The cookie's name.
pub const COOKIE_NAME: &str = "slipway_session";
/// Shortest `session_secret` accepted.
pub const MIN_SECRET_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// The signing key, from a secret long enough to be one.
#[derive(Clone)]
pub struct SessionKey(HmacSha256);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

impl SessionKey {
    /// The key in `secret`, if it is at least [`MIN_SECRET_LEN`] long.
    pub fn from_secret(secret: &str) -> Option<SessionKey> {
        if secret.len() < MIN_SECRET_LEN {
            return None;
        }
        HmacSha256::new_from_slice(secret.as_bytes())
            .ok()
            .map(SessionKey)
    }

    fn mac(&self, parts: &[&str]) -> HmacSha256 {
        let mut mac = self.0.clone();
        for part in parts {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    /// A value only this key makes, for `parts` (hex, 32 chars).
    pub fn derive(&self, parts: &[&str]) -> String {
        hex::encode(&self.mac(parts).finalize().into_bytes()[..16])
    }

    /// The CSRF token of session `session`.
    pub fn csrf(&self, session: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(&["csrf", session]).finalize().into_bytes())
    }

    /// Whether `token` is the CSRF token of `session` (constant time).
    pub fn csrf_matches(&self, session: &str, token: &str) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        self.mac(&["csrf", session]).verify_slice(&bytes).is_ok()
    }
}

/// What a session cookie says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// The session's id (its record is `session/{id}`).
    pub session: String,
    /// Until when.
    pub expires_at_ms: u64,
    /// The person signed in.
    pub person: String,
}

/// Why a cookie is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CookieError {
    /// Not in the cookie's format.
    #[error("malformed session cookie")]
    Malformed,
    /// The signature does not match: forged or changed.
    #[error("session cookie signature does not match")]
    Forged,
    /// Past its expiry.
    #[error("session expired; sign in again")]
    Expired,
}

impl Claims {
    /// The signed cookie value.
    pub fn seal(&self, key: &SessionKey) -> String {
        let expires = self.expires_at_ms.to_string();
        let person = URL_SAFE_NO_PAD.encode(self.person.as_bytes());
        let signature = key
            .mac(&["v1", &self.session, &expires, &person])
            .finalize()
            .into_bytes();
        format!(
            "v1.{}.{expires}.{person}.{}",
            self.session,
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    /// The claims of cookie `value`, if `key` signed it and it has not
    /// expired at `now_ms`.
    pub fn open(value: &str, key: &SessionKey, now_ms: u64) -> Result<Claims, CookieError> {
        let parts: Vec<&str> = value.split('.').collect();
        let ["v1", session, expires, person, signature] = parts.as_slice() else {
            return Err(CookieError::Malformed);
        };
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| CookieError::Malformed)?;
        key.mac(&["v1", session, expires, person])
            .verify_slice(&signature)
            .map_err(|_| CookieError::Forged)?;
        let expires_at_ms: u64 = expires.parse().map_err(|_| CookieError::Malformed)?;
        if now_ms >= expires_at_ms {
            return Err(CookieError::Expired);
        }
        let person = URL_SAFE_NO_PAD
            .decode(person)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(CookieError::Malformed)?;
        Ok(Claims {
            session: (*session).to_owned(),
            expires_at_ms,
            person,
        })
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SessionKey {
        SessionKey::from_secret("0123456789abcdef0123456789abcdef").expect("long enough")
    }

    fn claims() -> Claims {
        Claims {
            session: "abc".into(),
            expires_at_ms: 2_000,
            person: "alice".into(),
        }
    }

    #[test]
    fn a_sealed_cookie_opens_until_it_expires() {
        let value = claims().seal(&key());
        assert_eq!(Claims::open(&value, &key(), 1_999), Ok(claims()));
        assert_eq!(
            Claims::open(&value, &key(), 2_000),
            Err(CookieError::Expired)
        );
    }

    #[test]
    fn a_changed_or_foreign_cookie_is_forged() {
        let value = claims().seal(&key());
        let other = SessionKey::from_secret("another secret that is long enough!!").expect("key");
        assert_eq!(Claims::open(&value, &other, 0), Err(CookieError::Forged));
        let bob = URL_SAFE_NO_PAD.encode("bob");
        let alice = URL_SAFE_NO_PAD.encode("alice");
        let changed = value.replace(&alice, &bob);
        assert_eq!(Claims::open(&changed, &key(), 0), Err(CookieError::Forged));
        let later = value.replace(".2000.", ".9000.");
        assert_eq!(Claims::open(&later, &key(), 0), Err(CookieError::Forged));
        assert_eq!(
            Claims::open("v1.abc", &key(), 0),
            Err(CookieError::Malformed)
        );
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let token = key().csrf("abc");
        assert!(key().csrf_matches("abc", &token));
        assert!(!key().csrf_matches("abd", &token));
        assert!(!key().csrf_matches("abc", "not-base64!"));
    }

    #[test]
    fn short_secrets_make_no_key() {
        assert!(SessionKey::from_secret("short").is_none());
    }

    #[test]
    fn cookie_values_are_found_by_name() {
        let header = "a=1; slipway_session=v1.x; b=2";
        assert_eq!(cookie_value(header, COOKIE_NAME), Some("v1.x"));
        assert_eq!(cookie_value(header, "c"), None);
    }
}
