//! The Deployment controller of [`super::kubernetes::FakeKubernetes`]: rollout
//! progression in `status`, and ReplicaSets (one per pod template) with
//! revision numbers.

use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::kubernetes::{Kind, State};
use super::now_rfc3339;

const REVISION: &str = "deployment.kubernetes.io/revision";

/// Pods of one Deployment while (and after) it rolls out.
pub struct Rollout {
    /// Pods of older templates still running (counted as available).
    pub old: u32,
    /// Pods of the current template.
    pub new: u32,
    /// Of those, ready.
    pub ready: u32,
    pub observed: bool,
    pub stalled: bool,
    pub exceeded: bool,
    pub done: bool,
    pub deadline: Option<Duration>,
    pub started: Instant,
    pub last_step: Instant,
}

/// One ReplicaSet: a pod template and the revision it last got.
pub struct Revision {
    pub revision: u64,
    pub hash: String,
    pub template: Value,
}

/// `pod-template-hash` of a template: 10 characters of Kubernetes' alphabet.
pub fn template_hash(template: &Value) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    template.to_string().hash(&mut hasher);
    let mut n = hasher.finish();
    let alphabet = b"bcdfghjklmnpqrstvwxz2456789";
    (0..10)
        .map(|_| {
            let c = alphabet[(n % alphabet.len() as u64) as usize] as char;
            n /= alphabet.len() as u64;
            c
        })
        .collect()
}

fn desired(obj: &Value) -> u32 {
    obj["spec"]["replicas"].as_u64().unwrap_or(1) as u32
}

/// `spec.paused`: the controller observes the Deployment but rolls
/// nothing out, and no progress deadline runs (as in Kubernetes).
fn paused(obj: &Value) -> bool {
    obj["spec"]["paused"].as_bool().unwrap_or(false)
}

fn without_hash(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(labels) = t
        .get_mut("metadata")
        .and_then(|m| m.get_mut("labels"))
        .and_then(Value::as_object_mut)
    {
        labels.remove("pod-template-hash");
    }
    t
}

/// Bookkeeping after a write of Deployment `ns/name`: records a new
/// template as a ReplicaSet revision, keeps the revision annotation, and
/// starts a rollout when `spec` changed (`ready`: the new template's pods
/// are all up at once).
pub fn after_write(
    state: &mut State,
    ns: &str,
    name: &str,
    spec_changed: bool,
    template_changed: bool,
    ready: bool,
) {
    let key = (ns.to_owned(), name.to_owned());
    let dkey = (Kind::Deployment, ns.to_owned(), name.to_owned());
    let Some(obj) = state.objects.get(&dkey) else {
        return;
    };
    let template = without_hash(&obj["spec"]["template"]);
    let replicas = desired(obj);
    let history = state.history.entry(key.clone()).or_default();
    let top = history.iter().map(|r| r.revision).max().unwrap_or(0);
    let current = history.iter().position(|r| r.template == template);
    let latest = current.is_some_and(|i| history[i].revision == top);
    if !latest {
        match current {
            Some(i) => history[i].revision = top + 1,
            None => history.push(Revision {
                revision: top + 1,
                hash: template_hash(&template),
                template,
            }),
        }
    }
    let revision = history.iter().map(|r| r.revision).max().unwrap_or(1);
    let obj = state.objects.get_mut(&dkey).expect("present");
    let meta = obj["metadata"].as_object_mut().expect("metadata");
    let annotations = meta.entry("annotations").or_insert(json!({}));
    if !annotations.is_object() {
        *annotations = json!({});
    }
    annotations[REVISION] = json!(revision.to_string());
    if !spec_changed {
        return;
    }
    let now = Instant::now();
    let previous = state.rollouts.remove(&key);
    let (mut old, mut new, mut ready_pods) = previous
        .map(|r| (r.old, r.new, r.ready))
        .unwrap_or((0, 0, 0));
    if template_changed {
        old += new;
        new = 0;
        ready_pods = 0;
    }
    let pending = state.stall_next.remove(&key);
    let mut rollout = Rollout {
        old,
        new,
        ready: ready_pods,
        observed: false,
        stalled: pending.is_some(),
        exceeded: false,
        done: false,
        deadline: pending.flatten(),
        started: now,
        last_step: now,
    };
    if ready && pending.is_none() && !paused(&state.objects[&dkey]) {
        rollout = Rollout {
            old: 0,
            new: replicas,
            ready: replicas,
            observed: true,
            done: true,
            ..rollout
        };
    }
    state.rollouts.insert(key, rollout);
    write_status(state, ns, name, false);
}

