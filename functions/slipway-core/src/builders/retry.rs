//! Triggering with retries inside a time budget.
//!
//! A webhook must be answered well inside GitHub's 10 s, so a trigger
//! retries only while the next attempt still fits in the budget; otherwise
//! it returns [`TriggerOutcome::Deferred`] and the caller stores it for a
//! periodic tick, which calls [`trigger_with_retry`] again with the attempts
//! already made. Delays are deterministic: `base · 2ⁿ` capped at the
//! maximum, where `n + 1` attempts have been made, counting earlier ticks.

use serde::{Deserialize, Serialize};

use super::follow::{QueueState, interpret_queue_item};
use super::trigger::{BuildJob, TriggerResult, interpret_trigger, trigger_request};
use crate::ports::{Clock, HttpClient, HttpError, HttpRequest};

/// How hard to try.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts in total: 1 + the stage's retries (0 counts as 1).
    pub max_attempts: u32,
    /// Delay after the first failed attempt.
    pub base_delay_ms: u64,
    /// Longest delay between attempts.
    pub max_delay_ms: u64,
    /// Timeout of one HTTP call.
    pub call_timeout_ms: u64,
    /// Total time one [`trigger_with_retry`] call may spend.
    pub budget_ms: u64,
}

impl Default for RetryPolicy {
    /// 3 attempts, 500 ms doubling up to 60 s, 3 s per call, 7 s budget
    /// (fits a webhook answer inside GitHub's 10 s).
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay_ms: 500,
            max_delay_ms: 60_000,
            call_timeout_ms: 3_000,
            budget_ms: 7_000,
        }
    }
}

impl RetryPolicy {
    /// The delay before the next attempt once `attempts_made` (≥ 1) have
    /// failed: `base_delay_ms · 2^(attempts_made − 1)`, at most
    /// `max_delay_ms`.
    pub fn delay_after(&self, attempts_made: u32) -> u64 {
        let exponent = attempts_made.saturating_sub(1);
        let factor = 1u64.checked_shl(exponent).unwrap_or(u64::MAX);
        self.base_delay_ms
            .saturating_mul(factor)
            .min(self.max_delay_ms)
    }
}

/// How a [`trigger_with_retry`] call ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerOutcome {
    /// The service accepted the build.
    Started {
        /// Id for [`status_request`](super::status::status_request), if known.
        external_id: Option<String>,
        /// Human-facing build URL, if known.
        url: Option<String>,
        /// Attempts made in total (including earlier calls).
        attempts: u32,
    },
    /// The build cannot be started: refused, misconfigured, or out of
    /// attempts (`"jenkins: connection refused after 3 attempts"`).
    Failed {
        /// Why, without secrets.
        reason: String,
        /// Attempts made in total.
        attempts: u32,
    },
    /// Worth another try, but not within this call's budget.
    Deferred {
        /// Attempts made in total; pass back as `attempts_already_made`.
        attempts: u32,
        /// Earliest time (epoch ms) for the next attempt.
        next_attempt_at_ms: u64,
        /// The last temporary failure.
        last_error: String,
    },
}

/// Triggers `job`, retrying connection failures, timeouts and retryable
/// statuses with backoff while the budget allows; a refusal (4xx) or an
/// outbound host that is not allowed fails at once. For Jenkins it then
/// reads the queue item once or twice, within the budget, to report the
/// build URL if the build has already started.
pub async fn trigger_with_retry(
    http: &impl HttpClient,
    clock: &impl Clock,
    job: &BuildJob<'_>,
    secret: Option<&str>,
    policy: &RetryPolicy,
    attempts_already_made: u32,
) -> TriggerOutcome {
    let kind = job.service.kind();
    let deadline = clock.now_ms().saturating_add(policy.budget_ms);
    let max_attempts = policy.max_attempts.max(1);
    let mut attempts = attempts_already_made;
    let request = match trigger_request(job, secret) {
        Ok(request) => request,
        Err(error) => {
            return TriggerOutcome::Failed {
                reason: error.to_string(),
                attempts,
            };
        }
    };
    if attempts >= max_attempts {
        return TriggerOutcome::Failed {
            reason: format!("{kind}: no attempts left after {}", plural(attempts)),
            attempts,
        };
    }
    loop {
        let now = clock.now_ms();
        let remaining = deadline.saturating_sub(now);
        if remaining == 0 {
            return TriggerOutcome::Deferred {
                attempts,
                next_attempt_at_ms: now,
                last_error: format!("{kind}: no time left in this request's budget"),
            };
        }
        attempts += 1;
        let timeout = policy.call_timeout_ms.min(remaining).max(1);
        let error = match http.send(request.clone(), timeout).await {
            Ok(response) => match interpret_trigger(job, &response, secret) {
                TriggerResult::Started {
                    external_id,
                    url,
                    follow,
                } => {
                    let (external_id, url) = match follow {
                        Some(follow) => follow_queue(http, clock, job, follow, policy, deadline)
                            .await
                            .map_or((external_id, url), |build| {
                                (Some(build.clone()), Some(build))
                            }),
                        None => (external_id, url),
                    };
                    return TriggerOutcome::Started {
                        external_id,
                        url,
                        attempts,
                    };
                }
                TriggerResult::Rejected(reason) => {
                    return TriggerOutcome::Failed { reason, attempts };
                }
                TriggerResult::Retryable(reason) => reason,
            },
            Err(HttpError::Denied) => {
                return TriggerOutcome::Failed {
                    reason: format!("{kind}: {}", HttpError::Denied),
                    attempts,
                };
            }
            Err(error) => format!("{kind}: {error}"),
        };
        if attempts >= max_attempts {
            return TriggerOutcome::Failed {
                reason: format!("{error} after {}", plural(attempts)),
                attempts,
            };
        }
        let delay = policy.delay_after(attempts);
        let next = clock.now_ms().saturating_add(delay);
        if next.saturating_add(policy.call_timeout_ms) > deadline {
            return TriggerOutcome::Deferred {
                attempts,
                next_attempt_at_ms: next,
                last_error: error,
            };
        }
        clock.sleep(delay).await;
    }
}

/// Reads a Jenkins queue item once: the build URL if the build has already
/// started. A waiting item is left to the tick, which follows it to its
/// build, so the webhook does not wait out Jenkins' queue.
async fn follow_queue(
    http: &impl HttpClient,
    clock: &impl Clock,
    job: &BuildJob<'_>,
    follow: HttpRequest,
    policy: &RetryPolicy,
    deadline: u64,
) -> Option<String> {
    let remaining = deadline.saturating_sub(clock.now_ms());
    if remaining == 0 {
        return None;
    }
    let timeout = policy.call_timeout_ms.min(remaining).max(1);
    let response = http.send(follow, timeout).await.ok()?;
    match interpret_queue_item(job.service, &response).ok()? {
        QueueState::Started { url, .. } => Some(url),
        QueueState::Cancelled | QueueState::Waiting { .. } => None,
    }
}

fn plural(attempts: u32) -> String {
    if attempts == 1 {
        "1 attempt".to_owned()
    } else {
        format!("{attempts} attempts")
    }
}
