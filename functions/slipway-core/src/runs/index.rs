//! Per-app indexes of run summaries, kept with the records so lists never
//! load every run:
//!
//! | key | value |
//! |---|---|
//! | `runs-index/{app}/page/{p}` | [`IndexPage`]: summaries of runs `p*50+1 ..= p*50+50` |
//! | `runs-index/{app}/branches` | [`BranchHeads`]: the newest run of each ref |
//!
//! [`super::RunStore`] writes a run's summary after every stored change
//! of the run; a summary only ever replaces an older version of itself, so
//! writers racing (or a late repair) cannot move it backwards. A write
//! lost to a crash is repaired by the next reconcile of the run
//! ([`RunIndex::ensure`]), which the tick does before a run leaves its
//! active set.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{RunRecord, RunStatus, StageStatus, StoreError};
use crate::cells;
use crate::ports::KeyValue;

/// Runs per index page.
pub const PAGE_SIZE: u64 = 50;
/// Refs kept in [`BranchHeads`]; the least recently run go first.
pub const MAX_BRANCHES: usize = 200;

/// One stage in a run summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageSummary {
    /// Stage name.
    pub name: String,
    /// Status now.
    pub status: StageStatus,
    /// Attempt.
    pub attempt: u32,
    /// From start to end (or none while it has not ended).
    pub duration_ms: Option<u64>,
}

/// What lists show of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Run id.
    pub id: String,
    /// Run number.
    pub number: u64,
    /// The run record's version this was made from.
    pub version: u64,
    /// Status.
    pub status: RunStatus,
    /// Full ref.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// Branch or tag name (the short ref).
    pub branch: String,
    /// `push`, `tag` or `merge_request`.
    pub kind: String,
    /// Commit built.
    pub commit: String,
    /// Who pushed.
    pub author: Option<String>,
    /// Created.
    pub created_at_ms: u64,
    /// Ended.
    pub finished_at_ms: Option<u64>,
    /// From creation to end.
    pub duration_ms: Option<u64>,
    /// Stages in pipeline order.
    pub stages: Vec<StageSummary>,
}

/// The short name of a ref: `main` for `refs/heads/main`, `v1` for a tag.
pub fn short_ref(git_ref: &str) -> &str {
    git_ref
        .strip_prefix("refs/heads/")
        .or_else(|| git_ref.strip_prefix("refs/tags/"))
        .unwrap_or(git_ref)
}

impl RunSummary {
    /// The summary of `run`.
    pub fn of(run: &RunRecord) -> RunSummary {
        let order: Vec<&str> = match &run.pipeline {
            Some(p) => p.stages.iter().map(|s| s.name.as_str()).collect(),
            None => run.stages.keys().map(String::as_str).collect(),
        };
        let stages = order
            .into_iter()
            .filter_map(|name| {
                let s = run.stages.get(name)?;
                Some(StageSummary {
                    name: name.to_owned(),
                    status: s.status,
                    attempt: s.attempt,
                    duration_ms: match (s.started_at_ms, s.finished_at_ms) {
                        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
                        _ => None,
                    },
                })
            })
            .collect();
        RunSummary {
            id: run.id.clone(),
            number: run.number,
            version: run.version,
            status: run.status,
            git_ref: run.trigger.git_ref.clone(),
            branch: short_ref(&run.trigger.git_ref).to_owned(),
            kind: run.trigger.kind.clone(),
            commit: run.trigger.commit.clone(),
            author: run.trigger.actor.clone(),
            created_at_ms: run.created_at_ms,
            finished_at_ms: run.finished_at_ms,
            duration_ms: run
                .finished_at_ms
                .map(|f| f.saturating_sub(run.created_at_ms)),
            stages,
        }
    }
}

/// Summaries of up to [`PAGE_SIZE`] consecutive runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexPage {
    /// By run number.
    pub runs: BTreeMap<u64, RunSummary>,
}

