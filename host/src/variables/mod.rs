//! Application variables: declarations from `[variables]`, values from the
//! providers in Spin's order, component templates, and `spin:variables`.

pub mod host;

use std::collections::BTreeMap;

use crate::manifest::Manifest;

/// Why variables could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum VariableError {
    /// Required variables have no value from any provider.
    #[error(
        "required variable(s) not set: {}; set them with SPIN_VARIABLE_<NAME>, --variable name=value or a variables_provider",
        .0.join(", ")
    )]
    MissingRequired(Vec<String>),
    /// A template is malformed or names an undeclared variable.
    #[error("component {component:?}: variable {name:?}: {reason}")]
    BadTemplate {
        component: String,
        name: String,
        reason: String,
    },
}

/// Where values come from, highest priority first (after `--variable`).
#[derive(Debug, Clone)]
pub enum Provider {
    /// Fixed values (`type = "static"` in runtime config, or `--variable`).
    Static(BTreeMap<String, String>),
    /// Environment variables `<PREFIX>_<NAME>` (`type = "env"`).
    Env {
        /// The prefix, `SPIN_VARIABLE` by default.
        prefix: String,
    },
}

impl Provider {
    fn get(&self, name: &str) -> Option<String> {
        match self {
            Provider::Static(values) => values.get(name).cloned(),
            Provider::Env { prefix } => {
                std::env::var(format!("{prefix}_{}", name.to_ascii_uppercase())).ok()
            }
        }
    }
}

/// The resolved value of every application variable.
#[derive(Debug, Clone, Default)]
pub struct ResolvedVariables {
    values: BTreeMap<String, String>,
}

impl ResolvedVariables {
    /// Resolves every declared variable through `providers` (in order), then
    /// the `SPIN_VARIABLE_` environment, then the default.
    pub fn resolve(manifest: &Manifest, providers: &[Provider]) -> Result<Self, VariableError> {
        let env = Provider::Env {
            prefix: "SPIN_VARIABLE".into(),
        };
        let mut values = BTreeMap::new();
        let mut missing = Vec::new();
        for (name, decl) in &manifest.variables {
            let value = providers
                .iter()
                .chain(std::iter::once(&env))
                .find_map(|p| p.get(name))
                .or_else(|| decl.default.clone());
            match value {
                Some(v) => {
                    values.insert(name.clone(), v);
                }
                None => missing.push(name.clone()),
            }
        }
        if !missing.is_empty() {
            return Err(VariableError::MissingRequired(missing));
        }
        Ok(ResolvedVariables { values })
    }

    /// Renders a template such as `https://{{ host }}:6443`.
    pub fn render(&self, template: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or("unclosed `{{`")?;
            let name = after[..end].trim();
            let value = self
                .values
                .get(name)
                .ok_or_else(|| format!("no application variable named {name:?}"))?;
            out.push_str(value);
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Renders every variable of `component` (name to value).
    pub fn component_values(
        &self,
        component: &crate::manifest::Component,
    ) -> Result<BTreeMap<String, String>, VariableError> {
        component
            .variables
            .iter()
            .map(|(name, template)| {
                self.render(template)
                    .map(|v| (name.clone(), v))
                    .map_err(|reason| VariableError::BadTemplate {
                        component: component.id.clone(),
                        name: name.clone(),
                        reason,
                    })
            })
            .collect()
    }
}

/// The variable names a template refers to; an error for bad syntax.
pub fn template_refs(template: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or("unclosed `{{` in template")?;
        let name = after[..end].trim();
        if !crate::manifest::is_variable_name(name) {
            return Err(format!("{name:?} is not a valid variable name"));
        }
        names.push(name.to_owned());
        rest = &after[end + 2..];
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn manifest() -> Manifest {
        Manifest::parse(
            Path::new("spin.toml"),
            r#"
spin_manifest_version = 2
[application]
name = "t"
[variables]
token = { required = true, secret = true }
host = { default = "example.com" }
"#,
        )
        .unwrap()
    }

    #[test]
    fn missing_required_is_named() {
        let err = ResolvedVariables::resolve(&manifest(), &[]).unwrap_err();
        assert!(err.to_string().contains("token"), "{err}");
    }

    #[test]
    fn providers_then_defaults() {
        let p = Provider::Static([("token".to_owned(), "s3cret".to_owned())].into());
        let vars = ResolvedVariables::resolve(&manifest(), &[p]).unwrap();
        assert_eq!(
            vars.render("https://{{ host }}/x?t={{token}}").unwrap(),
            "https://example.com/x?t=s3cret"
        );
        assert!(vars.render("{{ nope }}").is_err());
    }

    #[test]
    fn template_syntax() {
        assert_eq!(template_refs("a{{ b }}c{{d}}").unwrap(), ["b", "d"]);
        assert!(template_refs("{{ b").is_err());
        assert!(template_refs("{{ B }}").is_err());
    }
}
