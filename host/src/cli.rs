//! Command-line flags, named as `spin up` names them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::limits::HostLimits;

/// Runs Spin applications locally.
#[derive(Parser, Debug)]
#[command(name = "slipway", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the application's HTTP triggers (like `spin up`).
    #[command(args_override_self = true)]
    Up(Box<UpArgs>),
    /// Run every component's build command (like `spin build`).
    Build(BuildArgs),
    /// Write each component's variables and allowed outbound hosts into
    /// the manifest from the control-plane configuration (or, with
    /// `--check`, fail if they differ).
    Manifest(ManifestArgs),
    /// Check `spin.toml`, the control-plane configuration and pipeline
    /// files offline; exit 1 on any error.
    Check(CheckArgs),
    /// Print what Slipway would do with a recorded webhook delivery and a
    /// pipeline file, without calling or writing anything.
    Replay(ReplayArgs),
}

/// `slipway replay`.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The recorded delivery: the request as sent (request line optional,
    /// headers, blank line, body) or a delivery from GitHub's API.
    #[arg(long)]
    pub delivery: PathBuf,
    /// The provider (default: from the delivery's `/hooks/<provider>`).
    #[arg(long)]
    pub provider: Option<String>,
    /// The pipeline file as it would be read.
    #[arg(long)]
    pub pipeline: Option<PathBuf>,
    /// The base branch's pipeline file: the plan says which stages
    /// `--pipeline` adds, drops and changes against it (what a merge
    /// request's `slipway-pipeline` status says).
    #[arg(long, requires = "pipeline")]
    pub base_pipeline: Option<PathBuf>,
    /// The application manifest (locates the default configuration).
    #[arg(short = 'f', long = "from", default_value = "spin.toml")]
    pub from: PathBuf,
    /// The control-plane configuration (default: `config/slipway.toml`
    /// beside the manifest).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// `text` or `json`.
    #[arg(long, value_enum, default_value = "text")]
    pub format: CheckFormat,
}

/// `slipway check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The application manifest.
    #[arg(short = 'f', long = "from", default_value = "spin.toml")]
    pub from: PathBuf,
    /// The control-plane configuration (default: `config/slipway.toml`
    /// beside the manifest).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A pipeline file to check against the configuration (repeatable).
    #[arg(long = "pipeline")]
    pub pipelines: Vec<PathBuf>,
    /// A Compose file to check as the app's stack (repeatable): keys
    /// Slipway does not deploy are errors, with their path.
    #[arg(long = "compose")]
    pub compose: Vec<PathBuf>,
    /// The app the pipelines and Compose files belong to (default: the configuration's only
    /// app), for its deploy policies and approvers.
    #[arg(long)]
    pub app: Option<String>,
    /// `text` (`file:line:column: error: …`) or `json`.
    #[arg(long, value_enum, default_value = "text")]
    pub format: CheckFormat,
}

/// How `slipway check` prints.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckFormat {
    /// One line per problem, then a summary.
    Text,
    /// One JSON document.
    Json,
}

/// `slipway manifest`.
#[derive(Args, Debug)]
pub struct ManifestArgs {
    /// The application manifest.
    #[arg(short = 'f', long = "from", default_value = "spin.toml")]
    pub from: PathBuf,
    /// The control-plane configuration (default: `config/slipway.toml`
    /// beside the manifest).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Only check; exit 1 and list the differences if the manifest is
    /// not what the configuration needs.
    #[arg(long)]
    pub check: bool,
}

/// `slipway build`.
#[derive(Args, Debug)]
pub struct BuildArgs {
    /// The application manifest.
    #[arg(short = 'f', long = "from", default_value = "spin.toml")]
    pub from: PathBuf,
}

