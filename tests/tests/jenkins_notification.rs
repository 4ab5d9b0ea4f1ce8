//! A Jenkins job reporting through the Notification plugin, end to end:
//! the plugin posts to the URL configured on the job, expanded from the
//! build's parameters, and sends no header but its content type, so the
//! callback token travels in that URL.

use serde_json::{Value, json};
use slipway_tests::fakes::jenkins_notification::Phase;
use slipway_tests::pipeline_env::*;

/// The endpoint URL a team configures on its Jenkins job.
const ENDPOINT: &str = "$SLIPWAY_CALLBACK_URL?token=$SLIPWAY_CALLBACK_TOKEN";

const PIPELINE: &str = r#"
[stages.unit-test]
kind = "build"
service = "jenkins"
job = "shop/unit-test"

[stages.image]
kind = "build"
service = "jenkins"
job = "shop/image"
needs = ["unit-test"]
"#;

/// The app's public URL, as the test host serves it.
fn reach(env: &Env) -> impl Fn(&str) -> String + '_ {
    |url: &str| match url.strip_prefix("http://slipway.test") {
        Some(path) => env.host.url(path),
        None => url.to_owned(),
    }
}

fn stage<'a>(run: &'a Value, name: &str) -> &'a Value {
    &run["stages"][name]
}

#[test]
fn the_notification_plugin_ends_stages_with_the_token_in_its_url() {
    let env = Env::start("");
    let commit = sha(0x900);
    env.commit("github", &commit, PIPELINE);
    let (status, reply) = env.hook("github", &env.push("github", "main", &commit));
    assert_eq!(status, 202, "{reply}");
    let run = reply["run"].as_str().unwrap().to_owned();
    env.run(&run);

    let jenkins = &env.jenkins;
    let (status, reply) = jenkins
        .notify(
            "shop/unit-test",
            1,
            Phase::Started,
            ENDPOINT,
            None,
            reach(&env),
        )
        .expect("every variable is a declared parameter");
    assert_eq!(status, 200, "{reply}");
    assert_eq!(stage(&env.run(&run), "unit-test")["status"], "running");

    jenkins.finish_build("shop/unit-test", 1, "SUCCESS");
    let summary =
        json!({ "total": 12, "failed": 0, "passed": 11, "skipped": 1, "failed_tests": [] });
    let (status, reply) = jenkins
        .notify(
            "shop/unit-test",
            1,
            Phase::Completed,
            ENDPOINT,
            Some(summary),
            reach(&env),
        )
        .unwrap();
    assert_eq!(status, 200, "{reply}");
    let record = env.run(&run);
    assert_eq!(stage(&record, "unit-test")["status"], "succeeded");
    assert_eq!(stage(&record, "unit-test")["tests"]["passed"], 11);
    assert_eq!(stage(&record, "image")["status"], "running", "{record}");
    // FINALIZED repeats the result: acknowledged, nothing changes.
    let rows = env.kv_rows();
    let (status, reply) = jenkins
        .notify(
            "shop/unit-test",
            1,
            Phase::Finalized,
            ENDPOINT,
            None,
            reach(&env),
        )
        .unwrap();
    assert_eq!(
        (status, &reply["duplicate"]),
        (200, &json!(true)),
        "{reply}"
    );
    assert_eq!(env.kv_rows(), rows);

    jenkins.finish_build("shop/image", 1, "UNSTABLE");
    let summary = json!({ "total": 3, "failed": 1, "passed": 2, "skipped": 0,
        "failed_tests": ["com.acme.shop.CartTest.totalsPrices"] });
    let (status, reply) = jenkins
        .notify(
            "shop/image",
            1,
            Phase::Completed,
            ENDPOINT,
            Some(summary),
            reach(&env),
        )
        .unwrap();
    assert_eq!(status, 200, "{reply}");
    let record = env.run(&run);
    assert_eq!(stage(&record, "image")["status"], "failed");
    assert_eq!(stage(&record, "image")["tests"]["failed"], 1);
    assert_eq!(
        stage(&record, "image")["tests"]["failures"][0]["name"],
        "com.acme.shop.CartTest.totalsPrices"
    );
    assert_eq!(record["status"], "failed");
}

#[test]
fn a_url_token_that_does_not_match_is_refused_and_writes_nothing() {
    let env = Env::start("");
    let commit = sha(0x901);
    env.commit("github", &commit, PIPELINE);
    let (status, reply) = env.hook("github", &env.push("github", "main", &commit));
    assert_eq!(status, 202, "{reply}");
    let run = reply["run"].as_str().unwrap().to_owned();
    env.run(&run);
    env.jenkins.finish_build("shop/unit-test", 1, "SUCCESS");
    let rows = env.kv_rows();
    let other_stage = env.callback_token(&run, "image", 1);
    let cases = [
        (format!("$SLIPWAY_CALLBACK_URL?token={other_stage}"), 401),
        ("$SLIPWAY_CALLBACK_URL?token=nonsense".to_owned(), 401),
        ("$SLIPWAY_CALLBACK_URL".to_owned(), 401),
        (
            "$SLIPWAY_CALLBACK_URL?token=$SLIPWAY_CALLBACK_TOKEN&token=x".to_owned(),
            400,
        ),
    ];
    for (endpoint, expected) in cases {
        let (status, reply) = env
            .jenkins
            .notify(
                "shop/unit-test",
                1,
                Phase::Completed,
                &endpoint,
                None,
                reach(&env),
            )
            .unwrap();
        assert_eq!(status, expected, "{endpoint}: {reply}");
    }
    // A variable the job does not declare stays unresolved: the plugin
    // skips the endpoint.
    assert!(
        env.jenkins
            .notify(
                "shop/unit-test",
                1,
                Phase::Completed,
                "$SLIPWAY_CALLBACK_URL?token=$TOKEN",
                None,
                reach(&env),
            )
            .is_none()
    );
    assert_eq!(env.kv_rows(), rows);
    assert_eq!(stage(&env.run(&run), "unit-test")["status"], "running");
}
