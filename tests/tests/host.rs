//! The local host against small fixture components: routing, Spin headers,
//! instance reuse, key-value durability and atomicity across processes,
//! variables, outbound policy, service chaining, start-up errors, and the
//! host's defences against misbehaving guests and clients.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use slipway_tests::{FakeServer, Host, TempDir, unused_port, wasm};

/// Writes the fixture app's manifest into `dir` and returns its path.
fn fixture_app(dir: &TempDir, extra: &str) -> PathBuf {
    let source = wasm("fixture-component");
    let manifest = format!(
        r#"spin_manifest_version = 2
[application]
name = "fixture-app"
version = "1.2.3"

[variables]
who = {{ default = "world" }}
token = {{ required = true, secret = true }}
fake_port = {{ default = "9" }}

[[trigger.http]]
route = "/op/..."
component = "fixture"
[[trigger.http]]
route = "/users/:user_id"
component = "fixture"
[[trigger.http]]
route = "/users/me"
component = "me"
[[trigger.http]]
route = "/files/..."
component = "files"
[[trigger.http]]
route = "/..."
component = "fallback"
[[trigger.http]]
route = "/target/..."
component = "target"

[component.fixture]
source = "{source}"
key_value_stores = ["default", "other"]
allowed_outbound_hosts = ["http://127.0.0.1:{{{{ fake_port }}}}", "http://target.spin.internal"]
variables = {{ greeting = "hello {{{{ who }}}}", secret_token = "{{{{ token }}}}" }}

files = [{{ source = "mounted", destination = "/config" }}, "static/*.txt"]

[component.me]
source = "{source}"
[component.files]
source = "{source}"
[component.fallback]
source = "{source}"
[component.target]
source = "{source}"
key_value_stores = ["default"]
{extra}"#,
        source = source.display()
    );
    let path = dir.join("spin.toml");
    std::fs::write(&path, manifest).unwrap();
    std::fs::create_dir_all(dir.join("mounted")).unwrap();
    std::fs::write(dir.join("mounted/app.toml"), "answer = 42\n").unwrap();
    std::fs::create_dir_all(dir.join("static")).unwrap();
    std::fs::write(dir.join("static/hello.txt"), "hello file").unwrap();
    std::fs::write(dir.join("static/skip.md"), "not matched").unwrap();
    path
}

/// A runtime config giving the `other` store its own in-memory SQLite.
fn runtime_config(dir: &TempDir, body: &str) -> PathBuf {
    let path = dir.join("runtime-config.toml");
    std::fs::write(&path, body).unwrap();
    path
}

const OTHER_STORE: &str = "[key_value_store.other]\ntype = \"spin\"\n";

fn start(dir: &TempDir, args: &[&str]) -> Host {
    let manifest = fixture_app(dir, "");
    let rc = runtime_config(dir, OTHER_STORE);
    let mut all = vec![
        "--runtime-config-file",
        rc.to_str().unwrap(),
        "--variable",
        "token=s3cr3t-value",
    ];
    all.extend_from_slice(args);
    Host::start(&manifest, &all)
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[test]
fn routes_by_specificity_and_passes_spin_headers() {
    let dir = TempDir::new("routing");
    let host = start(&dir, &[]);

    let (status, body) = host.get("/users/42?x=1");
    assert_eq!(status, 200);
    let v = json(&body);
    let h = &v["headers"];
    assert_eq!(h["spin-matched-route"], "/users/:user_id");
    assert_eq!(h["spin-component-route"], "/users/:user_id");
    assert_eq!(h["spin-raw-component-route"], "/users/:user_id");
    assert_eq!(h["spin-path-match-user-id"], "42");
    assert_eq!(h["spin-path-info"], "");
    assert_eq!(h["spin-base-path"], "/");
    assert_eq!(
        h["spin-full-url"],
        format!("http://{}/users/42?x=1", host.addr).as_str()
    );
    assert!(
        h["spin-client-addr"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );

    // Exact beats parameter; wildcard gives the rest as path info.
    let me = json(&host.get("/users/me").1);
    assert_eq!(me["headers"]["spin-matched-route"], "/users/me");
    let files = json(&host.get("/files/a/b.txt").1);
    assert_eq!(files["headers"]["spin-matched-route"], "/files/...");
    assert_eq!(files["headers"]["spin-component-route"], "/files");
    assert_eq!(files["headers"]["spin-path-info"], "/a/b.txt");
    let fallback = json(&host.get("/nothing/here").1);
    assert_eq!(fallback["headers"]["spin-matched-route"], "/...");
    assert_eq!(fallback["headers"]["spin-path-info"], "/nothing/here");

    // Runtime routes, and a route under them is never reached.
    assert_eq!(host.get("/.well-known/spin/health"), (200, "OK".into()));
    assert_eq!(host.get("/.well-known/spin/other").0, 404);

    // One console line per request: method, path, status, milliseconds
    // (written after the response, so it may trail the answer a little).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut lines = host.stdout();
    while !lines.iter().any(|l| l.starts_with("GET /users/42 200 "))
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
        lines = host.stdout();
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("GET /users/42 200 ") && l.ends_with("ms")),
        "{lines:?}"
    );
    // Routes are printed at start-up.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("fixture: http://") && l.contains("/op (wildcard)"))
    );
}

