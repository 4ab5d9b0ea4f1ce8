//! When a pipeline runs: branch and tag globs, path filters, merge requests.

use serde::{Deserialize, Serialize};

use super::glob;

/// The `[triggers]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triggers {
    /// Branch globs that run the pipeline on push (default: every branch).
    #[serde(default = "every_branch")]
    pub branches: Vec<String>,
    /// Tag globs that run the pipeline (default: none).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Run only when a changed path matches one of these (default: any).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Do not run when every changed path matches one of these.
    #[serde(default)]
    pub ignore_paths: Vec<String>,
    /// Run for merge/pull request events (default: no).
    #[serde(default)]
    pub merge_requests: bool,
}

fn every_branch() -> Vec<String> {
    vec!["**".into()]
}

impl Default for Triggers {
    fn default() -> Self {
        Triggers {
            branches: every_branch(),
            tags: Vec::new(),
            paths: Vec::new(),
            ignore_paths: Vec::new(),
            merge_requests: false,
        }
    }
}

/// The parts of an event the triggers look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// A push to a branch.
    Branch {
        /// Branch name.
        name: &'a str,
        /// Changed paths, and whether the list is complete.
        paths: &'a [String],
        /// False when the provider truncated the list.
        paths_complete: bool,
    },
    /// A pushed tag.
    Tag {
        /// Tag name.
        name: &'a str,
    },
    /// A merge request opened or updated.
    MergeRequest {
        /// Its target branch.
        target_branch: &'a str,
    },
}

/// Why an event starts nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkipReason {
    /// The branch matches no `branches` glob.
    #[error("branch {0:?} does not match the pipeline's branches")]
    Branch(String),
    /// The tag matches no `tags` glob.
    #[error("tag {0:?} does not match the pipeline's tags")]
    Tag(String),
    /// No changed path matches `paths`, or all match `ignore_paths`.
    #[error("no changed path matches the pipeline's path filters")]
    Paths,
    /// Merge requests are not enabled.
    #[error("merge request events are not enabled in the pipeline's triggers")]
    MergeRequests,
}

impl Triggers {
    /// Whether `event` starts a run.
    pub fn check(&self, event: &Event<'_>) -> Result<(), SkipReason> {
        match event {
            Event::Branch {
                name,
                paths,
                paths_complete,
            } => {
                if !glob::any_matches(&self.branches, name) {
                    return Err(SkipReason::Branch(name.to_string()));
                }
                if *paths_complete && !self.paths_match(paths) {
                    return Err(SkipReason::Paths);
                }
                Ok(())
            }
            Event::Tag { name } => {
                if glob::any_matches(&self.tags, name) {
                    Ok(())
                } else {
                    Err(SkipReason::Tag(name.to_string()))
                }
            }
            Event::MergeRequest { target_branch } => {
                if !self.merge_requests {
                    Err(SkipReason::MergeRequests)
                } else if !glob::any_matches(&self.branches, target_branch) {
                    Err(SkipReason::Branch(target_branch.to_string()))
                } else {
                    Ok(())
                }
            }
        }
    }

    fn paths_match(&self, paths: &[String]) -> bool {
        if paths.is_empty() {
            // A push with no file list (e.g. an empty commit) is not filtered.
            return true;
        }
        let relevant: Vec<&String> = paths
            .iter()
            .filter(|p| !glob::any_matches(&self.ignore_paths, p))
            .collect();
        if relevant.is_empty() {
            return false;
        }
        self.paths.is_empty() || relevant.iter().any(|p| glob::any_matches(&self.paths, p))
    }
}
