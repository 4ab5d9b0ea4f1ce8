//! `spin:key-value/key-value@3.0.0` for components.

use std::sync::Arc;

use wasmtime::component::{Accessor, FutureReader, HasData, Linker, Resource, StreamReader};

use super::{Backend, OpenError};
use crate::bindings::spin::key_value::key_value::{self, Error};
use crate::state::HostState;

/// The host side of a guest's open `store` resource.
pub struct StoreHandle {
    backend: Arc<dyn Backend>,
}

/// Marker type through which `spin:key-value` is implemented.
pub struct SpinKeyValue;

impl HasData for SpinKeyValue {
    type Data<'a> = &'a mut HostState;
}

/// Adds `spin:key-value` to `linker`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    key_value::add_to_linker::<HostState, SpinKeyValue>(linker, |s| s)
}

fn other(e: impl std::fmt::Display) -> Error {
    Error::Other(e.to_string())
}

fn backend<T>(
    accessor: &Accessor<T, SpinKeyValue>,
    store: &Resource<StoreHandle>,
) -> wasmtime::Result<Arc<dyn Backend>> {
    accessor.with(|mut view| Ok(view.get().table.get(store)?.backend.clone()))
}

impl key_value::Host for HostState {}

impl key_value::HostStore for HostState {
    fn drop(&mut self, store: Resource<StoreHandle>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl key_value::HostStoreWithStore for SpinKeyValue {
    async fn open<T>(
        accessor: &Accessor<T, Self>,
        label: String,
    ) -> wasmtime::Result<Result<Resource<StoreHandle>, Error>> {
        accessor.with(|mut view| {
            let state = view.get();
            let backend = match state.kv.open(&label) {
                Ok(b) => b,
                Err(OpenError::AccessDenied) => return Ok(Err(Error::AccessDenied)),
                Err(OpenError::NoSuchStore) => return Ok(Err(Error::NoSuchStore)),
            };
            Ok(Ok(state.table.push(StoreHandle { backend })?))
        })
    }

    async fn get<T>(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let backend = backend(accessor, &store)?;
        Ok(backend.get(key).await.map_err(other))
    }

    async fn set<T>(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        let backend = backend(accessor, &store)?;
        Ok(backend.set(key, value).await.map_err(other))
    }

    async fn delete<T>(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
    ) -> wasmtime::Result<Result<(), Error>> {
        let backend = backend(accessor, &store)?;
        Ok(backend.delete(key).await.map_err(other))
    }

    async fn exists<T>(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
    ) -> wasmtime::Result<Result<bool, Error>> {
        let backend = backend(accessor, &store)?;
        Ok(backend.exists(key).await.map_err(other))
    }

    async fn get_keys<T>(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
    ) -> wasmtime::Result<(StreamReader<String>, FutureReader<Result<(), Error>>)> {
        let backend = backend(accessor, &store)?;
        let (keys, outcome) = match backend.keys().await {
            Ok(keys) => (keys, Ok(())),
            Err(e) => (Vec::new(), Err(other(e))),
        };
        accessor.with(|mut view| {
            let stream = StreamReader::new(&mut view, keys)?;
            let future = FutureReader::new(&mut view, async move { wasmtime::error::Ok(outcome) })?;
            Ok((stream, future))
        })
    }
}
