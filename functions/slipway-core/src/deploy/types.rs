//! Types shared by the deployment orchestration and the container-service
//! adapters.

use serde::{Deserialize, Serialize};

/// How a new version goes out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Strategy {
    /// Replace the pods of one workload in place.
    Rolling,
    /// Start the idle slot with the new version, then switch all traffic.
    BlueGreen,
    /// Shift traffic to a canary in steps.
    Canary {
        /// Traffic percentages, increasing, ending at 100.
        steps: Vec<u8>,
        /// How long each step is held before moving on; `None` waits for
        /// `promote`.
        hold_ms: Option<u64>,
    },
}

impl Strategy {
    /// `rolling`, `blue-green` or `canary`.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Rolling => "rolling",
            Strategy::BlueGreen => "blue-green",
            Strategy::Canary { .. } => "canary",
        }
    }
}

/// The strategy named in a request or a pipeline stage.
pub fn strategy(
    name: &str,
    steps: Option<Vec<u8>>,
    hold_ms: Option<u64>,
) -> Result<Strategy, String> {
    match name {
        "rolling" => Ok(Strategy::Rolling),
        "blue-green" => Ok(Strategy::BlueGreen),
        "canary" => Ok(Strategy::Canary {
            steps: steps.unwrap_or_else(|| vec![10, 25, 50, 100]),
            hold_ms,
        }),
        other => Err(format!(
            "unknown strategy {other:?}; use rolling, blue-green or canary"
        )),
    }
}

/// What one call into an adapter found or did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum StepOutcome {
    /// Still going; `message` says where it is.
    InProgress {
        /// E.g. "2 of 3 replicas updated", "canary at 25%".
        message: String,
        /// Share of traffic on the new version, when known.
        traffic_percent: Option<u8>,
    },
    /// A canary step is held until `promote` (or until `hold_ms` passes).
    Paused {
        /// Index into the canary steps.
        step: usize,
        /// Traffic on the canary now.
        traffic_percent: u8,
    },
    /// The new version serves all traffic.
    Succeeded,
    /// It did not go out; `rolled_back` when the previous version was
    /// restored.
    Failed {
        /// Why.
        reason: String,
        /// Whether traffic and workloads are back on the previous version.
        rolled_back: bool,
    },
    /// Stopped by `abort`; the previous version serves all traffic.
    Aborted,
}

impl StepOutcome {
    /// Whether the rollout has ended.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed { .. } | Self::Aborted)
    }
}

/// A container-service API failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeployError {
    /// The environment's settings are not usable.
    #[error("configuration: {0}")]
    Config(String),
    /// The API answered with an error (message from the API, no secrets).
    #[error("{service} API answered {status}: {message}")]
    Api {
        /// `kubernetes` or `docker`.
        service: &'static str,
        /// HTTP status.
        status: u16,
        /// The API's message.
        message: String,
    },
    /// No answer.
    #[error("{service} API unreachable: {reason}")]
    Unreachable {
        /// `kubernetes` or `docker`.
        service: &'static str,
        /// Transport error.
        reason: String,
    },
    /// The operation does not apply (e.g. promote on a rolling update).
    #[error("{0}")]
    NotApplicable(String),
}

/// Whether `image` is a usable reference: `name[:tag][@sha256:<64 hex>]`
/// with a tag or a digest.
pub fn is_image_reference(image: &str) -> bool {
    let (name_tag, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest
        && !crate::runs::is_digest(d)
    {
        return false;
    }
    let last = name_tag.rsplit('/').next().unwrap_or(name_tag);
    let has_tag = last.contains(':');
    let name = if has_tag {
        &name_tag[..name_tag.len() - last.len() + last.find(':').unwrap_or(0)]
    } else {
        name_tag
    };
    let tag_ok = !has_tag || {
        let tag = &last[last.find(':').map_or(0, |i| i + 1)..];
        !tag.is_empty()
            && tag.len() <= 128
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    };
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/:".contains(c))
        && !name.starts_with('/')
        && !name.ends_with('/')
        && tag_ok
        && (has_tag || digest.is_some())
}

#[cfg(test)]
mod tests {
    use super::is_image_reference;

    #[test]
    fn image_references() {
        let digest = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";
        assert!(is_image_reference(&format!(
            "registry.example.com/acme/shop@{digest}"
        )));
        assert!(is_image_reference("registry.example.com:5000/shop:1.2.3"));
        assert!(is_image_reference(&format!("shop:1.2@{digest}")));
        assert!(!is_image_reference("shop"), "needs a tag or digest");
        assert!(!is_image_reference("Shop:1"), "uppercase");
        assert!(!is_image_reference("shop@sha256:123"));
        assert!(!is_image_reference("shop: 1"));
        assert!(!is_image_reference(""));
    }
}
