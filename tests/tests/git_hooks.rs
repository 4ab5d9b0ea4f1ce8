//! `POST /hooks/{provider}` end to end: the real components in the host,
//! against fake git providers and build services on loopback.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use slipway_tests::fakes::webhooks::{self, hmac_sha256_hex};
use slipway_tests::fakes::webhooks_payloads::{Push, ZERO_SHA};
use slipway_tests::pipeline_env::*;

#[test]
fn a_signed_push_to_each_provider_starts_one_run_and_its_first_build() {
    let env = Env::start("");
    for (i, provider) in PROVIDERS.iter().enumerate() {
        let commit = sha(0xa000 + i as u32);
        env.commit(provider, &commit, PIPELINE);
        let (status, reply) = env.hook(provider, &env.push(provider, "main", &commit));
        assert_eq!(status, 202, "{provider}: {reply}");
        let run_id = format!("shop-{provider}-1");
        assert_eq!(reply["run"], run_id.as_str(), "{provider}");
        assert_eq!(reply["number"], 1);

        let run = env.run(&run_id);
        assert_eq!(run["trigger"]["commit"], commit.as_str());
        assert_eq!(
            run["stages"]["unit-test"]["status"], "running",
            "{provider}: {run}"
        );
        assert_eq!(run["stages"]["image"]["status"], "queued");

        let triggers = env.jenkins.triggers();
        let (job, params) = triggers.last().unwrap();
        assert_eq!(job, "shop/unit-test");
        assert_eq!(params["SLIPWAY_RUN"], run_id);
        assert_eq!(params["SLIPWAY_STAGE"], "unit-test");
        assert_eq!(params["SLIPWAY_ATTEMPT"], "1");
        assert_eq!(params["SLIPWAY_COMMIT"], commit);
        assert_eq!(params["SLIPWAY_REF"], "refs/heads/main");
        assert_eq!(params["SUITE"], "unit");
        assert_eq!(
            params["SLIPWAY_CALLBACK_URL"],
            format!("http://slipway.test/callbacks/{run_id}/unit-test")
        );
        let token = hmac_sha256_hex(
            CALLBACK_SECRET.as_bytes(),
            format!("slipway-callback\n{run_id}\nunit-test\n1").as_bytes(),
        );
        assert_eq!(params["SLIPWAY_CALLBACK_TOKEN"], token);
        if *provider != "gitee" {
            let statuses = env.git.statuses(&repo(provider), &commit);
            assert!(
                statuses.iter().any(|s| s["state"]
                    .as_str()
                    .is_some_and(|st| st == "pending" || st == "INPROGRESS")),
                "{provider}: {statuses:?}"
            );
        }
    }
    // One run per provider triggered. A trigger is at least once: a claim
    // that outlives its lease (1 s here) on a loaded machine is taken over
    // and sent again, for the same run and attempt (see the README).
    let triggered: std::collections::BTreeSet<String> = env
        .jenkins
        .triggers()
        .iter()
        .map(|(_, params)| format!("{}/{}", params["SLIPWAY_RUN"], params["SLIPWAY_ATTEMPT"]))
        .collect();
    assert_eq!(triggered.len(), PROVIDERS.len(), "{triggered:?}");
}

#[test]
fn a_redelivery_creates_nothing() {
    let env = Env::start("");
    let commit = sha(0xb1);
    env.commit("github", &commit, PIPELINE);
    let webhook = env.push("github", "main", &commit);
    assert_eq!(env.hook("github", &webhook).0, 202);
    env.run("shop-github-1");
    // The build's index entry is written just after the run records the
    // start, possibly by work after the webhook's response: wait for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !env.kv_keys().iter().any(|k| k.starts_with("external/")) {
        assert!(std::time::Instant::now() < deadline, "{:?}", env.kv_keys());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let keys = env.kv_keys();
    // The same delivery again, and the same push under a new delivery id.
    let again = env.hook("github", &webhook);
    assert_eq!(
        (again.0, again.1["run"].as_str()),
        (200, Some("shop-github-1"))
    );
    let other_id = webhook
        .clone()
        .with_header("x-github-delivery", "another-delivery-id");
    let again = env.hook("github", &other_id);
    assert_eq!((again.0, again.1["duplicate"].as_bool()), (200, Some(true)));
    assert_eq!(env.kv_keys(), keys);
    assert_eq!(env.jenkins.triggers().len(), 1);
}

