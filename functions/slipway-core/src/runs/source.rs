//! Where a run's commit comes from and where it can be read: the run's
//! repository, or for a merge request from a fork, the fork; and the
//! commit's full hash, which Bitbucket Cloud's pull-request payloads only
//! abbreviate (12 characters), so the run looks it up before anything
//! reads at that commit.

use serde::{Deserialize, Serialize};

use super::{RunRecord, RunStatus, RunTrigger};
use crate::providers::Provider;

/// The repository and branch a merge request's commits come from, when
/// that is not the run's repository (a fork).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSource {
    /// The source repository, `owner/name`.
    pub repo: String,
    /// Its clone URL, where the provider names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone_url: Option<String>,
    /// The source branch there, `refs/heads/…`.
    pub git_ref: String,
}

/// Whether `sha` is a whole commit hash: 40 (SHA-1) or 64 (SHA-256) hex digits.
pub fn is_full_sha(sha: &str) -> bool {
    matches!(sha.len(), 40 | 64) && sha.bytes().all(|b| b.is_ascii_hexdigit())
}

impl RunTrigger {
    /// The repository the change comes from: the fork, or `repo`.
    pub fn source_repo(&self) -> &str {
        self.source.as_ref().map_or(&self.repo, |s| &s.repo)
    }

    /// The ref the change is on in [`source_repo`](Self::source_repo).
    pub fn source_ref(&self) -> &str {
        self.source.as_ref().map_or(&self.git_ref, |s| &s.git_ref)
    }

    /// The clone URL of [`source_repo`](Self::source_repo), where known.
    pub fn source_clone_url(&self) -> Option<&str> {
        match &self.source {
            Some(s) => s.clone_url.as_deref(),
            None => self.clone_url.as_deref(),
        }
    }

    /// The repository whose API serves the run's commit: its files, its
    /// statuses and its full hash. GitHub, GitLab, Gitee and Gitea keep a
    /// fork's merge-request head in the target repository too (under
    /// `refs/pull/N/head` or `refs/merge-requests/N/head`), so the target
    /// answers for it; Bitbucket Cloud and Codeup keep no such ref, so a
    /// fork's commit exists only in the fork.
    pub fn commit_repo(&self) -> &str {
        match (&self.source, Provider::from_path_segment(&self.provider)) {
            (Some(source), Some(Provider::Bitbucket | Provider::Codeup)) => &source.repo,
            _ => &self.repo,
        }
    }

    /// Where the pipeline file is read: the target repository's branch for
    /// an untrusted author (`pipeline_ref`), else the commit where it lives.
    pub fn pipeline_location(&self) -> (&str, &str) {
        match &self.pipeline_ref {
            Some(branch) => (&self.repo, branch),
            None => (self.commit_repo(), &self.commit),
        }
    }

    /// Whether `commit` is usable as is: only Bitbucket Cloud sends
    /// abbreviated hashes (in pull-request payloads), which are resolved
    /// to the full hash first.
    pub fn commit_resolved(&self) -> bool {
        self.provider != Provider::Bitbucket.as_str() || is_full_sha(&self.commit)
    }
}

impl RunRecord {
    /// Whether the run waits for its commit's full hash.
    pub fn awaiting_commit(&self) -> bool {
        !self.trigger.commit_resolved() && !self.status.is_terminal()
    }

