//! What a valid pipeline file may still get wrong about the configuration
//! it runs under: a build service or environment that is not configured,
//! a deploy the environment's policy refuses for the app, an approval
//! nobody may give.

use super::Diagnostic;
use super::locate::Locator;
use crate::access::Role;
use crate::config::ControlPlane;
use crate::pipeline::{Pipeline, Stage, StageKind};

/// The problems of `pipeline` (parsed from `text`, the file `file`) under
/// `config`, for `app` (needed for policy and approver checks; without
/// it, the configuration's only app, if it has one).
pub fn check_pipeline_against(
    file: &str,
    text: &str,
    pipeline: &Pipeline,
    config: &ControlPlane,
    app: Option<&str>,
) -> Vec<Diagnostic> {
    let at = Locator::new(text);
    let only_app = (config.apps.len() == 1)
        .then(|| config.apps.keys().next().map(String::as_str))
        .flatten();
    let app = app.or(only_app);
    let mut out = Vec::new();
    for stage in &pipeline.stages {
        let place = |key: &str| at.key(&path(&stage.name, key));
        let problem = |key: &str, message: String| Diagnostic::new(file, place(key), message);
        match &stage.kind {
            StageKind::Build { service, .. } => {
                if !config.build_services.contains_key(service) {
                    out.push(
                        problem(
                            "service",
                            format!(
                                "stage {:?}: build service {service:?} is not configured",
                                stage.name
                            ),
                        )
                        .hint(names(
                            "configured build services",
                            config.build_services.keys(),
                        )),
                    );
                }
            }
            StageKind::Deploy {
                app: own,
                environment,
                ..
            } => {
                let app = own.as_deref().or(app);
                out.extend(
                    deploy_problems(config, stage, environment, app).map(|(m, h)| {
                        let d = problem("environment", m);
                        match h {
                            Some(h) => d.hint(h),
                            None => d,
                        }
                    }),
                );
            }
            StageKind::Approval {
                approvers,
                environment,
                ..
            } => {
                let environment = environment
                    .clone()
                    .or_else(|| gated_environment(pipeline, stage));
                for (message, hint) in
                    approval_problems(config, stage, approvers, environment.as_deref(), app)
                {
                    out.push(problem("approvers", message).hint(hint));
                }
            }
        }
    }
    out
}

fn path(stage: &str, key: &str) -> Vec<String> {
    vec!["stages".into(), stage.into(), key.into()]
}

fn names<'a>(what: &str, names: impl Iterator<Item = &'a String>) -> String {
    let list: Vec<&str> = names.map(String::as_str).collect();
    if list.is_empty() {
        format!("{what}: none")
    } else {
        format!("{what}: {}", list.join(", "))
    }
}

/// Why a deploy of `app` to `environment` cannot happen, with a hint.
fn deploy_problems(
    config: &ControlPlane,
    stage: &Stage,
    environment: &str,
    app: Option<&str>,
) -> Option<(String, Option<String>)> {
    if !config.environments.contains_key(environment) {
        return Some((
            format!(
                "stage {:?}: environment {environment:?} is not configured",
                stage.name
            ),
            Some(names("configured environments", config.environments.keys())),
        ));
    }
    let app = app?;
    let refused = config
        .access
        .policy(environment)
        .admits_app(environment, app)
        .err()?;
    Some((
        format!("stage {:?}: {}", stage.name, refused.message),
        Some(format!(
            "the configuration's {} decides which apps may deploy there",
            refused.rule
        )),
    ))
}

/// The environment of the deploy stages that need approval stage `gate`.
fn gated_environment(pipeline: &Pipeline, gate: &Stage) -> Option<String> {
    pipeline.stages.iter().find_map(|s| match &s.kind {
        StageKind::Deploy { environment, .. } if s.needs.contains(&gate.name) => {
            Some(environment.clone())
        }
        _ => None,
    })
}

/// Approvers nobody can be: unknown names, or nobody with the approver
/// role for `app` in `environment`.
fn approval_problems(
    config: &ControlPlane,
    stage: &Stage,
    approvers: &[String],
    environment: Option<&str>,
    app: Option<&str>,
) -> Vec<(String, String)> {
    let access = &config.access;
    let unknown: Vec<&String> = approvers.iter().filter(|a| !access.knows(a)).collect();
    if !unknown.is_empty() {
        let list: Vec<&str> = unknown.iter().map(|s| s.as_str()).collect();
        return vec![(
            format!(
                "stage {:?}: approvers {} are not in [access.people] or [access.groups]",
                stage.name,
                list.join(", ")
            ),
            "name people of [access.people], or groups as group:<name>".into(),
        )];
    }
    let Some(app) = app else { return Vec::new() };
    let can_approve = access.people.keys().any(|person| {
        access.allows(person, Role::Approver, app, environment)
            && (approvers.is_empty() || approvers.iter().any(|a| access.is(person, a)))
    });
    if can_approve {
        return Vec::new();
    }
    let scope = environment.map(|e| format!(" in {e}")).unwrap_or_default();
    vec![(
        format!(
            "stage {:?}: nobody can approve it: no person it names holds the approver role for {app}{scope}",
            stage.name
        ),
        "grant the approver role in [[access.grants]] (the pipeline can only narrow who approves)"
            .into(),
    )]
}
