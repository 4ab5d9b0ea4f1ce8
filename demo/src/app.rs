//! The real app for the demo: its `spin.toml` and the sample configuration
//! in a state directory, checked with `slipway check`, served by `slipway
//! up` as a child process that stops with the demo.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::Options;
use crate::world::{GIT_TOKEN, JENKINS_TOKEN, K8S_TOKEN, World};

/// The addresses in the sample configuration that stand for the app and
/// the simulators.
const PUBLIC_URL: &str = "http://127.0.0.1:3000";
const GIT_URL: &str = "http://127.0.0.1:3001";
const JENKINS_URL: &str = "http://127.0.0.1:3002";
const K8S_URL: &str = "http://127.0.0.1:3003";

/// The webhook secret of the sample repository.
pub const WEBHOOK_SECRET: &str = "demo-webhook-secret";

/// A directory removed when dropped (unless kept).
pub struct StateDir {
    /// Its path.
    pub path: PathBuf,
    keep: bool,
}

impl StateDir {
    /// `dir` if given (kept), else a fresh temporary directory.
    pub fn new(dir: Option<&Path>) -> Result<StateDir> {
        let (path, keep) = match dir {
            Some(dir) => (dir.to_path_buf(), true),
            None => {
                let name = format!("slipway-demo-{}-{:x}", std::process::id(), rand64());
                (std::env::temp_dir().join(name), false)
            }
        };
        std::fs::create_dir_all(path.join("config"))
            .with_context(|| format!("creating {}", path.display()))?;
        Ok(StateDir { path, keep })
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn rand64() -> u64 {
    slipway_simulators::random_u64()
}

/// 32 random bytes as hex, from the system's random source.
pub fn random_secret() -> Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    Ok(hex::encode(bytes))
}

/// A loopback port free now.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// The sample configuration with the simulators' addresses and the app's.
pub fn configuration(options: &Options, world: &World, port: u16) -> Result<String> {
    let path = options.root.join("demo/sample/config/slipway.toml");
    let mut text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let addresses = [
        (PUBLIC_URL, format!("http://127.0.0.1:{port}")),
        (GIT_URL, world.git.api_base("github")),
        (JENKINS_URL, world.jenkins.url()),
        (K8S_URL, world.k8s.url()),
    ];
    for (placeholder, address) in addresses {
        if !text.contains(&format!("\"{placeholder}\"")) {
            bail!("{} does not name {placeholder}", path.display());
        }
        text = text.replace(&format!("\"{placeholder}\""), &format!("\"{address}\""));
    }
    Ok(text)
}

/// Writes `spin.toml` (component sources made absolute) and the
/// configuration into `state`, gives the manifest what the configuration
/// needs (`slipway manifest`) and checks both and the pipeline (`slipway
/// check`). Returns the manifest's path.
pub fn prepare(options: &Options, state: &StateDir, config: &str) -> Result<PathBuf> {
    let spin =
        std::fs::read_to_string(options.root.join("spin.toml")).context("reading spin.toml")?;
    let spin = spin.replace(
        "source = \"target/",
        &format!("source = \"{}/", options.target.display()),
    );
    let manifest = state.path.join("spin.toml");
    std::fs::write(&manifest, spin).context("writing spin.toml")?;
    std::fs::write(state.path.join("config/slipway.toml"), config)
        .context("writing the configuration")?;
    slipway(options, &["manifest", "--from"], &manifest, &[])?;
    let pipeline = options.root.join("demo/sample/pipeline.toml");
    let pipeline = pipeline.display().to_string();
    slipway(
        options,
        &["check", "--from"],
        &manifest,
        &["--pipeline", &pipeline, "--app", "shop"],
    )?;
    Ok(manifest)
}

fn slipway(options: &Options, head: &[&str], manifest: &Path, tail: &[&str]) -> Result<()> {
    let output = Command::new(&options.host)
        .args(head)
        .arg(manifest)
        .args(tail)
        .output()
        .with_context(|| format!("running {}", options.host.display()))?;
    if !output.status.success() {
        bail!(
            "slipway {} failed:\n{}{}",
            head.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// The secrets the app gets, as `SPIN_VARIABLE_*` (never on a command line).
pub struct Secrets {
    /// The operator's API token (its hash goes to the app).
    pub operator_token: String,
    callback: String,
    session: String,
}

impl Secrets {
    /// Fresh random secrets.
    pub fn new() -> Result<Secrets> {
        Ok(Secrets {
            operator_token: random_secret()?,
            callback: random_secret()?,
            session: random_secret()?,
        })
    }

    fn variables(&self) -> Vec<(&'static str, String)> {
        use sha2::Digest;
        let hash = hex::encode(sha2::Sha256::digest(self.operator_token.as_bytes()));
        vec![
            ("SPIN_VARIABLE_CALLBACK_SECRET", self.callback.clone()),
            ("SPIN_VARIABLE_SESSION_SECRET", self.session.clone()),
            ("SPIN_VARIABLE_TOKEN_OPERATOR", format!("sha256:{hash}")),
            ("SPIN_VARIABLE_GITHUB_TOKEN", GIT_TOKEN.into()),
            ("SPIN_VARIABLE_GITHUB_WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
            ("SPIN_VARIABLE_JENKINS_TOKEN", JENKINS_TOKEN.into()),
            ("SPIN_VARIABLE_KUBERNETES_TOKEN", K8S_TOKEN.into()),
        ]
    }
}

/// `slipway up`, stopped (SIGINT, then killed) when dropped.
pub struct Host {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl Host {
    /// Starts the host on `port` and waits until it serves.
    pub fn start(options: &Options, manifest: &Path, secrets: &Secrets, port: u16) -> Result<Host> {
        use std::os::unix::process::CommandExt;
        let cache = match &options.cache_dir {
            Some(dir) => dir.clone(),
            None => options.target.join("slipway-demo-cache"),
        };
        let mut command = Command::new(&options.host);
        // Its own process group: Ctrl-C reaches the demo only, which then
        // stops the host (on drop) after its own last request.
        command.process_group(0);
        command
            .arg("up")
            .arg("--from")
            .arg(manifest)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--cache-dir")
            .arg(cache)
            .args(&options.host_args)
            .envs(secrets.variables())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().context("starting slipway up")?;
        let (tx, rx) = mpsc::channel();
        forward(child.stdout.take(), Some(tx));
        forward(child.stderr.take(), None);
        let host = Host {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        host.wait_until_serving(&rx, options)?;
        Ok(host)
    }

    fn wait_until_serving(&self, rx: &mpsc::Receiver<String>, options: &Options) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut seen = Vec::new();
        loop {
            options.check_stop()?;
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) if line.starts_with("Serving http://") => return Ok(()),
                Ok(line) => seen.push(line),
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                Err(_) => bail!("slipway up did not serve:\n{}", seen.join("\n")),
            }
        }
    }
}

/// Reads the host's output: lines go to `tx` until it serves, then only
/// errors reach the demo's stderr.
fn forward(stream: Option<impl std::io::Read + Send + 'static>, tx: Option<mpsc::Sender<String>>) {
    let Some(stream) = stream else { return };
    std::thread::spawn(move || {
        let mut serving = false;
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            match &tx {
                Some(tx) if !serving => {
                    serving = line.starts_with("Serving http://");
                    let _ = tx.send(line);
                }
                Some(_) => {}
                None if line.contains("ERROR") || line.contains("panicked") => {
                    eprintln!("slipway up: {line}");
                }
                None => {}
            }
        }
    });
}

impl Drop for Host {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
