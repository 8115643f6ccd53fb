//! The Kubernetes HTTP API of one simulated cluster (served over TLS on a loopback address,
//! bearer-token authentication): discovery, CRUD, watch, patch, subresources, and
//! `Status` errors, routed by hand from the URL as the real API server does.

mod auth;
mod discovery;
mod error;
mod eviction;
mod fields;
mod handler;
mod openapi;
mod pod_exec;
mod read;
mod request;
mod respond;
mod review;
mod watch;
mod write;

pub use auth::{Auth, DenyRule};
pub use error::{ApiError, ApiResult, from_patch};
pub use handler::router;
