//! The local service the daemon delivers to in `http-deliver`: keep-alive HTTP/1.1 on a
//! loopback port, `200` to every `POST /deliver/{n}`, and a count per job number, so the
//! bench can say that every job arrived exactly once.
//!
//! Its gate holds every request until it opens: the bench enqueues all the jobs first,
//! then opens the gate and starts the clock, so the figure is deliveries alone and not
//! deliveries competing with the enqueue for the same two cores.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use anyhow::{Result, bail};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

use super::http1::read_message;

const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";

/// Deliveries as the downstream saw them.
pub(crate) struct Downstream {
    /// `http://127.0.0.1:PORT/deliver/`: the allowed base, and the jobs' URL prefix.
    pub(crate) base: String,
    seen: Arc<Seen>,
    gate: watch::Sender<bool>,
}

struct Seen {
    per_job: Vec<AtomicU8>,
    requests: AtomicU64,
    expected: u64,
    all_in: Notify,
}

impl Downstream {
    /// Listens for deliveries of jobs `0..expected`, gate closed.
    pub(crate) async fn start(expected: usize) -> Result<Downstream> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}/deliver/", listener.local_addr()?);
        let seen = Arc::new(Seen {
            per_job: (0..expected).map(|_| AtomicU8::new(0)).collect(),
            requests: AtomicU64::new(0),
            expected: expected as u64,
            all_in: Notify::new(),
        });
        let (gate, open) = watch::channel(false);
        let counts = seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (counts, open) = (counts.clone(), open.clone());
                tokio::spawn(async move {
                    if let Err(err) = serve(stream, &counts, open).await {
                        eprintln!("bench: the downstream dropped a connection: {err:#}");
                    }
                });
            }
        });
        Ok(Downstream { base, seen, gate })
    }

    /// Lets the held and all later requests through.
    pub(crate) fn open(&self) {
        let _ = self.gate.send(true);
    }

    /// Waits until `expected` requests have been answered.
    pub(crate) async fn all_delivered(&self) {
        loop {
            let waiting = self.seen.all_in.notified();
            if self.seen.requests.load(Ordering::Acquire) >= self.seen.expected {
                return;
            }
            waiting.await;
        }
    }

    /// (requests received, distinct jobs received).
    pub(crate) fn counts(&self) -> (u64, u64) {
        let distinct = self
            .seen
            .per_job
            .iter()
            .filter(|c| c.load(Ordering::Relaxed) > 0)
            .count();
        (self.seen.requests.load(Ordering::Acquire), distinct as u64)
    }
}

async fn serve(mut stream: TcpStream, seen: &Seen, mut open: watch::Receiver<bool>) -> Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(4096);
    while let Some(head) = read_message(&mut stream, &mut buf).await? {
        let job = head
            .first_line
            .split(' ')
            .nth(1)
            .and_then(|path| path.strip_prefix("/deliver/"))
            .and_then(|n| n.parse::<usize>().ok());
        let Some(count) = job.and_then(|n| seen.per_job.get(n)) else {
            bail!("a request for {:?}", head.first_line);
        };
        buf.drain(..head.len + head.body_len);
        if !*open.borrow() {
            open.wait_for(|open| *open).await?;
        }
        count.fetch_add(1, Ordering::Relaxed);
        if seen.requests.fetch_add(1, Ordering::AcqRel) + 1 == seen.expected {
            seen.all_in.notify_waiters();
        }
        stream.write_all(OK).await?;
    }
    Ok(())
}
