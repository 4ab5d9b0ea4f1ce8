//! The stage view end to end through the real components: its pages and
//! files, sign-in by one-time link (API and chat), the JSON it reads, and
//! actions from a session (approve, with the CSRF token and the role
//! checked on every call).

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use slipway_tests::chat_env::{APP, DIGEST, NS, run_waiting_for_approval, slack, text_of, world};
use slipway_tests::pipeline_env::sha;
use slipway_tests::web_session::{Session, agent, answer, redeem};

#[test]
fn pages_and_files_are_served_with_a_strict_policy() {
    let w = world();
    for page in [
        "/",
        "/apps/shop-github",
        "/runs/shop-github-1",
        "/login?code=x",
        "/waiting",
    ] {
        let reply = answer(agent().get(&w.env.host.url(page)).call());
        assert_eq!(reply.status, 200, "{page}");
        assert_eq!(reply.headers["content-type"], "text/html; charset=utf-8");
        let csp = &reply.headers["content-security-policy"];
        assert!(
            csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
        assert_eq!(reply.headers["referrer-policy"], "no-referrer");
        let html = reply.body.as_str().unwrap_or_default();
        let scripts = script_sources(html);
        assert!(scripts.len() > 1, "{page}: {html}");
        for src in scripts {
            let script = answer(agent().get(&w.env.host.url(src)).call());
            assert_eq!(script.status, 200, "{page}: {src}");
            assert!(
                script.headers["content-type"].starts_with("text/javascript"),
                "{src}: {:?}",
                script.headers
            );
        }
    }
    let styles = answer(agent().get(&w.env.host.url("/assets/app.css")).call());
    assert_eq!(styles.status, 200);
    assert_eq!(
        answer(agent().get(&w.env.host.url("/assets/nope.js")).call()).status,
        404
    );
    let api = answer(agent().get(&w.env.host.url("/api/nothing-here")).call());
    assert_eq!(api.status, 404);
    assert!(api.body["error"].is_string(), "{}", api.body);
}

/// The `src` of every `<script src="…">` in `html`, in document order.
fn script_sources(html: &str) -> Vec<&str> {
    html.split("<script ")
        .skip(1)
        .filter_map(|tag| {
            let tag = &tag[..tag.find('>')?];
            let src = &tag[tag.find("src=\"")? + "src=\"".len()..];
            Some(&src[..src.find('"')?])
        })
        .collect()
}

#[test]
fn without_a_session_the_api_says_401_and_a_sign_in_link_works_once() {
    let w = world();
    for path in [
        "/api/apps",
        "/api/waiting",
        "/api/apps/shop-github/runs",
        "/api/session",
    ] {
        let reply = answer(agent().get(&w.env.host.url(path)).call());
        assert_eq!(reply.status, 401, "{path}: {}", reply.body);
    }
    let link = slipway_tests::web_session::login_link(&w.env, "bob");
    let first = redeem(&w.env, &link);
    assert_eq!(first.status, 303);
    assert_eq!(first.headers["location"], "/");
    let cookie = &first.headers["set-cookie"];
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let again = redeem(&w.env, &link);
    assert_eq!(again.headers["location"], "/login?error=used");
    assert!(!again.headers.contains_key("set-cookie"));
}

#[test]
fn chat_login_answers_privately_with_a_link_that_signs_in() {
    let w = world();
    let (reply, _) = slack(&w, "UBOB", "login");
    assert_eq!(reply["response_type"], "ephemeral", "{reply}");
    let text = text_of(&reply);
    let link = text
        .split_whitespace()
        .find(|word| word.contains("/login?code="))
        .unwrap_or_else(|| panic!("no link in {text}"));
    let signed_in = redeem(&w.env, link.trim_end_matches(['>', ')', '.']));
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert!(signed_in.headers["set-cookie"].starts_with("slipway_session="));
}

fn decisions(run: &Value) -> Vec<(String, String)> {
    run["stages"]["approve"]["approval"]["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .map(|d| {
            (
                d["by"].as_str().unwrap_or_default().to_owned(),
                d["via"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn approvers_approve_from_the_page_and_the_run_moves_on() {
    let w = world();
    let run = run_waiting_for_approval(&w, &sha(1));
    let bob = Session::sign_in(&w.env, "bob");
    let waiting = bob.get("/api/waiting");
    assert_eq!(waiting.status, 200, "{}", waiting.body);
    assert_eq!(waiting.body["approvals"][0]["run"], run, "{}", waiting.body);
    assert_eq!(waiting.body["approvals"][0]["stage"], "approve");
    let page = bob.get(&format!("/api/runs/{run}"));
    assert_eq!(page.body["viewer"]["may"]["approve"], json!(["approve"]));
    let action = format!("/api/runs/{run}/stages/approve/approve");
    let forged = bob.post(&action, &json!({ "attempt": 1 }), false);
    assert_eq!(forged.status, 403, "no CSRF token: {}", forged.body);
    let approved = bob.post(
        &action,
        &json!({ "attempt": 1, "reason": "looks good" }),
        true,
    );
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(approved.body["by"], "bob");
    let carol = Session::sign_in(&w.env, "carol");
    let approved = carol.post(&action, &json!({ "attempt": 1 }), true);
    assert_eq!(approved.status, 200, "{}", approved.body);
    let record = w.env.run(&run);
    assert_eq!(
        decisions(&record),
        [
            ("bob".to_owned(), "web".to_owned()),
            ("carol".to_owned(), "web".to_owned())
        ]
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let image = format!("registry.example.com/acme/shop@{DIGEST}");
    while w.k8s.image(NS, APP).as_deref() != Some(image.as_str()) {
        assert!(
            Instant::now() < deadline,
            "production never got the approved image"
        );
        w.env.tick();
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_viewer_sees_no_buttons_and_is_refused_the_action() {
    let w = world();
    let run = run_waiting_for_approval(&w, &sha(1));
    let dave = Session::sign_in(&w.env, "dave");
    let page = dave.get(&format!("/api/runs/{run}"));
    assert_eq!(page.status, 200, "{}", page.body);
    let may = &page.body["viewer"]["may"];
    assert_eq!(may["approve"], json!([]));
    assert_eq!(may["retry"], false);
    assert_eq!(may["operate"], json!([]));
    let refused = dave.post(
        &format!("/api/runs/{run}/stages/approve/approve"),
        &json!({}),
        true,
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    let rollback = dave.post(
        "/api/deploy/shop-github/production/rollback",
        &json!({}),
        true,
    );
    assert_eq!(rollback.status, 403, "{}", rollback.body);
    assert_eq!(dave.get("/api/waiting").body["approvals"], json!([]));
}

#[test]
fn lists_read_the_indexes_and_a_run_page_polls_with_its_etag() {
    let w = world();
    let run = run_waiting_for_approval(&w, &sha(1));
    let alice = Session::sign_in(&w.env, "alice");
    let runs = alice.get("/api/apps/shop-github/runs?limit=10");
    assert_eq!(runs.status, 200, "{}", runs.body);
    assert_eq!(runs.body["runs"][0]["id"], run);
    assert_eq!(runs.body["runs"][0]["branch"], "main");
    assert_eq!(
        runs.body["stages"],
        json!(["image", "approve", "production"])
    );
    let apps = alice.get("/api/apps");
    let shop = apps.body["apps"]
        .as_array()
        .and_then(|apps| apps.iter().find(|a| a["name"] == "shop-github"))
        .cloned()
        .expect("shop-github listed");
    assert_eq!(shop["branches"][0]["id"], run);
    let environment = alice.get("/api/apps/shop-github/environments/production");
    assert_eq!(environment.status, 200, "{}", environment.body);
    assert_eq!(environment.body["viewer"]["may"]["operate"], true);
    let first = alice.get(&format!("/api/runs/{run}"));
    let tag = first.headers.get("etag").expect("an etag").clone();
    let unchanged = answer(
        agent()
            .get(&w.env.host.url(&format!("/api/runs/{run}")))
            .set("cookie", &alice.cookie)
            .set("x-csrf-token", &alice.csrf)
            .set("if-none-match", &tag)
            .call(),
    );
    assert_eq!(unchanged.status, 304);
    assert_eq!(unchanged.body, Value::String(String::new()));
}

#[test]
fn a_retry_from_a_session_is_recorded_with_the_person() {
    let w = world();
    let sha = sha(3);
    w.env
        .commit("github", &sha, slipway_tests::chat_env::APPROVAL_PIPELINE);
    let (status, reply) = w.env.hook("github", &w.env.push("github", "main", &sha));
    assert_eq!(status, 202, "{reply}");
    let run = reply["run"].as_str().expect("run").to_owned();
    w.env.run(&run);
    let token = w.env.callback_token(&run, "image", 1);
    let failed = json!({ "status": "failed", "message": "compile error" });
    let (status, reply) = w.env.callback(
        &run,
        "image",
        &token,
        "application/json",
        failed.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{reply}");
    assert_eq!(w.env.run(&run)["status"], "failed");
    let alice = Session::sign_in(&w.env, "alice");
    let waiting = alice.get("/api/waiting");
    assert_eq!(waiting.body["retries"][0]["run"], run, "{}", waiting.body);
    let retried = alice.post(
        &format!("/api/runs/{run}/stages/image/retry"),
        &json!({}),
        true,
    );
    assert_eq!(retried.status, 202, "{}", retried.body);
    let record = w.env.run(&run);
    assert_eq!(record["stages"]["image"]["attempt"], 2, "{record}");
    assert_eq!(record["stages"]["image"]["retried_by"], "alice");
}
