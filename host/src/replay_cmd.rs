//! `slipway replay`: what Slipway would do with a recorded webhook
//! delivery and a pipeline file, worked out offline (nothing is called,
//! nothing written): the signature check with the secret Spin would give
//! the app (`SPIN_VARIABLE_<NAME>`), the app it maps to, the triggers, and
//! each stage's build request (secrets masked), deploy policy and approval.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow};
use slipway_core::check;
use slipway_core::entry::dry_run::{self, WebhookSecret};
use slipway_core::providers::Provider;

use crate::cli::{CheckFormat, ReplayArgs};
use crate::manifest_sync;

/// Prints the plan.
pub fn run(args: &ReplayArgs) -> anyhow::Result<bool> {
    let raw = std::fs::read(&args.delivery)
        .with_context(|| format!("cannot read {}", args.delivery.display()))?;
    let delivery =
        dry_run::parse_delivery(&raw).map_err(|e| anyhow!("{}: {e}", args.delivery.display()))?;
    let name = args
        .provider
        .clone()
        .or_else(|| delivery.provider.clone())
        .ok_or_else(|| anyhow!("name the provider with --provider (the delivery has no /hooks/<provider> request line)"))?;
    let provider =
        Provider::from_path_segment(&name).ok_or_else(|| anyhow!("unknown provider {name:?}"))?;
    let config_path = args
        .config
        .clone()
        .unwrap_or_else(|| manifest_sync::default_config(&args.from));
    let config_text = std::fs::read_to_string(&config_path)
        .with_context(|| format!("cannot read {}", config_path.display()))?;
    let config = check::check_config(&config_path.display().to_string(), &config_text)
        .map_err(|d| anyhow!("{}", d.render()))?;
    let read = |path: &Option<std::path::PathBuf>| -> anyhow::Result<Option<String>> {
        path.as_ref()
            .map(|p| {
                std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
            })
            .transpose()
    };
    let pipeline = read(&args.pipeline)?;
    let base_pipeline = read(&args.base_pipeline)?;
    let secret = match dry_run::secret_name(&config, provider, &delivery) {
        None => WebhookSecret::Unavailable(format!(
            "no webhook secret is configured for {name}: the webhook would answer 401"
        )),
        Some(secret) => {
            let variable = format!("SPIN_VARIABLE_{}", secret.to_ascii_uppercase());
            match std::env::var(&variable) {
                Ok(value) if !value.is_empty() => WebhookSecret::Value(value),
                _ => WebhookSecret::Unavailable(format!("set {variable} to check it")),
            }
        }
    };
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let plan = dry_run::dry_run(
        &config,
        provider,
        &delivery,
        &secret,
        pipeline.as_deref(),
        now_ms,
    );
    let plan = match (&pipeline, &base_pipeline) {
        (Some(head), Some(base)) => plan
            .against_base(head, Some(base))
            .map_err(|e| anyhow!(e))?,
        _ => plan,
    };
    match args.format {
        CheckFormat::Text => print!("{}", plan.render()),
        CheckFormat::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
    }
    Ok(true)
}
