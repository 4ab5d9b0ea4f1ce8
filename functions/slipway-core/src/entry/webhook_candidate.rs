//! From a parsed event to the run it may start: its trigger, the identity
//! its claim is keyed by, and (for a merge request) its author.

use super::Reply;
use crate::providers::{MergeRequestEvent, MrAction, ParsedEvent, Provider, PushEvent};
use crate::runs::{ChangeSource, PendingEvent, RunTrigger};

/// How many characters of a commit hash Bitbucket Cloud's pull-request
/// payloads carry.
const BITBUCKET_SHORT_HASH: usize = 12;

/// An event that may start a run.
pub(super) struct Candidate {
    /// The target repository, `owner/name`.
    pub repo: String,
    /// What the run records as its trigger.
    pub trigger: RunTrigger,
    /// What makes the event itself, across redeliveries (the claim's key).
    pub identity: String,
    /// What the pipeline's triggers look at.
    pub pending: PendingEvent,
    /// For a merge request: its author, whose trust decides where the
    /// pipeline comes from and whether the run waits for `/ok-to-test`.
    pub author: Option<Author>,
}

/// The author of a merge request, as the provider names them.
pub(super) struct Author {
    /// Provider login.
    pub login: Option<String>,
    /// GitHub's / Gitea's `author_association`.
    pub association: Option<String>,
}

/// Turns a parsed event into a run candidate, or the reply for an event
/// that starts nothing.
pub(super) fn candidate(
    provider: Provider,
    event: ParsedEvent,
    delivery_id: Option<String>,
) -> Result<Candidate, Reply> {
    match event {
        ParsedEvent::Ping => Err(Reply::ignored("ping")),
        ParsedEvent::Ignored { event, reason } => Err(Reply::ignored(format!("{event}: {reason}"))),
        ParsedEvent::WorkflowRun(_)
        | ParsedEvent::CheckRun(_)
        | ParsedEvent::CheckSuite(_)
        | ParsedEvent::Pipeline(_) => Err(Reply::ignored("build status events do not start runs")),
        ParsedEvent::Comment(_) => Err(Reply::ignored("comments do not start runs")),
        ParsedEvent::Push(push) => push_candidate(provider, push, delivery_id),
        ParsedEvent::MergeRequest(mr) => merge_request_candidate(provider, mr, delivery_id),
    }
}

fn push_candidate(
    provider: Provider,
    push: PushEvent,
    delivery_id: Option<String>,
) -> Result<Candidate, Reply> {
    if push.deleted {
        let what = if push.tag().is_some() {
            "tag"
        } else {
            "branch"
        };
        return Err(Reply::ignored(format!(
            "{what} deletion ({})",
            push.git_ref
        )));
    }
    let kind = if push.tag().is_some() { "tag" } else { "push" };
    let identity = format!("{kind}|{}|{}", push.git_ref, push.after);
    Ok(Candidate {
        repo: push.repo.clone(),
        identity,
        pending: PendingEvent {
            changed_paths: push.changed_paths,
            paths_complete: push.paths_complete,
        },
        trigger: RunTrigger {
            provider: provider.as_str().to_owned(),
            repo: push.repo,
            clone_url: push.clone_url,
            git_ref: push.git_ref,
            commit: push.after,
            kind: kind.to_owned(),
            target_branch: None,
            merge_request: None,
            actor: push.pusher,
            delivery_id,
            pipeline_ref: None,
            source: None,
        },
        author: None,
    })
}

fn merge_request_candidate(
    provider: Provider,
    mr: MergeRequestEvent,
    delivery_id: Option<String>,
) -> Result<Candidate, Reply> {
    match &mr.action {
        MrAction::Opened | MrAction::Updated | MrAction::Reopened => {}
        MrAction::Closed => return Err(Reply::ignored("merge request closed")),
        MrAction::Merged => {
            return Err(Reply::ignored(
                "merge request merged (the push to the target branch starts its run)",
            ));
        }
        MrAction::Other(a) => {
            return Err(Reply::ignored(format!("merge request action {a:?}")));
        }
    }
    let identity = format!(
        "mr|{}|{}",
        mr.number,
        commit_identity(provider, &mr.head_sha)
    );
    let source_ref = format!("refs/heads/{}", mr.source_branch);
    let fork = !mr.source_repo.eq_ignore_ascii_case(&mr.repo);
    // A same-repository request's source clone URL is the repository's.
    let (git_ref, clone_url, source) = if fork {
        let git_ref = fork_ref(provider, mr.number).unwrap_or_else(|| source_ref.clone());
        let source = ChangeSource {
            repo: mr.source_repo,
            clone_url: mr.source_clone_url,
            git_ref: source_ref,
        };
        (git_ref, None, Some(source))
    } else {
        (source_ref, mr.source_clone_url, None)
    };
    Ok(Candidate {
        repo: mr.repo.clone(),
        identity,
        pending: PendingEvent {
            changed_paths: Vec::new(),
            paths_complete: false,
        },
        trigger: RunTrigger {
            provider: provider.as_str().to_owned(),
            repo: mr.repo,
            clone_url,
            git_ref,
            commit: mr.head_sha,
            kind: "merge_request".to_owned(),
            target_branch: Some(mr.target_branch),
            merge_request: Some(mr.number),
            actor: mr.author.clone(),
            delivery_id,
            pipeline_ref: None,
            source,
        },
        author: Some(Author {
            login: mr.author,
            association: mr.author_association,
        }),
    })
}

