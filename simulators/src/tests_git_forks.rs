//! Tests of [`super::git::FakeGit`] for forks and abbreviated hashes: the
//! GitHub contents API serves a fork's pull request head only from the
//! fork's tree, and Bitbucket's commit API resolves abbreviations.

use serde_json::json;

use super::git::FakeGit;
use super::tests_support::{call, hdrs};

const TOKEN: &str = "tok-123";
const HEAD: &str = "abcdef0123456789abcdef0123456789abcdef01";

fn bearer() -> Vec<(&'static str, String)> {
    vec![
        ("authorization", format!("Bearer {TOKEN}")),
        ("user-agent", "test".into()),
    ]
}

#[test]
fn github_serves_a_forks_head_from_the_fork_only_where_the_fork_has_it() {
    let git = FakeGit::start(TOKEN);
    git.add_file("alice/app", HEAD, "p.toml", b"fork\n");
    let base = git.api_base("github");
    let at = |repo: &str, reference: &str| {
        let url = format!("{base}/repos/{repo}/contents/p.toml?ref={reference}");
        call("GET", &url, &hdrs(&bearer()), b"").status
    };
    assert_eq!(at("acme/app", HEAD), 404, "no pull request yet");
    git.add_pull_request("acme/app", 3, "alice/app", HEAD);
    assert_eq!(at("acme/app", HEAD), 200);
    assert_eq!(at("acme/app", "refs/pull/3/head"), 200);
    assert_eq!(at("alice/app", HEAD), 200);
    // A pull request whose head the fork does not have serves nothing.
    let other = "1234567890123456789012345678901234567890";
    git.add_pull_request("acme/app", 4, "alice/app", other);
    assert_eq!(at("acme/app", other), 404);
}

#[test]
fn bitbucket_looks_commits_up_by_abbreviation_and_posts_statuses_at_full_hashes() {
    let git = FakeGit::start(TOKEN);
    git.add_file("team/app", HEAD, "p.toml", b"x\n");
    let base = git.api_base("bitbucket");
    let get = |path: &str| call("GET", &format!("{base}{path}"), &hdrs(&bearer()), b"");
    let r = get(&format!("/repositories/team/app/commit/{}", &HEAD[..12]));
    assert_eq!((r.status, r.json()["hash"].clone()), (200, json!(HEAD)));
    assert_eq!(
        get(&format!("/repositories/team/app/commit/{HEAD}")).status,
        200
    );
    let r = get("/repositories/team/app/commit/0123456789ab");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["type"], "error");
    assert!(r.json()["error"]["message"].is_string());
    // Bitbucket resolves an abbreviation in a src read.
    let r = get(&format!(
        "/repositories/team/app/src/{}/p.toml",
        &HEAD[..12]
    ));
    assert_eq!(r.status, 200);
    let status = json!({"state": "INPROGRESS", "key": "slipway", "url": "https://s.example/r/1"});
    let post = |sha: &str| {
        let url = format!("{base}/repositories/team/app/commit/{sha}/statuses/build");
        let mut h = bearer();
        h.push(("content-type", "application/json".into()));
        call("POST", &url, &hdrs(&h), status.to_string().as_bytes()).status
    };
    assert_eq!(post(&HEAD[..12]), 404, "statuses only at the full hash");
    assert_eq!(post(HEAD), 201);
}