#[test]
fn instances_are_reused_by_default_and_fresh_on_request() {
    let dir = TempDir::new("reuse");
    let host = start(&dir, &["--max-instance-reuse-count", "128"]);
    let seen: Vec<u64> = (0..5)
        .map(|_| host.get("/op/instance").1.parse().unwrap())
        .collect();
    assert!(
        seen.windows(2).any(|w| w[1] > w[0]),
        "a reused instance keeps its globals: {seen:?}"
    );
    drop(host);

    let fresh = start(&dir, &["--max-instance-reuse-count", "1"]);
    for _ in 0..5 {
        assert_eq!(fresh.get("/op/instance"), (200, "1".into()));
    }
}

#[test]
fn instances_expire_after_the_idle_timeout() {
    let dir = TempDir::new("idle");
    let host = start(
        &dir,
        &[
            "--max-instance-reuse-count",
            "128",
            "--idle-instance-timeout",
            "100ms",
        ],
    );
    assert_eq!(host.get("/op/instance").1, "1");
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(
        host.get("/op/instance").1,
        "1",
        "idle instance should be dropped"
    );
}

#[test]
fn key_value_survives_a_restart_and_labels_are_enforced() {
    let dir = TempDir::new("persist");
    let host = start(&dir, &[]);
    assert_eq!(
        host.post("/op/kv/set?store=default&key=greeting", b"persisted")
            .0,
        200
    );
    drop(host);
    let host = start(&dir, &[]);
    assert_eq!(
        host.get("/op/kv/get?store=default&key=greeting"),
        (200, "persisted".into())
    );
    assert!(dir.join(".spin/sqlite_key_value.db").exists());
    // A label the component does not list is denied; keys are listed.
    let (status, body) = host.get("/target/op/kv/get?store=other&key=x");
    assert_eq!(status, 403);
    assert!(body.contains("denied") || body.contains("Denied"), "{body}");
    assert_eq!(host.get("/op/kv/keys?store=default").1, "greeting");
}

