//! Web sign-in without an identity provider: a one-time login link, which
//! the chat command `login` or an API token's owner asks for, exchanged
//! once for a signed, expiring session cookie ([`cookie`]).
//!
//! | key | value |
//! |---|---|
//! | `sessions/serial` | counter: makes every code and session id unique |
//! | `login/{sha256(code)}` | [`LoginCode`]: whom the code signs in, until when, and whether it was used |
//! | `session/{id}` | [`SessionRecord`]: a live session; signing out deletes it, so its cookie stops working |
//!
//! Codes and session ids are HMACs of the serial under `session_secret`:
//! unique by the counter, unguessable without the secret. Only the hash
//! of a code is stored, so reading the store does not sign anyone in.

pub mod cookie;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cells::CellError;
use crate::ports::{KeyValue, KvError, Swap};
pub use cookie::{COOKIE_NAME, Claims, CookieError, SessionKey, cookie_value};

/// The Spin variable holding the signing secret.
pub const SESSION_SECRET: &str = "session_secret";
/// How long a login link works.
pub const LOGIN_TTL_MS: u64 = 10 * 60 * 1000;
/// How long a session lasts.
pub const SESSION_TTL_MS: u64 = 12 * 60 * 60 * 1000;

/// A login code as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginCode {
    /// Whom it signs in.
    pub person: String,
    /// Who asked for it (`slack:…`, `token:…`).
    pub issued_by: String,
    /// Until when it works.
    pub expires_at_ms: u64,
    /// When it was exchanged, once it was.
    pub used_at_ms: Option<u64>,
}

/// A live session as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The person signed in.
    pub person: String,
    /// Who issued the login link it came from.
    pub issued_by: String,
    /// Since when.
    pub created_at_ms: u64,
    /// Until when.
    pub expires_at_ms: u64,
}

/// A login link just issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginLink {
    /// The link to open.
    pub url: String,
    /// Until when it works.
    pub expires_at_ms: u64,
}

/// Why signing in or a session check fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The store failed.
    #[error(transparent)]
    Kv(#[from] KvError),
    /// No such login code.
    #[error("unknown sign-in link")]
    UnknownCode,
    /// The code was already exchanged.
    #[error("this sign-in link was already used; ask for a new one")]
    UsedCode,
    /// The code expired.
    #[error("this sign-in link expired; ask for a new one")]
    ExpiredCode,
    /// The cookie is not valid.
    #[error(transparent)]
    Cookie(#[from] CookieError),
    /// The cookie is valid but its session ended (signed out).
    #[error("session ended; sign in again")]
    Ended,
    /// A stored record is unreadable.
    #[error("stored record {0:?} is corrupt")]
    Corrupt(String),
}

impl From<CellError> for SessionError {
    fn from(e: CellError) -> Self {
        match e {
            CellError::Kv(e) => SessionError::Kv(e),
            CellError::Corrupt(key, _) | CellError::Contention(key) => SessionError::Corrupt(key),
        }
    }
}

fn code_key(code: &str) -> String {
    format!("login/{}", hex::encode(Sha256::digest(code.as_bytes())))
}

fn session_key(id: &str) -> String {
    format!("session/{id}")
}

/// Sessions and login codes in a key-value store.
pub struct Sessions<'a, K> {
    kv: &'a K,
    key: &'a SessionKey,
}

impl<'a, K: KeyValue> Sessions<'a, K> {
    /// Sessions in `kv`, signed with `key`.
    pub fn new(kv: &'a K, key: &'a SessionKey) -> Self {
        Sessions { kv, key }
    }

    async fn unique(&self, purpose: &str, now_ms: u64) -> Result<String, SessionError> {
        let serial = self.kv.increment("sessions/serial", 1).await?;
        Ok(self
            .key
            .derive(&[purpose, &serial.to_string(), &now_ms.to_string()]))
    }

    /// Issues a one-time link under `public_url` that signs `person` in.
    pub async fn issue_login(
        &self,
        public_url: &str,
        person: &str,
        issued_by: &str,
        now_ms: u64,
    ) -> Result<LoginLink, SessionError> {
        let code = self.unique("login", now_ms).await?;
        let record = LoginCode {
            person: person.to_owned(),
            issued_by: issued_by.to_owned(),
            expires_at_ms: now_ms + LOGIN_TTL_MS,
            used_at_ms: None,
        };
        let bytes =
            serde_json::to_vec(&record).map_err(|_| SessionError::Corrupt(code_key(&code)))?;
        self.kv.set(&code_key(&code), &bytes).await?;
        Ok(LoginLink {
            url: format!("{}/login?code={code}", public_url.trim_end_matches('/')),
            expires_at_ms: record.expires_at_ms,
        })
    }

    /// Exchanges `code` (once) for a new session; returns its claims.
    pub async fn redeem(&self, code: &str, now_ms: u64) -> Result<Claims, SessionError> {
        let key = code_key(code);
        let raw = self.kv.get(&key).await?.ok_or(SessionError::UnknownCode)?;
        let mut login: LoginCode =
            serde_json::from_slice(&raw).map_err(|_| SessionError::Corrupt(key.clone()))?;
        if login.used_at_ms.is_some() {
            return Err(SessionError::UsedCode);
        }
        if now_ms >= login.expires_at_ms {
            return Err(SessionError::ExpiredCode);
        }
        login.used_at_ms = Some(now_ms);
        let used = serde_json::to_vec(&login).map_err(|_| SessionError::Corrupt(key.clone()))?;
        // Exactly one exchange wins the swap; a racing one sees it used.
        if self.kv.compare_and_swap(&key, &raw, &used).await? != Swap::Swapped {
            return Err(SessionError::UsedCode);
        }
        let session = self.unique("session", now_ms).await?;
        let record = SessionRecord {
            person: login.person.clone(),
            issued_by: login.issued_by,
            created_at_ms: now_ms,
            expires_at_ms: now_ms + SESSION_TTL_MS,
        };
        let bytes = serde_json::to_vec(&record)
            .map_err(|_| SessionError::Corrupt(session_key(&session)))?;
        self.kv.set(&session_key(&session), &bytes).await?;
        Ok(Claims {
            session,
            expires_at_ms: record.expires_at_ms,
            person: login.person,
        })
    }

    /// The claims of cookie `value` if it is signed, unexpired, and its
    /// session has not ended.
    pub async fn check(&self, value: &str, now_ms: u64) -> Result<Claims, SessionError> {
        let claims = Claims::open(value, self.key, now_ms)?;
        let record: SessionRecord = crate::cells::load(self.kv, &session_key(&claims.session))
            .await?
            .ok_or(SessionError::Ended)?;
        if record.person != claims.person {
            return Err(SessionError::Cookie(CookieError::Forged));
        }
        Ok(claims)
    }

    /// Ends session `id`: its cookie no longer works.
    pub async fn end(&self, id: &str) -> Result<(), SessionError> {
        self.kv.delete(&session_key(id)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
