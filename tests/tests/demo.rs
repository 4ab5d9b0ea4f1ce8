//! The embedded demo (`scripts/demo.sh`), run to its end in auto-approve
//! mode: the real app with the simulated GitHub, Jenkins and Kubernetes
//! takes a push through tests, an image, `test`, an approval and a canary
//! to production, then stops a push whose unit tests fail. The printed
//! outcome is what is checked, as a newcomer would read it.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use slipway_tests::{host_binary, instance_mode_args, target_dir, unused_port};

/// The tests run one demo at a time (each starts the app and simulators).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Auto-approve mode, with the suite's compile cache and instance mode.
fn options() -> slipway_demo::Options {
    let mut options = slipway_demo::Options::beside(&host_binary()).unwrap();
    options.auto_approve = true;
    options.cache_dir = Some(target_dir().join("slipway-test-cache"));
    options.host_args = instance_mode_args().iter().map(|a| a.to_string()).collect();
    options
}

/// Keeps what the demo prints and shows it on stderr as it comes.
struct Tee(Arc<Mutex<Vec<u8>>>);

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        std::io::stderr().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[test]
fn the_demo_promotes_a_canary_then_stops_a_failing_push() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let options = options();
    let printed = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let ok = slipway_demo::run(&options, &mut Tee(printed.clone()));
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&printed.lock().unwrap()).into_owned();
    assert!(matches!(ok, Ok(true)), "{ok:?}\n{text}");

    // Every stage of the first push, in the order the pipeline gives them.
    let mut from = 0;
    for stage in ["unit-test", "image", "deploy-test", "approve", "production"] {
        let line = format!(" {stage:<12} succeeded ");
        let at = text[from..]
            .find(&line)
            .unwrap_or_else(|| panic!("no {line:?} after byte {from}:\n{text}"));
        from += at;
    }
    assert!(text.contains("canary 25%"), "{text}");
    assert!(text.contains("--auto-approve: approving approve"), "{text}");
    let outcome = |n: u32| {
        text.lines()
            .find(|l| l.starts_with(&format!("Outcome of push {n} ")))
            .unwrap_or_else(|| panic!("no outcome of push {n}:\n{text}"))
            .to_owned()
    };
    let first = outcome(1);
    assert!(
        first.contains("run shop-1 succeeded: canary promoted, production runs registry.example.com/acme/shop@sha256:"),
        "{first}"
    );
    let second = outcome(2);
    assert!(
        second.contains("run shop-2 failed at unit-test: 2 of 12 tests failed: com.acme.shop.CartTest.totalsPrices (expected: <42.50> but was: <40.00>)"),
        "{second}"
    );
    assert!(second.contains("nothing deployed"), "{second}");
    assert!(text.contains("commit status on GitHub: failure"), "{text}");
    assert!(text.contains("\nDemo result: OK in "), "{text}");
    // About 25 s on 2 cores once the components are compiled (the suite's
    // hosts share that cache); a cold cache adds their compilation.
    assert!(took < Duration::from_secs(180), "the demo took {took:?}");
}

#[test]
fn stopping_the_demo_midway_stops_the_app() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut options = options();
    let port = unused_port();
    options.port = Some(port);
    let printed = Arc::new(Mutex::new(Vec::new()));
    let (seen, stop) = (printed.clone(), options.stop.clone());
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            let text = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
            if text.contains(" unit-test    running") {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // What Ctrl-C does in the binary.
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let result = slipway_demo::run(&options, &mut Tee(printed.clone()));
    let text = String::from_utf8_lossy(&printed.lock().unwrap()).into_owned();
    let error = result.expect_err(&text);
    assert_eq!(error.to_string(), "interrupted", "{text}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the app still serves on {port}"
    );
}
