//! Several devices of one family behind one [`Backend`].
//!
//! A machine with two GPUs, or three FPGA cards, is one backend to the scheduler: each
//! piece of work goes to the device in service with the least work in flight (among
//! those that verify, for signatures). A device that fails leaves service alone; the
//! pool serves on with the others, says so through [`Backend::devices_in_service`] (so
//! the scheduler keeps the backend), and fails work only once none is left.

use std::sync::Arc;

use vigil_core::{Backend, BackendError, BackendInfo, Batch, Leaves, Pending, Profile, Verdicts};

use crate::device::Device;

/// Several devices of one family behind one [`Backend`].
#[derive(Debug)]
pub struct Pool {
    name: String,
    preferred_batch: usize,
    devices: Vec<Arc<Device>>,
}

impl Pool {
    /// A pool named `name` (the backend's command-line name).
    pub fn new(name: &str, preferred_batch: usize, devices: Vec<Arc<Device>>) -> Pool {
        Pool {
            name: name.to_owned(),
            preferred_batch,
            devices,
        }
    }

    /// The devices, in or out of service.
    pub fn devices(&self) -> &[Arc<Device>] {
        &self.devices
    }

    /// The devices still in service.
    fn serving(&self) -> impl Iterator<Item = &Arc<Device>> {
        self.devices.iter().filter(|d| d.fault().is_none())
    }

    /// The device with the least work in flight among those in service (and verifying,
    /// if `verify`), or why there is none.
    fn pick(&self, verify: bool) -> Result<&Arc<Device>, BackendError> {
        if let Some(d) = self
            .serving()
            .filter(|d| !verify || d.verifies())
            .min_by_key(|d| d.in_flight())
        {
            return Ok(d);
        }
        if self.serving().next().is_none() {
            let why: Vec<String> = self
                .devices
                .iter()
                .filter_map(|d| d.fault().map(|f| format!("{}: {f}", d.name())))
                .collect();
            return Err(BackendError::DeviceFailed {
                device: self.name.clone(),
                reason: format!(
                    "every {} device has been taken out of service ({})",
                    self.name,
                    why.join("; ")
                ),
            });
        }
        Err(BackendError::Unavailable {
            backend: self.name.clone(),
            reason: format!("no {} device in service verifies signatures", self.name),
        })
    }
}

impl Backend for Pool {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            name: self.name.clone(),
            devices: self.devices.iter().flat_map(|d| d.info().devices).collect(),
            preferred_batch: self.preferred_batch,
        }
    }

    fn verify(&self, batch: Arc<Batch>, profile: Profile) -> Pending<Verdicts> {
        match self.pick(true) {
            Ok(d) => d.verify(batch, profile),
            Err(e) => Pending::ready(Err(e)),
        }
    }

    fn merkle_root(&self, leaves: Arc<Leaves>) -> Pending<[u8; 32]> {
        match self.pick(false) {
            Ok(d) => d.merkle_root(leaves),
            Err(e) => Pending::ready(Err(e)),
        }
    }

    fn verifies(&self) -> bool {
        self.serving().any(|d| d.verifies())
    }

    fn devices_in_service(&self) -> Option<usize> {
        Some(self.serving().count())
    }
}
