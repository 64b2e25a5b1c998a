//! The OpenCL backend: Vigil's shared kernels on any OpenCL device.
//!
//! The kernels under `kernels/` are the same code the CUDA backend runs; OpenCL is how
//! they run on other vendors' GPUs, and, through PoCL, on the CPU of a CI machine with no
//! GPU, which holds the exact device code to the conformance harness in every CI run.
//!
//! * **Loading.** opencl3 loads `libOpenCL.so.1` at run time, so the binary starts on
//!   machines without OpenCL; there the backend is absent with the reason.
//! * **Discovery.** [`discover`] lists every device of every platform. [`Select`] says
//!   which are used: by default GPUs and accelerators, and CPU devices (PoCL) only when
//!   there are none and the backend was asked for by name.
//! * **Opening.** Each device gets its own context and both programs, built once and
//!   cached on disk ([`vigil_kernels::cache`]), then a known-answer self-test
//!   ([`vigil_core::conformance::self_test`]). A device that fails any step is left out,
//!   and [`OpenclBackend::devices`] says why; no device left is an error.
//! * **Work.** A worker thread per device keeps several batches in flight (the shared
//!   [`vigil_runtime`] worker driving this crate's `device` queues). Work goes to
//!   the device with the least in flight; a device that fails is taken out of service
//!   and its work comes back as `DeviceFailed`, which the scheduler re-runs elsewhere.
//!   On PoCL before 6.0 batches run one at a time in the process instead (its kernel
//!   cache aborts the process when commands of one kernel overlap; see `pocl`).

mod device;
mod pocl;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use opencl3::device::{
    Device, CL_DEVICE_TYPE_ACCELERATOR, CL_DEVICE_TYPE_ALL, CL_DEVICE_TYPE_CPU, CL_DEVICE_TYPE_GPU,
};
use opencl3::platform::{get_platforms, Platform};
use vigil_core::{Backend, BackendError, BackendInfo, Batch, Leaves, Pending, Profile, Verdicts};

const NAME: &str = "opencl";

/// Which OpenCL devices the backend uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// GPUs and accelerators only (what `auto` uses: a CPU device would only compete
    /// with the CPU backend).
    Accelerators,
    /// GPUs and accelerators; if there are none, any device (a CPU device such as PoCL).
    /// What `--backend opencl` uses.
    AcceleratorsElseAny,
    /// Every device, CPU devices included.
    Any,
}

/// How to open the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Which devices.
    pub select: Select,
    /// Where compiled programs are cached; `None` turns the cache off.
    pub cache_dir: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            select: Select::AcceleratorsElseAny,
            cache_dir: vigil_kernels::cache::default_dir("opencl"),
        }
    }
}

/// What a device is, as OpenCL reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSummary {
    /// Device name.
    pub name: String,
    /// Device vendor.
    pub vendor: String,
    /// `GPU`, `CPU`, `accelerator` or `other`.
    pub kind: &'static str,
    /// Driver version.
    pub driver_version: String,
    /// OpenCL version the device supports.
    pub device_version: String,
    /// The platform's name and version.
    pub platform_version: String,
    /// Compute units.
    pub compute_units: u32,
    /// Global memory in bytes.
    pub memory: u64,
}

impl std::fmt::Display for DeviceSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}, {}, {} compute units, {} MiB, driver {}, {})",
            self.name,
            self.vendor,
            self.kind,
            self.compute_units,
            self.memory >> 20,
            self.driver_version,
            self.platform_version
        )
    }
}

/// A device found by [`discover`].
#[derive(Debug, Clone)]
pub struct Found {
    device: Device,
    /// What it is.
    pub summary: DeviceSummary,
    type_bits: u64,
}

impl Found {
    fn is_accelerator(&self) -> bool {
        self.type_bits & (CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR) != 0
    }
}

/// Serialises discovery and program builds in this process: some OpenCL drivers (PoCL
/// among them) are not safe to initialise from two threads at once, and both happen only
/// at start-up.
static START_LOCK: Mutex<()> = Mutex::new(());

/// Every OpenCL device on the machine. An error when the OpenCL library cannot be loaded
/// or lists no platform.
pub fn discover() -> Result<Vec<Found>, BackendError> {
    let _serial = START_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    discover_locked()
}

fn discover_locked() -> Result<Vec<Found>, BackendError> {
    let platforms = get_platforms().map_err(|e| {
        if e.0 == DLOPEN_FAILED {
            unavailable(
                "the OpenCL library libOpenCL.so.1 could not be loaded: install an ICD loader \
                 (Debian: ocl-icd-libopencl1) and a driver (a GPU vendor's, or pocl-opencl-icd)",
            )
        } else {
            unavailable(&format!("listing OpenCL platforms failed: {e}"))
        }
    })?;
    if platforms.is_empty() {
        return Err(unavailable(
            "the OpenCL loader found no platform (no driver registered in /etc/OpenCL/vendors)",
        ));
    }
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for platform in &platforms {
        let ids = match platform.get_devices(CL_DEVICE_TYPE_ALL) {
            Ok(ids) => ids,
            Err(e) => {
                errors.push(format!("{}: {e}", platform.name().unwrap_or_default()));
                continue;
            }
        };
        for id in ids {
            let device = Device::new(id);
            let type_bits = device.dev_type().unwrap_or(0);
            found.push(Found {
                summary: summarize(&device, platform, type_bits),
                device,
                type_bits,
            });
        }
    }
    if found.is_empty() {
        return Err(unavailable(&format!(
            "OpenCL platforms are present but list no device ({})",
            errors.join("; ")
        )));
    }
    Ok(found)
}

