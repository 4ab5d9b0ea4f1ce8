//! codeup (to do).
use super::harness::Provider;
use slipway_tests::fakes::webhooks;
pub const CODEUP: Provider = Provider {
    name: "codeup",
    index: 9,
    repo_paths: &[],
    sign: webhooks::gitlab,
    cases: &[],
};
