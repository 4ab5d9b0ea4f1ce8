//! Alibaba Cloud Codeup (Yunxiao) webhooks: GitLab-shaped payloads without
//! a `project` object; the repository path comes from web URLs.

use super::gitlab::{gitlab_shaped_push, merge_request_note, non_merge_request_note};
use super::payload::{
    decode_body, first_str, opt_bool, opt_str, repo_path_of_url, req_first_str, req_str, req_u64,
};
use super::signature::ct_eq_secret;
use super::{AuthError, EventError, Headers, MergeRequestEvent, MrAction, ParsedEvent, header};
use serde_json::Value;

/// `X-Codeup-Token` equal to the secret (Codeup does not sign).
pub(super) fn verify(headers: &Headers, secret: &str) -> Result<(), AuthError> {
    let token =
        header(headers, "x-codeup-token").ok_or(AuthError::MissingHeader("x-codeup-token"))?;
    if ct_eq_secret(token, secret) {
        Ok(())
    } else {
        Err(AuthError::Mismatch("x-codeup-token"))
    }
}

/// Parses a delivery by `object_kind`, falling back to the event header
/// (`Codeup-Event` as documented, or `X-Codeup-Event`).
pub(super) fn parse(headers: &Headers, body: &[u8]) -> Result<ParsedEvent, EventError> {
    let json = decode_body(headers, body)?;
    let event_header =
        header(headers, "codeup-event").or_else(|| header(headers, "x-codeup-event"));
    let kind = opt_str(&json, "object_kind").or(match event_header {
        Some("Push Hook") => Some("push"),
        Some("Tag Push Hook") => Some("tag_push"),
        Some("Merge Request Hook") => Some("merge_request"),
        Some("Note Hook") => Some("note"),
        _ => None,
    });
    Ok(match kind {
        Some("push" | "tag_push") => {
            let repo = repo_from(&json, &["repository.homepage", "repository.git_http_url"])
                .ok_or_else(|| missing("repository.homepage"))?;
            let clone_url = opt_str(&json, "repository.git_http_url").map(str::to_owned);
            ParsedEvent::Push(gitlab_shaped_push(&json, repo, clone_url)?)
        }
        Some("merge_request") => ParsedEvent::MergeRequest(merge_request(&json)?),
        Some("note") => note(&json, event_header.unwrap_or("note"))?,
        other => ParsedEvent::Ignored {
            event: event_header.or(other).unwrap_or("unknown").to_owned(),
            reason: "not an event Slipway acts on".into(),
        },
    })
}

fn missing(path: &str) -> EventError {
    EventError::Malformed(format!("missing field `{path}`"))
}

/// The `group/repo` path of the first of `url_fields` that holds a URL.
fn repo_from(json: &Value, url_fields: &[&str]) -> Option<String> {
    url_fields
        .iter()
        .filter_map(|f| opt_str(json, f))
        .find_map(repo_path_of_url)
}

fn merge_request(json: &Value) -> Result<MergeRequestEvent, EventError> {
    let by_push = opt_bool(json, "object_attributes.is_update_by_push");
    let action = match req_str(json, "object_attributes.action")? {
        "open" => MrAction::Opened,
        "reopen" => MrAction::Reopened,
        "close" => MrAction::Closed,
        "merge" => MrAction::Merged,
        // Codeup flags updates that did not push code (`is_update_by_push`).
        "update" if by_push == Some(false) => MrAction::Other("update".into()),
        "update" => MrAction::Updated,
        other => MrAction::Other(other.to_owned()),
    };
    let repo = repo_from(
        json,
        &[
            "object_attributes.target.web_url",
            "repository.homepage",
            "object_attributes.target.http_url",
        ],
    )
    .ok_or_else(|| missing("object_attributes.target.web_url"))?;
    let source_repo = repo_from(
        json,
        &[
            "object_attributes.source.web_url",
            "object_attributes.source.http_url",
        ],
    )
    .unwrap_or_else(|| repo.clone());
    Ok(MergeRequestEvent {
        repo,
        number: req_u64(json, "object_attributes.iid")?,
        action,
        source_branch: req_str(json, "object_attributes.source_branch")?.to_owned(),
        target_branch: req_str(json, "object_attributes.target_branch")?.to_owned(),
        head_sha: req_str(json, "object_attributes.last_commit.id")?.to_owned(),
        source_repo,
        source_clone_url: opt_str(json, "object_attributes.source.http_url").map(str::to_owned),
        url: opt_str(json, "object_attributes.url").map(str::to_owned),
        draft: opt_bool(json, "object_attributes.work_in_progress").unwrap_or(false)
            || opt_bool(json, "object_attributes.draft").unwrap_or(false),
        // As on GitLab, `user` is who caused the event (the author on open).
        author: first_str(json, &["user.username", "user.name"]).map(str::to_owned),
        author_association: None,
    })
}

