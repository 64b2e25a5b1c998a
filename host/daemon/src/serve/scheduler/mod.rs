//! The batching scheduler: many clients' requests in, device-sized batches out.
//!
//! A request is checked and charged to [`Admission`] on arrival, then queued for its
//! profile, in its client's own queue ([`FairQueue`]). One coalescer task per profile
//! waits while the queue is empty; when it is not, it routes by the size of what is
//! queued (small batches to the CPU, larger ones to the first healthy accelerator),
//! waits for that backend to have a free in-flight slot, and only then fills one flat
//! [`BatchBuilder`] (the only copy of the transaction bytes the service makes) from the
//! clients' queues by deficit round robin, up to `max_batch_signatures` (less for the
//! CPU: see `batch_cap`). So under load batches grow to device size by themselves
//! (requests queue for as long as the device is busy), every client queued has a
//! place in the next batch whatever the others have queued, and an idle appliance
//! dispatches a lone request at once. The optional `coalesce_delay` holds the first
//! request that long for others to join; it defaults to zero because tokio timers tick
//! in milliseconds, so any non-zero window costs an idle request about 1 ms (measured
//! on the 2-core VM: the mean queue stage of an idle 64-transaction request was
//! 1.19 ms with a 100 µs window, 0.013 ms without).
//! Verdicts are split back per request by transaction range.
//!
//! Nothing accepted is lost: a backend that fails a batch is marked unhealthy and the
//! same batch is re-run on the next healthy backend; only when none is left do its
//! requests fail, with UNAVAILABLE. Deadlines: a request whose deadline has passed, or
//! whose caller has gone, is skipped when the coalescer reaches it, so dead work never
//! reaches a device; the caller's side answers DEADLINE_EXCEEDED.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};
use vigil_core::merkle;
use vigil_core::{Backend, BackendError, Batch, BatchBuilder, Leaves, Profile, Signer, Verdicts};
use vigil_proto::convert::{self, Checked};
use vigil_proto::v1::{self, MerkleRequest, MerkleResponse, VerifyRequest, VerifyResponse};

use super::admission::{Admission, ClientKey, Ticket};
use super::error::ServeError;
use super::fair::{FairQueue, Weighted};
use super::metrics::Metrics;

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
    /// Transactions one Verify request may carry.
    pub max_request_transactions: usize,
    /// Inclusion proofs one MerkleRoot request may ask for.
    pub max_proofs: usize,
    /// The largest response message, bytes (what tonic will encode).
    pub max_response_bytes: usize,
}

/// What the scheduler answers a verification request with.
pub type Reply = Result<VerifyResponse, ServeError>;

/// A backend as the scheduler sees it.
pub struct Slot {
    backend: Arc<dyn Backend>,
    name: String,
    devices: Vec<String>,
    preferred_batch: usize,
    is_cpu: bool,
    /// Serves signatures (not only Merkle roots).
    verifies: bool,
    healthy: AtomicBool,
    detail: Mutex<String>,
    permits: Arc<Semaphore>,
    in_flight: AtomicUsize,
}

impl Slot {
    fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// Settles an error this backend returned for some work: work it cannot take
    /// (`Unfit`: a batch over a device's largest buffer; `Unavailable`: a leaf over a
    /// card's limit, signatures for a card without a
    /// signature engine) goes elsewhere and leaves it in service; a device failure in a
    /// backend that still has other devices in service (one card of several, one GPU of
    /// a pool) leaves it in service too, the failed device having taken itself out; any
    /// other error takes it out. Either way the work is re-run elsewhere.
    fn refused_or_failed(&self, error: &BackendError, metrics: &Metrics) {
        if let BackendError::Unavailable { .. } | BackendError::Unfit { .. } = error {
            tracing::warn!(backend = %self.name, %error, "work not taken; trying another backend");
            return;
        }
        let left = self.backend.devices_in_service().filter(|&n| n > 0);
        match (error, left) {
            (BackendError::DeviceFailed { .. }, Some(left)) => {
                tracing::error!(
                    backend = %self.name,
                    %error,
                    devices_in_service = left,
                    "a device failed and left service; the backend serves on with the rest"
                );
                metrics
                    .device_failures
                    .with_label_values(&[&self.name])
                    .inc();
            }
            _ => self.fail(&error.to_string(), metrics),
        }
    }

    fn fail(&self, reason: &str, metrics: &Metrics) {
        tracing::error!(backend = %self.name, %reason, "backend taken out of service");
        self.healthy.store(false, Ordering::Release);
        *self.detail.lock().unwrap_or_else(|p| p.into_inner()) = reason.to_string();
        metrics
            .backend_healthy
            .with_label_values(&[&self.name])
            .set(0);
    }
}

