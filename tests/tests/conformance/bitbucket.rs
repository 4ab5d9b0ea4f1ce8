//! bitbucket (to do).
use super::harness::Provider;
use slipway_tests::fakes::webhooks;
pub const BITBUCKET: Provider = Provider {
    name: "bitbucket",
    index: 9,
    repo_paths: &[],
    sign: webhooks::gitlab,
    cases: &[],
};