/// `slipway up`.
#[derive(Args, Debug)]
pub struct UpArgs {
    /// The application manifest.
    #[arg(short = 'f', long = "from", default_value = "spin.toml")]
    pub from: PathBuf,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:3000", env = "SPIN_HTTP_LISTEN_ADDR")]
    pub listen: SocketAddr,
    /// Run each component's build command first.
    #[arg(long, env = "SPIN_ALWAYS_BUILD")]
    pub build: bool,
    /// Spin runtime config (key-value stores, variables providers).
    #[arg(long, env = "RUNTIME_CONFIG_FILE")]
    pub runtime_config_file: Option<PathBuf>,
    /// State directory (default: `.spin` next to the manifest).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Directory of precompiled component code (default: `<state dir>/cache`).
    /// Files there are loaded as native code: share it only between hosts
    /// you trust (several checkouts, a test suite's hosts).
    #[arg(long, env = "SLIPWAY_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Directory for component logs (default: `<state dir>/logs`).
    #[arg(short = 'L', long)]
    pub log_dir: Option<PathBuf>,
    /// Set an application variable: `name=value`.
    #[arg(long = "variable", value_parser = parse_key_value)]
    pub variables: Vec<(String, String)>,
    /// Requests served by one instance before it is dropped.
    #[arg(long, default_value_t = 128)]
    pub max_instance_reuse_count: usize,
    /// Requests one instance serves at the same time.
    #[arg(long, default_value_t = 16)]
    pub max_instance_concurrent_reuse_count: usize,
    /// How long an idle instance is kept (`1s`, `500ms`, a number = seconds).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub idle_instance_timeout: Duration,
    /// Longest time a request may take, `0` for no limit.
    ///
    /// Measured from the start of the request to the end of its response
    /// body. A guest that is still running at the limit, even in a CPU loop
    /// that never awaits, is stopped by epoch interruption; the request gets
    /// a 500 (as Spin answers a trap), and so does any other request the
    /// same instance was serving; the instance is dropped, never reused.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,
    /// Most linear memory one instance may use (`256MiB`, `1GiB`, bytes), `0`
    /// for no limit.
    ///
    /// Counts all of an instance's memories. An allocation beyond it fails
    /// in the guest (a Rust guest traps); that request gets a 500. Spin sets
    /// no limit by default; hosted platforms cap memory, and so do we. The
    /// pooling allocator caps each memory at 1 GiB in any case.
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    pub max_instance_memory: u64,
    /// Largest request body (`32MiB`, bytes), `0` for no limit.
    ///
    /// Counted as the body streams: a declared `content-length` above it is
    /// refused with 413 before the body is read; a body that streams past
    /// it ends with an error in the guest, and the client gets 413 unless
    /// the response has already started. The default is above the 25 MiB
    /// webhook bodies git-hooks accepts.
    #[arg(long, default_value = "32MiB", value_parser = parse_size)]
    pub max_request_body: u64,
    /// Most requests one component serves at the same time, `0` for no limit.
    ///
    /// Beyond it the host answers 503 with `Retry-After: 1` at once. A
    /// request holds its place until its response body has been sent.
    #[arg(long, default_value_t = crate::limits::DEFAULT_MAX_CONCURRENT_REQUESTS)]
    pub max_concurrent_requests: usize,
    /// POST to this path on an interval (e.g. `/api/tick`), for schedulers.
    #[arg(long, requires = "tick_interval")]
    pub tick_path: Option<String>,
    /// Interval for `--tick-path`.
    #[arg(long, value_parser = parse_duration)]
    pub tick_interval: Option<Duration>,
}

impl UpArgs {
    /// The limits the flags ask for (`0` means no limit).
    pub fn limits(&self) -> anyhow::Result<HostLimits> {
        let memory = usize::try_from(self.max_instance_memory).map_err(|_| {
            anyhow::anyhow!(
                "--max-instance-memory {} is too large for this machine",
                self.max_instance_memory
            )
        })?;
        Ok(HostLimits {
            request_timeout: Some(self.request_timeout).filter(|t| !t.is_zero()),
            max_instance_memory: Some(memory).filter(|&m| m > 0),
            max_request_body: Some(self.max_request_body).filter(|&b| b > 0),
            max_concurrent_requests: Some(self.max_concurrent_requests).filter(|&n| n > 0),
        })
    }
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected name=value, got {s:?}"))
}

/// Parses `1s`, `250ms`, `10us`, `5ns`, `2m` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 1s, 500ms)"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1e3,
        "us" | "μs" => value / 1e6,
        "ns" => value / 1e9,
        "m" => value * 60.0,
        _ => return Err(format!("unknown duration unit {unit:?} in {s:?}")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{s:?}: {e}"))
}

/// Parses a byte size: `1024`, `64KiB`, `256MiB`, `1GiB` (also `K`, `KB`,
/// `M`, `MB`, `G`, `GB`, all powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 256MiB, 1048576)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        other => return Err(format!("unknown size unit {other:?} in {s:?}")),
    };
    value
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("{s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("1h").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024").unwrap(), 1024);
        assert_eq!(parse_size("64KiB").unwrap(), 64 << 10);
        assert_eq!(parse_size("256MiB").unwrap(), 256 << 20);
        assert_eq!(parse_size("2G").unwrap(), 2 << 30);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("1TiB").is_err());
        assert!(parse_size("99999999999999999999GiB").is_err());
    }

    fn up(args: &[&str]) -> UpArgs {
        let cli = Cli::parse_from([&["slipway", "up"], args].concat());
        match cli.command {
            Command::Up(args) => *args,
            Command::Build(_) | Command::Manifest(_) | Command::Check(_) | Command::Replay(_) => {
                unreachable!("parsed `up`")
            }
        }
    }

    #[test]
    fn limits_default_to_the_documented_values_and_zero_turns_them_off() {
        let limits = up(&[]).limits().unwrap();
        let defaults = HostLimits::default();
        assert_eq!(limits.request_timeout, defaults.request_timeout);
        assert_eq!(limits.max_instance_memory, defaults.max_instance_memory);
        assert_eq!(limits.max_request_body, defaults.max_request_body);
        assert_eq!(
            limits.max_concurrent_requests,
            defaults.max_concurrent_requests
        );
        let off = up(&[
            "--request-timeout",
            "0",
            "--max-instance-memory",
            "0",
            "--max-request-body",
            "0",
            "--max-concurrent-requests",
            "0",
        ])
        .limits()
        .unwrap();
        assert!(off.request_timeout.is_none() && off.max_instance_memory.is_none());
        assert!(off.max_request_body.is_none() && off.max_concurrent_requests.is_none());
    }
}
