//! Alibaba Cloud Codeup: the examples of "Codeup Webhooks 设置" (document
//! 153875), GitLab-shaped without a `project`, the secret in
//! `X-Codeup-Token`. Codeup sends one push per ref and documents no ping or
//! test delivery. The stored page shows the merge request example with
//! `action: open` only; the other actions are written in GitLab's
//! vocabulary, which Codeup's payloads follow.

use super::harness::{Case, Expect, Fixture, ForkSource, Provider, Val::*, from_fork, started};
use crate::fixture;
use slipway_tests::fakes::webhooks;

const PUSH: Fixture = fixture!("codeup/push.json");
const TAG: Fixture = fixture!("codeup/tag_push.json");
const MR: Fixture = fixture!("codeup/merge_request.json");
const NOTE: Fixture = fixture!("codeup/note_merge_request.json");
const MR_RUN: Expect = started("refs/heads/ms-viewport", "merge_request");

/// The request from a fork by an untrusted author.
const FORK: &str = "merge request from a fork by an untrusted author";

/// The fork's page, which names it.
const FORK_WEB: &str = "https://codeup.aliyun.com/acme/forker-demo";

/// The fork's clone URL.
const FORK_CLONE: &str = "https://codeup.aliyun.com/acme/forker-demo.git";

/// Request `number` from the fork's branch `ms-viewport`.
const fn fork(number: u64) -> ForkSource {
    ForkSource {
        number,
        git_ref: "refs/heads/ms-viewport",
        clone_url: FORK_CLONE,
    }
}

/// Codeup's table.
pub const CODEUP: Provider = Provider {
    name: "codeup",
    index: 4,
    // A fork in the same organization: Slipway reaches Codeup through
    // the one organization configured (`acme`), and now posts a fork's
    // commit status to the fork.
    fork: "acme/forker-demo",
    fork_heads_in_target: false,
    commit_statuses: true,
    repo_paths: &["demo/demo"],
    sign: webhooks::codeup,
    cases: &[
        Case::new(
            "push to a branch",
            PUSH,
            "Push Hook",
            started("refs/heads/master", "push"),
        )
        .set(&[("/after", Commit(0)), ("/commits/0/id", Commit(0))]),
        Case::new(
            "tag push",
            TAG,
            "Tag Push Hook",
            started("refs/tags/v1.0.0", "tag"),
        )
        .set(&[("/after", Commit(0))]),
        Case::new(
            "branch deletion",
            PUSH,
            "Push Hook",
            Expect::Ignored("branch deletion (refs/heads/master)"),
        )
        .set(&[("/before", Commit(0)), ("/after", Zero)]),
        Case::new(
            "tag deletion",
            TAG,
            "Tag Push Hook",
            Expect::Ignored("tag deletion (refs/tags/v1.0.0)"),
        )
        .set(&[("/before", Commit(0)), ("/after", Zero)]),
        Case::new("merge request opened", MR, "Merge Request Hook", MR_RUN)
            .set(&[("/object_attributes/last_commit/id", Commit(0))]),
        Case::new(
            "merge request updated by a push",
            MR,
            "Merge Request Hook",
            MR_RUN,
        )
        .set(&[
            ("/object_attributes/action", Str("update")),
            ("/object_attributes/is_update_by_push", Bool(true)),
            ("/object_attributes/last_commit/id", Commit(0)),
        ]),
        Case::new(
            "merge request updated without a push",
            MR,
            "Merge Request Hook",
            Expect::Ignored("merge request action \"update\""),
        )
        .set(&[
            ("/object_attributes/action", Str("update")),
            ("/object_attributes/is_update_by_push", Bool(false)),
            ("/object_attributes/last_commit/id", Commit(0)),
        ]),
        Case::new("merge request reopened", MR, "Merge Request Hook", MR_RUN).set(&[
            ("/object_attributes/action", Str("reopen")),
            ("/object_attributes/last_commit/id", Commit(0)),
        ]),
        Case::new(
            "merge request closed",
            MR,
            "Merge Request Hook",
            Expect::Ignored("merge request closed"),
        )
        .set(&[
            ("/object_attributes/action", Str("close")),
            ("/object_attributes/state", Str("closed")),
        ]),
        Case::new(
            "merge request merged",
            MR,
            "Merge Request Hook",
            Expect::Ignored("merge request merged"),
        )
        .set(&[
            ("/object_attributes/action", Str("merge")),
            ("/object_attributes/state", Str("merged")),
        ]),
        // Held; Codeup keeps no ref of the fork's head in the target: the
        // run is of the source branch, its commit only in the fork.
        Case::new(
            FORK,
            MR,
            "Merge Request Hook",
            from_fork("refs/heads/ms-viewport", fork(3), true),
        )
        .set(&[
            ("/object_attributes/iid", Num(3)),
            ("/object_attributes/last_commit/id", Commit(0)),
            ("/object_attributes/source/web_url", Str(FORK_WEB)),
            ("/object_attributes/source/http_url", Str(FORK_CLONE)),
            ("/object_attributes/source/namespace", Str("acme")),
            ("/user/username", Str("forker")),
            ("/user/name", Str("forker")),
        ]),
        Case::new(
            "/ok-to-test by an untrusted person",
            NOTE,
            "Note Hook",
            Expect::Ignored("forker is not trusted"),
        )
        .set(&[
            ("/merge_request/iid", Num(3)),
            ("/merge_request/last_commit/id", CommitOf(FORK, 0)),
            ("/user/username", Str("forker")),
        ]),
        Case::new(
            "/ok-to-test by a trusted person",
            NOTE,
            "Note Hook",
            Expect::Releases(FORK),
        )
        .set(&[
            ("/merge_request/iid", Num(3)),
            ("/merge_request/last_commit/id", CommitOf(FORK, 0)),
        ]),
        Case::new(
            "merge request from a fork by a trusted author",
            MR,
            "Merge Request Hook",
            from_fork("refs/heads/ms-viewport", fork(4), false),
        )
        .set(&[
            ("/object_attributes/iid", Num(4)),
            ("/object_attributes/last_commit/id", Commit(0)),
            ("/object_attributes/source/web_url", Str(FORK_WEB)),
            ("/object_attributes/source/http_url", Str(FORK_CLONE)),
            ("/object_attributes/source/namespace", Str("acme")),
        ]),
        Case::new(
            "comment on a commit (ignored)",
            NOTE,
            "Note Hook",
            Expect::Ignored("a comment on a Commit, not on a merge request"),
        )
        .set(&[("/object_attributes/noteable_type", Str("Commit"))]),
    ],
};
