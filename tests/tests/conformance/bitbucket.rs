//! Bitbucket Cloud: the `repo:push` and pull request examples of
//! Atlassian's "Event payloads" page, signed with `X-Hub-Signature:
//! sha256=…`. One `repo:push` may carry several ref changes. Bitbucket has
//! no ping or test delivery, and a declined request cannot be reopened, so
//! neither has a case.
//!
//! Pull request payloads name their commits by 12-character
//! abbreviations (the cases send [`Short`] ones): each request's run is
//! expected at the full 40-digit hash, which Slipway looks up through the
//! API before it reads the pipeline, posts a status or starts a build.
//! Bitbucket keeps no ref of a fork's head in the target repository: a
//! fork's commits exist only in the fork, where its run reads and reports.

use super::harness::{
    Case, Expect, Fixture, ForkSource, Provider, RunExpect, Val::*, from_fork, started,
};
use crate::fixture;
use slipway_tests::fakes::webhooks;

const PUSH: Fixture = fixture!("bitbucket/push.json");
const PR: Fixture = fixture!("bitbucket/pullrequest_created.json");
const COMMENT: Fixture = fixture!("bitbucket/pullrequest_comment_created.json");
const BRANCH: &str = "refs/heads/name-of-branch";
/// The example request's source branch.
const PR_BRANCH: &str = "refs/heads/branch2";
const PR_RUN: Expect = started(PR_BRANCH, "merge_request");

/// The request from a fork by an untrusted author.
const FORK: &str = "pull request from a fork by an untrusted author";

/// Request `number` from `forker/repo_name`'s branch `branch2`.
const fn fork(number: u64) -> ForkSource {
    ForkSource {
        number,
        git_ref: PR_BRANCH,
        clone_url: "https://bitbucket.org/forker/repo_name.git",
    }
}

/// A started push run of `git_ref` at the case's commit `commit`.
const fn push_run(git_ref: &'static str, commit: u32, kind: &'static str) -> RunExpect {
    RunExpect {
        git_ref,
        commit,
        kind,
        fork: None,
        held: false,
    }
}

