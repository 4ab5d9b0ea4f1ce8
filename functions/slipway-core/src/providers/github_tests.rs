//! Tests of [`super`].

use super::*;
use crate::providers::test_support::{headers, hmac_hex, json};
use crate::providers::{Provider, parse as parse_any, verify as verify_any};

const PUSH_NEW_BRANCH: &str =
    include_str!("../../tests/fixtures/providers/github/push_new_branch.json");
const PUSH_TAG_DELETED: &str =
    include_str!("../../tests/fixtures/providers/github/push_tag_deleted.json");
const PING: &str = include_str!("../../tests/fixtures/providers/github/ping.json");
const PR_OPENED: &str =
    include_str!("../../tests/fixtures/providers/github/pull_request_opened.json");
const PR_SYNC: &str =
    include_str!("../../tests/fixtures/providers/github/pull_request_synchronize.json");
const PR_CLOSED: &str =
    include_str!("../../tests/fixtures/providers/github/pull_request_closed.json");
const WORKFLOW_RUN: &str =
    include_str!("../../tests/fixtures/providers/github/workflow_run_completed.json");
const CHECK_RUN: &str =
    include_str!("../../tests/fixtures/providers/github/check_run_completed.json");
const CREATE: &str = include_str!("../../tests/fixtures/providers/github/create.json");
const PR_COMMENT: &str =
    include_str!("../../tests/fixtures/providers/github/issue_comment_created.json");

const DOC_SECRET: &str = "It's a Secret to Everybody";
const DOC_SIG: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

fn event(name: &str, body: &str) -> Result<ParsedEvent, EventError> {
    let h = headers(&[
        ("x-github-event", name),
        ("content-type", "application/json"),
    ]);
    parse_any(Provider::GitHub, &h, body.as_bytes())
}

fn push_of(body: &str) -> PushEvent {
    match event("push", body).expect("push parses") {
        ParsedEvent::Push(p) => p,
        other => panic!("expected a push, got {other:?}"),
    }
}

fn mr_of(body: &str) -> MergeRequestEvent {
    match event("pull_request", body).expect("pull_request parses") {
        ParsedEvent::MergeRequest(m) => m,
        other => panic!("expected a merge request, got {other:?}"),
    }
}

#[test]
fn documented_signature_vector() {
    let h = headers(&[("X-Hub-Signature-256", DOC_SIG)]);
    verify_any(Provider::GitHub, &h, b"Hello, World!", DOC_SECRET, 0).expect("doc vector");
}

#[test]
fn signature_rejections() {
    let h = headers(&[("x-hub-signature-256", DOC_SIG)]);
    assert_eq!(
        verify_any(Provider::GitHub, &h, b"Hello, World!", "wrong secret", 0),
        Err(AuthError::Mismatch("x-hub-signature-256"))
    );
    assert_eq!(
        verify_any(Provider::GitHub, &h, b"Hello, World?", DOC_SECRET, 0),
        Err(AuthError::Mismatch("x-hub-signature-256"))
    );
    // The legacy SHA-1 header alone is not accepted.
    let sha1 = headers(&[(
        "x-hub-signature",
        "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59",
    )]);
    assert_eq!(
        verify_any(Provider::GitHub, &sha1, b"Hello, World!", DOC_SECRET, 0),
        Err(AuthError::MissingHeader("x-hub-signature-256"))
    );
    let bare = headers(&[("x-hub-signature-256", &DOC_SIG[7..])]);
    assert!(matches!(
        verify_any(Provider::GitHub, &bare, b"Hello, World!", DOC_SECRET, 0),
        Err(AuthError::Malformed { .. })
    ));
}

