//! Hot reload through the file watcher, on a fresh directory per test: the ways editors
//! save, bad saves, deletes, bursts, and readers that must never see half a policy.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

use tenax_policies::{
    Decision, ErrorClass, Failure, LivePolicy, PolicyWatcher, ReloadEvent, ReloadStatus, Result,
    WatchOptions,
};

const OPTIONS: WatchOptions = WatchOptions {
    debounce: Duration::from_millis(50),
    recheck_every: Duration::from_millis(200),
};

/// A script whose every class has `marker` retries, so a reader can tell versions apart
/// and see whether all classes come from the same one.
fn script(marker: u32) -> String {
    format!(
        "#{{ classes: #{{
            transient: #{{ max_retries: {marker} }},
            not_found: #{{ max_retries: {marker} }},
            unavailable: #{{ max_retries: {marker} }},
            permanent: #{{ max_retries: {marker} }},
        }} }}"
    )
}

fn marker(live: &LivePolicy) -> u32 {
    let loaded = live.load();
    let retries = |class: &ErrorClass| loaded.policy().class(class).map(|c| c.max_retries);
    retries(&ErrorClass::TRANSIENT).expect("always declared")
}

/// Polls `done` every 10 ms for up to 5 s.
fn wait_until(live: &LivePolicy, what: &str, done: impl Fn(&ReloadStatus) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = live.status();
        if done(&status) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; status: {status:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    path: PathBuf,
    live: LivePolicy,
    watcher: PolicyWatcher,
}

fn setup() -> Result<Setup> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("policy.rhai");
    std::fs::write(&path, script(1)).expect("write");
    let live = LivePolicy::from_file(&path)?;
    let watcher = PolicyWatcher::start(live.clone(), &path, OPTIONS)?;
    Ok(Setup {
        _dir: dir,
        path,
        live,
        watcher,
    })
}

/// Saves the way most editors do: write a temporary file, rename it over the target.
fn save_atomically(path: &Path, text: &str) {
    let temp = path.with_extension("rhai.tmp");
    std::fs::write(&temp, text).expect("write temp");
    std::fs::rename(&temp, path).expect("rename");
}

#[test]
fn an_atomic_rename_save_is_picked_up() -> Result<()> {
    let s = setup()?;
    save_atomically(&s.path, &script(2));
    wait_until(&s.live, "version 2", |st| st.version == 2);
    assert_eq!(marker(&s.live), 2);
    // The watch survives the inode change: a second save is seen too.
    save_atomically(&s.path, &script(3));
    wait_until(&s.live, "version 3", |st| st.version == 3);
    assert_eq!(marker(&s.live), 3);
    s.watcher.stop();
    Ok(())
}

#[test]
fn an_in_place_write_is_picked_up() -> Result<()> {
    let s = setup()?;
    std::fs::write(&s.path, script(4)).expect("write");
    wait_until(&s.live, "marker 4", |_| marker(&s.live) == 4);
    assert_eq!(s.live.status().last_error, None);
    Ok(())
}

#[test]
fn a_bad_save_keeps_the_policy_until_it_is_fixed() -> Result<()> {
    let s = setup()?;
    let before = s.live.status();
    save_atomically(&s.path, "#{ classes: #{ transient: #{ max_retry: 5 } } }");
    wait_until(&s.live, "the error", |st| st.last_error.is_some());
    let status = s.live.status();
    assert_eq!(status.version, 1);
    assert_eq!(status.fingerprint, before.fingerprint);
    let error = status.last_error.expect("recorded");
    assert!(
        error.contains("policy.rhai:1:30") && error.contains("max_retries"),
        "{error}"
    );
    assert_eq!(marker(&s.live), 1);

    save_atomically(&s.path, &script(5));
    wait_until(&s.live, "version 2", |st| st.version == 2);
    let status = s.live.status();
    assert_eq!(status.last_error, None);
    assert_eq!(marker(&s.live), 5);
    Ok(())
}

#[test]
fn saving_back_the_running_version_clears_the_error() -> Result<()> {
    let s = setup()?;
    std::fs::write(&s.path, "#{ oops").expect("write");
    wait_until(&s.live, "the error", |st| st.last_error.is_some());
    std::fs::write(&s.path, script(1)).expect("write");
    wait_until(&s.live, "the error to clear", |st| st.last_error.is_none());
    assert_eq!(s.live.status().version, 1);
    Ok(())
}

