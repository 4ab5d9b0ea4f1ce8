//! Bitbucket Cloud: the `repo:push` and pull request examples of
//! Atlassian's "Event payloads" page, signed with `X-Hub-Signature:
//! sha256=…`. One `repo:push` may carry several ref changes. Bitbucket has
//! no ping or test delivery, and a declined request cannot be reopened, so
//! neither has a case.
//!
//! Pull request payloads name their commits by 12-character
//! abbreviations. Resolving them to full hashes landed on main (issue
//! 15, short hashes) as this suite was finished: the cases that would start a run of a
//! request's commit are not sent (their expectation is written down),
//! nor are the untrusted author's held request and the `/ok-to-test` that
//! would release it; they are next.

use super::harness::{Case, Expect, Fixture, Provider, RunExpect, Val::*, started};
use crate::fixture;
use slipway_tests::fakes::webhooks;

const PUSH: Fixture = fixture!("bitbucket/push.json");
const PR: Fixture = fixture!("bitbucket/pullrequest_created.json");
const COMMENT: Fixture = fixture!("bitbucket/pullrequest_comment_created.json");
const BRANCH: &str = "refs/heads/name-of-branch";

/// The request from a fork by an untrusted author.
const FORK: &str = "pull request from a fork by an untrusted author";

/// A started push run of `git_ref` at the case's commit `commit`.
const fn push_run(git_ref: &'static str, commit: u32, kind: &'static str) -> RunExpect {
    RunExpect {
        git_ref: Some(git_ref),
        commit: Some(commit),
        kind,
        held: false,
    }
}

/// What a request's run should be once its abbreviated hash is resolved.
const SHORT_HASH: &str = "starts a run of the request's head at its full 40-digit hash, resolved \
    through the API from the payload's 12-character `source.commit.hash` (issue 15, short hashes)";

/// Bitbucket's table.
pub const BITBUCKET: Provider = Provider {
    name: "bitbucket",
    index: 5,
    fork: "forker/repo_name",
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
        Case::new(
            "pull request created",
            PR,
            "pullrequest:created",
            Expect::Pending(SHORT_HASH),
        ),
        Case::new(
            "pull request updated",
            PR,
            "pullrequest:updated",
            Expect::Pending(SHORT_HASH),
        ),
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
        // Before short hashes were resolved, this run's commit was the
        // abbreviation and its commit status was refused ("Commit not
        // found") until given up.
        Case::new(
            FORK,
            PR,
            "pullrequest:created",
            Expect::Pending(
                "held for /ok-to-test, a run of the request's head at its full hash (resolved \
                 from the 12-character `source.commit.hash`, issue 15, short hashes); not asserted here yet: short-hash \
                 resolution landed on main (e7188f7) as this suite was finished",
            ),
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
        Case::new(
            "/ok-to-test by a trusted person",
            COMMENT,
            "pullrequest:comment_created",
            Expect::Pending(
                "releases the held run of the request above and starts its build at the full \
                 hash (issue 15, short hashes)",
            ),
        ),
        Case::new(
            "pull request from a fork by a trusted author",
            PR,
            "pullrequest:created",
            Expect::Pending(
                "starts a run of the fork's commit (resolved to its full hash), built from the \
             fork's clone URL and ref (issue 15, forks and short hashes)",
            ),
        ),
        Case::new(
            "pull request approved (ignored)",
            PR,
            "pullrequest:approved",
            Expect::Ignored("merge request action \"approved\""),
        ),
    ],
};
