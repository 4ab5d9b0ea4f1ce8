use std::collections::BTreeMap;

use futures::executor::block_on;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{WebRequest, handle};
use crate::config::ControlPlane;
use crate::engine::Deps;
use crate::entry::Reply;
use crate::pipeline::Pipeline;
use crate::ports::{HttpClient, HttpError, HttpRequest, HttpResponse, Secrets};
use crate::providers::Headers;
use crate::runs::index::RunIndex;
use crate::runs::{PipelineSource, RunRecord, RunStatus, RunStore, RunTrigger};
use crate::testing::{FakeClock, MemKv};

const TOKEN: &str = "alice-token-long-enough";
const SESSION_SECRET: &str = "0123456789abcdef0123456789abcdef";

const CONFIG: &str = r#"
public_url = "https://cd.test"
[apps.shop]
provider = "github"
repo = "acme/shop"
[apps.docs]
provider = "github"
repo = "acme/docs"
public_read = true
[access.people.alice]
[access.people.bob]
[[access.grants]]
role = "deployer"
to = ["alice"]
apps = ["shop", "docs"]
[access.tokens.alice]
owner = "alice"
hash_secret = "token_alice"
[environments.production]
platform = "kubernetes"
api_server = "https://k8s.test:6443"
namespace = "shop"
token_secret = "kubernetes_token"
"#;

const PIPELINE: &str = r#"
[stages.unit]
kind = "build"
service = "ci"
job = "unit"
[stages.image]
kind = "build"
service = "ci"
job = "image"
needs = ["unit"]
"#;

struct NoHttp;

impl HttpClient for NoHttp {
    async fn send(&self, _: HttpRequest, _: u64) -> Result<HttpResponse, HttpError> {
        Err(HttpError::Transport("no network in this test".into()))
    }
}

