//! Pure planning for canary and blue-green on Swarm: replica counts for a
//! weight, the weight they achieve, and the spec changes that put a
//! service behind (or take it away from) the app's network alias.
//!
//! Swarm has no traffic weights. Services in endpoint mode `dnsrr` that
//! share a network alias make that name resolve to every task of all of
//! them, so a canary's share of traffic is its share of the tasks.

use serde_json::{Value, json};

use crate::deploy::DeployError;

/// Replica counts of the stable and canary services at one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    /// Tasks of the stable service.
    pub stable: u64,
    /// Tasks of the canary service.
    pub canary: u64,
}

impl Split {
    /// The canary's share of the tasks, in percent (rounded).
    pub fn achieved_percent(self) -> u8 {
        let total = self.stable + self.canary;
        if total == 0 {
            return 0;
        }
        let percent = (self.canary * 100 + total / 2) / total;
        u8::try_from(percent.min(100)).unwrap_or(100)
    }
}

/// The split for a step of `percent` with `total` tasks in all (the stable
/// service's replicas when the rollout began; at least 1): the canary runs
/// `ceil(percent × total / 100)` tasks (at least one) and stable the rest,
/// keeping at least one task until the step of 100 %, like Argo Rollouts'
/// canary without traffic routing, so capacity stays what it was.
pub fn split(percent: u8, total: u64) -> Split {
    let total = total.max(1);
    let percent = u64::from(percent.min(100));
    let canary = (percent * total).div_ceil(100).clamp(1, total);
    if percent >= 100 {
        return Split { stable: 0, canary };
    }
    Split {
        stable: total.saturating_sub(canary).max(1),
        canary,
    }
}

fn not_container() -> DeployError {
    DeployError::Config("the service is not a container service (no TaskTemplate)".into())
}

/// `Spec.Mode.Replicated.Replicas`, when the service is replicated.
pub fn replicas(spec: &Value) -> Option<u64> {
    spec.pointer("/Mode/Replicated/Replicas")
        .and_then(Value::as_u64)
}

/// `spec` with `replicas` tasks (refused for a global service).
pub fn with_replicas(spec: &Value, count: u64) -> Result<Value, DeployError> {
    if spec.pointer("/Mode/Global").is_some() {
        return Err(DeployError::Config(
            "a global service cannot be scaled; canary and blue-green need replicated services"
                .into(),
        ));
    }
    let mut spec = spec.clone();
    let obj = spec.as_object_mut().ok_or_else(not_container)?;
    obj.insert(
        "Mode".into(),
        json!({ "Replicated": { "Replicas": count } }),
    );
    Ok(spec)
}

/// The overlay networks (`Target`) the service's tasks join.
pub fn networks(spec: &Value) -> Vec<String> {
    spec.pointer("/TaskTemplate/Networks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|n| n.get("Target").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// Whether every network attachment of `spec` carries `alias`.
pub fn has_alias(spec: &Value, alias: &str) -> bool {
    let list = spec
        .pointer("/TaskTemplate/Networks")
        .and_then(Value::as_array);
    list.is_some_and(|l| {
        !l.is_empty()
            && l.iter().all(|n| {
                n.get("Aliases")
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|x| x == alias))
            })
    })
}

/// `spec` with `alias` added to (`on`) or removed from every network
/// attachment. Changing aliases is a `TaskTemplate` change: Swarm replaces
/// the service's tasks (in the order of its `UpdateConfig`).
pub fn with_alias(spec: &Value, alias: &str, on: bool) -> Result<Value, DeployError> {
    let mut spec = spec.clone();
    let list = spec
        .pointer_mut("/TaskTemplate/Networks")
        .and_then(Value::as_array_mut)
        .ok_or_else(not_container)?;
    for network in list.iter_mut() {
        let obj = network.as_object_mut().ok_or_else(not_container)?;
        let mut aliases: Vec<Value> = obj
            .get("Aliases")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        aliases.retain(|a| a != alias);
        if on {
            aliases.push(json!(alias));
        }
        if aliases.is_empty() {
            obj.remove("Aliases");
        } else {
            obj.insert("Aliases".into(), Value::Array(aliases));
        }
    }
    Ok(spec)
}

/// Checks that `spec` (of service `name`) can share alias `alias` by DNS
/// round robin: endpoint mode `dnsrr` on at least one overlay network.
pub fn check_shareable(name: &str, spec: &Value) -> Result<(), DeployError> {
    let mode = spec
        .pointer("/EndpointSpec/Mode")
        .and_then(Value::as_str)
        .unwrap_or("vip");
    if mode != "dnsrr" || networks(spec).is_empty() {
        return Err(DeployError::Config(format!(
            "service {name} must run with endpoint mode dnsrr on an overlay network \
             for canary or blue-green on Swarm (it has endpoint mode {mode} and {} network(s))",
            networks(spec).len()
        )));
    }
    Ok(())
}

