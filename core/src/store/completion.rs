//! The outcome of an enqueue: a one-shot slot the committer fills and the caller reads,
//! by awaiting it (async enqueue) or by parking until it is filled (blocking enqueue).
//!
//! Written here rather than taken from an async runtime so that the store works under
//! any executor, or none.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use crate::{Enqueued, Error, Result};

pub(super) type Outcome = Result<Vec<Enqueued>>;

enum Slot {
    Waiting(Option<Waker>),
    Ready(Outcome),
    Taken,
}

struct Shared {
    slot: Mutex<Slot>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Creates a connected pair: the committer keeps the [`Completer`], the caller awaits
/// the [`Completion`].
pub(super) fn pair() -> (Completer, Completion) {
    let shared = Arc::new(Shared {
        slot: Mutex::new(Slot::Waiting(None)),
    });
    (Completer(Some(shared.clone())), Completion(shared))
}

/// A completion that is already settled (the request failed before it was queued).
pub(super) fn ready(outcome: Outcome) -> Completion {
    Completion(Arc::new(Shared {
        slot: Mutex::new(Slot::Ready(outcome)),
    }))
}

/// The writing side. Dropped without an outcome (the write panicked), it settles the
/// caller's completion with an error instead of leaving it pending forever.
pub(super) struct Completer(Option<Arc<Shared>>);

impl Completer {
    pub(super) fn finish(mut self, outcome: Outcome) {
        if let Some(shared) = self.0.take() {
            settle(&shared, outcome);
        }
    }
}

impl Drop for Completer {
    fn drop(&mut self) {
        if let Some(shared) = self.0.take() {
            settle(&shared, Err(write_failed()));
        }
    }
}

fn settle(shared: &Shared, outcome: Outcome) {
    let waker = match std::mem::replace(&mut *shared.lock(), Slot::Ready(outcome)) {
        Slot::Waiting(waker) => waker,
        Slot::Ready(_) | Slot::Taken => None,
    };
    // Woken outside the lock: the task may run at once on another thread.
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// The answer to a caller whose group's write panicked before its outcome was known.
pub(super) fn write_failed() -> Error {
    Error::Storage("the enqueue's write failed unexpectedly; it may or may not be stored".into())
}

/// The caller's side: resolves to the outcome of its enqueue.
pub(super) struct Completion(Arc<Shared>);

impl Completion {
    /// Blocks the calling thread until the outcome is there: the blocking enqueue's wait
    /// on the same completion an async caller awaits.
    pub(super) fn wait(mut self) -> Outcome {
        thread_local! {
            /// One waker per thread (a thread waits for one completion at a time), so a
            /// blocking enqueue allocates none.
            static UNPARK: Waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        }
        UNPARK.with(|waker| {
            let mut cx = Context::from_waker(waker);
            loop {
                match Pin::new(&mut self).poll(&mut cx) {
                    Poll::Ready(outcome) => return outcome,
                    // A wake-up meant for an earlier wait, or a spurious one, just polls
                    // again.
                    Poll::Pending => std::thread::park(),
                }
            }
        })
    }
}

/// Wakes a thread parked in [`Completion::wait`].
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

impl Future for Completion {
    type Output = Outcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        let mut slot = self.0.lock();
        match std::mem::replace(&mut *slot, Slot::Taken) {
            Slot::Ready(outcome) => Poll::Ready(outcome),
            Slot::Waiting(_) => {
                *slot = Slot::Waiting(Some(cx.waker().clone()));
                Poll::Pending
            }
            Slot::Taken => panic!("an enqueue completion was polled after it finished"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::JobId;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct CountWakes(AtomicUsize);

    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll(c: &mut Completion, wakes: &Arc<CountWakes>) -> Poll<Outcome> {
        let waker = Waker::from(wakes.clone());
        Pin::new(c).poll(&mut Context::from_waker(&waker))
    }

    #[test]
    fn a_finished_completer_wakes_the_waiting_future_with_its_outcome() {
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let (completer, mut completion) = pair();
        assert!(poll(&mut completion, &wakes).is_pending());
        completer.finish(Ok(vec![Enqueued::Created(JobId::new(7))]));
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        match poll(&mut completion, &wakes) {
            Poll::Ready(Ok(out)) => assert_eq!(out, vec![Enqueued::Created(JobId::new(7))]),
            other => panic!("expected the outcome, got {other:?}"),
        }
    }

    #[test]
    fn a_dropped_completer_settles_the_future_with_an_error() {
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let (completer, mut completion) = pair();
        assert!(poll(&mut completion, &wakes).is_pending());
        drop(completer);
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        match poll(&mut completion, &wakes) {
            Poll::Ready(Err(e)) => assert!(e.to_string().contains("failed unexpectedly"), "{e}"),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn a_blocking_wait_returns_the_outcome_finished_on_another_thread() {
        for _ in 0..100 {
            let (completer, completion) = pair();
            let finisher = std::thread::spawn(move || {
                completer.finish(Ok(vec![Enqueued::Created(JobId::new(3))]));
            });
            assert_eq!(
                completion.wait().expect("outcome"),
                vec![Enqueued::Created(JobId::new(3))]
            );
            finisher.join().expect("finisher");
        }
        let (completer, completion) = pair();
        drop(completer);
        assert!(
            completion.wait().is_err(),
            "a dropped completer fails the wait"
        );
    }

    #[test]
    fn an_outcome_that_arrives_before_the_first_poll_is_kept() {
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let (completer, mut completion) = pair();
        completer.finish(Ok(Vec::new()));
        assert!(matches!(poll(&mut completion, &wakes), Poll::Ready(Ok(v)) if v.is_empty()));
        assert_eq!(wakes.0.load(Ordering::SeqCst), 0, "nobody was waiting");
    }
}
