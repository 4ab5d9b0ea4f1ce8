//! Tests of [`FakeKubernetes`].

use std::time::Duration;

use serde_json::{Value, json};

use super::FakeKubernetes;
use super::tests_support::{Reply, call};

const TOKEN: &str = "sa-token";
const DEPLOY: &str = "/apis/apps/v1/namespaces/prod/deployments";
const ROUTE: &str = "/apis/gateway.networking.k8s.io/v1/namespaces/prod/httproutes/web";

fn fake() -> FakeKubernetes {
    let k = FakeKubernetes::start(TOKEN);
    k.add_namespace("prod");
    k.set_rollout_step(None);
    k.add_deployment("prod", "web", &[("app", "web")], "app", "reg/web:v1", 3);
    k
}

fn req(k: &FakeKubernetes, method: &str, path: &str, ct: &str, body: &Value) -> Reply {
    let auth = format!("Bearer {TOKEN}");
    let body = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let mut headers = vec![("authorization", auth.as_str())];
    if !ct.is_empty() {
        headers.push(("content-type", ct));
    }
    call(method, &format!("{}{path}", k.url()), &headers, &body)
}

fn get(k: &FakeKubernetes, path: &str) -> Reply {
    req(k, "GET", path, "", &Value::Null)
}

fn patch(k: &FakeKubernetes, path: &str, ct: &str, body: Value) -> Reply {
    req(k, "PATCH", path, &format!("application/{ct}+json"), &body)
}