/// The newest run of each ref.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchHeads {
    /// By full ref.
    pub heads: BTreeMap<String, RunSummary>,
}

impl BranchHeads {
    /// The heads, newest run first.
    pub fn newest_first(&self) -> Vec<&RunSummary> {
        let mut heads: Vec<&RunSummary> = self.heads.values().collect();
        heads.sort_by_key(|h| std::cmp::Reverse(h.number));
        heads
    }
}

/// The page a run number is on.
pub fn page_of(number: u64) -> u64 {
    number.saturating_sub(1) / PAGE_SIZE
}

fn page_key(app: &str, page: u64) -> String {
    format!("runs-index/{app}/page/{page}")
}

fn heads_key(app: &str) -> String {
    format!("runs-index/{app}/branches")
}

/// The run indexes in a key-value store.
pub struct RunIndex<'a, K> {
    kv: &'a K,
}

impl<'a, K: KeyValue> RunIndex<'a, K> {
    /// The indexes in `kv`.
    pub fn new(kv: &'a K) -> Self {
        RunIndex { kv }
    }

    /// Records `run`'s summary unless a newer one is there.
    pub async fn record(&self, run: &RunRecord) -> Result<(), StoreError> {
        let summary = RunSummary::of(run);
        let key = page_key(&run.app, page_of(run.number));
        cells::update(self.kv, &key, IndexPage::default, |page| {
            match page.runs.get(&summary.number) {
                Some(stored) if stored.version >= summary.version => {}
                _ => {
                    page.runs.insert(summary.number, summary.clone());
                }
            }
        })
        .await?;
        cells::update(self.kv, &heads_key(&run.app), BranchHeads::default, |b| {
            let newer = b.heads.get(&summary.git_ref).is_none_or(|h| {
                h.number < summary.number
                    || (h.number == summary.number && h.version < summary.version)
            });
            if newer {
                b.heads.insert(summary.git_ref.clone(), summary.clone());
            }
            while b.heads.len() > MAX_BRANCHES {
                let oldest = b
                    .heads
                    .iter()
                    .min_by_key(|(_, h)| h.number)
                    .map(|(r, _)| r.clone());
                match oldest {
                    Some(r) => b.heads.remove(&r),
                    None => break,
                };
            }
        })
        .await?;
        Ok(())
    }

    /// Records `run`'s summary where the index does not have this version
    /// yet: its page, and its ref's head (two reads when both are).
    pub async fn ensure(&self, run: &RunRecord) -> Result<(), StoreError> {
        let page = self.page(&run.app, page_of(run.number)).await?;
        let paged = page
            .runs
            .get(&run.number)
            .is_some_and(|s| s.version >= run.version);
        // `record` writes the page first: a writer that died in between
        // left the head behind.
        let headed = paged
            && self
                .heads(&run.app)
                .await?
                .heads
                .get(&run.trigger.git_ref)
                .is_some_and(|h| {
                    h.number > run.number || (h.number == run.number && h.version >= run.version)
                });
        if headed {
            return Ok(());
        }
        self.record(run).await
    }

    /// Page `page` of `app`'s summaries.
    pub async fn page(&self, app: &str, page: u64) -> Result<IndexPage, StoreError> {
        Ok(cells::load(self.kv, &page_key(app, page))
            .await?
            .unwrap_or_default())
    }

    /// The newest run of each of `app`'s refs.
    pub async fn heads(&self, app: &str) -> Result<BranchHeads, StoreError> {
        Ok(cells::load(self.kv, &heads_key(app))
            .await?
            .unwrap_or_default())
    }

