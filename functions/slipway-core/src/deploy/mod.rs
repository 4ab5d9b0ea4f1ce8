//! Deployments: rolling, blue-green and canary rollouts on Kubernetes
//! (including Alibaba Cloud ACK) and Docker Swarm, with one deployment per
//! environment at a time, promote/abort/rollback and a release history.

pub mod docker;
pub mod freeze;
pub mod kubernetes;
pub mod lock;
pub mod platform;
pub mod records;
mod types;

pub use platform::EnvironmentConfig;
pub use types::{DeployError, StepOutcome, Strategy, is_image_reference, strategy};
