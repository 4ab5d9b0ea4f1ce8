//! `slipway-demo`: the embedded demo (see the crate's library). Run it with
//! `scripts/demo.sh`, which builds what it needs first.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use clap::Parser;

/// Plays a push through unit tests, an image, a deploy to test, an approval
/// and a canary in production, then a push whose unit tests fail, on the
/// real app with simulated GitHub, Jenkins and Kubernetes on loopback.
#[derive(Parser)]
#[command(name = "slipway-demo")]
struct Args {
    /// Approve the approval stage without waiting for you (for CI), and end
    /// when the demo is over.
    #[arg(long, visible_alias = "approve")]
    auto_approve: bool,
    /// The app's port (default: a free one).
    #[arg(long)]
    port: Option<u16>,
    /// Keep the app's state in this directory (default: a temporary one,
    /// removed at the end).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// End when the demo is over even without --auto-approve (by default
    /// the stage view stays up until Ctrl-C).
    #[arg(long)]
    exit: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let stop = Arc::new(AtomicBool::new(false));
    match run(args, stop.clone()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(_) if stop.load(Ordering::SeqCst) => {
            eprintln!("slipway-demo: stopped; the app and the simulators are down");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("slipway-demo: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args, stop: Arc<AtomicBool>) -> Result<bool> {
    let exe = std::env::current_exe().context("finding the demo binary")?;
    let mut options = slipway_demo::Options::beside(&exe)?;
    options.auto_approve = args.auto_approve;
    options.stay = !args.auto_approve && !args.exit;
    options.port = args.port;
    options.state_dir = args.state_dir;
    options.cache_dir = std::env::var_os("SLIPWAY_CACHE_DIR").map(PathBuf::from);
    options.stop = stop.clone();
    stop_on_signals(stop)?;
    let mut stdout = std::io::stdout();
    slipway_demo::run(&options, &mut stdout)
}

/// Sets `stop` on Ctrl-C (SIGINT) or SIGTERM: the demo then stops the app
/// and the simulators and exits.
fn stop_on_signals(stop: Arc<AtomicBool>) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the signal listener")?;
    let mut terminate = runtime
        .block_on(async {
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        })
        .context("listening for SIGTERM")?;
    std::thread::spawn(move || {
        runtime.block_on(async {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        });
        stop.store(true, Ordering::SeqCst);
    });
    Ok(())
}
