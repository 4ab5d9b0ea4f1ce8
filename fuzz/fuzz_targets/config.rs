//! The control plane's configuration file: `ControlPlane::parse` on any
//! UTF-8 text, then the least-privilege manifest derived from a config
//! that parsed (it reads every configured URL).
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_core::config::ControlPlane;
use slipway_core::least_privilege::needs;

fuzz_target!(|data: &[u8]| {
    let Some(text) = slipway_fuzz::text(data) else {
        return;
    };
    match ControlPlane::parse(text) {
        Ok(config) => {
            let needs = needs(&config);
            slipway_fuzz::show(&needs.map(|n| n.len()));
        }
        Err(e) => slipway_fuzz::show(&e.to_string()),
    }
});
