//! Tests of [`FakeJenkins::automate`]: scripted builds call back as a
//! job's pipeline script does.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::jenkins_auto::BuildPlan;
use super::tests_support::call;
use super::{FakeHttpServer, FakeJenkins, Request, Response};

fn basic() -> String {
    let pair = base64::engine::general_purpose::STANDARD.encode("ci:api-token");
    format!("Basic {pair}")
}

/// A Slipway stand-in that records callbacks and answers `status`.
fn receiver(status: u16) -> (FakeHttpServer, Arc<Mutex<Vec<Request>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let server = FakeHttpServer::start(move |req| {
        log.lock().unwrap().push(req.clone());
        Response::json(status, &serde_json::json!({}))
    });
    (server, seen)
}

fn trigger(jenkins: &FakeJenkins, job_path: &str, form: &str) {
    let url = format!("{}/{job_path}/buildWithParameters", jenkins.url());
    let auth = basic();
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    assert_eq!(call("POST", &url, &headers, form.as_bytes()).status, 201);
}

fn wait_for_callbacks(jenkins: &FakeJenkins, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while jenkins.callbacks().len() < n {
        assert!(Instant::now() < deadline, "no callback");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_scripted_build_calls_back_with_its_report_and_image_then_ends() {
    let (slipway, seen) = receiver(200);
    let jenkins = FakeJenkins::start("ci", "api-token");
    jenkins.add_job("shop/image");
    jenkins.automate("shop/image", |params| BuildPlan {
        junit: Some("<testsuite name=\"t\" tests=\"1\"/>".into()),
        image: Some(format!("registry.test/shop:{}", params["SLIPWAY_COMMIT"])),
        ..BuildPlan::success(Duration::from_millis(200))
    });
    let callback_url = format!("{}/callbacks/shop-1/image", slipway.url());
    let form = format!(
        "SLIPWAY_COMMIT=abc&SLIPWAY_CALLBACK_URL={}&SLIPWAY_CALLBACK_TOKEN=tok&UNDECLARED=x",
        super::encode_component(&callback_url)
    );
    trigger(&jenkins, "job/shop/job/image", &form);
    let build = format!("{}/job/shop/job/image/1/api/json", jenkins.url());
    let auth = basic();
    let running = call("GET", &build, &[("authorization", &auth)], b"").json();
    assert_eq!(running["building"], true, "{running}");

    wait_for_callbacks(&jenkins, 1);
    let request = seen.lock().unwrap()[0].clone();
    assert_eq!(request.method, "POST");
    assert_eq!(request.header("authorization"), Some("Bearer tok"));
    assert!(request.content_type_is("application/json"));
    let body = request.json().unwrap();
    assert_eq!(body["status"], "succeeded");
    assert_eq!(body["artifacts"]["image"], "registry.test/shop:abc");
    assert_eq!(body["junit"][0], "<testsuite name=\"t\" tests=\"1\"/>");
    assert!(body["duration_ms"].as_u64().unwrap() >= 200, "{body}");
    assert!(
        body["url"]
            .as_str()
            .unwrap()
            .ends_with("/job/shop/job/image/1/")
    );
    assert_eq!(jenkins.callbacks()[0].status, Some(200));

    let deadline = Instant::now() + Duration::from_secs(5);
    let done = loop {
        let build = call("GET", &build, &[("authorization", &auth)], b"").json();
        if build["building"] == false || Instant::now() > deadline {
            break build;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(done["result"], "SUCCESS", "{done}");
}

#[test]
fn a_failing_build_reports_failed_and_a_refused_callback_is_not_retried() {
    let (slipway, seen) = receiver(409);
    let jenkins = FakeJenkins::start("ci", "api-token");
    jenkins.add_job("unit");
    jenkins.automate("unit", |_| BuildPlan {
        success: false,
        ..BuildPlan::success(Duration::from_millis(10))
    });
    let form = format!(
        "SLIPWAY_CALLBACK_URL={}&SLIPWAY_CALLBACK_TOKEN=tok",
        super::encode_component(&format!("{}/cb", slipway.url()))
    );
    trigger(&jenkins, "job/unit", &form);
    wait_for_callbacks(&jenkins, 1);
    assert_eq!(jenkins.callbacks()[0].body["status"], "failed");
    assert_eq!(jenkins.callbacks()[0].status, Some(409));
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(seen.lock().unwrap().len(), 1, "4xx is an answer");
}

#[test]
fn a_callback_answered_with_5xx_is_retried() {
    let slipway = FakeHttpServer::start(|_| Response::json(200, &serde_json::json!({})));
    slipway.fail_next(1, 503);
    let jenkins = FakeJenkins::start("ci", "api-token");
    jenkins.add_job("unit");
    jenkins.automate("unit", |_| BuildPlan::success(Duration::ZERO));
    let form = format!(
        "SLIPWAY_CALLBACK_URL={}&SLIPWAY_CALLBACK_TOKEN=tok",
        super::encode_component(&format!("{}/cb", slipway.url()))
    );
    trigger(&jenkins, "job/unit", &form);
    wait_for_callbacks(&jenkins, 1);
    assert_eq!(jenkins.callbacks()[0].status, Some(200));
    assert_eq!(slipway.requests().len(), 2);
}
