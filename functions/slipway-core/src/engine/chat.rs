//! Sending one notice to one chat target of an app, or a report to a
//! channel a chat command left on a record: the one place where targets,
//! their secrets and the retry decision live, for runs and deployments
//! alike.

use super::Deps;
use crate::chat::{Answer, PendingReply, reply, seal};
use crate::notify::{self, Notice};
use crate::ports::{Clock, HttpClient, Secrets};

/// Timeout of one chat webhook call.
const CHAT_TIMEOUT_MS: u64 = 10_000;

/// How sending a notice ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Sent, or not worth trying again (no such target, secret not set,
    /// refused by the platform: logged).
    Done,
    /// A temporary failure: try again later.
    Retry(String),
}

/// Sends `notice` to chat target `index` of `app`.
pub async fn send_to_target<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    app: &str,
    index: usize,
    notice: &Notice,
) -> Delivery
where
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let Some(target) = deps.config.apps.get(app).and_then(|a| a.notify.get(index)) else {
        return Delivery::Done;
    };
    let Some(url) = deps.secrets.get(&target.webhook_secret).await else {
        eprintln!(
            "{} notification skipped: {} is not set",
            target.kind, target.webhook_secret
        );
        return Delivery::Done;
    };
    let sign = match &target.sign_secret {
        Some(name) => deps.secrets.get(name).await,
        None => None,
    };
    let now = deps.clock.now_ms();
    let sent = notify::send(
        deps.http,
        target.kind,
        &url,
        sign.as_deref(),
        now,
        notice,
        CHAT_TIMEOUT_MS,
    )
    .await;
    match sent {
        Ok(()) => Delivery::Done,
        Err(e) if e.is_retryable() => Delivery::Retry(e.to_string()),
        Err(e) => {
            eprintln!(
                "{} notification for {} failed: {e}",
                target.kind, notice.run_id
            );
            Delivery::Done
        }
    }
}

/// Sends `text` to a chat channel a command left on a record (sealed):
/// Slack's and Mattermost's `response_url`, DingTalk's session webhook or
/// a Feishu message. An expired channel is skipped.
pub async fn reply_to<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    pending: &PendingReply,
    text: String,
) -> Delivery
where
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    if deps.clock.now_ms() >= pending.expires_at_ms {
        return Delivery::Done;
    }
    let Some(platform) = crate::chat::platform(&pending.platform) else {
        return Delivery::Done;
    };
    let Some(key) = deps.secrets.get(super::CALLBACK_SECRET).await else {
        eprintln!(
            "{} report skipped: callback_secret is not set",
            pending.platform
        );
        return Delivery::Done;
    };
    let channel = match seal::unseal(&key, &pending.sealed) {
        Ok(channel) => channel,
        Err(e) => {
            eprintln!("{} report skipped: {e}", pending.platform);
            return Delivery::Done;
        }
    };
    let answer = Answer {
        text,
        public: pending.public,
        ..Answer::default()
    };
    let ports = (deps.http, deps.clock, deps.secrets);
    match reply::deliver(ports, deps.config, platform, &channel, &answer).await {
        Ok(()) => Delivery::Done,
        Err(e) if e.retryable => Delivery::Retry(e.message),
        Err(e) => {
            eprintln!("{} report not delivered: {e}", pending.platform);
            Delivery::Done
        }
    }
}
