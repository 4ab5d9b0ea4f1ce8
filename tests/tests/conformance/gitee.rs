//! gitee (to do).
use super::harness::Provider;
use slipway_tests::fakes::webhooks;
pub const GITEE: Provider = Provider {
    name: "gitee",
    index: 9,
    repo_paths: &[],
    sign: webhooks::gitlab,
    cases: &[],
};
