//! A real crash test: a worker process is killed with SIGKILL at random moments, and the
//! parent reopens its store and checks what survived.
//!
//! The test binary runs itself as the child: the parent starts it with
//! `--exact kill9_child` and `TENAX_KILL9_CHILD=<seed>:<data dir>`; without that variable
//! `kill9_child` does nothing. The child enqueues jobs (single, in small batches, and
//! several async ones in flight at once; some with dedup keys), claims them and completes, retries, buries or releases them, keeping
//! a few running. It prints `acked <id>` after every enqueue that returned `Ok`, and
//! `completing <id>` before every `complete`. The parent kills it 5 to 60 ms after it
//! opened the store, or, one time in four, after its first line of output (so that kills
//! also land while it starts, recovers the store and rescues jobs). Then the parent
//! reopens the store and checks:
//!
//! - every acknowledged job is still stored (pending, dead, or rescued from running),
//!   unless it was announced as completing;
//! - the counters in `stats()` agree with the jobs themselves, queue by queue, and no job
//!   is running right after the open (rescue ran);
//! - the store still takes, hands out and completes new work.
//!
//! The same directory is used for every kill, so damage, if any, accumulates. A second
//! test kills the child while it creates a store in an empty directory.
//!
//! Environment, for long manual runs (`--release` keeps reopening fast as the journal
//! grows):
//! - `TENAX_CRASH_KILLS`: kills of the main test (default 20; the creation test makes
//!   half as many), e.g. `TENAX_CRASH_KILLS=2000 cargo test --release -p tenax-core
//!   --test store_crash_kill9 -- --nocapture`;
//! - `TENAX_CRASH_SEED`: the seed of the kill delays and of the child's choices, printed
//!   by every run (the timing of a kill still varies, so a seed narrows a failure down
//!   rather than replaying it exactly).
//!
//! The tests run in parallel threads of one process, and a started process holds a copy
//! of every open file of this one until it execs: see [`FILES_COPIED`].
#![cfg(unix)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tenax_core::{
    DeadFilter, DedupMode, JobError, JobId, JobState, Lease, NewJob, Store, StoreOptions,
};

const CHILD_TEST: &str = "kill9_child";
const CHILD_ENV: &str = "TENAX_KILL9_CHILD";
const QUEUES: [&str; 2] = ["mail", "thumbs"];
/// The parent's own queue for checking that the store takes new work.
const PROBE_QUEUE: &str = "probe";
const SIGKILL: i32 = 9;

/// A store is open in this process only under a read guard, and a child is started only
/// under the write guard.
///
/// Why: starting a process copies every open file descriptor into it until it execs
/// (close-on-exec acts only then), and the store's directory lock is an flock, which
/// belongs to the open file, not to the process. A child started by one test while
/// another test had its store open held that store's lock until it exec'd; on a loaded
/// machine that took long enough for the other test's next open to fail with `Locked`
/// (or for its own child to fail to open the store).
static FILES_COPIED: RwLock<()> = RwLock::new(());

/// Held while a store is open (see [`FILES_COPIED`]).
fn store_open() -> RwLockReadGuard<'static, ()> {
    FILES_COPIED.read().unwrap_or_else(PoisonError::into_inner)
}

/// xorshift64: enough randomness for kill delays and the child's choices, and seedable.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng((seed ^ 0x9E37_79B9_7F4A_7C15).max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn options() -> StoreOptions {
    // Default durability (sync before an enqueue returns). No free-space reserve, so the
    // test does not depend on the machine's free space.
    StoreOptions::default().min_free_bytes(0)
}

fn env_number(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, got {v:?}")),
    )
}

// ---------------------------------------------------------------------------------------
// The child: a worker that never stops on its own.