#[test]
fn fifty_concurrent_pushes_create_fifty_runs_with_distinct_numbers() {
    let env = Arc::new(Env::start(""));
    for i in 0..50 {
        env.commit("gitlab", &sha(0xc000 + i), PIPELINE);
    }
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let env = env.clone();
            std::thread::spawn(move || {
                let (status, reply) =
                    env.hook("gitlab", &env.push("gitlab", "main", &sha(0xc000 + i)));
                assert_eq!(status, 202, "{reply}");
                reply["number"].as_u64().unwrap()
            })
        })
        .collect();
    let mut numbers: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    numbers.sort();
    assert_eq!(numbers, (1..=50).collect::<Vec<u64>>());
    for n in numbers {
        assert_eq!(
            env.run(&format!("shop-gitlab-{n}"))["stages"]["unit-test"]["status"],
            "running"
        );
    }
    // At least once per run (see the test above): 50 runs triggered.
    let triggered: std::collections::BTreeSet<String> = env
        .jenkins
        .triggers()
        .iter()
        .map(|(_, params)| params["SLIPWAY_RUN"].clone())
        .collect();
    assert_eq!(triggered.len(), 50);
}

#[test]
fn rejected_and_ignored_requests_leave_the_store_unchanged() {
    let env = Env::start("");
    let commit = sha(0xd1);
    env.commit("github", &commit, PIPELINE);
    env.host.get("/api/health");
    let rows = env.kv_rows();
    let good = env.push("github", "main", &commit);

    let bad_sig = good
        .clone()
        .with_header("x-hub-signature-256", &format!("sha256={}", "0".repeat(64)));
    assert_eq!(env.hook("github", &bad_sig).0, 401);
    assert_eq!(
        env.hook(
            "github",
            &good.clone().without_header("x-hub-signature-256")
        )
        .0,
        401
    );
    let garbage = webhooks::github(HOOK_SECRET, "push", b"{\"ref\": ");
    let (status, reply) = env.hook("github", &garbage);
    assert_eq!(status, 400, "{reply}");
    assert!(
        reply["error"].as_str().unwrap().contains("malformed"),
        "{reply}"
    );
    assert_eq!(env.hook("svn", &good).0, 404);
    assert_eq!(
        post_oversized(&env.host, "/hooks/github", 26 * 1024 * 1024),
        413
    );
    // Events that start nothing.
    let ping = webhooks::github(
        HOOK_SECRET,
        "ping",
        br#"{"zen":"Keep it logically awesome.","hook_id":1}"#,
    );
    assert_eq!(env.hook("github", &ping).1["ignored"], "ping");
    let deletion = signed(
        "github",
        &Push::new(&repo("github"), "refs/heads/old", &commit, ZERO_SHA).web_base(&env.git.url()),
    );
    assert!(
        env.hook("github", &deletion).1["ignored"]
            .as_str()
            .unwrap()
            .contains("deletion")
    );
    let no_file = env.push("github", "main", &sha(0xd2));
    env.git.add_commit(&repo("github"), &sha(0xd2));
    assert!(
        env.hook("github", &no_file).1["ignored"]
            .as_str()
            .unwrap()
            .contains("no pipeline file")
    );
    env.commit(
        "github",
        &sha(0xd3),
        &format!("[triggers]\nbranches = [\"release/*\"]\n{PIPELINE}"),
    );
    let filtered = env.hook("github", &env.push("github", "main", &sha(0xd3)));
    assert!(
        filtered.1["ignored"].as_str().unwrap().contains("branch"),
        "{}",
        filtered.1
    );

    assert_eq!(env.kv_rows(), rows);
    assert!(env.jenkins.triggers().is_empty());
}

