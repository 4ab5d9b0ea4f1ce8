//! The last outcome of each branch (`app/{app}/outcome/{branch}`), so a run
//! that passes after a failure can say "fixed".

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::cells;
use crate::ports::KeyValue;

/// What a branch's record holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchOutcome {
    /// The newest run recorded.
    pub run: u64,
    /// Its outcome: `succeeded` or `failed`.
    pub outcome: Option<String>,
    /// The outcome before it (what that run followed).
    pub previous: Option<String>,
}

/// Branch outcomes in a key-value store.
pub struct BranchOutcomes<'a, K> {
    kv: &'a K,
}

impl<'a, K: KeyValue> BranchOutcomes<'a, K> {
    /// The records in `kv`.
    pub fn new(kv: &'a K) -> Self {
        BranchOutcomes { kv }
    }

    /// Records that run `number` of `app` on `branch` ended with `outcome`
    /// and returns the outcome it followed (`none` for the first, `unknown`
    /// when a newer run was recorded first). Recording the same run again
    /// returns the same answer.
    pub async fn record(
        &self,
        app: &str,
        branch: &str,
        number: u64,
        outcome: &str,
    ) -> Result<String, StoreError> {
        let key = format!("app/{app}/outcome/{branch}");
        let (_, previous, _) = cells::update(self.kv, &key, BranchOutcome::default, |b| {
            if b.run == number {
                return b.previous.clone().unwrap_or_else(|| "none".into());
            }
            if b.run > number {
                return "unknown".into();
            }
            let previous = b.outcome.clone();
            *b = BranchOutcome {
                run: number,
                outcome: Some(outcome.to_owned()),
                previous: previous.clone(),
            };
            previous.unwrap_or_else(|| "none".into())
        })
        .await?;
        Ok(previous)
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;
    use crate::testing::MemKv;

    #[test]
    fn each_run_learns_the_outcome_it_followed_once_and_for_all() {
        let kv = MemKv::default();
        let o = BranchOutcomes::new(&kv);
        assert_eq!(
            block_on(o.record("a", "main", 1, "failed")).unwrap(),
            "none"
        );
        assert_eq!(
            block_on(o.record("a", "main", 2, "succeeded")).unwrap(),
            "failed"
        );
        assert_eq!(
            block_on(o.record("a", "main", 2, "succeeded")).unwrap(),
            "failed"
        );
        assert_eq!(
            block_on(o.record("a", "main", 1, "failed")).unwrap(),
            "unknown"
        );
    }
}
