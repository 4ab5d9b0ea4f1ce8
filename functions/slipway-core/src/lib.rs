//! Slipway's domain logic. It knows nothing of Spin: it reaches the world
//! through the small traits in [`ports`], so it is tested natively and the
//! Spin components are thin adapters.

pub mod access;
pub mod active;
pub mod auth_failures;
pub mod builders;
pub mod cells;
pub mod chat;
pub mod chat_state;
pub mod chatops;
pub mod check;
pub mod config;
pub mod config_store;
pub mod deploy;
pub mod engine;
pub mod entry;
pub mod health;
pub mod intents;
pub mod least_privilege;
pub mod notify;
pub mod obs;
pub mod pipeline;
pub mod ports;
pub mod position;
pub mod providers;
pub mod replies;
pub mod runs;
pub mod sessions;
#[cfg(test)]
mod testing;

/// The product name shown by every component.
pub const APP_NAME: &str = "slipway";

/// The version of this build.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
