//! GitHub: the `octokit/webhooks` examples (Codertocat/Hello-World).
//! GitHub sends one `push` per ref, so there is no several-refs case.

use super::harness::{Case, Expect, Fixture, Provider, Val::*, held_fork, started};
use crate::fixture;
use slipway_tests::fakes::webhooks;

const PUSH: Fixture = fixture!("github/push_new_branch.json");
const OPENED: Fixture = fixture!("github/pull_request_opened.json");
const CLOSED: Fixture = fixture!("github/pull_request_closed.json");
const COMMENT: Fixture = fixture!("github/issue_comment_created.json");

/// The request from a fork by an untrusted author, and what held it.
const FORK: &str = "pull request from a fork by an untrusted author";

/// GitHub's table.
pub const GITHUB: Provider = Provider {
    name: "github",
    index: 1,
    fork: "forker/Hello-World",
    repo_paths: &["Codertocat/Hello-World", "Octocoders/Hello-World"],
    sign: webhooks::github,
    cases: &[
        Case::new(
            "push to a branch",
            PUSH,
            "push",
            started("refs/heads/master", "push"),
        )
        .set(&[
            ("/after", Commit(0)),
            ("/head_commit/id", Commit(0)),
            ("/commits/0/id", Commit(0)),
        ]),
        // The documented tag push deletes its tag; the same payload
        // creating it instead.
        Case::new(
            "tag push",
            fixture!("github/push_tag_deleted.json"),
            "push",
            started("refs/tags/simple-tag", "tag"),
        )
        .set(&[
            ("/before", Zero),
            ("/after", Commit(0)),
            ("/created", Bool(true)),
            ("/deleted", Bool(false)),
        ]),
        Case::new(
            "branch deletion",
            PUSH,
            "push",
            Expect::Ignored("branch deletion (refs/heads/master)"),
        )
        .set(&[
            ("/before", Commit(0)),
            ("/after", Zero),
            ("/created", Bool(false)),
            ("/deleted", Bool(true)),
            ("/head_commit", Null),
        ]),
        Case::new(
            "tag deletion",
            fixture!("github/push_tag_deleted.json"),
            "push",
            Expect::Ignored("tag deletion (refs/tags/simple-tag)"),
        ),
        Case::new(
            "pull request opened",
            OPENED,
            "pull_request",
            started("refs/heads/changes", "merge_request"),
        )
        .set(&[("/pull_request/head/sha", Commit(0))]),
        Case::new(
            "pull request synchronize",
            fixture!("github/pull_request_synchronize.json"),
            "pull_request",
            started("refs/heads/changes", "merge_request"),
        )
        .set(&[("/after", Commit(0)), ("/pull_request/head/sha", Commit(0))]),
        Case::new(
            "pull request reopened",
            OPENED,
            "pull_request",
            started("refs/heads/changes", "merge_request"),
        )
        .set(&[
            ("/action", Str("reopened")),
            ("/pull_request/head/sha", Commit(0)),
        ]),
        Case::new(
            "pull request closed",
            CLOSED,
            "pull_request",
            Expect::Ignored("merge request closed"),
        ),
        Case::new(
            "pull request merged",
            CLOSED,
            "pull_request",
            Expect::Ignored("merge request merged"),
        )
        .set(&[("/pull_request/merged", Bool(true))]),
        // Held, with the target branch's pipeline. Its ref and source are
        // not asserted yet: fork sources were reworked as this suite was
        // finished (issue 15, forks).
        Case::new(FORK, OPENED, "pull_request", held_fork(Some(0))).set(&[
            ("/number", Num(3)),
            ("/pull_request/number", Num(3)),
            ("/pull_request/head/sha", Commit(0)),
            (
                "/pull_request/head/repo/full_name",
                Str("forker/Hello-World"),
            ),
            ("/pull_request/head/label", Str("forker:changes")),
            ("/pull_request/user/login", Str("forker")),
            ("/pull_request/author_association", Str("CONTRIBUTOR")),
            ("/sender/login", Str("forker")),
        ]),
        Case::new(
            "/ok-to-test by an untrusted person",
            COMMENT,
            "issue_comment",
            Expect::Ignored("forker is not trusted"),
        )
        .set(&[
            ("/issue/number", Num(3)),
            ("/comment/user/login", Str("forker")),
            ("/comment/author_association", Str("CONTRIBUTOR")),
        ]),
        Case::new(
            "/ok-to-test by a trusted person",
            COMMENT,
            "issue_comment",
            Expect::Releases(FORK),
        )
        .set(&[("/issue/number", Num(3))]),
        Case::new(
            "pull request from a fork by a trusted author",
            OPENED,
            "pull_request",
            Expect::Pending(
                "starts a run of the fork's commit, built from the fork's clone URL and ref \
                 (SLIPWAY_SOURCE_REPO / SLIPWAY_SOURCE_REF); not asserted here yet: fork sources landed on main (e7188f7) as this suite \
                 was finished (issue 15, forks)",
            ),
        ),
        Case::new(
            "create (ignored)",
            fixture!("github/create.json"),
            "create",
            Expect::Ignored("create: the matching push event carries the commit"),
        ),
        Case::new(
            "ping",
            fixture!("github/ping.json"),
            "ping",
            Expect::Ignored("ping"),
        ),
    ],
};
