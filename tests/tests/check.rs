//! `slipway check` on the real binary: the repository's own files pass;
//! each broken manifest, configuration or pipeline fails with its message
//! at its `file:line:column`, in text and in JSON.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;
use slipway_tests::{host_binary, workspace_root};

/// A copy of the app's `spin.toml` and `config/slipway.toml` to break.
struct App {
    dir: PathBuf,
}

impl App {
    fn copy() -> App {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "slipway-check-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(dir.join("config")).unwrap();
        let root = workspace_root();
        std::fs::copy(root.join("spin.toml"), dir.join("spin.toml")).unwrap();
        std::fs::copy(
            root.join("config/slipway.toml"),
            dir.join("config/slipway.toml"),
        )
        .unwrap();
        App { dir }
    }

    /// Replaces the first `from` in `file` by `to`.
    fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.dir.join(file), text).unwrap();
    }

    /// Runs `slipway check` in the app's directory: exit code and stdout.
    fn check(&self, args: &[&str]) -> (i32, String) {
        let out = Command::new(host_binary())
            .arg("check")
            .args(args)
            .current_dir(&self.dir)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn line_of(dir: &Path, file: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn the_repositorys_own_app_passes() {
    let app = App::copy();
    let (code, out) = app.check(&[]);
    assert_eq!(
        (code, out.as_str()),
        (0, "ok: spin.toml, config/slipway.toml\n")
    );
}

#[test]
fn broken_configurations_fail_at_their_key() {
    let cases: &[(&str, &str, &str, &str)] = &[
        // (find, replace with, the line it ends up on, message)
        (
            "provider = \"github\"\nrepo = \"acme/shop\"",
            "provider = \"gitlub\"\nrepo = \"acme/shop\"",
            "provider = \"gitlub\"",
            "unknown provider \"gitlub\"",
        ),
        (
            "namespace = \"ci\"",
            "namespace = \"ci\"\nnamepsace = \"x\"",
            "namepsace",
            "unknown field `namepsace`",
        ),
    ];
    for (from, to, at, message) in cases {
        let app = App::copy();
        app.edit("config/slipway.toml", from, to);
        let line = line_of(&app.dir, "config/slipway.toml", at);
        let (code, out) = app.check(&[]);
        assert_eq!(code, 1, "{out}");
        let expected = format!("config/slipway.toml:{line}:1: error: ");
        assert!(out.starts_with(&expected), "{expected} …\n{out}");
        assert!(out.contains(message), "{out}");
    }
}

#[test]
fn a_manifest_missing_a_secret_or_a_host_the_configuration_needs_fails() {
    let app = App::copy();
    // The first component reading the cluster token no longer gets it…
    app.edit(
        "spin.toml",
        "kubernetes_token = \"{{ kubernetes_token }}\"\n",
        "",
    );
    // …and a new environment's API server is not an allowed host.
    app.edit(
        "config/slipway.toml",
        "[environments.swarm]",
        "[environments.staging]\nplatform = \"kubernetes\"\napi_server = \"https://staging.example.com:6443\"\nnamespace = \"shop\"\ntoken_secret = \"kubernetes_token\"\n\n[environments.swarm]",
    );
    let (code, out) = app.check(&["--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ok"], false);
    let messages: Vec<String> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| format!("{}:{}: {}", d["file"], d["line"], d["message"]))
        .collect();
    let variables = line_of(&app.dir, "spin.toml", "[component.git-hooks.variables]");
    assert!(
        messages.iter().any(|m| m.contains(&format!(
            "\"spin.toml\":{variables}: \"[component.git-hooks.variables]: missing: kubernetes_token\""
        ))),
        "{messages:#?}"
    );
    assert!(
        messages.iter().any(
            |m| m.contains("allowed_outbound_hosts: missing: https://staging.example.com:6443")
        ),
        "{messages:#?}"
    );
    assert!(
        report["diagnostics"][0]["hint"]
            .as_str()
            .unwrap()
            .contains("slipway manifest")
    );
}

const PIPELINE: &str = r#"[stages.unit]
kind = "build"
service = "jenkins"
job = "shop/unit"

[stages.approve]
kind = "approval"
needs = ["unit"]

[stages.prod]
kind = "deploy"
environment = "production"
needs = ["approve"]
"#;

#[test]
fn pipelines_are_checked_against_the_configuration() {
    let app = App::copy();
    app.write("good.toml", PIPELINE);
    let (code, out) = app.check(&["--pipeline", "good.toml", "--app", "shop"]);
    assert_eq!(code, 0, "{out}");
    let cases: &[(&str, &str, &str)] = &[
        (
            "service = \"jenkins\"",
            "service = \"jenkinz\"",
            "bad.toml:3:1: error: stage \"unit\": build service \"jenkinz\" is not configured\n  hint: configured build services: actions, builder, gitlab, jenkins, tekton",
        ),
        (
            "environment = \"production\"",
            "environment = \"prod\"",
            "bad.toml:12:1: error: stage \"prod\": environment \"prod\" is not configured",
        ),
        (
            "needs = [\"unit\"]",
            "needs = [\"unit\"]\napprovers = [\"nobody\"]",
            "bad.toml:9:1: error: stage \"approve\": approvers nobody are not in [access.people] or [access.groups]",
        ),
        (
            "needs = [\"approve\"]",
            "needs = [\"approve\", \"later\"]",
            "bad.toml:13:1: error: stage \"prod\" needs unknown stage \"later\"",
        ),
    ];
    for (from, to, expected) in cases {
        app.write("bad.toml", &PIPELINE.replacen(from, to, 1));
        let (code, out) = app.check(&["--pipeline", "bad.toml", "--app", "shop"]);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.starts_with(expected),
            "expected {expected:?}\n got {out}"
        );
        assert!(out.ends_with("1 error\n"), "{out}");
    }
}
