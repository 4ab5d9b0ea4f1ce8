//! gitea (to do).
use super::harness::Provider;
use slipway_tests::fakes::webhooks;
pub const GITEA: Provider = Provider {
    name: "gitea",
    index: 9,
    repo_paths: &[],
    sign: webhooks::gitlab,
    cases: &[],
};
