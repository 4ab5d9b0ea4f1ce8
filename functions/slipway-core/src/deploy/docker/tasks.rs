//! What the tasks of a service say about its health, and the idempotent
//! service writes canary and blue-green are built from.
//!
//! A task whose container has a `HEALTHCHECK` stays `starting` until the
//! check passes, and only then becomes `running`; so the tasks that are
//! `running`, wanted running (`DesiredState`), and run the expected spec
//! are the healthy ones.

use serde_json::{Value, json};

use super::engine::{self, Engine, ServiceView};
use super::stack::{query, unexpected};
use crate::deploy::DeployError;
use crate::ports::{HttpClient, HttpRequest};

/// The health of one service's tasks that run the expected spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// Tasks `running` (past their health check) that match.
    pub healthy: u64,
    /// Tasks wanted: the service's replicas.
    pub wanted: u64,
    /// Tasks that match but still start (`starting`, `preparing`, …).
    pub starting: u64,
    /// The newest task error the Engine reports (`Status.Err`), if any.
    pub last_error: Option<String>,
}

impl Health {
    /// Whether all wanted tasks are healthy.
    pub fn ready(&self) -> bool {
        self.healthy >= self.wanted
    }

    /// "2 of 3 tasks healthy; last task error: …".
    pub fn describe(&self, service: &str) -> String {
        let mut text = format!(
            "{service}: {} of {} tasks healthy",
            self.healthy, self.wanted
        );
        if self.starting > 0 {
            text.push_str(&format!(" ({} starting)", self.starting));
        }
        if let Some(e) = &self.last_error {
            text.push_str(&format!("; last task error: {e}"));
        }
        text
    }
}

/// Whether the task runs `image` (the Engine may pin a digest to a tag)
/// and, when `alias` is given, carries it on every network.
fn matches(task: &Value, image: &str, alias: Option<&str>) -> bool {
    let task_image = task
        .pointer("/Spec/ContainerSpec/Image")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let same_image = task_image == image
        || task_image
            .strip_prefix(image)
            .is_some_and(|rest| rest.starts_with("@sha256:"));
    let aliased = match alias {
        None => true,
        Some(a) => task
            .pointer("/Spec/Networks")
            .and_then(Value::as_array)
            .is_some_and(|l| {
                !l.is_empty()
                    && l.iter().all(|n| {
                        n.get("Aliases")
                            .and_then(Value::as_array)
                            .is_some_and(|x| x.iter().any(|v| v == a))
                    })
            }),
    };
    same_image && aliased
}

/// Summarises `tasks` (`GET /tasks` for one service) for `wanted` tasks
/// running `image` (with `alias`, when given).
pub fn health(tasks: &[Value], wanted: u64, image: &str, alias: Option<&str>) -> Health {
    let mut health = Health {
        wanted,
        ..Health::default()
    };
    let mut newest_error: Option<(&str, &str)> = None;
    for task in tasks {
        let state = task
            .pointer("/Status/State")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let desired = task
            .get("DesiredState")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(err) = task
            .pointer("/Status/Err")
            .and_then(Value::as_str)
            .filter(|e| !e.is_empty())
        {
            let at = task
                .pointer("/Status/Timestamp")
                .and_then(Value::as_str)
                .unwrap_or_default();
            // RFC 3339 timestamps of one engine compare as text.
            if newest_error.is_none_or(|(t, _)| at > t) {
                newest_error = Some((at, err));
            }
        }
        if desired != "running" || !matches(task, image, alias) {
            continue;
        }
        match state {
            "running" => health.healthy += 1,
            "new" | "pending" | "assigned" | "accepted" | "preparing" | "ready" | "starting" => {
                health.starting += 1
            }
            _ => {}
        }
    }
    health.last_error = newest_error.map(|(_, e)| e.to_owned());
    health
}

