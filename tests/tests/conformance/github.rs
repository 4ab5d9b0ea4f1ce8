//! GitHub: the `octokit/webhooks` examples (Codertocat/Hello-World).
//! GitHub sends one `push` per ref, so there is no several-refs case.

use super::harness::{Case, Expect, Fixture, ForkSource, Provider, Val::*, from_fork, started};
use crate::fixture;
use slipway_tests::fakes::webhooks;

const PUSH: Fixture = fixture!("github/push_new_branch.json");
const OPENED: Fixture = fixture!("github/pull_request_opened.json");
const CLOSED: Fixture = fixture!("github/pull_request_closed.json");
const COMMENT: Fixture = fixture!("github/issue_comment_created.json");

/// The request from a fork by an untrusted author, and what held it.
const FORK: &str = "pull request from a fork by an untrusted author";

/// The fork's clone URL.
const FORK_CLONE: &str = "https://github.com/forker/Hello-World.git";

/// Request `number` from the fork's branch `changes`.
const fn fork(number: u64) -> ForkSource {
    ForkSource {
        number,
        git_ref: "refs/heads/changes",
        clone_url: FORK_CLONE,
    }
}

/// GitHub's table.
pub const GITHUB: Provider = Provider {
    name: "github",
    index: 1,
    fork: "forker/Hello-World",
    fork_heads_in_target: true,
    commit_statuses: true,
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
        // Held, with the target branch's pipeline; the target keeps the
        // fork's head under refs/pull/3/head.
        Case::new(
            FORK,
            OPENED,
            "pull_request",
            from_fork("refs/pull/3/head", fork(3), true),
        )
        .set(&[
            ("/number", Num(3)),
            ("/pull_request/number", Num(3)),
            ("/pull_request/head/sha", Commit(0)),
            (
                "/pull_request/head/repo/full_name",
                Str("forker/Hello-World"),
            ),
            ("/pull_request/head/repo/clone_url", Str(FORK_CLONE)),
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
            from_fork("refs/pull/4/head", fork(4), false),
        )
        .set(&[
            ("/number", Num(4)),
            ("/pull_request/number", Num(4)),
            ("/pull_request/head/sha", Commit(0)),
            (
                "/pull_request/head/repo/full_name",
                Str("forker/Hello-World"),
            ),
            ("/pull_request/head/repo/clone_url", Str(FORK_CLONE)),
            ("/pull_request/head/label", Str("forker:changes")),
        ]),
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