fn rv(v: &Value) -> u64 {
    v["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn progressing(d: &Value) -> (String, String) {
    let c = d["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Progressing")
        .unwrap();
    (
        c["status"].as_str().unwrap().into(),
        c["reason"].as_str().unwrap().into(),
    )
}

#[test]
fn auth_and_not_found() {
    let k = fake();
    let r = call("GET", &format!("{}{DEPLOY}/web", k.url()), &[], b"");
    assert_eq!(r.status, 401);
    assert_eq!(
        (r.json()["kind"].as_str(), r.json()["reason"].as_str()),
        (Some("Status"), Some("Unauthorized"))
    );
    let r = call(
        "GET",
        &format!("{}{DEPLOY}/web", k.url()),
        &[("authorization", "Bearer wrong")],
        b"",
    );
    assert_eq!(r.status, 401);
    let r = get(&k, &format!("{DEPLOY}/nope"));
    assert_eq!(r.status, 404);
    let body = r.json();
    assert_eq!(body["reason"], "NotFound");
    assert_eq!(body["message"], "deployments.apps \"nope\" not found");
    assert_eq!(body["details"]["group"], "apps");
    let r = get(&k, "/api/v1/namespaces/prod/services/none");
    assert_eq!(r.json()["message"], "services \"none\" not found");
    let r = get(&k, "/apis/apps/v1/namespaces/ghost/deployments/web");
    assert_eq!(r.json()["message"], "namespaces \"ghost\" not found");
    assert_eq!(get(&k, &format!("{DEPLOY}/web")).status, 200);
}

#[test]
fn create_get_put_delete() {
    let k = fake();
    let svc = json!({ "apiVersion": "v1", "kind": "Service", "metadata": { "name": "web" },
                      "spec": { "selector": { "app": "web" }, "ports": [{ "port": 80 }] } });
    let r = req(
        &k,
        "POST",
        "/api/v1/namespaces/prod/services",
        "application/json",
        &svc,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    assert_eq!(created["spec"]["ports"][0]["targetPort"], 80);
    assert!(created["spec"]["clusterIP"].is_string());
    let r = req(
        &k,
        "POST",
        "/api/v1/namespaces/prod/services",
        "application/json",
        &svc,
    );
    assert_eq!(
        (r.status, r.json()["reason"].as_str()),
        (409, Some("AlreadyExists"))
    );
    let bad = json!({ "apiVersion": "apps/v1", "kind": "Service", "metadata": { "name": "x" } });
    let r = req(
        &k,
        "POST",
        "/api/v1/namespaces/prod/services",
        "application/json",
        &bad,
    );
    assert_eq!(r.status, 400);
    let nameless = json!({ "apiVersion": "v1", "kind": "Service", "metadata": {}, "spec": { "ports": [{ "port": 80 }] } });
    let r = req(
        &k,
        "POST",
        "/api/v1/namespaces/prod/services",
        "application/json",
        &nameless,
    );
    assert_eq!(
        (r.status, r.json()["reason"].as_str()),
        (422, Some("Invalid"))
    );
    assert_eq!(k.service_selector("prod", "web").unwrap()["app"], "web");

    // PUT with the current resourceVersion works, with a stale one is a Conflict.
    let mut obj = get(&k, "/api/v1/namespaces/prod/services/web").json();
    obj["spec"]["selector"] = json!({ "app": "web", "track": "green" });
    let r = req(
        &k,
        "PUT",
        "/api/v1/namespaces/prod/services/web",
        "application/json",
        &obj,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(rv(&r.json()) > rv(&obj));
    assert_eq!(k.service_selector("prod", "web").unwrap()["track"], "green");
    let r = req(
        &k,
        "PUT",
        "/api/v1/namespaces/prod/services/web",
        "application/json",
        &obj,
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["reason"], "Conflict");
    assert!(r.json()["message"].as_str().unwrap().ends_with(
        "the object has been modified; please apply your changes to the latest version and try again"
    ));

    let r = req(
        &k,
        "DELETE",
        "/api/v1/namespaces/prod/services/web",
        "",
        &Value::Null,
    );
    assert_eq!(
        (r.status, r.json()["status"].as_str()),
        (200, Some("Success"))
    );
    assert!(!k.exists("Service", "prod", "web"));
    assert_eq!(k.requests_to("/api/v1/namespaces/prod/services").len(), 8);
}

#[test]
fn deployment_patches_and_generation() {
    let k = fake();
    let before = k.deployment("prod", "web").unwrap();
    assert_eq!(before["metadata"]["generation"], 1);
    // Strategic merge keeps the container list, merging by name.
    let r = patch(
        &k,
        &format!("{DEPLOY}/web"),
        "strategic-merge-patch",
        json!({ "spec": { "template": { "spec": { "containers": [{ "name": "app", "image": "reg/web:v2" }] } } } }),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let d = r.json();
    assert_eq!(d["metadata"]["generation"], 2);
    assert!(rv(&d) > rv(&before));
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
        8080
    );
    assert_eq!(k.image("prod", "web").as_deref(), Some("reg/web:v2"));
    // Merge patch replaces lists whole.
    let r = patch(
        &k,
        &format!("{DEPLOY}/web"),
        "merge-patch",
        json!({ "spec": { "template": { "spec": { "containers": [{ "name": "app", "image": "reg/web:v3" }] } } } }),
    );
    assert_eq!(r.status, 200);
    let c = &r.json()["spec"]["template"]["spec"]["containers"][0];
    assert!(c.get("ports").is_none(), "{c}");
    assert_eq!(r.json()["metadata"]["generation"], 3);
    // Metadata-only change: no generation bump.
    let r = patch(
        &k,
        &format!("{DEPLOY}/web"),
        "merge-patch",
        json!({ "metadata": { "labels": { "x": "y" } } }),
    );
    assert_eq!(r.json()["metadata"]["generation"], 3);
    // Stale resourceVersion in a patch.
    let r = patch(
        &k,
        &format!("{DEPLOY}/web"),
        "merge-patch",
        json!({ "metadata": { "resourceVersion": rv(&before).to_string() }, "spec": { "replicas": 2 } }),
    );
    assert_eq!(
        (r.status, r.json()["reason"].as_str()),
        (409, Some("Conflict"))
    );
    // Injected conflict hits exactly the next write.
    k.inject_conflict("prod", "Deployment", "web");
    let body = json!({ "spec": { "replicas": 4 } });
    assert_eq!(
        patch(&k, &format!("{DEPLOY}/web"), "merge-patch", body.clone()).status,
        409
    );
    assert_eq!(
        patch(&k, &format!("{DEPLOY}/web"), "merge-patch", body).status,
        200
    );
    // Unknown patch type.
    assert_eq!(
        patch(&k, &format!("{DEPLOY}/web"), "x-patch", json!({})).status,
        415
    );
    // JSON patch on a deployment.
    let r = patch(
        &k,
        &format!("{DEPLOY}/web"),
        "json-patch",
        json!([{ "op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "reg/web:v4" }]),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(k.image("prod", "web").as_deref(), Some("reg/web:v4"));
    // ReplicaSets carry revisions: v1, v2, v3, v4.
    let rs = get(
        &k,
        "/apis/apps/v1/namespaces/prod/replicasets?labelSelector=app%3Dweb",
    )
    .json();
    assert_eq!(rs["items"].as_array().unwrap().len(), 4);
    assert_eq!(
        k.deployment("prod", "web").unwrap()["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "4"
    );
}

#[test]
fn http_route_patches() {
    let k = fake();
    k.add_http_route("prod", "web", &[("web-stable", 100), ("web-canary", 0)]);
    let r = patch(&k, ROUTE, "strategic-merge-patch", json!({ "spec": {} }));
    assert_eq!(r.status, 415);
    assert_eq!(r.json()["reason"], "UnsupportedMediaType");
    assert_eq!(
        r.json()["message"],
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    );
    let ops = json!([
        { "op": "test", "path": "/spec/rules/0/backendRefs/1/name", "value": "web-canary" },
        { "op": "replace", "path": "/spec/rules/0/backendRefs/0/weight", "value": 90 },
        { "op": "replace", "path": "/spec/rules/0/backendRefs/1/weight", "value": 10 },
    ]);
    let r = patch(&k, ROUTE, "json-patch", ops);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["metadata"]["generation"], 2);
    assert_eq!(
        k.route_weights("prod", "web"),
        vec![("web-stable".into(), 90), ("web-canary".into(), 10)]
    );
    // A failed test rejects the whole patch.
    let ops = json!([
        { "op": "replace", "path": "/spec/rules/0/backendRefs/0/weight", "value": 0 },
        { "op": "test", "path": "/spec/rules/0/backendRefs/1/name", "value": "other" },
    ]);
    let r = patch(&k, ROUTE, "json-patch", ops);
    assert_eq!(
        (r.status, r.json()["reason"].as_str()),
        (422, Some("Invalid"))
    );
    assert_eq!(k.route_weights("prod", "web")[0].1, 90);
    let r = patch(
        &k,
        ROUTE,
        "json-patch",
        json!([{ "op": "remove", "path": "/spec/nope" }]),
    );
    assert_eq!(r.status, 422);
    // Merge patch with the complete rules.
    let mut route = k.object("HTTPRoute", "prod", "web").unwrap();
    route["spec"]["rules"][0]["backendRefs"][1]["weight"] = json!(50);
    let rules = route["spec"]["rules"].clone();
    let r = patch(
        &k,
        ROUTE,
        "merge-patch",
        json!({ "spec": { "rules": rules } }),
    );
    assert_eq!(r.status, 200);
    assert_eq!(k.route_weights("prod", "web")[1].1, 50);
    // A CRD needs a resourceVersion on PUT; a stale one conflicts.
    let mut current = get(&k, ROUTE).json();
    let rv_now = current["metadata"]["resourceVersion"].clone();
    current["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    let r = req(&k, "PUT", ROUTE, "application/json", &current);
    assert_eq!(r.status, 422);
    current["metadata"]["resourceVersion"] = json!("1");
    assert_eq!(
        req(&k, "PUT", ROUTE, "application/json", &current).status,
        409
    );
    current["metadata"]["resourceVersion"] = rv_now;
    current["spec"]["hostnames"] = json!(["app.example.com"]);
    assert_eq!(
        req(&k, "PUT", ROUTE, "application/json", &current).status,
        200
    );
    k.inject_conflict("prod", "httproute", "web");
    assert_eq!(
        patch(
            &k,
            ROUTE,
            "merge-patch",
            json!({ "metadata": { "labels": { "a": "b" } } })
        )
        .status,
        409
    );
}

#[test]
fn service_and_ingress_merge() {
    let k = fake();
    k.add_service("prod", "web", &[("app", "web"), ("track", "blue")]);
    let r = patch(
        &k,
        "/api/v1/namespaces/prod/services/web",
        "strategic-merge-patch",
        json!({ "spec": { "selector": { "track": "green" } } }),
    );
    assert_eq!(r.status, 200);
    let sel = k.service_selector("prod", "web").unwrap();
    assert_eq!(
        (sel["app"].as_str(), sel["track"].as_str()),
        ("web", "green")
    );
    let r = patch(
        &k,
        "/api/v1/namespaces/prod/services/web",
        "merge-patch",
        json!({ "spec": { "selector": { "track": null } } }),
    );
    assert_eq!(r.status, 200);
    assert!(
        !k.service_selector("prod", "web")
            .unwrap()
            .contains_key("track")
    );

    k.add_ingress(
        "prod",
        "web-canary",
        &[("nginx.ingress.kubernetes.io/canary", "true")],
        "web-canary",
    );
    let path = "/apis/networking.k8s.io/v1/namespaces/prod/ingresses/web-canary";
    let r = patch(
        &k,
        path,
        "merge-patch",
        json!({ "metadata": { "annotations": { "nginx.ingress.kubernetes.io/canary-weight": "30" } } }),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        k.ingress_annotation(
            "prod",
            "web-canary",
            "nginx.ingress.kubernetes.io/canary-weight"
        )
        .as_deref(),
        Some("30")
    );
    assert_eq!(
        k.ingress_annotation("prod", "web-canary", "nginx.ingress.kubernetes.io/canary")
            .as_deref(),
        Some("true")
    );
    assert!(k.exists("ingress", "prod", "web-canary"));
}

fn image_patch(k: &FakeKubernetes, image: &str) -> Value {
    let r = patch(
        k,
        &format!("{DEPLOY}/web"),
        "strategic-merge-patch",
        json!({ "spec": { "template": { "spec": { "containers": [{ "name": "app", "image": image }] } } } }),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

#[test]
fn rollout_progresses_on_gets() {
    let k = fake();
    assert!(k.rollout_complete("prod", "web"));
    let d = image_patch(&k, "reg/web:v2");
    assert_eq!(d["status"]["observedGeneration"], 1);
    let mut seen = Vec::new();
    for _ in 0..20 {
        let d = get(&k, &format!("{DEPLOY}/web")).json();
        let st = &d["status"];
        seen.push((
            st["observedGeneration"].as_u64().unwrap(),
            st["updatedReplicas"].as_u64().unwrap_or(0),
            st["availableReplicas"].as_u64().unwrap_or(0),
        ));
        if progressing(&d).1 == "NewReplicaSetAvailable" {
            assert_eq!(
                (st["replicas"].as_u64(), st["updatedReplicas"].as_u64()),
                (Some(3), Some(3))
            );
            break;
        }
    }
    assert!(seen.len() > 3, "{seen:?}");
    assert_eq!(seen[0].0, 2, "first GET observes the generation");
    assert!(seen.windows(2).all(|w| w[0].1 <= w[1].1), "{seen:?}");
    assert!(k.rollout_complete("prod", "web"));
}

#[test]
fn rollout_progresses_over_time() {
    let k = fake();
    k.set_advance_on_get(false);
    k.set_rollout_step(Some(Duration::from_millis(20)));
    image_patch(&k, "reg/web:v2");
    assert!(!k.rollout_complete("prod", "web"));
    std::thread::sleep(Duration::from_millis(400));
    assert!(k.rollout_complete("prod", "web"));
    let d = k.deployment("prod", "web").unwrap();
    assert_eq!(
        progressing(&d),
        ("True".into(), "NewReplicaSetAvailable".into())
    );
}

#[test]
fn stall_and_deadline() {
    let k = fake();
    k.stall("prod", "web");
    image_patch(&k, "reg/web:v2");
    for _ in 0..10 {
        get(&k, &format!("{DEPLOY}/web"));
    }
    let d = k.deployment("prod", "web").unwrap();
    assert_eq!(d["status"]["observedGeneration"], 2);
    assert_eq!(d["status"]["updatedReplicas"], 1);
    assert_eq!(progressing(&d), ("True".into(), "ReplicaSetUpdated".into()));
    assert!(!k.rollout_complete("prod", "web"));
    k.exceed_deadline("prod", "web");
    let d = get(&k, &format!("{DEPLOY}/web")).json();
    assert_eq!(
        progressing(&d),
        ("False".into(), "ProgressDeadlineExceeded".into())
    );
    assert_eq!(
        k.image("prod", "web").as_deref(),
        Some("reg/web:v2"),
        "no automatic rollback"
    );
    // Rolling back starts a fresh rollout that completes.
    image_patch(&k, "reg/web:v1");
    for _ in 0..20 {
        get(&k, &format!("{DEPLOY}/web"));
    }
    assert!(k.rollout_complete("prod", "web"));

    // A configured deadline expires by itself.
    k.set_progress_deadline(Duration::from_millis(100));
    k.stall("prod", "web");
    image_patch(&k, "reg/web:v3");
    std::thread::sleep(Duration::from_millis(150));
    let d = get(&k, &format!("{DEPLOY}/web")).json();
    assert_eq!(progressing(&d).1, "ProgressDeadlineExceeded");
}

#[test]
fn create_deployment_validates_and_rolls_out() {
    let k = fake();
    let mut dep = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": "api" },
        "spec": { "replicas": 2, "selector": { "matchLabels": { "app": "api" } },
                  "template": { "metadata": { "labels": { "app": "other" } },
                                "spec": { "containers": [{ "name": "api", "image": "reg/api:1" }] } } },
    });
    let r = req(&k, "POST", DEPLOY, "application/json", &dep);
    assert_eq!(r.status, 422, "{}", r.text());
    dep["spec"]["template"]["metadata"]["labels"]["app"] = json!("api");
    let r = req(&k, "POST", DEPLOY, "application/json", &dep);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.json()["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
    for _ in 0..10 {
        get(&k, &format!("{DEPLOY}/api"));
    }
    assert!(k.rollout_complete("prod", "api"));
    let list = get(&k, DEPLOY).json();
    assert_eq!(list["kind"], "DeploymentList");
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
}