struct MapSecrets(BTreeMap<&'static str, String>);

impl Secrets for MapSecrets {
    async fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

struct World {
    kv: MemKv,
    clock: FakeClock,
    secrets: MapSecrets,
    config: ControlPlane,
}

impl World {
    fn new() -> World {
        let hash = format!("sha256:{}", hex::encode(Sha256::digest(TOKEN.as_bytes())));
        World {
            kv: MemKv::default(),
            clock: FakeClock(1_000_000.into()),
            secrets: MapSecrets(
                [
                    ("token_alice", hash),
                    ("session_secret", SESSION_SECRET.into()),
                ]
                .into(),
            ),
            config: toml::from_str(CONFIG).expect("config"),
        }
    }

    fn call(&self, method: &str, path_and_query: &str, headers: &Headers, body: &str) -> Reply {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let deps = Deps {
            kv: &self.kv,
            http: &NoHttp,
            clock: &self.clock,
            secrets: &self.secrets,
            config: &self.config,
        };
        let request = WebRequest {
            method,
            path,
            query,
            headers,
            body: body.as_bytes(),
        };
        block_on(handle(&deps, &request))
    }

    fn get(&self, path: &str, headers: &Headers) -> Reply {
        self.call("GET", path, headers, "")
    }

    /// Stores run `number` of `app` on `branch` with `status`.
    fn run(&self, app: &str, number: u64, branch: &str, status: RunStatus) {
        let trigger = RunTrigger {
            provider: "github".into(),
            repo: format!("acme/{app}"),
            clone_url: None,
            git_ref: format!("refs/heads/{branch}"),
            commit: format!("{number:040x}"),
            kind: "push".into(),
            target_branch: None,
            merge_request: None,
            pipeline_ref: None,
            actor: Some("alice".into()),
            delivery_id: None,
            source: None,
        };
        let pipeline = Pipeline::parse(PIPELINE).expect("pipeline");
        let mut run = RunRecord::new(app, number, trigger, PipelineSource::Read(pipeline), 1_000);
        run.status = status;
        if let Some(unit) = run.stages.get_mut("unit") {
            unit.started_at_ms = Some(1_000);
            unit.finished_at_ms = Some(1_000 + number * 10);
            unit.status = crate::runs::StageStatus::Succeeded;
        }
        let store = RunStore::new(&self.kv);
        block_on(store.next_number(app)).expect("number");
        block_on(store.create(&run)).expect("stored");
        // What the reconcile after a webhook does.
        block_on(RunIndex::new(&self.kv).ensure(&run)).expect("indexed");
    }
}

fn bearer() -> Headers {
    [("authorization".to_owned(), format!("Bearer {TOKEN}"))].into()
}

fn numbers(reply: &Reply) -> Vec<u64> {
    reply.body["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["number"].as_u64().expect("number"))
        .collect()
}

#[test]
fn runs_come_newest_first_in_pages_with_a_cursor() {
    let w = World::new();
    for n in 1..=120 {
        let status = if n % 10 == 0 {
            RunStatus::Failed
        } else {
            RunStatus::Succeeded
        };
        w.run("shop", n, if n % 2 == 0 { "main" } else { "dev" }, status);
    }
    let first = w.get("/api/apps/shop/runs?limit=25", &bearer());
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(numbers(&first), (96..=120).rev().collect::<Vec<_>>());
    assert_eq!(first.body["next"], "96");
    assert_eq!(first.body["stages"], serde_json::json!(["unit", "image"]));
    // Averages over the runs shown: unit took number*10 ms in run number.
    let average = (96..=120).map(|n| n * 10).sum::<u64>() / 25;
    assert_eq!(first.body["averages"]["unit"], average);
    let second = w.get("/api/apps/shop/runs?limit=25&cursor=96", &bearer());
    assert_eq!(numbers(&second), (71..=95).rev().collect::<Vec<_>>());
    let last = w.get("/api/apps/shop/runs?limit=100&cursor=11", &bearer());
    assert_eq!(numbers(&last), (1..=10).rev().collect::<Vec<_>>());
    assert_eq!(last.body["next"], Value::Null);
}

#[test]
fn runs_filter_by_status_and_branch() {
    let w = World::new();
    for n in 1..=60 {
        let status = if n % 10 == 0 {
            RunStatus::Failed
        } else {
            RunStatus::Succeeded
        };
        w.run("shop", n, if n % 2 == 0 { "main" } else { "dev" }, status);
    }
    let failed = w.get("/api/apps/shop/runs?status=failed", &bearer());
    assert_eq!(numbers(&failed), vec![60, 50, 40, 30, 20, 10]);
    let dev = w.get("/api/apps/shop/runs?branch=dev&limit=3", &bearer());
    assert_eq!(numbers(&dev), vec![59, 57, 55]);
    assert_eq!(dev.body["next"], "55");
    let none = w.get("/api/apps/shop/runs?branch=nope", &bearer());
    assert_eq!(numbers(&none), Vec::<u64>::new());
    assert_eq!(none.body["next"], Value::Null);
}

#[test]
fn bad_list_requests_say_why_and_write_nothing() {
    let w = World::new();
    w.run("shop", 1, "main", RunStatus::Succeeded);
    let writes = w.kv.writes.get();
    for (path, status) in [
        ("/api/apps/shop/runs?limit=0", 400),
        ("/api/apps/shop/runs?limit=101", 400),
        ("/api/apps/shop/runs?cursor=x", 400),
        ("/api/apps/shop/runs?status=sideways", 400),
        ("/api/apps/nope/runs", 401),
        ("/api/apps/shop/environments/nowhere", 404),
    ] {
        let headers = if status == 401 {
            Headers::new()
        } else {
            bearer()
        };
        let reply = w.get(path, &headers);
        assert_eq!(reply.status, status, "{path}: {:?}", reply.body);
        assert!(reply.body["error"].is_string(), "{path}");
    }
    // Alice may read only shop and docs: whether another app exists is
    // not hers to learn.
    assert_eq!(w.get("/api/apps/nope/runs", &bearer()).status, 403);
    assert_eq!(w.kv.writes.get(), writes);
}

#[test]
fn anonymous_readers_see_public_apps_only() {
    let w = World::new();
    w.run("shop", 1, "main", RunStatus::Succeeded);
    w.run("docs", 1, "main", RunStatus::Failed);
    let anonymous = w.get("/api/apps", &Headers::new());
    assert_eq!(anonymous.status, 200);
    let names: Vec<&str> = anonymous.body["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(names, vec!["docs"]);
    assert_eq!(w.get("/api/apps/shop/runs", &Headers::new()).status, 401);
    assert_eq!(w.get("/api/apps/docs/runs", &Headers::new()).status, 200);
    let alice = w.get("/api/apps", &bearer());
    assert_eq!(alice.body["apps"].as_array().map(Vec::len), Some(2));
    let shop = &alice.body["apps"][1];
    assert_eq!(shop["name"], "shop");
    assert_eq!(shop["branches"][0]["id"], "shop-1");
}

#[test]
fn waiting_lists_the_failed_heads_a_deployer_may_retry() {
    let w = World::new();
    w.run("shop", 1, "main", RunStatus::Failed);
    if let Ok(Some(mut run)) = block_on(RunStore::new(&w.kv).load("shop-1")) {
        // Make "image" the failed stage, as a real failure leaves it.
        let _ = block_on(RunStore::new(&w.kv).update("shop-1", |r| {
            if let Some(image) = r.stages.get_mut("image") {
                image.status = crate::runs::StageStatus::Failed;
            }
            Ok(())
        }));
        run.version += 1;
    }
    let waiting = w.get("/api/waiting", &bearer());
    assert_eq!(waiting.status, 200, "{:?}", waiting.body);
    assert_eq!(waiting.body["retries"][0]["run"], "shop-1");
    assert_eq!(waiting.body["retries"][0]["stage"], "image");
    assert_eq!(w.get("/api/waiting", &Headers::new()).status, 401);
}

fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Signs alice in through a login link; returns her cookie header value.
fn sign_in(w: &World) -> String {
    let link = w.call("POST", "/api/login-links", &bearer(), "");
    assert_eq!(link.status, 201, "{:?}", link.body);
    let url = link.body["url"].as_str().expect("url");
    let code = url.split_once("code=").expect("code").1;
    assert!(url.starts_with("https://cd.test/login?code="));
    let form: Headers = [(
        "content-type".to_owned(),
        "application/x-www-form-urlencoded".to_owned(),
    )]
    .into();
    let login = w.call("POST", "/login", &form, &format!("code={code}"));
    assert_eq!(login.status, 303, "{:?}", login.body);
    assert_eq!(header(&login, "location"), Some("/"));
    let set = header(&login, "set-cookie").expect("cookie set");
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attribute), "{set}");
    }
    // The same code a second time signs nobody in.
    let again = w.call("POST", "/login", &form, &format!("code={code}"));
    assert_eq!(header(&again, "location"), Some("/login?error=used"));
    assert!(header(&again, "set-cookie").is_none());
    set.split(';').next().expect("pair").to_owned()
}

fn with_cookie(cookie: &str, csrf: Option<&str>) -> Headers {
    let mut h: Headers = [("cookie".to_owned(), cookie.to_owned())].into();
    if let Some(token) = csrf {
        h.insert("x-csrf-token".into(), token.into());
    }
    h
}

#[test]
fn a_session_reads_with_its_csrf_token_and_ends_on_sign_out() {
    let w = World::new();
    let cookie = sign_in(&w);
    let session = w.get("/api/session", &with_cookie(&cookie, None));
    assert_eq!(session.status, 200, "{:?}", session.body);
    assert_eq!(session.body["person"], "alice");
    let csrf = session.body["csrf"].as_str().expect("csrf").to_owned();
    let without = w.get("/api/apps/shop/runs", &with_cookie(&cookie, None));
    assert_eq!(without.status, 403, "{:?}", without.body);
    let wrong = w.get("/api/apps/shop/runs", &with_cookie(&cookie, Some("AAAA")));
    assert_eq!(wrong.status, 403);
    let ok = w.get("/api/apps/shop/runs", &with_cookie(&cookie, Some(&csrf)));
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let out = w.call("POST", "/logout", &with_cookie(&cookie, Some(&csrf)), "");
    assert_eq!(out.status, 200);
    assert!(header(&out, "set-cookie").is_some_and(|c| c.contains("Max-Age=0")));
    // The cookie, replayed after sign-out, is refused.
    let replayed = w.get("/api/apps/shop/runs", &with_cookie(&cookie, Some(&csrf)));
    assert_eq!(replayed.status, 401, "{:?}", replayed.body);
    assert_eq!(
        w.get("/api/session", &with_cookie(&cookie, None)).status,
        401
    );
}

#[test]
fn forged_and_expired_cookies_are_refused() {
    let w = World::new();
    let cookie = sign_in(&w);
    let csrf = w.get("/api/session", &with_cookie(&cookie, None)).body["csrf"]
        .as_str()
        .expect("csrf")
        .to_owned();
    // Another person's name under alice's signature.
    let forged = cookie.replace(&base64_of("alice"), &base64_of("bob"));
    assert_ne!(forged, cookie);
    let reply = w.get("/api/apps/shop/runs", &with_cookie(&forged, Some(&csrf)));
    assert_eq!(reply.status, 401, "{:?}", reply.body);
    w.clock
        .0
        .set(w.clock.0.get() + crate::sessions::SESSION_TTL_MS);
    let expired = w.get("/api/apps/shop/runs", &with_cookie(&cookie, Some(&csrf)));
    assert_eq!(expired.status, 401);
    assert!(
        expired.body["error"]
            .as_str()
            .is_some_and(|e| e.contains("expired"))
    );
}

#[test]
fn only_admins_ask_for_other_peoples_links_and_only_people_sign_in() {
    let w = World::new();
    let for_bob = w.call(
        "POST",
        "/api/login-links",
        &bearer(),
        r#"{"person": "bob"}"#,
    );
    assert_eq!(for_bob.status, 403, "{:?}", for_bob.body);
    let bad = w.call("POST", "/api/login-links", &bearer(), "{");
    assert_eq!(bad.status, 400);
    let unknown = w.call("POST", "/login", &Headers::new(), "code=guess");
    assert_eq!(header(&unknown, "location"), Some("/login?error=unknown"));
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// Stores release `number` of shop in production.
fn release(w: &World, number: u64, kind: &str, status: &str) {
    let d: crate::deploy::records::Deployment = serde_json::from_value(serde_json::json!({
        "version": 1, "id": format!("shop.production.{number}"), "app": "shop",
        "environment": "production", "number": number, "kind": kind,
        "image": format!("registry.test/shop:{number}"), "digest": null,
        "strategy": { "type": "rolling" }, "requested_by": "alice",
        "commit": format!("{number:040x}"), "stage": null, "status": status, "message": null,
        "traffic_percent": null, "rolled_back": false, "rollout": null,
        "created_at_ms": 1_000 * number, "finished_at_ms": null,
    }))
    .expect("a deployment");
    let records = crate::deploy::records::Records::new(&w.kv);
    block_on(records.next_number("shop", "production")).expect("number");
    block_on(records.create(&d)).expect("stored");
}

#[test]
fn an_environment_shows_live_active_and_history_in_pages() {
    let w = World::new();
    for n in 1..=30 {
        release(
            &w,
            n,
            if n == 29 { "rollback" } else { "deploy" },
            "succeeded",
        );
    }
    release(&w, 31, "deploy", "in-progress");
    let page = w.get("/api/apps/shop/environments/production?limit=10", &bearer());
    assert_eq!(page.status, 200, "{:?}", page.body);
    assert_eq!(page.body["live"]["number"], 30);
    assert_eq!(page.body["active"]["number"], 31);
    let numbers: Vec<u64> = page.body["releases"]
        .as_array()
        .expect("releases")
        .iter()
        .filter_map(|r| r["number"].as_u64())
        .collect();
    assert_eq!(numbers, (22..=31).rev().collect::<Vec<_>>());
    assert_eq!(page.body["releases"][1]["live"], true);
    assert_eq!(page.body["releases"][2]["kind"], "rollback");
    assert_eq!(page.body["releases"][1]["commit"], format!("{:040x}", 30));
    assert_eq!(page.body["next"], "22");
    assert_eq!(page.body["viewer"]["may"]["operate"], true);
    let older = w.get(
        "/api/apps/shop/environments/production?limit=25&cursor=22",
        &bearer(),
    );
    assert_eq!(older.body["releases"].as_array().map(Vec::len), Some(21));
    assert_eq!(older.body["next"], Value::Null);
    // Anonymous readers of a private app are refused.
    let anonymous = w.get("/api/apps/shop/environments/production", &Headers::new());
    assert_eq!(anonymous.status, 401);
}

#[test]
fn a_public_stage_view_is_read_by_anyone_and_acted_on_by_nobody_anonymous() {
    let mut w = World::new();
    w.config.web.public_read = true;
    w.run("shop", 1, "main", RunStatus::Failed);
    let anonymous = w.get("/api/apps", &Headers::new());
    assert_eq!(anonymous.body["apps"].as_array().map(Vec::len), Some(2));
    assert_eq!(w.get("/api/apps/shop/runs", &Headers::new()).status, 200);
    assert_eq!(
        w.get("/api/apps/shop/environments/production", &Headers::new())
            .status,
        200
    );
    // Reading is public; what waits for someone is not.
    assert_eq!(w.get("/api/waiting", &Headers::new()).status, 401);
    let session = w.get("/api/session", &Headers::new());
    assert_eq!(session.status, 401);
    assert_eq!(session.body["public_read"], true);
}

#[test]
fn a_sign_in_form_from_another_site_is_refused() {
    use super::signin::same_site_form;
    let h = |pairs: &[(&str, &str)]| -> Headers {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert!(same_site_form(&h(&[])));
    assert!(same_site_form(&h(&[
        ("origin", "http://cd.test:3000"),
        ("host", "cd.test:3000"),
        ("sec-fetch-site", "same-origin"),
    ])));
    assert!(!same_site_form(&h(&[
        ("origin", "https://evil.test"),
        ("host", "cd.test:3000"),
    ])));
    assert!(!same_site_form(&h(&[("sec-fetch-site", "cross-site")])));
    assert!(!same_site_form(&h(&[("sec-fetch-site", "same-site")])));
    // Our own page sends `Origin: null` (no-referrer) with same-origin.
    assert!(same_site_form(&h(&[
        ("origin", "null"),
        ("sec-fetch-site", "same-origin")
    ])));
    assert!(!same_site_form(&h(&[
        ("origin", "null"),
        ("host", "cd.test")
    ])));
    let w = World::new();
    let reply = w.call(
        "POST",
        "/login",
        &h(&[("origin", "https://evil.test"), ("host", "cd.test")]),
        "code=whatever",
    );
    assert_eq!(reply.status, 403, "{:?}", reply.body);
}
