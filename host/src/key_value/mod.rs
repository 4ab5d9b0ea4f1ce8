//! Key-value stores: the backend trait, the store registry built from the
//! runtime config, and the two guest APIs (`spin:key-value` and
//! `wasi:keyvalue`) over it.

pub mod redis_store;
pub mod runtime_config;
pub mod spin_api;
pub mod sqlite_store;
pub mod wasi_api;

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;

/// A backend failure, shown to the guest as `other(message)`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct KvError(pub String);

impl KvError {
    /// Wraps any displayable error.
    pub fn from_display(e: impl std::fmt::Display) -> Self {
        KvError(e.to_string())
    }
}

/// Result of a backend call.
pub type KvResult<T> = Result<T, KvError>;

/// Keys with their values (`None`: not set), as `get_many` returns them.
pub type Entries = Vec<(String, Option<Vec<u8>>)>;

/// Outcome of a compare-and-swap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CasOutcome {
    /// The value matched and was replaced.
    Swapped,
    /// The value had changed; this is what it is now.
    Conflict(Option<Vec<u8>>),
}

/// One store's operations. Every write is durable when its future resolves;
/// `increment` and `compare_and_swap` are atomic across processes.
pub trait Backend: Send + Sync + 'static {
    /// The value of `key`.
    fn get(&self, key: String) -> BoxFuture<'_, KvResult<Option<Vec<u8>>>>;
    /// Sets `key`.
    fn set(&self, key: String, value: Vec<u8>) -> BoxFuture<'_, KvResult<()>>;
    /// Removes `key`.
    fn delete(&self, key: String) -> BoxFuture<'_, KvResult<()>>;
    /// Whether `key` is set.
    fn exists(&self, key: String) -> BoxFuture<'_, KvResult<bool>>;
    /// All keys.
    fn keys(&self) -> BoxFuture<'_, KvResult<Vec<String>>>;
    /// Adds `delta` to the counter at `key` and returns the new value.
    fn increment(&self, key: String, delta: i64) -> BoxFuture<'_, KvResult<i64>>;
    /// Sets `key` to `new` if it currently holds `expected` (`None`: absent).
    fn compare_and_swap(
        &self,
        key: String,
        expected: Option<Vec<u8>>,
        new: Vec<u8>,
    ) -> BoxFuture<'_, KvResult<CasOutcome>>;
    /// The values of many keys.
    fn get_many(&self, keys: Vec<String>) -> BoxFuture<'_, KvResult<Entries>>;
    /// Sets many keys in one atomic write.
    fn set_many(&self, entries: Vec<(String, Vec<u8>)>) -> BoxFuture<'_, KvResult<()>>;
    /// Removes many keys in one atomic write.
    fn delete_many(&self, keys: Vec<String>) -> BoxFuture<'_, KvResult<()>>;
}

/// Every store of the application, by label.
#[derive(Clone, Default)]
pub struct KeyValueStores {
    stores: BTreeMap<String, Arc<dyn Backend>>,
    summaries: BTreeMap<String, String>,
}

impl KeyValueStores {
    /// Registers `backend` under `label`, with a summary for the console.
    pub fn insert(&mut self, label: &str, backend: Arc<dyn Backend>, summary: String) {
        self.stores.insert(label.to_owned(), backend);
        self.summaries.insert(label.to_owned(), summary);
    }

    /// The store called `label`.
    pub fn get(&self, label: &str) -> Option<Arc<dyn Backend>> {
        self.stores.get(label).cloned()
    }

    /// Whether `label` is defined.
    pub fn contains(&self, label: &str) -> bool {
        self.stores.contains_key(label)
    }

    /// Label and description of every store.
    pub fn summaries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.summaries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// The stores one component may open.
#[derive(Clone, Default)]
pub struct ComponentStores {
    /// All stores of the app.
    pub stores: Arc<KeyValueStores>,
    /// Labels listed in the component's `key_value_stores`.
    pub allowed: Arc<Vec<String>>,
}

/// Why a component could not open a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Not listed in the component's `key_value_stores`.
    AccessDenied,
    /// Listed but not defined.
    NoSuchStore,
}

impl ComponentStores {
    /// Opens `label` if the component may.
    pub fn open(&self, label: &str) -> Result<Arc<dyn Backend>, OpenError> {
        if !self.allowed.iter().any(|l| l == label) {
            return Err(OpenError::AccessDenied);
        }
        self.stores.get(label).ok_or(OpenError::NoSuchStore)
    }
}