#[test]
fn the_last_of_rapid_saves_wins() -> Result<()> {
    let s = setup()?;
    for marker in 10..=30 {
        if marker % 2 == 0 {
            save_atomically(&s.path, &script(marker));
        } else {
            std::fs::write(&s.path, script(marker)).expect("write");
        }
    }
    wait_until(&s.live, "marker 30", |_| marker(&s.live) == 30);
    let status = s.live.status();
    assert!(status.version >= 2 && status.version <= 22, "{status:?}");
    assert_eq!(status.last_error, None);
    Ok(())
}

#[test]
fn a_deleted_file_keeps_the_policy_and_recreating_it_reloads() -> Result<()> {
    let s = setup()?;
    std::fs::remove_file(&s.path).expect("remove");
    wait_until(&s.live, "the missing-file error", |st| {
        st.last_error.is_some()
    });
    assert_eq!(s.live.status().version, 1);
    assert_eq!(marker(&s.live), 1);
    let class = ErrorClass::TRANSIENT;
    assert!(matches!(
        s.live.decide(&Failure::new(&class, 1), 0.0),
        Decision::Retry { .. }
    ));

    std::fs::write(&s.path, script(6)).expect("write");
    wait_until(&s.live, "version 2", |st| st.version == 2);
    assert_eq!(marker(&s.live), 6);
    assert_eq!(s.live.status().last_error, None);
    Ok(())
}

#[test]
fn a_change_without_an_event_is_found_by_the_periodic_check() -> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("policy.rhai");
    std::fs::write(&path, script(1)).expect("write");
    let live = LivePolicy::from_file(&path)?;
    // Changed before the watch starts, so no event will ever report it.
    std::fs::write(&path, script(7)).expect("write");
    let _watcher = PolicyWatcher::start(live.clone(), &path, OPTIONS)?;
    wait_until(&live, "marker 7", |_| marker(&live) == 7);
    Ok(())
}

#[test]
fn subscribers_hear_of_reloads_and_rejections() -> Result<()> {
    let s = setup()?;
    let (sender, events) = mpsc::channel();
    let sender = std::sync::Mutex::new(sender);
    s.live.on_reload(move |event| {
        let _ = sender.lock().expect("not poisoned").send(event.clone());
    });
    save_atomically(&s.path, "#{ oops");
    let event = events
        .recv_timeout(Duration::from_secs(5))
        .expect("a rejection");
    assert!(
        matches!(&event, ReloadEvent::Rejected { error } if error.contains("syntax error")),
        "{event:?}"
    );
    save_atomically(&s.path, &script(8));
    let event = events
        .recv_timeout(Duration::from_secs(5))
        .expect("a reload");
    assert!(
        matches!(event, ReloadEvent::Reloaded { version: 2, .. }),
        "{event:?}"
    );
    Ok(())
}

#[test]
fn readers_never_see_a_torn_policy() -> Result<()> {
    let s = setup()?;
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let live = s.live.clone();
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut seen = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let loaded = live.load();
                    let policy = loaded.policy();
                    let markers: Vec<u32> = policy.classes().map(|(_, c)| c.max_retries).collect();
                    assert!(
                        markers.iter().all(|m| *m == markers[0]),
                        "torn: {markers:?}"
                    );
                    let class = ErrorClass::TRANSIENT;
                    let decision = live.decide(&Failure::new(&class, 1), 0.5);
                    assert!(matches!(decision, Decision::Retry { .. }), "{decision:?}");
                    seen += 1;
                }
                seen
            })
        })
        .collect();
    for marker in 2..=12u32 {
        save_atomically(&s.path, &script(marker));
        wait_until(&s.live, "the save to land", |_| {
            self::marker(&s.live) == marker
        });
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        let seen = reader.join().expect("reader did not panic");
        assert!(seen > 0);
    }
    assert!(s.live.status().version >= 12);
    Ok(())
}

#[test]
fn dropping_the_watcher_stops_it_promptly() -> Result<()> {
    let s = setup()?;
    let started = Instant::now();
    drop(s.watcher);
    assert!(started.elapsed() < Duration::from_secs(2));
    Ok(())
}

#[test]
fn watching_a_missing_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("no-such-dir").join("policy.rhai");
    let live = LivePolicy::new(tenax_policies::CompiledPolicy::default());
    let err = PolicyWatcher::start(live, &path, OPTIONS)
        .err()
        .expect("cannot watch");
    assert!(
        matches!(err, tenax_policies::PolicyError::Watch { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("no-such-dir"), "{err}");
}
