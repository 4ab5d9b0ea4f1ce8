//! Traffic between the stable and canary Services (Gateway API HTTPRoute or
//! an Ingress-NGINX canary Ingress) and the blue-green Service selector.

use serde_json::{Value, json};

use super::client::{Kind, Kube, MERGE, Patch};
use super::{KubernetesEnv, Slot, Traffic};
use crate::deploy::DeployError;
use crate::ports::HttpClient;

/// Ingress-NGINX annotation marking the canary Ingress.
pub(super) const CANARY_ANNOTATION: &str = "nginx.ingress.kubernetes.io/canary";
/// Ingress-NGINX annotation with the canary's share (of 100).
pub(super) const WEIGHT_ANNOTATION: &str = "nginx.ingress.kubernetes.io/canary-weight";

/// Sends `percent` of `app`'s traffic to the canary Service and the rest to
/// the stable one.
pub(super) async fn set_canary_weight<H: HttpClient>(
    kube: &Kube<'_, H>,
    env: &KubernetesEnv,
    app: &str,
    percent: u8,
) -> Result<(), DeployError> {
    match env.traffic {
        Traffic::Gateway => route_weights(kube, app, percent).await,
        Traffic::IngressNginx => ingress_weight(kube, app, percent).await,
    }
}

/// HTTPRoute `app`, rule 0: weight `100 - percent` on `<app>-stable` and
/// `percent` on `<app>-canary`. A CRD takes no strategic merge, so this is
/// a merge patch of the whole `rules` array guarded by `resourceVersion`
/// (a stale one answers 409 and the client reads the route again).
async fn route_weights<H: HttpClient>(
    kube: &Kube<'_, H>,
    app: &str,
    percent: u8,
) -> Result<(), DeployError> {
    let stable = format!("{app}-stable");
    let canary = format!("{app}-canary");
    let weights = [
        (stable.as_str(), 100 - u32::from(percent)),
        (canary.as_str(), u32::from(percent)),
    ];
    kube.update(Kind::HttpRoute, app, |route| {
        let mut rules = route["spec"]["rules"].clone();
        let refs = rules
            .get_mut(0)
            .and_then(|r| r.get_mut("backendRefs"))
            .and_then(Value::as_array_mut)
            .ok_or_else(|| missing_backends(app, &stable, &canary))?;
        let mut changed = false;
        for (name, weight) in weights {
            let backend = refs
                .iter_mut()
                .find(|b| b["name"] == name)
                .ok_or_else(|| missing_backends(app, &stable, &canary))?;
            if backend["weight"].as_u64() != Some(u64::from(weight)) {
                backend["weight"] = json!(weight);
                changed = true;
            }
        }
        Ok(changed.then(|| Patch {
            content_type: MERGE,
            body: json!({
                "metadata": {"resourceVersion": route["metadata"]["resourceVersion"]},
                "spec": {"rules": rules}
            }),
        }))
    })
    .await
    .map(|_| ())
}

/// What a Gateway API HTTPRoute's status says about its current spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RouteVerdict {
    /// Every parent gateway accepted it and resolved its backends.
    Accepted,
    /// A parent's controller has not reported on this generation yet.
    Pending,
    /// A parent refused it: `Accepted` or `ResolvedRefs` is `False`; the
    /// gateway's reason and message.
    Refused(String),
    /// No controller reports on the route (`status.parents` empty).
    Unreported,
}

/// Reads HTTPRoute `app` and judges its `status.parents[].conditions`
/// against its `metadata.generation`.
pub(super) async fn route_verdict<H: HttpClient>(
    kube: &Kube<'_, H>,
    app: &str,
) -> Result<RouteVerdict, DeployError> {
    let route = kube.get_required(Kind::HttpRoute, app).await?;
    Ok(judge_route(&route))
}

/// The verdict of `route`'s status (see [`RouteVerdict`]). A condition
/// counts only when its `observedGeneration` is the route's generation:
/// an older one describes weights no longer asked for.
pub(super) fn judge_route(route: &Value) -> RouteVerdict {
    let generation = route["metadata"]["generation"].as_i64().unwrap_or(0);
    let Some(parents) = route["status"]["parents"]
        .as_array()
        .filter(|p| !p.is_empty())
    else {
        return RouteVerdict::Unreported;
    };
    let mut pending = false;
    for parent in parents {
        let gateway = parent["parentRef"]["name"].as_str().unwrap_or("?");
        let conditions = parent["conditions"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for kind in ["Accepted", "ResolvedRefs"] {
            let current = conditions.iter().find(|c| {
                c["type"] == kind
                    && c["observedGeneration"]
                        .as_i64()
                        .is_none_or(|g| g >= generation)
            });
            match current {
                Some(c) if c["status"] == "False" => {
                    return RouteVerdict::Refused(format!(
                        "gateway {gateway}: {kind} False ({}): {}",
                        c["reason"].as_str().unwrap_or("no reason"),
                        c["message"].as_str().unwrap_or("no message")
                    ));
                }
                Some(c) if c["status"] == "True" => {}
                _ => pending = true,
            }
        }
    }
    if pending {
        RouteVerdict::Pending
    } else {
        RouteVerdict::Accepted
    }
}

fn missing_backends(app: &str, stable: &str, canary: &str) -> DeployError {
    DeployError::Config(format!(
        "HTTPRoute {app} needs backendRefs {stable} and {canary} in its first rule"
    ))
}

/// Ingress `<app>-canary`: `canary: "true"` and `canary-weight: percent`
/// (merge patch of the annotations only).
async fn ingress_weight<H: HttpClient>(
    kube: &Kube<'_, H>,
    app: &str,
    percent: u8,
) -> Result<(), DeployError> {
    let weight = percent.to_string();
    kube.update(Kind::Ingress, &format!("{app}-canary"), |ingress| {
        let annotations = &ingress["metadata"]["annotations"];
        let done = annotations[CANARY_ANNOTATION] == "true"
            && annotations[WEIGHT_ANNOTATION].as_str() == Some(weight.as_str());
        Ok((!done).then(|| Patch {
            content_type: MERGE,
            body: json!({"metadata": {"annotations": {
                CANARY_ANNOTATION: "true",
                WEIGHT_ANNOTATION: weight
            }}}),
        }))
    })
    .await
    .map(|_| ())
}

/// The slot Service `app` selects now.
pub(super) fn live_slot(service: &Value, app: &str) -> Result<Slot, DeployError> {
    match service["spec"]["selector"]["slot"].as_str() {
        Some("blue") => Ok(Slot::Blue),
        Some("green") => Ok(Slot::Green),
        _ => Err(DeployError::Config(format!(
            "Service {app} must select `slot: blue` or `slot: green`"
        ))),
    }
}

/// Points Service `app` at `slot` (merge patch of `spec.selector`).
pub(super) async fn select_slot<H: HttpClient>(
    kube: &Kube<'_, H>,
    app: &str,
    slot: Slot,
) -> Result<(), DeployError> {
    kube.update(Kind::Service, app, |service| {
        let selector = &service["spec"]["selector"];
        let done = selector["app"] == app && selector["slot"] == slot.name();
        Ok((!done).then(|| Patch {
            content_type: MERGE,
            body: json!({"spec": {"selector": {"app": app, "slot": slot.name()}}}),
        }))
    })
    .await
    .map(|_| ())
}
