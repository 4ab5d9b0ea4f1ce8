//! Host-side bindings for the Spin interfaces in `wit/` (key-value,
//! variables and the `wasi:keyvalue` draft).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "slipway:platform/host",
    imports: {
        "wasi:keyvalue": async | trappable,
        default: trappable,
    },
    with: {
        "spin:key-value/key-value.store": crate::key_value::spin_api::StoreHandle,
        "wasi:keyvalue/store.bucket": crate::key_value::wasi_api::BucketHandle,
        "wasi:keyvalue/atomics.cas": crate::key_value::wasi_api::CasHandle,
    },
    require_store_data_send: true,
});
