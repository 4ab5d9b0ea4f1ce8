//! `slipway manifest`: writes, or checks, what each component of
//! `spin.toml` may reach, from the control-plane configuration: its
//! `[component.<id>.variables]` and `allowed_outbound_hosts`, and the
//! application's `[variables]` declarations (every secret, `secret =
//! true`). Comments and everything else in the file are kept. Components
//! the configuration does not know (not Slipway's) are left alone.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use slipway_core::config::ControlPlane;
use slipway_core::least_privilege::{self, CALLBACK_SECRET, Needs};
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, Value, value};

/// What `slipway manifest` was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Rewrite the manifest.
    Write,
    /// Exit with an error if the manifest differs.
    Check,
}

/// Writes or checks `manifest` against the configuration at `config`
/// (default: `config/slipway.toml` beside the manifest).
pub fn run(manifest: &Path, config: Option<&Path>, mode: Mode) -> anyhow::Result<()> {
    let config_path = config
        .map(Path::to_path_buf)
        .unwrap_or_else(|| default_config(manifest));
    let config_text = std::fs::read_to_string(&config_path)
        .with_context(|| format!("cannot read {}", config_path.display()))?;
    let config = ControlPlane::parse(&config_text)?;
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let mut doc: DocumentMut = text
        .parse()
        .with_context(|| format!("{} is not TOML", manifest.display()))?;
    let before = doc.clone();
    apply(&mut doc, &config)?;
    match mode {
        Mode::Write => {
            if doc.to_string() != text {
                std::fs::write(manifest, doc.to_string())
                    .with_context(|| format!("cannot write {}", manifest.display()))?;
                println!(
                    "{}: updated from {}",
                    manifest.display(),
                    config_path.display()
                );
            }
            Ok(())
        }
        Mode::Check => {
            let differences: Vec<String> =
                compare(&before, &doc).into_iter().map(|d| d.text).collect();
            if differences.is_empty() {
                return Ok(());
            }
            bail!(
                "{} does not match {}:\n  {}\nrun `slipway manifest` to update it",
                manifest.display(),
                config_path.display(),
                differences.join("\n  ")
            )
        }
    }
}

/// `config/slipway.toml` beside the manifest.
pub fn default_config(manifest: &Path) -> PathBuf {
    manifest
        .parent()
        .unwrap_or(Path::new("."))
        .join("config/slipway.toml")
}

/// Sets every known component's variables and hosts, and the app's
/// variable declarations, to what `config` needs.
fn apply(doc: &mut DocumentMut, config: &ControlPlane) -> anyhow::Result<()> {
    let needs = least_privilege::needs(config)?;
    let mut declared: BTreeSet<String> = BTreeSet::new();
    let components = doc
        .get_mut("component")
        .and_then(Item::as_table_mut)
        .context("spin.toml has no [component.*] tables")?;
    for (id, need) in &needs {
        let Some(component) = components.get_mut(id).and_then(Item::as_table_mut) else {
            continue;
        };
        set_component(component, need);
        declared.extend(need.variables.iter().cloned());
    }
    declare(doc, &declared);
    Ok(())
}

fn set_component(component: &mut Table, need: &Needs) {
    if need.outbound.is_empty() {
        component.remove("allowed_outbound_hosts");
    } else {
        let mut hosts: Array = need.outbound.iter().map(String::as_str).collect();
        // One host per line: reviewable in a diff.
        for host in hosts.iter_mut() {
            host.decor_mut().set_prefix("\n    ");
        }
        hosts.set_trailing_comma(true);
        hosts.set_trailing("\n");
        component.insert("allowed_outbound_hosts", value(hosts));
    }
    if need.variables.is_empty() {
        component.remove("variables");
        return;
    }
    let mut variables = Table::new();
    for name in &need.variables {
        variables.insert(name, value(format!("{{{{ {name} }}}}")));
    }
    component.insert("variables", Item::Table(variables));
}

/// `[variables]`: every needed secret declared, nothing else.
fn declare(doc: &mut DocumentMut, needed: &BTreeSet<String>) {
    let table = doc
        .entry("variables")
        .or_insert_with(|| Item::Table(Table::new()));
    let Some(table) = table.as_table_mut() else {
        return;
    };
    let stale: Vec<String> = table
        .iter()
        .map(|(k, _)| k.to_owned())
        .filter(|k| !needed.contains(k))
        .collect();
    for name in stale {
        table.remove(&name);
    }
    for name in needed {
        if table.contains_key(name) {
            continue;
        }
        let mut decl = InlineTable::new();
        if name == CALLBACK_SECRET {
            decl.insert("required", Value::from(true));
        } else {
            decl.insert("default", Value::from(""));
        }
        decl.insert("secret", Value::from(true));
        table.insert(name, value(decl));
    }
}