/// cl3's error code when the OpenCL library could not be loaded.
const DLOPEN_FAILED: i32 = -2000;

fn summarize(device: &Device, platform: &Platform, type_bits: u64) -> DeviceSummary {
    let kind = if type_bits & CL_DEVICE_TYPE_GPU != 0 {
        "GPU"
    } else if type_bits & CL_DEVICE_TYPE_ACCELERATOR != 0 {
        "accelerator"
    } else if type_bits & CL_DEVICE_TYPE_CPU != 0 {
        "CPU"
    } else {
        "other"
    };
    DeviceSummary {
        name: device.name().unwrap_or_default().trim().to_owned(),
        vendor: device.vendor().unwrap_or_default().trim().to_owned(),
        kind,
        driver_version: device.driver_version().unwrap_or_default(),
        device_version: device.version().unwrap_or_default(),
        platform_version: format!(
            "{} {}",
            platform.name().unwrap_or_default(),
            platform.version().unwrap_or_default()
        ),
        compute_units: device.max_compute_units().unwrap_or(0),
        memory: device.global_mem_size().unwrap_or(0),
    }
}

fn unavailable(reason: &str) -> BackendError {
    BackendError::Unavailable {
        backend: NAME.into(),
        reason: reason.into(),
    }
}

/// A device and whether it is in use (`Ok(note)`: the note says whether its programs
/// came from the cache), or why not.
pub type DeviceStatus = vigil_runtime::DeviceStatus<DeviceSummary>;

/// Builds the programs on `found` and starts its worker. The self-test is the caller's.
fn start(
    index: usize,
    found: &Found,
    cache_dir: Option<&std::path::Path>,
) -> Result<(vigil_runtime::Device, String), String> {
    let opened = device::open(&found.device, &found.summary, cache_dir)?;
    let note = if opened.from_cache {
        "programs from the cache"
    } else {
        "programs built"
    };
    let info = BackendInfo {
        name: NAME.into(),
        devices: vec![found.summary.to_string()],
        preferred_batch: PREFERRED_BATCH,
    };
    // The index keeps identical cards apart in errors and logs.
    let name = format!("opencl:{index} {}", found.summary.name);
    let dev = vigil_runtime::Device::start(opened, name, info).map_err(|e| e.to_string())?;
    Ok((dev, note.to_owned()))
}

/// Signatures per batch at which a GPU is busy enough to reach its throughput.
const PREFERRED_BATCH: usize = 65_536;

/// Every usable OpenCL device, behind one [`Backend`].
pub struct OpenclBackend {
    opened: vigil_runtime::Opened<DeviceSummary>,
}

impl OpenclBackend {
    /// Discovers devices, builds the programs on each selected one and self-tests it.
    /// Devices that fail are left out (see [`OpenclBackend::devices`]); an error if none
    /// is left.
    pub fn open(opts: &Options) -> Result<OpenclBackend, BackendError> {
        let _serial = START_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let found = discover_locked()?;
        let any_accelerator = found.iter().any(Found::is_accelerator);
        let mut roster = vigil_runtime::Roster::default();
        for (index, f) in found.iter().enumerate() {
            let selected = match opts.select {
                Select::Accelerators => f.is_accelerator(),
                Select::AcceleratorsElseAny => f.is_accelerator() || !any_accelerator,
                Select::Any => true,
            };
            if selected {
                roster.admit(
                    f.summary.clone(),
                    start(index, f, opts.cache_dir.as_deref()),
                );
            } else if any_accelerator || opts.select == Select::Accelerators {
                let why = "not used: a CPU device (the CPU backend serves the CPU)";
                roster.refuse(f.summary.clone(), why.into());
            } else {
                roster.refuse(f.summary.clone(), "not selected".into());
            }
        }
        Ok(OpenclBackend {
            opened: roster.finish(NAME, "OpenCL device", PREFERRED_BATCH)?,
        })
    }

    /// Every device found, with whether it is in service and why not.
    pub fn devices(&self) -> Vec<DeviceStatus> {
        self.opened.devices()
    }

    /// The devices in service (or taken out of service since opening).
    pub fn in_service(&self) -> &[Arc<vigil_runtime::Device>] {
        self.opened.in_service()
    }
}

impl Backend for OpenclBackend {
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