/// One request waiting in a profile's queue.
struct Job {
    id: u64,
    request: VerifyRequest,
    checked: Checked,
    deadline: Option<Instant>,
    admitted: Instant,
    reply: oneshot::Sender<Reply>,
    ticket: Ticket,
}

impl Weighted for Job {
    fn weight(&self) -> usize {
        self.checked.signatures
    }
}

/// A request's place in a coalesced batch.
struct Placed {
    id: u64,
    txs: Range<usize>,
    want_root: bool,
    admitted: Instant,
    reply: oneshot::Sender<Reply>,
    ticket: Ticket,
}

/// A batch being filled.
struct Filling {
    builder: BatchBuilder,
    placed: Vec<Placed>,
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
    fn push(&mut self, job: Job) {
        if job.reply.is_closed() {
            return; // The caller is gone (deadline or cancel); its ticket drops here.
        }
        if job.deadline.is_some_and(|d| Instant::now() >= d) {
            answer(job.reply, job.ticket, Err(ServeError::DeadlineExceeded));
            return;
        }
        let start = self.builder.len();
        if let Err(e) = convert::push_request(&mut self.builder, &job.request, &mut self.scratch) {
            // Only an arena past 4 GiB fails; admission caps make that unreachable, but
            // the answer is still a clear one.
            let error = ServeError::Internal(format!("batch full while adding a request: {e}"));
            answer(job.reply, job.ticket, Err(error));
            return;
        }
        self.signatures += job.checked.signatures;
        self.placed.push(Placed {
            id: job.id,
            txs: start..self.builder.len(),
            want_root: job.request.want_merkle_root,
            admitted: job.admitted,
            reply: job.reply,
            ticket: job.ticket,
        });
    }
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
    queues: Vec<Arc<FairQueue<Job>>>,
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
    /// A scheduler with no backends yet (requests get UNAVAILABLE until
    /// [`Scheduler::set_backends`]). Spawns one coalescer per profile on the current
    /// tokio runtime.
    pub fn start(config: SchedulerConfig, metrics: Arc<Metrics>) -> Arc<Scheduler> {
        let queues: Vec<Arc<FairQueue<Job>>> = Profile::ALL
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
            tokio::spawn(coalesce(weak, profile, queue.clone()));
        }
        scheduler
    }

    /// Replaces the CPU/accelerator routing threshold (with the measured crossover).
    pub fn set_small_batch_signatures(&self, signatures: usize) {
        self.small_batch.store(signatures, Ordering::Relaxed);
    }

    /// Installs the backends that passed their self-tests, in order of preference.
    pub fn set_backends(&self, backends: Vec<Arc<dyn Backend>>) {
        let slots = backends
            .into_iter()
            .map(|backend| {
                let info = backend.info();
                self.metrics
                    .backend_healthy
                    .with_label_values(&[&info.name])
                    .set(1);
                Arc::new(Slot {
                    is_cpu: info.name == "cpu",
                    verifies: backend.verifies(),
                    name: info.name,
                    devices: info.devices,
                    preferred_batch: info.preferred_batch,
                    backend,
                    healthy: AtomicBool::new(true),
                    detail: Mutex::new(String::new()),
                    permits: Arc::new(Semaphore::new(self.config.max_in_flight_batches.max(1))),
                    in_flight: AtomicUsize::new(0),
                })
            })
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
                    super::admission::Refusal::TooLarge => ServeError::InvalidArgument(format!(
                        "request of {signatures} signatures and {bytes} bytes is larger than \
                         the whole queue ({} signatures, {} bytes: --queue-signatures, \
                         --queue-bytes); split it",
                        self.admission.capacity_signatures(),
                        self.admission.capacity_bytes()
                    )),
                    super::admission::Refusal::Full => ServeError::Shed("queue full".into()),
                    super::admission::Refusal::FairShare => ServeError::Shed(
                        "queue contended and this client holds its fair share".into(),
                    ),
                }
            })
    }

    /// Checks, admits and queues a verification request. The receiver yields its reply.
    pub fn submit(
        self: &Arc<Self>,
        client: &ClientKey,
        request: VerifyRequest,
        deadline: Option<Instant>,
    ) -> Result<oneshot::Receiver<Reply>, ServeError> {
        let checked = convert::check(&request)?;
        convert::check_limits(
            &checked,
            self.config.max_request_transactions,
            self.config.max_response_bytes,
        )
        .map_err(|e| ServeError::InvalidArgument(e.to_string()))?;
        self.ready()?;
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(ServeError::DeadlineExceeded);
        }
        let ticket = self.charge(client, checked.signatures, checked.bytes)?;
        let (reply, rx) = oneshot::channel();
        let index = profile_index(checked.profile);
        self.enqueued(index, &checked, 1);
        let job = Job {
            id: request.id,
            request,
            checked,
            deadline,
            admitted: Instant::now(),
            reply,
            ticket,
        };
        if let Err(job) = self.queues[index].push(client, job) {
            self.enqueued(index, &job.checked, -1);
            return Err(ServeError::ShuttingDown);
        }
        Ok(rx)
    }

    fn enqueued(&self, index: usize, checked: &Checked, sign: isize) {
        let d = &self.depth[index];
        let apply = |a: &AtomicUsize, n: usize| {
            if sign > 0 {
                a.fetch_add(n, Ordering::Relaxed);
            } else {
                a.fetch_sub(n, Ordering::Relaxed);
            }
        };
        apply(&d.requests, 1);
        apply(&d.transactions, checked.transactions);
        apply(&d.signatures, checked.signatures);
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

    /// The first healthy backend for a batch of `signatures` (or of Merkle leaves, with
    /// `verify` false): the CPU for small ones, else the first accelerator, else whatever
    /// is healthy. Signatures go only to backends that verify.
    fn route(&self, signatures: usize, exclude: &[String], verify: bool) -> Option<Arc<Slot>> {
        let slots = self.slots.get()?;
        let usable =
            |s: &&Arc<Slot>| s.healthy() && !exclude.contains(&s.name) && (s.verifies || !verify);
        let cpu = slots.iter().filter(usable).find(|s| s.is_cpu);
        let accel = slots.iter().filter(usable).find(|s| !s.is_cpu);
        let pick = if signatures < self.small_batch.load(Ordering::Relaxed) {
            cpu.or(accel)
        } else {
            accel.or(cpu)
        };
        pick.cloned()
    }

    /// The most signatures a batch for `slot` holds: the configured maximum, and for
    /// the CPU eight times its preferred batch (already enough to keep every core
    /// busy), so a CPU batch takes milliseconds and a request that arrives during a
    /// flood waits for one or two of them, not for a GPU-sized batch on a CPU.
    fn batch_cap(&self, slot: &Slot) -> usize {
        let max = self.config.max_batch_signatures.max(1);
        if slot.is_cpu {
            max.min(slot.preferred_batch.saturating_mul(8).max(1))
        } else {
            max
        }
    }

    /// The Merkle root of a request's leaves, with the inclusion proofs asked for.
    pub async fn merkle(
        self: &Arc<Self>,
        client: &ClientKey,
        request: MerkleRequest,
    ) -> Result<MerkleResponse, ServeError> {
        self.ready()?;
        let count = request.leaves.len();
        // The response's size is known from the tree's shape: it is checked, and the
        // proofs' working memory charged, before anything is hashed or built.
        let limits = super::proofs::ProofLimits {
            max_proofs: self.config.max_proofs,
            max_response_bytes: self.config.max_response_bytes,
        };
        super::proofs::check(count, &request.proof_indices, &limits)?;
        let bytes: usize = request.leaves.iter().map(|l| l.len()).sum();
        let working = if request.proof_indices.is_empty() {
            0
        } else {
            super::proofs::working_bytes(count, request.proof_indices.len())
        };
        // A leaf costs about what one signature check costs in hashing terms; charging
        // leaves as signatures keeps Merkle floods inside the same budget. Bytes: the
        // leaves' copy with its offsets, and the proofs' working memory.
        let charged = bytes
            .saturating_add(count.saturating_mul(std::mem::size_of::<u64>()))
            .saturating_add(working);
        let ticket = self.charge(client, count / 16, charged)?;
        let mut leaves = Leaves::with_capacity(count, bytes);
        for leaf in &request.leaves {
            leaves
                .push(leaf)
                .map_err(|e| ServeError::InvalidArgument(format!("leaves: {e}")))?;
        }
        let leaves = Arc::new(leaves);
        let response = if request.proof_indices.is_empty() {
            let mut exclude = Vec::new();
            loop {
                let slot = self.route(count, &exclude, false).ok_or_else(|| {
                    ServeError::Unavailable("no healthy backend for a Merkle root".into())
                })?;
                match slot.backend.merkle_root(leaves.clone()).await {
                    Ok(root) => {
                        break MerkleResponse {
                            root: bytes::Bytes::copy_from_slice(&root),
                            proofs: Vec::new(),
                            backend: slot.name.clone(),
                        }
                    }
                    Err(e) => {
                        slot.refused_or_failed(&e, &self.metrics);
                        exclude.push(slot.name.clone());
                    }
                }
            }
        } else {
            // Proofs need every level of the tree, which the host builds.
            let indices = request.proof_indices.clone();
            tokio::task::spawn_blocking(move || super::proofs::proofs_response(&leaves, &indices))
                .await
                .map_err(|e| ServeError::Internal(format!("proof task failed: {e}")))??
        };
        drop(ticket);
        Ok(response)
    }

    /// Backends, health and queue depths.
    pub fn devices(&self) -> v1::DevicesResponse {
        let backends = self
            .slots
            .get()
            .map(|slots| {
                slots
                    .iter()
                    .map(|s| v1::Backend {
                        name: s.name.clone(),
                        devices: s
                            .devices
                            .iter()
                            .map(|d| v1::Device { name: d.clone() })
                            .collect(),
                        healthy: s.healthy(),
                        health_detail: s.detail.lock().unwrap_or_else(|p| p.into_inner()).clone(),
                        in_flight_batches: s.in_flight.load(Ordering::Relaxed) as u64,
                        preferred_batch: s.preferred_batch as u64,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let queues = Profile::ALL
            .into_iter()
            .map(|p| {
                let d = &self.depth[profile_index(p)];
                v1::QueueDepth {
                    profile: vigil_proto::profile_to_wire(p) as i32,
                    requests: d.requests.load(Ordering::Relaxed) as u64,
                    transactions: d.transactions.load(Ordering::Relaxed) as u64,
                    signatures: d.signatures.load(Ordering::Relaxed) as u64,
                }
            })
            .collect();
        v1::DevicesResponse {
            backends,
            queues,
            queue_capacity_signatures: self.admission.capacity_signatures() as u64,
            version: format!("{} ({})", env!("CARGO_PKG_VERSION"), env!("VIGIL_COMMIT")),
        }
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

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One profile's coalescer. While the queue holds work it picks a backend by the size
/// of what is queued, waits for that backend to have a free slot, and only then fills a
/// batch from the per-client queues by deficit round robin ([`FairQueue`]), so a batch
/// holds what is fairest at the moment a device can take it. Requests arriving while
/// the backend is busy simply queue: under load batches grow to device size by
/// themselves, and an idle appliance dispatches a lone request at once.
async fn coalesce(
    scheduler: std::sync::Weak<Scheduler>,
    profile: Profile,
    queue: Arc<FairQueue<Job>>,
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
            // A configured window: let more requests join before the batch is formed.
            tokio::time::sleep(delay).await;
        }
        let Some(slot) = sched.route(queue.weight().min(max), &[], true) else {
            let error = ServeError::Unavailable("no healthy backend".into());
            for job in queue.drain() {
                sched.enqueued(index, &job.checked, -1);
                answer(job.reply, job.ticket, Err(error.clone()));
            }
            continue;
        };
        let permit = slot.permits.clone().acquire_owned().await.ok();
        let cap = sched.batch_cap(&slot);
        // Credit per visit: small enough that one batch goes round every client queued.
        let quantum = (cap / (queue.clients() + 1)).max(1);
        let mut filling = Filling::new();
        loop {
            // A request larger than a batch goes alone.
            let room = if filling.is_empty() {
                usize::MAX
            } else {
                cap.saturating_sub(filling.signatures)
            };
            let Some(job) = queue.pop(room, quantum) else {
                break;
            };
            sched.enqueued(index, &job.checked, -1);
            filling.push(job);
            if filling.signatures >= cap {
                break;
            }
        }
        if filling.is_empty() {
            continue; // Every request taken was dead; the permit goes back.
        }
        tokio::spawn(run_batch(sched.clone(), profile, slot, permit, filling));
    }
}

fn fail_all(placed: Vec<Placed>, error: &ServeError) {
    for p in placed {
        answer(p.reply, p.ticket, Err(error.clone()));
    }
}

/// Releases a request's admission charge, then answers it: a caller that sees its
/// answer also sees the queue space it held as free.
fn answer(reply: oneshot::Sender<Reply>, ticket: Ticket, result: Reply) {
    drop(ticket);
    let _ = reply.send(result);
}

/// Runs one coalesced batch to completion (re-running it elsewhere if its backend
/// fails) and answers each of its requests.
async fn run_batch(
    sched: Arc<Scheduler>,
    profile: Profile,
    first: Arc<Slot>,
    first_permit: Option<OwnedSemaphorePermit>,
    filling: Filling,
) {
    let Filling {
        builder, placed, ..
    } = filling;
    let batch = Arc::new(builder.finish());
    let metrics = &sched.metrics;
    let dispatched = Instant::now();
    let queue_stage = metrics.stage_seconds.with_label_values(&["queue"]);
    for p in &placed {
        queue_stage.observe((dispatched - p.admitted).as_secs_f64());
    }

    let mut slot = first;
    let mut permit = first_permit;
    let mut tried: Vec<String> = Vec::new();
    let (slot, verdicts) = loop {
        metrics
            .batch_signatures
            .with_label_values(&[&slot.name])
            .observe(batch.signature_count() as f64);
        metrics
            .batch_requests
            .with_label_values(&[&slot.name])
            .observe(placed.len() as f64);
        let in_flight = metrics.backend_in_flight.with_label_values(&[&slot.name]);
        slot.in_flight.fetch_add(1, Ordering::Relaxed);
        in_flight.inc();
        let started = Instant::now();
        let result = slot.backend.verify(batch.clone(), profile).await;
        slot.in_flight.fetch_sub(1, Ordering::Relaxed);
        in_flight.dec();
        drop(permit.take());
        metrics
            .stage_seconds
            .with_label_values(&["verify"])
            .observe(started.elapsed().as_secs_f64());
        let failure = match result {
            Ok(v)
                if v.signature_valid.len() == batch.signature_count()
                    && v.transaction_valid.len() == batch.len() =>
            {
                break (slot, v);
            }
            Ok(v) => {
                let failure = format!(
                    "returned {} signature and {} transaction verdicts for {} and {}",
                    v.signature_valid.len(),
                    v.transaction_valid.len(),
                    batch.signature_count(),
                    batch.len()
                );
                slot.fail(&failure, metrics);
                failure
            }
            Err(e) => {
                slot.refused_or_failed(&e, metrics);
                e.to_string()
            }
        };
        tried.push(slot.name.clone());
        let Some(next) = sched.route(batch.signature_count(), &tried, true) else {
            tracing::error!(
                batch = batch.len(),
                "no backend left to re-run a failed batch"
            );
            let error = ServeError::Unavailable(format!(
                "backend {} failed ({failure}) and no other backend is healthy",
                slot.name
            ));
            fail_all(placed, &error);
            return;
        };
        metrics
            .fallbacks
            .with_label_values(&[&slot.name, &next.name])
            .inc();
        tracing::warn!(from = %slot.name, to = %next.name, "re-running a failed batch");
        permit = next.permits.clone().acquire_owned().await.ok();
        slot = next;
    };

    count_verdicts(metrics, &slot.name, profile, &batch, &verdicts);
    let total_stage = metrics.stage_seconds.with_label_values(&["total"]);
    for p in placed {
        let root = if p.want_root {
            Some(job_root(&slot, &batch, p.txs.clone()).await)
        } else {
            None
        };
        let reply = root
            .transpose()
            .map(|root| convert::response_for(p.id, &batch, &verdicts, p.txs, &slot.name, root));
        total_stage.observe(p.admitted.elapsed().as_secs_f64());
        answer(p.reply, p.ticket, reply);
    }
}

/// The Merkle root over one request's transactions (its share of the batch's leaves).
async fn job_root(slot: &Slot, batch: &Batch, txs: Range<usize>) -> Result<[u8; 32], ServeError> {
    let all = batch.leaves();
    let bytes = txs.clone().map(|t| all.get(t).len()).sum();
    let mut leaves = Leaves::with_capacity(txs.len(), bytes);
    for t in txs {
        leaves
            .push(all.get(t))
            .map_err(|e| ServeError::Internal(format!("leaf copy: {e}")))?;
    }
    let leaves = Arc::new(leaves);
    match slot.backend.merkle_root(leaves.clone()).await {
        Ok(root) => Ok(root),
        // The verdicts are in hand; do not lose them over a root: the host computes it.
        Err(e) => {
            tracing::warn!(backend = %slot.name, error = %e, "Merkle root failed; computed on the host");
            Ok(merkle::root(&leaves))
        }
    }
}

fn count_verdicts(metrics: &Metrics, backend: &str, profile: Profile, batch: &Batch, v: &Verdicts) {
    let p = profile.name();
    let valid_sigs = v.signature_valid.iter().filter(|&&x| x).count();
    let malformed = (0..batch.len())
        .filter(|&t| batch.error(t).is_some())
        .count();
    let valid_txs = v.transaction_valid.iter().filter(|&&x| x).count();
    let sig = |r| metrics.signatures.with_label_values(&[backend, p, r]);
    sig("valid").inc_by(valid_sigs as u64);
    sig("invalid").inc_by((v.signature_valid.len() - valid_sigs) as u64);
    let tx = |r| metrics.transactions.with_label_values(&[backend, p, r]);
    tx("valid").inc_by(valid_txs as u64);
    tx("malformed").inc_by(malformed as u64);
    tx("invalid").inc_by((batch.len() - valid_txs - malformed) as u64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_core::cpu::CpuBackend;
    use vigil_core::{BackendError, BackendInfo, Pending};

    /// An accelerator that fails every batch, as a device that fell off the bus would.
    struct Broken;

    impl Backend for Broken {
        fn info(&self) -> BackendInfo {
            BackendInfo {
                name: "broken-gpu".into(),
                devices: vec!["test device".into()],
                preferred_batch: 1,
            }
        }
        fn verify(&self, _batch: Arc<Batch>, _profile: Profile) -> Pending<Verdicts> {
            Pending::ready(Err(BackendError::DeviceFailed {
                device: "test device".into(),
                reason: "fell off the bus".into(),
            }))
        }
        fn merkle_root(&self, _leaves: Arc<Leaves>) -> Pending<[u8; 32]> {
            Pending::ready(Err(BackendError::Dropped("gone".into())))
        }
    }

    fn config() -> SchedulerConfig {
        SchedulerConfig {
            capacity_signatures: 100_000,
            capacity_bytes: 64 << 20,
            max_batch_signatures: 4096,
            coalesce_delay: Duration::from_micros(100),
            small_batch_signatures: 8,
            max_in_flight_batches: 2,
            max_request_transactions: 65_536,
            max_proofs: 4_096,
            max_response_bytes: 16 << 20,
        }
    }

    fn request(id: u64, count: usize) -> VerifyRequest {
        let spec = vigil_core::synth::SynthSpec {
            count,
            profile: Profile::Strict,
            invalid_fraction: 0.25,
            msg_len: 0..=100,
            signers: 1,
            format: vigil_core::synth::Format::Jsonl,
            seed: id,
        };
        let batch = vigil_core::synth::batch(&spec).unwrap();
        convert::request_from_batch(id, Profile::Strict, &batch, false)
    }

    fn oracle(req: &VerifyRequest) -> Vec<bool> {
        let mut b = BatchBuilder::default();
        convert::push_request(&mut b, req, &mut Vec::new()).unwrap();
        Verdicts::reference(&b.finish(), Profile::Strict).signature_valid
    }

    /// Submits every request, then awaits every reply, in order.
    async fn submit_all(sched: &Arc<Scheduler>, reqs: &[VerifyRequest]) -> Vec<Reply> {
        let client: ClientKey = Arc::from("t");
        let receivers: Vec<_> = reqs
            .iter()
            .map(|r| sched.submit(&client, r.clone(), None).unwrap())
            .collect();
        let mut replies = Vec::new();
        for rx in receivers {
            replies.push(rx.await.unwrap());
        }
        replies
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_device_batch_is_rerun_on_the_cpu_and_nothing_is_lost() {
        let metrics = Arc::new(Metrics::new().unwrap());
        let sched = Scheduler::start(config(), metrics.clone());
        let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::new(Some(2)).unwrap());
        sched.set_backends(vec![Arc::new(Broken), cpu]);
        // Several requests large enough to be routed to the accelerator first.
        let reqs: Vec<VerifyRequest> = (0..4).map(|i| request(i, 40)).collect();
        for (req, reply) in reqs.iter().zip(submit_all(&sched, &reqs).await) {
            let resp = reply.unwrap();
            assert_eq!(resp.backend, "cpu");
            assert_eq!(resp.signature_valid, oracle(req));
        }
        assert!(metrics
            .render()
            .contains("vigil_backend_fallbacks_total{from=\"broken-gpu\",to=\"cpu\"}"));
        let devices = sched.devices();
        let broken = &devices.backends[0];
        assert!(!broken.healthy);
        assert!(broken.health_detail.contains("fell off the bus"));
        assert!(sched.serving());
    }

    /// Two devices behind one backend: the first batch finds one failing (it leaves
    /// service), the other serves everything after (computed by the CPU verifier).
    struct OneOfTwoFails {
        cpu: CpuBackend,
        failed_once: std::sync::atomic::AtomicBool,
    }

    impl Backend for OneOfTwoFails {
        fn info(&self) -> BackendInfo {
            BackendInfo {
                name: "two-cards".into(),
                devices: vec!["card 0".into(), "card 1".into()],
                preferred_batch: 1,
            }
        }
        fn verify(&self, batch: Arc<Batch>, profile: Profile) -> Pending<Verdicts> {
            if self.failed_once.swap(true, Ordering::SeqCst) {
                self.cpu.verify(batch, profile)
            } else {
                Pending::ready(Err(BackendError::DeviceFailed {
                    device: "card 0".into(),
                    reason: "no response".into(),
                }))
            }
        }
        fn merkle_root(&self, leaves: Arc<Leaves>) -> Pending<[u8; 32]> {
            self.cpu.merkle_root(leaves)
        }
        fn devices_in_service(&self) -> Option<usize> {
            Some(if self.failed_once.load(Ordering::SeqCst) {
                1
            } else {
                2
            })
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_backend_with_devices_left_stays_in_service_after_one_fails() {
        let metrics = Arc::new(Metrics::new().unwrap());
        let sched = Scheduler::start(config(), metrics.clone());
        let cards = Arc::new(OneOfTwoFails {
            cpu: CpuBackend::new(Some(1)).unwrap(),
            failed_once: false.into(),
        });
        let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::new(Some(2)).unwrap());
        sched.set_backends(vec![cards, cpu]);
        let first = request(1, 40);
        let reply = submit_all(&sched, std::slice::from_ref(&first)).await;
        let resp = reply.into_iter().next().unwrap().unwrap();
        assert_eq!(resp.backend, "cpu", "the failed batch is re-run on the CPU");
        assert_eq!(resp.signature_valid, oracle(&first));
        // Later batches go to the backend's remaining device.
        let reqs: Vec<VerifyRequest> = (2..5).map(|i| request(i, 40)).collect();
        for (req, reply) in reqs.iter().zip(submit_all(&sched, &reqs).await) {
            let resp = reply.unwrap();
            assert_eq!(resp.backend, "two-cards");
            assert_eq!(resp.signature_valid, oracle(req));
        }
        let devices = sched.devices();
        assert!(devices.backends[0].healthy);
        let text = metrics.render();
        assert!(
            text.contains("vigil_device_failures_total{backend=\"two-cards\"} 1"),
            "{text}"
        );
        // Broken (no device count) is still taken out at its first failure.
        let sched = Scheduler::start(config(), Arc::new(Metrics::new().unwrap()));
        let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::new(Some(2)).unwrap());
        sched.set_backends(vec![Arc::new(Broken), cpu]);
        submit_all(&sched, &[request(9, 40)]).await[0]
            .as_ref()
            .unwrap();
        assert!(!sched.devices().backends[0].healthy);
    }

    /// An accelerator whose buffers hold 50 signatures: larger batches do not fit it
    /// (`Unfit`, as `slots` reports a batch over a device's biggest allocation).
    struct SmallGpu {
        cpu: CpuBackend,
    }

    impl Backend for SmallGpu {
        fn info(&self) -> BackendInfo {
            BackendInfo {
                name: "small-gpu".into(),
                devices: vec!["test device".into()],
                preferred_batch: 1,
            }
        }
        fn verify(&self, batch: Arc<Batch>, profile: Profile) -> Pending<Verdicts> {
            if batch.signature_count() > 50 {
                Pending::ready(Err(BackendError::Unfit {
                    backend: "small-gpu".into(),
                    reason: "larger than the device's biggest buffer".into(),
                }))
            } else {
                self.cpu.verify(batch, profile)
            }
        }
        fn merkle_root(&self, leaves: Arc<Leaves>) -> Pending<[u8; 32]> {
            self.cpu.merkle_root(leaves)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_that_does_not_fit_goes_elsewhere_and_the_backend_stays() {
        let metrics = Arc::new(Metrics::new().unwrap());
        let sched = Scheduler::start(config(), metrics.clone());
        let gpu = Arc::new(SmallGpu {
            cpu: CpuBackend::new(Some(1)).unwrap(),
        });
        let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::new(Some(2)).unwrap());
        sched.set_backends(vec![gpu, cpu]);
        let big = request(1, 100);
        let resp = submit_all(&sched, std::slice::from_ref(&big)).await;
        let resp = resp.into_iter().next().unwrap().unwrap();
        assert_eq!(resp.backend, "cpu", "the unfit batch is re-run on the CPU");
        assert_eq!(resp.signature_valid, oracle(&big));
        assert!(
            sched.devices().backends[0].healthy,
            "not fitting is not failing"
        );
        // The next batch that fits goes to it again.
        let small = request(2, 20);
        let resp = submit_all(&sched, std::slice::from_ref(&small)).await;
        let resp = resp.into_iter().next().unwrap().unwrap();
        assert_eq!(resp.backend, "small-gpu");
        assert_eq!(resp.signature_valid, oracle(&small));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn with_every_backend_failed_requests_get_unavailable() {
        let metrics = Arc::new(Metrics::new().unwrap());
        let sched = Scheduler::start(config(), metrics);
        let client: ClientKey = Arc::from("t");
        // Before any backend is installed: starting.
        let err = sched.submit(&client, request(1, 4), None).unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unavailable);
        sched.set_backends(vec![Arc::new(Broken)]);
        let rx = sched.submit(&client, request(2, 40), None).unwrap();
        let err = rx.await.unwrap().unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unavailable);
        assert!(!sched.serving());
        let err = sched.submit(&client, request(3, 4), None).unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unavailable);
        // Admission was released: nothing is held by failed work.
        assert_eq!(sched.admission.used(), (0, 0));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn small_requests_are_coalesced_and_split_back() {
        let metrics = Arc::new(Metrics::new().unwrap());
        let mut cfg = config();
        cfg.coalesce_delay = Duration::from_millis(50);
        let sched = Scheduler::start(cfg, metrics.clone());
        let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::new(Some(2)).unwrap());
        sched.set_backends(vec![cpu]);
        let reqs: Vec<VerifyRequest> = (0..20u64)
            .map(|i| request(i, 1 + (i % 5) as usize))
            .collect();
        for (req, reply) in reqs.iter().zip(submit_all(&sched, &reqs).await) {
            let resp = reply.unwrap();
            assert_eq!(resp.id, req.id);
            assert_eq!(resp.signature_valid, oracle(req));
            assert_eq!(resp.valid.len(), req.transactions.len());
        }
        // 20 requests within one 50 ms window make far fewer than 20 batches.
        let batches = metrics
            .batch_requests
            .with_label_values(&["cpu"])
            .get_sample_count();
        assert!(batches < 10, "{batches} batches for 20 small requests");
        assert_eq!(sched.admission.used(), (0, 0));
    }

    /// A backend that serves Merkle roots only (as the FPGA card does before its
    /// Ed25519 engine); it counts `verify` calls, and can refuse roots as work it cannot
    /// take (`Unavailable`), as the card does for a leaf over its limit.
    struct MerkleOnly {
        verify_calls: std::sync::atomic::AtomicUsize,
        refuse: bool,
    }

    impl Backend for MerkleOnly {
        fn info(&self) -> BackendInfo {
            BackendInfo {
                name: "merkle-only".into(),
                devices: vec!["test card".into()],
                preferred_batch: 1,
            }
        }
        fn verify(&self, _batch: Arc<Batch>, _profile: Profile) -> Pending<Verdicts> {
            self.verify_calls.fetch_add(1, Ordering::SeqCst);
            Pending::ready(Err(BackendError::Unavailable {
                backend: "merkle-only".into(),
                reason: "no signature engine".into(),
            }))
        }
        fn merkle_root(&self, leaves: Arc<Leaves>) -> Pending<[u8; 32]> {
            Pending::ready(if self.refuse {
                Err(BackendError::Unavailable {
                    backend: "merkle-only".into(),
                    reason: "leaf over the card's limit".into(),
                })
            } else {
                Ok(merkle::root(&leaves))
            })
        }
        fn verifies(&self) -> bool {
            false
        }
    }

    fn merkle_request(n: u8) -> MerkleRequest {
        MerkleRequest {
            leaves: (0..n)
                .map(|i| bytes::Bytes::from(vec![i; usize::from(i)]))
                .collect(),
            proof_indices: Vec::new(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn signatures_never_go_to_a_backend_that_does_not_verify() {
        let metrics = Arc::new(Metrics::new().unwrap());
        let sched = Scheduler::start(config(), metrics);
        let card = Arc::new(MerkleOnly {
            verify_calls: std::sync::atomic::AtomicUsize::new(0),
            refuse: false,
        });
        let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::new(Some(2)).unwrap());
        sched.set_backends(vec![card.clone(), cpu]);
        // Large enough to be routed to an accelerator: they must still go to the CPU.
        let reqs: Vec<VerifyRequest> = (0..3).map(|i| request(i, 40)).collect();
        for (req, reply) in reqs.iter().zip(submit_all(&sched, &reqs).await) {
            let resp = reply.unwrap();
            assert_eq!(resp.backend, "cpu");
            assert_eq!(resp.signature_valid, oracle(req));
        }
        assert_eq!(card.verify_calls.load(Ordering::SeqCst), 0);
        // Merkle roots do go to it.
        let client: ClientKey = Arc::from("t");
        let req = merkle_request(40);
        let leaves: Leaves = req.leaves.iter().map(|l| l.to_vec()).collect();
        let resp = sched.merkle(&client, req).await.unwrap();
        assert_eq!(resp.backend, "merkle-only");
        assert_eq!(resp.root.as_ref(), merkle::root(&leaves).as_slice());
        assert!(sched.devices().backends.iter().all(|b| b.healthy));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_root_the_backend_cannot_take_goes_elsewhere_and_the_backend_stays() {
        let metrics = Arc::new(Metrics::new().unwrap());
        let sched = Scheduler::start(config(), metrics);
        let card = Arc::new(MerkleOnly {
            verify_calls: std::sync::atomic::AtomicUsize::new(0),
            refuse: true,
        });
        let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::new(Some(2)).unwrap());
        sched.set_backends(vec![card, cpu]);
        let client: ClientKey = Arc::from("t");
        let req = merkle_request(40);
        let leaves: Leaves = req.leaves.iter().map(|l| l.to_vec()).collect();
        let resp = sched.merkle(&client, req).await.unwrap();
        assert_eq!(resp.backend, "cpu");
        assert_eq!(resp.root.as_ref(), merkle::root(&leaves).as_slice());
        let devices = sched.devices();
        assert!(
            devices.backends[0].healthy,
            "refusing work is not a failure"
        );
    }
}
