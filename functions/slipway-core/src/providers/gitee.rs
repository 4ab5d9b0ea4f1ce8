//! Gitee webhooks.

use super::payload::{
    changed_paths, commits, decode_body, first_str, is_zero_sha, opt_bool, opt_str, opt_u64,
    req_first_str, req_str, req_u64,
};
use super::signature::{base64_std, ct_eq_secret, hmac_sha256, percent_decode};
use super::{
    AuthError, CommentEvent, EventError, Headers, MergeRequestEvent, MrAction, ParsedEvent,
    PushEvent, header,
};
use serde_json::Value;

/// Gitee's tolerance for `X-Gitee-Timestamp`, in milliseconds (±1 hour).
const WINDOW_MS: u64 = 60 * 60 * 1000;

/// `X-Gitee-Token` equal to the password, or equal to
/// `base64(HMAC-SHA256(secret, "<X-Gitee-Timestamp>\n<secret>"))` (plain or
/// URL-encoded) with the timestamp within ±1 hour. The signature does not
/// cover the body.
pub(super) fn verify(headers: &Headers, secret: &str, now_ms: u64) -> Result<(), AuthError> {
    let token =
        header(headers, "x-gitee-token").ok_or(AuthError::MissingHeader("x-gitee-token"))?;
    if ct_eq_secret(token, secret) {
        return Ok(());
    }
    // Not the password: it must be a signature, which needs the timestamp.
    let timestamp =
        header(headers, "x-gitee-timestamp").ok_or(AuthError::Mismatch("x-gitee-token"))?;
    let ts: u64 = timestamp.parse().map_err(|_| AuthError::Malformed {
        header: "x-gitee-timestamp",
        reason: "not a number of milliseconds".into(),
    })?;
    let mac = hmac_sha256(
        secret.as_bytes(),
        &[timestamp.as_bytes(), b"\n", secret.as_bytes()],
    )?;
    let expected = base64_std(&mac);
    let decoded = percent_decode(token);
    let matched =
        ct_eq_secret(token, &expected) | decoded.is_some_and(|d| ct_eq_secret(&d, &expected));
    if !matched {
        return Err(AuthError::Mismatch("x-gitee-token"));
    }
    if now_ms.abs_diff(ts) > WINDOW_MS {
        return Err(AuthError::OutsideWindow {
            header: "x-gitee-timestamp",
            window_s: WINDOW_MS / 1000,
        });
    }
    Ok(())
}

/// Parses a delivery named by `X-Gitee-Event` (or the body's `hook_name`).
pub(super) fn parse(headers: &Headers, body: &[u8]) -> Result<ParsedEvent, EventError> {
    let json = decode_body(headers, body)?;
    let event = header(headers, "x-gitee-event")
        .or_else(|| opt_str(&json, "hook_name"))
        .unwrap_or("unknown");
    Ok(match event {
        "Push Hook" | "Tag Push Hook" | "push_hooks" | "tag_push_hooks" => {
            ParsedEvent::Push(push(&json)?)
        }
        "Merge Request Hook" | "merge_request_hooks" => {
            ParsedEvent::MergeRequest(merge_request(&json)?)
        }
        "Note Hook" | "note_hooks" => note(event, &json)?,
        other => ParsedEvent::Ignored {
            event: other.to_owned(),
            reason: "not an event Slipway acts on".into(),
        },
    })
}

/// `full_name` is a display name on Gitee (`开源中国/Gitee`); the path is
/// in `path_with_namespace`.
const REPO_PATHS: [&str; 3] = [
    "repository.path_with_namespace",
    "project.path_with_namespace",
    "repository.full_name",
];

fn push(json: &Value) -> Result<PushEvent, EventError> {
    let before = req_str(json, "before")?;
    let after = req_str(json, "after")?;
    let list = commits(json);
    let (changed_paths, mut paths_complete) = changed_paths(list, None);
    if opt_bool(json, "commits_more_than_ten").unwrap_or(false)
        || opt_u64(json, "total_commits_count").is_some_and(|n| n > list.len() as u64)
    {
        paths_complete = false;
    }
    Ok(PushEvent {
        repo: req_first_str(json, &REPO_PATHS)?.to_owned(),
        clone_url: first_str(json, &["repository.clone_url", "repository.git_http_url"])
            .map(str::to_owned),
        git_ref: req_str(json, "ref")?.to_owned(),
        before: before.to_owned(),
        after: after.to_owned(),
        deleted: opt_bool(json, "deleted").unwrap_or_else(|| is_zero_sha(after)),
        created: opt_bool(json, "created").unwrap_or_else(|| is_zero_sha(before)),
        pusher: first_str(
            json,
            &[
                "pusher.username",
                "pusher.login",
                "pusher.name",
                "user_name",
                "sender.login",
            ],
        )
        .map(str::to_owned),
        changed_paths,
        paths_complete,
    })
}

