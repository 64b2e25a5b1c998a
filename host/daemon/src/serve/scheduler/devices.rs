//! The Devices listing: the scheduler's backends and queues, as the Devices RPC shows
//! them.
//!
//! Kept apart because it only reads: every backend in order of preference, with its
//! devices, health and batches in flight, and every profile's queue depth, each number
//! loaded as it is reached, without stopping the coalescers. The service adds what is
//! not the scheduler's (the build's version) when it answers (`super::super::wire`).

use std::sync::atomic::Ordering;

use vigil_core::Profile;

use super::{profile_index, Scheduler};

/// The scheduler's backends and queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Devices {
    /// Every backend installed, in order of preference (none while starting).
    pub backends: Vec<BackendStatus>,
    /// Every profile's queue, in the order of [`Profile::ALL`].
    pub queues: Vec<QueueDepth>,
    /// The admission budget in signatures (all profiles together).
    pub queue_capacity_signatures: usize,
}

/// One backend as the scheduler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendStatus {
    /// Its name (`cpu`, `cuda`, ...).
    pub name: String,
    /// Its devices' names.
    pub devices: Vec<String>,
    /// Whether it is in service.
    pub healthy: bool,
    /// Why it was taken out of service (empty while healthy).
    pub health_detail: String,
    /// Batches handed to it and not yet answered.
    pub in_flight_batches: usize,
    /// The batch size it works best with, in signatures.
    pub preferred_batch: usize,
}

/// What one profile's queue holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueDepth {
    /// The profile.
    pub profile: Profile,
    /// Jobs queued.
    pub requests: usize,
    /// Their transactions.
    pub transactions: usize,
    /// Their signatures.
    pub signatures: usize,
}

impl Scheduler {
    /// Backends, health and queue depths.
    pub fn devices(&self) -> Devices {
        let backends = self
            .slots
            .get()
            .map(|slots| {
                slots
                    .iter()
                    .map(|s| BackendStatus {
                        name: s.name.clone(),
                        devices: s.devices.clone(),
                        healthy: s.healthy(),
                        health_detail: s.detail(),
                        in_flight_batches: s.in_flight.load(Ordering::Relaxed),
                        preferred_batch: s.preferred_batch,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let queues = Profile::ALL
            .into_iter()
            .map(|profile| {
                let d = &self.depth[profile_index(profile)];
                QueueDepth {
                    profile,
                    requests: d.requests.load(Ordering::Relaxed),
                    transactions: d.transactions.load(Ordering::Relaxed),
                    signatures: d.signatures.load(Ordering::Relaxed),
                }
            })
            .collect();
        Devices {
            backends,
            queues,
            queue_capacity_signatures: self.admission.capacity_signatures(),
        }
    }
}
