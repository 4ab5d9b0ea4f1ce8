//! The index of unfinished records, so the tick's cost follows the work
//! in flight, not the history.
//!
//! | key | value |
//! |---|---|
//! | `active/runs/{app}` | [`ActiveRuns`]: run numbers not yet finished, and the watermark below which every run is accounted for |
//! | `active/deployments` | [`ActiveDeployments`]: deployment ids not yet finished |
//! | `active/cursor` | where the last tick stopped (a hint; last writer wins) |
//!
//! Creating a run writes nothing here (the webhook's fast path writes only
//! its claim, the app's counter and the run): every run numbered above
//! the watermark is taken as unfinished until the tick *adopts* it. A
//! number the counter handed out whose run is not written yet waits in
//! `missing` for [`MISSING_GRACE_MS`] (longer than an event claim's lease,
//! after which a redelivery writes it), then is dropped.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::cells::{self, CellError};
use crate::ports::KeyValue;

/// How long a handed-out run number may stay without its run.
pub const MISSING_GRACE_MS: u64 = 10 * 60 * 1000;

/// Unfinished runs of one app.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveRuns {
    /// Every run numbered up to here is either in `active`, in `missing`
    /// or finished.
    pub watermark: u64,
    /// Unfinished run numbers, each with its generation: a retry that
    /// reopens a run bumps it, so a tick that saw the run finished before
    /// the retry does not drop it.
    pub active: BTreeMap<u64, u32>,
    /// Handed-out numbers without a run yet, with when that was first seen.
    #[serde(default)]
    pub missing: BTreeMap<u64, u64>,
    /// The last generation handed out by a reopening; never reused, so a
    /// tick's view of an entry cannot match a later one (no ABA).
    #[serde(default)]
    pub epoch: u32,
    /// Runs put back by a retry, with when: a retry writes here before it
    /// records its fact on the run, so for [`REOPEN_GRACE_MS`] the entry
    /// stays even if a tick saw the run still finished.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reopened: BTreeMap<u64, u64>,
}

/// How long a reopened run's entry is kept whatever a tick saw: longer
/// than a retry request takes from its index write to its fact.
pub const REOPEN_GRACE_MS: u64 = 60_000;

/// Unfinished deployments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveDeployments {
    /// Deployment ids.
    pub active: BTreeSet<String>,
}

/// What the tick learned about one run number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// The run exists and is unfinished (or has effects pending).
    Active,
    /// The run exists and is finished with nothing pending; seen at this
    /// generation (`None`: not in the index when seen).
    Done(Option<u32>),
    /// No run under that number (yet).
    Missing,
}

/// The active index in a key-value store.
pub struct ActiveIndex<'a, K> {
    kv: &'a K,
}

fn runs_key(app: &str) -> String {
    format!("active/runs/{app}")
}

const DEPLOYMENTS_KEY: &str = "active/deployments";
const CURSOR_KEY: &str = "active/cursor";

impl<'a, K: KeyValue> ActiveIndex<'a, K> {
    /// The index in `kv`.
    pub fn new(kv: &'a K) -> Self {
        ActiveIndex { kv }
    }

    /// The unfinished runs of `app` as recorded.
    pub async fn runs(&self, app: &str) -> Result<ActiveRuns, CellError> {
        Ok(cells::load(self.kv, &runs_key(app))
            .await?
            .unwrap_or_default())
    }

    /// Folds what the tick saw into the index: numbers up to `counter`
    /// become accounted for, finished runs leave, missing ones wait.
    pub async fn record_runs(
        &self,
        app: &str,
        counter: u64,
        seen: &BTreeMap<u64, Seen>,
        now_ms: u64,
    ) -> Result<ActiveRuns, CellError> {
        let (index, (), _) = cells::update(self.kv, &runs_key(app), ActiveRuns::default, |index| {
            for (&n, &state) in seen {
                match state {
                    Seen::Active => {
                        index.active.entry(n).or_insert(0);
                        index.missing.remove(&n);
                    }
                    Seen::Done(generation) => {
                        let settling = index
                            .reopened
                            .get(&n)
                            .is_some_and(|at| now_ms < at + REOPEN_GRACE_MS);
                        if !settling
                            && generation.is_some()
                            && index.active.get(&n) == generation.as_ref()
                        {
                            index.active.remove(&n);
                            index.reopened.remove(&n);
                        }
                        index.missing.remove(&n);
                    }
                    Seen::Missing if n > index.watermark => {
                        index.missing.entry(n).or_insert(now_ms);
                    }
                    Seen::Missing => {}
                }
            }
            index
                .missing
                .retain(|_, first| now_ms.saturating_sub(*first) < MISSING_GRACE_MS);
            index.watermark = index.watermark.max(counter);
        })
        .await?;
        Ok(index)
    }

