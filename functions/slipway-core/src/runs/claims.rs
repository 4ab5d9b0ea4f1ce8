//! Event claims with leases: one run per push or merge-request event, even
//! when the provider delivers it twice at once, and no event lost when the
//! request that claimed it dies.
//!
//! The key `event/{hash}` goes through three states:
//!
//! 1. absent: nobody has claimed the event;
//! 2. a counter holding the claim time in ms: claimed, run not linked yet.
//!    It is created by `increment(key, now)`: whoever gets back exactly
//!    their own `now` found it absent and owns the claim (a loser takes its
//!    amount back at once). Counters are the only atomic create that every
//!    Spin store has; compare-and-swap on a missing key is a plain upsert
//!    on Spin's default SQLite store;
//! 3. JSON [`EventClaim`]: linked to a run id, by compare-and-swap from
//!    the counter's bytes (the key exists by then, so the swap is atomic
//!    everywhere).
//!
//! The claim's lease runs [`EVENT_LEASE_MS`] from its time. A delivery
//! that finds a claim still unlinked after that takes it over (the owner
//! died between claim and link); one that finds it linked to a run that
//! was never written, after the lease, writes that run itself.
//!
//! One race remains, and it costs a retry, never a run: a delivery that
//! saw the key absent and increments it just after another linked it meets
//! a JSON value. Redis and our host refuse that increment with an error
//! (the delivery gets 503 and the provider retries); Spin's SQLite store
//! fails the request the same way.

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::ports::{KeyValue, Swap};

/// How long the owner of an unlinked claim has to link it to its run (and
/// a linked claim's run to be written), unless configured: the same
/// `[tick] lease` as side effects.
pub const EVENT_LEASE_MS: u64 = 30_000;
/// A counter value this far in the future was summed by two claimants, one
/// of which died before taking its amount back: its time is unknown.
const GARBLED_AFTER_MS: u64 = 24 * 60 * 60 * 1000;
/// Compare-and-swap rounds before giving up on a busy claim.
const ROUNDS: usize = 16;

/// A claim linked to its run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventClaim {
    /// The run created for the event.
    pub run: String,
    /// When it was linked; the run must exist within the lease from then.
    pub linked_at_ms: u64,
}

/// What [`EventClaims::begin`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// This request owns the event: allocate a run, then [`EventClaims::link`].
    Owner(Vec<u8>),
    /// Already linked.
    Linked(EventClaim),
    /// Claimed by a request that may still be working on it, until `until_ms`.
    InFlight {
        /// When its lease ends.
        until_ms: u64,
    },
}

/// Event claims in a key-value store.
pub struct EventClaims<'a, K> {
    kv: &'a K,
}

fn key(hash: &str) -> String {
    format!("event/{hash}")
}

/// A counter as the store encodes it: 8 bytes little-endian (Spin's
/// SQLite store) or decimal text (Redis).
fn decode_counter(bytes: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(bytes).ok().filter(|t| {
        !t.is_empty()
            && t.bytes()
                .enumerate()
                .all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-'))
    });
    match text {
        Some(t) if bytes.len() != 8 || t.len() == 8 => t.parse().ok(),
        _ => <[u8; 8]>::try_from(bytes).ok().map(i64::from_le_bytes),
    }
}

impl<'a, K: KeyValue> EventClaims<'a, K> {
    /// Claims in `kv`.
    pub fn new(kv: &'a K) -> Self {
        EventClaims { kv }
    }