/// A Note Hook: a merge request comment, in GitLab's shape but without a
/// `project`, so the repository comes from the merge request's target URL
/// (or the `repository` homepage).
fn note(json: &Value, event: &str) -> Result<ParsedEvent, EventError> {
    if let Some(ignored) = non_merge_request_note(json, event) {
        return Ok(ignored);
    }
    let repo = repo_from(
        json,
        &[
            "merge_request.target.web_url",
            "repository.homepage",
            "merge_request.target.http_url",
        ],
    )
    .ok_or_else(|| missing("merge_request.target.web_url"))?;
    let author = req_first_str(json, &["user.username", "user.name"])?;
    Ok(ParsedEvent::Comment(merge_request_note(
        json, repo, author,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::test_support::{headers, json};
    use crate::providers::{CommentEvent, PushEvent};
    use crate::providers::{Provider, parse as parse_any, verify as verify_any};

    const PUSH: &str = include_str!("../../tests/fixtures/providers/codeup/push.json");
    const TAG_PUSH: &str = include_str!("../../tests/fixtures/providers/codeup/tag_push.json");
    const MR: &str = include_str!("../../tests/fixtures/providers/codeup/merge_request.json");
    const MR_NOTE: &str =
        include_str!("../../tests/fixtures/providers/codeup/note_merge_request.json");

    fn parse_with(header_name: &str, event: &str, body: &str) -> Result<ParsedEvent, EventError> {
        parse_any(
            Provider::Codeup,
            &headers(&[(header_name, event)]),
            body.as_bytes(),
        )
    }

    fn push_of(event: &str, body: &str) -> PushEvent {
        match parse_with("codeup-event", event, body).expect("push parses") {
            ParsedEvent::Push(p) => p,
            other => panic!("expected a push, got {other:?}"),
        }
    }

    fn mr_of(body: &str) -> MergeRequestEvent {
        match parse_with("x-codeup-event", "Merge Request Hook", body).expect("MR parses") {
            ParsedEvent::MergeRequest(m) => m,
            other => panic!("expected a merge request, got {other:?}"),
        }
    }

    #[test]
    fn secret_token() {
        let h = headers(&[("X-Codeup-Token", "s3cret")]);
        verify_any(Provider::Codeup, &h, b"{}", "s3cret", 0).expect("token matches");
        assert_eq!(
            verify_any(Provider::Codeup, &h, b"{}", "s3cret2", 0),
            Err(AuthError::Mismatch("x-codeup-token"))
        );
        assert_eq!(
            verify_any(Provider::Codeup, &Headers::new(), b"{}", "s3cret", 0),
            Err(AuthError::MissingHeader("x-codeup-token"))
        );
    }

    #[test]
    fn documented_push() {
        let p = push_of("Push Hook", PUSH);
        assert_eq!(p.repo, "demo/demo");
        assert_eq!(
            p.clone_url.as_deref(),
            Some("https://codeup.aliyun.com/demo/demo.git")
        );
        assert_eq!(p.branch(), Some("master"));
        assert_eq!(p.before, "f2e2d577fab1562a6239b82721fd9827e05fdce6");
        assert_eq!(p.after, "eb63d0277e64684236ebf8394b919230c4b8a286");
        assert!(!p.created && !p.deleted);
        assert_eq!(p.pusher.as_deref(), Some("Codeup"));
        assert!(p.changed_paths.is_empty());
        assert!(
            !p.paths_complete,
            "Codeup's sample commits carry no file lists"
        );
        // `object_kind` alone is enough.
        let bare = parse_any(Provider::Codeup, &Headers::new(), PUSH.as_bytes());
        assert_eq!(bare, Ok(ParsedEvent::Push(p)));
    }

    #[test]
    fn documented_tag_push_and_deletion() {
        let t = push_of("Tag Push Hook", TAG_PUSH);
        assert_eq!(t.repo, "demo/demo");
        assert_eq!(t.tag(), Some("v1.0.0"));
        assert!(t.created && !t.deleted);
        let mut gone = json(PUSH);
        gone["before"] = "eb63d0277e64684236ebf8394b919230c4b8a286".into();
        gone["after"] = "0".repeat(40).into();
        gone["commits"] = serde_json::json!([]);
        gone["total_commits_count"] = 0.into();
        let d = push_of("Push Hook", &gone.to_string());
        assert!(d.deleted && !d.created);
        let mut listed = json(PUSH);
        listed["commits"][0]["added"] = serde_json::json!(["a.txt"]);
        listed["commits"][1]["modified"] = serde_json::json!(["README.md"]);
        let l = push_of("Push Hook", &listed.to_string());
        assert_eq!(l.changed_paths, vec!["README.md", "a.txt"]);
        assert!(l.paths_complete);
    }

    #[test]
    fn documented_merge_request() {
        let m = mr_of(MR);
        assert_eq!(m.repo, "demo/demo");
        assert_eq!(m.number, 1);
        assert_eq!(m.action, MrAction::Opened);
        assert_eq!(m.source_branch, "ms-viewport");
        assert_eq!(m.target_branch, "master");
        assert_eq!(m.head_sha, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
        assert_eq!(m.source_repo, "demo/demo");
        assert_eq!(
            m.url.as_deref(),
            Some("https://codeup.aliyun.com/demo/demo/merge_requests/1")
        );
        assert!(!m.draft);
        let mut v = json(MR);
        v["object_attributes"]["action"] = "update".into();
        assert_eq!(mr_of(&v.to_string()).action, MrAction::Updated);
        v["object_attributes"]["is_update_by_push"] = false.into();
        assert_eq!(
            mr_of(&v.to_string()).action,
            MrAction::Other("update".into())
        );
        v["object_attributes"]["action"] = "merge".into();
        v["object_attributes"]["work_in_progress"] = true.into();
        let merged = mr_of(&v.to_string());
        assert_eq!(merged.action, MrAction::Merged);
        assert!(merged.draft);
    }

    #[test]
    fn other_events_malformed_bodies_and_missing_fields() {
        assert!(matches!(
            parse_with("codeup-event", "Note Hook", r#"{"object_kind": "note"}"#),
            Ok(ParsedEvent::Ignored { ref event, .. }) if event == "Note Hook"
        ));
        let e = parse_with("codeup-event", "Push Hook", "{").expect_err("not JSON");
        assert!(e.to_string().contains("body is not JSON"), "{e}");
        let mut v = json(PUSH);
        v.as_object_mut().map(|o| o.remove("repository"));
        let e = parse_with("codeup-event", "Push Hook", &v.to_string()).expect_err("no repo");
        assert!(e.to_string().contains("`repository.homepage`"), "{e}");
        let mut v = json(MR);
        v["object_attributes"]
            .as_object_mut()
            .map(|o| o.remove("iid"));
        let e = parse_with("codeup-event", "Merge Request Hook", &v.to_string()).expect_err("iid");
        assert!(e.to_string().contains("`object_attributes.iid`"), "{e}");
    }

    fn comment_of(body: &str) -> CommentEvent {
        match parse_with("codeup-event", "Note Hook", body).expect("note parses") {
            ParsedEvent::Comment(c) => c,
            other => panic!("expected a comment, got {other:?}"),
        }
    }

    #[test]
    fn merge_request_author() {
        let m = mr_of(MR);
        assert_eq!(m.author.as_deref(), Some("codeup"));
        assert_eq!(m.author_association, None);
        let mut v = json(MR);
        v["user"].as_object_mut().map(|o| o.remove("username"));
        assert_eq!(
            mr_of(&v.to_string()).author.as_deref(),
            Some("Codeup"),
            "falls back to the name"
        );
    }

    #[test]
    fn merge_request_comment() {
        let want = CommentEvent {
            repo: "demo/demo".into(),
            number: 1,
            body: "/ok-to-test".into(),
            author: "codeup".into(),
            author_association: None,
            head_sha: Some("da1560886d4f094c3e6c9ef40349f7d38b5d27d7".into()),
            created: true,
        };
        assert_eq!(comment_of(MR_NOTE), want);
        assert_eq!(
            parse_any(Provider::Codeup, &Headers::new(), MR_NOTE.as_bytes()),
            Ok(ParsedEvent::Comment(want)),
            "`object_kind` alone identifies it"
        );
        // Without a target URL, the repository homepage names the repo.
        let mut v = json(MR_NOTE);
        v["merge_request"]
            .as_object_mut()
            .map(|o| o.remove("target"));
        assert_eq!(comment_of(&v.to_string()).repo, "demo/demo");
        let mut v = json(MR_NOTE);
        v["user"].as_object_mut().map(|o| o.remove("username"));
        v["merge_request"]
            .as_object_mut()
            .map(|o| o.remove("last_commit"));
        let c = comment_of(&v.to_string());
        assert_eq!(c.author, "Codeup");
        assert_eq!(c.head_sha, None);
    }

    #[test]
    fn edited_comment_issue_comment_and_missing_fields() {
        let mut v = json(MR_NOTE);
        v["object_attributes"]["action"] = "update".into();
        assert!(!comment_of(&v.to_string()).created);
        let mut v = json(MR_NOTE);
        v["object_attributes"]["noteable_type"] = "Commit".into();
        assert!(matches!(
            parse_with("codeup-event", "Note Hook", &v.to_string()),
            Ok(ParsedEvent::Ignored { ref event, ref reason })
                if event == "Note Hook" && reason.contains("Commit")
        ));
        let mut v = json(MR_NOTE);
        v["merge_request"].as_object_mut().map(|o| o.remove("iid"));
        assert_eq!(
            parse_with("codeup-event", "Note Hook", &v.to_string()),
            Err(EventError::Malformed(
                "missing field `merge_request.iid`".into()
            ))
        );
        let mut v = json(MR_NOTE);
        v.as_object_mut().map(|o| o.remove("repository"));
        v["merge_request"]
            .as_object_mut()
            .map(|o| o.remove("target"));
        let e = parse_with("codeup-event", "Note Hook", &v.to_string()).expect_err("no repo");
        assert!(
            e.to_string().contains("`merge_request.target.web_url`"),
            "{e}"
        );
    }
}
