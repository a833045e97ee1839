//! Write groups: concurrent enqueues become one batch, one journal write and one sync.
//!
//! Why not one batch per caller plus a shared sync: the storage engine holds its journal
//! lock while it syncs, so callers that arrive during a sync cannot even write their
//! batch, and each later sync covers only the few that squeezed in between. Instead a
//! caller queues its request; one caller at a time is the leader: it takes every queued
//! request, writes them as one batch, syncs once, sends each caller its own result, and
//! passes the leadership to the first caller that queued meanwhile. With one caller this
//! is exactly one write and one sync per call.
//!
//! Each caller waits on its own channel, so a sync wakes each caller once and nobody
//! else (a shared condition variable woke all of them to fight over one lock, which cost
//! more than the work). Callers released by a sync come back one by one, so a leader
//! that finds far fewer requests queued than the last group had waits a moment
//! ([`GATHER_WAIT`](super::gather::GATHER_WAIT)) for the rest instead of syncing for one or two of them.
//!
//! NOTE: pipelining (stepping down before the sync) was measured and is worse: the next
//! leader then writes a tiny group that waits for the same journal lock.
//!
//! Each thread keeps one [`Inbox`] for all its calls: a fresh channel per call cost
//! about a fifth of an enqueue's instructions with 32 producers.

use super::completion::{self, Outcome};
use super::gather;
use crate::NewJob;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

enum Message {
    Done(Outcome),
    Lead,
}

/// Where a waiting caller receives its message: its result, or the leadership.
#[derive(Default)]
struct Inbox {
    message: Mutex<Option<Message>>,
    arrived: Condvar,
}

impl Inbox {
    fn put(&self, message: Message) {
        *self.message.lock().unwrap_or_else(PoisonError::into_inner) = Some(message);
        self.arrived.notify_one();
    }

