//! GitLab: the examples of `doc/user/project/integrations/webhook_events.md`.
//! GitLab sends one Push Hook per ref (and none at all for a push of more
//! than three refs), so there is no several-refs case. Its "Test" button
//! sends an ordinary Push Hook of the default branch.

use super::harness::{Case, Expect, Fixture, ForkSource, Provider, Val::*, from_fork, started};
use crate::fixture;
use slipway_tests::fakes::webhooks;

const PUSH: Fixture = fixture!("gitlab/push.json");
const TAG: Fixture = fixture!("gitlab/tag_push.json");
const MR: Fixture = fixture!("gitlab/merge_request.json");
const NOTE: Fixture = fixture!("gitlab/note_merge_request.json");
const MR_RUN: Expect = started("refs/heads/ms-viewport", "merge_request");

/// The request from a fork by an untrusted author.
const FORK: &str = "merge request from a fork by an untrusted author";

/// The fork's clone URL.
const FORK_CLONE: &str = "http://example.com/forker/shop-gitlab.git";

/// Request `number` from the fork's branch `ms-viewport`.
const fn fork(number: u64) -> ForkSource {
    ForkSource {
        number,
        git_ref: "refs/heads/ms-viewport",
        clone_url: FORK_CLONE,
    }
}

/// GitLab's table.
pub const GITLAB: Provider = Provider {
    name: "gitlab",
    index: 2,
    fork: "forker/shop-gitlab",
    fork_heads_in_target: true,
    commit_statuses: true,
    repo_paths: &[
        "gitlabhq/gitlab-test",
        "gitlab-org/gitlab-test",
        "awesome_space/awesome_project",
        "mike/diaspora",
        "jsmith/example",
    ],
    sign: webhooks::gitlab,
    cases: &[
        Case::new(
            "push to a branch",
            PUSH,
            "Push Hook",
            started("refs/heads/master", "push"),
        )
        .set(&[
            ("/after", Commit(0)),
            ("/checkout_sha", Commit(0)),
            ("/commits/1/id", Commit(0)),
        ]),
        Case::new(
            "Test delivery (a push of the default branch)",
            PUSH,
            "Push Hook",
            started("refs/heads/master", "push"),
        )
        .set(&[
            ("/after", Commit(0)),
            ("/checkout_sha", Commit(0)),
            ("/commits/1/id", Commit(0)),
        ]),
        Case::new(
            "tag push",
            TAG,
            "Tag Push Hook",
            started("refs/tags/v1.0.0", "tag"),
        )
        .set(&[("/after", Commit(0)), ("/checkout_sha", Commit(0))]),
        Case::new(
            "branch deletion",
            PUSH,
            "Push Hook",
            Expect::Ignored("branch deletion (refs/heads/master)"),
        )
        .set(&[
            ("/before", Commit(0)),
            ("/after", Zero),
            ("/checkout_sha", Null),
        ]),
        Case::new(
            "tag deletion",
            TAG,
            "Tag Push Hook",
            Expect::Ignored("tag deletion (refs/tags/v1.0.0)"),
        )
        .set(&[
            ("/before", Commit(0)),
            ("/after", Zero),
            ("/checkout_sha", Null),
        ]),
        Case::new("merge request opened", MR, "Merge Request Hook", MR_RUN)
            .set(&[("/object_attributes/last_commit/id", Commit(0))]),
        Case::new(
            "merge request updated (new commits: oldrev)",
            MR,
            "Merge Request Hook",
            MR_RUN,
        )
        .set(&[
            ("/object_attributes/action", Str("update")),
            ("/object_attributes/oldrev", Commit(1)),
            ("/object_attributes/last_commit/id", Commit(0)),
        ]),
        Case::new(
            "merge request updated (title only: no oldrev)",
            MR,
            "Merge Request Hook",
            Expect::Ignored("merge request action \"update\""),
        )
        .set(&[
            ("/object_attributes/action", Str("update")),
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
        // Held; the target keeps the fork's head under
        // refs/merge-requests/3/head.
        Case::new(
            FORK,
            MR,
            "Merge Request Hook",
            from_fork("refs/merge-requests/3/head", fork(3), true),
        )
        .set(&[
            ("/object_attributes/iid", Num(3)),
            ("/object_attributes/last_commit/id", Commit(0)),
            (
                "/object_attributes/source/path_with_namespace",
                Str("forker/shop-gitlab"),
            ),
            ("/object_attributes/source/git_http_url", Str(FORK_CLONE)),
            ("/object_attributes/source_project_id", Num(99)),
            ("/user/username", Str("forker")),
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
            from_fork("refs/merge-requests/4/head", fork(4), false),
        )
        .set(&[
            ("/object_attributes/iid", Num(4)),
            ("/object_attributes/last_commit/id", Commit(0)),
            (
                "/object_attributes/source/path_with_namespace",
                Str("forker/shop-gitlab"),
            ),
            ("/object_attributes/source/git_http_url", Str(FORK_CLONE)),
            ("/object_attributes/source_project_id", Num(99)),
        ]),
        Case::new(
            "Issue Hook (ignored)",
            fixture!("gitlab/issue.json"),
            "Issue Hook",
            Expect::Ignored("Issue Hook: not an event Slipway acts on"),
        ),
    ],
};