#[test]
fn an_invalid_pipeline_file_fails_the_run_and_says_where() {
    let env = Env::start("");
    let commit = sha(0xe1);
    env.commit(
        "github",
        &commit,
        "[stages.unit]\nkind = \"build\"\nservice = [\n",
    );
    let (status, reply) = env.hook("github", &env.push("github", "main", &commit));
    assert_eq!(status, 202, "{reply}");
    let run = env.run("shop-github-1");
    assert_eq!(run["status"], "failed");
    assert!(run["error"].as_str().unwrap().contains("line 3"), "{run}");
    let statuses = env.git.statuses(&repo("github"), &commit);
    let last = statuses.last().unwrap();
    assert_eq!(last["state"], "error");
    assert!(
        last["description"].as_str().unwrap().contains("line 3"),
        "{last}"
    );
}

#[test]
fn a_build_service_that_is_down_fails_the_stage_after_its_retries() {
    let env = Env::start("");
    let commit = sha(0xf1);
    env.commit("github", &commit, PIPELINE);
    env.jenkins.set_down(true);
    let (status, reply) = env.hook("github", &env.push("github", "main", &commit));
    assert_eq!(status, 202, "{reply}");
    let run = env.run("shop-github-1");
    assert_eq!(run["stages"]["unit-test"]["status"], "failed", "{run}");
    let reason = run["stages"]["unit-test"]["reason"].as_str().unwrap();
    assert!(reason.contains("3 attempts"), "{reason}");
    assert_eq!(run["stages"]["image"]["status"], "cancelled");
    assert_eq!(run["status"], "failed");
    let last = env
        .git
        .statuses(&repo("github"), &commit)
        .last()
        .cloned()
        .unwrap();
    assert_eq!(last["state"], "failure");
}

#[test]
fn a_failing_build_service_is_retried_with_backoff() {
    let env = Env::start("");
    let commit = sha(0xf2);
    env.commit("github", &commit, PIPELINE);
    env.jenkins.fail_next(2, 503);
    let (status, reply) = env.hook("github", &env.push("github", "main", &commit));
    assert_eq!(status, 202, "{reply}");
    let run = env.run("shop-github-1");
    assert_eq!(run["stages"]["unit-test"]["status"], "running", "{run}");
    let attempts = env
        .jenkins
        .requests_to("/job/shop/job/unit-test/buildWithParameters");
    assert_eq!(attempts.len(), 3);
    let spread = attempts[2]
        .received_at
        .duration_since(attempts[0].received_at)
        .unwrap();
    assert!(spread >= Duration::from_millis(200), "{spread:?}");
}

