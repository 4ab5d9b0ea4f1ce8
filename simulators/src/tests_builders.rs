//! Tests of the build-service fakes, the server framework and the webhook helpers.

use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::json;

use super::tests_support::{call, send};
use super::webhooks_payloads::{Push, PushCommit, ZERO_SHA};
use super::{FakeHttpBuilder, FakeHttpServer, FakeJenkins, FakeTekton, Response, webhooks};

fn basic(user: &str, token: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"))
    )
}

#[test]
fn jenkins_trigger_queue_and_build() {
    let jenkins = FakeJenkins::start("ci", "api-token");
    jenkins.add_job("team/app");
    let auth = basic("ci", "api-token");
    let url = format!(
        "{}/job/team/job/app/buildWithParameters?SHA=abc",
        jenkins.url()
    );
    let form = [
        ("authorization", auth.as_str()),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    let r = call("POST", &url, &form, b"RUN=7&token=t");
    assert_eq!((r.status, r.body.len()), (201, 0));
    let location = r.header("location").unwrap().to_owned();
    assert!(
        location.starts_with(&jenkins.url()) && location.ends_with('/'),
        "{location}"
    );
    assert!(r.header("x-jenkins").is_some());
    let (job, params) = &jenkins.triggers()[0];
    assert_eq!(job, "team/app");
    assert_eq!(
        (
            params["SHA"].as_str(),
            params["RUN"].as_str(),
            params.get("token")
        ),
        ("abc", "7", None)
    );

    let item = call("GET", &format!("{location}api/json"), &form[..1], b"").json();
    assert!(
        item["why"].is_string() && item.get("executable").is_none(),
        "{item}"
    );
    let item = call("GET", &format!("{location}api/json"), &form[..1], b"").json();
    let build_url = item["executable"]["url"].as_str().unwrap().to_owned();
    assert_eq!(item["executable"]["number"], 1);
    assert_eq!(build_url, format!("{}/job/team/job/app/1/", jenkins.url()));
    let build = call("GET", &format!("{build_url}api/json"), &form[..1], b"").json();
    assert_eq!(
        (build["building"].clone(), build["result"].clone()),
        (json!(true), json!(null))
    );
    jenkins.finish_build("team/app", 1, "FAILURE");
    let build = call("GET", &format!("{build_url}api/json"), &form[..1], b"").json();
    assert_eq!(
        (build["building"].clone(), build["result"].clone()),
        (json!(false), json!("FAILURE"))
    );
    assert_eq!(
        call(
            "GET",
            &format!("{build_url}testReport/api/json"),
            &form[..1],
            b""
        )
        .status,
        404
    );

    let r = call("POST", &url, &[], b"");
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"Jenkins\"")
    );
    let bad = basic("ci", "wrong");
    assert_eq!(
        call("POST", &url, &[("authorization", &bad)], b"").status,
        401
    );
    let r = call("POST", &url.replace("/app/", "/nope/"), &form[..1], b"");
    assert_eq!(r.status, 404);
    assert_eq!(call("GET", &url, &form[..1], b"").status, 405);
    let r = call(
        "POST",
        &format!("{}/job/team/job/app/build", jenkins.url()),
        &form[..1],
        b"",
    );
    assert_eq!(r.status, 201);
    assert_eq!(jenkins.trigger_details()[1].number, 2);
}