#[test]
fn signature_covers_the_raw_form_body() {
    let form = format!(
        "payload={}",
        url::form_urlencoded::byte_serialize(PING.as_bytes()).collect::<String>()
    );
    let sig = format!("sha256={}", hmac_hex("s3cret", form.as_bytes()));
    let h = headers(&[
        ("x-hub-signature-256", &sig),
        ("content-type", "application/x-www-form-urlencoded"),
        ("x-github-event", "ping"),
    ]);
    verify_any(Provider::GitHub, &h, form.as_bytes(), "s3cret", 0).expect("raw bytes signed");
    assert_eq!(
        parse_any(Provider::GitHub, &h, form.as_bytes()),
        Ok(ParsedEvent::Ping)
    );
}

#[test]
fn form_encoded_push() {
    let form = format!(
        "payload={}",
        url::form_urlencoded::byte_serialize(PUSH_NEW_BRANCH.as_bytes()).collect::<String>()
    );
    let h = headers(&[
        ("x-github-event", "push"),
        ("content-type", "application/x-www-form-urlencoded"),
    ]);
    let ParsedEvent::Push(p) = parse_any(Provider::GitHub, &h, form.as_bytes()).expect("form")
    else {
        panic!("expected a push")
    };
    assert_eq!(p, push_of(PUSH_NEW_BRANCH));
}

