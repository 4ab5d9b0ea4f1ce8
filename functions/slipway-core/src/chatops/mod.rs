//! ChatOps: people deploy, approve, promote and roll back from Slack,
//! Mattermost, DingTalk and Feishu/Lark. A [`platform`] verifies each
//! request as its platform documents it; [`commands`] are the same
//! everywhere and check the caller's role; [`reply`] delivers answers that
//! come after the response. Every command that changes something records
//! a fact (a decision on a run, a deployment request, a promote) with one
//! compare-and-swap, answers at once, and leaves the rest to the engine.

pub mod answer;
pub mod commands;
mod dingtalk;
mod feishu;
mod mattermost;
pub mod platform;
pub mod reply;
mod slack;
pub mod views;

pub use answer::{Action, Answer, Style};
pub use commands::refusal_text;
pub use platform::{PLATFORMS, Platform, platform};

/// The Spin variables of the chat platforms' request verification.
pub fn secret_names() -> Vec<&'static str> {
    PLATFORMS
        .iter()
        .flat_map(|p| p.secret_names().iter().copied())
        .collect()
}
