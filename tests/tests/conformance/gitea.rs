//! Gitea and Forgejo: the push examples of their `usage/webhooks` pages;
//! their pull request and comment payloads are GitHub's shape (Gitea's
//! docs have no example of either). Gitea sends one push per ref, no ping,
//! and a branch or tag deletion as a `delete` event (no push); its "Test
//! Delivery" is a push of the default branch's head with `before` equal to
//! `after`.

use super::harness::{Case, Expect, Fixture, Provider, Val::*, held_fork, started};
use crate::fixture;
use slipway_tests::fakes::webhooks;

const PUSH: Fixture = fixture!("gitea/push.json");
const PR: Fixture = fixture!("github/pull_request_opened.json");
const CLOSED: Fixture = fixture!("github/pull_request_closed.json");
const COMMENT: Fixture = fixture!("gitea/issue_comment_pull.json");
const PR_RUN: Expect = started("refs/heads/changes", "merge_request");

/// The request from a fork by an untrusted author.
const FORK: &str = "pull request from a fork by an untrusted author";

/// Gitea's table (Forgejo's deliveries go to `/hooks/forgejo`).
pub const GITEA: Provider = Provider {
    name: "gitea",
    index: 6,
    fork: "forker/webhooks",
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
        Case::new(FORK, PR, "pull_request", held_fork(Some(0))).set(&[
            ("/number", Num(3)),
            ("/pull_request/number", Num(3)),
            ("/pull_request/author_association", Remove),
            ("/pull_request/head/sha", Commit(0)),
            ("/pull_request/head/repo/full_name", Str("forker/webhooks")),
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
            Expect::Pending(
                "starts a run of the fork's commit, built from the fork's clone URL and ref; not asserted here yet: fork sources landed on main (e7188f7) as this suite \
                 was finished (issue 15, forks)",
            ),
        ),
        Case::new(
            "comment on an issue (ignored)",
            COMMENT,
            "issue_comment",
            Expect::Ignored("a comment on an issue, not on a pull request"),
        )
        .set(&[("/is_pull", Bool(false)), ("/issue/pull_request", Null)]),
    ],
};