/// A copy of `spec` named `name` running `image` with `replicas` tasks,
/// labelled `io.slipway.role=role`.
pub fn copy_as(
    spec: &Value,
    name: &str,
    image: &str,
    replicas: u64,
    role: &str,
) -> Result<Value, DeployError> {
    let mut spec = with_replicas(spec, replicas)?;
    let obj = spec.as_object_mut().ok_or_else(not_container)?;
    obj.insert("Name".into(), json!(name));
    let mut labels = obj
        .get("Labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    labels.insert("io.slipway.role".into(), json!(role));
    obj.insert("Labels".into(), Value::Object(labels));
    with_image(&spec, image)
}

/// `spec` with this `UpdateConfig` and `RollbackConfig`.
pub fn with_update_configs(spec: &Value, configs: &(Value, Value)) -> Result<Value, DeployError> {
    let mut spec = spec.clone();
    let obj = spec.as_object_mut().ok_or_else(not_container)?;
    obj.insert("UpdateConfig".into(), configs.0.clone());
    obj.insert("RollbackConfig".into(), configs.1.clone());
    Ok(spec)
}

/// `spec` running `image`.
pub fn with_image(spec: &Value, image: &str) -> Result<Value, DeployError> {
    let mut spec = spec.clone();
    let container = spec
        .pointer_mut("/TaskTemplate/ContainerSpec")
        .and_then(Value::as_object_mut)
        .ok_or_else(not_container)?;
    container.insert("Image".into(), json!(image));
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canary_takes_the_ceiling_and_stable_the_rest() {
        assert_eq!(
            split(25, 4),
            Split {
                stable: 3,
                canary: 1
            }
        );
        assert_eq!(
            split(50, 4),
            Split {
                stable: 2,
                canary: 2
            }
        );
        assert_eq!(
            split(10, 4),
            Split {
                stable: 3,
                canary: 1
            }
        );
        assert_eq!(
            split(100, 4),
            Split {
                stable: 0,
                canary: 4
            }
        );
        assert_eq!(
            split(25, 3),
            Split {
                stable: 2,
                canary: 1
            }
        );
        assert_eq!(
            split(90, 3),
            Split {
                stable: 1,
                canary: 3
            }
        );
    }

    #[test]
    fn one_task_each_at_least_until_the_last_step() {
        assert_eq!(
            split(1, 1),
            Split {
                stable: 1,
                canary: 1
            }
        );
        assert_eq!(
            split(99, 2),
            Split {
                stable: 1,
                canary: 2
            }
        );
        assert_eq!(
            split(100, 1),
            Split {
                stable: 0,
                canary: 1
            }
        );
        assert_eq!(
            split(25, 0),
            Split {
                stable: 1,
                canary: 1
            },
            "no replicas"
        );
    }

    #[test]
    fn achieved_weight_is_the_canary_share_of_tasks() {
        assert_eq!(split(25, 4).achieved_percent(), 25);
        assert_eq!(split(50, 4).achieved_percent(), 50);
        assert_eq!(split(25, 3).achieved_percent(), 33);
        assert_eq!(split(10, 1).achieved_percent(), 50);
        assert_eq!(split(100, 5).achieved_percent(), 100);
        let none = Split {
            stable: 0,
            canary: 0,
        };
        assert_eq!(none.achieved_percent(), 0);
    }

    #[test]
    fn aliases_are_added_and_removed_on_every_network() {
        let spec = json!({"TaskTemplate": {"Networks": [
            {"Target": "n1", "Aliases": ["web"]}, {"Target": "n2"}]}});
        let on = with_alias(&spec, "shop", true).unwrap();
        assert!(has_alias(&on, "shop"));
        assert_eq!(
            on["TaskTemplate"]["Networks"][0]["Aliases"],
            json!(["web", "shop"])
        );
        let off = with_alias(&on, "shop", false).unwrap();
        assert!(!has_alias(&off, "shop"));
        assert_eq!(off, spec);
        assert!(!has_alias(&json!({}), "shop"));
        assert!(with_alias(&json!({}), "shop", true).is_err());
    }

    #[test]
    fn sharing_an_alias_needs_dnsrr_on_a_network() {
        let vip = json!({"TaskTemplate": {"Networks": [{"Target": "n1"}]}});
        let err = check_shareable("shop", &vip).unwrap_err().to_string();
        assert!(err.contains("endpoint mode vip"), "{err}");
        let rr = json!({"TaskTemplate": {"Networks": [{"Target": "n1"}]},
                        "EndpointSpec": {"Mode": "dnsrr"}});
        assert!(check_shareable("shop", &rr).is_ok());
        let global = json!({"Mode": {"Global": {}}});
        assert!(with_replicas(&global, 2).is_err());
    }
}