#[test]
fn documented_new_branch_push() {
    let p = push_of(PUSH_NEW_BRANCH);
    assert_eq!(p.repo, "Codertocat/Hello-World");
    assert_eq!(
        p.clone_url.as_deref(),
        Some("https://github.com/Codertocat/Hello-World.git")
    );
    assert_eq!(p.branch(), Some("master"));
    assert_eq!(p.before, "0".repeat(40));
    assert_eq!(p.after, "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
    assert!(p.created && !p.deleted);
    assert_eq!(p.pusher.as_deref(), Some("Codertocat"));
    assert_eq!(p.changed_paths, vec!["README.md"]);
    assert!(p.paths_complete);
}

#[test]
fn documented_tag_deletion_push() {
    let p = push_of(PUSH_TAG_DELETED);
    assert_eq!(p.tag(), Some("simple-tag"));
    assert!(p.deleted && !p.created);
    assert_eq!(p.after, "0".repeat(40));
    assert!(p.changed_paths.is_empty());
    assert!(
        !p.paths_complete,
        "no commits: path filters must not exclude it"
    );
}

#[test]
fn push_with_modified_and_removed_files() {
    let mut v = json(PUSH_NEW_BRANCH);
    v["created"] = false.into();
    v["before"] = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e".into();
    v["commits"][0]["modified"] = serde_json::json!(["src/lib.rs"]);
    v["commits"][0]["removed"] = serde_json::json!(["old.txt"]);
    let p = push_of(&v.to_string());
    assert!(!p.created);
    assert_eq!(p.changed_paths, vec!["README.md", "old.txt", "src/lib.rs"]);
    assert!(p.paths_complete);
}

#[test]
fn capped_push_is_incomplete() {
    let mut v = json(PUSH_NEW_BRANCH);
    let commit = v["commits"][0].clone();
    v["commits"] = serde_json::Value::Array(vec![commit; MAX_PUSH_COMMITS]);
    assert!(!push_of(&v.to_string()).paths_complete);
}

#[test]
fn ping_create_and_other_events() {
    assert_eq!(event("ping", PING), Ok(ParsedEvent::Ping));
    assert!(matches!(
        event("create", CREATE),
        Ok(ParsedEvent::Ignored { ref event, .. }) if event == "create"
    ));
    assert!(matches!(
        event("star", "{}"),
        Ok(ParsedEvent::Ignored { ref event, .. }) if event == "star"
    ));
}

#[test]
fn documented_pull_requests() {
    let opened = mr_of(PR_OPENED);
    assert_eq!(opened.repo, "Codertocat/Hello-World");
    assert_eq!(opened.number, 2);
    assert_eq!(opened.action, MrAction::Opened);
    assert_eq!(opened.source_branch, "changes");
    assert_eq!(opened.target_branch, "master");
    assert_eq!(opened.head_sha, "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
    assert_eq!(opened.source_repo, "Codertocat/Hello-World");
    assert_eq!(
        opened.source_clone_url.as_deref(),
        Some("https://github.com/Codertocat/Hello-World.git")
    );
    assert_eq!(
        opened.url.as_deref(),
        Some("https://github.com/Codertocat/Hello-World/pull/2")
    );
    assert!(!opened.draft);
    assert_eq!(mr_of(PR_SYNC).action, MrAction::Updated);
    assert_eq!(mr_of(PR_CLOSED).action, MrAction::Closed);
    let mut merged = json(PR_CLOSED);
    merged["pull_request"]["merged"] = true.into();
    assert_eq!(mr_of(&merged.to_string()).action, MrAction::Merged);
    let mut ready = json(PR_OPENED);
    ready["action"] = "ready_for_review".into();
    ready["pull_request"]["draft"] = true.into();
    let ready = mr_of(&ready.to_string());
    assert_eq!(ready.action, MrAction::Other("ready_for_review".into()));
    assert!(ready.draft);
}

#[test]
fn pull_request_author_and_association() {
    let opened = mr_of(PR_OPENED);
    assert_eq!(opened.author.as_deref(), Some("Codertocat"));
    assert_eq!(opened.author_association.as_deref(), Some("OWNER"));
    let mut v = json(PR_OPENED);
    v["pull_request"]["user"]["login"] = "octocat-fork".into();
    v["pull_request"]["author_association"] = "FIRST_TIME_CONTRIBUTOR".into();
    v["sender"]["login"] = "someone-else".into();
    let m = mr_of(&v.to_string());
    assert_eq!(m.author.as_deref(), Some("octocat-fork"), "not the sender");
    assert_eq!(
        m.author_association.as_deref(),
        Some("FIRST_TIME_CONTRIBUTOR")
    );
    v["pull_request"]
        .as_object_mut()
        .map(|o| o.remove("author_association"));
    v["pull_request"]["user"] = serde_json::Value::Null;
    let bare = mr_of(&v.to_string());
    assert_eq!((bare.author, bare.author_association), (None, None));
}

fn comment_of(body: &str) -> CommentEvent {
    match event("issue_comment", body).expect("issue_comment parses") {
        ParsedEvent::Comment(c) => c,
        other => panic!("expected a comment, got {other:?}"),
    }
}

#[test]
fn documented_pull_request_comment() {
    assert_eq!(
        comment_of(PR_COMMENT),
        CommentEvent {
            repo: "Codertocat/Hello-World".into(),
            number: 1,
            body: "/ok-to-test".into(),
            author: "Codertocat".into(),
            author_association: Some("OWNER".into()),
            head_sha: None,
            created: true,
        }
    );
    let mut v = json(PR_COMMENT);
    v["comment"]["user"]["login"] = "drive-by".into();
    v["comment"]["author_association"] = "NONE".into();
    let c = comment_of(&v.to_string());
    assert_eq!(c.author, "drive-by", "the commenter, not the issue author");
    assert_eq!(c.author_association.as_deref(), Some("NONE"));
}

#[test]
fn edited_and_deleted_comments_are_not_created() {
    let mut v = json(PR_COMMENT);
    for action in ["edited", "deleted"] {
        v["action"] = action.into();
        let c = comment_of(&v.to_string());
        assert!(!c.created, "{action}");
        assert_eq!(c.body, "/ok-to-test");
    }
}

#[test]
fn issue_comments_and_review_comments_are_ignored() {
    let mut v = json(PR_COMMENT);
    v["issue"]["pull_request"] = serde_json::Value::Null;
    let ParsedEvent::Ignored {
        event: name,
        reason,
    } = event("issue_comment", &v.to_string()).expect("issue comment")
    else {
        panic!("an issue comment is ignored")
    };
    assert_eq!(name, "issue_comment");
    assert!(reason.contains("not on a pull request"), "{reason}");
    v["issue"].as_object_mut().map(|o| o.remove("pull_request"));
    assert!(matches!(
        event("issue_comment", &v.to_string()),
        Ok(ParsedEvent::Ignored { .. })
    ));
    assert!(matches!(
        event("pull_request_review_comment", PR_COMMENT),
        Ok(ParsedEvent::Ignored { ref event, .. }) if event == "pull_request_review_comment"
    ));
}

#[test]
fn pull_request_comment_missing_fields_is_malformed() {
    let mut v = json(PR_COMMENT);
    v["issue"].as_object_mut().map(|o| o.remove("number"));
    assert_eq!(
        event("issue_comment", &v.to_string()),
        Err(EventError::Malformed("missing field `issue.number`".into()))
    );
    let mut v = json(PR_COMMENT);
    v["comment"]["user"] = serde_json::Value::Null;
    assert_eq!(
        event("issue_comment", &v.to_string()),
        Err(EventError::Malformed(
            "missing field `comment.user.login`".into()
        ))
    );
    let mut v = json(PR_COMMENT);
    v["comment"].as_object_mut().map(|o| o.remove("body"));
    assert_eq!(
        event("issue_comment", &v.to_string()),
        Err(EventError::Malformed("missing field `comment.body`".into()))
    );
}

#[test]
fn documented_workflow_and_check_runs() {
    let ParsedEvent::WorkflowRun(run) = event("workflow_run", WORKFLOW_RUN).expect("run") else {
        panic!("expected a workflow run")
    };
    assert_eq!(run.repo, "octo-org/octo-repo");
    assert_eq!(run.action, "completed");
    assert_eq!(run.id, 289782451);
    assert_eq!(
        run.name, "test",
        "empty run name falls back to the workflow's"
    );
    assert_eq!(run.status, "completed");
    assert_eq!(run.conclusion.as_deref(), Some("success"));
    assert_eq!(run.head_sha, "3484a3fb816e0859fd6e1cea078d76385ff50625");
    assert_eq!(run.head_branch.as_deref(), Some("master"));
    assert_eq!(
        run.html_url,
        "https://github.com/octo-org/octo-repo/actions/runs/289782451"
    );
    assert_eq!(run.run_attempt, 1);
    assert_eq!(run.event.as_deref(), Some("repository_dispatch"));
    assert_eq!(run.path.as_deref(), Some(".github/workflows/test.yml"));
    assert_eq!(run.workflow_id, Some(2823525));
    // A check run is one job, not the workflow run: its own type.
    let ParsedEvent::CheckRun(check) = event("check_run", CHECK_RUN).expect("check") else {
        panic!("expected a check run")
    };
    assert_eq!(check.id, 128620228);
    assert_eq!(check.name, "Octocoders-linter");
    assert_eq!(check.workflow_run_id, None);
}

#[test]
fn malformed_bodies_and_missing_fields() {
    let e = event("push", "{\"ref\": ").expect_err("truncated JSON");
    assert!(e.to_string().contains("body is not JSON"), "{e}");
    let mut v = json(PUSH_NEW_BRANCH);
    v.as_object_mut().map(|o| o.remove("after"));
    assert_eq!(
        event("push", &v.to_string()),
        Err(EventError::Malformed("missing field `after`".into()))
    );
    let mut v = json(PR_OPENED);
    v["pull_request"]["head"]
        .as_object_mut()
        .map(|o| o.remove("sha"));
    let e = event("pull_request", &v.to_string()).expect_err("no head sha");
    assert!(e.to_string().contains("`pull_request.head.sha`"), "{e}");
    let e = parse_any(Provider::GitHub, &headers(&[]), PING.as_bytes()).expect_err("no event");
    assert!(e.to_string().contains("X-GitHub-Event"), "{e}");
}
