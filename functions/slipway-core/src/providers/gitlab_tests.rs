//! Tests of [`super`].

use super::*;
use crate::providers::test_support::{headers, json};
use crate::providers::{Provider, parse as parse_any, verify as verify_any};

const PUSH: &str = include_str!("../../tests/fixtures/providers/gitlab/push.json");
const TAG_PUSH: &str = include_str!("../../tests/fixtures/providers/gitlab/tag_push.json");
const MR: &str = include_str!("../../tests/fixtures/providers/gitlab/merge_request.json");
const PIPELINE: &str = include_str!("../../tests/fixtures/providers/gitlab/pipeline.json");
const MR_NOTE: &str = include_str!("../../tests/fixtures/providers/gitlab/note_merge_request.json");

const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SW_BODY: &[u8] = br#"{"test": 2432232314}"#;

fn sw_headers() -> Headers {
    headers(&[
        ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
        ("webhook-timestamp", "1614265330"),
        (
            "webhook-signature",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ),
    ])
}

fn event(name: &str, body: &str) -> Result<ParsedEvent, EventError> {
    parse_any(
        Provider::GitLab,
        &headers(&[("x-gitlab-event", name)]),
        body.as_bytes(),
    )
}

fn push_of(name: &str, body: &str) -> PushEvent {
    match event(name, body).expect("push parses") {
        ParsedEvent::Push(p) => p,
        other => panic!("expected a push, got {other:?}"),
    }
}

fn mr_of(body: &str) -> MergeRequestEvent {
    match event("Merge Request Hook", body).expect("MR parses") {
        ParsedEvent::MergeRequest(m) => m,
        other => panic!("expected a merge request, got {other:?}"),
    }
}

#[test]
fn secret_token() {
    let h = headers(&[("X-Gitlab-Token", "s3cret")]);
    verify_any(Provider::GitLab, &h, b"{}", "s3cret", 0).expect("token matches");
    assert_eq!(
        verify_any(Provider::GitLab, &h, b"{}", "other", 0),
        Err(AuthError::Mismatch("x-gitlab-token"))
    );
    assert!(matches!(
        verify_any(Provider::GitLab, &Headers::new(), b"{}", "s3cret", 0),
        Err(AuthError::MissingHeader(_))
    ));
}

#[test]
fn standard_webhooks_vector() {
    let now = 1_614_265_330_000;
    verify_any(Provider::GitLab, &sw_headers(), SW_BODY, SW_SECRET, now).expect("vector");
    assert_eq!(
        verify_any(
            Provider::GitLab,
            &sw_headers(),
            b"{\"test\": 1}",
            SW_SECRET,
            now
        ),
        Err(AuthError::Mismatch("webhook-signature"))
    );
    assert!(matches!(
        verify_any(
            Provider::GitLab,
            &sw_headers(),
            SW_BODY,
            SW_SECRET,
            now + 301_000
        ),
        Err(AuthError::OutsideWindow { .. })
    ));
    // A signed delivery checked against a plain secret needs the token header.
    assert!(matches!(
        verify_any(Provider::GitLab, &sw_headers(), SW_BODY, "plain", now),
        Err(AuthError::MissingHeader(_))
    ));
}