/// One way the manifest differs from what the configuration needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The manifest key it is about (`["component", "deploy", "variables"]`).
    pub path: Vec<String>,
    /// What differs.
    pub text: String,
}

/// How `manifest_text` differs from what `config` needs (empty: nothing).
pub fn differences(manifest_text: &str, config: &ControlPlane) -> anyhow::Result<Vec<Difference>> {
    let before: DocumentMut = manifest_text.parse().context("the manifest is not TOML")?;
    let mut after = before.clone();
    apply(&mut after, config)?;
    Ok(compare(&before, &after))
}

/// What differs between two manifests in the parts this command owns.
fn compare(before: &DocumentMut, after: &DocumentMut) -> Vec<Difference> {
    let mut out = Vec::new();
    let names = |doc: &DocumentMut, path: &[&str]| -> BTreeSet<String> {
        let mut item = doc.as_item();
        for key in path {
            match item.get(key) {
                Some(next) => item = next,
                None => return BTreeSet::new(),
            }
        }
        match item {
            Item::Table(t) => t.iter().map(|(k, _)| k.to_owned()).collect(),
            Item::Value(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => BTreeSet::new(),
        }
    };
    let mut diff = |label: String, path: &[&str]| {
        let (was, want) = (names(before, path), names(after, path));
        let extra: Vec<_> = was.difference(&want).cloned().collect();
        let missing: Vec<_> = want.difference(&was).cloned().collect();
        let path: Vec<String> = path.iter().map(|p| p.to_string()).collect();
        if !extra.is_empty() {
            let text = format!("{label}: not needed: {}", extra.join(", "));
            out.push(Difference {
                path: path.clone(),
                text,
            });
        }
        if !missing.is_empty() {
            let text = format!("{label}: missing: {}", missing.join(", "));
            out.push(Difference { path, text });
        }
    };
    diff("[variables]".into(), &["variables"]);
    for (id, _) in least_privilege::COMPONENTS {
        diff(
            format!("[component.{id}.variables]"),
            &["component", id, "variables"],
        );
        diff(
            format!("[component.{id}] allowed_outbound_hosts"),
            &["component", id, "allowed_outbound_hosts"],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
spin_manifest_version = 2
[variables]
# kept comment
callback_secret = { required = true, secret = true }
stale = { default = "" }
[component.health]
source = "health.wasm"
[component.callbacks]
source = "callbacks.wasm" # why
allowed_outbound_hosts = ["https://*:443"]
[component.callbacks.variables]
stale = "{{ stale }}"
[component.other]
source = "other.wasm"
allowed_outbound_hosts = ["https://*:443"]
"#;

    const CONFIG: &str = r#"
public_url = "https://slipway.example.com"
[apps.shop]
provider = "github"
repo = "acme/shop"
[environments.production]
platform = "kubernetes"
api_server = "https://10.0.0.1:6443"
namespace = "shop"
token_secret = "kubernetes_token"
"#;

    #[test]
    fn components_get_exactly_what_the_configuration_needs() {
        let config = ControlPlane::parse(CONFIG).unwrap();
        let mut doc: DocumentMut = MANIFEST.parse().unwrap();
        let before = doc.clone();
        apply(&mut doc, &config).unwrap();
        let text = doc.to_string();
        assert!(text.contains("# kept comment"), "{text}");
        assert!(text.contains("# why"), "{text}");
        assert!(!text.contains("stale"), "{text}");
        let callbacks = &doc["component"]["callbacks"];
        let hosts: Vec<&str> = callbacks["allowed_outbound_hosts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert!(hosts.contains(&"https://10.0.0.1:6443"), "{hosts:?}");
        assert!(hosts.contains(&"https://api.github.com:443"), "{hosts:?}");
        assert!(!hosts.contains(&"https://*:443"));
        assert_eq!(
            callbacks["variables"]["kubernetes_token"].as_str(),
            Some("{{ kubernetes_token }}")
        );
        assert!(
            doc["variables"]["kubernetes_token"]["secret"]
                .as_bool()
                .unwrap()
        );
        assert!(doc["component"]["health"].get("variables").is_none());
        // Components that are not Slipway's are left alone.
        assert_eq!(
            doc["component"]["other"].to_string(),
            before["component"]["other"].to_string()
        );
        let differences = compare(&before, &doc);
        assert!(
            differences
                .iter()
                .any(|d| d.text.contains("not needed: stale")),
            "{differences:?}"
        );
        assert!(
            differences
                .iter()
                .any(|d| d.text.contains("missing:") && d.text.contains("kubernetes_token")),
            "{differences:?}"
        );
        let mut again = doc.clone();
        apply(&mut again, &config).unwrap();
        assert!(compare(&doc, &again).is_empty());
        assert_eq!(again.to_string(), doc.to_string());
    }
}
