//! Chat platforms people command Slipway from: each [`platform`] verifies
//! its requests as the platform documents it and renders [`Answer`]s;
//! [`reply`] delivers answers that come after a response; [`seal`] keeps a
//! reply channel on a record without storing it in the clear. Nothing here
//! knows the engine: the commands ([`crate::chatops`]) sit above it, and
//! the engine uses this module to report to a channel.

pub mod answer;
mod dingtalk;
mod feishu;
pub mod lines;
mod mattermost;
pub mod platform;
pub mod reply;
pub mod seal;
mod slack;

pub use answer::{Action, Answer, Style};
pub use platform::{PLATFORMS, Platform, ReplyChannel, platform};
pub use seal::PendingReply;

/// The Spin variables of the chat platforms' request verification.
pub fn secret_names() -> Vec<&'static str> {
    PLATFORMS
        .iter()
        .flat_map(|p| p.secret_names().iter().copied())
        .collect()
}
