//! The stage view in headless Chromium against the real components: sign
//! in by link, the overview with seeded runs, a failed run's failing test,
//! an approval given from the run page that moves the run on (followed
//! live), a rollback from the environment page, and a viewer who sees no
//! buttons and is refused the action URL. Screenshots of each page go to
//! `target/web-screenshots/`.

use std::time::{Duration, Instant};

use serde_json::json;
use slipway_tests::browser::{Browser, available};
use slipway_tests::chat_env::{
    APP, APPROVAL_PIPELINE, DIGEST, NS, OLD, World, run_waiting_for_approval, world,
};
use slipway_tests::pipeline_env::sha;
use slipway_tests::web_session::{Session, login_link};

const FAILING_REPORT: &[u8] = include_bytes!("../fixtures/junit/TEST-com.acme.shop.CartTest.xml");

fn browser() -> Browser {
    assert!(
        available(),
        "the browser tests need `chromium` and `chromium-driver` (scripts/setup.sh installs them)"
    );
    let shots = slipway_tests::target_dir().join("web-screenshots");
    Browser::start(1280, 900, &shots)
}

/// Signs `person` in the way a person does: opens the link, clicks.
fn sign_in(w: &World, b: &Browser, person: &str) {
    // The link names the configured public URL; the browser reaches the
    // host the test started.
    let link = login_link(&w.env, person);
    let (_, code) = link.split_once("/login?").expect("a sign-in link");
    b.open(&w.env.host.url(&format!("/login?{code}")));
    let button = b.wait_for("form[action='/login'] button[type=submit]");
    b.click(&button);
    b.wait_for_text("[data-testid=whoami], header", person);
}

/// A run whose image stage failed with a JUnit report.
fn failed_run(w: &World, sha: &str) -> String {
    w.env.commit("github", sha, APPROVAL_PIPELINE);
    let (status, reply) = w
        .env
        .hook("github", &w.env.push("github", "feature/cart", sha));
    assert_eq!(status, 202, "{reply}");
    let run = reply["run"].as_str().expect("run").to_owned();
    w.env.run(&run);
    let token = w.env.callback_token(&run, "image", 1);
    let (status, reply) = w
        .env
        .callback(&run, "image", &token, "text/xml", FAILING_REPORT);
    assert_eq!(status, 200, "{reply}");
    let record = w.env.run(&run);
    assert_eq!(record["status"], "failed", "{record}");
    run
}

