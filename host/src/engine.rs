//! The wasmtime engine (component model async, pooling allocator, epoch
//! interruption for request timeouts), the compile cache, and the linker
//! with every interface a component may import.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::state::HostState;

/// Builds the engine; falls back to on-demand allocation where the pooling
/// allocator cannot reserve its address space.
pub fn build_engine() -> anyhow::Result<Engine> {
    let base = || {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.wasm_component_model_async(true);
        config.concurrency_support(true);
        // Guest code checks the epoch so a CPU loop can be stopped; see
        // `limits::timeout`.
        config.epoch_interruption(true);
        config
    };
    let mut pooled = base();
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(256)
        .total_core_instances(2048)
        .total_memories(512)
        .total_tables(2048)
        .max_memory_size(1 << 30)
        .max_component_instance_size(1 << 20);
    pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    match Engine::new(&pooled) {
        Ok(engine) => Ok(engine),
        Err(e) => {
            eprintln!("note: pooling allocator unavailable ({e}); using on-demand allocation");
            Engine::new(&base()).map_err(anyhow::Error::from)
        }
    }
}

/// Loads the component at `wasm`, reusing precompiled code from `cache_dir`
/// when the same bytes were compiled by a compatible engine before.
pub fn load_component(
    engine: &Engine,
    id: &str,
    wasm: &Path,
    cache_dir: &Path,
) -> anyhow::Result<(Component, bool)> {
    let bytes = std::fs::read(wasm).with_context(|| {
        format!(
            "component {id:?}: cannot read {} (build it first, e.g. `slipway up --build`)",
            wasm.display()
        )
    })?;
    let cached = cache_path(engine, &bytes, cache_dir);
    if cached.exists() {
        // SAFETY: the file was written by `Component::serialize` of an engine
        // with the same compatibility hash (part of the file name), in our
        // own state directory.
        if let Ok(component) = unsafe { Component::deserialize_file(engine, &cached) } {
            return Ok((component, true));
        }
    }
    let component = Component::new(engine, &bytes).map_err(|e| {
        anyhow::anyhow!(
            "component {id:?}: {} is not a valid WebAssembly component: {e}",
            wasm.display()
        )
    })?;
    if let Ok(serialized) = component.serialize() {
        let _ = std::fs::create_dir_all(cache_dir);
        let tmp = cached.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, serialized).is_ok() {
            let _ = std::fs::rename(&tmp, &cached);
        }
    }
    Ok((component, false))
}

fn cache_path(engine: &Engine, bytes: &[u8], cache_dir: &Path) -> PathBuf {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let engine_hash = hasher.finish();
    let digest = hex::encode(Sha256::digest(bytes));
    cache_dir.join(format!("{digest}-{engine_hash:016x}.cwasm"))
}

/// A linker with WASI 0.2 and 0.3, WASI HTTP 0.3, and Spin's interfaces.
pub fn build_linker(engine: &Engine) -> anyhow::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi::p3::add_to_linker(&mut linker)?;
    wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
    crate::key_value::spin_api::add_to_linker(&mut linker)?;
    crate::key_value::wasi_api::add_to_linker(&mut linker)?;
    crate::variables::host::add_to_linker(&mut linker)?;
    Ok(linker)
}

/// Checks that `component` exports the HTTP handler Spin 4 runs.
pub fn check_exports(id: &str, engine: &Engine, component: &Component) -> anyhow::Result<()> {
    let ty = component.component_type();
    let exports: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    if !exports
        .iter()
        .any(|e| e.starts_with("wasi:http/handler@0.3.0-rc-2026-03-15"))
    {
        bail!(
            "component {id:?} does not export wasi:http/handler@0.3.0-rc-2026-03-15 (it exports: {}); build it with spin-sdk 6 and #[http_service]",
            if exports.is_empty() {
                "nothing".to_owned()
            } else {
                exports.join(", ")
            }
        );
    }
    Ok(())
}