#[test]
fn documented_push() {
    let p = push_of("Push Hook", PUSH);
    assert_eq!(p.repo, "mike/diaspora");
    assert_eq!(
        p.clone_url.as_deref(),
        Some("http://example.com/mike/diaspora.git")
    );
    assert_eq!(p.branch(), Some("master"));
    assert_eq!(p.before, "95790bf891e76fee5e1747ab589903a6a1f80f22");
    assert_eq!(p.after, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
    assert!(!p.created && !p.deleted);
    assert_eq!(p.pusher.as_deref(), Some("jsmith"));
    assert_eq!(
        p.changed_paths,
        vec!["CHANGELOG", "app/controller/application.rb"]
    );
    assert!(
        !p.paths_complete,
        "total_commits_count 4 > 2 listed commits"
    );
    let mut all = json(PUSH);
    all["total_commits_count"] = 2.into();
    assert!(push_of("Push Hook", &all.to_string()).paths_complete);
}

#[test]
fn documented_tag_push_and_deletion() {
    let t = push_of("Tag Push Hook", TAG_PUSH);
    assert_eq!(t.repo, "jsmith/example");
    assert_eq!(t.tag(), Some("v1.0.0"));
    assert!(t.created && !t.deleted);
    assert_eq!(t.pusher.as_deref(), Some("John Smith"));
    assert!(!t.paths_complete);
    let mut deleted = json(TAG_PUSH);
    deleted["before"] = "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7".into();
    deleted["after"] = "0".repeat(40).into();
    deleted["checkout_sha"] = serde_json::Value::Null;
    let d = push_of("Tag Push Hook", &deleted.to_string());
    assert!(d.deleted && !d.created);
    let mut branch_gone = json(PUSH);
    branch_gone["after"] = "0".repeat(40).into();
    branch_gone["commits"] = serde_json::json!([]);
    branch_gone["total_commits_count"] = 0.into();
    let b = push_of("Push Hook", &branch_gone.to_string());
    assert!(b.deleted && b.changed_paths.is_empty() && !b.paths_complete);
}

#[test]
fn documented_merge_request() {
    let m = mr_of(MR);
    assert_eq!(m.repo, "gitlabhq/gitlab-test");
    assert_eq!(m.number, 1);
    assert_eq!(m.action, MrAction::Opened);
    assert_eq!(m.source_branch, "ms-viewport");
    assert_eq!(m.target_branch, "master");
    assert_eq!(m.head_sha, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
    assert_eq!(m.source_repo, "awesome_space/awesome_project");
    assert_eq!(
        m.source_clone_url.as_deref(),
        Some("http://example.com/awesome_space/awesome_project.git")
    );
    assert_eq!(
        m.url.as_deref(),
        Some("http://example.com/diaspora/merge_requests/1")
    );
    assert!(!m.draft);
    let mut v = json(MR);
    v["object_attributes"]["action"] = "update".into();
    assert_eq!(
        mr_of(&v.to_string()).action,
        MrAction::Other("update".into())
    );
    v["object_attributes"]["oldrev"] = "95790bf891e76fee5e1747ab589903a6a1f80f22".into();
    assert_eq!(mr_of(&v.to_string()).action, MrAction::Updated);
    for (raw, want) in [
        ("merge", MrAction::Merged),
        ("close", MrAction::Closed),
        ("reopen", MrAction::Reopened),
    ] {
        v["object_attributes"]["action"] = raw.into();
        assert_eq!(mr_of(&v.to_string()).action, want);
    }
    v["object_attributes"]["draft"] = true.into();
    assert!(mr_of(&v.to_string()).draft);
}

#[test]
fn documented_pipeline() {
    let ParsedEvent::Pipeline(p) = event("Pipeline Hook", PIPELINE).expect("pipeline") else {
        panic!("expected a pipeline")
    };
    assert_eq!(p.repo, "gitlab-org/gitlab-test");
    assert_eq!(p.id, 31);
    assert_eq!(p.status, "success");
    assert_eq!(p.sha, "bcbb5ec396a2c0f828686f14fac9b80b780504f2");
    assert_eq!(p.git_ref, "refs/heads/master");
    assert_eq!(
        p.url.as_deref(),
        Some("http://example.com/gitlab-org/gitlab-test/-/pipelines/31")
    );
    assert_eq!(p.duration, Some(63));
    assert!(p.finished);
    let mut running = json(PIPELINE);
    running["object_attributes"]["status"] = "running".into();
    running["object_attributes"]["tag"] = true.into();
    running["object_attributes"]["duration"] = serde_json::Value::Null;
    let ParsedEvent::Pipeline(r) = event("Pipeline Hook", &running.to_string()).expect("p") else {
        panic!("expected a pipeline")
    };
    assert!(!r.finished);
    assert_eq!(r.git_ref, "refs/tags/master");
    assert_eq!(r.duration, None);
}

#[test]
fn other_events_malformed_bodies_and_missing_fields() {
    assert!(matches!(
        event("Note Hook", r#"{"object_kind": "note"}"#),
        Ok(ParsedEvent::Ignored { ref event, .. }) if event == "Note Hook"
    ));
    let e = event("Push Hook", "<html>").expect_err("not JSON");
    assert!(e.to_string().contains("body is not JSON"), "{e}");
    let mut v = json(PUSH);
    v.as_object_mut().map(|o| o.remove("after"));
    assert_eq!(
        event("Push Hook", &v.to_string()),
        Err(EventError::Malformed("missing field `after`".into()))
    );
    let mut v = json(MR);
    v["object_attributes"]
        .as_object_mut()
        .map(|o| o.remove("last_commit"));
    let e = event("Merge Request Hook", &v.to_string()).expect_err("no last commit");
    assert!(
        e.to_string().contains("`object_attributes.last_commit.id`"),
        "{e}"
    );
}

fn comment_of(body: &str) -> CommentEvent {
    match event("Note Hook", body).expect("note parses") {
        ParsedEvent::Comment(c) => c,
        other => panic!("expected a comment, got {other:?}"),
    }
}

#[test]
fn merge_request_author_is_the_acting_user() {
    let m = mr_of(MR);
    assert_eq!(m.author.as_deref(), Some("root"));
    assert_eq!(m.author_association, None, "GitLab sends no access level");
    let mut v = json(MR);
    v.as_object_mut().map(|o| o.remove("user"));
    assert_eq!(mr_of(&v.to_string()).author, None);
}

#[test]
fn documented_merge_request_comment() {
    let want = CommentEvent {
        repo: "gitlab-org/gitlab-test".into(),
        number: 1,
        body: "/ok-to-test".into(),
        author: "root".into(),
        author_association: None,
        head_sha: Some("562e173be03b8ff2efb05345d12df18815438a4b".into()),
        created: true,
    };
    assert_eq!(comment_of(MR_NOTE), want);
    // `object_kind` alone identifies it.
    assert_eq!(
        parse_any(Provider::GitLab, &Headers::new(), MR_NOTE.as_bytes()),
        Ok(ParsedEvent::Comment(want))
    );
    // Before GitLab 16.11 there is no `action` (and no edit events).
    let mut v = json(MR_NOTE);
    v["object_attributes"]
        .as_object_mut()
        .map(|o| o.remove("action"));
    assert!(comment_of(&v.to_string()).created);
    // Without `project`, the merge request's target names the repository.
    let mut v = json(MR_NOTE);
    v.as_object_mut().map(|o| o.remove("project"));
    assert_eq!(comment_of(&v.to_string()).repo, "gitlab-org/gitlab-test");
}

#[test]
fn edited_comment_is_not_created() {
    let mut v = json(MR_NOTE);
    v["object_attributes"]["action"] = "update".into();
    let c = comment_of(&v.to_string());
    assert!(!c.created);
    assert_eq!(c.body, "/ok-to-test");
}

#[test]
fn comments_on_issues_commits_and_snippets_are_ignored() {
    for target in ["Issue", "Commit", "Snippet"] {
        let mut v = json(MR_NOTE);
        v["object_attributes"]["noteable_type"] = target.into();
        let ParsedEvent::Ignored {
            event: name,
            reason,
        } = event("Note Hook", &v.to_string()).expect("ignored")
        else {
            panic!("a comment on a {target} is ignored")
        };
        assert_eq!(name, "Note Hook");
        assert!(reason.contains(target), "{reason}");
    }
}

#[test]
fn merge_request_comment_missing_fields_is_malformed() {
    let mut v = json(MR_NOTE);
    v["merge_request"].as_object_mut().map(|o| o.remove("iid"));
    assert_eq!(
        event("Note Hook", &v.to_string()),
        Err(EventError::Malformed(
            "missing field `merge_request.iid`".into()
        ))
    );
    let mut v = json(MR_NOTE);
    v["user"].as_object_mut().map(|o| o.remove("username"));
    assert_eq!(
        event("Note Hook", &v.to_string()),
        Err(EventError::Malformed(
            "missing field `user.username`".into()
        ))
    );
}
