//! The worker's acceptance tests against a real HTTP server on loopback: the HTTP
//! handler, the live policy, the breaker and the store together, on paused tokio time
//! with the store's clock following it.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use axum::Router;
use axum::http::StatusCode;
use tenax_core::{DEFAULT_QUEUE, JobStore, NewJob, Store, Timestamp};
use tenax_worker::http::{HttpConfig, HttpHandler, HttpRequest};
use tenax_worker::{BreakerState, Worker};

const POLICY: &str = r#"#{
    classes: #{
        transient: #{ base: "1s", cap: "1m", max_retries: 6, jitter: 0.0 },
        not_found: #{ base: "30s", cap: "2m", max_retries: 20, jitter: 0.0 },
        unavailable: #{ base: "10s", cap: "1m", max_retries: 999, jitter: 0.0 },
    },
    breaker: #{ failure_threshold: 5, recovery_timeout: "60s" },
}"#;

/// A downstream whose answer to the n-th request (1-based) is `answer(n)`; it records
/// when each request arrived, by the store's clock.
struct Downstream {
    base: String,
    hits: Arc<Mutex<Vec<Timestamp>>>,
}

async fn downstream(
    store: &Arc<Store>,
    answer: impl Fn(u32) -> StatusCode + Send + Sync + 'static,
) -> Downstream {
    let hits = Arc::new(Mutex::new(Vec::new()));
    let seen = AtomicU32::new(0);
    let (clock, log) = (store.clone(), hits.clone());
    let answer = Arc::new(move || {
        log.lock().expect("hits").push(clock.now());
        answer(seen.fetch_add(1, Ordering::SeqCst) + 1)
    });
    let router = Router::new().fallback(move || {
        let answer = answer.clone();
        async move { (answer(), "downstream says hi") }
    });
    Downstream {
        base: support::serve(router).await,
        hits,
    }
}

impl Downstream {
    fn hits(&self) -> Vec<Timestamp> {
        self.hits.lock().expect("hits").clone()
    }
}

fn worker(store: &Arc<Store>, bases: &[&str]) -> Result<Worker> {
    let policy = support::policy(POLICY);
    let config = HttpConfig {
        allowed_bases: bases.iter().map(|b| (*b).to_owned()).collect(),
        // Loopback answers at once; long limits keep paused time from firing them.
        default_timeout: Duration::from_secs(3600),
        max_timeout: Duration::from_secs(3600),
        ..HttpConfig::default()
    };
    let handler = HttpHandler::new(config, policy.clone())?;
    Ok(Worker::builder(store.clone(), policy)
        .handler_with_timeout("http", handler, Duration::from_secs(7200))
        .concurrency(4)
        .build()?)
}

fn get(url: String) -> NewJob {
    NewJob::new("http", HttpRequest::get(url).to_payload())
}

fn counts(store: &dyn JobStore) -> tenax_core::QueueCounts {
    store.stats().expect("stats").queues[DEFAULT_QUEUE].counts
}