    /// The claim of `hash` as it stands, without writing.
    pub async fn peek(&self, hash: &str) -> Result<Option<EventClaim>, StoreError> {
        Ok(self
            .kv
            .get(&key(hash))
            .await?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    /// Claims `hash` or says who has it.
    pub async fn begin(&self, hash: &str, now_ms: u64, lease_ms: u64) -> Result<Begin, StoreError> {
        let key = key(hash);
        let own = i64::try_from(now_ms.max(1)).unwrap_or(i64::MAX);
        for _ in 0..ROUNDS {
            let Some(bytes) = self.kv.get(&key).await? else {
                let total = self.kv.increment(&key, own).await?;
                if total == own {
                    return Ok(Begin::Owner(self.kv.get(&key).await?.unwrap_or_default()));
                }
                // Someone claimed first: take our amount back, look again.
                self.kv.increment(&key, -own).await?;
                continue;
            };
            if let Ok(claim) = serde_json::from_slice::<EventClaim>(&bytes) {
                return Ok(Begin::Linked(claim));
            }
            let claimed_at = decode_counter(&bytes)
                .and_then(|v| u64::try_from(v).ok())
                .unwrap_or(0);
            let garbled = claimed_at > now_ms + GARBLED_AFTER_MS;
            let until_ms = claimed_at + lease_ms;
            if !garbled && until_ms > now_ms {
                return Ok(Begin::InFlight { until_ms });
            }
            // The owner died before linking: this request takes over.
            return Ok(Begin::Owner(bytes));
        }
        Err(StoreError::Contention(key))
    }

    /// Links the claim this request owns (`token` from [`Begin::Owner`])
    /// to `run`. `Ok(Err(claim))`: another request linked it first.
    pub async fn link(
        &self,
        hash: &str,
        mut token: Vec<u8>,
        run: &str,
        now_ms: u64,
    ) -> Result<Result<(), EventClaim>, StoreError> {
        let key = key(hash);
        let claim = EventClaim {
            run: run.to_owned(),
            linked_at_ms: now_ms,
        };
        let bytes = serde_json::to_vec(&claim)
            .map_err(|e| StoreError::Corrupt(key.clone(), e.to_string()))?;
        let ours = decode_counter(&token);
        for _ in 0..ROUNDS {
            match self.kv.compare_and_swap(&key, &token, &bytes).await? {
                Swap::Swapped => return Ok(Ok(())),
                Swap::Conflict(Some(fresh)) => {
                    if let Ok(other) = serde_json::from_slice::<EventClaim>(&fresh) {
                        return Ok(Err(other));
                    }
                    // A loser's amount is passing through; wait it out.
                    if decode_counter(&fresh) != ours {
                        continue;
                    }
                    token = fresh;
                }
                Swap::Conflict(None) => return Err(StoreError::NotFound(key)),
            }
        }
        Err(StoreError::Contention(key))
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;
    use crate::testing::MemKv;

    #[test]
    fn counters_decode_in_both_encodings() {
        assert_eq!(
            decode_counter(&1_700_000_000_123i64.to_le_bytes()),
            Some(1_700_000_000_123)
        );
        assert_eq!(decode_counter(b"1700000000123"), Some(1_700_000_000_123));
        assert_eq!(decode_counter(b"12345678"), Some(12_345_678));
        assert_eq!(decode_counter(b"{}"), None);
    }

    #[test]
    fn one_owner_then_linked_for_everyone() {
        let kv = MemKv::default();
        let claims = EventClaims::new(&kv);
        let Begin::Owner(token) = block_on(claims.begin("h", 1_000, EVENT_LEASE_MS)).unwrap()
        else {
            panic!("first claim owns");
        };
        assert_eq!(
            block_on(claims.begin("h", 1_001, EVENT_LEASE_MS)).unwrap(),
            Begin::InFlight {
                until_ms: 1_000 + EVENT_LEASE_MS
            }
        );
        assert_eq!(
            block_on(claims.link("h", token, "app-1", 1_002)).unwrap(),
            Ok(())
        );
        assert_eq!(
            block_on(claims.begin("h", 5_000, EVENT_LEASE_MS)).unwrap(),
            Begin::Linked(EventClaim {
                run: "app-1".into(),
                linked_at_ms: 1_002
            })
        );
    }

    #[test]
    fn a_dead_owner_is_taken_over_after_its_lease_and_only_once() {
        let kv = MemKv::default();
        let claims = EventClaims::new(&kv);
        let Begin::Owner(dead) = block_on(claims.begin("h", 1_000, EVENT_LEASE_MS)).unwrap() else {
            panic!()
        };
        let later = 1_000 + EVENT_LEASE_MS + 1;
        let Begin::Owner(a) = block_on(claims.begin("h", later, EVENT_LEASE_MS)).unwrap() else {
            panic!("takeover")
        };
        let Begin::Owner(b) = block_on(claims.begin("h", later, EVENT_LEASE_MS)).unwrap() else {
            panic!("a second redelivery may also try")
        };
        assert_eq!(
            block_on(claims.link("h", a, "app-2", later)).unwrap(),
            Ok(())
        );
        let lost = block_on(claims.link("h", b, "app-3", later)).unwrap();
        assert_eq!(lost.unwrap_err().run, "app-2");
        let late = block_on(claims.link("h", dead, "app-1", later)).unwrap();
        assert_eq!(
            late.unwrap_err().run,
            "app-2",
            "the dead owner's link loses"
        );
    }

    #[test]
    fn a_garbled_counter_counts_as_stale() {
        let kv = MemKv::default();
        let claims = EventClaims::new(&kv);
        block_on(kv.increment("event/h", 2_000)).unwrap();
        block_on(kv.increment("event/h", 2_001)).unwrap();
        assert!(matches!(
            block_on(claims.begin("h", 2_000, EVENT_LEASE_MS)).unwrap(),
            Begin::InFlight { .. }
        ));
        let far = 4_001 + GARBLED_AFTER_MS;
        block_on(kv.increment("event/h", far as i64)).unwrap();
        assert!(matches!(
            block_on(claims.begin("h", 3_000, EVENT_LEASE_MS)).unwrap(),
            Begin::Owner(_)
        ));
    }
}