/// Runs only as the child (see the module docs): works on the store until killed.
#[test]
fn kill9_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (seed, dir) = spec.split_once(':').expect("child spec is <seed>:<dir>");
    let mut rng = Rng::new(seed.parse().expect("child seed"));
    let mut out = std::io::stdout().lock();
    let mut say = |line: String| {
        // One write per line: a kill never leaves half a line in the pipe.
        out.write_all(line.as_bytes()).expect("write to parent");
        out.flush().expect("flush to parent");
    };
    // The test harness may have printed `test kill9_child ... ` without a newline.
    say("\nopening\n".into());
    let store = Store::open(dir, options()).expect("child: open store");
    say("opened\n".into());

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("child: runtime");
    let mut held: Vec<Lease> = Vec::new();
    // A safety net: a child whose parent died stops by itself (and the parent, if
    // alive, fails since the child was not killed).
    let give_up = Instant::now() + Duration::from_secs(60);
    while Instant::now() < give_up {
        match rng.below(16) {
            0..=3 => {
                let job = new_job(&mut rng);
                let id = store.enqueue(job).expect("child: enqueue").id();
                say(format!("acked {id}\n"));
            }
            4 => {
                let jobs = (0..=rng.below(4)).map(|_| new_job(&mut rng)).collect();
                for e in store.enqueue_batch(jobs).expect("child: enqueue batch") {
                    say(format!("acked {}\n", e.id()));
                }
            }
            5 => {
                // Async enqueues in flight together: the committer writes them as one
                // group, and each is acknowledged only when its future resolves.
                let pending: Vec<_> = (0..=rng.below(4))
                    .map(|_| store.enqueue_async(new_job(&mut rng)))
                    .collect();
                for p in pending {
                    let id = runtime.block_on(p).expect("child: async enqueue").id();
                    say(format!("acked {id}\n"));
                }
            }
            6..=8 => {
                let queue = rng.pick(&QUEUES);
                let max = 1 + rng.below(4) as usize;
                let claimed = store.claim(queue, max).expect("child: claim");
                held.extend(claimed.into_iter().map(|c| c.lease));
            }
            _ if held.is_empty() => {}
            _ => {
                let lease = held.swap_remove(rng.below(held.len() as u64) as usize);
                let error = |class: &str| JobError {
                    class: class.into(),
                    message: "child".into(),
                    at: store.now(),
                };
                match rng.below(20) {
                    0..=9 => {
                        say(format!("completing {}\n", lease.id()));
                        store.complete(&lease, None).expect("child: complete");
                    }
                    10..=14 => {
                        let delay = Duration::from_millis(rng.below(20));
                        let run_at = store.now().saturating_add(delay);
                        store
                            .retry(&lease, run_at, error("transient"), None)
                            .expect("child: retry");
                    }
                    15..=16 => {
                        store
                            .bury(&lease, error("permanent"), None)
                            .expect("child: bury");
                    }
                    _ => store.release(&lease).expect("child: release"),
                }
            }
        }
    }
    panic!("child: not killed within a minute");
}

fn new_job(rng: &mut Rng) -> NewJob {
    let payload = format!("{{\"n\":{}}}", rng.next()).into_bytes();
    let mut job = NewJob::new("work", payload).with_queue(*rng.pick(&QUEUES));
    if rng.below(4) == 0 {
        job = job.with_delay(Duration::from_millis(rng.below(30)));
    }
    if rng.below(3) == 0 {
        let mode = *rng.pick(&[DedupMode::KeepExisting, DedupMode::ReplacePayload]);
        job = job.with_dedup_key(format!("item-{}", rng.below(5)), mode);
    }
    job
}

// ---------------------------------------------------------------------------------------
// The parent.

/// What one killed child said, and how it ended.
struct Run {
    status: ExitStatus,
    lines: Vec<String>,
    stderr: String,
    pid: u32,
}

impl Run {
    fn assert_killed(&self) {
        assert_eq!(
            self.status.signal(),
            Some(SIGKILL),
            "the child must die by the kill, but ended with {}; its stderr:\n{}",
            self.status,
            self.stderr
        );
    }

    /// The ids after `word` in lines of the form `<word> <id>`.
    fn ids(&self, word: &str) -> impl Iterator<Item = JobId> + '_ {
        let prefix = format!("{word} ");
        self.lines.iter().filter_map(move |l| {
            let n = l.strip_prefix(&prefix)?;
            Some(JobId::new(
                n.parse()
                    .unwrap_or_else(|_| panic!("child line {l:?}: bad id")),
            ))
        })
    }

    fn opened(&self) -> bool {
        self.lines.iter().any(|l| l == "opened")
    }
}