fn wait_for_image(w: &World, image: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while w.k8s.image(NS, APP).as_deref() != Some(image) {
        assert!(Instant::now() < deadline, "{APP} never ran {image}");
        w.env.tick();
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Ticks until `stage` of `run` has `status` (the engine's work between
/// requests, which the page only watches).
fn wait_for_stage(w: &World, run: &str, stage: &str, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while w.env.run(run)["stages"][stage]["status"] != status {
        assert!(
            Instant::now() < deadline,
            "{stage} of {run} never became {status}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Ticks until release `number` of production has `status`.
fn wait_for_release(w: &World, number: u64, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        w.env.tick();
        let (code, env) = w
            .env
            .api_get(&format!("/api/apps/{APP}/environments/production"));
        assert_eq!(code, 200, "{env}");
        let release = env["releases"]
            .as_array()
            .and_then(|list| list.iter().find(|r| r["number"] == number).cloned());
        if release.as_ref().is_some_and(|r| r["status"] == status) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "release {number} never became {status}: {env}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn people_follow_runs_approve_and_roll_back_from_the_stage_view() {
    let w = world();
    let failed = failed_run(&w, &sha(2));
    let waiting = run_waiting_for_approval(&w, &sha(1));
    let b = browser();
    sign_in(&w, &b, "bob");
    b.wait_for(&format!("[data-testid=app-card][data-app={APP}]"));
    b.wait_for("[data-testid=waiting-item]");
    b.screenshot("overview");

    b.open(&w.env.host.url(&format!("/runs/{failed}")));
    let failure = b.wait_for_text(
        "[data-testid=failing-test]",
        "expected: <42.50> but was: <40.00>",
    );
    assert!(failure.contains("expected"), "{failure}");
    b.wait_for("[data-testid=stage-graph] [data-stage=image][data-status=failed]");
    b.screenshot("run-failed");

    b.open(&w.env.host.url(&format!("/runs/{waiting}")));
    // Keyboard only: Tab to the button, Enter to press it.
    let approve = "button[data-action=approve][data-stage=approve]";
    b.wait_for(approve);
    assert!(
        b.tab_to(approve, 60),
        "the approve button is not reachable by Tab"
    );
    b.press('\u{E007}');
    b.accept_dialog();
    b.wait_for_text("[data-testid=approval]", "bob");
    // The second approval comes from elsewhere; the open page follows it.
    let carol = Session::sign_in(&w.env, "carol");
    let answer = carol.post(
        &format!("/api/runs/{waiting}/stages/approve/approve"),
        &json!({ "attempt": 1 }),
        true,
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    w.env.tick();
    b.wait_for("[data-testid=stage][data-stage=approve][data-status=succeeded]");
    wait_for_image(&w, &format!("registry.example.com/acme/shop@{DIGEST}"));
    wait_for_stage(&w, &waiting, "production", "succeeded");
    b.wait_for("[data-testid=stage][data-stage=production][data-status=succeeded]");
    b.open(&w.env.host.url(&format!("/runs/{waiting}")));
    b.wait_for("main[data-loaded=true] [data-testid=stage-graph]");
    b.screenshot("run");
    // The same page on a phone: one column, nothing cut off sideways.
    b.resize(390, 844);
    b.open(&w.env.host.url(&format!("/runs/{waiting}")));
    b.wait_for("main[data-loaded=true] [data-testid=stage-graph]");
    let overflow = b.script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
        json!([]),
    );
    assert!(
        overflow.as_i64().is_some_and(|px| px <= 0),
        "the page scrolls sideways by {overflow}px"
    );
    b.screenshot("run-phone");
    b.resize(1280, 900);

    b.open(&w.env.host.url(&format!("/apps/{APP}")));
    b.wait_for(&format!(
        "[data-testid=stage-matrix] tr[data-run='{waiting}']"
    ));
    b.wait_for("[data-testid=averages]");
    b.screenshot("app");

    // Alice deploys: she rolls production back from its page.
    sign_in(&w, &b, "alice");
    b.open(
        &w.env
            .host
            .url(&format!("/apps/{APP}/environments/production")),
    );
    b.wait_for("[data-testid=release]");
    let rollback = b.wait_for("button[data-action=rollback]");
    b.click(&rollback);
    assert!(b.accept_dialog(), "rollback asks for confirmation first");
    wait_for_image(&w, OLD);
    wait_for_release(&w, 2, "succeeded");
    b.open(
        &w.env
            .host
            .url(&format!("/apps/{APP}/environments/production")),
    );
    b.wait_for("[data-testid=release].rollback");
    b.screenshot("environment");
}

#[test]
fn a_viewer_sees_no_buttons_and_the_action_url_refuses_them() {
    let w = world();
    let waiting = run_waiting_for_approval(&w, &sha(1));
    let b = browser();
    sign_in(&w, &b, "dave");
    b.open(&w.env.host.url(&format!("/runs/{waiting}")));
    b.wait_for("[data-testid=stage][data-stage=approve][data-status=waiting-for-approval]");
    b.wait_for("main[data-loaded=true]");
    assert!(
        b.all("button[data-action]").is_empty(),
        "a viewer sees no action buttons"
    );
    let status = b.script(
        "const [run] = arguments;
         return fetch('/api/session').then(r => r.json()).then(s =>
           fetch(`/api/runs/${run}/stages/approve/approve`, {
             method: 'POST',
             headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrf },
             body: '{}',
           })).then(r => r.status);",
        json!([waiting]),
    );
    assert_eq!(status, 403);
    b.screenshot("run-viewer");
    // The theme follows the system's setting.
    let background = "return getComputedStyle(document.body).backgroundColor";
    let light = b.script(background, json!([]));
    b.color_scheme("dark");
    let dark = b.script(background, json!([]));
    assert_ne!(light, dark, "no dark theme");
    b.screenshot("run-viewer-dark");
}
