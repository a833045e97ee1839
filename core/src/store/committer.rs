//! The committer: one thread that writes every enqueue, in groups.
//!
//! Concurrent enqueues become one batch, one journal write and one sync. Why not one
//! batch per caller plus a shared sync: the storage engine holds its journal lock while
//! it syncs, so callers that arrive during a sync cannot even write their batch, and each
//! later sync covers only the few that squeezed in between. So every caller queues its
//! request here; the thread takes what is queued, writes it as one batch with one sync,
//! and settles each caller's [`Completion`]. An async caller awaits it; a blocking caller
//! parks on it ([`Completion::wait`]). Settling a future only queues a task on its
//! runtime; releasing a parked thread is a system call and a context switch each.
//!
//! A group is written once the callers of the last group are back (each producer has one
//! request in flight, and a settled one usually comes straight back with its next), or
//! after [`GATHER_WAIT`]: so 32 producers make groups of 32, and a lone producer never
//! waits.
//!
//! NOTE: pipelining (writing the next group during the sync) was measured, with the
//! earlier leader-per-group scheme, and is worse: the next group then waits for the same
//! journal lock.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::completion::{self, Completer, Completion, Outcome};
use crate::NewJob;

/// Longest the committer waits for the callers it expects back.
const GATHER_WAIT: Duration = Duration::from_micros(200);

/// Writes a group of requests and makes it durable: one outcome per request, in order.
pub(super) type WriteDurably = Arc<dyn Fn(Vec<Request>) -> Vec<Outcome> + Send + Sync>;

/// One caller's enqueue: its jobs, and a named worker value written in the same batch
/// (a scheduler's last fired tick), so that both land or neither does.
pub(super) struct Request {
    pub(super) jobs: Vec<NewJob>,
    /// Key, value and expected version, as in [`StateUpdate`](crate::StateUpdate).
    pub(super) state: Option<(String, Vec<u8>, Option<u64>)>,
}

impl Request {
    #[cfg(test)]
    fn len(&self) -> usize {
        self.jobs.len()
    }
}

impl From<Vec<NewJob>> for Request {
    fn from(jobs: Vec<NewJob>) -> Self {
        Request { jobs, state: None }
    }
}

/// Stops the thread when the last store handle goes, after it has written every request
/// queued before.
pub(super) struct Committer {
    queue: Arc<Queue>,
    thread: Option<JoinHandle<()>>,
    /// For a blocking caller on the committer's own thread (see [`Committer::run`]).
    write: WriteDurably,
}

#[derive(Default)]
struct Queue {
    state: Mutex<State>,
    /// Wakes the committer: a first request arrived, the expected ones did, or stop.
    arrived: Condvar,
}

#[derive(Default)]
struct State {
    requests: Vec<(Request, Completer)>,
    /// The committer sleeps until this flag's condition holds (so that callers notify
    /// only when it waits for them, not on every request).
    waiting: Wait,
    /// Requests the committer hopes to gather: those queued while it wrote the last
    /// group, plus that group's callers, who may come back with their next request.
    expected: usize,
    stop: bool,
}

#[derive(Default)]
enum Wait {
    #[default]
    Busy,
    ForAny,
    ForExpected,
}

impl Committer {
    pub(super) fn start(write: WriteDurably) -> std::io::Result<Self> {
        let queue = Arc::new(Queue::default());
        let thread = std::thread::Builder::new()
            .name("tenax-committer".into())
            .spawn({
                let (queue, write) = (queue.clone(), write.clone());
                move || queue.serve(&*write)
            })?;
        Ok(Committer {
            queue,
            thread: Some(thread),
            write,
        })
    }

    /// A blocking caller's request: queued like any other, and waited for. On the
    /// committer's own thread (a waker that enqueues as it is woken) waiting would wait
    /// for itself, so there the request is written at once, as a group of its own.
    pub(super) fn run(&self, request: impl Into<Request>) -> Outcome {
        let request = request.into();
        if self.thread.as_ref().map(|t| t.thread().id()) == Some(std::thread::current().id()) {
            let mut outcomes = (self.write)(vec![request]);
            return outcomes.pop().expect("one outcome per request");
        }
        self.submit(request).wait()
    }

    /// Queues an enqueue request; the returned completion settles once it is written
    /// (and synced, with sync durability). Dropping the completion does not withdraw it.
    pub(super) fn submit(&self, request: impl Into<Request>) -> Completion {
        let (completer, completion) = completion::pair();
        let mut st = self.queue.lock();
        st.requests.push((request.into(), completer));
        let wake = match st.waiting {
            Wait::Busy => false,
            Wait::ForAny => true,
            Wait::ForExpected => st.requests.len() >= st.expected,
        };
        if wake {
            st.waiting = Wait::Busy;
            self.queue.arrived.notify_one();
        }
        completion
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        self.queue.lock().stop = true;
        self.queue.arrived.notify_one();
        // The last handle can go on the committer itself (a task whose waker owned
        // it); that thread stops by itself once the queue is drained.
        if let Some(t) = self.thread.take()
            && t.thread().id() != std::thread::current().id()
        {
            let _ = t.join();
        }
    }
}

