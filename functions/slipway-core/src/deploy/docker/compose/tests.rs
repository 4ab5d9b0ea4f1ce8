use serde_json::{Value, json};

use super::{NAMESPACE_LABEL, SPEC_LABEL, parse, plan};

const FILE: &str = r#"
version: "3.8"
services:
  web:
    image: placeholder:latest
    command: ["/bin/busybox", "httpd", "-f"]
    environment:
      MODE: production
      WORKERS: 4
      DEBUG: false
    ports:
      - "8080:80"
      - target: 53
        published: 5353
        protocol: udp
    healthcheck:
      test: ["CMD", "/bin/busybox", "true"]
      interval: 2s
      timeout: 1s
      retries: 3
      start_period: 1m
    secrets:
      - api_key
      - source: db_password
        target: db
        mode: 0400
    deploy:
      replicas: 3
      labels: [team=shop]
      update_config:
        parallelism: 2
        delay: 1s
        failure_action: rollback
        monitor: 10s
        order: start-first
      rollback_config:
        parallelism: 0
        failure_action: pause
      restart_policy:
        condition: on-failure
        max_attempts: 3
    networks: [front, back]
  worker:
    image: acme/worker:7
    environment: [QUEUE=jobs]
    networks:
      back:
        aliases: [jobs]
networks:
  front:
  back:
    driver: overlay
    attachable: true
secrets:
  api_key:
    external: true
  db_password:
    external: true
    name: shop_db_password
"#;

fn defaults() -> (Value, Value) {
    let c = |a: &str| {
        json!({"Parallelism": 1, "Delay": 0, "FailureAction": a, "Monitor": 5_000_000_000u64,
               "MaxFailureRatio": 0.0, "Order": "start-first"})
    };
    (c("rollback"), c("pause"))
}

fn error_of(text: &str) -> String {
    match parse(text) {
        Err(e) => e.to_string(),
        Ok(file) => plan(&file, "shop", "web", "acme/shop:2", &defaults())
            .expect_err("refused")
            .to_string(),
    }
}

#[test]
fn maps_a_stack_like_docker_stack_deploy() {
    let file = parse(FILE).expect("parses");
    let p = plan(&file, "shop", "web", "acme/shop@sha256:abc", &defaults()).expect("plans");
    assert_eq!(p.app_service, "shop_web");
    let names: Vec<&str> = p.services.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["shop_web", "shop_worker"]);
    let web = &p.services[0].1;
    assert_eq!(web["Name"], "shop_web");
    assert_eq!(web["Labels"][NAMESPACE_LABEL], "shop");
    assert_eq!(web["Labels"]["team"], "shop");
    assert_eq!(web["Labels"][SPEC_LABEL].as_str().map(str::len), Some(16));
    let c = &web["TaskTemplate"]["ContainerSpec"];
    assert_eq!(c["Image"], "acme/shop@sha256:abc", "the build's image");
    assert_eq!(c["Labels"][NAMESPACE_LABEL], "shop");
    assert_eq!(c["Args"], json!(["/bin/busybox", "httpd", "-f"]));
    assert_eq!(
        c["Env"],
        json!(["DEBUG=false", "MODE=production", "WORKERS=4"])
    );
    assert_eq!(
        c["Healthcheck"],
        json!({"Test": ["CMD", "/bin/busybox", "true"], "Interval": 2_000_000_000u64,
               "Timeout": 1_000_000_000u64, "StartPeriod": 60_000_000_000u64, "Retries": 3})
    );
    assert_eq!(c["Secrets"][0]["SecretName"], "api_key");
    assert_eq!(c["Secrets"][0]["File"]["Name"], "api_key");
    assert_eq!(c["Secrets"][1]["SecretName"], "shop_db_password");
    assert_eq!(c["Secrets"][1]["File"]["Name"], "db");
    assert_eq!(c["Secrets"][1]["File"]["Mode"], 0o400);
    assert_eq!(web["Mode"]["Replicated"]["Replicas"], 3);
    assert_eq!(
        web["EndpointSpec"]["Ports"],
        json!([
            {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080, "PublishMode": "ingress"},
            {"Protocol": "udp", "TargetPort": 53, "PublishedPort": 5353, "PublishMode": "ingress"},
        ])
    );
    let u = &web["UpdateConfig"];
    assert_eq!(
        (
            &u["Parallelism"],
            &u["Delay"],
            &u["FailureAction"],
            &u["Monitor"]
        ),
        (
            &json!(2),
            &json!(1_000_000_000u64),
            &json!("rollback"),
            &json!(10_000_000_000u64)
        )
    );
    assert_eq!(web["RollbackConfig"]["Parallelism"], 0);
    assert_eq!(
        web["RollbackConfig"]["Order"], "start-first",
        "environment default kept"
    );
    assert_eq!(
        web["TaskTemplate"]["RestartPolicy"],
        json!({"Condition": "on-failure", "MaxAttempts": 3})
    );
    assert_eq!(
        web["TaskTemplate"]["Networks"],
        json!([{"Target": "shop_back", "Aliases": ["web"]}, {"Target": "shop_front", "Aliases": ["web"]}])
    );
    let worker = &p.services[1].1;
    assert_eq!(
        worker["TaskTemplate"]["ContainerSpec"]["Image"],
        "acme/worker:7"
    );
    assert_eq!(
        worker["TaskTemplate"]["ContainerSpec"]["Env"],
        json!(["QUEUE=jobs"])
    );
    assert_eq!(worker["Mode"]["Replicated"]["Replicas"], 1);
    assert_eq!(
        worker["TaskTemplate"]["Networks"],
        json!([{"Target": "shop_back", "Aliases": ["worker", "jobs"]}])
    );
    let nets: Vec<&str> = p.networks.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(nets, ["shop_back", "shop_front"]);
    assert_eq!(p.networks[0].1["Driver"], "overlay");
    assert_eq!(p.networks[0].1["Attachable"], true);
    assert_eq!(p.networks[0].1["Labels"][NAMESPACE_LABEL], "shop");
    assert_eq!(p.secrets, ["api_key", "shop_db_password"]);
}

