//! One Swarm deployment test, two engines: the [`FakeDocker`] and the real
//! Docker Engine in Swarm mode that `scripts/setup.sh` starts (its Engine
//! API on `tcp://127.0.0.1:2375`, or `SLIPWAY_DOCKER_URL`). Whatever both
//! can do, a test runs on both through [`SwarmTarget`], so the fake cannot
//! drift from the engine it stands for.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::fakes::FakeDocker;

/// A Docker Engine with services, as a deployment test arranges and reads it.
pub trait SwarmTarget {
    /// The Engine API's base URL.
    fn url(&self) -> String;
    /// The API version to configure (`1.41` on Debian's Engine 20.10).
    fn api_version(&self) -> String;
    /// Creates service `name` running `image` with `replicas` tasks.
    fn create_service(&self, name: &str, image: &str, replicas: u64);
    /// The service as `GET /services/{name}` shows it.
    fn service(&self, name: &str) -> Value;
    /// An image the service can be updated to and run.
    fn good_image(&self) -> String;
    /// An image whose update of `service` fails (and so rolls back).
    fn failing_image(&self, service: &str) -> String;
    /// How long an update may take to settle on this engine.
    fn patience(&self) -> Duration;
    /// Two images that pass the stack tests' health check
    /// (`/bin/busybox test -f /healthy`).
    fn stack_images(&self) -> (String, String);
    /// An image whose update of `service` fails its health check.
    fn unhealthy_image(&self, service: &str) -> String;
    /// A swarm secret `name` (replacing one left over).
    fn create_secret(&self, name: &str);
    /// Removes the services and networks labelled with stack `stack`.
    fn remove_stack(&self, stack: &str);

