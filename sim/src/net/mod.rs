//! The simulated cluster network: which cluster owns an address, and TCP connections and UDP
//! sockets made "from" a cluster (pod-to-pod is flat across the fleet, Service VIPs only
//! reach within their cluster, faults can partition clusters). There is no egress: an
//! address outside the fleet is unroutable (the connection times out, and no socket is ever
//! opened towards it).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use tokio::net::{TcpStream, UdpSocket};

mod fleet_net;
mod plan;
mod proxy;

pub use fleet_net::{Dialer, FleetNet, Partition, SystemDialer};
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

    /// A UDP socket of a pod of `from_cluster`, connected to where datagrams sent to `addr`
    /// go (a Service VIP's `UDP` port → one ready endpoint). Unroutable destinations fail
    /// with `TimedOut` after `timeout` (no reply ever comes back).
    fn udp<'a>(
        &'a self,
        from_cluster: &'a str,
        addr: SocketAddr,
        timeout: Duration,
    ) -> BoxFuture<'a, io::Result<UdpSocket>> {
        let _ = (from_cluster, addr, timeout);
        Box::pin(async { Err(io::Error::from(io::ErrorKind::Unsupported)) })
    }
}
