//! The crash soak's world outside the daemon: a seeded random source, a downstream that
//! records every delivery, an outage base (a TCP relay to the downstream whose listener
//! can be taken away, so connections are refused), and the timeline of interruptions
//! (kills and cut connections) that explains duplicate deliveries.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Path as UrlPath;
use axum::http::StatusCode;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// splitmix64: reproducible choices from a seed (any seed, zero included).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A pause of `min..min+spread` milliseconds.
    pub fn pause(&mut self, min: u64, spread: u64) -> Duration {
        Duration::from_millis(min + self.below(spread.max(1)))
    }
}

/// How the downstream answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// 200 to everything.
    Healthy,
    /// Every third request gets a 503 (transient: retries).
    Flaky,
    /// 503 to everything (transient, counts toward the breaker).
    Down,
}

/// The mock downstream. A job's payload posts to `{base}/deliver/{n}`; a delivery is a
/// request answered 200, recorded with the moment it was answered.
#[derive(Clone)]
pub struct Downstream {
    pub base: String,
    mode: Arc<AtomicU8>,
    deliveries: Arc<Mutex<BTreeMap<u64, Vec<Instant>>>>,
}

impl Downstream {
    pub async fn start() -> Downstream {
        let mode = Arc::new(AtomicU8::new(Mode::Healthy as u8));
        let deliveries: Arc<Mutex<BTreeMap<u64, Vec<Instant>>>> = Arc::default();
        let seen = Arc::new(AtomicU64::new(0));
        let (m, d) = (mode.clone(), deliveries.clone());
        let router = Router::new().route(
            "/deliver/{n}",
            axum::routing::post(move |UrlPath(n): UrlPath<u64>| {
                let (m, d, seen) = (m.clone(), d.clone(), seen.clone());
                async move {
                    let k = seen.fetch_add(1, Ordering::Relaxed);
                    let mode = m.load(Ordering::Relaxed);
                    if mode == Mode::Down as u8
                        || (mode == Mode::Flaky as u8 && k.is_multiple_of(3))
                    {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    d.lock()
                        .expect("deliveries")
                        .entry(n)
                        .or_default()
                        .push(Instant::now());
                    StatusCode::OK
                }
            }),
        );
        Downstream {
            base: crate::support::serve(router).await,
            mode,
            deliveries,
        }
    }

    pub fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::Relaxed);
    }

    /// Every delivery so far: job number -> the moments it was answered 200.
    pub fn deliveries(&self) -> BTreeMap<u64, Vec<Instant>> {
        self.deliveries.lock().expect("deliveries").clone()
    }
}

/// A second base for the same downstream: a TCP relay on a fixed loopback port. `cut`
/// drops its listener and every relayed connection (the daemon then gets refused
/// connections, class `unavailable`, and the breaker opens); `restore` listens again on
/// the same port.
pub struct Outage {
    pub base: String,
    addr: SocketAddr,
    target: SocketAddr,
    relay: Mutex<Option<JoinHandle<()>>>,
}

impl Outage {
    pub async fn start(target_base: &str) -> Outage {
        let target: SocketAddr = target_base
            .trim_start_matches("http://")
            .parse()
            .expect("the downstream listens on ip:port");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the relay");
        let addr = listener.local_addr().expect("relay address");
        Outage {
            base: format!("http://{addr}"),
            addr,
            target,
            relay: Mutex::new(Some(tokio::spawn(relay(listener, target)))),
        }
    }

    pub fn is_up(&self) -> bool {
        self.relay.lock().expect("relay").is_some()
    }

    /// Stops listening and cuts every relayed connection; returns once the port is closed.
    pub async fn cut(&self) {
        let task = self.relay.lock().expect("relay").take();
        if let Some(task) = task {
            task.abort();
            // Dropping the task's future drops the listener and the connections' JoinSet.
            let _ = task.await;
        }
    }

    /// Listens again on the same port (retrying while the port is briefly unavailable).
    pub async fn restore(&self) {
        if self.is_up() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) => {
                    assert!(
                        Instant::now() < deadline,
                        "cannot listen on {} again: {e}",
                        self.addr
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        };
        *self.relay.lock().expect("relay") = Some(tokio::spawn(relay(listener, self.target)));
    }
}

async fn relay(listener: TcpListener, target: SocketAddr) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((mut inbound, _)) = accepted else { continue };
                connections.spawn(async move {
                    if let Ok(mut upstream) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut upstream).await;
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// What interrupted deliveries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cause {
    /// SIGKILL; the interval runs until the next daemon is up.
    Kill,
    /// The outage base cut its connections.
    Cut,
}

/// An interruption: from just before it began until it was over.
#[derive(Clone, Copy, Debug)]
pub struct Interruption {
    pub cause: Cause,
    pub start: Instant,
    pub end: Instant,
}

/// A request answered by the downstream after the interruption ended is still explained
/// by it when it was sent before (it was in flight); this bounds how late such a request
/// may be answered.
pub const IN_FLIGHT: Duration = Duration::from_millis(500);

/// Why a job was delivered again: the first interruption that could have cut the
/// delivery at `first` (one that ended no earlier than `first - IN_FLIGHT`), if it began
/// before the repeat at `again`. `None`: nothing explains the repeat.
pub fn explain(timeline: &[Interruption], first: Instant, again: Instant) -> Option<Interruption> {
    timeline
        .iter()
        .filter(|i| i.end + IN_FLIGHT >= first)
        .min_by_key(|i| i.start)
        .filter(|i| i.start <= again)
        .copied()
}
