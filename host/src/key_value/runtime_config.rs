//! Spin's `runtime-config.toml`: key-value stores per label, variables
//! providers, and the state and log directories.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use serde::Deserialize;

use super::KeyValueStores;
use super::redis_store::RedisStore;
use super::sqlite_store::{SqliteDb, SqliteStore};
use crate::variables::Provider;

/// The parsed runtime config (all parts optional).
#[derive(Debug, Default, Deserialize)]
pub struct RuntimeConfig {
    /// `[key_value_store.<label>]`.
    #[serde(default)]
    pub key_value_store: BTreeMap<String, StoreConfig>,
    /// `[[variables_provider]]`.
    #[serde(default)]
    pub variables_provider: Vec<VariablesProviderConfig>,
    /// `state_dir = "…"`.
    #[serde(default)]
    pub state_dir: Option<String>,
    /// `log_dir = "…"`.
    #[serde(default)]
    pub log_dir: Option<String>,
    /// The directory relative paths are resolved against.
    #[serde(skip)]
    pub dir: PathBuf,
}

/// One key-value store definition.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StoreConfig {
    /// SQLite; `path` relative to the runtime config file, none = in memory.
    Spin {
        /// Database file.
        #[serde(default)]
        path: Option<String>,
    },
    /// Redis or Valkey at `url`.
    Redis {
        /// `redis://host:port[/db]`.
        url: String,
    },
}

/// One variables provider.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VariablesProviderConfig {
    /// Fixed values.
    Static {
        /// Name to value.
        values: BTreeMap<String, String>,
    },
    /// Environment variables `<prefix>_<NAME>`.
    Env {
        /// Defaults to `SPIN_VARIABLE`.
        #[serde(default)]
        prefix: Option<String>,
    },
}

impl RuntimeConfig {
    /// Reads `path`; errors name the file and the line.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read runtime config {}", path.display()))?;
        let mut config: RuntimeConfig = toml::from_str(&text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            let line = text[..offset.min(text.len())].matches('\n').count() + 1;
            anyhow::anyhow!("{}:{line}: {}", path.display(), e.message().trim())
        })?;
        config.dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(config)
    }

    /// The state directory: from the config, else `.spin` next to the manifest.
    pub fn state_dir(&self, manifest_dir: &Path) -> PathBuf {
        match &self.state_dir {
            Some(d) => self.dir.join(d),
            None => manifest_dir.join(".spin"),
        }
    }

    /// Variables providers in file order.
    pub fn providers(&self) -> Vec<Provider> {
        self.variables_provider
            .iter()
            .map(|p| match p {
                VariablesProviderConfig::Static { values } => Provider::Static(values.clone()),
                VariablesProviderConfig::Env { prefix } => Provider::Env {
                    prefix: prefix.clone().unwrap_or_else(|| "SPIN_VARIABLE".into()),
                },
            })
            .collect()
    }

    /// Opens every store: `default` is SQLite at
    /// `<state_dir>/sqlite_key_value.db` unless the config overrides it.
    /// Labels sharing one SQLite file share one writer.
    pub fn open_stores(
        &self,
        state_dir: &Path,
        used_labels: &[String],
    ) -> anyhow::Result<KeyValueStores> {
        let mut stores = KeyValueStores::default();
        let mut files: HashMap<Option<PathBuf>, Arc<SqliteDb>> = HashMap::new();
        let mut open_sqlite = |path: Option<PathBuf>| -> anyhow::Result<Arc<SqliteDb>> {
            if let Some(db) = files.get(&path) {
                return Ok(db.clone());
            }
            let db = SqliteDb::open(path.as_deref()).with_context(|| match &path {
                Some(p) => format!("cannot open key-value database {}", p.display()),
                None => "cannot open in-memory key-value database".into(),
            })?;
            files.insert(path, db.clone());
            Ok(db)
        };
        if !self.key_value_store.contains_key("default") {
            let path = state_dir.join("sqlite_key_value.db");
            let summary = format!("sqlite {}", path.display());
            let db = open_sqlite(Some(path))?;
            stores.insert(
                "default",
                Arc::new(SqliteStore::new(db, "default")),
                summary,
            );
        }
        for (label, config) in &self.key_value_store {
            match config {
                StoreConfig::Spin { path } => {
                    let path = path.as_ref().map(|p| self.dir.join(p));
                    let summary = match &path {
                        Some(p) => format!("sqlite {}", p.display()),
                        None => "sqlite (in memory)".into(),
                    };
                    let db = open_sqlite(path)?;
                    stores.insert(label, Arc::new(SqliteStore::new(db, label)), summary);
                }
                StoreConfig::Redis { url } => {
                    let store = RedisStore::new(url)
                        .with_context(|| format!("key-value store {label:?}: bad redis url"))?;
                    stores.insert(label, Arc::new(store), "redis".into());
                }
            }
        }
        for label in used_labels {
            if !stores.contains(label) {
                bail!(
                    "key-value store {label:?} is used by a component but not defined; add [key_value_store.{label}] to the runtime config"
                );
            }
        }
        Ok(stores)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stores_and_providers() {
        let config: RuntimeConfig = toml::from_str(
            r#"
[key_value_store.default]
type = "redis"
url = "redis://127.0.0.1:6379"
[key_value_store.cache]
type = "spin"
path = "cache.db"
[[variables_provider]]
type = "static"
values = { token = "x" }
[[variables_provider]]
type = "env"
"#,
        )
        .unwrap();
        assert!(matches!(
            config.key_value_store["default"],
            StoreConfig::Redis { .. }
        ));
        assert!(matches!(
            config.key_value_store["cache"],
            StoreConfig::Spin { .. }
        ));
        assert_eq!(config.providers().len(), 2);
    }

    #[test]
    fn unknown_store_type_is_an_error() {
        let r: Result<RuntimeConfig, _> =
            toml::from_str("[key_value_store.default]\ntype = \"etcd\"\n");
        assert!(r.is_err());
    }
}