    /// The provider answered the lookup of the run's abbreviated commit:
    /// `Ok(full hash)` replaces the abbreviation (if it extends it), `Err`
    /// (the commit does not exist) fails the run with that reason.
    pub fn commit_looked_up(&mut self, found: Result<String, String>, now_ms: u64) -> bool {
        if !self.awaiting_commit() {
            return false;
        }
        let short = self.trigger.commit.to_ascii_lowercase();
        match found {
            Ok(full) if is_full_sha(&full) && full.to_ascii_lowercase().starts_with(&short) => {
                self.trigger.commit = full.to_ascii_lowercase();
            }
            Ok(other) => self.end_early(
                RunStatus::Failed,
                format!("the provider answered commit {other:?} for {short}"),
                now_ms,
            ),
            Err(reason) => self.end_early(RunStatus::Failed, reason, now_ms),
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::{PendingEvent, PipelineSource};

    fn trigger(provider: &str, commit: &str, source: Option<ChangeSource>) -> RunTrigger {
        RunTrigger {
            provider: provider.into(),
            repo: "acme/shop".into(),
            clone_url: Some("https://example.com/acme/shop.git".into()),
            git_ref: "refs/pull/7/head".into(),
            commit: commit.into(),
            kind: "merge_request".into(),
            target_branch: Some("main".into()),
            merge_request: Some(7),
            pipeline_ref: None,
            actor: Some("alice".into()),
            delivery_id: None,
            source,
        }
    }

    fn fork() -> Option<ChangeSource> {
        Some(ChangeSource {
            repo: "alice/shop".into(),
            clone_url: Some("https://example.com/alice/shop.git".into()),
            git_ref: "refs/heads/patch-1".into(),
        })
    }

    fn pending_run(trigger: RunTrigger) -> RunRecord {
        let pending = PendingEvent {
            changed_paths: Vec::new(),
            paths_complete: false,
        };
        RunRecord::new("shop", 1, trigger, PipelineSource::Pending(pending), 0)
    }

    #[test]
    fn full_hashes() {
        assert!(is_full_sha(&"a".repeat(40)));
        assert!(is_full_sha(&"0F".repeat(32)));
        assert!(!is_full_sha("abcdef012345"));
        assert!(!is_full_sha(&"g".repeat(40)));
    }

    #[test]
    fn a_same_repository_change_is_its_own_source() {
        let t = trigger("github", &"a".repeat(40), None);
        assert_eq!(t.source_repo(), "acme/shop");
        assert_eq!(t.source_ref(), "refs/pull/7/head");
        assert_eq!(
            t.source_clone_url(),
            Some("https://example.com/acme/shop.git")
        );
        assert_eq!(t.commit_repo(), "acme/shop");
    }

    #[test]
    fn a_forks_commit_is_read_where_the_provider_keeps_it() {
        let t = trigger("github", &"a".repeat(40), fork());
        assert_eq!(t.source_repo(), "alice/shop");
        assert_eq!(t.source_ref(), "refs/heads/patch-1");
        assert_eq!(
            t.commit_repo(),
            "acme/shop",
            "GitHub serves it from the target"
        );
        let t = trigger("bitbucket", &"a".repeat(40), fork());
        assert_eq!(t.commit_repo(), "alice/shop", "only the fork has it");
        assert_eq!(t.pipeline_location(), ("alice/shop", t.commit.as_str()));
        let mut untrusted = t.clone();
        untrusted.pipeline_ref = Some("main".into());
        assert_eq!(untrusted.pipeline_location(), ("acme/shop", "main"));
    }

    #[test]
    fn only_bitbucket_abbreviations_wait_for_the_full_hash() {
        assert!(trigger("github", "abc", None).commit_resolved());
        assert!(!trigger("bitbucket", "abcdef012345", None).commit_resolved());
        assert!(trigger("bitbucket", &"a".repeat(40), None).commit_resolved());
    }

    #[test]
    fn a_looked_up_hash_replaces_the_abbreviation_once() {
        let full = format!("abcdef012345{}", "9".repeat(28));
        let mut run = pending_run(trigger("bitbucket", "ABCDEF012345", None));
        assert!(run.awaiting_commit());
        assert!(run.commit_looked_up(Ok(full.clone()), 5));
        assert_eq!(run.trigger.commit, full);
        assert!(!run.awaiting_commit());
        assert!(run.awaiting_pipeline(), "the pipeline is read next");
        assert!(!run.commit_looked_up(Ok("f".repeat(40)), 6), "applied once");
        assert_eq!(run.trigger.commit, full);
    }

    #[test]
    fn a_missing_or_wrong_commit_fails_the_run() {
        let mut run = pending_run(trigger("bitbucket", "abcdef012345", None));
        assert!(run.commit_looked_up(Err("commit abcdef012345 not found".into()), 5));
        assert_eq!(run.status, RunStatus::Failed);
        assert_eq!(run.error.as_deref(), Some("commit abcdef012345 not found"));
        assert!(!run.awaiting_pipeline());
        let mut run = pending_run(trigger("bitbucket", "abcdef012345", None));
        assert!(run.commit_looked_up(Ok("f".repeat(40)), 5));
        assert_eq!(run.status, RunStatus::Failed);
        assert!(
            run.error
                .as_deref()
                .is_some_and(|e| e.contains("for abcdef012345"))
        );
    }
}
