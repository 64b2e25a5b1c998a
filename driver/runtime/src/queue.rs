//! The one trait a device backend implements: enqueue, wait, read back.
//!
//! Everything a device has in common with every other device (a worker thread, slots
//! in flight, failure handling, pools, the roster) lives in this crate; what differs
//! (how buffers are allocated, how commands are queued, how completion is awaited) is
//! behind [`DeviceQueue`]. A GPU API queues asynchronous commands per slot and returns
//! an event; a device that computes synchronously (the FPGA card, whose requests are
//! pipelined inside the card layer) does the whole work in `enqueue_*`, keeps the
//! result, and has nothing left to wait for.

use vigil_core::{Batch, Leaves, Profile};

/// Why work was not enqueued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal<E> {
    /// The work does not fit this device (larger than its biggest buffer, a message
    /// longer than its kernel or engine takes); the device is fine and stays in
    /// service, and the scheduler sends the work to another backend.
    #[error("{0}")]
    Unfit(String),
    /// The device failed; it is taken out of service.
    #[error(transparent)]
    Failed(E),
}

/// One device's command machinery, driven by the shared worker ([`crate::Device`]).
///
/// The worker calls these methods from its own thread only, one at a time, so an
/// implementation needs no locking of its own. Per slot the order is always
/// `enqueue_*`, then `wait` for what it returned, then `verdicts` or `root`, and the
/// slot is not enqueued again before that.
pub trait DeviceQueue: Send + 'static {
    /// What `enqueue_*` returns for the slot's last command (an event), to wait on.
    type Done: Send;
    /// The driver's own error (an OpenCL status, a CUDA driver error, a card error).
    type Error: std::error::Error + Send + Sync + 'static;

    /// How many slots (batches in flight) the device has; at least one is used.
    fn slots(&self) -> usize;

    /// Whether the device verifies signatures. A device that computes Merkle roots
    /// only (an FPGA card built without its Ed25519 engine) says `false`: a pool sends
    /// it no signatures and the self-test checks its roots alone.
    fn verifies(&self) -> bool {
        true
    }

    /// Known answers of the device's own, beyond what the shared self-test can reach
    /// through the [`vigil_core::Backend`] interface (for the card: its MERKLE_NODES
    /// request and its profile codes). Runs once, on the opening thread, before the
    /// worker starts; `Err` says why the device is not used.
    fn check(&mut self) -> Result<(), String> {
        Ok(())
    }

    /// Enqueues verification of `batch` (at least one signature) into `slot`, without
    /// waiting. The batch stays alive until [`DeviceQueue::wait`] returns for it.
    fn enqueue_verify(
        &mut self,
        slot: usize,
        batch: &Batch,
        profile: Profile,
    ) -> Result<Self::Done, Refusal<Self::Error>>;

    /// Enqueues the Merkle root of `leaves` (at least one) into `slot`, without waiting.
    fn enqueue_merkle(
        &mut self,
        slot: usize,
        leaves: &Leaves,
    ) -> Result<Self::Done, Refusal<Self::Error>>;

    /// Waits until `slot`'s work is complete and its results are in host memory.
    fn wait(&mut self, slot: usize, done: Self::Done) -> Result<(), Self::Error>;

    /// The verdict bytes (1 valid, 0 invalid) of `slot`'s completed verification, one
    /// per signature. Any other byte, or a count unlike the batch's, is a device fault.
    fn verdicts(&self, slot: usize) -> &[u8];

    /// The root of `slot`'s completed Merkle work, as eight little-endian words; `None`
    /// if it cannot be read back (a device fault).
    fn root(&self, slot: usize) -> Option<[u32; 8]>;
}
