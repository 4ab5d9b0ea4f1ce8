//! `slipway check`: validates the app's `spin.toml`, the control-plane
//! configuration it packages, pipeline files and Compose files, offline, before a push
//! or a deploy finds the mistake. Every problem is printed as
//! `file:line:column: error: …` with a hint where one helps (or as JSON
//! with `--format json`); the exit status is 1 when there is any.

use std::path::Path;

use serde_json::json;
use slipway_core::check::{self, Diagnostic, locate::Locator};
use slipway_core::config::ControlPlane;

use crate::cli::{CheckArgs, CheckFormat};
use crate::manifest::{Manifest, ManifestError};
use crate::manifest_sync;

/// Runs the checks; `Ok(false)` when any failed (already printed).
pub fn run(args: &CheckArgs) -> anyhow::Result<bool> {
    let mut checked = Vec::new();
    let mut found = Vec::new();
    let manifest_text = read(&args.from, &mut found);
    if let Some(text) = &manifest_text {
        checked.push(shown(&args.from));
        if let Err(ManifestError::Invalid {
            line,
            column,
            message,
            ..
        }) = Manifest::parse(&args.from, text)
        {
            found.push(Diagnostic::new(
                &shown(&args.from),
                Some((line, column)),
                message,
            ));
        }
    }
    let config_path = args
        .config
        .clone()
        .unwrap_or_else(|| manifest_sync::default_config(&args.from));
    let config = read(&config_path, &mut found).and_then(|text| {
        checked.push(shown(&config_path));
        check::check_config(&shown(&config_path), &text)
            .map_err(|d| found.push(d))
            .ok()
    });
    if let (Some(config), Some(text)) = (&config, &manifest_text) {
        found.extend(manifest_problems(&args.from, text, config));
    }
    for pipeline in &args.pipelines {
        if let Some(text) = read(pipeline, &mut found) {
            checked.push(shown(pipeline));
            found.extend(check::check_pipeline(
                &shown(pipeline),
                &text,
                config.as_ref(),
                args.app.as_deref(),
            ));
        }
    }
    for compose in &args.compose {
        if let Some(text) = read(compose, &mut found) {
            checked.push(shown(compose));
            found.extend(check::check_compose(
                &shown(compose),
                &text,
                config.as_ref(),
                args.app.as_deref(),
            ));
        }
    }
    print(args.format, &checked, &found);
    Ok(found.is_empty())
}

/// The file's text, or a diagnostic saying why it cannot be read.
fn read(path: &Path, found: &mut Vec<Diagnostic>) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) => {
            found.push(Diagnostic::new(
                &shown(path),
                None,
                format!("cannot read it: {e}"),
            ));
            None
        }
    }
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// Where `spin.toml` does not give a component what the configuration
/// needs (a secret it reads, a host it calls).
fn manifest_problems(path: &Path, text: &str, config: &ControlPlane) -> Vec<Diagnostic> {
    let at = Locator::new(text);
    match manifest_sync::differences(text, config) {
        Ok(differences) => differences
            .into_iter()
            .map(|d| {
                Diagnostic::new(&shown(path), at.key(&d.path), d.text)
                    .hint("run `slipway manifest` to write what the configuration needs")
            })
            .collect(),
        Err(e) => vec![Diagnostic::new(&shown(path), None, format!("{e:#}"))],
    }
}

fn print(format: CheckFormat, checked: &[String], found: &[Diagnostic]) {
    match format {
        CheckFormat::Text => {
            for d in found {
                println!("{}", d.render());
            }
            if found.is_empty() {
                println!("ok: {}", checked.join(", "));
            } else {
                println!(
                    "{} error{}",
                    found.len(),
                    if found.len() == 1 { "" } else { "s" }
                );
            }
        }
        CheckFormat::Json => {
            let out = json!({ "ok": found.is_empty(), "checked": checked, "diagnostics": found });
            println!("{out}");
        }
    }
}
