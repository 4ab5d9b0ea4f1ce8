//! The domain's key-value port over Spin: `spin:key-value` for plain reads
//! and writes, `wasi:keyvalue` atomics for increment and compare-and-swap,
//! both on the same store label.

use slipway_core::ports::{KeyValue, KvError, Swap};
use spin_sdk::key_value::Store;

use crate::atomics_bindings::wasi::keyvalue::{atomics, store as wasi_store};

/// One Spin key-value store.
pub struct SpinKv {
    store: Store,
    bucket: wasi_store::Bucket,
}

fn err(e: impl std::fmt::Debug) -> KvError {
    KvError(format!("{e:?}"))
}

impl SpinKv {
    /// Opens the store `label` (listed in the component's `key_value_stores`).
    pub async fn open(label: &str) -> Result<Self, KvError> {
        let store = Store::open(label).await.map_err(err)?;
        let bucket = wasi_store::open(label).map_err(err)?;
        Ok(SpinKv { store, bucket })
    }
}

impl KeyValue for SpinKv {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.store.get(key).await.map_err(err)
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.store.set(key, value).await.map_err(err)
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.store.delete(key).await.map_err(err)
    }

    async fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        atomics::increment(&self.bucket, key, delta).map_err(err)
    }

    async fn compare_and_swap(
        &self,
        key: &str,
        expected: &[u8],
        new: &[u8],
    ) -> Result<Swap, KvError> {
        let cas = atomics::Cas::new(&self.bucket, key).map_err(err)?;
        let current = cas.current().map_err(err)?;
        if current.as_deref() != Some(expected) {
            return Ok(Swap::Conflict(current));
        }
        match atomics::swap(cas, new) {
            Ok(()) => Ok(Swap::Swapped),
            Err(atomics::CasError::CasFailed(fresh)) => {
                Ok(Swap::Conflict(fresh.current().map_err(err)?))
            }
            Err(atomics::CasError::StoreError(e)) => Err(err(e)),
        }
    }
}