/// `value` with integral floats as integers: the Engine answers `0` for
/// the `0.0` it was sent, which is the same spec.
fn normalized(value: &Value) -> Value {
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => json!(f as i64),
            _ => value.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(normalized).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), normalized(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Tasks of `image` carrying `alias` whose containers still run, whether
/// or not they are wanted: a task being stopped keeps its name in DNS
/// until its container exits (after its stop grace period).
pub fn still_serving(tasks: &[Value], image: &str, alias: &str) -> u64 {
    let running = |t: &&Value| {
        t.pointer("/Status/State")
            .and_then(Value::as_str)
            .is_some_and(|s| s == "running")
    };
    let count = tasks
        .iter()
        .filter(running)
        .filter(|t| matches(t, image, Some(alias)))
        .count();
    u64::try_from(count).unwrap_or(u64::MAX)
}

impl<H: HttpClient> Engine<'_, H> {
    /// `GET /tasks?filters={"service":[name]}`: every task of the service,
    /// history included (for the last error).
    pub(super) async fn tasks(&self, service: &str) -> Result<Vec<Value>, DeployError> {
        let filters = query(&json!({ "service": [service] }));
        let list = self.get_json(&format!("/tasks?filters={filters}")).await?;
        match list {
            Value::Array(tasks) => Ok(tasks),
            _ => Err(unexpected("the task list is not a list")),
        }
    }

    /// The health of `service` for `wanted` tasks of `image` (with `alias`).
    pub(super) async fn health(
        &self,
        service: &str,
        wanted: u64,
        image: &str,
        alias: Option<&str>,
    ) -> Result<Health, DeployError> {
        let tasks = self.tasks(service).await?;
        Ok(health(&tasks, wanted, image, alias))
    }

    /// `GET /services/{name}`, or `None` on 404.
    pub(super) async fn find(&self, service: &str) -> Result<Option<ServiceView>, DeployError> {
        match self.inspect(service).await {
            Ok(view) => Ok(Some(view)),
            Err(DeployError::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `DELETE /services/{name}`; a service already gone is fine.
    pub(super) async fn remove(&self, service: &str) -> Result<(), DeployError> {
        let request = HttpRequest::new("DELETE", format!("{}/services/{service}", self.base));
        match self.send(request).await {
            Ok(_) | Err(DeployError::Api { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Makes service `name` what `change` makes of its spec: reads it and
    /// posts the changed spec with its `Version.Index` only when it differs
    /// (so repeating a call sends nothing), once more on "update out of
    /// sequence". Returns the service as it was read last.
    pub(super) async fn ensure(
        &self,
        name: &str,
        change: impl Fn(&Value) -> Result<Value, DeployError>,
    ) -> Result<ServiceView, DeployError> {
        let mut attempt = 0;
        loop {
            let view = self.inspect(name).await?;
            let spec = change(&view.spec)?;
            if normalized(&spec) == normalized(&view.spec) {
                return Ok(view);
            }
            match self.update(&view.id, view.version, &spec, false).await {
                Ok(()) => return Ok(view),
                Err(e) if attempt == 0 && engine::is_out_of_sequence(&e) => attempt += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// Creates service `spec.Name` with `spec`, or, when it exists, makes
    /// its spec `spec` (keeping nothing of the old one but its identity).
    pub(super) async fn put(&self, name: &str, spec: &Value) -> Result<(), DeployError> {
        if self.find(name).await?.is_some() {
            return self.ensure(name, |_| Ok(spec.clone())).await.map(|_| ());
        }
        self.post_json("/services/create", spec).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(state: &str, desired: &str, image: &str, at: &str, err: Option<&str>) -> Value {
        let mut t = json!({
            "DesiredState": desired,
            "Status": {"State": state, "Timestamp": at},
            "Spec": {"ContainerSpec": {"Image": image},
                     "Networks": [{"Target": "n1", "Aliases": ["shop"]}]},
        });
        if let Some(e) = err {
            t["Status"]["Err"] = json!(e);
        }
        t
    }

    #[test]
    fn healthy_tasks_are_running_wanted_and_of_the_image() {
        let tasks = [
            task("running", "running", "shop:2", "2026-01-01T00:00:02Z", None),
            task(
                "starting",
                "running",
                "shop:2",
                "2026-01-01T00:00:03Z",
                None,
            ),
            task("running", "running", "shop:1", "2026-01-01T00:00:01Z", None),
            task(
                "failed",
                "shutdown",
                "shop:2",
                "2026-01-01T00:00:04Z",
                Some("task: non-zero exit (1)"),
            ),
            task(
                "rejected",
                "shutdown",
                "shop:2",
                "2026-01-01T00:00:00Z",
                Some("older"),
            ),
        ];
        let h = health(&tasks, 3, "shop:2", Some("shop"));
        assert_eq!((h.healthy, h.starting, h.wanted), (1, 1, 3));
        assert!(!h.ready());
        assert_eq!(h.last_error.as_deref(), Some("task: non-zero exit (1)"));
        assert_eq!(
            h.describe("shop-canary"),
            "shop-canary: 1 of 3 tasks healthy (1 starting); last task error: task: non-zero exit (1)"
        );
        assert_eq!(health(&tasks, 1, "shop:2", Some("other")).healthy, 0);
        let pinned = [task(
            "running",
            "running",
            "shop:2@sha256:abc",
            "2026-01-01T00:00:00Z",
            None,
        )];
        assert!(health(&pinned, 1, "shop:2", None).ready());
        let stopping = [task(
            "running",
            "shutdown",
            "shop:2",
            "2026-01-01T00:00:00Z",
            None,
        )];
        assert_eq!(health(&stopping, 0, "shop:2", Some("shop")).healthy, 0);
        assert_eq!(still_serving(&stopping, "shop:2", "shop"), 1);
    }
}
