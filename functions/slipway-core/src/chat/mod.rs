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

pub use crate::replies::PendingReply;
pub use answer::{Action, Answer, Style};
pub use platform::{Platform, ReplyChannel};

/// Every platform, by route segment (`/chat/{name}`).
pub static PLATFORMS: [&(dyn Platform + Sync); 4] = [
    &slack::Slack,
    &mattermost::Mattermost,
    &dingtalk::DingTalk,
    &feishu::Feishu,
];

/// The platform served at `/chat/{name}`.
pub fn platform(name: &str) -> Option<&'static (dyn Platform + Sync)> {
    PLATFORMS.iter().copied().find(|p| p.name() == name)
}
