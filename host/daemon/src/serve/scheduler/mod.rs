//! The batching scheduler: many clients' jobs in, device-sized batches out.
//!
//! It works on core types only: a [`VerifyJob`] carries its transactions as anything
//! that copies itself into a [`vigil_core::BatchBuilder`] and is answered with
//! [`Verified`] verdicts; a [`MerkleJob`] carries leaves and proof indices and is
//! answered with a [`MerkleAnswer`]; [`Scheduler::devices`] lists backends and queues
//! as [`Devices`]. The service turns protobuf messages into jobs and answers back into
//! messages at its edge (`super::wire`), so scheduling is tested, and can be reused,
//! without the wire format.
//!
//! A job is charged to [`Admission`] on arrival, then queued for its profile, in its
//! client's own queue ([`FairQueue`]). One coalescer task per profile
//! ([`coalesce`](self::coalesce)) waits while the queue is empty; when it is not, it
//! routes by the size of what is queued ([`route`](self::route): small batches to the
//! CPU, larger ones to the first healthy accelerator), waits for that backend to have a
//! free in-flight slot, and only then fills one flat batch (the only copy of the
//! transaction bytes the service makes) from the clients' queues by deficit round
//! robin, up to `max_batch_signatures` (less for the CPU: see `batch_cap`). So under
//! load batches grow to device size by themselves (jobs queue for as long as the device
//! is busy), every client queued has a place in the next batch whatever the others have
//! queued, and an idle appliance dispatches a lone job at once. The optional
//! `coalesce_delay` holds the first job that long for others to join; it defaults to
//! zero because tokio timers tick in milliseconds, so any non-zero window costs an idle
//! request about 1 ms (measured on the 2-core VM: the mean queue stage of an idle
//! 64-transaction request was 1.19 ms with a 100 µs window, 0.013 ms without).
//! Verdicts are split back per job by transaction range ([`dispatch`](self::dispatch)).
//!
//! Nothing accepted is lost: a backend that fails a batch is marked unhealthy and the
//! same batch is re-run on the next healthy backend; only when none is left do its
//! jobs fail, with UNAVAILABLE. Deadlines: a job whose deadline has passed, or whose
//! caller has gone, is skipped when the coalescer reaches it, so dead work never
//! reaches a device; the caller's side answers DEADLINE_EXCEEDED.
//!
//! One job per file: this one holds the scheduler's state, admission and queueing;
//! [`job`] the types it takes and gives; [`coalesce`](self::coalesce) the per-profile
//! loop that fills batches; [`dispatch`](self::dispatch) running a batch to its answers,
//! re-running it elsewhere on failure; [`route`](self::route) which backend takes work
//! and what its errors do to it; [`merkle`](self::merkle) Merkle roots and proofs;
//! [`devices`](self::devices) the Devices listing.

mod coalesce;
mod devices;
mod dispatch;
mod job;
mod merkle;
mod route;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use vigil_core::{Backend, Profile};

use super::admission::{Admission, ClientKey, Refusal, Ticket};
use super::error::ServeError;
use super::fair::FairQueue;
use super::metrics::Metrics;
use coalesce::Queued;
use route::Slot;

pub use devices::Devices;
pub use job::{Cost, MerkleAnswer, MerkleJob, Reply, Transactions, Verified, VerifyJob};

/// Tuning of the queue and the coalescer.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// Admitted, unanswered signatures at most (all profiles together).
    pub capacity_signatures: usize,
    /// Admitted, unanswered transaction bytes at most.
    pub capacity_bytes: usize,
    /// A coalesced batch is dispatched once it has this many signatures.
    pub max_batch_signatures: usize,
    /// ... or once this long has passed since its first request arrived.
    pub coalesce_delay: Duration,
    /// Batches below this many signatures go to the CPU when one is healthy (until
    /// [`Scheduler::set_small_batch_signatures`] replaces it with a measured value).
    pub small_batch_signatures: usize,
    /// Batches handed to one backend and not yet answered, at most.
    pub max_in_flight_batches: usize,
    /// Inclusion proofs one Merkle job may ask for.
    pub max_proofs: usize,
    /// The largest response message, bytes: a Merkle job whose proofs would not fit is
    /// refused before anything is hashed.
    pub max_response_bytes: usize,
}

/// Per-profile queue depth, for `Devices` and metrics.
#[derive(Default)]
struct Depth {
    requests: AtomicUsize,
    transactions: AtomicUsize,
    signatures: AtomicUsize,
}

/// The scheduler shared by every connection.
pub struct Scheduler {
    config: SchedulerConfig,
    admission: Arc<Admission>,
    slots: OnceLock<Vec<Arc<Slot>>>,
    queues: Vec<Arc<FairQueue<Queued>>>,
    depth: [Depth; 3],
    metrics: Arc<Metrics>,
    closing: AtomicBool,
    /// Batches below this many signatures go to the CPU (see `route`).
    small_batch: AtomicUsize,
}

fn profile_index(p: Profile) -> usize {
    match p {
        Profile::Strict => 0,
        Profile::Rfc8032 => 1,
        Profile::Zip215 => 2,
    }
}

