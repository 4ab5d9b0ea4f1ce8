//! Gitea and Forgejo: the push examples of their `usage/webhooks` pages;
//! their pull request and comment payloads are GitHub's shape (Gitea's
//! docs have no example of either). Gitea sends one push per ref, no ping,
//! and a branch or tag deletion as a `delete` event (no push); its "Test
//! Delivery" is a push of the default branch's head with `before` equal to
//! `after`.

use super::harness::{Case, Expect, Fixture, ForkSource, Provider, Val::*, from_fork, started};
use crate::fixture;
use slipway_tests::fakes::webhooks;

const PUSH: Fixture = fixture!("gitea/push.json");
const PR: Fixture = fixture!("github/pull_request_opened.json");
const CLOSED: Fixture = fixture!("github/pull_request_closed.json");
const COMMENT: Fixture = fixture!("gitea/issue_comment_pull.json");
const PR_RUN: Expect = started("refs/heads/changes", "merge_request");

/// The request from a fork by an untrusted author.
const FORK: &str = "pull request from a fork by an untrusted author";

/// The fork's clone URL.
const FORK_CLONE: &str = "https://gitea.com/forker/webhooks.git";

/// Request `number` from the fork's branch `changes`.
const fn fork(number: u64) -> ForkSource {
    ForkSource {
        number,
        git_ref: "refs/heads/changes",
        clone_url: FORK_CLONE,
    }
}

/// Gitea's table (Forgejo's deliveries go to `/hooks/forgejo`).
pub const GITEA: Provider = Provider {
    name: "gitea",
    index: 6,
    fork: "forker/webhooks",
    fork_heads_in_target: true,
    commit_statuses: true,
    repo_paths: &[
        "gitea/webhooks",
        "forgejo/webhooks",
        "Codertocat/Hello-World",
    ],
    sign: webhooks::gitea,
    cases: &[
        Case::new(
            "push to a branch",
            PUSH,
            "push",
            started("refs/heads/develop", "push"),
        )
        .set(&[("/after", Commit(0)), ("/commits/0/id", Commit(0))]),
        Case::new(
            "Forgejo push to a branch",
            fixture!("gitea/forgejo_push.json"),
            "push",
            started("refs/heads/develop", "push"),
        )
        .set(&[("/after", Commit(0)), ("/commits/0/id", Commit(0))])
        .via("forgejo"),
        Case::new(
            "Test Delivery (a push with before = after)",
            PUSH,
            "push",
            started("refs/heads/develop", "push"),
        )
        .set(&[
            ("/before", Commit(0)),
            ("/after", Commit(0)),
            ("/commits/0/id", Commit(0)),
        ]),
        Case::new("tag push", PUSH, "push", started("refs/tags/v1.0.0", "tag")).set(&[
            ("/ref", Str("refs/tags/v1.0.0")),
            ("/before", Zero),
            ("/after", Commit(0)),
            ("/commits", Null),
        ]),
        Case::new(
            "branch deletion (a delete event)",
            fixture!("gitea/delete.json"),
            "delete",
            Expect::Ignored("delete: "),
        ),
        Case::new(
            "tag deletion (a delete event)",
            fixture!("gitea/delete.json"),
            "delete",
            Expect::Ignored("delete: "),
        )
        .set(&[("/ref", Str("v1.0.0")), ("/ref_type", Str("tag"))]),
        // Gitea's pull request names no author association: trust is by
        // person (`gitea:Codertocat`).
        Case::new("pull request opened", PR, "pull_request", PR_RUN).set(&[
            ("/pull_request/author_association", Remove),
            ("/pull_request/head/sha", Commit(0)),
        ]),
        Case::new("pull request synchronized", PR, "pull_request", PR_RUN).set(&[
            ("/action", Str("synchronized")),
            ("/pull_request/author_association", Remove),
            ("/pull_request/head/sha", Commit(0)),
        ]),
        Case::new("pull request reopened", PR, "pull_request", PR_RUN).set(&[
            ("/action", Str("reopened")),
            ("/pull_request/author_association", Remove),
            ("/pull_request/head/sha", Commit(0)),
        ]),
        Case::new(
            "pull request closed",
            CLOSED,
            "pull_request",
            Expect::Ignored("merge request closed"),
        )
        .set(&[("/pull_request/author_association", Remove)]),
        Case::new(
            "pull request merged",
            CLOSED,
            "pull_request",
            Expect::Ignored("merge request merged"),
        )
        .set(&[
            ("/pull_request/author_association", Remove),
            ("/pull_request/merged", Bool(true)),
        ]),
        // Held; the target keeps the fork's head under refs/pull/3/head.
        Case::new(
            FORK,
            PR,
            "pull_request",
            from_fork("refs/pull/3/head", fork(3), true),
        )
        .set(&[
            ("/number", Num(3)),
            ("/pull_request/number", Num(3)),
            ("/pull_request/author_association", Remove),
            ("/pull_request/head/sha", Commit(0)),
            ("/pull_request/head/repo/full_name", Str("forker/webhooks")),
            ("/pull_request/head/repo/clone_url", Str(FORK_CLONE)),
            ("/pull_request/user/login", Str("forker")),
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
            PR,
            "pull_request",
            from_fork("refs/pull/4/head", fork(4), false),
        )
        .set(&[
            ("/number", Num(4)),
            ("/pull_request/number", Num(4)),
            ("/pull_request/author_association", Remove),
            ("/pull_request/head/sha", Commit(0)),
            ("/pull_request/head/repo/full_name", Str("forker/webhooks")),
            ("/pull_request/head/repo/clone_url", Str(FORK_CLONE)),
        ]),
        Case::new(
            "comment on an issue (ignored)",
            COMMENT,
            "issue_comment",
            Expect::Ignored("a comment on an issue, not on a pull request"),
        )
        .set(&[("/is_pull", Bool(false)), ("/issue/pull_request", Null)]),
    ],
};
