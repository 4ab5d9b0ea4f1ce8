//! A merge request from a fork reaches every build service with the fork
//! as its source: `SLIPWAY_SOURCE_REPO` / `SLIPWAY_SOURCE_REF` and their
//! equivalents, and the fork's clone URL where a clone URL is passed.

use super::*;
use crate::builders::trigger::trigger_request;

const FORK_URL: &str = "https://github.com/alice/app.git";

/// The job of a run for pull request 7 from `alice/app`'s `patch-1`.
fn fork_job<'a>(
    service: &'a BuildServiceConfig,
    job_name: &'a str,
    params: &'a BTreeMap<String, String>,
) -> BuildJob<'a> {
    BuildJob {
        clone_url: None,
        git_ref: "refs/pull/7/head",
        source_repo: "alice/app",
        source_clone_url: Some(FORK_URL),
        source_ref: "refs/heads/patch-1",
        target_branch: Some("main"),
        ..job(service, job_name, params)
    }
}

fn form_of(request: &HttpRequest) -> BTreeMap<String, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(&request.body)
        .unwrap()
        .into_iter()
        .collect()
}

#[test]
fn jenkins_gets_the_forks_repository_and_branch() {
    let svc = jenkins();
    let p = params(&[]);
    let request = trigger_request(&fork_job(&svc, "app", &p), Some(SECRET)).unwrap();
    let form = form_of(&request);
    assert_eq!(form["SLIPWAY_REPO"], "acme/app");
    assert_eq!(form["SLIPWAY_REF"], "refs/pull/7/head");
    assert_eq!(form["SLIPWAY_SOURCE_REPO"], "alice/app");
    assert_eq!(form["SLIPWAY_SOURCE_REF"], "refs/heads/patch-1");
}

#[test]
fn gitlab_ci_starts_on_the_target_branch_with_the_fork_in_its_variables() {
    let svc = gitlab();
    let p = params(&[]);
    let request = trigger_request(&fork_job(&svc, "", &p), Some(SECRET)).unwrap();
    let body = json_of(&request);
    assert_eq!(
        body["ref"], "main",
        "the fork's branch is not in the project"
    );
    assert_eq!(body["variables"]["SLIPWAY_SOURCE_REPO"], "alice/app");
    assert_eq!(
        body["variables"]["SLIPWAY_SOURCE_REF"],
        "refs/heads/patch-1"
    );
}

#[test]
fn github_actions_runs_the_target_branchs_workflow_for_the_forks_commit() {
    let svc = github();
    let p = params(&[]);
    let request = trigger_request(&fork_job(&svc, "build.yml", &p), Some(SECRET)).unwrap();
    let body = json_of(&request);
    assert_eq!(body["ref"], "main");
    let identity: serde_json::Value =
        serde_json::from_str(body["inputs"]["slipway"].as_str().unwrap()).unwrap();
    assert_eq!(identity["ref"], "refs/pull/7/head");
    assert_eq!(identity["source_repo"], "alice/app");
    assert_eq!(identity["source_ref"], "refs/heads/patch-1");
}

#[test]
fn tekton_clones_the_fork() {
    let svc = tekton();
    let p = params(&[]);
    let request = trigger_request(&fork_job(&svc, "build", &p), Some(SECRET)).unwrap();
    let body = json_of(&request);
    let params: BTreeMap<&str, &str> = body["spec"]["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["value"].as_str().unwrap()))
        .collect();
    assert_eq!(params["repo-url"], FORK_URL);
    assert_eq!(params["git-ref"], "refs/pull/7/head");
    assert_eq!(params["slipway-repo"], "acme/app");
    assert_eq!(params["slipway-source-repo"], "alice/app");
    assert_eq!(params["slipway-source-ref"], "refs/heads/patch-1");
}

#[test]
fn tekton_refuses_stage_params_that_shadow_the_source_params() {
    let svc = tekton();
    let p = params(&[("slipway-source-repo", "evil/app")]);
    assert!(trigger_request(&fork_job(&svc, "build", &p), Some(SECRET)).is_err());
}

#[test]
fn the_http_body_names_the_fork() {
    let svc = http_service();
    let p = params(&[]);
    let request = trigger_request(&fork_job(&svc, "", &p), Some(SECRET)).unwrap();
    let body = json_of(&request);
    assert_eq!(body["repo"], "acme/app");
    assert_eq!(body["clone_url"], serde_json::Value::Null);
    assert_eq!(body["source_repo"], "alice/app");
    assert_eq!(body["source_ref"], "refs/heads/patch-1");
    assert_eq!(body["source_clone_url"], FORK_URL);
}

#[test]
fn a_same_repository_change_starts_on_its_own_ref() {
    let svc = gitlab();
    let p = params(&[]);
    let same = BuildJob {
        target_branch: Some("main"),
        git_ref: "refs/heads/feature",
        source_ref: "refs/heads/feature",
        ..job(&svc, "", &p)
    };
    assert!(!same.from_fork());
    assert_eq!(same.definition_ref(), "refs/heads/feature");
}
