//! Bitbucket Cloud webhooks.

use super::payload::{
    ZERO_SHA, decode_body, first_str, get, opt_bool, opt_str, req_first_str, req_str, req_u64,
};
use super::signature::verify_hex;
use super::{
    AuthError, CommentEvent, EventError, Headers, MergeRequestEvent, MrAction, ParsedEvent,
    PushEvent, header,
};
use serde_json::Value;

/// `X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>` (GitHub's
/// algorithm under GitHub's legacy header name).
pub(super) fn verify(headers: &Headers, body: &[u8], secret: &str) -> Result<(), AuthError> {
    let name = "x-hub-signature";
    let value = header(headers, name).ok_or(AuthError::MissingHeader(name))?;
    verify_hex(name, value, "sha256=", secret, body)
}

/// Parses a delivery named by `X-Event-Key`; a push yields its first ref change.
pub(super) fn parse(headers: &Headers, body: &[u8]) -> Result<ParsedEvent, EventError> {
    let mut all = parse_all(headers, body)?;
    if all.is_empty() {
        return Err(EventError::Malformed("`push.changes` is empty".into()));
    }
    Ok(all.swap_remove(0))
}

/// Parses a delivery, one event per ref change of a `repo:push`.
pub(super) fn parse_all(headers: &Headers, body: &[u8]) -> Result<Vec<ParsedEvent>, EventError> {
    let key = header(headers, "x-event-key")
        .ok_or_else(|| EventError::Malformed("missing X-Event-Key header".into()))?;
    let json = decode_body(headers, body)?;
    if key == "repo:push" {
        return push_events(&json);
    }
    if let Some(what) = key.strip_prefix("pullrequest:comment_") {
        return Ok(vec![pull_request_comment(key, what, &json)?]);
    }
    if let Some(what) = key.strip_prefix("pullrequest:") {
        return Ok(vec![ParsedEvent::MergeRequest(pull_request(what, &json)?)]);
    }
    Ok(vec![ParsedEvent::Ignored {
        event: key.to_owned(),
        reason: "not an event Slipway acts on".into(),
    }])
}

fn push_events(json: &Value) -> Result<Vec<ParsedEvent>, EventError> {
    let repo = req_str(json, "repository.full_name")?;
    let pusher = first_str(
        json,
        &["actor.nickname", "actor.username", "actor.display_name"],
    );
    let changes = get(json, "push.changes")
        .and_then(Value::as_array)
        .ok_or_else(|| EventError::Malformed("missing field `push.changes`".into()))?;
    if changes.is_empty() {
        return Err(EventError::Malformed("`push.changes` is empty".into()));
    }
    changes
        .iter()
        .map(|change| {
            let mut push = ref_change(change)?;
            push.repo = repo.to_owned();
            // The payload has no clone URL; Bitbucket Cloud's is predictable.
            push.clone_url = Some(format!("https://bitbucket.org/{repo}.git"));
            push.pusher = pusher.map(str::to_owned);
            Ok(ParsedEvent::Push(push))
        })
        .collect()
}

/// One `push.changes[]` entry: `new`/`old` are `{type, name, target.hash}`,
/// null on the created/deleted side. Bitbucket sends no file lists, so the
/// changed paths are never complete.
fn ref_change(change: &Value) -> Result<PushEvent, EventError> {
    let new = get(change, "new");
    let old = get(change, "old");
    let side = new
        .or(old)
        .ok_or_else(|| EventError::Malformed("a push change has neither `new` nor `old`".into()))?;
    let name = req_str(side, "name")
        .map_err(|_| EventError::Malformed("a push change has no ref `name`".into()))?;
    let git_ref = match opt_str(side, "type") {
        Some("branch" | "named_branch") => format!("refs/heads/{name}"),
        Some("tag" | "annotated_tag") => format!("refs/tags/{name}"),
        other => {
            return Err(EventError::Malformed(format!(
                "unknown ref type {:?} in a push change",
                other.unwrap_or("(none)")
            )));
        }
    };
    let hash = |side: Option<&Value>| {
        side.and_then(|s| opt_str(s, "target.hash"))
            .unwrap_or(ZERO_SHA)
            .to_owned()
    };
    Ok(PushEvent {
        repo: String::new(),
        clone_url: None,
        git_ref,
        before: hash(old),
        after: hash(new),
        deleted: opt_bool(change, "closed").unwrap_or(new.is_none()),
        created: opt_bool(change, "created").unwrap_or(old.is_none()),
        pusher: None,
        changed_paths: Vec::new(),
        paths_complete: false,
    })
}

