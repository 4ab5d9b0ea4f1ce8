//! Running components' `[component.<id>.build]` commands.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use crate::manifest::Manifest;

/// Loads the manifest at `path` and builds every component.
pub fn run_from(path: &Path) -> anyhow::Result<()> {
    check_slipway_manifest(path)?;
    let manifest = Manifest::load(path)?;
    run(&manifest)
}

/// For a Slipway app (a `config/slipway.toml` beside the manifest at
/// `path`), checks that the manifest gives each component what the
/// configuration needs (`slipway manifest --check`), so a build fails
/// when they disagree.
pub fn check_slipway_manifest(path: &Path) -> anyhow::Result<()> {
    let config = crate::manifest_sync::default_config(path);
    if !config.exists() {
        return Ok(());
    }
    crate::manifest_sync::run(path, Some(&config), crate::manifest_sync::Mode::Check)
}

/// Builds every component that has a build command, in id order.
pub fn run(manifest: &Manifest) -> anyhow::Result<()> {
    for component in manifest.components.values() {
        let Some(build) = &component.build else {
            println!("{}: no build command, skipping", component.id);
            continue;
        };
        for command in &build.commands {
            println!("Building component {} with `{command}`", component.id);
            let status = Command::new("sh")
                .arg("-c")
                .arg(command)
                .current_dir(&build.workdir)
                .status()
                .with_context(|| format!("cannot run build command for {}", component.id))?;
            if !status.success() {
                bail!(
                    "build command for component {:?} failed ({status})",
                    component.id
                );
            }
        }
    }
    println!("Finished building all Spin components");
    Ok(())
}