impl Queue {
    fn serve(&self, write: &dyn Fn(Vec<Request>) -> Vec<Outcome>) {
        while let Some(group) = self.next_group() {
            let (jobs, completers): (Vec<_>, Vec<_>) = group.into_iter().unzip();
            // A panic in the write drops the completers, which fails their futures with
            // an error; the thread lives on for the next group.
            let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write(jobs)));
            let Ok(outcomes) = written else {
                continue;
            };
            self.expect_back(completers.len());
            // Each settled on its own: a panic in one caller's waker must not cost the
            // others their true outcome (their jobs are written and synced).
            for (outcome, completer) in outcomes.into_iter().zip(completers) {
                let finish = std::panic::AssertUnwindSafe(|| completer.finish(outcome));
                let _ = std::panic::catch_unwind(finish);
            }
        }
    }

    /// Notes that `settling` callers are about to get their outcome (before they can
    /// come back with another request, so that none is counted twice).
    fn expect_back(&self, settling: usize) {
        let mut st = self.lock();
        st.expected = st.requests.len() + settling;
    }

    /// Waits for requests, gathers briefly until the expected callers are back, and
    /// takes them all. `None` once stopped with nothing left to write.
    fn next_group(&self) -> Option<Vec<(Request, Completer)>> {
        let mut st = self.lock();
        while st.requests.is_empty() {
            if st.stop {
                return None;
            }
            st.waiting = Wait::ForAny;
            st = self
                .arrived
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let deadline = Instant::now() + GATHER_WAIT;
        while !st.stop && st.requests.len() < st.expected {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            st.waiting = Wait::ForExpected;
            st = self
                .arrived
                .wait_timeout(st, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        st.waiting = Wait::Busy;
        Some(std::mem::take(&mut st.requests))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Enqueued, Error, JobId};

    use crate::conformance::block_on;

    fn jobs(n: usize) -> Vec<NewJob> {
        (0..n).map(|_| NewJob::new("k", Vec::new())).collect()
    }

    /// Answers each request with as many ids as it had jobs, numbered by request size.
    fn echo() -> WriteDurably {
        Arc::new(|reqs| {
            reqs.iter()
                .map(|r| {
                    Ok((0..r.len())
                        .map(|i| Enqueued::Created(JobId::new(i as u64)))
                        .collect())
                })
                .collect()
        })
    }

    /// Blocking callers (odd sizes) and awaiting ones (even sizes) share the groups.
    #[test]
    fn each_request_gets_its_own_outcome() {
        let committer = Arc::new(Committer::start(echo()).expect("thread"));
        let callers: Vec<_> = (1..=16)
            .map(|n| {
                let committer = committer.clone();
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let out = if n % 2 == 1 {
                            committer.submit(jobs(n)).wait()
                        } else {
                            block_on(committer.submit(jobs(n)))
                        };
                        assert_eq!(out.expect("outcome").len(), n);
                    }
                })
            })
            .collect();
        for c in callers {
            c.join().expect("caller");
        }
    }

    #[test]
    fn requests_queued_before_the_store_closes_are_still_written() {
        let written = Arc::new(Mutex::new(0));
        let count = written.clone();
        let committer = Committer::start(Arc::new(move |reqs| {
            *count.lock().expect("count") += reqs.len();
            reqs.iter().map(|_| Ok(Vec::new())).collect()
        }))
        .expect("thread");
        let pending: Vec<_> = (0..100).map(|_| committer.submit(jobs(1))).collect();
        drop(committer);
        for p in pending {
            block_on(p).expect("written before the committer stopped");
        }
        assert_eq!(*written.lock().expect("count"), 100);
    }

    #[test]
    fn a_panicking_write_fails_its_group_and_the_next_group_works() {
        let committer = Committer::start(Arc::new(|reqs| {
            assert!(reqs.iter().all(|r| r.len() != 3), "boom");
            reqs.iter().map(|_| Ok(Vec::new())).collect()
        }))
        .expect("thread");
        let failed = block_on(committer.submit(jobs(3)));
        assert!(matches!(failed, Err(Error::Storage(_))), "{failed:?}");
        let failed = committer.submit(jobs(3)).wait();
        assert!(matches!(failed, Err(Error::Storage(_))), "{failed:?}");
        block_on(committer.submit(jobs(1))).expect("the committer survived the panic");
        committer
            .submit(jobs(1))
            .wait()
            .expect("and serves blocking callers");
    }

    /// Whoever was in a group whose write panicked gets an answer (an error, or its own
    /// outcome if its group did not panic), and later groups still work: no blocking
    /// caller waits forever.
    #[test]
    fn no_blocking_caller_of_a_panicking_group_is_left_waiting() {
        let committer = Arc::new(
            Committer::start(Arc::new(|reqs: Vec<Request>| {
                assert!(reqs.iter().all(|r| r.len() != 3), "boom");
                echo()(reqs)
            }))
            .expect("thread"),
        );
        let (finished, all) = std::sync::mpsc::channel();
        for n in 1..=8 {
            let (committer, finished) = (committer.clone(), finished.clone());
            std::thread::spawn(move || {
                let mut failed = 0;
                for _ in 0..20 {
                    match committer.submit(jobs(n)).wait() {
                        Ok(out) => assert_eq!(out.len(), n, "an outcome is the caller's own"),
                        Err(e) => {
                            assert!(matches!(e, Error::Storage(_)), "{e}");
                            failed += 1;
                        }
                    }
                }
                finished.send((n, failed)).expect("report");
            });
        }
        for _ in 1..=8 {
            let (n, failed) = all
                .recv_timeout(std::time::Duration::from_secs(60))
                .expect("every caller finished");
            if n == 3 {
                assert_eq!(failed, 20, "every group with the poisoned request failed");
            }
        }
    }

    /// A caller whose waker panics does not cost the others of its group their outcome.
    #[test]
    fn a_panicking_waker_leaves_the_other_callers_of_its_group_their_outcome() {
        struct Panics;
        impl std::task::Wake for Panics {
            fn wake(self: Arc<Self>) {
                panic!("a caller's waker panicked");
            }
        }
        // The first write waits until the others are queued, so they form one group.
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Mutex::new(Some(gate));
        let write: WriteDurably = Arc::new(move |reqs| {
            if let Some(gate) = gate.lock().expect("gate").take() {
                gate.recv().expect("released");
            }
            echo()(reqs)
        });
        let committer = Committer::start(write).expect("thread");
        let first = committer.submit(jobs(1));
        let mut group: Vec<_> = (2..=5).map(|n| committer.submit(jobs(n))).collect();
        let quiet = std::task::Waker::noop();
        let panics = std::task::Waker::from(Arc::new(Panics));
        for (i, completion) in group.iter_mut().enumerate() {
            let waker = if i == 1 { &panics } else { quiet };
            let mut cx = std::task::Context::from_waker(waker);
            assert!(std::pin::Pin::new(completion).poll(&mut cx).is_pending());
        }
        release.send(()).expect("release the write");
        assert_eq!(block_on(first).expect("first").len(), 1);
        for (completion, n) in group.into_iter().zip(2..=5) {
            let out = block_on(completion);
            assert_eq!(out.expect("its true outcome").len(), n);
        }
    }

    /// A waker that enqueues with the blocking call as it is woken runs on the
    /// committer's thread; its request is written there instead of waiting forever.
    #[test]
    fn a_blocking_enqueue_from_a_waker_on_the_committer_thread_is_written() {
        struct EnqueueOnWake {
            committer: Mutex<Option<Arc<Committer>>>,
            done: Mutex<std::sync::mpsc::Sender<Outcome>>,
        }
        impl std::task::Wake for EnqueueOnWake {
            fn wake(self: Arc<Self>) {
                let committer = self.committer.lock().expect("slot").take();
                if let Some(committer) = committer {
                    let out = committer.run(jobs(2));
                    self.done.lock().expect("sender").send(out).expect("report");
                }
            }
        }
        // The first write waits until the test has registered its waker.
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Mutex::new(Some(gate));
        let write: WriteDurably = Arc::new(move |reqs| {
            if let Some(gate) = gate.lock().expect("gate").take() {
                gate.recv().expect("released");
            }
            echo()(reqs)
        });
        let committer = Arc::new(Committer::start(write).expect("thread"));
        let (done, outcome) = std::sync::mpsc::channel();
        let waker = std::task::Waker::from(Arc::new(EnqueueOnWake {
            committer: Mutex::new(Some(committer.clone())),
            done: Mutex::new(done),
        }));
        let mut first = std::pin::pin!(committer.submit(jobs(1)));
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(
            first.as_mut().poll(&mut cx).is_pending(),
            "the write is held"
        );
        release.send(()).expect("release the write");
        let out = outcome
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the waker's enqueue finished");
        assert_eq!(out.expect("outcome").len(), 2);
    }
}
