//! The CUDA backend: Vigil's shared kernels on NVIDIA GPUs.
//!
//! The same `kernels/` sources the OpenCL backend runs: built ahead for sm_80 and sm_90
//! and shipped in the binary, compiled by NVRTC for any other architecture ([`modules`]).
//!
//! * **No CUDA needed to build or start.** cudarc loads the driver library at run time,
//!   and panics if it is missing, so [`probe`] looks for it (with the library names
//!   cudarc will try) and checks that the driver is new enough for the CUDA 12.4 driver
//!   API this build binds (R550 or later, CUDA 13 drivers included), before any cudarc
//!   call. NVRTC, 12 or 13, is loaded by this crate ([`nvrtc`]) and needed only for a
//!   GPU without kernels built ahead. Anything missing makes the backend absent, or the
//!   GPU left out, with the reason.
//! * **Kernels** come built ahead, from the on-disk PTX cache, or from NVRTC once per
//!   architecture ([`modules`]).
//! * **Work.** One worker per GPU (the shared [`vigil_runtime`] worker) drives
//!   [`queue::GpuQueue`]: several streams, page-locked buffers allocated once, copy-in,
//!   kernels and copy-out of consecutive batches overlapped. Every GPU of the machine is
//!   used; work goes to the one with the least in flight.
//! * **Small batches** (up to 1,024 signatures) can take [`small`]: CUDA graphs captured
//!   at start-up, one packed upload and one launch per batch. Off unless
//!   [`Options::graphs`] (or `VIGIL_CUDA_GRAPHS=1`) asks for it, until
//!   `benches/gpu/run.sh` has measured it against the regular path on a GPU.
//! * **Kernel time** of every batch is measured with CUDA events and summed
//!   ([`vigil_core::Backend::kernel_time`]), so benchmarks report the GPU's compute rate
//!   beside the end-to-end rate.
//! * **Trust.** Each GPU runs the known-answer self-test before it serves; one that
//!   fails is left out and [`CudaBackend::devices`] says why. A GPU that errors later is
//!   taken out of service and the batches it held come back as `DeviceFailed`, which the
//!   scheduler re-runs elsewhere.

pub mod modules;
pub mod nvrtc;
mod nvrtc_lib;
pub mod queue;
pub mod small;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cudarc::driver::sys::CUdevice_attribute;
use cudarc::driver::CudaContext;
use vigil_core::{Backend, BackendError, BackendInfo, Batch, Leaves, Pending, Profile, Verdicts};
use vigil_kernels::{cache, launch, names};

use queue::{Functions, GpuQueue};

const NAME: &str = "cuda";
/// The oldest driver this build's bindings work with: cudarc is built for the CUDA 12.4
/// driver API (R550), whose entry points every later driver, CUDA 13 included, keeps.
/// CI checks that every driver symbol the binary can load is exported by R550's
/// libcuda (`driver/cuda/driver-check.sh`).
pub const MIN_DRIVER: i32 = 12_040;
/// Signatures per batch at which a GPU is busy enough to reach its throughput.
const PREFERRED_BATCH: usize = 65_536;

fn unavailable(reason: impl Into<String>) -> BackendError {
    BackendError::Unavailable {
        backend: NAME.into(),
        reason: reason.into(),
    }
}

/// Versions of what was found: the driver's CUDA version and NVRTC's (when there is
/// one), as `major * 1000 + minor * 10`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    /// What `cuDriverGetVersion` reports.
    pub driver: i32,
    /// NVRTC's version; `None` when there is no NVRTC (then only GPUs with kernels
    /// built ahead can serve).
    pub nvrtc: Option<i32>,
}

/// A version as `major * 1000 + minor * 10` (CUDA's form), written `major.minor`.
pub fn version_text(v: i32) -> String {
    format!("{}.{}", v / 1000, (v % 1000) / 10)
}

/// Looks for the CUDA driver library, reads its version and checks it, and reads
/// NVRTC's version if NVRTC is there, without letting cudarc near a library that is
/// missing (it would panic).
pub fn probe() -> Result<Versions, BackendError> {
    let driver = load_first("cuda").ok_or_else(|| {
        unavailable(
            "the NVIDIA driver library (libcuda.so.1) was not found: no NVIDIA GPU driver on \
             this machine",
        )
    })?;
    let driver_version = call_version(&driver, b"cuDriverGetVersion\0")
        .map_err(|e| unavailable(format!("the NVIDIA driver library is unusable: {e}")))?;
    if driver_version < MIN_DRIVER {
        return Err(unavailable(format!(
            "the NVIDIA driver supports CUDA {}; this build needs a CUDA {} driver (R550 or newer)",
            version_text(driver_version),
            version_text(MIN_DRIVER)
        )));
    }
    Ok(Versions {
        driver: driver_version,
        nvrtc: nvrtc::version().ok(),
    })
}

