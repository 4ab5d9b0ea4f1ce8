//! Build callback bodies: `entry::result::parse` by content type. The
//! first byte picks the content type; the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_core::entry::result::parse;

const CONTENT_TYPES: [&str; 6] = [
    "application/json",
    "application/xml",
    "text/xml",
    "application/x-www-form-urlencoded",
    "text/plain",
    "application/vnd.slipway+json; charset=utf-8",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(pick) % CONTENT_TYPES.len()];
    let parsed = parse(content_type, body);
    let test_line = parsed.as_ref().ok().and_then(|r| r.test_line());
    let outcome = format!("{content_type}: {parsed:?} {test_line:?}");
    slipway_fuzz::show(&outcome);
});
