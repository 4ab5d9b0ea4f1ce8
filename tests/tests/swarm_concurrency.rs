//! Two deploys to one Swarm environment at the same moment: one is
//! accepted, the other refused with 409 naming the deployment that holds
//! the environment; the accepted one runs to its end, its image is what
//! serves, and the environment takes a deploy again afterwards. Same test
//! on the fake Docker Engine and on the real one.

use std::sync::{Arc, Barrier};

use serde_json::{Value, json};
use slipway_tests::deploy_env::{APP, deploy};
use slipway_tests::fakes::FakeDocker;
use slipway_tests::pipeline_env::Env;
use slipway_tests::swarm::{RealSwarm, SwarmTarget, image_of};
use slipway_tests::swarm_env::{swarm_env, wait_ended};

const TICK: std::time::Duration = std::time::Duration::from_millis(250);

/// Sends `POST /api/deploy` of each image from its own thread, released
/// together, and returns the answers in the images' order.
fn deploy_at_once(env: &Arc<Env>, images: [&str; 2]) -> Vec<(u16, Value)> {
    let gate = Arc::new(Barrier::new(images.len()));
    let threads: Vec<_> = images
        .iter()
        .map(|image| {
            let (env, gate, image) = (env.clone(), gate.clone(), image.to_string());
            std::thread::spawn(move || {
                gate.wait();
                deploy(
                    &env,
                    "swarm",
                    json!({ "strategy": "rolling", "image": image }),
                )
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("deploy thread"))
        .collect()
}

fn one_of_two_concurrent_deploys_is_refused(target: &dyn SwarmTarget, first_image: &str) {
    target.create_service(APP, first_image, 2);
    let env = Arc::new(swarm_env(target));
    // Two images the engine has, either of which can win.
    let a = target.good_image();
    let b = target.stack_images().1;
    let answers = deploy_at_once(&env, [&a, &b]);
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    let winner = match statuses.as_slice() {
        [202, 409] => 0,
        [409, 202] => 1,
        _ => panic!("expected one 202 and one 409: {answers:?}"),
    };
    let (accepted, refused) = (&answers[winner].1, &answers[1 - winner].1);
    let held_by = refused["held_by"].as_str().unwrap_or_default();
    assert!(
        !held_by.is_empty() && refused["error"].as_str().is_some_and(|e| !e.is_empty()),
        "the refusal names the holder and says why: {refused}"
    );
    assert!(
        accepted.to_string().contains(held_by),
        "the holder is the accepted deployment: {held_by} in {accepted}"
    );

    let done = wait_ended(&env, target, TICK);
    assert_eq!(done["status"], "succeeded", "{done}");
    let served = [&a, &b][winner];
    assert_eq!(&image_of(target, APP), served, "the accepted image serves");

    // The environment is free again once the first deployment has ended.
    let (status, reply) = deploy(
        &env,
        "swarm",
        json!({ "strategy": "rolling", "image": first_image }),
    );
    assert_eq!(status, 202, "{reply}");
    assert_eq!(wait_ended(&env, target, TICK)["status"], "succeeded");
}

#[test]
fn one_of_two_concurrent_deploys_is_refused_on_the_fake_engine() {
    let fake = FakeDocker::start();
    // The update stays in progress for a while, as on a real engine.
    fake.set_update_steps(8);
    one_of_two_concurrent_deploys_is_refused(&fake, "registry.example.com/acme/shop:1.0.0");
}

#[test]
fn one_of_two_concurrent_deploys_is_refused_on_the_real_engine() {
    let real = RealSwarm::connect();
    let first = real.first_image();
    one_of_two_concurrent_deploys_is_refused(&real, &first);
}
