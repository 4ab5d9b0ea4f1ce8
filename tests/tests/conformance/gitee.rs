//! Gitee: the samples of "WebHook 推送数据格式说明" (help article 4186),
//! signed in signature mode (HMAC of the timestamp). Gitee sends one Push
//! Hook per ref, documents no ping, and lists no "reopen" pull request
//! action (`open`, `update`, `close`, `merge`, `test`, …), so neither has
//! a case.

use super::harness::{Case, Expect, Fixture, ForkSource, Provider, Val::*, from_fork, started};
use crate::fixture;
use slipway_tests::fakes::webhooks;

const PUSH: Fixture = fixture!("gitee/push.json");
const PR: Fixture = fixture!("gitee/merge_request.json");
const NOTE: Fixture = fixture!("gitee/note_pull_request.json");
const PR_RUN: Expect = started("refs/heads/login_should_complete_info", "merge_request");
const BRANCH: &str = "refs/heads/change_commitlint_config";

/// The request from a fork by an untrusted author.
const FORK: &str = "pull request from a fork by an untrusted author";

/// The fork's clone URL.
const FORK_CLONE: &str = "https://gitee.ru/forker/gitee.git";

/// Request `number` from the fork's branch `login_should_complete_info`.
const fn fork(number: u64) -> ForkSource {
    ForkSource {
        number,
        git_ref: "refs/heads/login_should_complete_info",
        clone_url: FORK_CLONE,
    }
}

/// Gitee's table.
pub const GITEE: Provider = Provider {
    name: "gitee",
    index: 3,
    fork: "forker/gitee",
    fork_heads_in_target: true,
    commit_statuses: false,
    repo_paths: &["oschina/gitee"],
    sign: webhooks::gitee_signed,
    cases: &[
        Case::new(
            "push to a branch",
            PUSH,
            "Push Hook",
            started(BRANCH, "push"),
        )
        .set(&[
            ("/after", Commit(0)),
            ("/commits/0/id", Commit(0)),
            ("/head_commit/id", Commit(0)),
        ]),
        Case::new(
            "tag push",
            PUSH,
            "Tag Push Hook",
            started("refs/tags/v1.0.0", "tag"),
        )
        .set(&[
            ("/hook_name", Str("tag_push_hooks")),
            ("/ref", Str("refs/tags/v1.0.0")),
            ("/after", Commit(0)),
            ("/commits", Null),
            ("/head_commit/id", Commit(0)),
        ]),
        Case::new(
            "branch deletion",
            PUSH,
            "Push Hook",
            Expect::Ignored("branch deletion"),
        )
        .set(&[
            ("/before", Commit(0)),
            ("/after", Zero),
            ("/created", Bool(false)),
            ("/deleted", Bool(true)),
            ("/commits", Null),
            ("/head_commit", Null),
        ]),
        Case::new(
            "tag deletion",
            PUSH,
            "Tag Push Hook",
            Expect::Ignored("tag deletion (refs/tags/v1.0.0)"),
        )
        .set(&[
            ("/hook_name", Str("tag_push_hooks")),
            ("/ref", Str("refs/tags/v1.0.0")),
            ("/before", Commit(0)),
            ("/after", Zero),
            ("/created", Bool(false)),
            ("/deleted", Bool(true)),
            ("/commits", Null),
            ("/head_commit", Null),
        ]),
        // The documented sample carries no `action`, only `state: open`.
        Case::new(
            "pull request opened (the sample as published)",
            PR,
            "Merge Request Hook",
            PR_RUN,
        )
        .set(&[("/pull_request/head/sha", Commit(0))]),
        Case::new("pull request opened", PR, "Merge Request Hook", PR_RUN).set(&[
            ("/action", Str("open")),
            ("/pull_request/head/sha", Commit(0)),
        ]),
        Case::new("pull request updated", PR, "Merge Request Hook", PR_RUN).set(&[
            ("/action", Str("update")),
            ("/action_desc", Str("source_branch_changed")),
            ("/pull_request/head/sha", Commit(0)),
        ]),
        Case::new(
            "pull request closed",
            PR,
            "Merge Request Hook",
            Expect::Ignored("merge request closed"),
        )
        .set(&[
            ("/action", Str("close")),
            ("/pull_request/state", Str("closed")),
        ]),
        Case::new(
            "pull request merged",
            PR,
            "Merge Request Hook",
            Expect::Ignored("merge request merged"),
        )
        .set(&[
            ("/action", Str("merge")),
            ("/pull_request/state", Str("merged")),
            ("/pull_request/merged", Bool(true)),
        ]),
        // Held; the target keeps the fork's head under refs/pull/3/head.
        Case::new(
            FORK,
            PR,
            "Merge Request Hook",
            from_fork("refs/pull/3/head", fork(3), true),
        )
        .set(&[
            ("/action", Str("open")),
            ("/pull_request/number", Num(3)),
            ("/pull_request/head/sha", Commit(0)),
            (
                "/pull_request/head/repo/path_with_namespace",
                Str("forker/gitee"),
            ),
            ("/pull_request/head/repo/full_name", Str("forker/gitee")),
            ("/pull_request/head/repo/clone_url", Str(FORK_CLONE)),
            ("/pull_request/user/login", Str("forker")),
            ("/author/login", Str("forker")),
            ("/sender/login", Str("forker")),
        ]),
        Case::new(
            "/ok-to-test by an untrusted person",
            NOTE,
            "Note Hook",
            Expect::Ignored("forker is not trusted"),
        )
        .set(&[
            ("/pull_request/number", Num(3)),
            ("/pull_request/head/sha", CommitOf(FORK, 0)),
            ("/comment/user/login", Str("forker")),
        ]),
        Case::new(
            "/ok-to-test by a trusted person",
            NOTE,
            "Note Hook",
            Expect::Releases(FORK),
        )
        .set(&[
            ("/pull_request/number", Num(3)),
            ("/pull_request/head/sha", CommitOf(FORK, 0)),
        ]),
        Case::new(
            "pull request from a fork by a trusted author",
            PR,
            "Merge Request Hook",
            from_fork("refs/pull/4/head", fork(4), false),
        )
        .set(&[
            ("/action", Str("open")),
            ("/pull_request/number", Num(4)),
            ("/pull_request/head/sha", Commit(0)),
            (
                "/pull_request/head/repo/path_with_namespace",
                Str("forker/gitee"),
            ),
            ("/pull_request/head/repo/full_name", Str("forker/gitee")),
            ("/pull_request/head/repo/clone_url", Str(FORK_CLONE)),
        ]),
        // The published comment sample is on an issue; the fixture made it
        // a pull request comment, this puts it back.
        Case::new(
            "comment on an issue (ignored)",
            NOTE,
            "Note Hook",
            Expect::Ignored("a comment on a Issue, not on a pull request"),
        )
        .set(&[("/noteable_type", Str("Issue"))]),
    ],
};