#[test]
fn every_build_service_gets_the_run_identity_and_callback() {
    let extra = r#"
[build_services.tekton]
type = "tekton"
api_server = "TEKTON"
namespace = "default"
token_secret = "tekton_token"
[build_services.builder]
type = "http"
url = "BUILDER/build"
token_secret = "builder_token"
[build_services.actions]
type = "github_actions"
api_base = "GIT"
token_secret = "github_token"
[build_services.gitlab]
type = "gitlab_ci"
api_base = "GIT/api/v4"
project = "acme/shop-gitlab"
token_secret = "gitlab_trigger_token"
"#;
    // The fakes must exist before the config names their URLs.
    let mut env = Env::start("");
    let extra = extra
        .replace("TEKTON", &env.tekton.url())
        .replace("BUILDER", &env.builder.url())
        .replace("GIT", &env.git.url());
    env.reconfigure(&extra);
    env.git.add_workflow(&repo("github"), "build.yml");
    env.git.add_branch(&repo("github"), "main", &sha(0x1));
    env.git.add_trigger_token(&repo("gitlab"), "glptt-test");
    env.git.add_branch(&repo("gitlab"), "main", &sha(0x1));
    let pipeline = r#"
[stages.tekton]
kind = "build"
service = "tekton"
job = "build-and-test"
[stages.plain]
kind = "build"
service = "builder"
job = ""
[stages.actions]
kind = "build"
service = "actions"
job = "build.yml"
[stages.gitlab]
kind = "build"
service = "gitlab"
job = ""
"#;
    let commit = sha(0x1);
    env.commit("github", &commit, pipeline);
    let (status, reply) = env.hook("github", &env.push("github", "main", &commit));
    assert_eq!(status, 202, "{reply}");
    let run = env.run("shop-github-1");
    for stage in ["tekton", "plain", "actions", "gitlab"] {
        assert_eq!(run["stages"][stage]["status"], "running", "{stage}: {run}");
    }
    let pipeline_runs = env.tekton.runs();
    assert_eq!(pipeline_runs.len(), 1);
    let params: BTreeMap<String, String> = pipeline_runs[0]["spec"]["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["value"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(params.get("revision"), Some(&commit));
    let builds = env.builder.builds();
    assert_eq!(builds[0]["run"], "shop-github-1");
    assert_eq!(
        builds[0]["callback"]["url"],
        "http://slipway.test/callbacks/shop-github-1/plain"
    );
    let dispatches = env.git.dispatches();
    assert_eq!(dispatches.len(), 1);
    assert_eq!(dispatches[0].git_ref, "main");
    let triggers = env.git.pipeline_triggers();
    assert_eq!(triggers.len(), 1);
    assert_eq!(triggers[0].git_ref, "main");
    assert_eq!(triggers[0].variables["SLIPWAY_STAGE"], "gitlab");
    assert_eq!(triggers[0].variables["SLIPWAY_COMMIT"], commit);
}

#[test]
fn a_bitbucket_push_of_several_refs_starts_a_run_for_each() {
    use slipway_tests::fakes::webhooks_payloads::{PushCommit, bitbucket_push};
    let env = Env::start("");
    let (main_sha, release_sha) = (sha(0xb001), sha(0xb002));
    env.commit("bitbucket", &main_sha, PIPELINE);
    env.commit("bitbucket", &release_sha, PIPELINE);
    let push = |branch: &str, after: &str| {
        bitbucket_push(
            &Push::new(
                &repo("bitbucket"),
                &format!("refs/heads/{branch}"),
                ZERO_SHA,
                after,
            )
            .commit(PushCommit::new(after, "change").modified(&["src/main.rs"])),
        )
    };
    let mut body = push("main", &main_sha);
    let second = push("release/1.0", &release_sha)["push"]["changes"][0].clone();
    body["push"]["changes"]
        .as_array_mut()
        .expect("changes")
        .push(second);
    let hook = webhooks::bitbucket(HOOK_SECRET, "repo:push", body.to_string().as_bytes());
    let (status, reply) = env.hook("bitbucket", &hook);
    assert_eq!(status, 202, "{reply}");
    let runs: Vec<String> = reply["events"]
        .as_array()
        .expect("one answer per ref")
        .iter()
        .map(|e| e["run"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(runs, ["shop-bitbucket-1", "shop-bitbucket-2"], "{reply}");
    for (run, (git_ref, commit)) in runs.iter().zip([
        ("refs/heads/main", &main_sha),
        ("refs/heads/release/1.0", &release_sha),
    ]) {
        let record = env.run(run);
        assert_eq!(record["trigger"]["git_ref"], git_ref);
        assert_eq!(record["trigger"]["commit"], commit.as_str());
        assert_eq!(
            record["stages"]["unit-test"]["status"], "running",
            "{record}"
        );
    }
    // Delivered again: each ref change finds its run.
    let (status, again) = env.hook("bitbucket", &hook);
    assert_eq!(status, 200, "{again}");
    assert!(
        again["events"]
            .as_array()
            .is_some_and(|e| e.iter().all(|a| a["duplicate"] == true)),
        "{again}"
    );
}
