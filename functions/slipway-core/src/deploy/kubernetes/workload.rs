//! Deployments: the rollout-complete test, container images, image bumps,
//! scaling and copies (canary and blue-green slots).

use serde_json::{Map, Value, json};

use super::client::{Kind, Kube, MERGE, Patch, STRATEGIC};
use crate::deploy::DeployError;
use crate::ports::HttpClient;

/// What a Deployment's status says about its rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Progress {
    /// Not complete yet; why.
    Waiting(String),
    /// All replicas updated and available.
    Done,
    /// `Progressing` reports `ProgressDeadlineExceeded`; the message.
    Failed(String),
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64()
}

/// The kubectl rollout-complete test (`kubectl rollout status`), plus a
/// check of `spec.paused` which kubectl leaves out: a paused Deployment
/// with replicas still to update has failed.
pub(super) fn progress(d: &Value) -> Progress {
    let generation = int(&d["metadata"]["generation"]).unwrap_or(0);
    let status = &d["status"];
    let observed = int(&status["observedGeneration"]).unwrap_or(0);
    if generation > observed {
        return Progress::Waiting("waiting for the update to be observed".into());
    }
    let deadline = status["conditions"].as_array().and_then(|cs| {
        cs.iter()
            .find(|c| c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded")
    });
    if let Some(c) = deadline {
        let message = c["message"]
            .as_str()
            .unwrap_or("progress deadline exceeded");
        return Progress::Failed(format!("progress deadline exceeded: {message}"));
    }
    let paused = d["spec"]["paused"].as_bool().unwrap_or(false);
    let updated = int(&status["updatedReplicas"]).unwrap_or(0);
    let replicas = int(&status["replicas"]).unwrap_or(0);
    let available = int(&status["availableReplicas"]).unwrap_or(0);
    let waiting = if let Some(wanted) = int(&d["spec"]["replicas"]).filter(|w| updated < *w) {
        Some(format!("{updated} of {wanted} replicas updated"))
    } else if replicas > updated {
        Some(format!(
            "{} old replicas pending termination",
            replicas - updated
        ))
    } else if available < updated {
        Some(format!(
            "{available} of {updated} updated replicas available"
        ))
    } else {
        None
    };
    match waiting {
        // A paused Deployment is never rolled out: waiting would be for ever.
        Some(w) if paused => Progress::Failed(format!(
            "the Deployment is paused (spec.paused), so Kubernetes does not roll it out ({w}); \
             resume it with `kubectl rollout resume deployment/{}` and deploy again",
            d["metadata"]["name"].as_str().unwrap_or("?")
        )),
        Some(w) => Progress::Waiting(w),
        None => Progress::Done,
    }
}

/// `status.availableReplicas` (0 when absent).
pub(super) fn available(d: &Value) -> i64 {
    int(&d["status"]["availableReplicas"]).unwrap_or(0)
}

/// `spec.replicas`, when set.
pub(super) fn replicas(d: &Value) -> Option<u32> {
    d["spec"]["replicas"]
        .as_u64()
        .and_then(|r| u32::try_from(r).ok())
}

/// The image of container `container` in the pod template.
pub(super) fn image(d: &Value, container: &str) -> Option<String> {
    d["spec"]["template"]["spec"]["containers"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == container)?["image"]
        .as_str()
        .map(str::to_owned)
}

fn name_of(d: &Value) -> &str {
    d["metadata"]["name"].as_str().unwrap_or("?")
}

fn missing_container(d: &Value, container: &str) -> DeployError {
    DeployError::Config(format!(
        "Deployment {} has no container named {container:?} (set `container`)",
        name_of(d)
    ))
}

/// The image of `container` in `d`, or a configuration error.
pub(super) fn require_image(d: &Value, container: &str) -> Result<String, DeployError> {
    image(d, container).ok_or_else(|| missing_container(d, container))
}

/// Sets `container`'s image in Deployment `name` (and `spec.replicas`
/// when given) with a strategic merge patch; sends nothing when both are
/// already so.
pub(super) async fn set_image<H: HttpClient>(
    kube: &Kube<'_, H>,
    name: &str,
    container: &str,
    image_ref: &str,
    replicas_wanted: Option<u32>,
) -> Result<Value, DeployError> {
    kube.update(Kind::Deployment, name, |d| {
        let current = require_image(d, container)?;
        let scale = replicas_wanted.filter(|r| replicas(d) != Some(*r));
        if current == image_ref && scale.is_none() {
            return Ok(None);
        }
        let mut spec = json!({
            "template": {"spec": {"containers": [{"name": container, "image": image_ref}]}}
        });
        if let Some(r) = scale {
            spec["replicas"] = json!(r);
        }
        Ok(Some(Patch {
            content_type: STRATEGIC,
            body: json!({ "spec": spec }),
        }))
    })
    .await
}

/// Sets `spec.replicas` of Deployment `name` (merge patch); a missing
/// Deployment is left missing.
pub(super) async fn scale<H: HttpClient>(
    kube: &Kube<'_, H>,
    name: &str,
    to: u32,
) -> Result<(), DeployError> {
    if kube.get(Kind::Deployment, name).await?.is_none() {
        return Ok(());
    }
    kube.update(Kind::Deployment, name, |d| {
        Ok((replicas(d) != Some(to)).then(|| Patch {
            content_type: MERGE,
            body: json!({"spec": {"replicas": to}}),
        }))
    })
    .await
    .map(|_| ())
}

fn set_labels(target: &mut Value, label: (&str, &str)) {
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    target[label.0] = json!(label.1);
}

/// A new Deployment `name` with `source`'s spec, `label` added to its
/// labels, selector and pod template, `container` on `image_ref` and
/// `replicas_wanted` replicas.
pub(super) fn copy(
    source: &Value,
    name: &str,
    namespace: &str,
    label: (&str, &str),
    container: &str,
    image_ref: &str,
    replicas_wanted: u32,
) -> Result<Value, DeployError> {
    let mut spec = source["spec"].clone();
    spec["replicas"] = json!(replicas_wanted);
    set_labels(&mut spec["selector"]["matchLabels"], label);
    set_labels(&mut spec["template"]["metadata"]["labels"], label);
    let containers = spec["template"]["spec"]["containers"]
        .as_array_mut()
        .ok_or_else(|| missing_container(source, container))?;
    let c = containers
        .iter_mut()
        .find(|c| c["name"] == container)
        .ok_or_else(|| missing_container(source, container))?;
    c["image"] = json!(image_ref);
    let mut labels = source["metadata"]["labels"].clone();
    set_labels(&mut labels, label);
    Ok(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": spec
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(generation: i64, observed: i64, status: Value) -> Value {
        let mut s = status;
        s["observedGeneration"] = json!(observed);
        json!({"metadata": {"generation": generation}, "spec": {"replicas": 3}, "status": s})
    }

    #[test]
    fn rollout_complete_test_follows_kubectl() {
        let wait = |d: &Value| matches!(progress(d), Progress::Waiting(_));
        assert!(wait(&deployment(2, 1, json!({}))));
        assert!(wait(&deployment(
            2,
            2,
            json!({"updatedReplicas": 1, "replicas": 3})
        )));
        assert!(wait(&deployment(
            2,
            2,
            json!({"updatedReplicas": 3, "replicas": 4, "availableReplicas": 3})
        )));
        assert!(wait(&deployment(
            2,
            2,
            json!({"updatedReplicas": 3, "replicas": 3, "availableReplicas": 2})
        )));
        let done = deployment(
            2,
            2,
            json!({"updatedReplicas": 3, "replicas": 3, "availableReplicas": 3}),
        );
        assert_eq!(progress(&done), Progress::Done);
        let stalled = deployment(
            2,
            2,
            json!({"updatedReplicas": 1, "conditions": [{"type": "Progressing", "status": "False",
                "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"web-1\" has timed out progressing."}]}),
        );
        assert_eq!(
            progress(&stalled),
            Progress::Failed(
                "progress deadline exceeded: ReplicaSet \"web-1\" has timed out progressing."
                    .into()
            )
        );
    }

    #[test]
    fn paused_deployments_say_so() {
        let mut d = deployment(2, 2, json!({"updatedReplicas": 0, "replicas": 3}));
        d["spec"]["paused"] = json!(true);
        assert!(
            matches!(progress(&d), Progress::Failed(m) if m.contains("paused") && m.contains("kubectl rollout resume")),
            "{:?}",
            progress(&d)
        );
    }

    #[test]
    fn copies_take_the_label_and_image() {
        let src = json!({
            "metadata": {"name": "web", "labels": {"app": "web", "track": "stable"}, "resourceVersion": "9"},
            "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web", "track": "stable"}},
                "template": {"metadata": {"labels": {"app": "web", "track": "stable"}},
                    "spec": {"containers": [{"name": "web", "image": "web:1"}, {"name": "sidecar", "image": "proxy:1"}]}}},
            "status": {"replicas": 4}
        });
        let c = copy(
            &src,
            "web-canary",
            "prod",
            ("track", "canary"),
            "web",
            "web:2",
            1,
        )
        .unwrap();
        assert_eq!(
            c["metadata"],
            json!({"name": "web-canary", "namespace": "prod",
            "labels": {"app": "web", "track": "canary"}})
        );
        assert_eq!(c["spec"]["replicas"], 1);
        assert_eq!(c["spec"]["selector"]["matchLabels"]["track"], "canary");
        assert_eq!(
            c["spec"]["template"]["metadata"]["labels"]["track"],
            "canary"
        );
        assert_eq!(image(&c, "web").as_deref(), Some("web:2"));
        assert_eq!(image(&c, "sidecar").as_deref(), Some("proxy:1"));
        assert!(c.get("status").is_none());
        assert!(copy(&src, "x", "prod", ("a", "b"), "nope", "web:2", 1).is_err());
    }
}
