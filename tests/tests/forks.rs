//! Merge requests from forks and Bitbucket's abbreviated hashes, end to
//! end: the real components in the host, against the fake providers and
//! the fake Jenkins.

use serde_json::{Value, json};
use slipway_tests::fakes::webhooks;
use slipway_tests::fakes::webhooks_pull_requests::{PullRequest, github_pull_request};
use slipway_tests::pipeline_env::*;

/// Trusts Bitbucket's `dev`, whose pull requests then run their own pipeline.
const TRUST_DEV: &str = r#"
[access.people.dev]
git = ["bitbucket:dev"]
[apps.shop-bitbucket.pull_requests]
trusted = ["dev"]
"#;

/// [`PIPELINE`], run for merge requests too.
fn mr_pipeline() -> String {
    format!("[triggers]\nmerge_requests = true\n{PIPELINE}")
}

/// The run once `ready` holds of it (it may take more than one reconcile:
/// a run between two of its steps shows nothing pending).
fn run_until(env: &Env, id: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let run = env.run(id);
        if ready(&run) || std::time::Instant::now() > deadline {
            return run;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Whether the run's first build started, or the run ended.
fn started_or_ended(run: &Value) -> bool {
    run["stages"]["unit-test"]["status"] == "running" || run["finished_at_ms"].is_u64()
}

fn github_hook(env: &Env, body: &Value) -> (u16, Value) {
    let hook = webhooks::github(HOOK_SECRET, "pull_request", body.to_string().as_bytes());
    env.hook("github", &hook)
}

/// A request of the repository's member from their fork, `member/shop-github`.
fn member_fork_request(number: u64, head: &str) -> PullRequest {
    let mut pr = PullRequest::from_fork(&repo("github"), number, "member", head);
    pr.association = "MEMBER".into();
    pr
}

#[test]
fn a_github_request_from_a_fork_is_built_from_the_fork() {
    let env = Env::start("");
    let head = sha(0xf01);
    let pr = member_fork_request(9, &head);
    // The head exists in the fork; GitHub keeps it in the target under
    // refs/pull/9/head, which is where the pipeline file is read.
    env.git.add_commit(&pr.source_repo, &head);
    env.git.add_file(
        &pr.source_repo,
        &head,
        ".slipway/pipeline.toml",
        mr_pipeline(),
    );
    env.git
        .add_pull_request(&pr.repo, 9, &pr.source_repo, &head);

    let (status, reply) = github_hook(&env, &github_pull_request(&pr, "opened"));
    assert_eq!(status, 202, "{reply}");
    let run = run_until(&env, reply["run"].as_str().unwrap(), started_or_ended);
    assert_eq!(run["trigger"]["git_ref"], "refs/pull/9/head", "{run}");
    assert_eq!(run["trigger"]["source"]["repo"], "member/shop-github");
    assert_eq!(run["trigger"]["source"]["git_ref"], "refs/heads/patch-1");
    assert_eq!(
        run["trigger"]["source"]["clone_url"],
        "https://github.com/member/shop-github.git"
    );
    assert_eq!(run["stages"]["unit-test"]["status"], "running", "{run}");

    let triggers = env.jenkins.triggers();
    let (_, params) = triggers.last().expect("a build");
    assert_eq!(params["SLIPWAY_REPO"], repo("github"));
    assert_eq!(params["SLIPWAY_REF"], "refs/pull/9/head");
    assert_eq!(params["SLIPWAY_SOURCE_REPO"], "member/shop-github");
    assert_eq!(params["SLIPWAY_SOURCE_REF"], "refs/heads/patch-1");
    assert_eq!(params["SLIPWAY_COMMIT"], head);
    // Statuses go to the target, which has the head.
    let statuses = env.git.statuses(&repo("github"), &head);
    assert!(!statuses.is_empty(), "{:?}", env.git.all_statuses());
}

#[test]
fn a_same_repository_request_names_itself_as_its_source() {
    let env = Env::start("");
    let head = sha(0xf11);
    env.commit("github", &head, &mr_pipeline());
    let mut pr = member_fork_request(10, &head);
    pr.source_repo = repo("github");
    let (status, reply) = github_hook(&env, &github_pull_request(&pr, "opened"));
    assert_eq!(status, 202, "{reply}");
    let run = run_until(&env, reply["run"].as_str().unwrap(), started_or_ended);
    assert!(run["trigger"]["source"].is_null(), "{run}");
    let triggers = env.jenkins.triggers();
    let (_, params) = triggers.last().expect("a build");
    assert_eq!(params["SLIPWAY_REF"], "refs/heads/patch-1");
    assert_eq!(params["SLIPWAY_SOURCE_REPO"], repo("github"));
    assert_eq!(params["SLIPWAY_SOURCE_REF"], "refs/heads/patch-1");
}

#[test]
fn the_fake_github_serves_a_forks_files_only_at_commits_the_fork_has() {
    let env = Env::start("");
    let head = sha(0xf21);
    let pr = member_fork_request(11, &head);
    // The target has the pull ref, but the fork never had that commit.
    env.git.add_file(
        &pr.source_repo,
        &sha(0xf22),
        ".slipway/pipeline.toml",
        mr_pipeline(),
    );
    env.git
        .add_pull_request(&pr.repo, 11, &pr.source_repo, &head);
    let rows = env.kv_rows();
    let (status, reply) = github_hook(&env, &github_pull_request(&pr, "opened"));
    assert_eq!(status, 200, "{reply}");
    let ignored = reply["ignored"].as_str().unwrap_or_default();
    assert!(ignored.contains("no pipeline file"), "{reply}");
    assert_eq!(env.kv_rows(), rows, "nothing recorded");
}

/// A Bitbucket `pullrequest:created` body (the shape of Atlassian's
/// "Event payloads" example), its commit abbreviated to 12 characters.
fn bitbucket_pull_request(number: u64, short: &str, source_repo: &str) -> Value {
    let repository = |full_name: &str| {
        json!({ "type": "repository", "full_name": full_name,
                "name": full_name.rsplit('/').next(), "uuid": "{0b4d6a43-0000-4000-8000-000000000001}",
                "links": { "html": { "href": format!("https://bitbucket.org/{full_name}") } } })
    };
    let dev = json!({ "type": "user", "display_name": "Dev", "nickname": "dev",
                      "account_id": "557058:dev", "uuid": "{d3v00000-0000-4000-8000-000000000002}" });
    json!({
        "actor": dev,
        "repository": repository(&repo("bitbucket")),
        "pullrequest": {
            "id": number, "title": "Make it faster", "state": "OPEN", "draft": false,
            "author": dev,
            "source": { "branch": { "name": "feature" },
                        "commit": { "type": "commit", "hash": short },
                        "repository": repository(source_repo) },
            "destination": { "branch": { "name": "main" },
                             "commit": { "type": "commit", "hash": "ce5965ddd289" },
                             "repository": repository(&repo("bitbucket")) },
            "links": { "html": { "href": format!("https://bitbucket.org/{}/pull-requests/{number}", repo("bitbucket")) } },
        },
    })
}

fn bitbucket_hook(env: &Env, body: &Value) -> (u16, Value) {
    let hook = webhooks::bitbucket(
        HOOK_SECRET,
        "pullrequest:created",
        body.to_string().as_bytes(),
    );
    env.hook("bitbucket", &hook)
}

#[test]
fn a_bitbucket_request_with_a_short_hash_reads_and_reports_at_the_full_hash() {
    let env = Env::start(TRUST_DEV);
    let full = sha(0xbb01);
    let short = &full[..12];
    env.commit("bitbucket", &full, &mr_pipeline());
    let body = bitbucket_pull_request(4, short, &repo("bitbucket"));
    let (status, reply) = bitbucket_hook(&env, &body);
    assert_eq!(status, 202, "{reply}");
    let run_id = reply["run"].as_str().unwrap().to_owned();
    let run = run_until(&env, &run_id, started_or_ended);
    assert_eq!(run["trigger"]["commit"], full.as_str(), "{run}");
    assert_eq!(run["stages"]["unit-test"]["status"], "running", "{run}");
    let triggers = env.jenkins.triggers();
    let (_, params) = triggers.last().expect("a build");
    assert_eq!(params["SLIPWAY_COMMIT"], full);

    let paths: Vec<String> = env.git.requests().into_iter().map(|r| r.path).collect();
    let lookup = format!("/2.0/repositories/{}/commit/{short}", repo("bitbucket"));
    let read = format!("/2.0/repositories/{}/src/{full}/", repo("bitbucket"));
    assert!(paths.contains(&lookup), "{paths:?}");
    assert!(paths.iter().any(|p| p.starts_with(&read)), "{paths:?}");
    assert!(
        !paths
            .iter()
            .any(|p| p.contains("/src/") && p.contains(&format!("/{short}/"))),
        "nothing read at the abbreviation: {paths:?}"
    );
    let statuses = env.git.statuses(&repo("bitbucket"), &full);
    assert!(
        statuses.iter().any(|s| s["state"] == "INPROGRESS"),
        "{:?}",
        env.git.all_statuses()
    );
    assert!(env.git.statuses(&repo("bitbucket"), short).is_empty());

    // The same update delivered again (a new request id) is the same run.
    let (status, again) = bitbucket_hook(&env, &body);
    assert_eq!(
        (status, again["run"].as_str()),
        (200, Some(run_id.as_str())),
        "{again}"
    );
}

#[test]
fn a_bitbucket_request_at_an_unknown_commit_fails_with_the_reason() {
    let env = Env::start(TRUST_DEV);
    let body = bitbucket_pull_request(5, "0123456789ab", &repo("bitbucket"));
    let (status, reply) = bitbucket_hook(&env, &body);
    assert_eq!(status, 202, "{reply}");
    let run = run_until(&env, reply["run"].as_str().unwrap(), started_or_ended);
    assert_eq!(run["status"], "failed", "{run}");
    let error = run["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("commit 0123456789ab does not exist in acme/shop-bitbucket"),
        "{run}"
    );
    assert!(env.jenkins.triggers().is_empty());
    assert!(
        env.git.all_statuses().is_empty(),
        "no status at an abbreviation"
    );
}

#[test]
fn a_bitbucket_request_from_a_fork_is_read_and_reported_in_the_fork() {
    let env = Env::start(TRUST_DEV);
    let fork = "dev/shop-bitbucket";
    let full = sha(0xbb21);
    env.git.add_commit(fork, &full);
    env.git
        .add_file(fork, &full, ".slipway/pipeline.toml", mr_pipeline());
    let body = bitbucket_pull_request(6, &full[..12], fork);
    let (status, reply) = bitbucket_hook(&env, &body);
    assert_eq!(status, 202, "{reply}");
    let run = run_until(&env, reply["run"].as_str().unwrap(), started_or_ended);
    assert_eq!(run["trigger"]["commit"], full.as_str(), "{run}");
    assert_eq!(run["trigger"]["source"]["repo"], fork);
    assert_eq!(
        run["trigger"]["source"]["clone_url"],
        "https://bitbucket.org/dev/shop-bitbucket.git"
    );
    let triggers = env.jenkins.triggers();
    let (_, params) = triggers.last().expect("a build");
    assert_eq!(params["SLIPWAY_SOURCE_REPO"], fork);
    assert_eq!(params["SLIPWAY_SOURCE_REF"], "refs/heads/feature");
    assert!(
        !env.git.statuses(fork, &full).is_empty(),
        "{:?}",
        env.git.all_statuses()
    );
}
