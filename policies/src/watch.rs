//! Watching the policy file and reloading it when it changes.
//!
//! Editors save by writing a new file and renaming it over the old one, which replaces
//! the inode: a watch on the file itself dies after the first save. So the watcher
//! watches the file's parent directory (not recursively), keeps only events that name
//! the file, and debounces them so that one save is one reload. inotify can drop events
//! under load, so the file's fingerprint is also re-checked every few seconds.

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
    sync::mpsc::{self, RecvTimeoutError},
    thread::JoinHandle,
    time::Duration,
};

use notify_debouncer_full::{
    DebounceEventResult, Debouncer, RecommendedCache, new_debouncer,
    notify::{RecommendedWatcher, RecursiveMode},
};

use crate::{LivePolicy, PolicyError, Result, hash};

/// How the watcher reacts to changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchOptions {
    /// Quiet time after the last file event before reloading, so a save that writes
    /// several times reloads once. Default: 250 ms.
    pub debounce: Duration,
    /// How often the file's fingerprint is compared with the last one seen, in case a
    /// file event was lost. Default: 5 s.
    pub recheck_every: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            debounce: Duration::from_millis(250),
            recheck_every: Duration::from_secs(5),
        }
    }
}

enum Message {
    Events(DebounceEventResult),
    Stop,
}

/// Reloads a [`LivePolicy`] from its file whenever the file changes, on a thread of its
/// own. Stops on [`PolicyWatcher::stop`] or when dropped.
///
/// ```
/// use tenax_policies::{LivePolicy, PolicyWatcher, ReloadEvent, WatchOptions};
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("policy.rhai");
/// # std::fs::write(&path, "#{}")?;
///
/// let live = LivePolicy::from_file(&path)?;
/// live.on_reload(|event| match event {
///     ReloadEvent::Reloaded { version, .. } => println!("policy version {version} in force"),
///     ReloadEvent::Rejected { error } => eprintln!("policy rejected, keeping the last: {error}"),
///     _ => {}
/// });
/// let watcher = PolicyWatcher::start(live.clone(), &path, WatchOptions::default())?;
/// // Workers decide with `live.decide(..)`; `live.status()` feeds a status page.
/// watcher.stop();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PolicyWatcher {
    debouncer: Option<Debouncer<RecommendedWatcher, RecommendedCache>>,
    stop: mpsc::Sender<Message>,
    thread: Option<JoinHandle<()>>,
}

/// What the watcher last read from the file, so the periodic check only acts on change.
#[derive(PartialEq)]
enum Seen {
    Content(String),
    Unreadable,
}

impl PolicyWatcher {
    /// Watches `path` and reloads `live` from it on every change. Reload results go to
    /// the live policy's status and subscribers.
    pub fn start(
        live: LivePolicy,
        path: impl Into<PathBuf>,
        options: WatchOptions,
    ) -> Result<Self> {
        let path: PathBuf = path.into();
        let watch_error = |message: String| PolicyError::Watch {
            path: path.clone(),
            message,
        };
        let name = path
            .file_name()
            .map(OsString::from)
            .ok_or_else(|| watch_error("the path does not name a file".to_string()))?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let (sender, receiver) = mpsc::channel();
        let events = sender.clone();
        let mut debouncer = new_debouncer(options.debounce, None, move |result| {
            // The receiver is gone only while the watcher stops.
            let _ = events.send(Message::Events(result));
        })
        .map_err(|e| watch_error(e.to_string()))?;
        debouncer
            .watch(&dir, RecursiveMode::NonRecursive)
            .map_err(|e| watch_error(format!("cannot watch {}: {e}", dir.display())))?;

        let seen = Seen::Content(live.load().fingerprint().to_string());
        let file = path.clone();
        let thread = std::thread::Builder::new()
            .name("tenax-policy-watch".to_string())
            .spawn(move || run(live, file, name, options.recheck_every, receiver, seen))
            .map_err(|e| watch_error(format!("cannot start the watch thread: {e}")))?;
        Ok(PolicyWatcher {
            debouncer: Some(debouncer),
            stop: sender,
            thread: Some(thread),
        })
    }

    /// Stops watching and waits for the watch thread to finish.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(debouncer) = self.debouncer.take() {
            debouncer.stop_nonblocking();
        }
        let _ = self.stop.send(Message::Stop);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the policy watch thread panicked");
        }
    }
}

impl Drop for PolicyWatcher {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(
    live: LivePolicy,
    path: PathBuf,
    name: OsString,
    recheck_every: Duration,
    messages: mpsc::Receiver<Message>,
    mut seen: Seen,
) {
    loop {
        match messages.recv_timeout(recheck_every) {
            Ok(Message::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            Ok(Message::Events(Ok(events))) => {
                let ours = events.iter().any(|event| {
                    event
                        .paths
                        .iter()
                        .any(|p| p.file_name() == Some(name.as_os_str()))
                });
                if ours {
                    check(&live, &path, &mut seen, true);
                }
            }
            Ok(Message::Events(Err(errors))) => {
                for error in errors {
                    tracing::warn!(path = %path.display(), "policy file watch error: {error}");
                }
            }
            Err(RecvTimeoutError::Timeout) => check(&live, &path, &mut seen, false),
        }
    }
}

/// Reads the file and reloads it: always after a file event, and after a periodic
/// check only if the content differs from what was seen last.
fn check(live: &LivePolicy, path: &Path, seen: &mut Seen, event: bool) {
    let read = std::fs::read(path);
    let now = match &read {
        Ok(bytes) => Seen::Content(hash::fingerprint(bytes)),
        Err(_) => Seen::Unreadable,
    };
    if !event && now == *seen {
        return;
    }
    if event && now == Seen::Unreadable && *seen == Seen::Unreadable {
        return; // still missing: warned already
    }
    *seen = now;
    // Errors are recorded in the live policy's status and logged there.
    let _ = live.reload_bytes(path, read);
}