/// One controller step; whether anything changed.
fn step_one(r: &mut Rollout, desired: u32) -> bool {
    if r.done || r.exceeded {
        return false;
    }
    if !r.observed {
        r.observed = true;
        return true;
    }
    if r.new > desired {
        r.new -= 1;
        r.ready = r.ready.min(r.new);
    } else if r.ready < r.new && !r.stalled {
        r.ready += 1;
        r.old = r.old.saturating_sub(1);
    } else if r.new < desired && r.ready == r.new {
        r.new += 1;
    } else if r.old > 0 && !r.stalled && r.new == desired {
        r.old -= 1;
    } else if r.stalled {
        return false;
    }
    if !r.stalled && r.new == desired && r.ready == desired && r.old == 0 {
        r.done = true;
    }
    true
}

/// Applies the steps that are due by time, and expired deadlines.
pub fn tick_all(state: &mut State) {
    let keys: Vec<(String, String)> = state.rollouts.keys().cloned().collect();
    for (ns, name) in keys {
        advance(state, &ns, &name, false);
    }
}

/// Time-due steps of one rollout, plus one more if `extra`.
pub fn advance(state: &mut State, ns: &str, name: &str, extra: bool) {
    let key = (ns.to_owned(), name.to_owned());
    let Some(obj) = state
        .objects
        .get(&(Kind::Deployment, ns.into(), name.into()))
    else {
        state.rollouts.remove(&key);
        return;
    };
    let want = desired(obj);
    let is_paused = paused(obj);
    let spec_deadline = Duration::from_secs(
        obj["spec"]["progressDeadlineSeconds"]
            .as_u64()
            .unwrap_or(600),
    );
    let step = state.step.filter(|s| !s.is_zero());
    let global_deadline = state.deadline;
    let Some(r) = state.rollouts.get_mut(&key) else {
        return;
    };
    let mut changed = false;
    if is_paused {
        if !r.observed {
            r.observed = true;
            write_status(state, ns, name, true);
        }
        return;
    }
    if let Some(step) = step {
        let due = (r.last_step.elapsed().as_nanos() / step.as_nanos()) as u32;
        for _ in 0..due.min(1000) {
            changed |= step_one(r, want);
        }
        r.last_step += step * due;
    }
    if extra {
        changed |= step_one(r, want);
    }
    let deadline = r.deadline.or(global_deadline).unwrap_or(spec_deadline);
    if !r.done && !r.exceeded && r.started.elapsed() >= deadline {
        r.exceeded = true;
        r.observed = true;
        changed = true;
    }
    if changed {
        write_status(state, ns, name, true);
    }
}

/// Makes the rollout of `ns/name` fail its deadline now (or the next one,
/// if none is running).
pub fn exceed(state: &mut State, ns: &str, name: &str) {
    let key = (ns.to_owned(), name.to_owned());
    match state.rollouts.get_mut(&key) {
        Some(r) if !r.done => {
            r.stalled = true;
            r.deadline = Some(Duration::ZERO);
            advance(state, ns, name, false);
        }
        _ => {
            state.stall_next.insert(key, Some(Duration::ZERO));
        }
    }
}

fn current_hash(state: &State, ns: &str, name: &str) -> String {
    state
        .history
        .get(&(ns.to_owned(), name.to_owned()))
        .and_then(|h| h.iter().max_by_key(|r| r.revision))
        .map(|r| r.hash.clone())
        .unwrap_or_default()
}

fn condition(kind: &str, status: &str, reason: &str, message: &str, old: &Value) -> Value {
    let now = now_rfc3339();
    let previous = old
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == kind));
    let transition = match previous {
        Some(p) if p["status"] == status => p["lastTransitionTime"].clone(),
        _ => json!(now),
    };
    json!({
        "type": kind, "status": status, "reason": reason, "message": message,
        "lastUpdateTime": now, "lastTransitionTime": transition,
    })
}

