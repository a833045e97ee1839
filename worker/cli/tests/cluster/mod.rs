//! Set-up for the multi-host test: hosts as network namespaces, a forwarder to the
//! PostgreSQL server, and a downstream that records who delivered what, when.

#![allow(dead_code, unreachable_pub)]

pub mod downstream;
pub mod net;
pub mod proxy;
