//! Spin's `files`: directories mapped into a component (read-only), and
//! glob patterns whose matches are staged and mounted at `/`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::manifest::FileMount;

/// A host directory the guest sees at `guest`.
#[derive(Debug, Clone)]
pub struct Mount {
    /// Directory on the host.
    pub host: PathBuf,
    /// Path in the guest.
    pub guest: String,
}

/// Resolves a component's `files` into mounts. Pattern matches are copied
/// into `staging` (replaced on every start) so the guest sees exactly them.
pub fn prepare(
    component: &str,
    files: &[FileMount],
    manifest_dir: &Path,
    staging: &Path,
) -> anyhow::Result<Vec<Mount>> {
    let mut mounts = Vec::new();
    let mut patterns = Vec::new();
    for file in files {
        match file {
            FileMount::Directory {
                source,
                destination,
            } => {
                let host = manifest_dir.join(source);
                if !host.is_dir() {
                    bail!(
                        "component {component:?}: files source {} is not a directory",
                        host.display()
                    );
                }
                if !destination.starts_with('/') {
                    bail!(
                        "component {component:?}: files destination {destination:?} must be absolute"
                    );
                }
                mounts.push(Mount {
                    host,
                    guest: destination.clone(),
                });
            }
            FileMount::Pattern(pattern) => patterns.push(pattern.clone()),
        }
    }
    if !patterns.is_empty() {
        let _ = std::fs::remove_dir_all(staging);
        std::fs::create_dir_all(staging)
            .with_context(|| format!("cannot create {}", staging.display()))?;
        for pattern in &patterns {
            let full = manifest_dir.join(pattern);
            let full = full.to_string_lossy();
            let matches = glob::glob(&full).with_context(|| {
                format!("component {component:?}: bad files pattern {pattern:?}")
            })?;
            for entry in matches {
                let path = entry?;
                if !path.is_file() {
                    continue;
                }
                let relative = path.strip_prefix(manifest_dir).unwrap_or(&path);
                let target = staging.join(relative);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::copy(&path, &target)
                    .with_context(|| format!("cannot stage {}", path.display()))?;
            }
        }
        mounts.push(Mount {
            host: staging.to_path_buf(),
            guest: "/".into(),
        });
    }
    Ok(mounts)
}