#[tokio::test(start_paused = true)]
async fn http_200_completes_once_and_400_goes_to_the_dlq_at_once() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let ok = downstream(&store, |_| StatusCode::OK).await;
    let bad = downstream(&store, |_| StatusCode::BAD_REQUEST).await;
    let worker = worker(&store, &[&ok.base, &bad.base])?;
    let running = support::start(worker);
    let ids = store.enqueue_batch(vec![
        get(format!("{}/ok", ok.base)),
        get(format!("{}/bad", bad.base)),
    ])?;
    support::until(Duration::from_secs(5), || {
        let c = counts(store.as_ref());
        c.completed == 1 && c.dead == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(
        (ok.hits().len(), bad.hits().len()),
        (1, 1),
        "each requested once"
    );
    let dead = store.dead_job(ids[1].id())?.expect("in the DLQ");
    let error = dead.last_error.expect("error");
    assert_eq!(error.class, "permanent");
    assert!(error.message.contains("400"), "{}", error.message);
    assert!(
        error.message.contains("downstream says hi"),
        "body snippet: {}",
        error.message
    );
    assert_eq!(
        store.state("breaker/default")?,
        None,
        "the breaker never moved"
    );
    running.stop().await?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn http_503_five_times_then_200_completes_with_growing_gaps() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let down = downstream(&store, |n| {
        if n <= 5 {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::OK
        }
    })
    .await;
    let worker = worker(&store, &[&down.base])?;
    let running = support::start(worker);
    store.enqueue(get(format!("{}/item", down.base)))?;
    support::until(Duration::from_secs(300), || {
        counts(store.as_ref()).completed == 1
    })
    .await;
    let hits = down.hits();
    assert_eq!(hits.len(), 6);
    let gaps: Vec<Duration> = hits.windows(2).map(|w| w[1].since(w[0])).collect();
    for (n, gap) in gaps.iter().enumerate() {
        let minimum = Duration::from_secs(1 << n);
        assert!(
            *gap >= minimum,
            "gap {n}: {gap:?} is below the policy's {minimum:?}"
        );
    }
    assert!(gaps.windows(2).all(|w| w[1] > w[0]), "gaps grow: {gaps:?}");
    running.stop().await?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn http_503_forever_ends_in_the_dlq_after_exactly_max_retries() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let down = downstream(&store, |_| StatusCode::SERVICE_UNAVAILABLE).await;
    let worker = worker(&store, &[&down.base])?;
    let running = support::start(worker);
    let id = store.enqueue(get(format!("{}/item", down.base)))?.id();
    support::until(Duration::from_secs(900), || {
        counts(store.as_ref()).dead == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(down.hits().len(), 7, "first attempt + 6 retries");
    let error = store
        .dead_job(id)?
        .expect("dead")
        .last_error
        .expect("error");
    assert_eq!(error.class, "transient");
    assert!(error.message.contains("503"), "{}", error.message);
    running.stop().await?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn http_404_until_scanned_then_200_never_moves_the_breaker() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let scanned = Arc::new(AtomicBool::new(false));
    let flag = scanned.clone();
    let down = downstream(&store, move |_| {
        if flag.load(Ordering::SeqCst) {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        }
    })
    .await;
    let worker = worker(&store, &[&down.base])?;
    let breaker = worker.breaker();
    let running = support::start(worker);
    let jobs = (0..12)
        .map(|i| get(format!("{}/items/{i}", down.base)))
        .collect();
    store.enqueue_batch(jobs)?;
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert!(
        down.hits().len() >= 12 * 3,
        "every job retried while not found"
    );
    scanned.store(true, Ordering::SeqCst);
    support::until(Duration::from_secs(600), || {
        counts(store.as_ref()).completed == 12
    })
    .await;
    let view = breaker.borrow().clone();
    assert_eq!(
        (view.state, view.openings, view.consecutive_failures),
        (BreakerState::Closed, 0, 0)
    );
    assert_eq!(store.state("breaker/default")?, None);
    running.stop().await?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn connection_refused_opens_the_breaker_then_one_probe_and_the_queue_drains() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    // Nothing listens on this port until the downstream "comes back".
    let base = support::refused_base().await;
    let worker = worker(&store, &[&base])?;
    let mut breaker = worker.breaker();
    let running = support::start(worker);
    let jobs = (0..20).map(|i| get(format!("{base}/items/{i}"))).collect();
    store.enqueue_batch(jobs)?;
    breaker.wait_for(|v| v.state == BreakerState::Open).await?;
    let opened_at = store.now();
    let failed = counts(store.as_ref()).retrying;
    assert!(
        (5..=8).contains(&failed),
        "opened after 5 counted failures (+ in-flight): {failed}"
    );

    // The downstream comes back on the same port; count what reaches it.
    let listener = tokio::net::TcpListener::bind(base.trim_start_matches("http://")).await?;
    let hits = Arc::new(Mutex::new(Vec::new()));
    let (clock, log) = (store.clone(), hits.clone());
    // Each answer takes 1 s, so a probe in flight is a window of time.
    let router = Router::new().fallback(move || {
        log.lock().expect("hits").push(clock.now());
        async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            StatusCode::OK
        }
    });
    tokio::spawn(async move { axum::serve(listener, router).await });

    tokio::time::sleep(Duration::from_secs(59)).await;
    assert!(
        hits.lock().expect("hits").is_empty(),
        "no request while open"
    );
    breaker
        .wait_for(|v| v.state == BreakerState::Closed)
        .await?;
    support::until(Duration::from_secs(120), || {
        counts(store.as_ref()).completed == 20
    })
    .await;
    let hits = hits.lock().expect("hits").clone();
    assert_eq!(hits.len(), 20, "each job delivered once after the outage");
    assert!(
        hits[0].since(opened_at) >= Duration::from_secs(60),
        "probe after the timeout"
    );
    let during_probe = hits
        .iter()
        .filter(|t| t.since(hits[0]) < Duration::from_secs(1))
        .count();
    assert_eq!(during_probe, 1, "exactly one probe while half-open");
    // Jobs that never ran before the outage were not charged an attempt.
    let charged = store.stats()?.queues[DEFAULT_QUEUE].counts.completed;
    assert_eq!(charged, 20);
    running.stop().await?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_url_outside_the_allowed_bases_is_refused_at_enqueue_and_never_requested() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let allowed = downstream(&store, |_| StatusCode::OK).await;
    let internal = downstream(&store, |_| StatusCode::OK).await;
    let worker = worker(&store, &[&format!("{}/api", allowed.base)])?;
    let validator = worker.validator();
    let running = support::start(worker);
    let outside = HttpRequest::get(format!("{}/admin", internal.base)).to_payload();
    let err = validator
        .validate("http", &outside)
        .expect_err("refused at enqueue");
    assert!(err.to_string().contains("allowed"), "{err}");
    // Enqueued around the check (as an old job would be): refused again at run time.
    let id = store.enqueue(NewJob::new("http", outside))?.id();
    let sneaky = HttpRequest::get(format!("{}/api/../admin", allowed.base)).to_payload();
    let id2 = store.enqueue(NewJob::new("http", sneaky))?.id();
    support::until(Duration::from_secs(5), || counts(store.as_ref()).dead == 2).await;
    assert!(
        internal.hits().is_empty() && allowed.hits().is_empty(),
        "never requested"
    );
    for id in [id, id2] {
        let error = store
            .dead_job(id)?
            .expect("dead")
            .last_error
            .expect("error");
        assert_eq!(error.class, "permanent");
    }
    running.stop().await?;
    Ok(())
}