/// Loads the first of cudarc's candidate names for `lib` that exists.
#[allow(unsafe_code)]
pub(crate) fn load_first(lib: &str) -> Option<libloading::Library> {
    cudarc::get_lib_name_candidates(lib)
        .iter()
        // SAFETY: these are the vendor libraries cudarc itself would load; loading runs
        // their initialisers, which is what using CUDA at all requires.
        .find_map(|name| unsafe { libloading::Library::new(name) }.ok())
}

/// Calls `int f(int *version)` (`cuDriverGetVersion`).
#[allow(unsafe_code)]
fn call_version(lib: &libloading::Library, symbol: &[u8]) -> Result<i32, String> {
    // SAFETY: cuDriverGetVersion has this signature in every CUDA release.
    let f = unsafe { lib.get::<unsafe extern "C" fn(*mut i32) -> i32>(symbol) }
        .map_err(|e| e.to_string())?;
    let mut version = 0i32;
    // SAFETY: the pointer is to a live i32 the callee writes.
    let status = unsafe { f(&mut version) };
    if status != 0 {
        return Err(format!("cuDriverGetVersion returned error {status}"));
    }
    Ok(version)
}

/// What a GPU is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuSummary {
    /// CUDA device ordinal.
    pub ordinal: usize,
    /// Marketing name.
    pub name: String,
    /// Compute capability, e.g. (9, 0).
    pub compute_capability: (i32, i32),
    /// Global memory in bytes.
    pub memory: usize,
    /// Streaming multiprocessors.
    pub multiprocessors: i32,
    /// Driver and NVRTC versions.
    pub versions: Versions,
}

impl GpuSummary {
    /// The architecture NVRTC compiles for (`sm_90` for an H100).
    pub fn arch(&self) -> String {
        format!(
            "sm_{}{}",
            self.compute_capability.0, self.compute_capability.1
        )
    }
}

impl std::fmt::Display for GpuSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "GPU {}: {} ({}, {} SMs, {} MiB, driver CUDA {}, {})",
            self.ordinal,
            self.name,
            self.arch(),
            self.multiprocessors,
            self.memory >> 20,
            version_text(self.versions.driver),
            self.versions.nvrtc.map_or_else(
                || "no NVRTC".into(),
                |v| format!("NVRTC {}", version_text(v))
            )
        )
    }
}

/// A GPU and whether it is in use, or why not.
pub type GpuStatus = vigil_runtime::DeviceStatus<GpuSummary>;

/// How to open the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Where compiled kernels are cached; `None` turns the cache off.
    pub cache_dir: Option<PathBuf>,
    /// Send batches of up to 1,024 signatures through pre-captured CUDA graphs.
    pub graphs: bool,
}

impl Default for Options {
    /// The cache under the user's cache directory; graphs as `VIGIL_CUDA_GRAPHS` says
    /// (`1` on, anything else or unset off).
    fn default() -> Self {
        Options {
            cache_dir: cache::default_dir(NAME),
            graphs: std::env::var("VIGIL_CUDA_GRAPHS").is_ok_and(|v| v == "1"),
        }
    }
}

/// Serialises start-up (probing, contexts, compiles) in this process.
static START_LOCK: Mutex<()> = Mutex::new(());

/// Every NVIDIA GPU, each self-tested, behind one [`Backend`].
pub struct CudaBackend {
    opened: vigil_runtime::Opened<GpuSummary>,
    /// Kernel nanoseconds of every GPU, summed.
    kernel_ns: Arc<AtomicU64>,
}

impl CudaBackend {
    /// Probes for CUDA, compiles the kernels for every GPU (or loads them from the cache)
    /// and self-tests each. GPUs that fail are left out ([`CudaBackend::devices`] says
    /// why); an error if none is left or CUDA is absent.
    pub fn open(opts: &Options) -> Result<CudaBackend, BackendError> {
        let _serial = START_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let versions = probe()?;
        let driver = format!("NVIDIA driver for CUDA {}", version_text(versions.driver));
        let count = CudaContext::device_count()
            .map_err(|e| unavailable(format!("{driver}: listing GPUs failed: {e}")))?;
        if count <= 0 {
            return Err(unavailable(format!("{driver}: it lists no GPU")));
        }
        let mut roster = vigil_runtime::Roster::default();
        let kernel_ns = Arc::new(AtomicU64::new(0));
        for ordinal in 0..usize::try_from(count).unwrap_or(0) {
            match start(ordinal, versions, opts, &kernel_ns) {
                Ok((summary, dev, note)) => roster.admit(summary, Ok((dev, note))),
                Err((summary, why)) => roster.admit(summary, Err(why)),
            }
        }
        Ok(CudaBackend {
            opened: roster.finish(NAME, "GPU", PREFERRED_BATCH)?,
            kernel_ns,
        })
    }

