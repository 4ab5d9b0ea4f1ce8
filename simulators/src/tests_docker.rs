//! Tests of [`FakeDocker`].

use serde_json::{Value, json};

use super::FakeDocker;
use super::tests_support::{Reply, call};

fn get(d: &FakeDocker, path: &str) -> Reply {
    call("GET", &format!("{}{path}", d.url()), &[], b"")
}

fn update(d: &FakeDocker, key: &str, query: &str, spec: &Value) -> Reply {
    call(
        "POST",
        &format!("{}/v1.47/services/{key}/update?{query}", d.url()),
        &[("content-type", "application/json")],
        spec.to_string().as_bytes(),
    )
}

fn bump_image(d: &FakeDocker, name: &str, image: &str) -> Reply {
    let svc = get(d, &format!("/v1.47/services/{name}")).json();
    let mut spec = svc["Spec"].clone();
    spec["TaskTemplate"]["ContainerSpec"]["Image"] = json!(image);
    let version = svc["Version"]["Index"].as_u64().unwrap();
    update(d, name, &format!("version={version}"), &spec)
}

fn states(d: &FakeDocker, name: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            get(d, &format!("/services/{name}")).json()["UpdateStatus"]["State"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[test]
fn version_inspect_and_not_found() {
    let d = FakeDocker::start();
    let v = get(&d, "/version");
    assert_eq!(v.json()["ApiVersion"], "1.47");
    assert_eq!(v.header("api-version"), Some("1.47"));
    assert_eq!(get(&d, "/v1.45/_ping").text(), "OK");
    assert_eq!(get(&d, "/v1.99/version").status, 400);
    let id = d.add_service("web", "reg/web:v1", 2);
    let svc = get(&d, "/v1.47/services/web").json();
    assert_eq!(svc["ID"], id);
    assert!(svc["Version"]["Index"].as_u64().is_some());
    assert!(svc.get("PreviousSpec").is_none() && svc.get("UpdateStatus").is_none());
    assert_eq!(get(&d, &format!("/services/{}", &id[..6])).json()["ID"], id);
    let r = get(&d, "/services/nope");
    assert_eq!(
        (r.status, r.json()["message"].as_str()),
        (404, Some("service nope not found"))
    );
    assert_eq!(d.image("web").as_deref(), Some("reg/web:v1"));
    let list = get(&d, "/services?filters=%7B%22name%22%3A%5B%22web%22%5D%7D").json();
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[test]
fn update_progresses_and_conflicts() {
    let d = FakeDocker::start();
    d.set_update_steps(2);
    d.add_service("web", "reg/web:v1", 2);
    let before = d.service("web").unwrap();
    let r = bump_image(&d, "web", "reg/web:v2");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({ "Warnings": [] }));
    let after = d.service("web").unwrap();
    assert!(after["Version"]["Index"].as_u64() > before["Version"]["Index"].as_u64());
    assert_eq!(after["PreviousSpec"], before["Spec"]);
    assert_eq!(after["UpdateStatus"]["State"], "updating");
    assert_eq!(d.image("web").as_deref(), Some("reg/web:v2"));
    assert_eq!(states(&d, "web", 3), ["updating", "completed", "completed"]);

    // A stale version is refused the way Docker does.
    let stale = before["Version"]["Index"].as_u64().unwrap();
    let r = update(&d, "web", &format!("version={stale}"), &before["Spec"]);
    assert_eq!(r.status, 500);
    assert_eq!(
        r.json()["message"],
        "rpc error: code = Unknown desc = update out of sequence"
    );
    assert_eq!(update(&d, "web", "", &before["Spec"]).status, 400);
    // Renaming is not supported.
    let cur = d.service("web").unwrap();
    let mut spec = cur["Spec"].clone();
    spec["Name"] = json!("other");
    let r = update(
        &d,
        "web",
        &format!("version={}", cur["Version"]["Index"]),
        &spec,
    );
    assert_eq!(r.status, 501);
    let tasks = get(&d, "/tasks?filters=%7B%22service%22%3A%5B%22web%22%5D%7D").json();
    assert_eq!(tasks.as_array().unwrap().len(), 2);
    assert_eq!(tasks[0]["Status"]["State"], "running");
}

#[test]
fn failed_update_rolls_back_or_pauses() {
    let d = FakeDocker::start();
    d.set_update_steps(1);
    d.add_service("web", "reg/web:v1", 1);
    let svc = d.service("web").unwrap();
    let mut spec = svc["Spec"].clone();
    spec["UpdateConfig"]["FailureAction"] = json!("rollback");
    spec["TaskTemplate"]["ContainerSpec"]["Image"] = json!("reg/web:v2");
    d.fail_next_update("web");
    let r = update(
        &d,
        "web",
        &format!("version={}", svc["Version"]["Index"]),
        &spec,
    );
    assert_eq!(r.status, 200);
    assert_eq!(d.update_state("web").as_deref(), Some("updating"));
    let s = get(&d, "/services/web").json();
    assert_eq!(s["UpdateStatus"]["State"], "rollback_started");
    assert!(
        s["UpdateStatus"]["Message"]
            .as_str()
            .unwrap()
            .starts_with("update rolled back due to failure or early termination of task ")
    );
    assert_eq!(d.image("web").as_deref(), Some("reg/web:v1"));
    assert_eq!(states(&d, "web", 1), ["rollback_completed"]);

    // Without FailureAction rollback the update pauses.
    d.fail_next_update("web");
    let r = bump_image(&d, "web", "reg/web:v3");
    assert_eq!(r.status, 200);
    assert_eq!(states(&d, "web", 2), ["paused", "paused"]);
    assert_eq!(d.image("web").as_deref(), Some("reg/web:v3"));
}

#[test]
fn manual_rollback_swaps_specs() {
    let d = FakeDocker::start();
    d.set_update_steps(1);
    d.add_service("web", "reg/web:v1", 1);
    let svc = d.service("web").unwrap();
    let r = update(
        &d,
        "web",
        &format!("version={}", svc["Version"]["Index"]),
        &Value::Null,
    );
    assert_eq!(r.status, 400, "null spec");
    let r = call(
        "POST",
        &format!(
            "{}/services/web/update?version={}&rollback=previous",
            d.url(),
            svc["Version"]["Index"]
        ),
        &[],
        b"",
    );
    assert_eq!(
        (r.status, r.json()["message"].as_str()),
        (500, Some("service does not have a previous spec"))
    );
    bump_image(&d, "web", "reg/web:v2");
    states(&d, "web", 1);
    let svc = d.service("web").unwrap();
    let r = call(
        "POST",
        &format!(
            "{}/v1.47/services/web/update?version={}&rollback=previous",
            d.url(),
            svc["Version"]["Index"]
        ),
        &[],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let s = d.service("web").unwrap();
    assert_eq!(s["UpdateStatus"]["State"], "rollback_started");
    assert_eq!(d.image("web").as_deref(), Some("reg/web:v1"));
    assert_eq!(
        s["PreviousSpec"]["TaskTemplate"]["ContainerSpec"]["Image"],
        "reg/web:v2"
    );
    assert_eq!(states(&d, "web", 1), ["rollback_completed"]);
}
