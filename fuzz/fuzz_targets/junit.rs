//! JUnit XML test reports: `parse_junit` on any bytes, and
//! `parse_junit_reports` on the input split at NUL bytes into several
//! reports (merging summaries).
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_core::builders::{parse_junit, parse_junit_reports};

fuzz_target!(|data: &[u8]| {
    let one = parse_junit(data).map(|summary| (summary.line(), summary.total()));
    slipway_fuzz::show(&one);
    if data.contains(&0) {
        let merged = parse_junit_reports(data.split(|&b| b == 0)).map(|s| s.line());
        slipway_fuzz::show(&merged);
    }
});
