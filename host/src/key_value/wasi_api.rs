//! `wasi:keyvalue@0.2.0-draft2` (store, atomics, batch) for components.
//!
//! Unlike Spin 4.0's default store, compare-and-swap here is atomic also for
//! a key that did not exist when the handle was created.

use std::sync::Arc;

use wasmtime::component::{HasData, Linker, Resource};

use super::{Backend, CasOutcome, OpenError};
use crate::bindings::wasi::keyvalue::{atomics, batch, store};
use crate::state::HostState;

/// The host side of a guest's `bucket` resource.
pub struct BucketHandle {
    backend: Arc<dyn Backend>,
}

/// The host side of a guest's `cas` resource: the key and the value seen.
pub struct CasHandle {
    backend: Arc<dyn Backend>,
    key: String,
    seen: Option<Vec<u8>>,
}

/// Marker type through which `wasi:keyvalue` is implemented.
pub struct WasiKeyValue;

impl HasData for WasiKeyValue {
    type Data<'a> = &'a mut HostState;
}

/// Adds `wasi:keyvalue/{store,atomics,batch}` to `linker`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    store::add_to_linker::<HostState, WasiKeyValue>(linker, |s| s)?;
    atomics::add_to_linker::<HostState, WasiKeyValue>(linker, |s| s)?;
    batch::add_to_linker::<HostState, WasiKeyValue>(linker, |s| s)?;
    Ok(())
}

fn other(e: impl std::fmt::Display) -> store::Error {
    store::Error::Other(e.to_string())
}

impl HostState {
    fn bucket(&self, bucket: &Resource<BucketHandle>) -> wasmtime::Result<Arc<dyn Backend>> {
        Ok(self.table.get(bucket)?.backend.clone())
    }
}

impl store::Host for HostState {
    async fn open(
        &mut self,
        identifier: String,
    ) -> wasmtime::Result<Result<Resource<BucketHandle>, store::Error>> {
        let backend = match self.kv.open(&identifier) {
            Ok(b) => b,
            Err(OpenError::AccessDenied) => return Ok(Err(store::Error::AccessDenied)),
            Err(OpenError::NoSuchStore) => return Ok(Err(store::Error::NoSuchStore)),
        };
        Ok(Ok(self.table.push(BucketHandle { backend })?))
    }
}

impl store::HostBucket for HostState {
    async fn get(
        &mut self,
        bucket: Resource<BucketHandle>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, store::Error>> {
        Ok(self.bucket(&bucket)?.get(key).await.map_err(other))
    }

    async fn set(
        &mut self,
        bucket: Resource<BucketHandle>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        Ok(self.bucket(&bucket)?.set(key, value).await.map_err(other))
    }

    async fn delete(
        &mut self,
        bucket: Resource<BucketHandle>,
        key: String,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        Ok(self.bucket(&bucket)?.delete(key).await.map_err(other))
    }

    async fn exists(
        &mut self,
        bucket: Resource<BucketHandle>,
        key: String,
    ) -> wasmtime::Result<Result<bool, store::Error>> {
        Ok(self.bucket(&bucket)?.exists(key).await.map_err(other))
    }

    async fn list_keys(
        &mut self,
        bucket: Resource<BucketHandle>,
        cursor: Option<String>,
    ) -> wasmtime::Result<Result<store::KeyResponse, store::Error>> {
        if cursor.is_some() {
            return Ok(Err(store::Error::Other(
                "list-keys: cursors are not supported; all keys come in one page".into(),
            )));
        }
        Ok(self
            .bucket(&bucket)?
            .keys()
            .await
            .map(|keys| store::KeyResponse { keys, cursor: None })
            .map_err(other))
    }

    async fn drop(&mut self, bucket: Resource<BucketHandle>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for HostState {
    async fn increment(
        &mut self,
        bucket: Resource<BucketHandle>,
        key: String,
        delta: i64,
    ) -> wasmtime::Result<Result<i64, store::Error>> {
        Ok(self
            .bucket(&bucket)?
            .increment(key, delta)
            .await
            .map_err(other))
    }

    async fn swap(
        &mut self,
        cas: Resource<CasHandle>,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), atomics::CasError>> {
        let handle = self.table.delete(cas)?;
        match handle
            .backend
            .compare_and_swap(handle.key.clone(), handle.seen.clone(), value)
            .await
        {
            Ok(CasOutcome::Swapped) => Ok(Ok(())),
            Ok(CasOutcome::Conflict(current)) => {
                let fresh = self.table.push(CasHandle {
                    backend: handle.backend,
                    key: handle.key,
                    seen: current,
                })?;
                Ok(Err(atomics::CasError::CasFailed(fresh)))
            }
            Err(e) => Ok(Err(atomics::CasError::StoreError(other(e)))),
        }
    }
}

impl atomics::HostCas for HostState {
    async fn new(
        &mut self,
        bucket: Resource<BucketHandle>,
        key: String,
    ) -> wasmtime::Result<Result<Resource<CasHandle>, store::Error>> {
        let backend = self.bucket(&bucket)?;
        let seen = match backend.get(key.clone()).await {
            Ok(v) => v,
            Err(e) => return Ok(Err(other(e))),
        };
        Ok(Ok(self.table.push(CasHandle { backend, key, seen })?))
    }

    async fn current(
        &mut self,
        cas: Resource<CasHandle>,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, store::Error>> {
        Ok(Ok(self.table.get(&cas)?.seen.clone()))
    }

    async fn drop(&mut self, cas: Resource<CasHandle>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl batch::Host for HostState {
    async fn get_many(
        &mut self,
        bucket: Resource<BucketHandle>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<(String, Option<Vec<u8>>)>, store::Error>> {
        Ok(self.bucket(&bucket)?.get_many(keys).await.map_err(other))
    }

    async fn set_many(
        &mut self,
        bucket: Resource<BucketHandle>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        Ok(self
            .bucket(&bucket)?
            .set_many(key_values)
            .await
            .map_err(other))
    }

    async fn delete_many(
        &mut self,
        bucket: Resource<BucketHandle>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        Ok(self.bucket(&bucket)?.delete_many(keys).await.map_err(other))
    }
}
