//! What the blue-green and canary tests on Swarm need beyond
//! [`SwarmTarget`]: services in endpoint mode `dnsrr` on an attachable
//! overlay network with a network alias and a health check, their running
//! tasks, images that pass or fail that health check, and (on the real
//! engine) what a client container resolves a name to.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::fakes::FakeDocker;
use crate::swarm::{RealSwarm, SwarmTarget};

/// The health check of the test services: `/healthy` exists.
fn healthcheck() -> Value {
    json!({ "Test": ["CMD", "/bin/busybox", "test", "-f", "/healthy"],
            "Interval": 1_000_000_000u64, "Timeout": 1_000_000_000u64, "Retries": 2 })
}

/// The spec of a health-checked `dnsrr` service on `network`.
pub fn dnsrr_spec(
    name: &str,
    image: &str,
    replicas: u64,
    network: &str,
    alias: Option<&str>,
) -> Value {
    let mut attachment = json!({ "Target": network });
    if let Some(a) = alias {
        attachment["Aliases"] = json!([a]);
    }
    json!({
        "Name": name,
        "TaskTemplate": {
            "ContainerSpec": { "Image": image, "Healthcheck": healthcheck() },
            "Networks": [attachment],
        },
        "Mode": { "Replicated": { "Replicas": replicas } },
        "EndpointSpec": { "Mode": "dnsrr" },
    })
}

/// A Docker Engine on which services can share an alias.
pub trait NetTarget: SwarmTarget {
    /// Creates attachable overlay network `name` (replacing a leftover).
    fn create_network(&self, name: &str);
    /// Creates a service from `spec` (replacing a leftover) and waits for
    /// its tasks.
    fn create_spec(&self, spec: &Value);
    /// Removes services `names` and network `network`, if there.
    fn clean(&self, names: &[&str], network: &str);
    /// Two images that pass the health check.
    fn healthy_images(&self) -> (String, String);
    /// An image whose tasks never pass it.
    fn sick_image(&self) -> String;
    /// The addresses `name` resolves to in a container on `network`; `None`
    /// where no container can be run (the fake).
    fn resolve(&self, network: &str, name: &str) -> Option<Vec<String>>;
    /// How long a deployment may wait for healthy tasks in these tests.
    fn deadline(&self) -> &'static str;

    /// Tasks of `service` that run (`Status.State` `running`, desired
    /// `running`).
    fn running_tasks(&self, service: &str) -> u64 {
        let filters = json!({"service": [service], "desired-state": ["running"]}).to_string();
        let encoded: String = url::form_urlencoded::byte_serialize(filters.as_bytes()).collect();
        let tasks = self.get(&format!("/tasks?filters={encoded}"));
        tasks
            .as_array()
            .map(|t| {
                t.iter()
                    .filter(|t| t["Status"]["State"] == "running")
                    .count() as u64
            })
            .unwrap_or(0)
    }
}

impl NetTarget for FakeDocker {
    fn create_network(&self, name: &str) {
        let body = json!({"Name": name, "Driver": "overlay", "Attachable": true});
        let url = format!("{}/v1.47/networks/create", self.url());
        let _ = ureq::post(&url)
            .set("content-type", "application/json")
            .send_string(&body.to_string());
    }
    fn create_spec(&self, spec: &Value) {
        self.add_service_spec(spec.clone());
    }
    fn clean(&self, _names: &[&str], _network: &str) {}
    fn healthy_images(&self) -> (String, String) {
        (
            "registry.example.com/acme/shop:1.0.0".into(),
            "registry.example.com/acme/shop:2.0.0".into(),
        )
    }
    fn sick_image(&self) -> String {
        let image = "registry.example.com/acme/shop:sick";
        self.set_unhealthy_image(image);
        image.into()
    }
    fn resolve(&self, _network: &str, _name: &str) -> Option<Vec<String>> {
        None
    }
    fn deadline(&self) -> &'static str {
        "3s"
    }
}

/// Busybox without `/healthy`: its health check never passes.
const SICK: &str = "slipway-test/app:1";

impl RealSwarm {
    fn api_url(&self, path: &str) -> String {
        format!("{}/v{}{path}", self.url(), self.api_version())
    }
}

impl NetTarget for RealSwarm {
    fn create_network(&self, name: &str) {
        let body = json!({"Name": name, "Driver": "overlay", "Attachable": true,
                          "CheckDuplicate": true});
        // A leftover may still be going away (its tasks stop first).
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let _ = ureq::delete(&self.api_url(&format!("/networks/{name}"))).call();
            let created = ureq::post(&self.api_url("/networks/create"))
                .set("content-type", "application/json")
                .send_string(&body.to_string());
            match created {
                Err(ureq::Error::Status(409, _)) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(500));
                }
                other => {
                    other.unwrap_or_else(|e| panic!("create network {name}: {e}"));
                    return;
                }
            }
        }
    }
    fn create_spec(&self, spec: &Value) {
        let name = spec["Name"].as_str().expect("Name");
        let _ = ureq::delete(&self.api_url(&format!("/services/{name}"))).call();
        ureq::post(&self.api_url("/services/create"))
            .set("content-type", "application/json")
            .send_string(&spec.to_string())
            .unwrap_or_else(|e| panic!("create {name}: {e}"));
        let replicas = spec["Mode"]["Replicated"]["Replicas"].as_u64().unwrap_or(1);
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.running_tasks(name) < replicas {
            assert!(Instant::now() < deadline, "{name}: tasks not running");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    fn clean(&self, names: &[&str], network: &str) {
        for name in names {
            let _ = ureq::delete(&self.api_url(&format!("/services/{name}"))).call();
        }
        // A network stays in use until the tasks on it are gone.
        let deadline = Instant::now() + Duration::from_secs(30);
        while ureq::delete(&self.api_url(&format!("/networks/{network}")))
            .call()
            .is_err_and(|e| matches!(e, ureq::Error::Status(s, _) if s != 404))
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    fn healthy_images(&self) -> (String, String) {
        self.stack_images()
    }
    fn sick_image(&self) -> String {
        SICK.into()
    }
    fn resolve(&self, network: &str, name: &str) -> Option<Vec<String>> {
        let out = Command::new("docker")
            .args(["run", "--rm", "--network", network, SICK])
            .args(["/bin/busybox", "nslookup", name])
            .output()
            .expect("docker run");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut addresses: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("Address:"))
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.starts_with("127.0.0.11"))
            .collect();
        addresses.sort();
        Some(addresses)
    }
    fn deadline(&self) -> &'static str {
        "25s"
    }
}
