//! Harness for end-to-end tests: starts the real `slipway` host binary on a
//! loopback port with real `.wasm` components, and talks HTTP to it.

pub mod browser;
pub mod chat_env;
pub mod deploy_env;
/// The simulators of remote services, under the name the tests have always used.
pub use slipway_simulators as fakes;
pub mod load;
pub mod pipeline_env;
pub mod seed;
pub mod swarm;
pub mod swarm_env;
pub mod swarm_net;
pub mod web_session;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// The cargo target directory the tests were built into.
pub fn target_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        return std::path::absolute(dir).expect("absolute target dir");
    }
    // <target>/<profile>/deps/<test binary>
    let exe = std::env::current_exe().expect("current exe");
    exe.ancestors().nth(3).expect("target dir").to_path_buf()
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The `slipway` host binary built next to the tests.
pub fn host_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe.ancestors().nth(2).expect("profile dir");
    let bin = profile_dir.join("slipway");
    assert!(
        bin.exists(),
        "{} is missing: build the host first (`cargo build -p slipway-host`, or run scripts/test.sh)",
        bin.display()
    );
    bin
}

/// A component built for wasm32-wasip2 in release mode.
pub fn wasm(crate_name: &str) -> PathBuf {
    let path = target_dir()
        .join("wasm32-wasip2/release")
        .join(format!("{}.wasm", crate_name.replace('-', "_")));
    assert!(
        path.exists(),
        "{} is missing: build the components first (scripts/test.sh does)",
        path.display()
    );
    path
}

/// Flags for the instance mode the suite runs in: `SLIPWAY_TEST_INSTANCES=fresh`
/// gives every request a new instance (catches request state kept in
/// globals); anything else uses Spin's default reuse. Flags a test passes
/// itself come later and win.
pub fn instance_mode_args() -> Vec<&'static str> {
    match std::env::var("SLIPWAY_TEST_INSTANCES").as_deref() {
        Ok("fresh") => vec!["--max-instance-reuse-count", "1"],
        _ => vec![],
    }
}

/// Variables every start of the real app needs in tests.
pub const APP_TEST_VARIABLES: [&str; 2] = ["--variable", "callback_secret=test-callback-secret"];

/// Copies the application's own `spin.toml` and `config/` into `dir`, with
/// component sources made absolute, so the real app runs with its state in
/// `dir`. Tests may overwrite `dir/config/slipway.toml`.
pub fn app_manifest(dir: &TempDir) -> PathBuf {
    let config_dir = dir.join("config");
    std::fs::create_dir_all(&config_dir).expect("config dir");
    for entry in std::fs::read_dir(workspace_root().join("config")).expect("config/") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), config_dir.join(entry.file_name())).expect("copy config");
    }
    let text = std::fs::read_to_string(workspace_root().join("spin.toml")).expect("spin.toml");
    let target = target_dir();
    let text = text.replace(
        "source = \"target/",
        &format!("source = \"{}/", target.display()),
    );
    let path = dir.join("spin.toml");
    std::fs::write(&path, text).expect("write manifest");
    path
}

/// Writes the variables and allowed outbound hosts of `manifest` from the
/// configuration beside it with `slipway manifest`, as a deployment does:
/// each component reaches exactly what the test's configuration names.
pub fn sync_manifest(manifest: &Path) {
    let output = std::process::Command::new(host_binary())
        .args(["manifest", "--from"])
        .arg(manifest)
        .output()
        .expect("run slipway manifest");
    assert!(
        output.status.success(),
        "slipway manifest failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates a fresh directory named after `label`.
    pub fn new(label: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "slipway-{label}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    /// A path inside the directory.
    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running host process.
pub struct Host {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    agent: ureq::Agent,
}

/// Why a host did not come up.
#[derive(Debug)]
pub struct StartFailure {
    /// Exit status, if it exited.
    pub status: Option<std::process::ExitStatus>,
    /// What it printed to stderr.
    pub stderr: String,
}

fn collect_lines(
    stream: impl Read + Send + 'static,
    sink: Arc<Mutex<Vec<String>>>,
    serving: Option<mpsc::Sender<SocketAddr>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if let (Some(tx), Some(addr)) = (&serving, line.strip_prefix("Serving http://"))
                && let Ok(addr) = addr.trim().parse()
            {
                let _ = tx.send(addr);
            }
            sink.lock().unwrap().push(line);
        }
    });
}

impl Host {
    /// Starts `slipway up --from <manifest> --listen 127.0.0.1:0 <args>` and
    /// waits until it serves.
    pub fn start(manifest: &Path, args: &[&str]) -> Host {
        Self::try_start(manifest, args, &[])
            .unwrap_or_else(|f| panic!("host did not start ({:?}):\n{}", f.status, f.stderr))
    }

    /// Like [`Host::start`] with extra environment, returning start failures.
    pub fn try_start(
        manifest: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Host, StartFailure> {
        let mut command = Command::new(host_binary());
        command
            .arg("up")
            .arg("--from")
            .arg(manifest)
            .args(["--listen", "127.0.0.1:0"])
            .args(instance_mode_args())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Every host of the suite shares one compile cache: compiling the
        // components takes seconds of CPU per start, loading them
        // milliseconds.
        command.env("SLIPWAY_CACHE_DIR", target_dir().join("slipway-test-cache"));
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn host");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        collect_lines(
            child.stdout.take().expect("stdout"),
            stdout.clone(),
            Some(tx),
        );
        collect_lines(child.stderr.take().expect("stderr"), stderr.clone(), None);
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(addr) = rx.recv_timeout(Duration::from_millis(50)) {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(60))
                    .max_idle_connections_per_host(64)
                    .build();
                return Ok(Host {
                    child,
                    addr,
                    stdout,
                    stderr,
                    agent,
                });
            }
            if let Ok(Some(status)) = child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                return Err(StartFailure {
                    status: Some(status),
                    stderr: stderr.lock().unwrap().join("\n"),
                });
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                return Err(StartFailure {
                    status: None,
                    stderr: stderr.lock().unwrap().join("\n"),
                });
            }
        }
    }

    /// The host's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends a request and returns status and body, whatever the status.
    pub fn request(&self, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        let request = self.agent.request(method, &self.url(path));
        let result = if body.is_empty() && method == "GET" {
            request.call()
        } else {
            request.send_bytes(body)
        };
        match result {
            Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
            Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
            Err(e) => panic!("{method} {path}: {e}"),
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> (u16, String) {
        self.request("GET", path, b"")
    }

    /// `POST path` with `body`.
    pub fn post(&self, path: &str, body: &[u8]) -> (u16, String) {
        self.request("POST", path, body)
    }

    /// Everything printed to stdout so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Everything printed to stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGINT (Ctrl-C) and waits for the process to exit.
    pub fn interrupt(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("wait for host")
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback HTTP server that answers every request with `status` and
/// `body`, and records the request lines it saw.
pub struct FakeServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Request lines received (`GET /path HTTP/1.1`).
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl FakeServer {
    /// Starts the server on a free loopback port.
    pub fn start(status: u16, body: &'static str) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake server");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
                    let mut first = String::new();
                    if reader.read_line(&mut first).is_err() {
                        return;
                    }
                    let mut line = String::new();
                    while reader.read_line(&mut line).is_ok() && line != "\r\n" && !line.is_empty()
                    {
                        line.clear();
                    }
                    seen.lock().unwrap().push(first.trim().to_owned());
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes());
                });
            }
        });
        FakeServer { addr, requests }
    }
}

/// A port nothing listens on (bound, then released).
pub fn unused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}