#[test]
fn tekton_create_get_and_conflicts() {
    let tekton = FakeTekton::start("sa-token");
    let url = format!(
        "{}/apis/tekton.dev/v1/namespaces/default/pipelineruns",
        tekton.url()
    );
    let h = [
        ("authorization", "Bearer sa-token"),
        ("content-type", "application/json"),
    ];
    let run = json!({"apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
                     "metadata": {"generateName": "build-", "labels": {"a": "b"}},
                     "spec": {"pipelineRef": {"name": "build-and-test"}}});
    let r = call("POST", &url, &h, run.to_string().as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    let name = created["metadata"]["name"].as_str().unwrap().to_owned();
    assert!(name.starts_with("build-") && name.len() == 11, "{name}");
    assert!(
        created["metadata"]["uid"].is_string()
            && created["metadata"]["resourceVersion"].is_string()
    );

    let r = call(
        "POST",
        &url,
        &[("authorization", "Bearer nope")],
        run.to_string().as_bytes(),
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})
    );
    let named = json!({"apiVersion": "tekton.dev/v1", "kind": "PipelineRun", "metadata": {"name": &name},
                       "spec": {"pipelineRef": {"name": "x"}}});
    let r = call("POST", &url, &h, named.to_string().as_bytes());
    assert_eq!(
        (r.status, r.json()["reason"].clone()),
        (409, json!("AlreadyExists"))
    );
    let no_ref = json!({"apiVersion": "tekton.dev/v1", "kind": "PipelineRun", "metadata": {"name": "z"}, "spec": {}});
    assert_eq!(
        call("POST", &url, &h, no_ref.to_string().as_bytes()).status,
        400
    );
    let r = call("POST", &url, &h[..1], run.to_string().as_bytes());
    assert_eq!(r.status, 415, "no content type");
    let v1beta1 = url.replace("/v1/", "/v1beta1/");
    assert_eq!(
        call("POST", &v1beta1, &h, run.to_string().as_bytes()).status,
        404
    );

    let get = format!("{url}/{name}");
    assert!(
        call("GET", &get, &h[..1], b"")
            .json()
            .get("status")
            .is_none()
    );
    tekton.set_condition("default", &name, "True", "Succeeded", "done");
    let got = call("GET", &get, &h[..1], b"").json();
    assert_eq!(got["status"]["conditions"][0]["status"], "True");
    let patch = [h[0], ("content-type", "application/merge-patch+json")];
    let r = call("PATCH", &get, &patch, br#"{"spec":{"status":"Cancelled"}}"#);
    assert_eq!(
        (r.status, r.json()["spec"]["status"].clone()),
        (200, json!("Cancelled"))
    );
    assert_eq!(
        call("GET", &format!("{url}/missing"), &h[..1], b"").status,
        404
    );
    assert_eq!(tekton.runs().len(), 1);
}

