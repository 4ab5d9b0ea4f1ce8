//! The control-plane configuration changed at run time, without a
//! redeploy: the packaged `config/slipway.toml` is the default, and a
//! version stored through `PUT /api/config` replaces it for every
//! component from the next request on.
//!
//! Keys:
//!
//! | key | value |
//! |---|---|
//! | `config/current` | JSON [`StoredConfig`]: the version in force (its text, or none for the packaged file) and the change history; changed only by compare-and-swap, the version going up by one per change |
//! | `config/text/{sha256}` | a version's text, content-addressed (written before the version that names it, so never missing) |

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::ControlPlane;
use crate::ports::{KeyValue, KvError, Swap};

const CURRENT: &str = "config/current";
/// Changes kept in [`StoredConfig::history`] (older ones are dropped; their
/// texts stay readable by hash).
pub const HISTORY_KEPT: usize = 100;

/// The configuration in force and how it got there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredConfig {
    /// Goes up by one per change; 0 is the packaged file, never stored.
    pub version: u64,
    /// The text in force (none: the packaged file).
    pub text: Option<String>,
    /// Hex SHA-256 of `text` (none: the packaged file).
    pub sha256: Option<String>,
    /// Every change, oldest first (the last [`HISTORY_KEPT`]).
    pub history: Vec<ConfigChange>,
}

/// One change: the audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigChange {
    /// The version it made.
    pub version: u64,
    /// The text's SHA-256 (none: back to the packaged file).
    pub sha256: Option<String>,
    /// Who (a person of `[access.people]`).
    pub by: String,
    /// Through which identity (`api-token:…`, a web session).
    pub identity: String,
    /// When.
    pub at_ms: u64,
    /// Why, as they said.
    pub reason: String,
}

/// Why a change was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigStoreError {
    /// Another change came first: the caller's base version is stale.
    #[error("the configuration is at version {current}, not {expected}: read it again and retry")]
    Conflict {
        /// The version the caller based the change on.
        expected: u64,
        /// The version in force.
        current: u64,
    },
    /// The store failed.
    #[error("state store: {0}")]
    Kv(String),
    /// A stored record cannot be read.
    #[error("stored configuration record is unreadable: {0}")]
    Corrupt(String),
}

impl From<KvError> for ConfigStoreError {
    fn from(e: KvError) -> Self {
        ConfigStoreError::Kv(e.to_string())
    }
}

/// The hex SHA-256 of a configuration text.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A change to make.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    /// The version it is based on (what the caller read).
    pub base_version: u64,
    /// The new text (none: back to the packaged file).
    pub text: Option<&'a str>,
    /// The audit entry's who, identity, when and why (its version and hash
    /// are filled in).
    pub by: &'a str,
    /// Through which identity.
    pub identity: &'a str,
    /// When.
    pub at_ms: u64,
    /// Why.
    pub reason: &'a str,
}

/// The store of configuration versions.
pub struct ConfigStore<'a, K> {
    kv: &'a K,
}

impl<'a, K: KeyValue> ConfigStore<'a, K> {
    /// Over `kv`.
    pub fn new(kv: &'a K) -> Self {
        ConfigStore { kv }
    }

    /// The record in force, with its raw bytes (for compare-and-swap);
    /// none while the packaged file is in force and was never changed.
    /// The key's first value is a counter (see [`ConfigStore::apply`]):
    /// read as version 0.
    async fn read(&self) -> Result<Option<(Vec<u8>, StoredConfig)>, ConfigStoreError> {
        let Some(bytes) = self.kv.get(CURRENT).await? else {
            return Ok(None);
        };
        if bytes.first() != Some(&b'{') {
            return Ok(Some((bytes, packaged())));
        }
        let record =
            serde_json::from_slice(&bytes).map_err(|e| ConfigStoreError::Corrupt(e.to_string()))?;
        Ok(Some((bytes, record)))
    }

    /// The record in force (version 0 with no text: the packaged file).
    pub async fn current(&self) -> Result<StoredConfig, ConfigStoreError> {
        Ok(self.read().await?.map_or_else(packaged, |(_, r)| r))
    }

    /// The key's bytes to swap from. Compare-and-swap needs an existing
    /// key, and a counter is the only atomic create every Spin store has:
    /// the first change creates it with `increment` (whoever gets 1 goes
    /// on; anyone else takes theirs back and meets a conflict).
    async fn existing_or_created(
        &self,
        existing: Option<Vec<u8>>,
        base_version: u64,
    ) -> Result<Vec<u8>, ConfigStoreError> {
        if let Some(bytes) = existing {
            return Ok(bytes);
        }
        let conflict = ConfigStoreError::Conflict {
            expected: base_version,
            current: 0,
        };
        if self.kv.increment(CURRENT, 1).await? != 1 {
            self.kv.increment(CURRENT, -1).await?;
            return Err(conflict);
        }
        self.kv.get(CURRENT).await?.ok_or(conflict)
    }