/// The ref under which the target repository keeps a fork's merge-request
/// head, where the provider keeps one: GitHub, Gitea and Gitee
/// `refs/pull/N/head`, GitLab `refs/merge-requests/N/head`. Bitbucket Cloud
/// and Codeup keep none: the run's ref is then the source branch, and the
/// source repository says where it is.
fn fork_ref(provider: Provider, number: u64) -> Option<String> {
    match provider {
        Provider::GitHub | Provider::Gitea | Provider::Gitee => {
            Some(format!("refs/pull/{number}/head"))
        }
        Provider::GitLab => Some(format!("refs/merge-requests/{number}/head")),
        Provider::Bitbucket | Provider::Codeup => None,
    }
}

/// The commit as the event's identity names it. Bitbucket abbreviates
/// hashes in pull-request payloads (and a lookup later fills in the full
/// one), so its identity keeps the abbreviation's length, lowercased: the
/// same update always names the same run, abbreviated or not.
fn commit_identity(provider: Provider, sha: &str) -> String {
    match provider {
        Provider::Bitbucket => sha
            .to_ascii_lowercase()
            .chars()
            .take(BITBUCKET_SHORT_HASH)
            .collect(),
        _ => sha.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mr(source_repo: &str, head_sha: &str) -> MergeRequestEvent {
        MergeRequestEvent {
            repo: "acme/shop".into(),
            number: 7,
            action: MrAction::Opened,
            source_branch: "patch-1".into(),
            target_branch: "main".into(),
            head_sha: head_sha.into(),
            source_repo: source_repo.into(),
            source_clone_url: Some(format!("https://example.com/{source_repo}.git")),
            url: None,
            draft: false,
            author: Some("alice".into()),
            author_association: Some("CONTRIBUTOR".into()),
        }
    }

    fn trigger_of(provider: Provider, event: MergeRequestEvent) -> Candidate {
        match candidate(provider, ParsedEvent::MergeRequest(event), None) {
            Ok(c) => c,
            Err(reply) => panic!("no candidate: {:?}", reply.body),
        }
    }

    #[test]
    fn a_same_repository_request_has_no_separate_source() {
        let c = trigger_of(Provider::GitHub, mr("acme/shop", &"a".repeat(40)));
        assert_eq!(c.trigger.git_ref, "refs/heads/patch-1");
        assert_eq!(c.trigger.source, None);
        assert_eq!(c.trigger.source_repo(), "acme/shop");
        let c = trigger_of(Provider::GitHub, mr("ACME/Shop", &"a".repeat(40)));
        assert_eq!(c.trigger.source, None, "names compare without case");
    }

    #[test]
    fn a_fork_request_carries_its_source_and_the_targets_ref_for_it() {
        let expected = [
            (Provider::GitHub, "refs/pull/7/head"),
            (Provider::Gitea, "refs/pull/7/head"),
            (Provider::Gitee, "refs/pull/7/head"),
            (Provider::GitLab, "refs/merge-requests/7/head"),
            (Provider::Bitbucket, "refs/heads/patch-1"),
            (Provider::Codeup, "refs/heads/patch-1"),
        ];
        for (provider, git_ref) in expected {
            let c = trigger_of(provider, mr("alice/shop", &"b".repeat(40)));
            assert_eq!(c.trigger.git_ref, git_ref, "{provider}");
            let source = c.trigger.source.expect("a fork");
            assert_eq!(source.repo, "alice/shop");
            assert_eq!(source.git_ref, "refs/heads/patch-1");
            assert_eq!(
                source.clone_url.as_deref(),
                Some("https://example.com/alice/shop.git")
            );
            assert_eq!(c.repo, "acme/shop", "the run belongs to the target");
        }
    }

    #[test]
    fn a_bitbucket_update_has_one_identity_however_its_hash_is_written() {
        let full = format!("ABCDEF012345{}", "9".repeat(28));
        let short = trigger_of(Provider::Bitbucket, mr("acme/shop", "abcdef012345"));
        let long = trigger_of(Provider::Bitbucket, mr("acme/shop", &full));
        assert_eq!(short.identity, "mr|7|abcdef012345");
        assert_eq!(short.identity, long.identity);
        let github = trigger_of(Provider::GitHub, mr("acme/shop", &full));
        assert_eq!(github.identity, format!("mr|7|{full}"), "as before");
    }
}