#[test]
fn http_builder_accepts_json_with_token() {
    let builder = FakeHttpBuilder::start(Some("secret"));
    let url = format!("{}/build", builder.url());
    let h = [
        ("authorization", "Bearer secret"),
        ("content-type", "application/json"),
    ];
    let r = call("POST", &url, &h, br#"{"sha":"abc"}"#);
    assert_eq!(r.status, 202);
    assert_eq!(r.json()["id"], "b-1");
    assert_eq!(builder.builds(), vec![json!({"sha": "abc"})]);
    assert_eq!(call("POST", &url, &h[1..], br#"{}"#).status, 401);
    assert_eq!(call("POST", &url, &h, b"nope").status, 400);
    assert_eq!(call("GET", &url, &h, b"").status, 405);
    let status_url = r.json()["url"].as_str().unwrap().to_owned();
    builder.set_status("b-1", "success");
    assert_eq!(
        call("GET", &status_url, &h, b"").json()["status"],
        "success"
    );
}

#[test]
fn server_records_and_misbehaves() {
    let server = FakeHttpServer::start(|req| Response::json(200, &json!({ "path": req.path })));
    let url = format!("{}/x?y=1", server.url());
    assert_eq!(
        call("POST", &url, &[("X-Custom", "v")], b"body").status,
        200
    );
    let seen = server.requests_to("/x");
    assert_eq!(
        (
            seen[0].query.as_str(),
            seen[0].header("x-custom"),
            seen[0].body.as_slice()
        ),
        ("y=1", Some("v"), &b"body"[..])
    );
    assert_eq!(seen[0].status, 200);

    server.fail_next(2, 503);
    assert_eq!(call("GET", &url, &[], b"").status, 503);
    assert_eq!(call("GET", &url, &[], b"").status, 503);
    assert_eq!(call("GET", &url, &[], b"").status, 200);

    server.delay(300);
    let started = Instant::now();
    assert_eq!(call("GET", &url, &[], b"").status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    server.delay(0);

    server.set_down(true);
    assert!(
        send("GET", &url, &[], b"").is_err(),
        "connection refused while down"
    );
    server.set_down(false);
    assert_eq!(call("GET", &url, &[], b"").status, 200);

    server.set_hang_up(true);
    assert!(
        send("GET", &url, &[], b"").is_err(),
        "hung up without an answer"
    );
    server.set_hang_up(false);

    assert!(
        server
            .wait_for(|r| r.path == "/late", Duration::from_millis(50))
            .is_none()
    );
    let url2 = format!("{}/late", server.url());
    let t = std::thread::spawn(move || call("GET", &url2, &[], b"").status);
    assert!(
        server
            .wait_for(|r| r.path == "/late", Duration::from_secs(5))
            .is_some()
    );
    assert_eq!(t.join().unwrap(), 200);
}

#[test]
fn webhook_signatures_match_published_vectors() {
    let hook = webhooks::github("It's a Secret to Everybody", "push", b"Hello, World!");
    assert_eq!(
        hook.header("x-hub-signature-256"),
        Some("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
    );
    assert_eq!(
        hook.header("x-hub-signature"),
        Some("sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59")
    );
    assert_eq!(
        webhooks::gitee_sign("this is secret", 1_700_000_000_000),
        "sSFWELbV2YwjdDQhWZwTcWlX5BWUx5J6TPpsZmuPii0="
    );
    assert_eq!(
        webhooks::standard_webhooks_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#
        ),
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    );
    let gitea = webhooks::gitea("It's a Secret to Everybody", "push", b"Hello, World!");
    assert_eq!(
        gitea.header("x-gitea-signature"),
        Some("757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
    );
    let bb = webhooks::bitbucket("It's a Secret to Everybody", "repo:push", b"Hello, World!");
    assert_eq!(
        bb.header("x-hub-signature"),
        Some("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
    );
    let gl = webhooks::gitlab("s3cret", "Push Hook", b"{}");
    assert_eq!(
        (gl.header("x-gitlab-token"), gl.header("x-gitlab-event")),
        (Some("s3cret"), Some("Push Hook"))
    );
    assert!(gl.header("idempotency-key").is_some());
    assert_eq!(
        webhooks::codeup("s", "Push Hook", b"{}").header("x-codeup-token"),
        Some("s")
    );
    assert!(
        webhooks::github("", "push", b"{}")
            .header("x-hub-signature-256")
            .is_none()
    );
}

#[test]
fn push_payloads_have_each_documented_shape() {
    let push = Push::new(
        "acme/app",
        "refs/heads/main",
        ZERO_SHA,
        "b".repeat(40).as_str(),
    )
    .commit(PushCommit::new(&"a".repeat(40), "first").added(&["a.txt"]))
    .commit(PushCommit::new(&"b".repeat(40), "second").modified(&["src/x.rs"]));
    let gh = super::webhooks_payloads::github_push(&push);
    assert_eq!(
        (
            gh["repository"]["full_name"].as_str(),
            gh["created"].as_bool()
        ),
        (Some("acme/app"), Some(true))
    );
    assert_eq!(gh["head_commit"]["modified"][0], "src/x.rs");
    let gl = super::webhooks_payloads::gitlab_push(&push);
    assert_eq!(
        (
            gl["object_kind"].as_str(),
            gl["project"]["path_with_namespace"].as_str()
        ),
        (Some("push"), Some("acme/app"))
    );
    assert_eq!(gl["commits"][0]["added"][0], "a.txt");
    let cu = super::webhooks_payloads::codeup_push(&push);
    assert!(cu.get("project").is_none() && cu["commits"][0].get("added").is_none());
    let bb = super::webhooks_payloads::bitbucket_push(&push);
    assert!(bb["push"]["changes"][0]["old"].is_null());
    assert_eq!(
        bb["push"]["changes"][0]["new"]["target"]["hash"],
        "b".repeat(40)
    );
    let ge = super::webhooks_payloads::gitee_push(&push);
    assert_eq!(ge["hook_name"], "push_hooks");
    let gt = super::webhooks_payloads::gitea_push(&push);
    assert_eq!(gt["commits"][1]["modified"][0], "src/x.rs");
}

#[test]
fn server_decodes_chunked_bodies_and_keeps_connections_alive() {
    use std::io::{Read, Write};
    let server = FakeHttpServer::start(|req| Response::bytes(200, "text/plain", req.body.clone()));
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    stream
        .write_all(b"POST /a HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n")
        .unwrap();
    stream
        .write_all(b"GET /b HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("\r\n\r\nabcde"), "{text}");
    assert_eq!(text.matches("HTTP/1.1 200").count(), 2, "{text}");
    let paths: Vec<_> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/a", "/b"]);
}
