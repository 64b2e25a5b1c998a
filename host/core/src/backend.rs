//! The contract every verifier implements, CPU or device.
//!
//! A backend accepts work and hands back a [`Pending`] at once: the result arrives when
//! the work completes. This is what lets a device backend keep several batches in
//! flight (copy in, compute, copy out overlapped) while the scheduler awaits many
//! [`Pending`]s on an async runtime without blocking a runtime thread; command-line
//! callers simply [`Pending::wait`]. Batches are shared as `Arc` because the backend
//! holds them while they are in flight, and a device copies their flat buffers as-is.
//!
//! One place chooses among backends (the daemon's registry); everything above the trait
//! is backend-agnostic.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::channel::oneshot;

use crate::batch::{Batch, Leaves, Verdicts};
use crate::profile::Profile;

/// Why a backend could not produce a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The backend cannot be used on this machine (driver missing, no device, ...).
    #[error("backend {backend} unavailable: {reason}")]
    Unavailable {
        /// Backend name.
        backend: String,
        /// Why, in words an operator can act on.
        reason: String,
    },
    /// This work does not fit this backend (a batch larger than its biggest buffer, a
    /// message longer than its kernel takes); the backend is fine and stays in service,
    /// and the work goes to another backend.
    #[error("backend {backend} cannot take this work: {reason}")]
    Unfit {
        /// The backend (or its device) that refused it.
        backend: String,
        /// Why, in words.
        reason: String,
    },
    /// A device failed while it held the work; the work may be re-run elsewhere.
    #[error("device {device} failed: {reason}")]
    DeviceFailed {
        /// Device name.
        device: String,
        /// What went wrong.
        reason: String,
    },
    /// The backend gave up on the work without a result (shut down, worker lost).
    #[error("work was dropped before completion: {0}")]
    Dropped(String),
    /// The backend broke its own contract (a bug): wrong verdict count and the like.
    #[error("backend internal error: {0}")]
    Internal(String),
}

/// What a backend is, for logs, `vigil devices` and scheduling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendInfo {
    /// Short name used on the command line (`cpu`, `cuda`, ...).
    pub name: String,
    /// The devices it drives, in words (`2 threads, AVX2`, a GPU model, ...).
    pub devices: Vec<String>,
    /// Batch size (signatures) at which it reaches its throughput.
    pub preferred_batch: usize,
}

/// The result of submitted work, available later. Await it, or [`Pending::wait`].
#[derive(Debug)]
#[must_use = "the result is lost unless it is awaited"]
pub struct Pending<T> {
    rx: oneshot::Receiver<Result<T, BackendError>>,
}

/// The completing side of a [`Pending`], held by whoever does the work.
#[derive(Debug)]
pub struct Completer<T> {
    tx: oneshot::Sender<Result<T, BackendError>>,
}

impl<T> Pending<T> {
    /// A connected (completer, pending) pair.
    pub fn channel() -> (Completer<T>, Pending<T>) {
        let (tx, rx) = oneshot::channel();
        (Completer { tx }, Pending { rx })
    }

    /// A result that is already known.
    pub fn ready(result: Result<T, BackendError>) -> Pending<T> {
        let (done, pending) = Self::channel();
        done.complete(result);
        pending
    }

    /// Blocks the calling thread until the result arrives. Not for async contexts.
    pub fn wait(self) -> Result<T, BackendError> {
        futures::executor::block_on(self)
    }
}

impl<T> Completer<T> {
    /// Delivers the result. If the receiver is gone, the result is discarded.
    pub fn complete(self, result: Result<T, BackendError>) {
        // An abandoned receiver means nobody wants the result any more.
        let _ = self.tx.send(result);
    }
}

impl<T> Future for Pending<T> {
    type Output = Result<T, BackendError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx).poll(cx).map(|r| {
            r.unwrap_or_else(|_| {
                Err(BackendError::Dropped(
                    "the backend dropped the work without answering".into(),
                ))
            })
        })
    }
}

/// A verifier of signatures and builder of Merkle roots.
///
/// Implementations must give exactly [`crate::profile::reference_verify`]'s verdict for
/// every signature under every profile (checked by [`crate::conformance`]) and exactly
/// [`crate::merkle::root`]'s root.
pub trait Backend: Send + Sync {
    /// What this backend is.
    fn info(&self) -> BackendInfo;

    /// Verifies every signature of `batch` under `profile`. Malformed transactions have
    /// no signatures and come back invalid.
    fn verify(&self, batch: Arc<Batch>, profile: Profile) -> Pending<Verdicts>;

    /// The vigil-merkle-v1 root of `leaves`.
    fn merkle_root(&self, leaves: Arc<Leaves>) -> Pending<[u8; 32]>;

    /// Whether [`Backend::verify`] is served here. A backend that computes Merkle roots
    /// only (the FPGA card before it has an Ed25519 engine) says `false`, and schedulers
    /// send it no signatures: its `verify` answers `Unavailable`.
    fn verifies(&self) -> bool {
        true
    }

    /// Time the backend's devices have spent computing (kernels alone, no copies) since
    /// it opened, summed over its devices, where it can measure that. Benchmarks read it
    /// before and after a run to report the compute rate beside the end-to-end rate.
    fn kernel_time(&self) -> Option<std::time::Duration> {
        None
    }

    /// For a backend over several devices (a pool of GPUs, several FPGA cards), how many
    /// are still in service; `None` for one that does not count devices. After a
    /// [`BackendError::DeviceFailed`], a scheduler keeps a backend that still has devices
    /// in service (the failed device took itself out; the failed work is re-run
    /// elsewhere) and takes any other out of service.
    fn devices_in_service(&self) -> Option<usize> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_delivers_and_reports_drop() {
        assert_eq!(Pending::ready(Ok(7)).wait(), Ok(7));
        let (done, pending) = Pending::<u8>::channel();
        drop(done);
        assert!(matches!(pending.wait(), Err(BackendError::Dropped(_))));
        let (done, pending) = Pending::<u8>::channel();
        std::thread::spawn(move || done.complete(Ok(3)));
        assert_eq!(pending.wait(), Ok(3));
    }
}