/// Rewrites the Deployment's `status` from its rollout (bumping
/// `resourceVersion` if `bump`).
pub fn write_status(state: &mut State, ns: &str, name: &str, bump: bool) {
    let rs = format!("{name}-{}", current_hash(state, ns, name));
    let rv = bump.then(|| state.next_rv());
    let key = (ns.to_owned(), name.to_owned());
    let Some(r) = state.rollouts.get(&key) else {
        return;
    };
    let Some(obj) = state
        .objects
        .get_mut(&(Kind::Deployment, ns.into(), name.into()))
    else {
        return;
    };
    let want = desired(obj);
    let old_status = obj["status"].clone();
    let observed = if r.observed {
        obj["metadata"]["generation"].clone()
    } else {
        old_status["observedGeneration"].clone()
    };
    let available = r.old + r.ready;
    let mut st = Map::new();
    if !observed.is_null() {
        st.insert("observedGeneration".into(), observed);
    }
    for (field, n) in [
        ("replicas", r.old + r.new),
        ("updatedReplicas", r.new),
        ("readyReplicas", available),
        ("availableReplicas", available),
        ("unavailableReplicas", want.saturating_sub(available)),
    ] {
        if n > 0 {
            st.insert(field.into(), json!(n));
        }
    }
    let conds = &old_status["conditions"];
    let available_cond = if available >= want - want / 4 {
        condition(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            conds,
        )
    } else {
        condition(
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            conds,
        )
    };
    let progressing = if paused(obj) {
        condition(
            "Progressing",
            "Unknown",
            "DeploymentPaused",
            "Deployment is paused",
            conds,
        )
    } else if r.exceeded {
        condition(
            "Progressing",
            "False",
            "ProgressDeadlineExceeded",
            &format!("ReplicaSet \"{rs}\" has timed out progressing."),
            conds,
        )
    } else if r.done {
        condition(
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            &format!("ReplicaSet \"{rs}\" has successfully progressed."),
            conds,
        )
    } else {
        condition(
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            &format!("ReplicaSet \"{rs}\" is progressing."),
            conds,
        )
    };
    st.insert("conditions".into(), json!([available_cond, progressing]));
    obj["status"] = Value::Object(st);
    if let Some(rv) = rv {
        obj["metadata"]["resourceVersion"] = json!(rv);
    }
}

/// The ReplicaSets of every Deployment in `ns`, as the API shows them.
pub fn replica_sets(state: &State, ns: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for ((kind, dns, name), dep) in &state.objects {
        if *kind != Kind::Deployment || dns != ns {
            continue;
        }
        let key = (ns.to_owned(), name.clone());
        let Some(history) = state.history.get(&key) else {
            continue;
        };
        let rollout = state.rollouts.get(&key);
        let mut ordered: Vec<&Revision> = history.iter().collect();
        ordered.sort_by_key(|r| std::cmp::Reverse(r.revision));
        for (i, rev) in ordered.iter().enumerate() {
            let (replicas, ready) = match (i, rollout) {
                (0, Some(r)) => (r.new, r.ready),
                (1, Some(r)) => (r.old, r.old),
                _ => (0, 0),
            };
            let mut template = rev.template.clone();
            template["metadata"]["labels"]["pod-template-hash"] = json!(rev.hash);
            let mut selector = dep["spec"]["selector"].clone();
            selector["matchLabels"]["pod-template-hash"] = json!(rev.hash);
            let mut status = json!({ "replicas": replicas, "observedGeneration": 1 });
            if ready > 0 {
                status["readyReplicas"] = json!(ready);
                status["availableReplicas"] = json!(ready);
                status["fullyLabeledReplicas"] = json!(replicas);
            }
            out.push(json!({
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {
                    "name": format!("{name}-{}", rev.hash), "namespace": ns,
                    "uid": format!("{}-rs-{}", dep["metadata"]["uid"].as_str().unwrap_or_default(), rev.hash),
                    "resourceVersion": state.resource_version.to_string(),
                    "generation": 1,
                    "labels": template["metadata"]["labels"].clone(),
                    "annotations": { REVISION: rev.revision.to_string(),
                                     "deployment.kubernetes.io/desired-replicas": desired(dep).to_string() },
                    "ownerReferences": [{
                        "apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                        "uid": dep["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true,
                    }],
                },
                "spec": { "replicas": replicas, "selector": selector, "template": template },
                "status": status,
            }));
        }
    }
    out
}
