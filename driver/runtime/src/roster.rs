//! How a backend opens its devices: every device found, self-tested, with its status.
//!
//! A backend walks the devices it finds and hands each to the [`Roster`]: one it does
//! not use ([`Roster::refuse`], with why), or one whose start was attempted
//! ([`Roster::admit`]). A started device runs the known-answer self-test through the
//! [`Backend`] interface, exactly as work will reach it, and goes into service only if
//! it passes; [`Roster::finish`] makes the [`Pool`] of those in service. Every device
//! found keeps its status (in service, or why not, or taken out of service since) for
//! `vigil devices`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use vigil_core::BackendError;

use crate::device::Device;
use crate::pool::Pool;

/// A device a backend found, and whether it is in use or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceStatus<S> {
    /// What it is.
    pub summary: S,
    /// `Ok(note)` if in service, `Err(why not)` otherwise.
    pub status: Result<String, String>,
}

/// Every device a backend found and what became of it, built while the backend opens
/// its devices; [`Roster::finish`] turns it into the [`Pool`] of those in service.
#[derive(Debug)]
pub struct Roster<S> {
    /// Each device found, with its place in `devices` if it went into service.
    found: Vec<(DeviceStatus<S>, Option<usize>)>,
    devices: Vec<Arc<Device>>,
    /// Devices whose start or self-test failed (not those refused by choice).
    failed: usize,
}

impl<S> Default for Roster<S> {
    fn default() -> Self {
        Roster {
            found: Vec::new(),
            devices: Vec::new(),
            failed: 0,
        }
    }
}

impl<S: Clone + std::fmt::Display> Roster<S> {
    /// Records a device that is not put in service, and why (a choice, such as a device
    /// kind the backend does not use, or a device that could not start).
    pub fn refuse(&mut self, summary: S, why: String) {
        tracing::debug!(device = %summary, %why, "device not used");
        self.found.push((
            DeviceStatus {
                summary,
                status: Err(why),
            },
            None,
        ));
    }

    /// Takes a device whose start was attempted: `started` is the running device and a
    /// note on how it started, or why it could not. A started device runs the
    /// known-answer self-test ([`vigil_core::conformance::self_test`]: roots alone for a
    /// device that does not verify) and is put in service only if it passes.
    pub fn admit(&mut self, summary: S, started: Result<(Device, String), String>) {
        let tested = started.and_then(|(device, note)| {
            vigil_core::conformance::self_test(&device)
                .map(|()| (device, format!("self-test passed; {note}")))
                .map_err(|e| format!("failed its self-test: {e}"))
        });
        match tested {
            Ok((device, note)) => {
                tracing::info!(device = %summary, %note, "device in service");
                self.found.push((
                    DeviceStatus {
                        summary,
                        status: Ok(note),
                    },
                    Some(self.devices.len()),
                ));
                self.devices.push(Arc::new(device));
            }
            Err(why) => {
                tracing::warn!(device = %summary, %why, "device not used");
                self.failed += 1;
                self.refuse(summary, why);
            }
        }
    }

    /// The devices in service as one [`Pool`] named `backend`, with the roster kept for
    /// [`Opened::devices`]; `Unavailable` naming every device's reason if none passed.
    /// `kind` names a device in that message (`OpenCL device`, `GPU`, `card`).
    pub fn finish(
        self,
        backend: &str,
        kind: &str,
        preferred_batch: usize,
    ) -> Result<Opened<S>, BackendError> {
        record_start_failures(backend, self.failed);
        if self.devices.is_empty() {
            let why: Vec<String> = self
                .found
                .iter()
                .map(|(d, _)| {
                    let reason = d.status.as_ref().err().map_or("", String::as_str);
                    format!("{}: {reason}", d.summary)
                })
                .collect();
            return Err(BackendError::Unavailable {
                backend: backend.to_owned(),
                reason: format!("no usable {kind} ({})", why.join("; ")),
            });
        }
        Ok(Opened {
            pool: Pool::new(backend, preferred_batch, self.devices),
            found: self.found,
        })
    }
}

/// A backend's devices once opened: the [`Pool`] of those in service and the status
/// of every device found.
#[derive(Debug)]
pub struct Opened<S> {
    pool: Pool,
    found: Vec<(DeviceStatus<S>, Option<usize>)>,
}

impl<S: Clone> Opened<S> {
    /// Every device found, with whether it is in service and why not (a device taken
    /// out of service since opening says so).
    pub fn devices(&self) -> Vec<DeviceStatus<S>> {
        self.found
            .iter()
            .map(|(d, index)| {
                let taken_out = index
                    .and_then(|i| self.pool.devices().get(i))
                    .and_then(|dev| dev.fault());
                match taken_out {
                    Some(why) => DeviceStatus {
                        summary: d.summary.clone(),
                        status: Err(format!("taken out of service: {why}")),
                    },
                    None => d.clone(),
                }
            })
            .collect()
    }

    /// The devices in service (or taken out of service since opening).
    pub fn in_service(&self) -> &[Arc<Device>] {
        self.pool.devices()
    }

    /// The pool of devices in service: the backend itself.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}

/// Devices whose start or known-answer self-test failed, by backend, since the process
/// began. Kept process-wide rather than on the backend because a backend none of whose
/// devices passed never comes into being (`auto` then quietly moves on to the next
/// family, down to the CPU), and that is the case an operator most needs to hear of.
static START_FAILURES: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());

fn record_start_failures(backend: &str, failed: usize) {
    let mut map = START_FAILURES
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let count = map.entry(backend.to_owned()).or_insert(0);
    *count = count.saturating_add(failed);
}

/// Every backend that has opened (or tried to) in this process, with how many of its
/// devices failed to start or failed their self-test: for metrics and alerts.
pub fn start_failures() -> Vec<(String, usize)> {
    START_FAILURES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|(name, &n)| (name.clone(), n))
        .collect()
}
