//! Telling a service manager (systemd `Type=notify`) how the daemon is doing: `READY=1`
//! once the API is bound, `STOPPING=1` when a shutdown begins.
//!
//! The protocol is one datagram of `KEY=value` lines to the unix socket named by
//! `NOTIFY_SOCKET` (a path, or `@name` for an abstract socket); without the variable
//! nothing is sent. A failure to send is logged and otherwise ignored: the daemon works
//! the same without a manager.

use std::io;
#[cfg(unix)]
use std::os::unix::net::UnixDatagram;

/// Sends `state` (such as `"READY=1"`) to the service manager, if there is one.
pub(crate) fn notify(state: &str) {
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let target = target.to_string_lossy().into_owned();
    if let Err(err) = send(&target, state) {
        tracing::warn!(socket = %target, %err, "could not notify the service manager");
    }
}

#[cfg(not(unix))]
fn send(_: &str, _: &str) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "NOTIFY_SOCKET needs unix sockets",
    ))
}

#[cfg(unix)]
fn send(target: &str, state: &str) -> io::Result<()> {
    let socket = UnixDatagram::unbound()?;
    match target.strip_prefix('@') {
        Some(name) => send_abstract(&socket, name, state),
        None => socket.send_to(state.as_bytes(), target).map(drop),
    }
}

#[cfg(target_os = "linux")]
fn send_abstract(socket: &UnixDatagram, name: &str, state: &str) -> io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    socket.send_to_addr(state.as_bytes(), &addr).map(drop)
}

#[cfg(all(unix, not(target_os = "linux")))]
fn send_abstract(_: &UnixDatagram, _: &str, _: &str) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract sockets exist only on Linux",
    ))
}