/// Bitbucket's table.
pub const BITBUCKET: Provider = Provider {
    name: "bitbucket",
    index: 5,
    fork: "forker/repo_name",
    fork_heads_in_target: false,
    commit_statuses: true,
    repo_paths: &["team_name/repo_name"],
    sign: webhooks::bitbucket,
    cases: &[
        Case::new(
            "push to a branch",
            PUSH,
            "repo:push",
            started(BRANCH, "push"),
        )
        .set(&[
            ("/push/changes/0/old/target/hash", Commit(1)),
            ("/push/changes/0/new/target/hash", Commit(0)),
            ("/push/changes/0/commits/0/hash", Commit(0)),
        ]),
        // One push of two branches and a new tag: a run for each.
        Case::new(
            "push of several refs",
            PUSH,
            "repo:push",
            Expect::Runs(&[
                push_run(BRANCH, 0, "push"),
                push_run("refs/heads/release", 1, "push"),
                push_run("refs/tags/v1.0.0", 2, "tag"),
            ]),
        )
        .set(&[
            ("/push/changes/0/new/target/hash", Commit(0)),
            ("/push/changes/0/commits/0/hash", Commit(0)),
            ("/push/changes/1", CopyOf("/push/changes/0")),
            ("/push/changes/1/new/name", Str("release")),
            ("/push/changes/1/old/name", Str("release")),
            ("/push/changes/1/new/target/hash", Commit(1)),
            ("/push/changes/1/commits/0/hash", Commit(1)),
            ("/push/changes/2", CopyOf("/push/changes/0")),
            ("/push/changes/2/new/type", Str("tag")),
            ("/push/changes/2/new/name", Str("v1.0.0")),
            ("/push/changes/2/new/target/hash", Commit(2)),
            ("/push/changes/2/commits/0/hash", Commit(2)),
            ("/push/changes/2/old", Null),
            ("/push/changes/2/created", Bool(true)),
        ]),
        Case::new(
            "tag push",
            PUSH,
            "repo:push",
            started("refs/tags/v1.0.0", "tag"),
        )
        .set(&[
            ("/push/changes/0/new/type", Str("tag")),
            ("/push/changes/0/new/name", Str("v1.0.0")),
            ("/push/changes/0/new/target/hash", Commit(0)),
            ("/push/changes/0/old", Null),
            ("/push/changes/0/created", Bool(true)),
        ]),
        Case::new(
            "branch deletion",
            PUSH,
            "repo:push",
            Expect::Ignored("branch deletion (refs/heads/name-of-branch)"),
        )
        .set(&[
            ("/push/changes/0/old/target/hash", Commit(0)),
            ("/push/changes/0/new", Null),
            ("/push/changes/0/closed", Bool(true)),
        ]),
        Case::new(
            "tag deletion",
            PUSH,
            "repo:push",
            Expect::Ignored("tag deletion (refs/tags/v1.0.0)"),
        )
        .set(&[
            ("/push/changes/0/old/type", Str("tag")),
            ("/push/changes/0/old/name", Str("v1.0.0")),
            ("/push/changes/0/old/target/hash", Commit(0)),
            ("/push/changes/0/new", Null),
            ("/push/changes/0/closed", Bool(true)),
        ]),
        Case::new("pull request created", PR, "pullrequest:created", PR_RUN)
            .set(&[("/pullrequest/source/commit/hash", Short(0))]),
        Case::new("pull request updated", PR, "pullrequest:updated", PR_RUN)
            .set(&[("/pullrequest/source/commit/hash", Short(0))]),
        Case::new(
            "pull request declined",
            PR,
            "pullrequest:rejected",
            Expect::Ignored("merge request closed"),
        )
        .set(&[("/pullrequest/state", Str("DECLINED"))]),
        Case::new(
            "pull request merged",
            PR,
            "pullrequest:fulfilled",
            Expect::Ignored("merge request merged"),
        )
        .set(&[("/pullrequest/state", Str("MERGED"))]),
        // Held, its abbreviation resolved in the fork (the target does
        // not have the commit).
        Case::new(
            FORK,
            PR,
            "pullrequest:created",
            from_fork(PR_BRANCH, fork(3), true),
        )
        .set(&[
            ("/pullrequest/id", Num(3)),
            ("/pullrequest/source/commit/hash", Short(0)),
            (
                "/pullrequest/source/repository/full_name",
                Str("forker/repo_name"),
            ),
            ("/pullrequest/author/username", Str("forker")),
            ("/actor/username", Str("forker")),
        ]),
        Case::new(
            "/ok-to-test by an untrusted person",
            COMMENT,
            "pullrequest:comment_created",
            Expect::Ignored("forker is not trusted"),
        )
        .set(&[
            ("/pullrequest/id", Num(3)),
            ("/pullrequest/source/commit/hash", ShortOf(FORK, 0)),
            ("/actor/username", Str("forker")),
        ]),
        // The comment names the abbreviation; the held run is at the full hash.
        Case::new(
            "/ok-to-test by a trusted person",
            COMMENT,
            "pullrequest:comment_created",
            Expect::Releases(FORK),
        )
        .set(&[
            ("/pullrequest/id", Num(3)),
            ("/pullrequest/source/commit/hash", ShortOf(FORK, 0)),
        ]),
        Case::new(
            "pull request from a fork by a trusted author",
            PR,
            "pullrequest:created",
            from_fork(PR_BRANCH, fork(4), false),
        )
        .set(&[
            ("/pullrequest/id", Num(4)),
            ("/pullrequest/source/commit/hash", Short(0)),
            (
                "/pullrequest/source/repository/full_name",
                Str("forker/repo_name"),
            ),
        ]),
        Case::new(
            "pull request approved (ignored)",
            PR,
            "pullrequest:approved",
            Expect::Ignored("merge request action \"approved\""),
        ),
    ],
};
