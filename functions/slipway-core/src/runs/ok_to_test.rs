//! A merge-request run of an untrusted author is held: no stage starts
//! until a trusted person says `/ok-to-test` on the request. The answer
//! binds to this run, and so to its head commit: a new push makes a new
//! run, held again, and supersedes this one.

use serde::{Deserialize, Serialize};

use super::{RunRecord, RunStatus, TransitionError};

/// How long a held run waits for `/ok-to-test` before it is cancelled.
pub const OK_TO_TEST_TTL_MS: u64 = 30 * 24 * 60 * 60 * 1000;

/// The hold on a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OkToTest {
    /// When the run was held.
    pub asked_at_ms: u64,
    /// The trusted person who let it run, once someone has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted: Option<OkGrant>,
}

/// Who let a held run go, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OkGrant {
    /// Their login on the provider.
    pub by: String,
    /// Why they are trusted (their person, or their association).
    pub trusted_as: String,
    /// When.
    pub at_ms: u64,
}

impl RunRecord {
    /// Whether the run waits for `/ok-to-test`.
    pub fn held(&self) -> bool {
        !self.status.is_terminal()
            && self
                .ok_to_test
                .as_ref()
                .is_some_and(|o| o.granted.is_none())
    }

    /// Lets a held run go. Granting a run already let go changes nothing.
    pub fn grant_ok_to_test(&mut self, grant: OkGrant) -> Result<(), TransitionError> {
        let Some(hold) = self.ok_to_test.as_mut() else {
            return Err(TransitionError::NotHeld(self.id.clone()));
        };
        if hold.granted.is_some() {
            return Ok(());
        }
        if self.status.is_terminal() {
            return Err(TransitionError::NotHeld(self.id.clone()));
        }
        let at = grant.at_ms;
        hold.granted = Some(grant);
        self.log_event(at, "ok-to-test");
        Ok(())
    }

    /// Ends a held run that a newer push to its request replaced.
    pub fn supersede_hold(&mut self, newer: &str, now_ms: u64) {
        if self.held() {
            let reason = format!("superseded by {newer}, a newer push");
            self.end_early(RunStatus::Cancelled, reason, now_ms);
        }
    }

    /// Ends a held run nobody let go within [`OK_TO_TEST_TTL_MS`].
    pub fn expire_hold(&mut self, now_ms: u64) {
        let expired = self
            .ok_to_test
            .as_ref()
            .is_some_and(|o| now_ms >= o.asked_at_ms + OK_TO_TEST_TTL_MS);
        if self.held() && expired {
            let reason = "no trusted person said /ok-to-test in 30 days".to_owned();
            self.end_early(RunStatus::Cancelled, reason, now_ms);
        }
    }
}
