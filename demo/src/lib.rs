//! The embedded demo: the real app (`slipway up` with the real `.wasm`
//! components) and simulators of a git provider, Jenkins and a Kubernetes
//! API, all on loopback, with the sample configuration and pipeline of
//! `demo/sample/`. It plays a push that goes through unit tests, an image,
//! a deploy to `test` and an approval to a canary in production, then a
//! push whose unit tests fail, printing each stage as it happens and an
//! outcome a test can check.

pub mod api;
mod app;
mod follow;
mod outcome;
pub mod world;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use api::Api;
use world::World;

/// How the demo runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// The workspace: `spin.toml` and `demo/sample/`.
    pub root: PathBuf,
    /// The cargo target directory holding the components
    /// (`wasm32-wasip2/release/*.wasm`).
    pub target: PathBuf,
    /// The `slipway` host binary.
    pub host: PathBuf,
    /// Approve the approval stage without waiting for a person.
    pub auto_approve: bool,
    /// Keep serving the stage view after the end, until stopped.
    pub stay: bool,
    /// The app's port (default: a free one).
    pub port: Option<u16>,
    /// Where the app keeps its state (default: a temporary directory,
    /// removed at the end).
    pub state_dir: Option<PathBuf>,
    /// Where the host keeps compiled components (default:
    /// `<target>/slipway-demo-cache`).
    pub cache_dir: Option<PathBuf>,
    /// More arguments for `slipway up`.
    pub host_args: Vec<String>,
    /// Set to stop the demo (Ctrl-C).
    pub stop: Arc<AtomicBool>,
}

impl Options {
    /// Options for the workspace this crate was built in, with the host
    /// and components next to `exe` (`<target>/<profile>/slipway-demo`).
    pub fn beside(exe: &std::path::Path) -> Result<Options> {
        let profile = exe.parent().context("the demo binary has no directory")?;
        let target = profile
            .parent()
            .context("the profile directory has no parent")?;
        Ok(Options {
            root: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .context("the demo crate has no parent directory")?
                .to_path_buf(),
            target: target.to_path_buf(),
            host: profile.join("slipway"),
            auto_approve: false,
            stay: false,
            port: None,
            state_dir: None,
            cache_dir: None,
            host_args: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Fails once the demo was asked to stop.
    pub fn check_stop(&self) -> Result<()> {
        if self.stop.load(Ordering::SeqCst) {
            bail!("interrupted");
        }
        Ok(())
    }
}

/// A running demo: what it prints to, the app's API and the simulators.
pub(crate) struct Demo<'a> {
    options: &'a Options,
    out: &'a mut dyn Write,
    api: Api,
    world: World,
    started: Instant,
    /// When the first push was played: stage times count from it.
    clock: Instant,
}

impl Demo<'_> {
    /// Prints one line (output errors are ignored: the demo goes on).
    pub(crate) fn say(&mut self, line: &str) {
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }
}

/// Runs the demo, printing to `out`. `Ok(true)` when both pushes ended as
/// they should (the first promoted to production, the second stopped by
/// its failing tests with nothing deployed).
pub fn run(options: &Options, out: &mut dyn Write) -> Result<bool> {
    let started = Instant::now();
    for (what, path) in [("host", &options.host), ("components", &options.target)] {
        if !path.exists() {
            bail!(
                "{} is missing: build the {what} first (scripts/demo.sh does)",
                path.display()
            );
        }
    }
    let world = World::start();
    let port = match options.port {
        Some(port) => port,
        None => app::free_port()?,
    };
    let state = app::StateDir::new(options.state_dir.as_deref())?;
    let config = app::configuration(options, &world, port)?;
    let manifest = app::prepare(options, &state, &config)?;
    let secrets = app::Secrets::new()?;
    let _ = writeln!(
        out,
        "==> Simulators on loopback: GitHub API {}, Jenkins {}, Kubernetes API {}",
        world.git.url(),
        world.jenkins.url(),
        world.k8s.url()
    );
    let _ = writeln!(
        out,
        "==> slipway check: the sample configuration and pipeline (demo/sample/) are valid"
    );
    let _ = writeln!(
        out,
        "==> Starting the app: slipway up with the real components on 127.0.0.1:{port} (the first start compiles them for this machine, then they are cached)"
    );
    let host = app::Host::start(options, &manifest, &secrets, port)?;
    let _ = writeln!(
        out,
        "    serving after {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let api = Api::new(&host.url, &secrets.operator_token);
    let mut demo = Demo {
        options,
        out,
        api,
        world,
        started,
        clock: Instant::now(),
    };
    let ok = demo.play()?;
    if options.stay {
        demo.stay()?;
    }
    drop(host);
    Ok(ok)
}
