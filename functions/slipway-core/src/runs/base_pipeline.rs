//! A merge request's pipeline file compared with its target branch's, so
//! its commit status can say which stages the change adds and drops.

use serde::{Deserialize, Serialize};

use super::RunRecord;
use crate::pipeline::diff::PipelineChange;

/// What the comparison with the target branch's pipeline file found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum BaseComparison {
    /// Both files read and compared.
    Compared {
        /// The target branch.
        base: String,
        /// What the change does to the stages.
        change: PipelineChange,
    },
    /// The target branch has no pipeline file: the change adds it.
    NoBaseFile {
        /// The target branch.
        base: String,
        /// Every stage, added.
        change: PipelineChange,
    },
    /// The target branch's file is invalid, or could not be read.
    NotCompared {
        /// Why.
        reason: String,
    },
}

impl BaseComparison {
    /// What a commit status says about the change, when there is
    /// something to say.
    pub fn status_line(&self) -> Option<String> {
        match self {
            BaseComparison::Compared { base, change } if !change.is_empty() => {
                Some(format!("This change {} (against {base})", change.summary()))
            }
            BaseComparison::NoBaseFile { base, change } => Some(format!(
                "This change adds the pipeline file ({base} has none): {}",
                change.summary()
            )),
            _ => None,
        }
    }
}

impl RunRecord {
    /// Whether the run should compare its pipeline file with its target
    /// branch's: a merge-request run whose pipeline is read, not compared
    /// yet. Withheld-only or failed runs are compared too: the status
    /// tells a reviewer what the file would change.
    pub fn awaiting_base_comparison(&self) -> bool {
        self.trigger.kind == "merge_request"
            && self.trigger.target_branch.is_some()
            && self.pipeline.is_some()
            && self.base_comparison.is_none()
    }

    /// Records what the comparison found (once; a later one is ignored).
    pub fn base_compared(&mut self, found: BaseComparison) {
        if self.base_comparison.is_none() {
            self.base_comparison = Some(found);
        }
    }
}