/// The target repository of a pull request event (the documented sample
/// has only the pull request's base repository).
const PR_REPO_PATHS: [&str; 3] = [
    "repository.path_with_namespace",
    "project.path_with_namespace",
    "pull_request.base.repo.path_with_namespace",
];

fn merge_request(json: &Value) -> Result<MergeRequestEvent, EventError> {
    let merged = opt_bool(json, "pull_request.merged").unwrap_or(false);
    let action = match opt_str(json, "action") {
        Some("open") => MrAction::Opened,
        Some("update") => MrAction::Updated,
        Some("reopen") => MrAction::Reopened,
        Some("merge") => MrAction::Merged,
        Some("close") if merged => MrAction::Merged,
        Some("close") => MrAction::Closed,
        Some(other) => MrAction::Other(other.to_owned()),
        // Gitee's own sample omits `action`; fall back on the state.
        None => match opt_str(json, "pull_request.state") {
            _ if merged => MrAction::Merged,
            Some("open") => MrAction::Opened,
            Some("closed") => MrAction::Closed,
            Some("merged") => MrAction::Merged,
            other => MrAction::Other(other.unwrap_or("unknown").to_owned()),
        },
    };
    let number = match req_u64(json, "pull_request.number") {
        Ok(n) => n,
        Err(_) => req_u64(json, "number")?,
    };
    let repo = req_first_str(json, &PR_REPO_PATHS)?;
    Ok(MergeRequestEvent {
        repo: repo.to_owned(),
        number,
        action,
        source_branch: req_str(json, "pull_request.head.ref")?.to_owned(),
        target_branch: req_str(json, "pull_request.base.ref")?.to_owned(),
        head_sha: req_str(json, "pull_request.head.sha")?.to_owned(),
        source_repo: opt_str(json, "pull_request.head.repo.path_with_namespace")
            .unwrap_or(repo)
            .to_owned(),
        source_clone_url: opt_str(json, "pull_request.head.repo.clone_url")
            .or_else(|| opt_str(json, "pull_request.head.repo.git_http_url"))
            .map(str::to_owned),
        url: opt_str(json, "pull_request.html_url").map(str::to_owned),
        draft: opt_bool(json, "pull_request.draft").unwrap_or(false),
        author: first_str(
            json,
            &["pull_request.user.login", "author.login", "sender.login"],
        )
        .map(str::to_owned),
        author_association: None,
    })
}