#[test]
fn plans_are_stable_and_change_with_the_image() {
    let file = parse(FILE).expect("parses");
    let a = plan(&file, "shop", "web", "acme/shop:1", &defaults()).expect("plans");
    let b = plan(&file, "shop", "web", "acme/shop:1", &defaults()).expect("plans");
    let c = plan(&file, "shop", "web", "acme/shop:2", &defaults()).expect("plans");
    assert_eq!(a, b);
    let label = |p: &super::StackPlan, i: usize| p.services[i].1["Labels"][SPEC_LABEL].clone();
    assert_ne!(label(&a, 0), label(&c, 0), "a new image is a change");
    assert_eq!(label(&a, 1), label(&c, 1), "the worker did not change");
}

#[test]
fn a_minimal_stack_gets_the_default_network() {
    let file = parse("services:\n  web: {}\n").expect("parses");
    let p = plan(&file, "shop", "web", "acme/shop:2", &defaults()).expect("plans");
    assert_eq!(p.networks.len(), 1);
    assert_eq!(p.networks[0].0, "shop_default");
    let web = &p.services[0].1;
    assert_eq!(web["TaskTemplate"]["Networks"][0]["Target"], "shop_default");
    assert_eq!(web["EndpointSpec"]["Ports"], json!([]));
    assert_eq!(web["UpdateConfig"], defaults().0);
}

#[test]
fn unsupported_keys_are_refused_with_their_path() {
    for (text, want) in [
        (
            "services:\n  web:\n    build: .\n",
            "services.web.build: not supported",
        ),
        (
            "services:\n  web:\n    volumes: [data:/data]\n",
            "services.web.volumes: not supported",
        ),
        (
            "services:\n  web:\n    deploy:\n      resources: {}\n",
            "services.web.deploy.resources: not supported",
        ),
        (
            "services:\n  web:\n    deploy:\n      update_config:\n        rollout: 1\n",
            "services.web.deploy.update_config.rollout: not supported",
        ),
        (
            "services:\n  web: {}\nvolumes:\n  data: {}\n",
            "volumes: not supported",
        ),
        (
            "services:\n  web: {}\nconfigs: {}\n",
            "configs: not supported",
        ),
        (
            "services:\n  web: {}\nsecrets:\n  k:\n    file: ./k\n",
            "secrets.k.file: not supported",
        ),
        (
            "services:\n  web:\n    healthcheck:\n      test: [CMD, true]\n      foo: 1\n",
            "services.web.healthcheck.foo: not supported",
        ),
    ] {
        let e = error_of(text);
        assert!(e.starts_with(want), "{text:?} gave {e:?}");
    }
}

#[test]
fn values_that_cannot_be_deployed_are_refused_with_their_path() {
    for (text, want) in [
        (
            "services:\n  db: {image: pg:16}\n",
            "services: no service \"web\"",
        ),
        (
            "services:\n  web: {}\n  db: {}\n",
            "services.db.image: is required",
        ),
        (
            "services:\n  web:\n    environment:\n      HOME:\n",
            "services.web.environment.HOME: needs a value",
        ),
        (
            "services:\n  web:\n    environment: [HOME]\n",
            "services.web.environment[0]: needs KEY=value",
        ),
        (
            "services:\n  web:\n    ports: [\"127.0.0.1:80:80\"]\n",
            "services.web.ports[0]:",
        ),
        (
            "services:\n  web:\n    ports: [\"8000-8001:80-81\"]\n",
            "services.web.ports[0]:",
        ),
        (
            "services:\n  web:\n    networks: [missing]\n",
            "services.web.networks.missing: is not defined",
        ),
        (
            "services:\n  web:\n    secrets: [k]\n",
            "services.web.secrets[0]: secret \"k\" is not defined",
        ),
        (
            "services:\n  web: {}\nsecrets:\n  k: {}\n",
            "secrets.k: only external secrets",
        ),
        (
            "services:\n  web:\n    deploy: {mode: global, replicas: 2}\n",
            "services.web.deploy.replicas:",
        ),
        (
            "services:\n  web:\n    deploy:\n      update_config: {failure_action: explode}\n",
            "services.web.deploy.update_config.failure_action:",
        ),
        (
            "services:\n  web:\n    deploy:\n      rollback_config: {failure_action: rollback}\n",
            "services.web.deploy.rollback_config.failure_action:",
        ),
        (
            "services:\n  web:\n    deploy:\n      update_config: {delay: soon}\n",
            "services.web.deploy.update_config.delay:",
        ),
        (
            "services:\n  web: {}\nnetworks:\n  default: {driver: bridge}\n",
            "networks.default.driver:",
        ),
        (
            "services:\n  web:\n    healthcheck: {test: [curl, x]}\n",
            "services.web.healthcheck.test:",
        ),
        ("services: [web]\n", "services:"),
    ] {
        let e = error_of(text);
        assert!(e.starts_with(want), "{text:?} gave {e:?}");
    }
}