    /// Puts run `number` of `app` back among the unfinished (a finished
    /// run reopened by a retry, before the retry is recorded on it).
    pub async fn reopen_run(&self, app: &str, number: u64, now_ms: u64) -> Result<(), CellError> {
        // Retried on store failures: a reopened run the tick cannot find
        // would wait for ever.
        let mut tries = 0;
        loop {
            tries += 1;
            let result = cells::update(self.kv, &runs_key(app), ActiveRuns::default, |index| {
                index.epoch += 1;
                index.active.insert(number, index.epoch);
                index.reopened.insert(number, now_ms);
                index
                    .reopened
                    .retain(|_, at| now_ms < *at + REOPEN_GRACE_MS);
            })
            .await;
            match result {
                Err(CellError::Kv(_)) if tries < 5 => continue,
                other => return other.map(|_| ()),
            }
        }
    }

    /// The unfinished deployments.
    pub async fn deployments(&self) -> Result<BTreeSet<String>, CellError> {
        Ok(cells::load::<ActiveDeployments>(self.kv, DEPLOYMENTS_KEY)
            .await?
            .unwrap_or_default()
            .active)
    }

    /// Adds or removes a deployment.
    pub async fn set_deployment(&self, id: &str, active: bool) -> Result<(), CellError> {
        cells::update(self.kv, DEPLOYMENTS_KEY, ActiveDeployments::default, |d| {
            if active {
                d.active.insert(id.to_owned());
            } else {
                d.active.remove(id);
            }
        })
        .await?;
        Ok(())
    }

    /// Where the last tick stopped.
    pub async fn cursor(&self) -> Result<Option<String>, CellError> {
        Ok(self
            .kv
            .get(CURSOR_KEY)
            .await?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .filter(|c| !c.is_empty()))
    }

    /// Remembers where this tick stopped (`None`: it went all the way round).
    pub async fn set_cursor(&self, cursor: Option<&str>) -> Result<(), CellError> {
        self.kv
            .set(CURSOR_KEY, cursor.unwrap_or("").as_bytes())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;
    use crate::testing::MemKv;

    #[test]
    fn runs_are_adopted_kept_dropped_and_reopened() {
        let kv = MemKv::default();
        let index = ActiveIndex::new(&kv);
        let seen = BTreeMap::from([(1, Seen::Done(None)), (2, Seen::Active), (3, Seen::Missing)]);
        let i = block_on(index.record_runs("a", 3, &seen, 0)).unwrap();
        assert_eq!(i.watermark, 3);
        assert_eq!(i.active, BTreeMap::from([(2, 0)]));
        assert_eq!(i.missing, BTreeMap::from([(3, 0)]));
        let i = block_on(index.record_runs("a", 3, &BTreeMap::new(), MISSING_GRACE_MS)).unwrap();
        assert!(i.missing.is_empty(), "given up after the grace period");
        block_on(index.reopen_run("a", 1, 0)).unwrap();
        assert_eq!(
            block_on(index.runs("a")).unwrap().active,
            BTreeMap::from([(1, 1), (2, 0)])
        );
        block_on(index.reopen_run("a", 1, 0)).unwrap();
        block_on(index.reopen_run("a", 1, 0)).unwrap();
        assert_eq!(
            block_on(index.runs("a")).unwrap().active[&1],
            3,
            "each reopening is new"
        );
        // A tick that saw run 2 finished at generation 0 drops it; one that
        // saw run 1 finished before its reopenings does not.
        let seen = BTreeMap::from([(1, Seen::Done(Some(3))), (2, Seen::Done(Some(0)))]);
        let i = block_on(index.record_runs("a", 3, &seen, 0)).unwrap();
        assert_eq!(
            i.active,
            BTreeMap::from([(1, 3)]),
            "run 1 was just reopened"
        );
        let seen = BTreeMap::from([(1, Seen::Done(Some(1)))]);
        let later = REOPEN_GRACE_MS + 1;
        let i = block_on(index.record_runs("a", 3, &seen, later)).unwrap();
        assert_eq!(
            i.active,
            BTreeMap::from([(1, 3)]),
            "seen before its last reopening"
        );
        let seen = BTreeMap::from([(1, Seen::Done(Some(3)))]);
        let i = block_on(index.record_runs("a", 3, &seen, later)).unwrap();
        assert!(i.active.is_empty(), "finished again, after the grace");
    }

    #[test]
    fn deployments_and_the_cursor() {
        let kv = MemKv::default();
        let index = ActiveIndex::new(&kv);
        block_on(index.set_deployment("a.prod.1", true)).unwrap();
        block_on(index.set_deployment("a.test.2", true)).unwrap();
        block_on(index.set_deployment("a.prod.1", false)).unwrap();
        assert_eq!(
            block_on(index.deployments()).unwrap(),
            BTreeSet::from(["a.test.2".to_owned()])
        );
        block_on(index.set_cursor(Some("run:a-3"))).unwrap();
        assert_eq!(
            block_on(index.cursor()).unwrap().as_deref(),
            Some("run:a-3")
        );
        block_on(index.set_cursor(None)).unwrap();
        assert_eq!(block_on(index.cursor()).unwrap(), None);
    }
}
