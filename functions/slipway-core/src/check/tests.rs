use super::*;

const CONFIG: &str = r#"public_url = "https://slipway.example.com"

[apps.shop]
provider = "github"
repo = "acme/shop"

[apps.tools]
provider = "github"
repo = "acme/tools"

[build_services.jenkins]
type = "jenkins"
url = "https://jenkins.example.com"
user = "slipway"
token_secret = "jenkins_token"

[environments.production]
platform = "kubernetes"
api_server = "https://10.0.0.1:6443"
namespace = "shop"
token_secret = "kubernetes_token"

[access.people.ana]
[access.people.bo]

[[access.grants]]
role = "approver"
to = ["ana"]
apps = ["shop"]

[access.environments.production]
apps = ["shop"]
"#;

fn config() -> ControlPlane {
    check_config("slipway.toml", CONFIG).expect("valid")
}

fn one(diagnostics: Vec<Diagnostic>) -> Diagnostic {
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    diagnostics.into_iter().next().unwrap()
}

#[test]
fn config_errors_point_at_their_key() {
    let cases = [
        // (replace, with, line, column, message contains)
        (
            "provider = \"github\"\nrepo = \"acme/shop\"",
            "provider = \"gitlub\"\nrepo = \"acme/shop\"",
            4,
            1,
            "unknown provider \"gitlub\"",
        ),
        (
            "public_url = \"https://",
            "public_url = \"ftp://",
            1,
            1,
            "public_url must start",
        ),
        (
            "[apps.tools]\nprovider",
            "[apps.tools]\ncolour = 1\nprovider",
            8,
            1,
            "unknown field `colour`",
        ),
        (
            "production]\napps = [\"shop\"]\n",
            "production]\napps = [\"shop\"]\napprovals = \"two\"\n",
            33,
            13,
            "invalid type",
        ),
    ];
    for (from, to, line, column, message) in cases {
        let text = CONFIG.replacen(from, to, 1);
        assert_ne!(text, CONFIG, "{from}");
        let d = check_config("slipway.toml", &text).unwrap_err();
        assert!(d.message.contains(message), "{d:?}");
        assert_eq!(
            (d.line, d.column),
            (Some(line), Some(column)),
            "{}",
            d.render()
        );
    }
}

#[test]
fn access_errors_point_into_the_access_table() {
    let text = CONFIG.replace(
        "[access.environments.production]",
        "[access.environments.staging]",
    );
    let d = check_config("slipway.toml", &text).unwrap_err();
    assert!(d.message.contains("unknown environment"), "{d:?}");
    assert_eq!((d.line, d.column), (Some(31), Some(22)), "{}", d.render());
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
fn a_valid_pipeline_has_nothing_to_say() {
    assert_eq!(
        check_pipeline("p.toml", PIPELINE, Some(&config()), Some("shop")),
        vec![]
    );
}

#[test]
fn pipeline_references_are_checked_against_the_configuration() {
    let c = config();
    let d = one(check_pipeline(
        "p.toml",
        &PIPELINE.replace("service = \"jenkins\"", "service = \"jenkin\""),
        Some(&c),
        Some("shop"),
    ));
    assert_eq!((d.line, d.column), (Some(3), Some(1)));
    assert!(
        d.message
            .contains("build service \"jenkin\" is not configured"),
        "{d:?}"
    );
    assert_eq!(
        d.hint.as_deref(),
        Some("configured build services: jenkins")
    );

    let d = one(check_pipeline(
        "p.toml",
        &PIPELINE.replace("environment = \"production\"", "environment = \"prod\""),
        Some(&c),
        Some("shop"),
    ));
    assert_eq!((d.line, d.column), (Some(12), Some(1)));
    assert!(
        d.message.contains("environment \"prod\" is not configured"),
        "{d:?}"
    );

    // The policy admits only shop to production; tools has no approver.
    let diagnostics = check_pipeline("p.toml", PIPELINE, Some(&c), Some("tools"));
    let rendered: Vec<String> = diagnostics.iter().map(Diagnostic::render).collect();
    assert_eq!(diagnostics.len(), 2, "{rendered:#?}");
    assert!(
        rendered[0].starts_with("p.toml:6:9: error: stage \"approve\": nobody can approve it"),
        "{rendered:#?}"
    );
    assert!(
        rendered[1].starts_with(
            "p.toml:12:1: error: stage \"prod\": app \"tools\" may not deploy to production"
        ),
        "{rendered:#?}"
    );
    assert!(
        rendered[1].contains("access.environments.production.apps"),
        "{rendered:#?}"
    );
}

#[test]
fn approvers_must_exist_and_be_able_to_approve() {
    let c = config();
    let named = PIPELINE.replace(
        "needs = [\"unit\"]",
        "needs = [\"unit\"]\napprovers = [\"bo\", \"zed\"]",
    );
    let d = one(check_pipeline("p.toml", &named, Some(&c), Some("shop")));
    assert_eq!((d.line, d.column), (Some(9), Some(1)));
    assert!(d.message.contains("approvers zed are not in"), "{d:?}");
    // bo exists but holds no approver role.
    let named = PIPELINE.replace(
        "needs = [\"unit\"]",
        "needs = [\"unit\"]\napprovers = [\"bo\"]",
    );
    let d = one(check_pipeline("p.toml", &named, Some(&c), Some("shop")));
    assert!(d.message.contains("nobody can approve it"), "{d:?}");
}

#[test]
fn pipeline_syntax_needs_and_cycles_say_where() {
    let d = one(check_pipeline(
        "p.toml",
        "[stages.a]\nkind = \"build\"\nservice = \"jenkins\"\njob = \"x\"\nneeds = [\"b\"]\n",
        None,
        None,
    ));
    assert!(d.message.contains("\"b\""), "{d:?}");
    let d = one(check_pipeline("p.toml", "[stages.a\nkind = 1", None, None));
    assert_eq!(d.line, Some(1), "{d:?}");
    let cycle = "[stages.a]\nkind = \"build\"\nservice = \"j\"\njob = \"x\"\nneeds = [\"b\"]\n[stages.b]\nkind = \"build\"\nservice = \"j\"\njob = \"x\"\nneeds = [\"a\"]\n";
    let d = one(check_pipeline("p.toml", cycle, None, None));
    assert!(d.message.contains("cycle"), "{d:?}");
}

#[test]
fn compose_files_are_checked_as_the_apps_stack() {
    let config = ControlPlane::parse(
        "public_url = \"https://s.example\"\n[apps.shop]\nprovider = \"github\"\nrepo = \"acme/shop\"\n\
         [apps.shop.compose]\npath = \"compose.yaml\"\nservice = \"web\"\n",
    )
    .expect("config");
    let ok = "services:\n  web: {}\n  db: {image: pg:16}\n";
    assert!(super::check_compose("compose.yaml", ok, Some(&config), None).is_empty());
    let bad = "services:\n  web:\n    build: .\n";
    let found = super::check_compose("compose.yaml", bad, Some(&config), Some("shop"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].line, Some(3));
    assert!(
        found[0]
            .message
            .starts_with("services.web.build: not supported"),
        "{found:?}"
    );
    let no_web = "services:\n  api: {}\n";
    let found = super::check_compose("compose.yaml", no_web, Some(&config), None);
    assert!(found[0].message.contains("no service \"web\""), "{found:?}");
}
