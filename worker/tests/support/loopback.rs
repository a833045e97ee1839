//! Loopback servers and handler set-up shared by the HTTP handler's tests.
//!
//! Every server binds 127.0.0.1 port 0 and runs on the test's runtime; nothing waits on
//! a clock except the one timeout test, which waits for its own 200 ms timeout.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use tenax_policies::{CompiledPolicy, LivePolicy};
use tenax_worker::http::{HttpConfig, HttpHandler};
use tenax_worker::{Handler, HandlerError, JobRun};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Serves `router` on a fresh loopback port; returns `http://127.0.0.1:<port>`.
pub async fn serve(router: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("local address"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

/// A server that counts the requests it receives and answers each with 200.
pub async fn counting_server() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let router = Router::new().fallback(move || {
        let counter = Arc::clone(&counter);
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            "counted"
        }
    });
    (serve(router).await, hits)
}

/// A raw TCP server that reads each request's head and then does `respond` to the
/// connection: write something broken, hold it open, or just drop it.
pub async fn raw_server<F, Fut>(respond: F) -> String
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("local address"));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            read_head(&mut stream).await;
            tokio::spawn(respond(stream));
        }
    });
    base
}

/// Reads until the blank line that ends a request head (bodies are not needed here).
async fn read_head(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
}

/// Writes `bytes` and closes the connection.
pub async fn write_and_close(mut stream: TcpStream, bytes: &'static [u8]) {
    let _ = stream.write_all(bytes).await;
    let _ = stream.shutdown().await;
}

/// A loopback URL where nothing listens: a port bound and released again.
pub async fn refused_base() -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("local address"));
    drop(listener);
    base
}

/// A handler allowing `bases`, with the default policy.
pub fn handler(bases: &[&str]) -> HttpHandler {
    handler_with(bases, LivePolicy::new(CompiledPolicy::default()))
}

/// A handler allowing `bases`, classifying with `policy`.
pub fn handler_with(bases: &[&str], policy: LivePolicy) -> HttpHandler {
    let config = HttpConfig {
        allowed_bases: bases.iter().map(|b| (*b).to_owned()).collect(),
        ..HttpConfig::default()
    };
    HttpHandler::new(config, policy).expect("a valid handler configuration")
}

/// Runs one attempt of a job with `payload`.
pub async fn run(handler: &HttpHandler, payload: Vec<u8>) -> Result<(), HandlerError> {
    handler.handle(JobRun::new("http", payload)).await
}