fn pull_request(what: &str, json: &Value) -> Result<MergeRequestEvent, EventError> {
    let action = match what {
        "created" => MrAction::Opened,
        "updated" => MrAction::Updated,
        "fulfilled" => MrAction::Merged,
        "rejected" => MrAction::Closed,
        other => MrAction::Other(other.to_owned()),
    };
    let repo = match first_str(
        json,
        &[
            "repository.full_name",
            "pullrequest.destination.repository.full_name",
        ],
    ) {
        Some(r) => r,
        None => {
            return Err(EventError::Malformed(
                "missing field `repository.full_name`".into(),
            ));
        }
    };
    let source_repo = opt_str(json, "pullrequest.source.repository.full_name").unwrap_or(repo);
    Ok(MergeRequestEvent {
        repo: repo.to_owned(),
        number: req_u64(json, "pullrequest.id")?,
        action,
        source_branch: req_str(json, "pullrequest.source.branch.name")?.to_owned(),
        target_branch: req_str(json, "pullrequest.destination.branch.name")?.to_owned(),
        head_sha: req_str(json, "pullrequest.source.commit.hash")?.to_owned(),
        source_repo: source_repo.to_owned(),
        // The payload has no clone URL; Bitbucket Cloud's is predictable.
        source_clone_url: Some(format!("https://bitbucket.org/{source_repo}.git")),
        url: opt_str(json, "pullrequest.links.html.href").map(str::to_owned),
        draft: opt_bool(json, "pullrequest.draft").unwrap_or(false),
        // `nickname` replaced `username` in 2019; older payloads and
        // Atlassian's own examples still carry `username`.
        author: first_str(
            json,
            &[
                "pullrequest.author.nickname",
                "pullrequest.author.username",
                "actor.nickname",
                "actor.username",
                "actor.display_name",
            ],
        )
        .map(str::to_owned),
        author_association: None,
    })
}

