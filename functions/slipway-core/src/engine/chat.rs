//! Sending one notice to one chat target of an app: the one place where
//! targets, their secrets and the retry decision live, for runs and
//! deployments alike.

use super::Deps;
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