impl Scheduler {
    /// A scheduler with no backends yet (jobs get UNAVAILABLE until
    /// [`Scheduler::set_backends`]). Spawns one coalescer per profile on the current
    /// tokio runtime.
    pub fn start(config: SchedulerConfig, metrics: Arc<Metrics>) -> Arc<Scheduler> {
        let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        metrics
            .queue_capacity_signatures
            .set(gauge(config.capacity_signatures));
        metrics
            .queue_capacity_bytes
            .set(gauge(config.capacity_bytes));
        let queues: Vec<Arc<FairQueue<Queued>>> = Profile::ALL
            .iter()
            .map(|_| Arc::new(FairQueue::new()))
            .collect();
        let scheduler = Arc::new(Scheduler {
            admission: Admission::new(config.capacity_signatures, config.capacity_bytes)
                .with_gauges(
                    metrics.queue_bytes.clone(),
                    metrics.queue_admitted_signatures.clone(),
                ),
            small_batch: AtomicUsize::new(config.small_batch_signatures),
            config,
            slots: OnceLock::new(),
            queues,
            depth: Default::default(),
            metrics,
            closing: AtomicBool::new(false),
        });
        for (profile, queue) in Profile::ALL.into_iter().zip(&scheduler.queues) {
            // The coalescer holds only a weak handle: it ends when the scheduler does
            // (whose drop closes the queues).
            let weak = Arc::downgrade(&scheduler);
            tokio::spawn(coalesce::coalesce(weak, profile, queue.clone()));
        }
        scheduler
    }

    /// Replaces the CPU/accelerator routing threshold (with the measured crossover).
    pub fn set_small_batch_signatures(&self, signatures: usize) {
        self.small_batch.store(signatures, Ordering::Relaxed);
    }

    /// Installs the backends that passed their self-tests, in order of preference.
    pub fn set_backends(&self, backends: Vec<Arc<dyn Backend>>) {
        let in_flight = self.config.max_in_flight_batches.max(1);
        let slots = backends
            .into_iter()
            .map(|backend| Arc::new(Slot::new(backend, in_flight, &self.metrics)))
            .collect();
        if self.slots.set(slots).is_err() {
            tracing::warn!("backends were already installed; the second set is ignored");
        }
    }

    /// Whether any backend is installed and healthy.
    pub fn serving(&self) -> bool {
        self.slots
            .get()
            .is_some_and(|slots| slots.iter().any(|s| s.healthy()))
    }

    /// Refuses new work from now on (work already admitted still completes).
    pub fn close(&self) {
        self.closing.store(true, Ordering::Release);
    }

    fn ready(&self) -> Result<&[Arc<Slot>], ServeError> {
        if self.closing.load(Ordering::Acquire) {
            return Err(ServeError::ShuttingDown);
        }
        let slots = self.slots.get().ok_or_else(|| {
            ServeError::Unavailable("the appliance is starting (backend self-tests)".into())
        })?;
        if slots.iter().any(|s| s.healthy()) {
            Ok(slots)
        } else {
            Err(ServeError::Unavailable(
                "every backend has failed; see vigil_backend_healthy".into(),
            ))
        }
    }

    /// The admission budget (shared with the early-shedding layer).
    pub fn admission(&self) -> Arc<Admission> {
        self.admission.clone()
    }

    fn charge(
        &self,
        client: &ClientKey,
        signatures: usize,
        bytes: usize,
    ) -> Result<Ticket, ServeError> {
        self.admission
            .admit(client, signatures, bytes)
            .map_err(|refusal| {
                self.metrics
                    .shed
                    .with_label_values(&[refusal.label()])
                    .inc();
                match refusal {
                    // No amount of waiting or retrying admits it: the client must split it.
                    Refusal::TooLarge => ServeError::InvalidArgument(format!(
                        "request of {signatures} signatures and {bytes} bytes is larger than \
                         the whole queue ({} signatures, {} bytes: --queue-signatures, \
                         --queue-bytes); split it",
                        self.admission.capacity_signatures(),
                        self.admission.capacity_bytes()
                    )),
                    Refusal::Full => ServeError::Shed("queue full".into()),
                    Refusal::FairShare => ServeError::Shed(
                        "queue contended and this client holds its fair share".into(),
                    ),
                }
            })
    }

    /// Admits and queues a verify job for `client`. The receiver yields its verdicts.
    pub fn submit(
        self: &Arc<Self>,
        client: &ClientKey,
        job: VerifyJob,
        deadline: Option<Instant>,
    ) -> Result<oneshot::Receiver<Reply>, ServeError> {
        self.ready()?;
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(ServeError::DeadlineExceeded);
        }
        let cost = job.transactions.cost();
        let ticket = self.charge(client, cost.signatures, cost.bytes)?;
        let (reply, rx) = oneshot::channel();
        let index = profile_index(job.profile);
        self.enqueued(index, &cost, 1);
        let queued = Queued {
            job,
            cost,
            deadline,
            admitted: Instant::now(),
            reply,
            ticket,
        };
        if let Err(queued) = self.queues[index].push(client, queued) {
            self.enqueued(index, &queued.cost, -1);
            return Err(ServeError::ShuttingDown);
        }
        Ok(rx)
    }

    /// Counts a job into (`sign` 1) or out of (-1) its profile's queue depth.
    fn enqueued(&self, index: usize, cost: &Cost, sign: isize) {
        let d = &self.depth[index];
        let apply = |a: &AtomicUsize, n: usize| {
            if sign > 0 {
                a.fetch_add(n, Ordering::Relaxed);
            } else {
                a.fetch_sub(n, Ordering::Relaxed);
            }
        };
        apply(&d.requests, 1);
        apply(&d.transactions, cost.transactions);
        apply(&d.signatures, cost.signatures);
        let label = Profile::ALL[index].name();
        self.metrics
            .queue_requests
            .with_label_values(&[label])
            .set(gauge(d.requests.load(Ordering::Relaxed)));
        self.metrics
            .queue_signatures
            .with_label_values(&[label])
            .set(gauge(d.signatures.load(Ordering::Relaxed)));
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        // Ends the coalescers (they hold only weak handles and wait on the queues).
        for queue in &self.queues {
            queue.close();
        }
    }
}

/// A count as a gauge value (saturating; no count here comes near it).
pub(super) fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
