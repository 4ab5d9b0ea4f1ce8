//! `slipway up`: load the manifest and runtime config, prepare every
//! component, and serve.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use wasmtime_wasi::cli::OutputFile;

use crate::app::{App, AppIdentity, ComponentSetup, InstanceSettings};
use crate::cli::UpArgs;
use crate::key_value::ComponentStores;
use crate::key_value::runtime_config::RuntimeConfig;
use crate::manifest::Manifest;
use crate::outbound::allowed_hosts::AllowedHosts;
use crate::routes::RouteTable;
use crate::variables::host::ComponentVariables;
use crate::variables::{Provider, ResolvedVariables};

/// Runs `slipway up`.
pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let manifest = Manifest::load(&args.from)?;
    if args.build {
        crate::build_cmd::check_slipway_manifest(&args.from)?;
        crate::build_cmd::run(&manifest)?;
    }
    let runtime_config = match &args.runtime_config_file {
        Some(path) => RuntimeConfig::load(path)?,
        None => RuntimeConfig::default(),
    };
    let state_dir = match &args.state_dir {
        Some(d) => d.clone(),
        None => runtime_config.state_dir(&manifest.dir),
    };
    let log_dir = args
        .log_dir
        .clone()
        .or_else(|| {
            runtime_config
                .log_dir
                .as_ref()
                .map(|d| runtime_config.dir.join(d))
        })
        .unwrap_or_else(|| state_dir.join("logs"));

    let cache_dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| state_dir.join("cache"));

    let mut providers = vec![Provider::Static(args.variables.iter().cloned().collect())];
    providers.extend(runtime_config.providers());
    let variables = ResolvedVariables::resolve(&manifest, &providers)?;

    let served: Vec<&str> = {
        let mut ids: Vec<&str> = manifest
            .http_triggers
            .iter()
            .map(|t| t.component.as_str())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let used_labels: Vec<String> = served
        .iter()
        .flat_map(|id| manifest.components[*id].key_value_stores.iter().cloned())
        .collect();
    let stores = Arc::new(runtime_config.open_stores(&state_dir, &used_labels)?);

    let engine = crate::engine::build_engine()?;
    crate::limits::timeout::start_ticker(&engine).context("cannot start the epoch ticker")?;
    let linker = crate::engine::build_linker(&engine)?;
    std::fs::create_dir_all(&log_dir)
        .with_context(|| format!("cannot create log directory {}", log_dir.display()))?;

    let mut setups = Vec::new();
    for id in &served {
        let component = &manifest.components[*id];
        let compile_started = Instant::now();
        let (compiled, from_cache) =
            crate::engine::load_component(&engine, id, &component.source, &cache_dir)?;
        crate::engine::check_exports(id, &engine, &compiled)?;
        println!(
            "Component {id}: {} in {:.0}ms",
            if from_cache {
                "loaded precompiled code"
            } else {
                "compiled"
            },
            compile_started.elapsed().as_secs_f64() * 1000.0
        );
        let rendered_hosts = component
            .allowed_outbound_hosts
            .iter()
            .map(|h| variables.render(h))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("component {id:?}: allowed_outbound_hosts: {e}"))?;
        let allowed = AllowedHosts::parse(&rendered_hosts)
            .map_err(|e| anyhow::anyhow!("component {id:?}: {e}"))?;
        if allowed.allows_self() {
            eprintln!(
                "note: component {id:?} allows `self`; this host serves service chaining through http://<component>.spin.internal only"
            );
        }
        setups.push(ComponentSetup {
            id: id.to_string(),
            component: compiled,
            env: component.environment.clone().into_iter().collect(),
            kv: ComponentStores {
                stores: stores.clone(),
                allowed: Arc::new(component.key_value_stores.clone()),
            },
            variables: ComponentVariables(Arc::new(variables.component_values(component)?)),
            allowed: Arc::new(allowed),
            stdout: log_file(&log_dir, id, "stdout")?,
            stderr: log_file(&log_dir, id, "stderr")?,
            mounts: crate::files::prepare(
                id,
                &component.files,
                &manifest.dir,
                &state_dir.join("files").join(id),
            )?,
        });
    }

    let (routes, warnings) = RouteTable::new(
        manifest.base(),
        manifest
            .http_triggers
            .iter()
            .filter_map(|t| t.route.as_deref().map(|r| (r, t.component.as_str()))),
    );
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let settings = InstanceSettings {
        max_reuse: args.max_instance_reuse_count.max(1),
        max_concurrent: args.max_instance_concurrent_reuse_count.max(1),
        idle_timeout: args.idle_instance_timeout,
    };
    let limits = args.limits()?;
    let identity = AppIdentity {
        name: manifest.application.name.clone(),
        version: manifest.application.version.clone().unwrap_or_default(),
        base: manifest.base().to_owned(),
    };
    let app = App::new(identity, routes, &engine, &linker, setups, settings, limits)?;

    let shutdown = shutdown_signal()?;
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            bail!(
                "cannot listen on {}: the address is already in use; stop the other server or pass --listen with another port",
                args.listen
            )
        }
        Err(e) => bail!("cannot listen on {}: {e}", args.listen),
    };
    let addr = listener.local_addr()?;
    print_banner(&app, &stores, &log_dir, addr, started);

    if let (Some(path), Some(interval)) = (args.tick_path.clone(), args.tick_interval) {
        tokio::spawn(tick_loop(app.clone(), path, interval));
    }
    crate::server::serve(app, listener, shutdown).await
}

fn log_file(dir: &Path, id: &str, stream: &str) -> anyhow::Result<OutputFile> {
    let path = dir.join(format!("{id}_{stream}.txt"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open log file {}", path.display()))?;
    Ok(OutputFile::new(file))
}

fn print_banner(
    app: &App,
    stores: &crate::key_value::KeyValueStores,
    log_dir: &Path,
    addr: std::net::SocketAddr,
    started: Instant,
) {
    for (label, summary) in stores.summaries() {
        println!("Key-value store {label:?}: {summary}");
    }
    println!("Logging component stdio to {}", log_dir.display());
    println!();
    println!("Serving http://{addr}");
    println!("Available Routes:");
    for (pattern, component) in app.routes.entries() {
        let (shown, wildcard) = match pattern.full.strip_suffix("/...") {
            Some(prefix) => (prefix, " (wildcard)"),
            None => (pattern.full.as_str(), ""),
        };
        println!("  {component}: http://{addr}{shown}{wildcard}");
    }
    println!("Ready in {:.0}ms", started.elapsed().as_secs_f64() * 1000.0);
}

/// Calls `path` on the app every `interval`, as a scheduler would.
async fn tick_loop(app: Arc<App>, path: String, interval: Duration) {
    let mut timer = tokio::time::interval(interval);
    timer.tick().await;
    loop {
        timer.tick().await;
        let mut builder = http::Request::post(path.as_str());
        if let Ok(token) = std::env::var("SLIPWAY_TICK_TOKEN") {
            builder = builder.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let Ok(request) =
            builder.body(Empty::<Bytes>::new().map_err(|n| match n {}).boxed_unsync())
        else {
            eprintln!("tick: invalid path {path:?}");
            return;
        };
        let response = app
            .handle(request, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
            .await;
        println!("tick POST {path} {}", response.status().as_u16());
    }
}

/// Registers the Ctrl-C and SIGTERM handlers now (so a signal that comes
/// right after start-up is not missed) and returns a future that resolves
/// when either arrives.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}
