//! One profile's coalescer: queued jobs into batches, filled when a device can take
//! them.
//!
//! Filling is kept apart from running (`dispatch`) because it is where fairness and
//! batch size are decided, from the queue alone: while the queue holds work the loop
//! picks a backend by the size of what is queued, waits for that backend to have a free
//! slot, and only then fills a batch from the per-client queues by deficit round robin
//! ([`FairQueue`]), so a batch holds what is fairest at the moment a device can take it.
//! Jobs arriving while the backend is busy simply queue: under load batches grow to
//! device size by themselves, and an idle appliance dispatches a lone job at once. A
//! job whose caller has gone or whose deadline has passed is dropped here, before its
//! transactions are copied.

use std::ops::Range;
use std::sync::{Arc, Weak};
use std::time::Instant;

use tokio::sync::oneshot;
use vigil_core::{BatchBuilder, Profile, Signer};

use super::super::admission::Ticket;
use super::super::error::ServeError;
use super::super::fair::{FairQueue, Weighted};
use super::job::{Cost, Reply, VerifyJob};
use super::{dispatch, profile_index, Scheduler};

/// One job waiting in a profile's queue.
pub(super) struct Queued {
    pub(super) job: VerifyJob,
    /// `job.transactions.cost()`, counted once on arrival.
    pub(super) cost: Cost,
    pub(super) deadline: Option<Instant>,
    pub(super) admitted: Instant,
    pub(super) reply: oneshot::Sender<Reply>,
    pub(super) ticket: Ticket,
}

impl Weighted for Queued {
    fn weight(&self) -> usize {
        self.cost.signatures
    }
}

/// A job's place in a coalesced batch.
pub(super) struct Placed {
    pub(super) id: u64,
    pub(super) txs: Range<usize>,
    pub(super) want_root: bool,
    pub(super) admitted: Instant,
    pub(super) reply: oneshot::Sender<Reply>,
    pub(super) ticket: Ticket,
}

/// A batch being filled.
pub(super) struct Filling {
    pub(super) builder: BatchBuilder,
    pub(super) placed: Vec<Placed>,
    signatures: usize,
    scratch: Vec<Signer>,
}

impl Filling {
    fn new() -> Filling {
        Filling {
            builder: BatchBuilder::default(),
            placed: Vec::new(),
            signatures: 0,
            scratch: Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.placed.is_empty()
    }

    /// Copies the job's transactions into the batch; answers it instead if it is dead.
    fn push(&mut self, queued: Queued) {
        let Queued {
            job,
            cost,
            deadline,
            admitted,
            reply,
            ticket,
        } = queued;
        if reply.is_closed() {
            return; // The caller is gone (deadline or cancel); its ticket drops here.
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            answer(reply, ticket, Err(ServeError::DeadlineExceeded));
            return;
        }
        let start = self.builder.len();
        if let Err(e) = job
            .transactions
            .push_into(&mut self.builder, &mut self.scratch)
        {
            // Only an arena past 4 GiB fails; admission caps make that unreachable, but
            // the answer is still a clear one.
            let error = ServeError::Internal(format!("batch full while adding a request: {e}"));
            answer(reply, ticket, Err(error));
            return;
        }
        self.signatures += cost.signatures;
        self.placed.push(Placed {
            id: job.id,
            txs: start..self.builder.len(),
            want_root: job.want_root,
            admitted,
            reply,
            ticket,
        });
    }
}

/// One profile's coalescer: runs until the scheduler is dropped (which closes the
/// queue). See the module's docs.
pub(super) async fn coalesce(
    scheduler: Weak<Scheduler>,
    profile: Profile,
    queue: Arc<FairQueue<Queued>>,
) {
    let index = profile_index(profile);
    while queue.ready().await {
        let Some(sched) = scheduler.upgrade() else {
            return;
        };
        let (max, delay) = (
            sched.config.max_batch_signatures.max(1),
            sched.config.coalesce_delay,
        );
        if !delay.is_zero() && queue.weight() < max {
            // A configured window: let more jobs join before the batch is formed.
            tokio::time::sleep(delay).await;
        }
        let Some(slot) = sched.route(queue.weight().min(max), &[], true) else {
            let error = ServeError::Unavailable("no healthy backend".into());
            for queued in queue.drain() {
                sched.enqueued(index, &queued.cost, -1);
                answer(queued.reply, queued.ticket, Err(error.clone()));
            }
            continue;
        };
        let permit = slot.permits.clone().acquire_owned().await.ok();
        let cap = sched.batch_cap(&slot);
        // Credit per visit: small enough that one batch goes round every client queued.
        let quantum = (cap / (queue.clients() + 1)).max(1);
        let mut filling = Filling::new();
        loop {
            // A job larger than a batch goes alone.
            let room = if filling.is_empty() {
                usize::MAX
            } else {
                cap.saturating_sub(filling.signatures)
            };
            let Some(queued) = queue.pop(room, quantum) else {
                break;
            };
            sched.enqueued(index, &queued.cost, -1);
            filling.push(queued);
            if filling.signatures >= cap {
                break;
            }
        }
        if filling.is_empty() {
            continue; // Every job taken was dead; the permit goes back.
        }
        tokio::spawn(dispatch::run_batch(
            sched.clone(),
            profile,
            slot,
            permit,
            filling,
        ));
    }
}

/// Releases a job's admission charge, then answers it: a caller that sees its answer
/// also sees the queue space it held as free.
pub(super) fn answer(reply: oneshot::Sender<Reply>, ticket: Ticket, result: Reply) {
    drop(ticket);
    let _ = reply.send(result);
}
