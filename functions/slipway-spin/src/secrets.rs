//! Secrets from Spin variables.

use slipway_core::ports::Secrets;

/// Reads secrets as Spin variables of the component.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpinVariables;

impl Secrets for SpinVariables {
    async fn get(&self, name: &str) -> Option<String> {
        spin_sdk::variables::get(name)
            .await
            .ok()
            .filter(|v| !v.is_empty())
    }
}
