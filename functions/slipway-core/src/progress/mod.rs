//! After a stage starts: build services report back (callbacks, build
//! status webhooks, polling by the tick), results are recorded, the
//! pipeline advances, and people hear about it.

mod advance;
mod auth;
mod build_events;
mod callback;
mod notices;
pub mod result;
mod retry;
mod tick;

pub use advance::{external_key, report_and_advance, stage_status};
pub use build_events::handle_build_event;
pub use callback::handle_callback;
pub use notices::{notify_run_end, send_notice};
pub use retry::{authorized, handle_retry};
pub use tick::{TICK_WINDOW, handle_tick};

/// The Spin variable holding the bearer token of `/api/*` operations.
pub const API_TOKEN: &str = "api_token";
/// Time a callback's follow-up work (starting next stages) may take.
pub const FOLLOW_UP_BUDGET_MS: u64 = 8_000;
