//! Spin implementations of `slipway_core::ports`, and small request helpers
//! shared by Slipway's components.

pub mod app;
pub mod clock;
pub mod http_client;
pub mod key_value;
pub mod log;
pub mod request;
pub mod secrets;

mod atomics_bindings {
    spin_sdk::wit_bindgen::generate!({
        runtime_path: "spin_sdk::wit_bindgen::rt",
        path: "../../wit",
        world: "slipway:platform/component-atomics",
        generate_all,
    });
}