/// Fires `total` requests at `path` from `threads` threads spread over the
/// given hosts, returning every body.
fn hammer(hosts: &[Arc<Host>], path: &str, total: usize, threads: usize) -> Vec<String> {
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let host = hosts[t % hosts.len()].clone();
            let path = path.to_owned();
            // Spread `total` exactly: the first `total % threads` threads do one more.
            let count = total / threads + usize::from(t < total % threads);
            std::thread::spawn(move || {
                (0..count)
                    .map(|_| {
                        let (status, body) = host.post(&path, b"");
                        assert_eq!(status, 200, "{path}: {body}");
                        body
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect()
}

fn assert_all_distinct_up_to(bodies: Vec<String>, n: u64) {
    let values: BTreeSet<u64> = bodies.iter().map(|b| b.parse().unwrap()).collect();
    assert_eq!(values.len() as u64, n, "duplicate or lost values");
    assert_eq!(values.iter().next_back().copied(), Some(n));
}

#[test]
fn no_lost_increments_between_two_processes_on_one_sqlite_file() {
    let dir = TempDir::new("sqlite-contention");
    let a = Arc::new(start(&dir, &[]));
    let b = Arc::new(start(&dir, &[]));
    let hosts = [a.clone(), b.clone()];
    assert_all_distinct_up_to(
        hammer(&hosts, "/op/kv/incr?store=default&key=n", 200, 16),
        200,
    );
    // Compare-and-swap only, starting from a key that does not exist.
    assert_all_distinct_up_to(
        hammer(&hosts, "/op/kv/cas-incr?store=default&key=c", 200, 16),
        200,
    );
    for host in hosts {
        assert!(
            !host.stderr().iter().any(|l| l.contains("locked")),
            "{:?}",
            host.stderr()
        );
    }
}

fn redis_server() -> Option<(std::process::Child, u16)> {
    let port = unused_port();
    let child = std::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .ok()?;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((child, port));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    None
}

#[test]
fn no_lost_increments_between_two_processes_on_one_redis() {
    let Some((mut redis, port)) = redis_server() else {
        if std::env::var("SLIPWAY_SKIP_REDIS").is_ok() {
            eprintln!("redis-server not available; skipped because SLIPWAY_SKIP_REDIS is set");
            return;
        }
        panic!("redis-server is required for this test (apt-get install redis-server)");
    };
    let dir = TempDir::new("redis");
    let manifest = fixture_app(&dir, "");
    let rc = runtime_config(
        &dir,
        &format!(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:{port}\"\n{OTHER_STORE}"
        ),
    );
    let args = [
        "--runtime-config-file",
        rc.to_str().unwrap(),
        "--variable",
        "token=x",
    ];
    let a = Arc::new(Host::start(&manifest, &args));
    let b = Arc::new(Host::start(&manifest, &args));
    let hosts = [a.clone(), b.clone()];
    assert_all_distinct_up_to(
        hammer(&hosts, "/op/kv/incr?store=default&key=n", 200, 16),
        200,
    );
    assert_all_distinct_up_to(
        hammer(&hosts, "/op/kv/cas-incr?store=default&key=c", 200, 16),
        200,
    );
    // Spin's Redis encoding: counters are decimal text.
    assert_eq!(a.get("/op/kv/get?store=default&key=n"), (200, "200".into()));
    drop((a, b));
    let _ = redis.kill();
    let _ = redis.wait();
}

#[test]
fn variables_resolve_from_flags_env_and_defaults() {
    let dir = TempDir::new("vars");
    let manifest = fixture_app(&dir, "");
    let rc = runtime_config(&dir, OTHER_STORE);
    let host = Host::try_start(
        &manifest,
        &["--runtime-config-file", rc.to_str().unwrap()],
        &[
            ("SPIN_VARIABLE_TOKEN", "from-env-secret"),
            ("SPIN_VARIABLE_WHO", "slipway"),
        ],
    )
    .unwrap_or_else(|f| panic!("{}", f.stderr));
    assert_eq!(
        host.get("/op/var?name=greeting"),
        (200, "hello slipway".into())
    );
    assert_eq!(
        host.get("/op/var?name=secret_token"),
        (200, "from-env-secret".into())
    );
    let (status, body) = host.get("/op/var?name=nope");
    assert_eq!(status, 404);
    assert!(body.contains("nope"), "{body}");
    // The secret never reaches the host's own output.
    let output = [host.stdout(), host.stderr()].concat().join("\n");
    assert!(!output.contains("from-env-secret"), "{output}");
}

#[test]
fn missing_required_variable_stops_start_up() {
    let dir = TempDir::new("missing-var");
    let manifest = fixture_app(&dir, "");
    let rc = runtime_config(&dir, OTHER_STORE);
    let failure = Host::try_start(
        &manifest,
        &["--runtime-config-file", rc.to_str().unwrap()],
        &[],
    )
    .err()
    .expect("start-up must fail");
    assert!(!failure.status.unwrap().success());
    assert!(failure.stderr.contains("token"), "{}", failure.stderr);
}

#[test]
fn outbound_requests_follow_the_allow_list() {
    let fake = FakeServer::start(200, "fake says hi");
    let other = FakeServer::start(200, "must not be reached");
    let dir = TempDir::new("outbound");
    let port = fake.addr.port().to_string();
    let var = format!("fake_port={port}");
    let host = start(&dir, &["--variable", &var]);

    let (status, body) = host.get(&format!("/op/fetch?url=http://127.0.0.1:{port}/hello"));
    assert_eq!((status, body.as_str()), (200, "200\nfake says hi"));
    assert_eq!(
        fake.requests.lock().unwrap().as_slice(),
        ["GET /hello HTTP/1.1"]
    );

    let denied = format!("/op/fetch?url=http://127.0.0.1:{}/x", other.addr.port());
    let (status, body) = host.get(&denied);
    assert_eq!(status, 502);
    assert!(body.contains("HttpRequestDenied"), "{body}");
    assert!(other.requests.lock().unwrap().is_empty());
    // A component without an allow-list reaches nothing.
    let (status, _) = host.get(&format!("/target/op/fetch?url=http://127.0.0.1:{port}/"));
    assert_eq!(status, 502);
}

#[test]
fn service_chaining_calls_the_component_in_process() {
    let dir = TempDir::new("chaining");
    let host = start(&dir, &[]);
    let (status, body) = host.get("/op/fetch?url=http://target.spin.internal/target/op/headers");
    assert_eq!(status, 200, "{body}");
    let (code, json_body) = body.split_once('\n').unwrap();
    assert_eq!(code, "200");
    let v = json(json_body);
    assert_eq!(v["headers"]["spin-matched-route"], "/target/...");
    assert_eq!(v["headers"]["spin-path-info"], "/op/headers");
    // Chaining to a component not in the allow-list is refused.
    let (status, body) = host.get("/op/fetch?url=http://files.spin.internal/files/x");
    assert_eq!(status, 502, "{body}");
}

#[test]
fn files_are_mounted_read_only() {
    let dir = TempDir::new("files");
    let host = start(&dir, &[]);
    assert_eq!(
        host.get("/op/file?path=/config/app.toml"),
        (200, "answer = 42\n".into())
    );
    assert_eq!(
        host.get("/op/file?path=/static/hello.txt"),
        (200, "hello file".into())
    );
    assert_eq!(host.get("/op/file?path=/static/skip.md").0, 404);
    assert_eq!(
        host.get("/target/op/file?path=/config/app.toml").0,
        404,
        "other components see nothing"
    );
}

#[test]
fn component_output_goes_to_log_files_and_traps_are_contained() {
    let dir = TempDir::new("logs");
    let host = start(&dir, &[]);
    assert_eq!(host.get("/op/log?text=abc").0, 200);
    assert_eq!(host.get("/op/trap").0, 500);
    assert_eq!(
        host.get("/op/instance").0,
        200,
        "host keeps serving after a trap"
    );
    let out = std::fs::read_to_string(dir.join(".spin/logs/fixture_stdout.txt")).unwrap();
    let err = std::fs::read_to_string(dir.join(".spin/logs/fixture_stderr.txt")).unwrap();
    assert!(out.contains("fixture-log-line abc"), "{out}");
    assert!(err.contains("fixture-err-line abc"), "{err}");
}

#[test]
fn the_host_can_call_a_tick_route_on_an_interval() {
    let dir = TempDir::new("tick");
    let host = start(
        &dir,
        &["--tick-path", "/op/instance", "--tick-interval", "100ms"],
    );
    std::thread::sleep(std::time::Duration::from_millis(600));
    let ticks = host
        .stdout()
        .iter()
        .filter(|l| l.starts_with("tick POST /op/instance 200"))
        .count();
    assert!(ticks >= 2, "{:?}", host.stdout());
}

#[test]
fn ctrl_c_finishes_in_flight_requests_then_exits() {
    let dir = TempDir::new("shutdown");
    let mut host = start(&dir, &[]);
    assert_eq!(host.get("/op/instance").0, 200);
    let url = host.url("/op/sleep?ms=700");
    let in_flight = std::thread::spawn(move || {
        let response = ureq::get(&url).call().expect("in-flight request");
        (
            response.status(),
            response.into_string().unwrap_or_default(),
        )
    });
    std::thread::sleep(std::time::Duration::from_millis(200));
    let status = host.interrupt();
    assert!(status.success(), "{status:?}");
    assert_eq!(in_flight.join().unwrap(), (200, "slept 700 ms".into()));
    assert!(host.stdout().iter().any(|l| l.contains("Shutting down")));
}

#[test]
fn second_start_uses_the_compile_cache() {
    let dir = TempDir::new("cache");
    let cache = dir.join("compiled");
    let args = ["--cache-dir", cache.to_str().unwrap()];
    let says = |host: &Host, what: &str| host.stdout().iter().any(|l| l.contains(what));
    let host = start(&dir, &args);
    assert!(says(&host, "compiled in"), "{:?}", host.stdout());
    drop(host);
    let host = start(&dir, &args);
    assert!(
        says(&host, "loaded precompiled code") && !says(&host, "compiled in"),
        "{:?}",
        host.stdout()
    );
}

fn start_failure(dir: &TempDir, manifest_text: &str, args: &[&str]) -> String {
    let path = dir.join("spin.toml");
    std::fs::write(&path, manifest_text).unwrap();
    let failure = Host::try_start(&path, args, &[])
        .err()
        .expect("start-up must fail");
    assert!(!failure.status.expect("exited").success());
    failure.stderr
}

#[test]
fn start_up_errors_say_what_to_fix() {
    let dir = TempDir::new("errors");
    let source = wasm("fixture-component");
    let good = format!(
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"c\"\n[component.c]\nsource = \"{}\"\n",
        source.display()
    );

    let err = start_failure(
        &dir,
        "spin_manifest_version = 2\n[application\nname = 1\n",
        &[],
    );
    assert!(err.contains("spin.toml:2:"), "{err}");

    let err = start_failure(
        &dir,
        &good.replace("component = \"c\"", "component = \"d\""),
        &[],
    );
    assert!(
        err.contains("spin.toml:6:") && err.contains("unknown component \"d\""),
        "{err}"
    );

    let err = start_failure(
        &dir,
        &good.replace(&source.display().to_string(), "missing.wasm"),
        &[],
    );
    assert!(
        err.contains("missing.wasm") && err.contains("cannot read"),
        "{err}"
    );

    std::fs::write(dir.join("core.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let err = start_failure(
        &dir,
        &good.replace(&source.display().to_string(), "core.wasm"),
        &[],
    );
    assert!(err.contains("not a valid WebAssembly component"), "{err}");

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let path = dir.join("spin.toml");
    std::fs::write(&path, &good).unwrap();
    let failure = Host::try_start(&path, &["--listen", &addr], &[])
        .err()
        .expect("port in use");
    assert!(
        failure.stderr.contains("already in use"),
        "{}",
        failure.stderr
    );
}

// The host defends itself: request timeouts (even for a guest that never
// yields), a memory cap per instance, a request body cap applied while the
// body streams, and a cap on concurrent requests per component. The
// `misbehave-guest` component misbehaves on request.

/// Writes a manifest serving `misbehave-guest` on every path.
fn misbehave_app(dir: &TempDir) -> PathBuf {
    let manifest = format!(
        "spin_manifest_version = 2\n[application]\nname = \"misbehave\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"misbehave\"\n[component.misbehave]\nsource = \"{}\"\n",
        wasm("misbehave-guest").display()
    );
    let path = dir.join("spin.toml");
    std::fs::write(&path, manifest).unwrap();
    path
}

/// Waits (generously) until the guest's stdout log has a line `matches`
/// accepts, and returns it.
fn guest_log_line(dir: &TempDir, matches: impl Fn(&str) -> bool) -> String {
    let log = dir.join(".spin/logs/misbehave_stdout.txt");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| matches(l)) {
            return line.to_owned();
        }
        assert!(Instant::now() < deadline, "no such line in {text:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until stderr has a line containing `needle`.
fn wait_for_stderr(host: &Host, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !host.stderr().iter().any(|l| l.contains(needle)) {
        assert!(
            Instant::now() < deadline,
            "{needle:?} not in {:?}",
            host.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `head` (request line and headers), then lets `send_body` write the
/// body from another thread, and returns the response's status code. Write
/// errors are ignored: the host may close the connection once it answered.
fn raw_status(
    host: &Host,
    head: &str,
    send_body: impl FnOnce(&mut TcpStream) -> std::io::Result<()> + Send + 'static,
) -> u16 {
    let stream = TcpStream::connect(host.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    writer.write_all(head.as_bytes()).unwrap();
    let sender = std::thread::spawn(move || {
        let _ = send_body(&mut writer);
    });
    let mut status_line = String::new();
    BufReader::new(&stream)
        .read_line(&mut status_line)
        .expect("a response");
    let _ = stream.shutdown(std::net::Shutdown::Both);
    sender.join().unwrap();
    status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not a status line: {status_line:?}"))
}

/// Writes `total` bytes as chunks of 64 KiB, then the last chunk.
fn send_chunked(stream: &mut TcpStream, total: usize) -> std::io::Result<()> {
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    while sent < total {
        let n = chunk.len().min(total - sent);
        write!(stream, "{n:x}\r\n")?;
        stream.write_all(&chunk[..n])?;
        stream.write_all(b"\r\n")?;
        sent += n;
    }
    stream.write_all(b"0\r\n\r\n")
}

fn chunked_head(host: &Host, path: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nhost: {}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        host.addr
    )
}

#[test]
fn a_guest_in_a_cpu_loop_is_stopped_at_the_request_timeout() {
    let dir = TempDir::new("cpu-loop");
    let host = Arc::new(Host::start(
        &misbehave_app(&dir),
        &["--request-timeout", "2s"],
    ));
    let spinning = {
        let host = host.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            let (status, _) = host.get("/spin");
            (status, started.elapsed())
        })
    };
    // While one guest spins, the host serves others.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(host.get("/ok"), (200, "ok".into()));
    let (status, took) = spinning.join().unwrap();
    assert_eq!(status, 500);
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(12),
        "cut off after {took:?}"
    );
    assert_eq!(
        host.get("/ok"),
        (200, "ok".into()),
        "the host keeps serving"
    );
    wait_for_stderr(&host, "request timed out after 2s");
    // A guest that waits rather than spins is cut off too.
    let started = Instant::now();
    assert_eq!(host.get("/sleep?ms=60000").0, 500);
    assert!(started.elapsed() < Duration::from_secs(12));
    assert_eq!(host.get("/ok"), (200, "ok".into()));
}

#[test]
fn an_allocation_over_the_memory_limit_fails_only_that_request() {
    let dir = TempDir::new("memory");
    let host = Host::start(&misbehave_app(&dir), &["--max-instance-memory", "64MiB"]);
    let (status, body) = host.get("/alloc?mb=16");
    assert_eq!(status, 200, "{body}");
    assert_eq!(host.get("/alloc?mb=128").0, 500);
    assert_eq!(
        host.get("/ok"),
        (200, "ok".into()),
        "the host keeps serving"
    );
    assert_eq!(host.get("/alloc?mb=16").0, 200);
    wait_for_stderr(&host, "--max-instance-memory (64 MiB)");
}

#[test]
fn a_chunked_body_over_the_limit_gets_413_and_the_guest_never_sees_more() {
    let dir = TempDir::new("body-chunked");
    let host = Host::start(&misbehave_app(&dir), &["--max-request-body", "1MiB"]);
    let limit = 1024 * 1024;
    // Within the limit, a chunked body reaches the guest whole.
    let head = chunked_head(&host, "/echo-len");
    assert_eq!(
        raw_status(&host, &head, move |s| send_chunked(s, limit)),
        200
    );
    guest_log_line(&dir, |l| l == format!("echo-len read {limit} bytes"));
    // Past it, the client gets 413 and the guest a body error.
    assert_eq!(
        raw_status(&host, &head, move |s| send_chunked(s, 16 * limit)),
        413
    );
    let line = guest_log_line(&dir, |l| l.starts_with("echo-len body failed after "));
    let seen: usize = line
        .trim_start_matches("echo-len body failed after ")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(seen <= limit, "the guest saw {seen} bytes: {line}");
    assert!(line.contains("HttpRequestBodySize"), "{line}");
    assert_eq!(host.get("/ok"), (200, "ok".into()));
}

#[test]
fn a_declared_content_length_over_the_limit_gets_413_before_the_body_is_read() {
    let dir = TempDir::new("body-declared");
    let host = Host::start(&misbehave_app(&dir), &["--max-request-body", "1MiB"]);
    // The body is never sent: the host must answer from the headers alone.
    let head = format!(
        "POST /echo-len HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\n\r\n",
        host.addr,
        2 * 1024 * 1024
    );
    assert_eq!(raw_status(&host, &head, |_| Ok(())), 413);
    // A declared length within the limit is served.
    let (status, body) = host.post("/echo-len", &[b'y'; 4096]);
    assert_eq!((status, body.as_str()), (200, "4096"));
    let log = std::fs::read_to_string(dir.join(".spin/logs/misbehave_stdout.txt")).unwrap();
    assert_eq!(
        log.lines().count(),
        1,
        "the refused request never ran: {log}"
    );
}

#[test]
fn requests_beyond_the_concurrency_limit_get_503_with_retry_after() {
    let dir = TempDir::new("concurrency");
    let host = Host::start(&misbehave_app(&dir), &["--max-concurrent-requests", "2"]);
    let url = host.url("/sleep?ms=4000");
    let requests: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || match ureq::get(&url).call() {
                Ok(r) => (r.status(), r.header("retry-after").map(str::to_owned)),
                Err(ureq::Error::Status(code, r)) => {
                    (code, r.header("retry-after").map(str::to_owned))
                }
                Err(e) => panic!("{e}"),
            })
        })
        .collect();
    let mut answers: Vec<_> = requests.into_iter().map(|t| t.join().unwrap()).collect();
    answers.sort();
    assert_eq!(
        answers,
        [(200, None), (200, None), (503, Some("1".to_owned()))]
    );
    // The slots are free again once the responses have been sent.
    assert_eq!(host.get("/ok"), (200, "ok".into()));
    assert_eq!(host.get("/sleep?ms=1"), (200, "slept 1 ms".into()));
}
