//! Everything that talks to the Kubernetes API: the client (from a kubeconfig
//! and `--context`), the context guard (S5), bounded retries, the object
//! marks every fault writes, and target selection with its blast-radius
//! checks (S3).

pub mod client;
pub mod error;
pub mod guard;
pub mod marks;
pub mod retry;
pub mod select;

pub use client::{Kube, KubeTarget};
pub use error::K8sError;
