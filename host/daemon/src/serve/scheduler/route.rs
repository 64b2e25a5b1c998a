//! Which backend takes work, and what a backend's error does to it.
//!
//! Routing and health are one concern: a batch goes to the first healthy backend that
//! suits its size (small batches to the CPU, larger ones to an accelerator), and a
//! backend that fails is taken out so that the batch, re-run, and later work go
//! elsewhere. Not every error is a failure, though: work a backend cannot take (a batch
//! over a device's largest buffer, a leaf over a card's limit, signatures for a card
//! without a signature engine) goes elsewhere and leaves it in service, and so does a
//! failed device of a backend that still has others in service.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;
use vigil_core::{Backend, BackendError};

use super::super::metrics::Metrics;
use super::{gauge, Scheduler};

/// A backend as the scheduler sees it.
pub(super) struct Slot {
    pub(super) backend: Arc<dyn Backend>,
    pub(super) name: String,
    pub(super) devices: Vec<String>,
    pub(super) preferred_batch: usize,
    pub(super) is_cpu: bool,
    /// Serves signatures (not only Merkle roots).
    verifies: bool,
    healthy: AtomicBool,
    detail: Mutex<String>,
    /// Free in-flight slots: a batch is filled only once it holds one.
    pub(super) permits: Arc<Semaphore>,
    pub(super) in_flight: AtomicUsize,
}

impl Slot {
    /// A healthy slot for `backend`, taking at most `in_flight` batches at a time.
    pub(super) fn new(backend: Arc<dyn Backend>, in_flight: usize, metrics: &Metrics) -> Slot {
        let info = backend.info();
        metrics
            .backend_healthy
            .with_label_values(&[&info.name])
            .set(1);
        if let Some(n) = backend.devices_in_service() {
            metrics
                .devices_in_service
                .with_label_values(&[&info.name])
                .set(gauge(n));
        }
        Slot {
            is_cpu: info.name == "cpu",
            verifies: backend.verifies(),
            name: info.name,
            devices: info.devices,
            preferred_batch: info.preferred_batch,
            backend,
            healthy: AtomicBool::new(true),
            detail: Mutex::new(String::new()),
            permits: Arc::new(Semaphore::new(in_flight)),
            in_flight: AtomicUsize::new(0),
        }
    }

    pub(super) fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// Why it was taken out of service (empty while it is healthy).
    pub(super) fn detail(&self) -> String {
        self.detail
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Settles an error this backend returned for some work: work it cannot take
    /// (`Unfit`: a batch over a device's largest buffer; `Unavailable`: a leaf over a
    /// card's limit, signatures for a card without a
    /// signature engine) goes elsewhere and leaves it in service; a device failure in a
    /// backend that still has other devices in service (one card of several, one GPU of
    /// a pool) leaves it in service too, the failed device having taken itself out; any
    /// other error takes it out. Either way the work is re-run elsewhere.
    pub(super) fn refused_or_failed(&self, error: &BackendError, metrics: &Metrics) {
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
                metrics
                    .devices_in_service
                    .with_label_values(&[&self.name])
                    .set(gauge(left));
            }
            _ => self.fail(&error.to_string(), metrics),
        }
    }

    /// Takes it out of service for `reason`.
    pub(super) fn fail(&self, reason: &str, metrics: &Metrics) {
        tracing::error!(backend = %self.name, %reason, "backend taken out of service");
        self.healthy.store(false, Ordering::Release);
        *self.detail.lock().unwrap_or_else(|p| p.into_inner()) = reason.to_string();
        metrics
            .backend_healthy
            .with_label_values(&[&self.name])
            .set(0);
        if self.backend.devices_in_service().is_some() {
            metrics
                .devices_in_service
                .with_label_values(&[&self.name])
                .set(0);
        }
    }
}

impl Scheduler {
    /// The first healthy backend for a batch of `signatures` (or of Merkle leaves, with
    /// `verify` false): the CPU for small ones, else the first accelerator, else whatever
    /// is healthy. Signatures go only to backends that verify.
    pub(super) fn route(
        &self,
        signatures: usize,
        exclude: &[String],
        verify: bool,
    ) -> Option<Arc<Slot>> {
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
    pub(super) fn batch_cap(&self, slot: &Slot) -> usize {
        let max = self.config.max_batch_signatures.max(1);
        if slot.is_cpu {
            max.min(slot.preferred_batch.saturating_mul(8).max(1))
        } else {
            max
        }
    }
}
