use super::*;

const FULL: &str = r#"
[triggers]
branches = ["main", "release/*"]
tags = ["v*"]
paths = ["src/**", "Dockerfile"]
ignore_paths = ["docs/**"]
merge_requests = true

[stages.unit-test]
kind = "build"
service = "jenkins"
job = "shop/unit-test"
params = { SUITE = "unit", SHARDS = 4 }
timeout = "20m"
retries = 2

[stages.lint]
kind = "build"
service = "jenkins"
job = "shop/lint"

[stages.image]
kind = "build"
service = "actions"
job = "image.yml"
needs = ["unit-test", "lint"]

[stages.deploy-test]
kind = "deploy"
environment = "test"
needs = ["image"]

[stages.approve]
kind = "approval"
approvers = ["alice"]
needs = ["deploy-test"]

[stages.production]
kind = "deploy"
environment = "production"
strategy = "canary"
steps = [10, 25, 50, 100]
hold = "5m"
needs = ["approve"]
"#;

#[test]
fn parses_the_documented_example() {
    let p = Pipeline::parse(FULL).unwrap();
    let names: Vec<&str> = p.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "unit-test",
            "lint",
            "image",
            "deploy-test",
            "approve",
            "production"
        ]
    );
    let unit = p.stage("unit-test").unwrap();
    assert_eq!(unit.timeout_ms, 20 * 60 * 1000);
    assert_eq!(unit.retries, 2);
    let StageKind::Build { params, .. } = &unit.kind else {
        panic!()
    };
    assert_eq!(params["SHARDS"], "4");
    assert_eq!(p.stage("lint").unwrap().timeout_ms, DEFAULT_TIMEOUT_MS);
    let StageKind::Deploy {
        strategy,
        steps,
        hold_ms,
        ..
    } = &p.stage("production").unwrap().kind
    else {
        panic!()
    };
    assert_eq!(
        (strategy.as_str(), steps.as_slice(), *hold_ms),
        ("canary", &[10, 25, 50, 100][..], Some(300_000))
    );
}

#[test]
fn ready_stages_follow_needs() {
    let p = Pipeline::parse(FULL).unwrap();
    let first: Vec<&str> = p.ready_stages(&[], &[]).map(|s| s.name.as_str()).collect();
    assert_eq!(first, ["unit-test", "lint"]);
    let after_one: Vec<&str> = p
        .ready_stages(&["unit-test"], &["unit-test", "lint"])
        .map(|s| s.name.as_str())
        .collect();
    assert!(after_one.is_empty(), "image waits for lint too");
    let joined: Vec<&str> = p
        .ready_stages(&["unit-test", "lint"], &["unit-test", "lint"])
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(joined, ["image"]);
    assert_eq!(
        p.dependents_of("lint"),
        ["image", "deploy-test", "approve", "production"]
    );
}

#[test]
fn syntax_errors_have_line_and_column() {
    let err = Pipeline::parse("[stages.a]\nkind = \"build\nservice = \"x\"\n").unwrap_err();
    assert_eq!(err.line, Some(2), "{err}");
    assert!(err.to_string().starts_with("line 2, column"), "{err}");
}

#[test]
fn unknown_fields_and_kinds_are_errors() {
    let err =
        Pipeline::parse("[stages.a]\nkind = \"build\"\nservice = \"s\"\njob = \"j\"\nretry = 1\n")
            .unwrap_err();
    assert!(err.to_string().contains("retry"), "{err}");
    let err = Pipeline::parse("\n[stages.a]\nkind = \"test\"\n").unwrap_err();
    assert_eq!(err.line, Some(2));
    assert!(err.to_string().contains("unknown kind \"test\""), "{err}");
    let err = Pipeline::parse("[stages.a]\nkind = \"build\"\nservice = \"s\"\n").unwrap_err();
    assert!(err.to_string().contains("needs `job`"), "{err}");
}

#[test]
fn unknown_needs_and_cycles_are_errors() {
    let stage = |name: &str, needs: &str| {
        format!("[stages.{name}]\nkind = \"approval\"\napprovers = [\"a\"]\nneeds = [{needs}]\n")
    };
    let err = Pipeline::parse(&stage("a", "\"ghost\"")).unwrap_err();
    assert!(
        err.to_string().contains("needs unknown stage \"ghost\""),
        "{err}"
    );
    let text = [
        stage("a", "\"c\""),
        stage("b", "\"a\""),
        stage("c", "\"b\""),
    ]
    .concat();
    let err = Pipeline::parse(&text).unwrap_err();
    assert!(err.to_string().contains("cycle"), "{err}");
    assert!(err.to_string().contains("a -> c -> b -> a"), "{err}");
    let err = Pipeline::parse(&stage("a", "\"a\"")).unwrap_err();
    assert!(err.to_string().contains("needs itself"), "{err}");
}

#[test]
fn bad_values_are_errors() {
    let base = "[stages.d]\nkind = \"deploy\"\nenvironment = \"e\"\n";
    assert!(Pipeline::parse(&format!("{base}strategy = \"yolo\"\n")).is_err());
    assert!(Pipeline::parse(&format!("{base}strategy = \"canary\"\nsteps = [50, 10]\n")).is_err());
    assert!(Pipeline::parse(&format!("{base}timeout = \"soon\"\n")).is_err());
    assert!(Pipeline::parse(&format!("{base}retries = 11\n")).is_err());
    assert!(Pipeline::parse("[stages.Bad]\nkind = \"approval\"\napprovers = [\"a\"]\n").is_err());
    assert!(Pipeline::parse("").is_err());
}

#[test]
fn triggers_filter_branches_tags_paths_and_merge_requests() {
    let t = Pipeline::parse(FULL).unwrap().triggers;
    let src = vec!["src/main.rs".to_owned()];
    let docs = vec!["docs/readme.md".to_owned()];
    let branch = |name, paths: &'static [String]| Event::Branch {
        name,
        paths,
        paths_complete: true,
    };
    let src: &'static [String] = Box::leak(src.into_boxed_slice());
    let docs: &'static [String] = Box::leak(docs.into_boxed_slice());
    assert_eq!(t.check(&branch("main", src)), Ok(()));
    assert_eq!(t.check(&branch("release/1.0", src)), Ok(()));
    assert_eq!(
        t.check(&branch("feature/x", src)),
        Err(SkipReason::Branch("feature/x".into()))
    );
    assert_eq!(t.check(&branch("main", docs)), Err(SkipReason::Paths));
    let truncated = Event::Branch {
        name: "main",
        paths: docs,
        paths_complete: false,
    };
    assert_eq!(t.check(&truncated), Ok(()));
    assert_eq!(t.check(&Event::Tag { name: "v1.0" }), Ok(()));
    assert_eq!(
        t.check(&Event::Tag { name: "nightly" }),
        Err(SkipReason::Tag("nightly".into()))
    );
    assert_eq!(
        t.check(&Event::MergeRequest {
            target_branch: "main"
        }),
        Ok(())
    );
    let defaults = Triggers::default();
    assert_eq!(defaults.check(&branch("any/branch", src)), Ok(()));
    assert!(defaults.check(&Event::Tag { name: "v1" }).is_err());
    assert_eq!(
        defaults.check(&Event::MergeRequest {
            target_branch: "main"
        }),
        Err(SkipReason::MergeRequests)
    );
}