    fn take(&self) -> Option<Message> {
        self.message
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    fn wait(&self) -> Message {
        let mut slot = self.message.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(message) = slot.take() {
                return message;
            }
            slot = self
                .arrived
                .wait(slot)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

thread_local! {
    /// One inbox per thread: a thread has at most one call in flight.
    static INBOX: Arc<Inbox> = Arc::new(Inbox::default());
}

/// The way back to one caller. Dropped without an outcome (the leader's write panicked),
/// it tells the caller its request was lost instead of leaving it waiting forever.
struct Reply {
    inbox: Arc<Inbox>,
    answered: bool,
}

impl Reply {
    fn send(mut self, message: Message) {
        self.answered = true;
        self.inbox.put(message);
    }

    fn lead(&self) {
        self.inbox.put(Message::Lead);
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if !self.answered {
            self.inbox
                .put(Message::Done(Err(completion::write_failed())));
        }
    }
}

struct Request {
    jobs: Vec<NewJob>,
    reply: Reply,
}

#[derive(Default)]
pub(super) struct WriteGroup {
    state: Mutex<State>,
    /// Wakes a gathering leader once enough requests are queued.
    enough: Condvar,
}

#[derive(Default)]
struct State {
    queued: Vec<Request>,
    leading: bool,
    /// Requests in the last group written, the size a leader hopes to gather again.
    last_group: usize,
    /// The leader waits for [`enough`] requests: only then does a caller notify it (a
    /// notification is a system call even when nobody waits).
    gathering: bool,
}

/// Whether `queued` requests are worth a sync of their own: more than half the last
/// group. Fewer means the last group's callers are still coming back.
fn enough(queued: usize, last_group: usize) -> bool {
    queued * 2 > last_group
}

impl WriteGroup {
    /// Runs this request, possibly together with others queued meanwhile. `write` gets
    /// all requests of a group, writes them durably and returns one outcome per request,
    /// in order.
    pub(super) fn submit(
        &self,
        jobs: Vec<NewJob>,
        write: impl Fn(Vec<Vec<NewJob>>) -> Vec<Outcome>,
    ) -> Outcome {
        let inbox = INBOX.with(Arc::clone);
        // A message left over from a call that unwound (a panicking write) is stale.
        let _ = inbox.take();
        let reply = Reply {
            inbox: inbox.clone(),
            answered: false,
        };
        let mut st = self.lock();
        st.queued.push(Request { jobs, reply });
        if st.leading {
            if st.gathering && enough(st.queued.len(), st.last_group) {
                st.gathering = false;
                self.enough.notify_one();
            }
            drop(st);
            match inbox.wait() {
                Message::Done(out) => return out,
                Message::Lead => st = self.lock(),
            }
        } else {
            st.leading = true;
        }
        self.lead(st, write);
        match inbox.take() {
            Some(Message::Done(out)) => out,
            _ => Err(completion::write_failed()),
        }
    }

    /// Writes one group as the leader, including the leader's own request (its outcome
    /// lands in its own inbox), and hands the leadership on.
    fn lead(&self, st: MutexGuard<'_, State>, write: impl Fn(Vec<Vec<NewJob>>) -> Vec<Outcome>) {
        let mut st = self.gather(st);
        let group = std::mem::take(&mut st.queued);
        st.last_group = group.len();
        drop(st);
        let _handover = Handover(self);
        let (jobs, replies): (Vec<_>, Vec<_>) =
            group.into_iter().map(|r| (r.jobs, r.reply)).unzip();
        for (outcome, reply) in write(jobs).into_iter().zip(replies) {
            reply.send(Message::Done(outcome));
        }
    }

    /// Waits briefly while far fewer requests are queued than the last group had.
    fn gather<'a>(&'a self, st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        gather::gather(
            &self.enough,
            st,
            |st| enough(st.queued.len(), st.last_group),
            |st, on| st.gathering = on,
        )
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Passes the leadership to the first queued caller, or gives it up; also when the
/// write panicked, so that later callers are never stuck.
struct Handover<'a>(&'a WriteGroup);

impl Drop for Handover<'_> {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        match st.queued.first() {
            Some(next) => next.reply.lead(),
            None => st.leading = false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Enqueued;
    use std::sync::Arc;
    use std::time::Duration;

    fn request(n: usize) -> Vec<NewJob> {
        (0..n).map(|_| NewJob::new("k", Vec::new())).collect()
    }

    fn echo(reqs: Vec<Vec<NewJob>>) -> Vec<Outcome> {
        reqs.iter()
            .map(|r| {
                let ids = (0..r.len()).map(|i| Enqueued::Created(crate::JobId::new(i as u64)));
                Ok(ids.collect())
            })
            .collect()
    }

    #[test]
    fn each_caller_gets_its_own_outcome() {
        let group = Arc::new(WriteGroup::default());
        let threads: Vec<_> = (1..=16)
            .map(|n| {
                let group = group.clone();
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let out = group.submit(request(n), echo);
                        assert_eq!(out.expect("outcome").len(), n);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("caller");
        }
    }

    /// Whoever was in a group whose write panicked gets an answer (an error, or the
    /// panic for the leader), and later groups still work: nobody waits forever.
    #[test]
    fn no_caller_of_a_panicking_group_is_left_waiting() {
        let group = Arc::new(WriteGroup::default());
        let (finished, all) = std::sync::mpsc::channel();
        for n in 1..=8 {
            let (group, finished) = (group.clone(), finished.clone());
            std::thread::spawn(move || {
                for _ in 0..5 {
                    let poisoned = |reqs: Vec<Vec<NewJob>>| {
                        assert!(reqs.iter().all(|r| r.len() != 3), "boom");
                        echo(reqs)
                    };
                    let call = std::panic::AssertUnwindSafe(|| group.submit(request(n), poisoned));
                    if let Ok(Ok(out)) = std::panic::catch_unwind(call) {
                        assert_eq!(out.len(), n, "an outcome is the caller's own");
                    }
                }
                finished.send(n).expect("report");
            });
        }
        for _ in 1..=8 {
            all.recv_timeout(Duration::from_secs(60))
                .expect("every caller finished");
        }
    }

    #[test]
    fn a_panicking_write_fails_its_group_without_hanging() {
        let group = WriteGroup::default();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            group.submit(request(1), |_| -> Vec<Outcome> { panic!("boom") })
        }));
        assert!(r.is_err());
        let ok = group.submit(request(2), echo);
        assert!(ok.is_ok(), "the group works after a panic");
    }
}
