//! An environment's lock record (`lock/{app}/{env}`): which deployment
//! holds the environment, until when, and whether a person locked it.

use serde::{Deserialize, Serialize};

/// Key of an environment's lock record.
pub fn lock_key(app: &str, env: &str) -> String {
    format!("lock/{app}/{env}")
}

/// Who holds an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    /// Goes up with every change.
    pub version: u64,
    /// The deployment holding it.
    pub holder: Option<String>,
    /// Since when.
    pub since_ms: Option<u64>,
    /// When a holder that stopped renewing it loses it.
    pub expires_at_ms: Option<u64>,
    /// A person locked the environment: no new deployment starts until
    /// they (or another deployer) unlock it ([`super::freeze`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frozen: Option<Freeze>,
}

impl Lock {
    /// Never held, not frozen.
    pub fn fresh() -> Lock {
        Lock {
            version: 1,
            holder: None,
            since_ms: None,
            expires_at_ms: None,
            frozen: None,
        }
    }
}

/// Who locked an environment, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freeze {
    /// The person.
    pub by: String,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Since when.
    pub since_ms: u64,
}
