//! A TCP forwarder from the bridge to the PostgreSQL server: the server listens on
//! loopback only, which the namespaces cannot reach. Connections of a cut host stall
//! in the forwarder, as they would in a router.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};

/// Forwards connections made to `listen` (port 0: any) to `to`; returns the address.
pub async fn forward(listen: SocketAddr, to: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind(listen).await.expect("bind the proxy");
    let addr = listener.local_addr().expect("proxy address");
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    addr
}
