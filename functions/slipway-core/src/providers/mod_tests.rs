//! Tests of [`super`].

use super::test_support::headers;
use super::*;

#[test]
fn provider_names_round_trip() {
    for p in Provider::ALL {
        assert_eq!(Provider::from_path_segment(p.as_str()), Some(p));
        assert_eq!(p.to_string(), p.as_str());
    }
    assert_eq!(
        Provider::from_path_segment("forgejo"),
        Some(Provider::Gitea)
    );
    assert_eq!(
        Provider::from_path_segment("GitHub"),
        Some(Provider::GitHub)
    );
    assert_eq!(Provider::from_path_segment("svn"), None);
    let parsed: Provider = serde_json::from_str("\"forgejo\"").expect("alias");
    assert_eq!(parsed, Provider::Gitea);
}

#[test]
fn empty_secret_is_rejected_for_every_provider() {
    for p in Provider::ALL {
        let err = verify(p, &Headers::new(), b"{}", "", 0).expect_err("empty secret");
        assert!(matches!(err, AuthError::BadSecret(_)), "{p}: {err}");
    }
}

#[test]
fn delivery_ids() {
    let h = headers(&[
        ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        (
            "X-Gitlab-Event-UUID",
            "13792a34-cac6-4fda-95a8-c58e00a3954e",
        ),
        ("X-Request-UUID", "{afd2b9f8}"),
        ("X-Forgejo-Delivery", "f6266f16-1bf3-46a5-9ea4-602e06ead473"),
    ]);
    assert_eq!(
        delivery_id(Provider::GitHub, &h).as_deref(),
        Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")
    );
    assert_eq!(
        delivery_id(Provider::GitLab, &h).as_deref(),
        Some("13792a34-cac6-4fda-95a8-c58e00a3954e")
    );
    let mut with_key = h.clone();
    with_key.insert("idempotency-key".into(), "retry-stable".into());
    assert_eq!(
        delivery_id(Provider::GitLab, &with_key).as_deref(),
        Some("retry-stable")
    );
    assert_eq!(
        delivery_id(Provider::Bitbucket, &h).as_deref(),
        Some("{afd2b9f8}")
    );
    assert_eq!(
        delivery_id(Provider::Gitea, &h).as_deref(),
        Some("f6266f16-1bf3-46a5-9ea4-602e06ead473")
    );
    assert_eq!(delivery_id(Provider::Gitee, &h), None);
    assert_eq!(delivery_id(Provider::Codeup, &h), None);
    assert_eq!(
        delivery_id(Provider::GitHub, &headers(&[("x-github-delivery", " ")])),
        None
    );
}

#[test]
fn push_event_branch_and_tag() {
    let mut push = PushEvent {
        repo: "o/r".into(),
        clone_url: None,
        git_ref: "refs/heads/feature/x".into(),
        before: "0".repeat(40),
        after: "a".repeat(40),
        deleted: false,
        created: true,
        pusher: None,
        changed_paths: vec![],
        paths_complete: false,
    };
    assert_eq!(push.branch(), Some("feature/x"));
    assert_eq!(push.tag(), None);
    push.git_ref = "refs/tags/v1.2.0".into();
    assert_eq!(push.branch(), None);
    assert_eq!(push.tag(), Some("v1.2.0"));
}
