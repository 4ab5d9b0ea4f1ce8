//! The traits through which the domain reaches storage and the outside world.

/// A key-value store failure, with the backend's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key-value store: {0}")]
pub struct KvError(pub String);

/// A key-value store (Spin's `key-value` API in production).
///
/// Futures are not required to be `Send`: components run single-threaded.
#[allow(async_fn_in_trait)]
pub trait KeyValue {
    /// The value of `key`, if set.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    /// Sets `key` to `value`.
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError>;
    /// Removes `key`; removing a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<(), KvError>;
}
