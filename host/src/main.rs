//! `slipway`: a small Spin-compatible host that runs a Spin 4 application's
//! HTTP components locally, on wasmtime 44 like Spin 4.0.x.

mod app;
mod bindings;
mod build_cmd;
mod check_cmd;
mod cli;
mod dispatch;
mod engine;
mod files;
mod guarded_body;
mod key_value;
mod limits;
mod manifest;
mod manifest_sync;
mod outbound;
mod replay_cmd;
mod routes;
mod server;
mod spin_headers;
mod state;
mod up;
mod variables;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            cli::Command::Up(args) => up::run(*args).await.map(|()| true),
            cli::Command::Build(args) => build_cmd::run_from(&args.from).map(|()| true),
            cli::Command::Manifest(args) => {
                let mode = if args.check {
                    manifest_sync::Mode::Check
                } else {
                    manifest_sync::Mode::Write
                };
                manifest_sync::run(&args.from, args.config.as_deref(), mode).map(|()| true)
            }
            // Problems found are printed; the exit status says there were some.
            cli::Command::Check(args) => check_cmd::run(&args),
            cli::Command::Replay(args) => replay_cmd::run(&args),
        }
    });
    match result {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