/// `pullrequest:comment_created`, `_updated` or `_deleted` (`what` is the
/// part after `comment_`). A resolved or reopened comment thread is ignored.
fn pull_request_comment(key: &str, what: &str, json: &Value) -> Result<ParsedEvent, EventError> {
    let created = match what {
        "created" => true,
        "updated" | "deleted" => false,
        _ => {
            return Ok(ParsedEvent::Ignored {
                event: key.to_owned(),
                reason: "a change to a comment thread, not a comment".into(),
            });
        }
    };
    Ok(ParsedEvent::Comment(CommentEvent {
        repo: req_first_str(
            json,
            &[
                "repository.full_name",
                "pullrequest.destination.repository.full_name",
            ],
        )?
        .to_owned(),
        number: req_u64(json, "pullrequest.id")?,
        body: req_str(json, "comment.content.raw")?.to_owned(),
        author: req_first_str(
            json,
            &["actor.nickname", "actor.username", "actor.display_name"],
        )?
        .to_owned(),
        author_association: None,
        // A 12-character abbreviation, as in the pull request events.
        head_sha: opt_str(json, "pullrequest.source.commit.hash").map(str::to_owned),
        created,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::test_support::{headers, hmac_hex, json};
    use crate::providers::{
        Provider, parse as parse_one, parse_all as parse_many, verify as verify_any,
    };

    const PUSH: &str = include_str!("../../tests/fixtures/providers/bitbucket/push.json");
    const PR: &str =
        include_str!("../../tests/fixtures/providers/bitbucket/pullrequest_created.json");
    const PR_COMMENT: &str =
        include_str!("../../tests/fixtures/providers/bitbucket/pullrequest_comment_created.json");

    fn event(key: &str, body: &str) -> Result<ParsedEvent, EventError> {
        parse_one(
            Provider::Bitbucket,
            &headers(&[("x-event-key", key)]),
            body.as_bytes(),
        )
    }

    fn push_of(body: &str) -> PushEvent {
        match event("repo:push", body).expect("push parses") {
            ParsedEvent::Push(p) => p,
            other => panic!("expected a push, got {other:?}"),
        }
    }

    fn mr_of(key: &str, body: &str) -> MergeRequestEvent {
        match event(key, body).expect("pull request parses") {
            ParsedEvent::MergeRequest(m) => m,
            other => panic!("expected a merge request, got {other:?}"),
        }
    }

    #[test]
    fn signature_vector_and_rejections() {
        let doc = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let h = headers(&[("X-Hub-Signature", doc)]);
        let secret = "It's a Secret to Everybody";
        verify_any(Provider::Bitbucket, &h, b"Hello, World!", secret, 0).expect("vector");
        assert_eq!(
            verify_any(Provider::Bitbucket, &h, b"Hello, World!", "nope", 0),
            Err(AuthError::Mismatch("x-hub-signature"))
        );
        assert_eq!(
            verify_any(Provider::Bitbucket, &h, b"Hello, World!!", secret, 0),
            Err(AuthError::Mismatch("x-hub-signature"))
        );
        assert_eq!(
            verify_any(Provider::Bitbucket, &Headers::new(), b"", secret, 0),
            Err(AuthError::MissingHeader("x-hub-signature"))
        );
        let sig = format!("sha256={}", hmac_hex("k", PUSH.as_bytes()));
        let h = headers(&[("x-hub-signature", &sig)]);
        verify_any(Provider::Bitbucket, &h, PUSH.as_bytes(), "k", 0).expect("fixture signed");
    }

    #[test]
    fn documented_push() {
        let p = push_of(PUSH);
        assert_eq!(p.repo, "team_name/repo_name");
        assert_eq!(
            p.clone_url.as_deref(),
            Some("https://bitbucket.org/team_name/repo_name.git")
        );
        assert_eq!(p.git_ref, "refs/heads/name-of-branch");
        assert_eq!(p.before, "1e65c05c1d5171631d92438a13901ca7dae9618c");
        assert_eq!(p.after, "709d658dc5b6d6afcd46049c2f332ee3f515a67d");
        assert!(!p.created && !p.deleted);
        assert_eq!(p.pusher.as_deref(), Some("emmap1"));
        assert!(p.changed_paths.is_empty() && !p.paths_complete);
    }

    #[test]
    fn branch_deletion_tag_creation_and_several_changes() {
        let mut v = json(PUSH);
        let change = v["push"]["changes"][0].clone();
        let mut closed = change.clone();
        closed["new"] = serde_json::Value::Null;
        closed["closed"] = true.into();
        let mut tag = change.clone();
        tag["old"] = serde_json::Value::Null;
        tag["created"] = true.into();
        tag["new"]["type"] = "tag".into();
        tag["new"]["name"] = "v1.2.0".into();
        v["push"]["changes"] = serde_json::json!([closed, tag]);
        let body = v.to_string();
        let d = push_of(&body);
        assert!(d.deleted && !d.created);
        assert_eq!(d.branch(), Some("name-of-branch"));
        assert_eq!(d.after, ZERO_SHA);
        let all = parse_many(
            Provider::Bitbucket,
            &headers(&[("x-event-key", "repo:push")]),
            body.as_bytes(),
        )
        .expect("all changes");
        assert_eq!(all.len(), 2);
        let ParsedEvent::Push(t) = &all[1] else {
            panic!("expected a push")
        };
        assert_eq!(t.tag(), Some("v1.2.0"));
        assert!(t.created && !t.deleted);
        assert_eq!(t.before, ZERO_SHA);
        assert_eq!(t.repo, "team_name/repo_name");
    }

    #[test]
    fn documented_pull_request() {
        let m = mr_of("pullrequest:created", PR);
        assert_eq!(m.repo, "team_name/repo_name");
        assert_eq!(m.number, 1);
        assert_eq!(m.action, MrAction::Opened);
        assert_eq!(m.source_branch, "branch2");
        assert_eq!(m.target_branch, "master");
        assert_eq!(
            m.head_sha, "d3022fc0ca3d",
            "Bitbucket abbreviates PR hashes"
        );
        assert_eq!(m.source_repo, "team_name/repo_name");
        assert_eq!(
            m.source_clone_url.as_deref(),
            Some("https://bitbucket.org/team_name/repo_name.git")
        );
        assert_eq!(
            m.url.as_deref(),
            Some("https://api.bitbucket.org/pullrequest_id")
        );
        assert!(!m.draft);
        assert_eq!(mr_of("pullrequest:updated", PR).action, MrAction::Updated);
        assert_eq!(mr_of("pullrequest:fulfilled", PR).action, MrAction::Merged);
        assert_eq!(mr_of("pullrequest:rejected", PR).action, MrAction::Closed);
        assert_eq!(
            mr_of("pullrequest:approved", PR).action,
            MrAction::Other("approved".into())
        );
    }

    #[test]
    fn other_events_malformed_bodies_and_missing_fields() {
        assert!(matches!(
            event("issue:created", "{}"),
            Ok(ParsedEvent::Ignored { ref event, .. }) if event == "issue:created"
        ));
        let e = parse_one(Provider::Bitbucket, &Headers::new(), PUSH.as_bytes()).expect_err("key");
        assert!(e.to_string().contains("X-Event-Key"), "{e}");
        let e = event("repo:push", "null").expect_err("not an object");
        assert!(e.to_string().contains("not a JSON object"), "{e}");
        let mut v = json(PUSH);
        v["push"]["changes"] = serde_json::json!([]);
        assert!(
            event("repo:push", &v.to_string())
                .expect_err("empty")
                .to_string()
                .contains("empty")
        );
        let mut v = json(PUSH);
        v["push"]["changes"][0]["new"]["type"] = "bookmark".into();
        assert!(
            event("repo:push", &v.to_string())
                .expect_err("type")
                .to_string()
                .contains("bookmark")
        );
        let mut v = json(PR);
        v["pullrequest"]["source"]
            .as_object_mut()
            .map(|o| o.remove("commit"));
        let e = event("pullrequest:created", &v.to_string()).expect_err("no commit");
        assert!(
            e.to_string().contains("`pullrequest.source.commit.hash`"),
            "{e}"
        );
    }

    fn comment_of(key: &str, body: &str) -> CommentEvent {
        match event(key, body).expect("comment parses") {
            ParsedEvent::Comment(c) => c,
            other => panic!("expected a comment, got {other:?}"),
        }
    }

    #[test]
    fn pull_request_author() {
        let m = mr_of("pullrequest:created", PR);
        assert_eq!(m.author.as_deref(), Some("emmap1"));
        assert_eq!(m.author_association, None);
        let mut v = json(PR);
        v["pullrequest"]["author"]["nickname"] = "emma-nick".into();
        v["actor"]["nickname"] = "someone-else".into();
        assert_eq!(
            mr_of("pullrequest:updated", &v.to_string())
                .author
                .as_deref(),
            Some("emma-nick"),
            "the author's nickname comes first"
        );
        v["pullrequest"].as_object_mut().map(|o| o.remove("author"));
        assert_eq!(
            mr_of("pullrequest:updated", &v.to_string())
                .author
                .as_deref(),
            Some("someone-else"),
            "then the actor's"
        );
        v["actor"] = serde_json::json!({"display_name": "Emma"});
        assert_eq!(
            mr_of("pullrequest:updated", &v.to_string())
                .author
                .as_deref(),
            Some("Emma")
        );
    }

    #[test]
    fn documented_pull_request_comment() {
        assert_eq!(
            comment_of("pullrequest:comment_created", PR_COMMENT),
            CommentEvent {
                repo: "team_name/repo_name".into(),
                number: 1,
                body: "/ok-to-test".into(),
                author: "emmap1".into(),
                author_association: None,
                head_sha: Some("d3022fc0ca3d".into()),
                created: true,
            }
        );
        let mut v = json(PR_COMMENT);
        v["actor"]["nickname"] = "emma-nick".into();
        assert_eq!(
            comment_of("pullrequest:comment_created", &v.to_string()).author,
            "emma-nick"
        );
        v["actor"] = serde_json::json!({"display_name": "Emma"});
        assert_eq!(
            comment_of("pullrequest:comment_created", &v.to_string()).author,
            "Emma"
        );
    }

    #[test]
    fn edited_deleted_and_other_comment_events() {
        for key in ["pullrequest:comment_updated", "pullrequest:comment_deleted"] {
            let c = comment_of(key, PR_COMMENT);
            assert!(!c.created, "{key}");
            assert_eq!(c.number, 1);
        }
        for key in [
            "pullrequest:comment_resolved",
            "pullrequest:comment_reopened",
            "issue:comment_created",
            "repo:commit_comment_created",
        ] {
            assert!(
                matches!(
                    event(key, PR_COMMENT),
                    Ok(ParsedEvent::Ignored { ref event, .. }) if event == key
                ),
                "{key}"
            );
        }
    }

    #[test]
    fn pull_request_comment_missing_fields_is_malformed() {
        let mut v = json(PR_COMMENT);
        v["pullrequest"].as_object_mut().map(|o| o.remove("id"));
        assert_eq!(
            event("pullrequest:comment_created", &v.to_string()),
            Err(EventError::Malformed(
                "missing field `pullrequest.id`".into()
            ))
        );
        let mut v = json(PR_COMMENT);
        v["comment"]["content"]
            .as_object_mut()
            .map(|o| o.remove("raw"));
        assert_eq!(
            event("pullrequest:comment_created", &v.to_string()),
            Err(EventError::Malformed(
                "missing field `comment.content.raw`".into()
            ))
        );
        let mut v = json(PR_COMMENT);
        v["actor"] = serde_json::json!({"type": "user"});
        assert_eq!(
            event("pullrequest:comment_created", &v.to_string()),
            Err(EventError::Malformed(
                "missing field `actor.nickname`".into()
            ))
        );
    }
}
