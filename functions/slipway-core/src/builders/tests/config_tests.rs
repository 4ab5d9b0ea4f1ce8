use super::*;
use crate::builders::config::*;
use crate::builders::error::BuildError;

#[test]
fn jenkins_definition_parses() {
    let BuildServiceConfig::Jenkins(c) = jenkins() else {
        panic!("not jenkins")
    };
    assert_eq!(c.url, "https://jenkins.example.com");
    assert_eq!(c.user, "slipway");
    assert_eq!(c.token_secret, "jenkins_token");
    assert_eq!(jenkins().kind(), "jenkins");
    assert_eq!(jenkins().token_secret(), Some("jenkins_token"));
    assert_eq!(jenkins().status_token_secret(), Some("jenkins_token"));
    assert!(jenkins().validate().is_ok());
}

#[test]
fn github_defaults() {
    let BuildServiceConfig::GithubActions(c) = github() else {
        panic!("not github")
    };
    assert_eq!(c.api_base, "https://api.github.com");
    assert_eq!(c.repo, None);
    assert!(c.return_run_details);
    assert!(github().validate().is_ok());

    let custom = service(
        r#"
        type = "github_actions"
        api_base = "https://ghe.example.com/api/v3"
        repo = "ops/pipelines"
        token_secret = "t"
        return_run_details = false
        "#,
    );
    let BuildServiceConfig::GithubActions(c) = &custom else {
        panic!("not github")
    };
    assert_eq!(c.repo.as_deref(), Some("ops/pipelines"));
    assert!(!c.return_run_details);
    assert_eq!(custom.base_url(), "https://ghe.example.com/api/v3");
}

#[test]
fn gitlab_project_may_be_a_number_and_polling_uses_the_api_token() {
    let numeric = service(
        r#"
        type = "gitlab_ci"
        api_base = "https://gitlab.example.com/api/v4"
        project = 42
        token_secret = "trigger"
        "#,
    );
    let BuildServiceConfig::GitlabCi(c) = &numeric else {
        panic!("not gitlab")
    };
    assert_eq!(c.project, "42");
    assert_eq!(numeric.token_secret(), Some("trigger"));
    assert_eq!(numeric.status_token_secret(), None);
    assert_eq!(gitlab().status_token_secret(), Some("gitlab_api"));
}

#[test]
fn tekton_optional_fields() {
    let BuildServiceConfig::Tekton(c) = tekton() else {
        panic!("not tekton")
    };
    assert_eq!(c.service_account.as_deref(), Some("pipeline"));
    assert_eq!(c.workspace_storage.as_deref(), Some("1Gi"));
    assert_eq!(c.workspace_name, "source");
    let minimal = service(
        r#"
        type = "tekton"
        api_server = "https://k8s:6443"
        namespace = "ci"
        token_secret = "k"
        "#,
    );
    let BuildServiceConfig::Tekton(c) = minimal else {
        panic!("not tekton")
    };
    assert_eq!(c.service_account, None);
    assert_eq!(c.workspace_storage, None);
}

#[test]
fn http_secret_is_optional() {
    let plain = service(
        r#"
        type = "http"
        url = "https://builds.example.com"
        "#,
    );
    assert_eq!(plain.token_secret(), None);
    assert_eq!(http_service().token_secret(), Some("http_token"));
    assert!(plain.validate().is_ok());
}

#[test]
fn unknown_keys_and_types_are_rejected() {
    // A secret pasted under a wrong key must not be silently accepted.
    let pasted = toml::from_str::<BuildServiceConfig>(
        r#"
        type = "jenkins"
        url = "https://jenkins.example.com"
        user = "u"
        token = "actual-secret"
        "#,
    );
    assert!(pasted.is_err());
    let unknown = toml::from_str::<BuildServiceConfig>(
        r#"
        type = "circleci"
        url = "https://x"
        "#,
    );
    assert!(unknown.is_err());
}

#[test]
fn validate_reports_bad_values() {
    let bad_url = service(
        r#"
        type = "jenkins"
        url = "jenkins.example.com"
        user = "u"
        token_secret = "t"
        "#,
    );
    assert!(matches!(
        bad_url.validate(),
        Err(BuildError::Config {
            service: "jenkins",
            ..
        })
    ));
    let creds_in_url = service(
        r#"
        type = "http"
        url = "https://user:pw@builds.example.com"
        "#,
    );
    assert!(creds_in_url.validate().is_err());
    let bad_ns = service(
        r#"
        type = "tekton"
        api_server = "https://k8s:6443"
        namespace = "Not_Valid"
        token_secret = "k"
        "#,
    );
    assert!(bad_ns.validate().is_err());
    let bad_method = service(
        r#"
        type = "http"
        url = "https://x.example.com"
        method = "PO ST"
        "#,
    );
    assert!(bad_method.validate().is_err());
    let bad_repo = service(
        r#"
        type = "github_actions"
        repo = "just-a-name"
        token_secret = "t"
        "#,
    );
    assert!(bad_repo.validate().is_err());
}

#[test]
fn config_round_trips_through_serde() {
    for original in [jenkins(), github(), gitlab(), tekton(), http_service()] {
        let json = serde_json::to_value(&original).unwrap();
        assert_eq!(json["type"], original.kind());
        let back: BuildServiceConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, original);
    }
}
