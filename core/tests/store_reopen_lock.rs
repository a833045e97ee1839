//! The directory lock is released when the last handle closes, before `close` (or the
//! drop) returns: a restart right after a close, in this process or in another, never
//! finds the directory `Locked`.
//!
//! The store's background threads (the committer and the maintenance thread) share the
//! state that owns the lock; the last handle must stop and join them, not leave them to
//! release the directory a moment later.
//!
//! The child test runs this binary again as another process (see `reopen_child`).
#![cfg(unix)]

use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};

use tenax_core::{Error, NewJob, Store, StoreOptions};

const CHILD_TEST: &str = "reopen_child";
const CHILD_ENV: &str = "TENAX_REOPEN_CHILD";

/// The tests run one at a time: a process started while another test has its store open
/// would hold a copy of that store's lock until it execs (an flock belongs to the open
/// file), and that test's reopen would find the directory locked.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn options() -> StoreOptions {
    StoreOptions::default().min_free_bytes(0)
}

fn reopen(dir: &std::path::Path, round: usize) -> Store {
    match Store::open(dir, options()) {
        Ok(store) => store,
        Err(Error::Locked { pid, .. }) => panic!(
            "round {round}: the directory is still locked (by {pid:?}, this process is {}) \
             right after the last handle closed",
            std::process::id()
        ),
        Err(e) => panic!("round {round}: reopen: {e}"),
    }
}

#[test]
fn the_directory_opens_again_right_after_the_last_handle_closes() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut store = reopen(dir.path(), 0);
    for round in 1..=100 {
        // Work for both background threads: the committer writes the enqueues, and the
        // maintenance thread's stop syncs.
        store
            .enqueue(NewJob::new("k", Vec::new()))
            .expect("enqueue");
        let clone = store.clone();
        let pending = store.enqueue_async(NewJob::new("k", Vec::new()));
        runtime.block_on(pending).expect("async enqueue");
        // A clone dropped on another thread first: the handle that goes last is ours.
        std::thread::spawn(move || drop(clone))
            .join()
            .expect("drop a clone");
        if round % 2 == 0 {
            store.close().expect("close");
        } else {
            drop(store);
        }
        store = reopen(dir.path(), round);
    }
    let stats = store.stats().expect("stats");
    assert_eq!(stats.total.waiting, 200, "every enqueue is kept");
}

/// Runs only as the child (see the module docs): opens the store and says how many jobs
/// wait in it.
#[test]
fn reopen_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = Store::open(&dir, options()).expect("child: open the store");
    let waiting = store.stats().expect("child: stats").total.waiting;
    println!("\nwaiting {waiting}");
}

#[test]
fn another_process_opens_the_directory_right_after_the_last_handle_closes() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = std::env::current_exe().expect("path of the test binary");
    for round in 1..=10u64 {
        let store = Store::open(dir.path(), options()).expect("open");
        store
            .enqueue(NewJob::new("k", Vec::new()))
            .expect("enqueue");
        store.close().expect("close");
        let out = Command::new(&exe)
            .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run the child");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "round {round}: the child could not open the store ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.lines().any(|l| l == format!("waiting {round}")),
            "round {round}: the child should see {round} jobs; it said:\n{stdout}"
        );
    }
}