    /// Every GPU found, with whether it is in service and why not.
    pub fn devices(&self) -> Vec<GpuStatus> {
        self.opened.devices()
    }

    /// The GPUs in service (or taken out of service since opening).
    pub fn in_service(&self) -> &[Arc<vigil_runtime::Device>] {
        self.opened.in_service()
    }
}

impl Backend for CudaBackend {
    fn info(&self) -> BackendInfo {
        self.opened.pool().info()
    }

    fn verify(&self, batch: Arc<Batch>, profile: Profile) -> Pending<Verdicts> {
        self.opened.pool().verify(batch, profile)
    }

    fn merkle_root(&self, leaves: Arc<Leaves>) -> Pending<[u8; 32]> {
        self.opened.pool().merkle_root(leaves)
    }

    fn kernel_time(&self) -> Option<Duration> {
        Some(Duration::from_nanos(self.kernel_ns.load(Ordering::Relaxed)))
    }

    fn devices_in_service(&self) -> Option<usize> {
        self.opened.pool().devices_in_service()
    }
}

fn gpu_name(s: &GpuSummary) -> String {
    format!("cuda:{} {}", s.ordinal, s.name)
}

type Started = (GpuSummary, vigil_runtime::Device, String);

/// Opens GPU `ordinal`: context, kernels, slots, worker.
fn start(
    ordinal: usize,
    versions: Versions,
    opts: &Options,
    kernel_ns: &Arc<AtomicU64>,
) -> Result<Started, (GpuSummary, String)> {
    let cache_dir = opts.cache_dir.as_deref();
    let unknown = GpuSummary {
        ordinal,
        name: "unknown".into(),
        compute_capability: (0, 0),
        memory: 0,
        multiprocessors: 0,
        versions,
    };
    let ctx = CudaContext::new(ordinal)
        .map_err(|e| (unknown.clone(), format!("creating a context: {e}")))?;
    let summary = GpuSummary {
        ordinal,
        name: ctx.name().unwrap_or_else(|_| "unknown".into()),
        compute_capability: ctx.compute_capability().unwrap_or((0, 0)),
        memory: ctx.total_mem().unwrap_or(0),
        multiprocessors: ctx
            .attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
            .unwrap_or(0),
        versions,
    };
    let fail = |why: String| (summary.clone(), why);
    let started = std::time::Instant::now();
    let (ed, ed_origin) =
        modules::load(&ctx, &vigil_kernels::ED25519, &summary, cache_dir).map_err(fail)?;
    let (mk, mk_origin) =
        modules::load(&ctx, &vigil_kernels::MERKLE, &summary, cache_dir).map_err(fail)?;
    tracing::info!(
        gpu = %summary,
        ed25519 = ed_origin.text(),
        merkle = mk_origin.text(),
        seconds = started.elapsed().as_secs_f64(),
        "kernels loaded"
    );
    let function = |m: &Arc<cudarc::driver::CudaModule>, name: &str| {
        m.load_function(name)
            .map_err(|e| fail(format!("kernel {name}: {e}")))
    };
    let functions = Functions {
        ed25519: launch::ED25519
            .iter()
            .map(|e| function(&ed, e.name))
            .collect::<Result<_, _>>()?,
        leaves: function(&mk, names::MERKLE_LEAVES)?,
        reduce: function(&mk, names::MERKLE_REDUCE)?,
    };
    let queue = GpuQueue::new(ctx, functions, opts.graphs, Arc::clone(kernel_ns)).map_err(|e| {
        fail(format!(
            "allocating buffers and capturing the small-batch graphs: {e}"
        ))
    })?;
    let info = BackendInfo {
        name: NAME.into(),
        devices: vec![summary.to_string()],
        preferred_batch: PREFERRED_BATCH,
    };
    let dev = vigil_runtime::Device::start(queue, gpu_name(&summary), info)
        .map_err(|e| fail(e.to_string()))?;
    let note = if ed_origin == mk_origin {
        format!("kernels {}", ed_origin.text())
    } else {
        format!(
            "Ed25519 kernels {}, Merkle kernels {}",
            ed_origin.text(),
            mk_origin.text()
        )
    };
    Ok((summary, dev, note))
}