    /// A version's text by its hash.
    pub async fn text(&self, sha256: &str) -> Result<Option<String>, ConfigStoreError> {
        let bytes = self.kv.get(&format!("config/text/{sha256}")).await?;
        Ok(bytes.map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// Makes `change` the version in force, if `change.base_version` still
    /// is: one compare-and-swap (the text is stored first, by its hash).
    pub async fn apply(&self, change: &Change<'_>) -> Result<StoredConfig, ConfigStoreError> {
        let sha256 = change.text.map(sha256_hex);
        if let (Some(text), Some(sha)) = (change.text, &sha256) {
            self.kv
                .set(&format!("config/text/{sha}"), text.as_bytes())
                .await?;
        }
        let existing = self.read().await?;
        let current_version = existing.as_ref().map_or(0, |(_, r)| r.version);
        if current_version != change.base_version {
            return Err(ConfigStoreError::Conflict {
                expected: change.base_version,
                current: current_version,
            });
        }
        let mut history = existing
            .as_ref()
            .map(|(_, r)| r.history.clone())
            .unwrap_or_default();
        let version = current_version + 1;
        history.push(ConfigChange {
            version,
            sha256: sha256.clone(),
            by: change.by.to_owned(),
            identity: change.identity.to_owned(),
            at_ms: change.at_ms,
            reason: change.reason.to_owned(),
        });
        let excess = history.len().saturating_sub(HISTORY_KEPT);
        history.drain(..excess);
        let record = StoredConfig {
            version,
            text: change.text.map(str::to_owned),
            sha256,
            history,
        };
        let new = serde_json::to_vec(&record).map_err(|e| ConfigStoreError::Kv(e.to_string()))?;
        let old = self
            .existing_or_created(existing.map(|(bytes, _)| bytes), change.base_version)
            .await?;
        match self.kv.compare_and_swap(CURRENT, &old, &new).await? {
            Swap::Swapped => Ok(record),
            Swap::Conflict(_) => Err(ConfigStoreError::Conflict {
                expected: change.base_version,
                current: self.current().await?.version,
            }),
        }
    }
}

/// Version 0: the packaged file, never changed.
fn packaged() -> StoredConfig {
    StoredConfig {
        version: 0,
        text: None,
        sha256: None,
        history: Vec::new(),
    }
}

/// Where the configuration in force comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigSource {
    /// The file packaged with the app.
    Packaged,
    /// A version stored at run time.
    Stored {
        /// Its version.
        version: u64,
    },
    /// A stored version that no longer parses (a newer Slipway may refuse
    /// what an older one took): the packaged file is used, and said so.
    StoredInvalid {
        /// Its version.
        version: u64,
        /// Why it does not parse.
        error: String,
    },
}

/// What the store says is in force.
#[derive(Debug)]
pub enum InForce {
    /// No stored version: the packaged file.
    Packaged,
    /// A stored version that parses.
    Stored {
        /// Its version.
        version: u64,
        /// It, parsed.
        config: Box<ControlPlane>,
    },
    /// A stored version that no longer parses.
    Invalid {
        /// Its version.
        version: u64,
        /// Why it does not parse.
        error: String,
    },
}

/// Reads and parses the stored version in force, if any.
pub async fn in_force<K: KeyValue>(kv: &K) -> Result<InForce, ConfigStoreError> {
    let current = ConfigStore::new(kv).current().await?;
    let Some(text) = &current.text else {
        return Ok(InForce::Packaged);
    };
    Ok(match ControlPlane::parse(text) {
        Ok(config) => InForce::Stored {
            version: current.version,
            config: Box::new(config),
        },
        Err(e) => InForce::Invalid {
            version: current.version,
            error: e.to_string(),
        },
    })
}

/// The configuration in force: the stored version if it parses, else the
/// packaged file, which `packaged` reads and parses only then (a request
/// under a stored version parses one file, not two).
pub fn resolve<E>(
    in_force: InForce,
    packaged: impl FnOnce() -> Result<ControlPlane, E>,
) -> Result<(ControlPlane, ConfigSource), E> {
    Ok(match in_force {
        InForce::Stored { version, config } => (*config, ConfigSource::Stored { version }),
        InForce::Packaged => (packaged()?, ConfigSource::Packaged),
        InForce::Invalid { version, error } => {
            (packaged()?, ConfigSource::StoredInvalid { version, error })
        }
    })
}

/// The configuration in force: the stored version if there is one, else
/// the packaged file (`packaged`, already parsed).
pub async fn effective<K: KeyValue>(
    kv: &K,
    packaged: ControlPlane,
) -> Result<(ControlPlane, ConfigSource), ConfigStoreError> {
    resolve(in_force(kv).await?, || Ok(packaged))
}
