//! `GET /api/health` of the real application, in the local host.

use std::sync::Arc;

use serde_json::Value;
use slipway_tests::{APP_TEST_VARIABLES, Host, TempDir, app_manifest};

#[test]
fn health_reports_identity_and_a_key_value_round_trip() {
    let dir = TempDir::new("health");
    let host = Host::start(&app_manifest(&dir), &APP_TEST_VARIABLES);
    let (status, body) = host.get("/api/health");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["app"], "slipway");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["status"], "ok");
    assert_eq!(v["key_value"]["ok"], true);
    assert!(dir.join(".spin/sqlite_key_value.db").exists());
}

#[test]
fn health_rejects_other_methods() {
    let dir = TempDir::new("health-method");
    let host = Host::start(&app_manifest(&dir), &APP_TEST_VARIABLES);
    let (status, body) = host.post("/api/health", b"{}");
    assert_eq!(status, 405);
    assert!(body.contains("method not allowed"), "{body}");
}

#[test]
fn concurrent_health_checks_do_not_interfere() {
    let dir = TempDir::new("health-concurrent");
    let host = Arc::new(Host::start(&app_manifest(&dir), &APP_TEST_VARIABLES));
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let host = host.clone();
            std::thread::spawn(move || {
                for _ in 0..10 {
                    let (status, body) = host.get("/api/health");
                    assert_eq!(status, 200, "{body}");
                    assert!(body.contains("\"ok\":true"), "{body}");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}
