//! The simulated world the demo's app works in: a git provider holding the
//! sample repository, a Jenkins whose two jobs build by themselves, and a
//! Kubernetes API with the app running version 1.0.0 in `test` and
//! `production`.

use std::collections::BTreeMap;
use std::time::Duration;

use slipway_simulators::jenkins_auto::BuildPlan;
use slipway_simulators::{FakeGit, FakeJenkins, FakeKubernetes, random_u64};

/// The app, as the sample configuration names it.
pub const APP: &str = "shop";
/// Its repository on the git provider.
pub const REPO: &str = "acme/shop";
/// The production namespace.
pub const PRODUCTION_NS: &str = "shop";
/// The test namespace.
pub const TEST_NS: &str = "shop-test";
/// The image both environments run before the demo.
pub const OLD_IMAGE: &str = "registry.example.com/acme/shop:1.0.0";
/// The git provider's API token.
pub const GIT_TOKEN: &str = "demo-github-token";
/// Jenkins' user.
pub const JENKINS_USER: &str = "slipway";
/// Jenkins' API token.
pub const JENKINS_TOKEN: &str = "demo-jenkins-token";
/// The Kubernetes API's bearer token.
pub const K8S_TOKEN: &str = "demo-kubernetes-token";

const PASSING: &str = include_str!("../sample/junit/passing.xml");
const FAILING: &str = include_str!("../sample/junit/failing.xml");

/// How long the unit tests and the image build run.
const UNIT_TEST_TIME: Duration = Duration::from_millis(2500);
const IMAGE_TIME: Duration = Duration::from_millis(3500);

/// The simulators.
pub struct World {
    /// The git provider (GitHub's API).
    pub git: FakeGit,
    /// Jenkins.
    pub jenkins: FakeJenkins,
    /// The Kubernetes API server of both environments.
    pub k8s: FakeKubernetes,
    /// The commit whose unit tests fail.
    pub failing_commit: String,
}

/// A random 40-hex commit id.
pub fn new_commit() -> String {
    format!(
        "{:016x}{:016x}{:08x}",
        random_u64(),
        random_u64(),
        random_u64() as u32
    )
}

/// The digest an image build of `commit` pushes.
pub fn digest_of(commit: &str) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(commit)))
}

impl World {
    /// Starts the simulators and fills them.
    pub fn start() -> World {
        let world = World {
            git: FakeGit::start(GIT_TOKEN),
            jenkins: FakeJenkins::start(JENKINS_USER, JENKINS_TOKEN),
            k8s: FakeKubernetes::start(K8S_TOKEN),
            failing_commit: new_commit(),
        };
        world.script_jenkins();
        world.fill_cluster();
        world
    }

    /// `shop/unit-test` runs the tests (failing at [`World::failing_commit`]);
    /// `shop/image` pushes an image named by its digest.
    fn script_jenkins(&self) {
        let failing = self.failing_commit.clone();
        self.jenkins.add_job("shop/unit-test");
        self.jenkins.automate(
            "shop/unit-test",
            move |params: &BTreeMap<String, String>| {
                let fails = params.get("SLIPWAY_COMMIT") == Some(&failing);
                BuildPlan {
                    success: !fails,
                    junit: Some(if fails { FAILING } else { PASSING }.to_owned()),
                    console: "+ mvn -B test".into(),
                    ..BuildPlan::success(UNIT_TEST_TIME)
                }
            },
        );
        self.jenkins.add_job("shop/image");
        self.jenkins
            .automate("shop/image", |params: &BTreeMap<String, String>| {
                let commit = params.get("SLIPWAY_COMMIT").cloned().unwrap_or_default();
                BuildPlan {
                    image: Some(format!(
                        "registry.example.com/acme/shop@{}",
                        digest_of(&commit)
                    )),
                    console: "+ docker build -t registry.example.com/acme/shop . && docker push"
                        .into(),
                    ..BuildPlan::success(IMAGE_TIME)
                }
            });
    }

    /// `test`: Deployment `shop` (2 replicas). `production`: Deployment
    /// `shop` (3, the stable track), Services `shop-stable` and
    /// `shop-canary`, HTTPRoute `shop` with all traffic on stable. Pods
    /// become ready one every 400 ms.
    fn fill_cluster(&self) {
        let k8s = &self.k8s;
        k8s.set_rollout_step(Some(Duration::from_millis(400)));
        k8s.set_advance_on_get(false);
        k8s.add_namespace(TEST_NS);
        k8s.add_deployment(TEST_NS, APP, &[("app", APP)], APP, OLD_IMAGE, 2);
        k8s.add_service(TEST_NS, APP, &[("app", APP)]);
        let ns = PRODUCTION_NS;
        k8s.add_namespace(ns);
        let stable = [("app", APP), ("track", "stable")];
        k8s.add_deployment(ns, APP, &stable, APP, OLD_IMAGE, 3);
        k8s.add_service(ns, "shop-stable", &stable);
        k8s.add_service(ns, "shop-canary", &[("app", APP), ("track", "canary")]);
        k8s.add_http_route(ns, APP, &[("shop-stable", 100), ("shop-canary", 0)]);
    }

    /// Puts the sample pipeline in the repository at `commit`.
    pub fn commit(&self, commit: &str, pipeline: &str) {
        self.git.add_commit(REPO, commit);
        self.git
            .add_file(REPO, commit, ".slipway/pipeline.toml", pipeline.as_bytes());
    }

    /// The image Deployment `shop` runs in `namespace`.
    pub fn running_image(&self, namespace: &str) -> String {
        self.k8s.image(namespace, APP).unwrap_or_default()
    }

    /// The canary's share of production traffic on HTTPRoute `shop`.
    pub fn canary_weight(&self) -> u32 {
        self.k8s
            .route_weights(PRODUCTION_NS, APP)
            .iter()
            .find(|(backend, _)| backend == "shop-canary")
            .map(|(_, weight)| *weight)
            .unwrap_or(0)
    }

    /// The newest commit status on `commit`: `(state, description)`.
    pub fn last_status(&self, commit: &str) -> Option<(String, String)> {
        let statuses = self.git.statuses(REPO, commit);
        statuses.last().map(|s| {
            let text = |key: &str| s[key].as_str().unwrap_or_default().to_owned();
            (text("state"), text("description"))
        })
    }
}
