use super::*;

#[test]
fn stale_version_is_retried_once() {
    let fake = Fake::new(BASE);
    let env = env(None);
    *fake.stale_posts.borrow_mut() = 1;
    let (rollout, _) = block_on(start(
        &fake,
        &env,
        None,
        None,
        "shop",
        NEW,
        &Strategy::Rolling,
        0,
    ))
    .unwrap();
    assert_eq!(
        lines(&fake.take_requests()),
        [
            "GET /services/shop",
            "POST /services/svc1/update?version=10",
            "GET /services/shop",
            "POST /services/svc1/update?version=11",
            "GET /services/svc1",
        ]
    );
    assert_eq!((rollout.version, fake.image()), (12, NEW.to_owned()));

    let fake = Fake::new(BASE);
    *fake.stale_posts.borrow_mut() = 2;
    let err = block_on(start(
        &fake,
        &env,
        None,
        None,
        "shop",
        NEW,
        &Strategy::Rolling,
        0,
    ))
    .unwrap_err();
    assert_eq!(
        err,
        DeployError::Api {
            service: "docker",
            status: 500,
            message: OUT_OF_SEQUENCE.into()
        }
    );
    assert_eq!(fake.take_requests().len(), 4);
}

#[test]
fn same_image_forces_new_tasks() {
    let fake = Fake::new(BASE);
    let env = env(None);
    block_on(start(
        &fake,
        &env,
        None,
        None,
        "shop",
        OLD,
        &Strategy::Rolling,
        0,
    ))
    .unwrap();
    assert_eq!(fake.spec.borrow()["TaskTemplate"]["ForceUpdate"], json!(1));
}

#[test]
fn canary_and_blue_green_need_dnsrr_services() {
    let fake = Fake::new(BASE);
    let env = env(None);
    let canary = Strategy::Canary {
        steps: vec![10, 100],
        hold_ms: None,
    };
    // The fake's service runs behind a virtual IP, on no network.
    let err = block_on(start(&fake, &env, None, None, "shop", NEW, &canary, 0)).unwrap_err();
    assert!(
        matches!(&err, DeployError::Config(m) if m.contains("endpoint mode dnsrr")),
        "{err:?}"
    );
    let lines = lines(&fake.take_requests());
    assert!(lines.iter().all(|l| l.starts_with("GET ")), "{lines:?}");
    let err = super::super::stack_rolling_only(&Strategy::BlueGreen).unwrap_err();
    assert!(err.to_string().contains("rolling update only"), "{err}");
}

#[test]
fn settings_are_checked() {
    let fake = Fake::new(BASE);
    let run = |env: &DockerEnv, service: &str, image: &str| {
        block_on(start(
            &fake,
            env,
            None,
            None,
            service,
            image,
            &Strategy::Rolling,
            0,
        ))
    };
    let mut bad = env(Some("latest"));
    assert!(matches!(
        run(&bad, "shop", NEW),
        Err(DeployError::Config(_))
    ));
    bad = env(None);
    bad.url = "unix:///var/run/docker.sock".into();
    assert!(matches!(
        run(&bad, "shop", NEW),
        Err(DeployError::Config(_))
    ));
    bad = env(None);
    bad.delay = Some("ten seconds".into());
    assert!(matches!(
        run(&bad, "shop", NEW),
        Err(DeployError::Config(_))
    ));
    assert!(matches!(
        run(&env(None), "../x", NEW),
        Err(DeployError::Config(_))
    ));
    assert!(matches!(
        run(&env(None), "shop", "shop"),
        Err(DeployError::Config(_))
    ));
    assert!(fake.take_requests().is_empty());

    let fake = Fake::new(&format!("{BASE}/v1.47"));
    let (_, _) = block_on(start(
        &fake,
        &env(Some("v1.47")),
        None,
        None,
        "shop",
        NEW,
        &Strategy::Rolling,
        0,
    ))
    .unwrap();
    assert!(serde_json::from_value::<DockerEnv>(json!({"url": BASE, "tls": true})).is_err());
}

#[test]
fn durations() {
    assert_eq!(parse_duration_ns("10s").unwrap(), 10_000_000_000);
    assert_eq!(parse_duration_ns("1m30s").unwrap(), 90_000_000_000);
    assert_eq!(parse_duration_ns("500ms").unwrap(), 500_000_000);
    assert_eq!(parse_duration_ns("0").unwrap(), 0);
    for bad in ["", "10", "s", "1x", "-1s", "99999999999h"] {
        assert!(parse_duration_ns(bad).is_err(), "{bad}");
    }
}

#[test]
fn errors_carry_the_engine_message_and_no_secrets() {
    let fake = Fake::new(BASE);
    let env = env(None);
    let err = block_on(start(
        &fake,
        &env,
        Some(TOKEN),
        Some(AUTH),
        "cart",
        NEW,
        &Strategy::Rolling,
        0,
    ))
    .unwrap_err();
    assert_eq!(
        err,
        DeployError::Api {
            service: "docker",
            status: 404,
            message: "service cart not found".into()
        }
    );
    *fake.down.borrow_mut() = true;
    let down = block_on(start(
        &fake,
        &env,
        Some(TOKEN),
        Some(AUTH),
        "shop",
        NEW,
        &Strategy::Rolling,
        0,
    ))
    .unwrap_err();
    assert!(matches!(
        down,
        DeployError::Unreachable {
            service: "docker",
            ..
        }
    ));
    for e in [err, down] {
        let text = format!("{e} {e:?}");
        assert!(!text.contains(TOKEN) && !text.contains(AUTH), "{text}");
    }
}
