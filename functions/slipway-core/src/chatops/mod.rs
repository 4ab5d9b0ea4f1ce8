//! ChatOps: the commands people send from chat ([`crate::chat`] verifies
//! and renders), the same on every platform. Every command that changes
//! something records a fact (a decision on a run, a deployment request, a
//! promote) with one compare-and-swap, answers at once, and leaves the
//! rest to the engine.

pub mod commands;
pub mod views;

pub use commands::{Outcome, refusal_text};
