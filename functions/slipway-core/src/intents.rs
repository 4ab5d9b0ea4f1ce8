//! Intents: side effects a record has decided on but not yet seen done.
//!
//! Before a remote call that must happen once (trigger a build, post a
//! status, send a notice, start a deployment), the record gains an intent
//! by compare-and-swap, and the call is made only by the request whose
//! swap *claimed* it (set its lease). The result is recorded by a second
//! swap that removes the intent, and only if the intent is still claimed
//! by the same try. A request that dies between the two leaves the intent
//! with a lease that runs out; the next reconcile claims it again. So every
//! effect runs at least once, and twice only when a request died (or
//! stalled past the lease) after the remote side acted and before the
//! result was recorded; the README lists where the remote side dedupes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How long a claimed intent belongs to the request that claimed it, unless
/// configured (`[tick] lease`). Longer than any one effect takes (a few
/// calls of at most 15 s), so a live request never loses its claim
/// mid-call; a request that died loses it this long after its claim.
pub const DEFAULT_LEASE_MS: u64 = 30_000;

/// One pending side effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// Claims so far; the claim's try number identifies its owner.
    pub tries: u32,
    /// Tries that came back failed (a claim whose request died is not
    /// one: it may never have called out).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: u32,
    /// Not to be tried before this time (backoff).
    pub due_at_ms: u64,
    /// While set and in the future, a request is carrying it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until_ms: Option<u64>,
    /// Why the last try did not finish it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A claimed intent: its id and the try that owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The intent's id (e.g. `trigger/unit-test/1`).
    pub id: String,
    /// The try number this claim holds.
    pub tries: u32,
}

/// The pending intents of one record, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Intents(pub BTreeMap<String, Intent>);

impl Intents {
    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The intent `id`, if pending.
    pub fn get(&self, id: &str) -> Option<&Intent> {
        self.0.get(id)
    }

    /// Makes sure `id` is pending (new ones are due at once).
    pub fn want(&mut self, id: &str, now_ms: u64) {
        self.0.entry(id.to_owned()).or_insert(Intent {
            tries: 0,
            failures: 0,
            due_at_ms: now_ms,
            lease_until_ms: None,
            last_error: None,
        });
    }

    /// Drops every intent `keep` rejects, unless a request is carrying it
    /// out right now (its result is then discarded when it comes back).
    pub fn retain_wanted(&mut self, now_ms: u64, keep: impl Fn(&str) -> bool) {
        self.0
            .retain(|id, i| keep(id) || i.lease_until_ms.is_some_and(|l| l > now_ms));
    }

    /// Claims every intent that is due and not claimed by a live request,
    /// for `lease_ms`.
    pub fn claim_due(&mut self, now_ms: u64, lease_ms: u64) -> Vec<Claimed> {
        self.claim_due_where(now_ms, lease_ms, |_| true)
    }

    /// Like [`Intents::claim_due`], for the intents whose id `allowed` accepts.
    pub fn claim_due_where(
        &mut self,
        now_ms: u64,
        lease_ms: u64,
        allowed: impl Fn(&str) -> bool,
    ) -> Vec<Claimed> {
        let mut claimed = Vec::new();
        for (id, intent) in &mut self.0 {
            let leased = intent.lease_until_ms.is_some_and(|l| l > now_ms);
            if intent.due_at_ms <= now_ms && !leased && allowed(id) {
                intent.tries += 1;
                intent.lease_until_ms = Some(now_ms + lease_ms);
                claimed.push(Claimed {
                    id: id.clone(),
                    tries: intent.tries,
                });
            }
        }
        claimed
    }

    /// Whether `claim` still owns its intent.
    pub fn owns(&self, claim: &Claimed) -> bool {
        self.0
            .get(&claim.id)
            .is_some_and(|i| i.tries == claim.tries && i.lease_until_ms.is_some())
    }

    /// Removes the intent `claim` owns (it is done); false if the claim
    /// was lost, in which case the result must not be applied.
    pub fn finish(&mut self, claim: &Claimed) -> bool {
        if self.owns(claim) {
            self.0.remove(&claim.id);
            true
        } else {
            false
        }
    }

    /// Failed tries of the intent `claim` owns, counting this one.
    pub fn failures_with(&self, claim: &Claimed) -> u32 {
        self.0.get(&claim.id).map_or(0, |i| i.failures) + 1
    }

    /// Gives the intent back to be tried again at `due_at_ms`, noting why
    /// this try failed.
    pub fn defer(&mut self, claim: &Claimed, due_at_ms: u64, error: &str) -> bool {
        if !self.owns(claim) {
            return false;
        }
        if let Some(intent) = self.0.get_mut(&claim.id) {
            intent.failures += 1;
            intent.lease_until_ms = None;
            intent.due_at_ms = due_at_ms;
            intent.last_error = Some(error.to_owned());
        }
        true
    }

    /// Gives the intent back untried (the claimant ran out of time), so
    /// the try does not count.
    pub fn release(&mut self, claim: &Claimed) -> bool {
        if !self.owns(claim) {
            return false;
        }
        if let Some(intent) = self.0.get_mut(&claim.id) {
            intent.lease_until_ms = None;
            intent.tries = intent.tries.saturating_sub(1);
        }
        true
    }

    /// The earliest time something here can be claimed.
    pub fn next_due_ms(&self) -> Option<u64> {
        self.0
            .values()
            .map(|i| i.lease_until_ms.unwrap_or(0).max(i.due_at_ms))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_exclusive_until_its_lease_runs_out() {
        let mut intents = Intents::default();
        intents.want("trigger/a/1", 100);
        let first = intents.claim_due(100, DEFAULT_LEASE_MS);
        assert_eq!(first.len(), 1);
        assert!(
            intents.claim_due(200, DEFAULT_LEASE_MS).is_empty(),
            "leased"
        );
        let second = intents.claim_due(100 + DEFAULT_LEASE_MS + 1, DEFAULT_LEASE_MS);
        assert_eq!(second[0].tries, 2);
        assert!(!intents.finish(&first[0]), "the first claim was lost");
        assert!(intents.finish(&second[0]));
        assert!(intents.is_empty());
    }

    #[test]
    fn deferred_intents_wait_for_their_time_and_wanting_twice_is_once() {
        let mut intents = Intents::default();
        intents.want("x", 0);
        intents.want("x", 50);
        let claim = intents.claim_due(0, DEFAULT_LEASE_MS).remove(0);
        assert!(intents.defer(&claim, 1_000, "503"));
        assert!(intents.claim_due(999, DEFAULT_LEASE_MS).is_empty());
        assert_eq!(intents.next_due_ms(), Some(1_000));
        assert_eq!(intents.claim_due(1_000, DEFAULT_LEASE_MS)[0].tries, 2);
    }

    #[test]
    fn unwanted_intents_go_unless_in_flight() {
        let mut intents = Intents::default();
        intents.want("a", 0);
        intents.want("b", 0);
        intents.0.get_mut("b").unwrap().lease_until_ms = Some(10);
        intents.retain_wanted(5, |_| false);
        assert_eq!(intents.0.keys().collect::<Vec<_>>(), ["b"]);
    }
}