/// A Note Hook; only a comment on a pull request (`noteable_type:
/// PullRequest`) is a [`CommentEvent`]. Comments on issues, commits and the
/// repository are ignored.
fn note(event: &str, json: &Value) -> Result<ParsedEvent, EventError> {
    match opt_str(json, "noteable_type") {
        Some("PullRequest") => {}
        other => {
            return Ok(ParsedEvent::Ignored {
                event: event.to_owned(),
                reason: match other {
                    Some(target) => format!("a comment on a {target}, not on a pull request"),
                    None => "a comment without `noteable_type`".into(),
                },
            });
        }
    }
    Ok(ParsedEvent::Comment(CommentEvent {
        repo: req_first_str(json, &PR_REPO_PATHS)?.to_owned(),
        number: req_u64(json, "pull_request.number")?,
        body: req_str(json, "comment.body")?.to_owned(),
        author: req_str(json, "comment.user.login")?.to_owned(),
        author_association: None,
        head_sha: opt_str(json, "pull_request.head.sha").map(str::to_owned),
        // Gitee documents `comment` as the action of a new comment.
        created: matches!(opt_str(json, "action"), None | Some("comment")),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::test_support::{headers, json};
    use crate::providers::{Provider, parse as parse_any, verify as verify_any};

    const PUSH: &str = include_str!("../../tests/fixtures/providers/gitee/push.json");
    const MR: &str = include_str!("../../tests/fixtures/providers/gitee/merge_request.json");
    const PR_NOTE: &str =
        include_str!("../../tests/fixtures/providers/gitee/note_pull_request.json");

    const SECRET: &str = "this is secret";
    const TS: &str = "1700000000000";
    const SIGN: &str = "sSFWELbV2YwjdDQhWZwTcWlX5BWUx5J6TPpsZmuPii0=";
    const NOW: u64 = 1_700_000_000_000;

    fn signed(token: &str) -> Headers {
        headers(&[("x-gitee-token", token), ("x-gitee-timestamp", TS)])
    }

    fn event(name: &str, body: &str) -> Result<ParsedEvent, EventError> {
        parse_any(
            Provider::Gitee,
            &headers(&[("x-gitee-event", name)]),
            body.as_bytes(),
        )
    }

    fn push_of(body: &str) -> PushEvent {
        match event("Push Hook", body).expect("push parses") {
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
    fn signature_vector_plain_and_url_encoded() {
        verify_any(Provider::Gitee, &signed(SIGN), b"", SECRET, NOW).expect("plain base64");
        let encoded = SIGN
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        verify_any(Provider::Gitee, &signed(&encoded), b"", SECRET, NOW).expect("URL-encoded");
    }

    #[test]
    fn signature_rejections() {
        assert_eq!(
            verify_any(Provider::Gitee, &signed(SIGN), b"", "wrong secret", NOW),
            Err(AuthError::Mismatch("x-gitee-token"))
        );
        let other_ts = headers(&[
            ("x-gitee-token", SIGN),
            ("x-gitee-timestamp", "1700000000001"),
        ]);
        assert_eq!(
            verify_any(Provider::Gitee, &other_ts, b"", SECRET, NOW),
            Err(AuthError::Mismatch("x-gitee-token"))
        );
        let late = NOW + WINDOW_MS + 1;
        assert!(matches!(
            verify_any(Provider::Gitee, &signed(SIGN), b"", SECRET, late),
            Err(AuthError::OutsideWindow { .. })
        ));
        let early = NOW - WINDOW_MS - 1;
        assert!(matches!(
            verify_any(Provider::Gitee, &signed(SIGN), b"", SECRET, early),
            Err(AuthError::OutsideWindow { .. })
        ));
        assert!(verify_any(Provider::Gitee, &signed(SIGN), b"", SECRET, NOW + WINDOW_MS).is_ok());
        assert_eq!(
            verify_any(
                Provider::Gitee,
                &headers(&[("x-gitee-timestamp", TS)]),
                b"",
                SECRET,
                NOW
            ),
            Err(AuthError::MissingHeader("x-gitee-token"))
        );
        let bad_ts = headers(&[("x-gitee-token", SIGN), ("x-gitee-timestamp", "yesterday")]);
        assert!(matches!(
            verify_any(Provider::Gitee, &bad_ts, b"", SECRET, NOW),
            Err(AuthError::Malformed { .. })
        ));
    }

    #[test]
    fn password_mode() {
        let h = headers(&[("x-gitee-token", "pwd")]);
        verify_any(Provider::Gitee, &h, b"", "pwd", NOW).expect("password");
        assert_eq!(
            verify_any(Provider::Gitee, &h, b"", "pwd2", NOW),
            Err(AuthError::Mismatch("x-gitee-token"))
        );
    }

    #[test]
    fn documented_push() {
        let p = push_of(PUSH);
        assert_eq!(p.repo, "oschina/gitee");
        assert_eq!(
            p.clone_url.as_deref(),
            Some("https://gitee.ru/oschina/gitee.git")
        );
        assert_eq!(p.branch(), Some("change_commitlint_config"));
        assert!(p.created && !p.deleted);
        assert_eq!(p.after, "1cdcd819599cbb4099289dbbec762452f006cb40");
        assert_eq!(p.pusher.as_deref(), Some("robot"));
        assert_eq!(p.changed_paths, vec!["README.md"]);
        assert!(p.paths_complete);
        // `hook_name` identifies the event when the header is absent.
        let by_body = parse_any(Provider::Gitee, &Headers::new(), PUSH.as_bytes());
        assert_eq!(by_body, Ok(ParsedEvent::Push(p)));
    }

    #[test]
    fn tag_push_deletion_and_truncation() {
        let mut tag = json(PUSH);
        tag["hook_name"] = "tag_push_hooks".into();
        tag["ref"] = "refs/tags/v1.0.0".into();
        let t = match event("Tag Push Hook", &tag.to_string()).expect("tag") {
            ParsedEvent::Push(p) => p,
            other => panic!("expected a push, got {other:?}"),
        };
        assert_eq!(t.tag(), Some("v1.0.0"));
        let mut gone = json(PUSH);
        gone["before"] = "1cdcd819599cbb4099289dbbec762452f006cb40".into();
        gone["after"] = "0".repeat(40).into();
        gone["created"] = false.into();
        gone["deleted"] = true.into();
        gone["commits"] = serde_json::json!([]);
        let d = push_of(&gone.to_string());
        assert!(d.deleted && !d.created && !d.paths_complete);
        let mut many = json(PUSH);
        many["commits_more_than_ten"] = true.into();
        assert!(!push_of(&many.to_string()).paths_complete);
    }

    #[test]
    fn documented_merge_request() {
        let m = mr_of(MR);
        assert_eq!(m.repo, "oschina/gitee");
        assert_eq!(m.number, 1);
        assert_eq!(
            m.action,
            MrAction::Opened,
            "no `action` in the sample: state `open`"
        );
        assert_eq!(m.source_branch, "login_should_complete_info");
        assert_eq!(m.target_branch, "master");
        assert_eq!(m.head_sha, "5ccc31cda7aad7ddc59a6bdbb8a8bd61959dc71c");
        assert_eq!(m.source_repo, "oschina/gitee");
        assert_eq!(
            m.url.as_deref(),
            Some("https://gitee.ru/oschina/giteeb/pulls/1")
        );
        assert!(!m.draft);
        let mut v = json(MR);
        for (raw, want) in [
            ("update", MrAction::Updated),
            ("merge", MrAction::Merged),
            ("close", MrAction::Closed),
            ("approved", MrAction::Other("approved".into())),
        ] {
            v["action"] = raw.into();
            assert_eq!(mr_of(&v.to_string()).action, want);
        }
    }

    #[test]
    fn other_events_malformed_bodies_and_missing_fields() {
        assert!(matches!(
            event("Issue Hook", r#"{"hook_name": "issue_hooks"}"#),
            Ok(ParsedEvent::Ignored { ref event, .. }) if event == "Issue Hook"
        ));
        let e = event("Push Hook", "").expect_err("empty body");
        assert!(e.to_string().contains("body is not JSON"), "{e}");
        let mut v = json(PUSH);
        v.as_object_mut().map(|o| o.remove("ref"));
        assert_eq!(
            event("Push Hook", &v.to_string()),
            Err(EventError::Malformed("missing field `ref`".into()))
        );
        let mut v = json(MR);
        v["pull_request"]["base"]["repo"]
            .as_object_mut()
            .map(|o| o.remove("path_with_namespace"));
        let e = event("Merge Request Hook", &v.to_string()).expect_err("no repo");
        assert!(
            e.to_string().contains("`repository.path_with_namespace`"),
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
    fn merge_request_author() {
        let m = mr_of(MR);
        assert_eq!(m.author.as_deref(), Some("robot"));
        assert_eq!(m.author_association, None);
        let mut v = json(MR);
        v["pull_request"]["user"] = serde_json::Value::Null;
        v["author"]["login"] = "pr-author".into();
        assert_eq!(mr_of(&v.to_string()).author.as_deref(), Some("pr-author"));
        v.as_object_mut().map(|o| o.remove("author"));
        v["sender"]["login"] = "the-sender".into();
        assert_eq!(mr_of(&v.to_string()).author.as_deref(), Some("the-sender"));
    }

    #[test]
    fn pull_request_comment() {
        let want = CommentEvent {
            repo: "oschina/gitee".into(),
            number: 1,
            body: "/ok-to-test".into(),
            author: "robot".into(),
            author_association: None,
            head_sha: Some("5ccc31cda7aad7ddc59a6bdbb8a8bd61959dc71c".into()),
            created: true,
        };
        assert_eq!(comment_of(PR_NOTE), want);
        // `hook_name` identifies it without the header; `action` may be absent.
        let mut v = json(PR_NOTE);
        v.as_object_mut().map(|o| o.remove("action"));
        assert_eq!(
            parse_any(Provider::Gitee, &Headers::new(), v.to_string().as_bytes()),
            Ok(ParsedEvent::Comment(want))
        );
        let mut v = json(PR_NOTE);
        v["comment"]["user"]["login"] = "reviewer".into();
        assert_eq!(comment_of(&v.to_string()).author, "reviewer");
    }

    #[test]
    fn edited_comment_issue_comment_and_missing_number() {
        let mut v = json(PR_NOTE);
        v["action"] = "edited".into();
        assert!(!comment_of(&v.to_string()).created);
        for target in ["Issue", "Commit", "Comment"] {
            let mut v = json(PR_NOTE);
            v["noteable_type"] = target.into();
            assert!(matches!(
                event("Note Hook", &v.to_string()),
                Ok(ParsedEvent::Ignored { ref event, ref reason })
                    if event == "Note Hook" && reason.contains(target)
            ));
        }
        let mut v = json(PR_NOTE);
        v.as_object_mut().map(|o| o.remove("noteable_type"));
        assert!(matches!(
            event("Note Hook", &v.to_string()),
            Ok(ParsedEvent::Ignored { .. })
        ));
        let mut v = json(PR_NOTE);
        v["pull_request"]
            .as_object_mut()
            .map(|o| o.remove("number"));
        assert_eq!(
            event("Note Hook", &v.to_string()),
            Err(EventError::Malformed(
                "missing field `pull_request.number`".into()
            ))
        );
        let mut v = json(PR_NOTE);
        v["comment"].as_object_mut().map(|o| o.remove("body"));
        assert_eq!(
            event("Note Hook", &v.to_string()),
            Err(EventError::Malformed("missing field `comment.body`".into()))
        );
    }
}
