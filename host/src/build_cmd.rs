//! Running components' `[component.<id>.build]` commands.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use crate::manifest::Manifest;

/// Loads the manifest at `path` and builds every component.
pub fn run_from(path: &Path) -> anyhow::Result<()> {
    let manifest = Manifest::load(path)?;
    run(&manifest)
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
