//! The simulated cluster network: which cluster owns an address, and TCP connections made
//! "from" a cluster (pod-to-pod is flat across the fleet, Service VIPs only reach within
//! their cluster, faults can partition clusters).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use tokio::net::TcpStream;

mod fleet_net;
mod plan;
mod proxy;

pub use fleet_net::{FleetNet, Partition};
pub use plan::{AddressPlan, PlanError};
pub use proxy::ServiceProxy;

/// A boxed future, for object-safe async traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Connections as a workload in a cluster makes them.
pub trait Network: Send + Sync {
    /// Opens a TCP connection from a pod of `from_cluster` to `addr`, with the routing and
    /// faults of the simulated network. Errors use the kinds a real socket reports:
    /// `ConnectionRefused` (nothing listening / no ready endpoint), `TimedOut` (blocked by a
    /// partition or unroutable, after `timeout`).
    fn connect<'a>(
        &'a self,
        from_cluster: &'a str,
        addr: SocketAddr,
        timeout: Duration,
    ) -> BoxFuture<'a, io::Result<TcpStream>>;
}