/// When the delay before a kill starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KillAfter {
    /// The child's first line of output: the kill may land while the process starts, or
    /// while it opens (creates, recovers) the store and rescues jobs.
    FirstLine,
    /// The child has opened the store: the kill lands while it works.
    Opened,
}

/// Starts the child on `dir` and kills it `delay` after `from`.
fn run_and_kill(dir: &Path, seed: u64, from: KillAfter, delay: Duration) -> Run {
    let exe = std::env::current_exe().expect("path of the test binary");
    // `spawn` returns once the child has exec'd (or failed to), so the guard covers the
    // whole time the child holds copies of this process's files (see [`FILES_COPIED`]).
    let spawning = FILES_COPIED.write().unwrap_or_else(PoisonError::into_inner);
    let mut child = Command::new(exe)
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{seed}:{}", dir.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the child");
    drop(spawning);
    let pid = child.id();
    let stdout = child.stdout.take().expect("child stdout");
    let mut stderr = child.stderr.take().expect("child stderr");
    let (events, event) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines: Vec<String> = Vec::new();
        let mut r = BufReader::new(stdout);
        let mut buf = Vec::new();
        // A last piece without a newline can only be cut short: it is not a line.
        while r.read_until(b'\n', &mut buf).expect("read child stdout") > 0 && buf.ends_with(b"\n")
        {
            let line = String::from_utf8_lossy(&buf).trim_end().to_owned();
            if lines.is_empty() {
                let _ = events.send(KillAfter::FirstLine);
            }
            if line == "opened" {
                let _ = events.send(KillAfter::Opened);
            }
            lines.push(line);
            buf.clear();
        }
        lines
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    // Stops waiting if the child exits before the event (the channel disconnects): its
    // exit status tells what happened.
    while let Ok(e) = event.recv_timeout(Duration::from_secs(60)) {
        if e == from {
            break;
        }
    }
    std::thread::sleep(delay);
    // An error here means the child already exited; its status tells how.
    let _ = child.kill();
    let status = child.wait().expect("wait for the child");
    Run {
        status,
        lines: reader.join().expect("stdout reader"),
        stderr: stderr_reader.join().expect("stderr reader"),
        pid,
    }
}

/// Per queue: waiting, retrying, running, dead, as counted from the jobs.
type Tally = BTreeMap<String, [u64; 4]>;

/// Reopens the store after a kill and checks it (see the module docs). Returns how many
/// jobs are stored.
fn check_after_kill(
    run: &Run,
    dir: &Path,
    acked: &BTreeSet<JobId>,
    completing: &BTreeSet<JobId>,
) -> usize {
    let _open = store_open();
    let store = Store::open(dir, options()).unwrap_or_else(|e| {
        panic!(
            "reopen after the kill: {e:?} (this process is {}, the killed child was {})",
            std::process::id(),
            run.pid
        )
    });

    // Every id handed out so far is below this one.
    let probe = store
        .enqueue(NewJob::new("probe", Vec::new()).with_queue(PROBE_QUEUE))
        .expect("enqueue after the kill")
        .id();
    let stats = store.stats().expect("stats");
    let mut tally = Tally::new();
    let mut stored = 0;
    for n in 1..=probe.get() {
        let Some((job, state)) = store.job(JobId::new(n)).expect("read job") else {
            continue;
        };
        stored += 1;
        let t = tally.entry(job.queue.clone()).or_default();
        match state {
            JobState::Pending if job.attempt == 0 => t[0] += 1,
            JobState::Pending => t[1] += 1,
            JobState::Running => t[2] += 1,
            JobState::Dead => t[3] += 1,
        }
    }

    let lost: Vec<JobId> = acked
        .iter()
        .filter(|id| !completing.contains(id))
        .filter(|&&id| store.job(id).expect("read job").is_none())
        .copied()
        .collect();
    assert!(lost.is_empty(), "acknowledged jobs lost: {lost:?}");

    assert_eq!(stats.total.running, 0, "rescue leaves no job running");
    let names: BTreeSet<&String> = stats.queues.keys().chain(tally.keys()).collect();
    for name in names {
        let c = stats.queues.get(name).map(|q| q.counts).unwrap_or_default();
        let t = tally.get(name).copied().unwrap_or_default();
        assert_eq!(
            [c.waiting, c.retrying, c.running, c.dead],
            t,
            "queue {name}: counters [waiting, retrying, running, dead] against the jobs"
        );
        assert_eq!(
            c.enqueued,
            c.completed + c.live() + c.dead,
            "queue {name}: every job created is completed, live or dead ({c:?})"
        );
    }
    let dead = store
        .dead_jobs(&DeadFilter::default(), None, usize::MAX)
        .expect("list dead jobs");
    assert_eq!(
        dead.jobs.len() as u64,
        stats.total.dead,
        "dead letter listing"
    );

    let claimed = store.claim(PROBE_QUEUE, 10).expect("claim after the kill");
    let ids: Vec<JobId> = claimed.iter().map(|c| c.job.id).collect();
    assert_eq!(ids, vec![probe], "the probe job is claimed");
    store
        .complete(&claimed[0].lease, None)
        .expect("complete after the kill");
    stored - 1
}

