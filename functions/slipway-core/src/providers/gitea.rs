//! Gitea and Forgejo webhooks (GitHub-compatible payloads).

use super::github::parse_event;
use super::payload::{decode_body, form_payload, is_form};
use super::signature::verify_hex;
use super::{AuthError, EventError, Headers, ParsedEvent, header};

/// `X-Gitea-Signature` or `X-Forgejo-Signature`: bare hex HMAC-SHA256 over
/// the JSON payload — the decoded `payload` field when the body is
/// form-encoded.
pub(super) fn verify(headers: &Headers, body: &[u8], secret: &str) -> Result<(), AuthError> {
    let (name, value) = ["x-gitea-signature", "x-forgejo-signature"]
        .into_iter()
        .find_map(|name| header(headers, name).map(|value| (name, value)))
        .ok_or(AuthError::MissingHeader(
            "x-gitea-signature or x-forgejo-signature",
        ))?;
    if is_form(headers, body) {
        // Gitea signs the JSON text, not the form encoding around it.
        if let Ok(payload) = form_payload(body) {
            return verify_hex(name, value, "", secret, payload.as_bytes());
        }
    }
    verify_hex(name, value, "", secret, body)
}

/// Parses a delivery named by `X-Gitea-Event` (or Forgejo's, Gogs' or the
/// GitHub-compatible header Gitea also sends). A pull request comment comes
/// as `issue_comment` with `is_pull: true` (`X-Gitea-Event-Type:
/// pull_request_comment`).
pub(super) fn parse(headers: &Headers, body: &[u8]) -> Result<ParsedEvent, EventError> {
    let event = [
        "x-gitea-event",
        "x-forgejo-event",
        "x-gogs-event",
        "x-github-event",
    ]
    .into_iter()
    .find_map(|name| header(headers, name))
    .ok_or_else(|| EventError::Malformed("missing X-Gitea-Event header".into()))?;
    let json = decode_body(headers, body)?;
    parse_event(event, &json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::test_support::{headers, hmac_hex, json};
    use crate::providers::{
        CommentEvent, MrAction, Provider, PushEvent, parse as parse_any, verify as verify_any,
    };

    const PUSH: &str = include_str!("../../tests/fixtures/providers/gitea/push.json");
    const FORGEJO_PUSH: &str =
        include_str!("../../tests/fixtures/providers/gitea/forgejo_push.json");
    // Gitea's pull_request payload is GitHub's shape; GitHub's documented
    // example stands in for it, with Gitea's `synchronized` action.
    const PR: &str = include_str!("../../tests/fixtures/providers/github/pull_request_opened.json");
    const PR_COMMENT: &str =
        include_str!("../../tests/fixtures/providers/gitea/issue_comment_pull.json");

    const DOC_SECRET: &str = "It's a Secret to Everybody";
    const DOC_HEX: &str = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn push_of(h: &Headers, body: &str) -> PushEvent {
        match parse_any(Provider::Gitea, h, body.as_bytes()).expect("push parses") {
            ParsedEvent::Push(p) => p,
            other => panic!("expected a push, got {other:?}"),
        }
    }

    fn form(json: &str) -> String {
        format!(
            "payload={}",
            url::form_urlencoded::byte_serialize(json.as_bytes()).collect::<String>()
        )
    }

    #[test]
    fn signature_vector_for_both_headers() {
        for name in ["X-Gitea-Signature", "X-Forgejo-Signature"] {
            let h = headers(&[(name, DOC_HEX)]);
            verify_any(Provider::Gitea, &h, b"Hello, World!", DOC_SECRET, 0).expect("vector");
            assert!(matches!(
                verify_any(Provider::Gitea, &h, b"Hello, World!", "wrong", 0),
                Err(AuthError::Mismatch(_))
            ));
            assert!(matches!(
                verify_any(Provider::Gitea, &h, b"Hello, World", DOC_SECRET, 0),
                Err(AuthError::Mismatch(_))
            ));
        }
    }

    #[test]
    fn missing_empty_and_prefixed_signatures() {
        assert!(matches!(
            verify_any(Provider::Gitea, &Headers::new(), b"{}", "k", 0),
            Err(AuthError::MissingHeader(_))
        ));
        // Gitea sends an empty header when the hook has no secret.
        let empty = headers(&[("x-gitea-signature", "")]);
        assert!(matches!(
            verify_any(Provider::Gitea, &empty, b"{}", "k", 0),
            Err(AuthError::MissingHeader(_))
        ));
        let prefixed = headers(&[("x-gitea-signature", &format!("sha256={DOC_HEX}"))]);
        assert!(matches!(
            verify_any(Provider::Gitea, &prefixed, b"Hello, World!", DOC_SECRET, 0),
            Err(AuthError::Malformed { .. })
        ));
    }

    #[test]
    fn form_body_is_verified_over_the_decoded_payload() {
        let body = form(PUSH);
        let h = headers(&[
            ("content-type", "application/x-www-form-urlencoded"),
            ("x-gitea-signature", &hmac_hex("k", PUSH.as_bytes())),
            ("x-gitea-event", "push"),
        ]);
        verify_any(Provider::Gitea, &h, body.as_bytes(), "k", 0).expect("payload signed");
        let over_form = headers(&[
            ("content-type", "application/x-www-form-urlencoded"),
            ("x-gitea-signature", &hmac_hex("k", body.as_bytes())),
        ]);
        assert!(verify_any(Provider::Gitea, &over_form, body.as_bytes(), "k", 0).is_err());
        let parsed = push_of(&h, &body);
        assert_eq!(
            parsed,
            push_of(&headers(&[("x-gitea-event", "push")]), PUSH)
        );
    }

    #[test]
    fn documented_gitea_and_forgejo_pushes() {
        let p = push_of(&headers(&[("x-gitea-event", "push")]), PUSH);
        assert_eq!(p.repo, "gitea/webhooks");
        assert_eq!(
            p.clone_url.as_deref(),
            Some("http://localhost:3000/gitea/webhooks.git")
        );
        assert_eq!(p.branch(), Some("develop"));
        assert_eq!(p.before, "28e1879d029cb852e4844d9c718537df08844e03");
        assert_eq!(p.after, "bffeb74224043ba2feb48d137756c8a9331c449a");
        assert!(!p.created && !p.deleted);
        assert_eq!(p.pusher.as_deref(), Some("gitea"));
        assert!(
            !p.paths_complete,
            "the documented commits carry no file lists"
        );
        let f = push_of(&headers(&[("x-forgejo-event", "push")]), FORGEJO_PUSH);
        assert_eq!(f.repo, "forgejo/webhooks");
        assert_eq!(f.pusher.as_deref(), Some("forgejo"));
    }

    #[test]
    fn created_deleted_and_listed_pushes() {
        let h = headers(&[("x-gitea-event", "push")]);
        let mut v = json(PUSH);
        v["after"] = "0".repeat(40).into();
        v["commits"] = serde_json::json!([]);
        let d = push_of(&h, &v.to_string());
        assert!(d.deleted && !d.created);
        let mut v = json(PUSH);
        v["before"] = "0".repeat(40).into();
        v["ref"] = "refs/tags/v1.0".into();
        v["commits"][0]["added"] = serde_json::json!(["docs/a.md"]);
        v["commits"][0]["modified"] = serde_json::json!([]);
        v["commits"][0]["removed"] = serde_json::json!([]);
        let c = push_of(&h, &v.to_string());
        assert!(c.created && !c.deleted);
        assert_eq!(c.tag(), Some("v1.0"));
        assert_eq!(c.changed_paths, vec!["docs/a.md"]);
        assert!(c.paths_complete);
        v["total_commits"] = 7.into();
        assert!(!push_of(&h, &v.to_string()).paths_complete);
    }

    #[test]
    fn pull_requests_and_other_events() {
        let h = headers(&[("x-gitea-event", "pull_request")]);
        let mut v = json(PR);
        v["action"] = "synchronized".into();
        let ParsedEvent::MergeRequest(m) =
            parse_any(Provider::Gitea, &h, v.to_string().as_bytes()).expect("pull request")
        else {
            panic!("expected a merge request")
        };
        assert_eq!(m.action, MrAction::Updated);
        assert_eq!(m.number, 2);
        let create = headers(&[("x-gitea-event", "create")]);
        assert!(matches!(
            parse_any(
                Provider::Gitea,
                &create,
                br#"{"ref": "v1", "ref_type": "tag"}"#
            ),
            Ok(ParsedEvent::Ignored { .. })
        ));
        let e = parse_any(Provider::Gitea, &Headers::new(), PUSH.as_bytes()).expect_err("no event");
        assert!(e.to_string().contains("X-Gitea-Event"), "{e}");
        let e = parse_any(Provider::Gitea, &h, b"{\"action\":").expect_err("truncated");
        assert!(e.to_string().contains("body is not JSON"), "{e}");
    }

    fn comment_with(h: &Headers, body: &str) -> CommentEvent {
        match parse_any(Provider::Gitea, h, body.as_bytes()).expect("comment parses") {
            ParsedEvent::Comment(c) => c,
            other => panic!("expected a comment, got {other:?}"),
        }
    }

    fn comment_of(body: &str) -> CommentEvent {
        comment_with(&headers(&[("x-gitea-event", "issue_comment")]), body)
    }

    #[test]
    fn pull_request_author_without_association() {
        let h = headers(&[("x-gitea-event", "pull_request")]);
        let mut v = json(PR);
        // Gitea's pull request carries `user` but no `author_association`.
        v["pull_request"]
            .as_object_mut()
            .map(|o| o.remove("author_association"));
        let ParsedEvent::MergeRequest(m) =
            parse_any(Provider::Gitea, &h, v.to_string().as_bytes()).expect("pull request")
        else {
            panic!("expected a merge request")
        };
        assert_eq!(m.author.as_deref(), Some("Codertocat"));
        assert_eq!(m.author_association, None);
    }

    #[test]
    fn pull_request_comment() {
        let want = CommentEvent {
            repo: "gitea/webhooks".into(),
            number: 3,
            body: "/ok-to-test".into(),
            author: "gitea".into(),
            author_association: None,
            head_sha: None,
            created: true,
        };
        assert_eq!(comment_of(PR_COMMENT), want);
        // The event-type header's name, and Forgejo's headers, are accepted.
        let typed = headers(&[("x-gitea-event", "pull_request_comment")]);
        assert_eq!(comment_with(&typed, PR_COMMENT), want);
        let forgejo = headers(&[
            ("x-forgejo-event", "issue_comment"),
            ("x-forgejo-event-type", "pull_request_comment"),
        ]);
        assert_eq!(comment_with(&forgejo, PR_COMMENT), want);
        // `is_pull` alone, or `issue.pull_request` alone, marks a PR comment.
        let mut v = json(PR_COMMENT);
        v["issue"]["pull_request"] = serde_json::Value::Null;
        assert_eq!(comment_of(&v.to_string()), want);
        let mut v = json(PR_COMMENT);
        v.as_object_mut().map(|o| o.remove("is_pull"));
        assert_eq!(comment_of(&v.to_string()), want);
        // Newer releases may send the pull request itself: its head is read.
        let mut v = json(PR_COMMENT);
        v["pull_request"] = serde_json::json!({"number": 3, "head": {"sha": "bffeb74224043ba2feb48d137756c8a9331c449a"}});
        assert_eq!(
            comment_of(&v.to_string()).head_sha.as_deref(),
            Some("bffeb74224043ba2feb48d137756c8a9331c449a")
        );
    }

    #[test]
    fn edited_comment_issue_comment_and_missing_number() {
        let mut v = json(PR_COMMENT);
        v["action"] = "edited".into();
        assert!(!comment_of(&v.to_string()).created);
        let h = headers(&[("x-gitea-event", "issue_comment")]);
        let mut v = json(PR_COMMENT);
        v["is_pull"] = false.into();
        v["issue"]["pull_request"] = serde_json::Value::Null;
        assert!(matches!(
            parse_any(Provider::Gitea, &h, v.to_string().as_bytes()),
            Ok(ParsedEvent::Ignored { ref event, ref reason })
                if event == "issue_comment" && reason.contains("not on a pull request")
        ));
        let mut v = json(PR_COMMENT);
        v["issue"].as_object_mut().map(|o| o.remove("number"));
        assert_eq!(
            parse_any(Provider::Gitea, &h, v.to_string().as_bytes()),
            Err(EventError::Malformed("missing field `issue.number`".into()))
        );
    }
}
