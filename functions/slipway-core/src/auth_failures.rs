//! Failed authentication attempts per source address, so a client guessing
//! API tokens is slowed to a few guesses a minute.
//!
//! | key | value |
//! |---|---|
//! | `auth-failures/{source}` | [`Window`]: failures in the current window |
//!
//! The count is a fixed window: at most [`MAX_FAILURES`] failures per
//! [`WINDOW_MS`]; beyond that every request from the source is refused
//! until the window ends, whether its token is right or not (checking it
//! would leak which guess was right). A successful request does not reset
//! the count, for the same reason.

use serde::{Deserialize, Serialize};

use crate::cells::{self, CellError};
use crate::ports::KeyValue;

/// Failures a source may have per window.
pub const MAX_FAILURES: u32 = 20;
/// The window.
pub const WINDOW_MS: u64 = 60_000;

/// Failures of one source in one window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// When the window started.
    pub start_ms: u64,
    /// Failures in it.
    pub failures: u32,
}

impl Window {
    fn current(&self, now_ms: u64) -> bool {
        now_ms >= self.start_ms && now_ms < self.start_ms + WINDOW_MS
    }
}

/// The throttle of one store.
pub struct AuthFailures<'a, K> {
    kv: &'a K,
}

fn key(source: &str) -> String {
    // Addresses hold `:` and may hold `[`/`]`; keep keys plain.
    let cleaned: String = source
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    format!("auth-failures/{cleaned}")
}

impl<'a, K: KeyValue> AuthFailures<'a, K> {
    /// The throttle over `kv`.
    pub fn new(kv: &'a K) -> Self {
        AuthFailures { kv }
    }

    /// Seconds until `source` may try again, if it is throttled now.
    pub async fn blocked(&self, source: &str, now_ms: u64) -> Result<Option<u64>, CellError> {
        let window: Option<Window> = cells::load(self.kv, &key(source)).await?;
        Ok(window
            .filter(|w| w.current(now_ms) && w.failures >= MAX_FAILURES)
            .map(|w| (w.start_ms + WINDOW_MS - now_ms).div_ceil(1000).max(1)))
    }

    /// Counts one failure of `source`.
    pub async fn record(&self, source: &str, now_ms: u64) -> Result<(), CellError> {
        cells::update(self.kv, &key(source), Window::default, |w| {
            if w.failures > 0 && w.current(now_ms) {
                w.failures = w.failures.saturating_add(1);
            } else {
                *w = Window {
                    start_ms: now_ms,
                    failures: 1,
                };
            }
        })
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemKv;
    use futures::executor::block_on;

    #[test]
    fn a_source_is_blocked_after_the_limit_until_the_window_ends() {
        let kv = MemKv::default();
        let throttle = AuthFailures::new(&kv);
        block_on(async {
            for i in 0..MAX_FAILURES {
                assert_eq!(throttle.blocked("10.0.0.1", 1_000).await.unwrap(), None);
                throttle
                    .record("10.0.0.1", 1_000 + u64::from(i))
                    .await
                    .unwrap();
            }
            let wait = throttle.blocked("10.0.0.1", 2_000).await.unwrap();
            assert_eq!(wait, Some(59));
            assert_eq!(throttle.blocked("::1", 2_000).await.unwrap(), None);
            let later = 1_000 + WINDOW_MS;
            assert_eq!(throttle.blocked("10.0.0.1", later).await.unwrap(), None);
            throttle.record("10.0.0.1", later).await.unwrap();
            assert_eq!(throttle.blocked("10.0.0.1", later).await.unwrap(), None);
        });
    }
}