    /// The summaries of the runs `numbers` of `app` (those indexed).
    pub async fn summaries(
        &self,
        app: &str,
        numbers: impl IntoIterator<Item = u64>,
    ) -> Result<Vec<RunSummary>, StoreError> {
        let mut by_page: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for n in numbers {
            by_page.entry(page_of(n)).or_default().push(n);
        }
        let mut out = Vec::new();
        for (p, wanted) in by_page {
            let mut page = self.page(app, p).await?;
            out.extend(wanted.iter().filter_map(|n| page.runs.remove(n)));
        }
        Ok(out)
    }

    /// Walks `app`'s summaries newest first from below run `before`,
    /// keeping those `keep` accepts, until `limit` are kept or
    /// `max_pages` pages were read. Returns them and the number to go on
    /// below (none when the walk reached run 1).
    pub async fn scan(
        &self,
        app: &str,
        before: u64,
        limit: usize,
        max_pages: u64,
        keep: impl Fn(&RunSummary) -> bool,
    ) -> Result<(Vec<RunSummary>, Option<u64>), StoreError> {
        let mut out = Vec::new();
        let mut below = before;
        let mut pages = 0;
        while below > 1 && pages < max_pages {
            let p = page_of(below - 1);
            let page = self.page(app, p).await?;
            pages += 1;
            let floor = p * PAGE_SIZE + 1;
            for (n, summary) in page.runs.range(floor..below).rev() {
                if keep(summary) {
                    out.push(summary.clone());
                    if out.len() == limit {
                        return Ok((out, (*n > 1).then_some(*n)));
                    }
                }
            }
            below = floor;
        }
        Ok((out, (below > 1).then_some(below)))
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;
    use crate::pipeline::Pipeline;
    use crate::runs::{PipelineSource, RunTrigger};
    use crate::testing::MemKv;

    fn run(number: u64, version: u64) -> RunRecord {
        let trigger = RunTrigger {
            provider: "github".into(),
            repo: "acme/shop".into(),
            clone_url: None,
            git_ref: "refs/heads/main".into(),
            commit: "a".repeat(40),
            kind: "push".into(),
            target_branch: None,
            merge_request: None,
            pipeline_ref: None,
            actor: None,
            delivery_id: None,
            source: None,
        };
        let pipeline =
            Pipeline::parse("[stages.unit]\nkind = \"build\"\nservice = \"ci\"\njob = \"unit\"\n")
                .expect("pipeline");
        let mut r = RunRecord::new("shop", number, trigger, PipelineSource::Read(pipeline), 1);
        r.version = version;
        r
    }

    #[test]
    fn a_summary_never_moves_backwards() {
        let kv = MemKv::default();
        let index = RunIndex::new(&kv);
        block_on(index.record(&run(3, 5))).expect("newer");
        block_on(index.record(&run(3, 4))).expect("older, late");
        let page = block_on(index.page("shop", 0)).expect("page");
        assert_eq!(page.runs[&3].version, 5);
        block_on(index.record(&run(2, 9))).expect("an older run");
        let heads = block_on(index.heads("shop")).expect("heads");
        assert_eq!(heads.heads["refs/heads/main"].number, 3);
    }

    #[test]
    fn ensure_repairs_a_head_left_behind() {
        let kv = MemKv::default();
        let index = RunIndex::new(&kv);
        block_on(index.record(&run(1, 1))).expect("first");
        // A writer died after the page, before the head: the page has run
        // 2, the head still says run 1.
        let newer = run(2, 1);
        let summary = RunSummary::of(&newer);
        block_on(cells::update(
            &kv,
            &page_key("shop", 0),
            IndexPage::default,
            |p| {
                p.runs.insert(2, summary.clone());
            },
        ))
        .expect("page only");
        block_on(index.ensure(&newer)).expect("repaired");
        let heads = block_on(index.heads("shop")).expect("heads");
        assert_eq!(heads.heads["refs/heads/main"].number, 2);
        let writes = kv.writes.get();
        block_on(index.ensure(&newer)).expect("nothing to do");
        assert_eq!(
            kv.writes.get(),
            writes,
            "ensure only reads when all is there"
        );
    }
}
