//! Pipeline files (`.slipway.toml` in a repository): `Pipeline::parse` on
//! any UTF-8 text must return a pipeline or an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_core::pipeline::Pipeline;

fuzz_target!(|data: &[u8]| {
    let Some(text) = slipway_fuzz::text(data) else {
        return;
    };
    let parsed = Pipeline::parse(text);
    // Formatting the outcome (errors quote the input) must not panic either.
    let outcome = format!("{parsed:?}");
    slipway_fuzz::show(&outcome);
});
