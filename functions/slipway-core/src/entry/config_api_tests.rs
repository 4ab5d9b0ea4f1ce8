use std::cell::Cell;
use std::collections::BTreeMap;

use futures::executor::block_on;
use serde_json::{Value, json};

use super::*;
use crate::access::tokens::TokenHash;
use crate::config_store::{ConfigSource, effective};
use crate::testing::{FakeClock, MemKv};

const ADMIN_TOKEN: &str = "admin-token-0123456789abcdef";
const DEPLOYER_TOKEN: &str = "deployer-token-0123456789abcdef";

/// The packaged file: one app, an admin and a deployer, both by token.
const PACKAGED: &str = r#"
public_url = "https://slipway.example.com"
[providers.github]
api_base = "https://api.github.com"
token_secret = "github_token"
webhook_secret = "github_webhook_secret"
[apps.shop]
provider = "github"
repo = "acme/shop"
[access.people.root]
[access.people.dev]
[[access.grants]]
role = "admin"
to = ["root"]
[[access.grants]]
role = "deployer"
to = ["dev"]
[access.tokens.root]
owner = "root"
hash_secret = "token_root"
[access.tokens.dev]
owner = "dev"
hash_secret = "token_dev"
"#;

struct Secrets(BTreeMap<&'static str, String>);

impl crate::ports::Secrets for Secrets {
    async fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

struct World {
    kv: MemKv,
    clock: FakeClock,
    secrets: Secrets,
    packaged: ControlPlane,
}

impl World {
    fn new() -> World {
        World {
            kv: MemKv::default(),
            clock: FakeClock(Cell::new(1_700_000_000_000)),
            secrets: Secrets(
                [
                    ("token_root", TokenHash::of(ADMIN_TOKEN).to_config_value()),
                    ("token_dev", TokenHash::of(DEPLOYER_TOKEN).to_config_value()),
                ]
                .into(),
            ),
            packaged: ControlPlane::parse(PACKAGED).expect("packaged"),
        }
    }

    /// One request as a component serves it: the configuration in force
    /// read from the store first.
    fn call(&self, token: &str, method: &str, rest: &[&str], body: Value) -> Reply {
        let (config, source) =
            block_on(effective(&self.kv, self.packaged.clone())).expect("effective");
        let deps = Deps {
            kv: &self.kv,
            http: &(),
            clock: &self.clock,
            secrets: &self.secrets,
            config: &config,
        };
        let headers: Headers = [("authorization".to_owned(), format!("Bearer {token}"))].into();
        let body = body.to_string();
        let request = ConfigRequest {
            method,
            rest,
            headers: &headers,
            body: body.as_bytes(),
        };
        let packaged = Packaged {
            text: PACKAGED,
            config: &self.packaged,
        };
        block_on(handle_config_api(&deps, &packaged, &source, &request))
    }
}

fn with_app(name: &str) -> String {
    format!("{PACKAGED}[apps.{name}]\nprovider = \"github\"\nrepo = \"acme/{name}\"\n")
}

#[test]
fn a_change_takes_effect_with_a_version_and_an_audit_entry() {
    let w = World::new();
    let reply = w.call(ADMIN_TOKEN, "GET", &[], Value::Null);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["version"], 0);
    assert_eq!(reply.body["source"], "packaged");
    assert_eq!(reply.body["text"], PACKAGED);

    let text = with_app("cart");
    let put = json!({ "base_version": 0, "text": text, "reason": "cart goes live" });
    let reply = w.call(ADMIN_TOKEN, "PUT", &[], put.clone());
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["version"], 1);

    // The next request runs with it.
    let (config, source) = block_on(effective(&w.kv, w.packaged.clone())).unwrap();
    assert!(config.apps.contains_key("cart"));
    assert_eq!(source, ConfigSource::Stored { version: 1 });
    let history = w.call(ADMIN_TOKEN, "GET", &["history"], Value::Null);
    assert_eq!(history.body["history"][0]["by"], "root");
    assert_eq!(history.body["history"][0]["reason"], "cart goes live");
    assert_eq!(history.body["history"][0]["identity"], "token:root");

    // A second writer based on version 0 is told to read again.
    let reply = w.call(ADMIN_TOKEN, "PUT", &[], put);
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert_eq!(reply.body["current_version"], 1);

    // Back to the packaged file, as version 2; version 1 stays readable.
    let reply = w.call(
        ADMIN_TOKEN,
        "DELETE",
        &[],
        json!({ "base_version": 1, "reason": "roll back" }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let (config, source) = block_on(effective(&w.kv, w.packaged.clone())).unwrap();
    assert!(!config.apps.contains_key("cart"));
    assert_eq!(source, ConfigSource::Packaged);
    let v1 = w.call(ADMIN_TOKEN, "GET", &["versions", "1"], Value::Null);
    assert_eq!(v1.body["text"], text.as_str());
}

#[test]
fn bad_changes_are_refused_with_a_reason_and_write_nothing() {
    let w = World::new();
    let put =
        |text: &str, reason: &str| json!({ "base_version": 0, "text": text, "reason": reason });
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            put(&format!("{PACKAGED}[apps.shop.bogus]\n"), "x"),
            422,
            "slipway.toml:",
        ),
        (put(&with_app("cart"), " "), 400, "say why"),
        (json!({ "text": PACKAGED }), 400, "malformed request"),
        (
            put(
                &PACKAGED.replace(
                    "[access.tokens.dev]",
                    "[access.tokens.ci]\nowner = \"dev\"\nhash_secret = \"token_ci\"\n[access.tokens.dev]",
                ),
                "a token for CI",
            ),
            422,
            "would read variable token_ci",
        ),
        (
            put(
                &PACKAGED.replace("https://api.github.com", "https://github.example.com/api/v3"),
                "GHES",
            ),
            422,
            "would call https://github.example.com:443",
        ),
        (
            put(&PACKAGED.replace("role = \"admin\"", "role = \"viewer\""), "demote"),
            422,
            "without the admin role",
        ),
    ];
    for (body, status, says) in cases {
        let reply = w.call(ADMIN_TOKEN, "PUT", &[], body.clone());
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert!(
            reply.body["error"]
                .as_str()
                .unwrap_or_default()
                .contains(says),
            "{body}: {}",
            reply.body
        );
    }
    let reply = w.call(DEPLOYER_TOKEN, "PUT", &[], put(&with_app("cart"), "x"));
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(
        w.call("wrong-token-0123456789abcdef", "GET", &[], Value::Null)
            .status,
        401
    );
    assert_eq!(w.call(ADMIN_TOKEN, "POST", &[], Value::Null).status, 405);
    assert_eq!(
        w.call(ADMIN_TOKEN, "GET", &["versions", "x"], Value::Null)
            .status,
        400
    );
    assert!(
        w.kv.keys().iter().all(|k| !k.starts_with("config/")),
        "{:?}",
        w.kv.keys()
    );
}

#[test]
fn a_stored_version_that_no_longer_parses_falls_back_to_the_packaged_file() {
    let w = World::new();
    let reply = w.call(
        ADMIN_TOKEN,
        "PUT",
        &[],
        json!({ "base_version": 0, "text": with_app("cart"), "reason": "x" }),
    );
    assert_eq!(reply.status, 200);
    // As if a newer Slipway refused what this one stored.
    let mut record: Value =
        serde_json::from_slice(&block_on(w.kv.get("config/current")).unwrap().unwrap()).unwrap();
    record["text"] = json!("[apps.broken");
    block_on(w.kv.set("config/current", record.to_string().as_bytes())).unwrap();
    let (config, source) = block_on(effective(&w.kv, w.packaged.clone())).unwrap();
    assert!(!config.apps.contains_key("cart"));
    assert!(
        matches!(source, ConfigSource::StoredInvalid { version: 1, .. }),
        "{source:?}"
    );
}