fn seed() -> u64 {
    env_number("TENAX_CRASH_SEED").unwrap_or_else(|| {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        t.as_nanos() as u64
    })
}

#[test]
fn a_killed_worker_loses_no_acknowledged_job() {
    let kills = env_number("TENAX_CRASH_KILLS").unwrap_or(20);
    let seed = seed();
    eprintln!("kill9: seed {seed} (TENAX_CRASH_SEED), {kills} kills (TENAX_CRASH_KILLS)");
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().expect("temp dir");
    // The store exists before the first kill; killing its creation is the next test.
    {
        let _open = store_open();
        drop(Store::open(dir.path(), options()).expect("create the store"));
    }

    let (mut acked, mut completing) = (BTreeSet::new(), BTreeSet::new());
    let mut while_opening = 0u64;
    let mut stored = 0;
    for round in 0..kills {
        let from = if round % 4 == 3 {
            KillAfter::FirstLine
        } else {
            KillAfter::Opened
        };
        let delay = Duration::from_millis(5 + rng.below(56));
        let run = run_and_kill(dir.path(), rng.next(), from, delay);
        run.assert_killed();
        acked.extend(run.ids("acked"));
        completing.extend(run.ids("completing"));
        while_opening += u64::from(!run.opened());
        stored = check_after_kill(&run, dir.path(), &acked, &completing);
    }
    assert!(
        while_opening < kills,
        "every kill came before the child had opened the store: nothing was tested"
    );
    eprintln!(
        "kill9: {kills} kills ({while_opening} before the store was open), {} jobs \
         acknowledged, {} completing, {stored} stored at the end",
        acked.len(),
        completing.len()
    );
}

/// Kills during the very first open, which creates the store: whatever the process got
/// to write, the directory must open again, and keep what was acknowledged.
#[test]
fn a_kill_while_creating_the_store_leaves_a_directory_that_opens() {
    let kills = env_number("TENAX_CRASH_KILLS").map_or(12, |k| k.div_ceil(2));
    let seed = seed();
    eprintln!("kill9 create: seed {seed} (TENAX_CRASH_SEED), {kills} kills");
    let mut rng = Rng::new(seed);
    for _ in 0..kills {
        let dir = tempfile::tempdir().expect("temp dir");
        let delay = Duration::from_millis(rng.below(40));
        let run = run_and_kill(dir.path(), rng.next(), KillAfter::FirstLine, delay);
        run.assert_killed();
        let acked = run.ids("acked").collect();
        let completing = run.ids("completing").collect();
        check_after_kill(&run, dir.path(), &acked, &completing);
    }
}

/// What a kill between writing the store marker's temporary file and renaming it into
/// place leaves (see `write_marker` in `core/src/store/open.rs`): the lock file and
/// `STORE.tmp`. Only tenax ever wrote to this directory, so it must open.
#[test]
fn a_leftover_marker_temp_file_does_not_make_the_directory_foreign() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("tenax.lock"), "4242\n").expect("lock file");
    std::fs::write(dir.path().join("STORE.tmp"), "").expect("marker temp file");
    let _open = store_open();
    let store = Store::open(dir.path(), options()).expect("open after a kill at creation");
    store
        .enqueue(NewJob::new("k", Vec::new()))
        .expect("the store works");
}