    /// `GET path` (under the API version) as JSON.
    fn get(&self, path: &str) -> Value {
        get_json(&format!("{}/v{}{path}", self.url(), self.api_version()))
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// The services of stack `stack` (by its namespace label), by name.
    fn stack_services(&self, stack: &str) -> std::collections::BTreeMap<String, Value> {
        let filters = json!({"label": [format!("com.docker.stack.namespace={stack}")]});
        let list = self.get(&format!(
            "/services?filters={}",
            urlencode(&filters.to_string())
        ));
        list.as_array()
            .expect("a list")
            .iter()
            .map(|s| {
                (
                    s["Spec"]["Name"].as_str().unwrap_or_default().to_owned(),
                    s.clone(),
                )
            })
            .collect()
    }
}

/// The image `service` runs, per its spec.
pub fn image_of(target: &dyn SwarmTarget, service: &str) -> String {
    let s = target.service(service);
    s["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

impl SwarmTarget for FakeDocker {
    fn url(&self) -> String {
        crate::fakes::server::FakeHttpServer::url(self)
    }
    fn api_version(&self) -> String {
        "1.47".into()
    }
    fn create_service(&self, name: &str, image: &str, replicas: u64) {
        self.add_service(name, image, replicas);
    }
    fn service(&self, name: &str) -> Value {
        FakeDocker::service(self, name).expect("service")
    }
    fn good_image(&self) -> String {
        "registry.example.com/acme/shop:2.0.0".into()
    }
    fn failing_image(&self, service: &str) -> String {
        self.fail_next_update(service);
        "registry.example.com/acme/shop:broken".into()
    }
    fn patience(&self) -> Duration {
        Duration::from_secs(20)
    }
    fn stack_images(&self) -> (String, String) {
        (
            "registry.example.com/acme/shop:1.0.0".into(),
            "registry.example.com/acme/shop:2.0.0".into(),
        )
    }
    fn unhealthy_image(&self, service: &str) -> String {
        self.fail_next_update(service);
        "registry.example.com/acme/shop:unhealthy".into()
    }
    fn create_secret(&self, name: &str) {
        self.add_secret(name);
    }
    fn remove_stack(&self, _stack: &str) {}
}

/// The Docker Engine of this machine, reached over its TCP listener.
pub struct RealSwarm {
    url: String,
    services: std::cell::RefCell<Vec<String>>,
}

/// The test images: busybox (static, from Debian's `busybox-static`)
/// imported `FROM scratch`, as two tags; nothing is pulled.
const IMAGE_V1: &str = "slipway-test/app:1";
const IMAGE_V2: &str = "slipway-test/app:2";
/// The stack test images: busybox with a `/healthy` file, as two tags.
const STACK_V1: &str = "slipway-test/stack:1";
const STACK_V2: &str = "slipway-test/stack:2";

impl RealSwarm {
    /// The engine at `SLIPWAY_DOCKER_URL` (default `http://127.0.0.1:2375`),
    /// with the test images imported. Panics, saying how to start one, when
    /// there is no engine in Swarm mode: the test must not pass without it.
    pub fn connect() -> RealSwarm {
        let url =
            std::env::var("SLIPWAY_DOCKER_URL").unwrap_or_else(|_| "http://127.0.0.1:2375".into());
        let info: Value = get_json(&format!("{url}/v1.41/info")).unwrap_or_else(|e| {
            panic!("no Docker Engine at {url} ({e}): scripts/setup.sh starts one")
        });
        assert_eq!(
            info["Swarm"]["LocalNodeState"], "active",
            "the engine at {url} is not in Swarm mode: docker swarm init --advertise-addr 127.0.0.1"
        );
        import_images();
        RealSwarm {
            url,
            services: Default::default(),
        }
    }

    fn api(&self, path: &str) -> String {
        format!("{}/v1.41{path}", self.url)
    }
}

/// Imports busybox as [`IMAGE_V1`] and [`IMAGE_V2`], and with a
/// `/healthy` file as [`STACK_V1`] and [`STACK_V2`], once per machine.
fn import_images() {
    let have = Command::new("docker")
        .args(["image", "inspect", IMAGE_V1, IMAGE_V2, STACK_V1, STACK_V2])
        .output()
        .is_ok_and(|o| o.status.success());
    if have {
        return;
    }
    let cmd = r#"CMD ["/bin/busybox","sleep","86400"]"#;
    let script = format!(
        "set -e; d=$(mktemp -d); mkdir -p $d/bin; cp /bin/busybox $d/bin/; \
         tar -C $d -c . | docker import -c '{cmd}' - {IMAGE_V1}; \
         docker tag {IMAGE_V1} {IMAGE_V2}; touch $d/healthy; \
         tar -C $d -c . | docker import -c '{cmd}' - {STACK_V1}; \
         docker tag {STACK_V1} {STACK_V2}; rm -rf $d"
    );
    let status = Command::new("sh")
        .args(["-c", &script])
        .status()
        .expect("sh");
    assert!(status.success(), "importing the test images failed");
}

impl SwarmTarget for RealSwarm {
    fn url(&self) -> String {
        self.url.clone()
    }
    fn api_version(&self) -> String {
        "1.41".into()
    }
    fn create_service(&self, name: &str, image: &str, replicas: u64) {
        // A leftover of an interrupted run would make the create fail.
        let _ = ureq::delete(&self.api(&format!("/services/{name}"))).call();
        let spec = json!({
            "Name": name,
            "TaskTemplate": {"ContainerSpec": {"Image": image}},
            "Mode": {"Replicated": {"Replicas": replicas}},
        });
        ureq::post(&self.api("/services/create"))
            .set("content-type", "application/json")
            .send_string(&spec.to_string())
            .unwrap_or_else(|e| panic!("create {name}: {e}"));
        self.services.borrow_mut().push(name.to_owned());
        wait_running(self, name, replicas);
    }
    fn service(&self, name: &str) -> Value {
        get_json(&self.api(&format!("/services/{name}")))
            .unwrap_or_else(|e| panic!("inspect {name}: {e}"))
    }
    fn good_image(&self) -> String {
        IMAGE_V2.into()
    }
    fn failing_image(&self, _service: &str) -> String {
        // Not on this machine and no registry to pull from: the new task is
        // rejected, the update fails and Swarm rolls it back.
        "slipway-test/app:missing".into()
    }
    fn patience(&self) -> Duration {
        Duration::from_secs(90)
    }
    fn stack_images(&self) -> (String, String) {
        (STACK_V1.into(), STACK_V2.into())
    }
    fn unhealthy_image(&self, _service: &str) -> String {
        // Busybox without `/healthy`: the task starts, fails its health
        // check, and Swarm rolls the update back.
        IMAGE_V1.into()
    }
    fn create_secret(&self, name: &str) {
        let _ = ureq::delete(&self.api(&format!("/secrets/{name}"))).call();
        let body = json!({ "Name": name, "Data": "czNjcmV0" });
        ureq::post(&self.api("/secrets/create"))
            .set("content-type", "application/json")
            .send_string(&body.to_string())
            .unwrap_or_else(|e| panic!("create secret {name}: {e}"));
    }
    fn remove_stack(&self, stack: &str) {
        let filters = json!({"label": [format!("com.docker.stack.namespace={stack}")]});
        let query = urlencode(&filters.to_string());
        for name in self.stack_services(stack).keys() {
            let _ = ureq::delete(&self.api(&format!("/services/{name}"))).call();
        }
        // A network stays in use until its tasks are gone.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let networks = self.get(&format!("/networks?filters={query}"));
            let ids: Vec<String> = networks
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n["Id"].as_str().map(str::to_owned))
                .collect();
            if ids.is_empty() || Instant::now() > deadline {
                return;
            }
            for id in ids {
                let _ = ureq::delete(&self.api(&format!("/networks/{id}"))).call();
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl RealSwarm {
    /// The first test image, which services start on.
    pub fn first_image(&self) -> String {
        IMAGE_V1.into()
    }
}

/// `GET url` as JSON.
fn get_json(url: &str) -> Result<Value, String> {
    let text = ureq::get(url)
        .call()
        .map_err(|e| e.to_string())?
        .into_string()
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// Percent-encodes a query value.
fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Waits until `replicas` tasks of `name` run.
fn wait_running(target: &RealSwarm, name: &str, replicas: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let filters = json!({"service": [name], "desired-state": ["running"]}).to_string();
        let tasks = get_json(&format!(
            "{}?filters={}",
            target.api("/tasks"),
            urlencode(&filters)
        ))
        .unwrap_or(Value::Null);
        let running = tasks
            .as_array()
            .map(|t| {
                t.iter()
                    .filter(|t| t["Status"]["State"] == "running")
                    .count()
            })
            .unwrap_or(0);
        if running as u64 >= replicas {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name}: {running} of {replicas} tasks running"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

impl Drop for RealSwarm {
    fn drop(&mut self) {
        for name in self.services.borrow().iter() {
            let _ = ureq::delete(&self.api(&format!("/services/{name}"))).call();
        }
    }
}
