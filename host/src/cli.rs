//! Command-line flags, named as `spin up` names them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

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
    /// Longest time a request may take (default: no limit).
    #[arg(long, value_parser = parse_duration)]
    pub request_timeout: Option<Duration>,
    /// POST to this path on an interval (e.g. `/api/tick`), for schedulers.
    #[arg(long, requires = "tick_interval")]
    pub tick_path: Option<String>,
    /// Interval for `--tick-path`.
    #[arg(long, value_parser = parse_duration)]
    pub tick_interval: Option<Duration>,
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
}
