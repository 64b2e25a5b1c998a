//! Every usable wgpu adapter behind one [`vigil_core::Backend`], on the device runtime.
//!
//! Each selected adapter is opened with its own limits, its pipelines are built, its
//! worker started and its known-answer self-test run ([`vigil_runtime::Roster`]); an
//! adapter that fails any step is left out and [`WgpuBackend::devices`] says why.
//! Hardware adapters come first; software ones (lavapipe, WARP) only when the caller
//! asks for them ([`Select`]).

use std::sync::Arc;

use vigil_core::{Backend, BackendError, BackendInfo, Batch, Leaves, Pending, Profile, Verdicts};

use crate::device::Opened;
use crate::gpu::Gpu;
use crate::{discover, AdapterSummary, Found};

const NAME: &str = "wgpu";

/// Signatures per batch at which a GPU is busy enough to reach its throughput.
const PREFERRED_BATCH: usize = 65_536;

/// Which adapters the backend uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// Hardware adapters only (what `auto` uses).
    Hardware,
    /// Hardware adapters; if there are none, software ones (what `--backend wgpu`
    /// uses: on a machine without a GPU, lavapipe is what was asked for).
    HardwareElseSoftware,
    /// Software adapters only (tests and CI, on lavapipe).
    Software,
}

/// A device and whether it is in use, or why not.
pub type DeviceStatus = vigil_runtime::DeviceStatus<AdapterSummary>;

/// Every usable adapter, as one backend.
pub struct WgpuBackend {
    opened: vigil_runtime::Opened<AdapterSummary>,
}

/// Opens one adapter and starts its worker. The self-test is the roster's.
fn start(index: usize, found: Found) -> Result<(vigil_runtime::Device, String), String> {
    let started = std::time::Instant::now();
    let gpu = Gpu::open(found.adapter).map_err(|e| e.to_string())?;
    let cache_dir = vigil_kernels::cache::default_dir("wgpu");
    let opened = Opened::open(gpu, cache_dir.as_deref()).map_err(|e| e.to_string())?;
    let note = format!(
        "pipelines built in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let info = BackendInfo {
        name: NAME.into(),
        devices: vec![found.summary.to_string()],
        preferred_batch: PREFERRED_BATCH,
    };
    let name = format!("wgpu:{index} {}", found.summary.name);
    let dev = vigil_runtime::Device::start(opened, name, info).map_err(|e| e.to_string())?;
    Ok((dev, note))
}

impl WgpuBackend {
    /// Discovers adapters, opens the selected ones and self-tests each; an error if none
    /// is left.
    pub fn open(select: Select) -> Result<WgpuBackend, BackendError> {
        let found = discover();
        if found.is_empty() {
            return Err(BackendError::Unavailable {
                backend: NAME.into(),
                reason: "wgpu found no Vulkan, Metal or DX12 adapter (on Linux: a Vulkan \
                         driver and the loader, Debian's libvulkan1 and mesa-vulkan-drivers \
                         or a GPU vendor's)"
                    .into(),
            });
        }
        let any_hardware = found.iter().any(|f| !f.summary.software);
        let mut roster = vigil_runtime::Roster::default();
        for (index, f) in found.into_iter().enumerate() {
            let selected = match select {
                Select::Hardware => !f.summary.software,
                Select::HardwareElseSoftware => !f.summary.software || !any_hardware,
                Select::Software => f.summary.software,
            };
            if selected {
                let summary = f.summary.clone();
                roster.admit(summary, start(index, f));
            } else if f.summary.software {
                let why = "not used: a software adapter on the CPU (used only when asked for)";
                roster.refuse(f.summary, why.into());
            } else {
                roster.refuse(f.summary, "not selected".into());
            }
        }
        Ok(WgpuBackend {
            opened: roster.finish(NAME, "wgpu adapter", PREFERRED_BATCH)?,
        })
    }

    /// Every adapter found, with whether it is in service and why not.
    pub fn devices(&self) -> Vec<DeviceStatus> {
        self.opened.devices()
    }

    /// The devices in service (or taken out of service since opening).
    pub fn in_service(&self) -> &[Arc<vigil_runtime::Device>] {
        self.opened.in_service()
    }
}

impl Backend for WgpuBackend {
    fn info(&self) -> BackendInfo {
        self.opened.pool().info()
    }

    fn verify(&self, batch: Arc<Batch>, profile: Profile) -> Pending<Verdicts> {
        self.opened.pool().verify(batch, profile)
    }

    fn merkle_root(&self, leaves: Arc<Leaves>) -> Pending<[u8; 32]> {
        self.opened.pool().merkle_root(leaves)
    }

    fn devices_in_service(&self) -> Option<usize> {
        self.opened.pool().devices_in_service()
    }
}
