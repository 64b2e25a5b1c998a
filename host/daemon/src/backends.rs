//! The one place that chooses a backend.
//!
//! Every backend family Vigil knows is listed here, with a probe that says whether it
//! can run on this machine and, if not, why. An explicitly requested backend that is
//! absent is an error carrying that reason, never a silent fallback; `auto` takes the
//! best present one. Every backend runs the known-answer self-test before it is handed
//! out: a backend that fails it is not used.
//!
//! `auto` on a one-shot command (`verify`, `bench`, `merkle`) is the CPU, or, when a GPU
//! is present (CUDA first, else OpenCL), a [`SizeRouted`] pair: batches of at least [`AUTO_DEVICE_MIN`] signatures
//! go to the GPU and smaller ones to the CPU, where they finish sooner. In `serve`, `auto`
//! is every accelerator present followed by the CPU, and the scheduler routes by size.

use std::sync::Arc;

use anyhow::Context as _;
use clap::ValueEnum;
use vigil_core::cpu::CpuBackend;
use vigil_core::Backend;
use vigil_cuda::CudaBackend;
use vigil_fpga::FpgaBackend;
use vigil_opencl::{OpenclBackend, Select};
use vigil_wgpu::WgpuBackend;

/// A backend choice on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Choice {
    /// The best backend present on this machine.
    Auto,
    /// The CPU (always present), on the fastest path it runs (`VIGIL_CPU_PATH` forces
    /// one: avx512ifma, avx2, reference).
    Cpu,
    /// The CPU on the reference crates, one signature at a time, whatever the CPU
    /// offers: for comparing against.
    CpuRef,
    /// NVIDIA GPUs through CUDA.
    Cuda,
    /// GPUs through OpenCL.
    Opencl,
    /// GPUs through wgpu (Vulkan, Metal, DX12).
    Wgpu,
    /// The Vigil FPGA card, through the XDMA driver's character devices (Merkle roots
    /// only until the card has its Ed25519 engine).
    Fpga,
    /// The simulated Vigil FPGA card (`vigil-card-sim`, the card's RTL under
    /// Verilator), at the socket `$VIGIL_FPGA_SIM` (default
    /// `$XDG_RUNTIME_DIR/vigil-card-sim.sock`, else `/tmp/vigil-card-sim.sock`).
    FpgaSim,
    /// Verifies nothing and marks every signature invalid: for measuring the service
    /// path alone. Only in builds with the `null-backend` feature.
    #[cfg(feature = "null-backend")]
    Null,
}

/// A backend family and whether it can run here.
///
/// Kept as data rather than as the lines `vigil devices` prints, so that the text
/// listing and `vigil devices --json` say the same thing from the same source.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The family's command-line name.
    pub name: &'static str,
    /// `Ok(description of what was found)` or `Err(why it is absent)`.
    pub status: Result<String, String>,
    /// Every device the family found, with whether it is used and why not.
    pub devices: Vec<DeviceProbe>,
    /// The CPU family's verification paths and whether this CPU runs each.
    pub paths: Vec<PathProbe>,
    /// Only for CUDA without a GPU: whether this machine could still compile the
    /// kernels (`Ok(NVRTC's version)`), or why not.
    pub nvrtc: Option<Result<(i32, i32), String>>,
}

/// One device a family found.
#[derive(Debug, Clone)]
pub struct DeviceProbe {
    /// What the device is (name, vendor, memory, driver: whatever the family knows).
    pub description: String,
    /// `Ok(note)` when it is in service, `Err(why not)` when it is not.
    pub status: Result<String, String>,
}

/// One verification path of the CPU backend.
#[derive(Debug, Clone)]
pub struct PathProbe {
    /// The name `VIGIL_CPU_PATH` takes (`avx512ifma`, `avx2`, `reference`).
    pub name: &'static str,
    /// How `vigil devices` names it (with its lanes when this CPU runs it).
    pub label: String,
    /// `Ok(note)` when this CPU runs it, `Err(why not)` when it does not.
    pub status: Result<&'static str, String>,
}

/// Families in order of preference for `auto` (fastest first; the CPU last).
const FAMILIES: [(Choice, &str, &str); 5] = [
    (Choice::Cuda, "cuda", "CUDA"),
    (Choice::Fpga, "fpga", "FPGA"),
    (Choice::FpgaSim, "fpga-sim", "simulated FPGA"),
    (Choice::Opencl, "opencl", "OpenCL"),
    (Choice::Wgpu, "wgpu", "wgpu"),
];

/// Probes every family. `threads` sizes the CPU backend.
pub fn probe_all(threads: Option<usize>) -> Vec<Probe> {
    let mut probes: Vec<Probe> = FAMILIES
        .iter()
        .map(|&(choice, name, label)| match choice {
            Choice::Opencl => probe_opencl(),
            Choice::Cuda => probe_cuda(),
            Choice::Fpga => probe_fpga(),
            Choice::FpgaSim => probe_fpga_sim(),
            Choice::Wgpu => probe_wgpu(),
            _ => Probe::family(name, Err(format!("{label} is not a device family"))),
        })
        .collect();
    probes.push(Probe {
        paths: cpu_paths(),
        ..Probe::family(
            "cpu",
            CpuBackend::new(threads)
                .map(|cpu| cpu.info().devices.join(", "))
                .map_err(|e| e.to_string()),
        )
    });
    probes.push(Probe::family(
        "cpu-ref",
        CpuBackend::reference(threads)
            .map(|cpu| cpu.info().devices.join(", "))
            .map_err(|e| e.to_string()),
    ));
    probes
}

impl Probe {
    /// A family with its status and nothing found below it.
    fn family(name: &'static str, status: Result<String, String>) -> Probe {
        Probe {
            name,
            status,
            devices: Vec::new(),
            paths: Vec::new(),
            nvrtc: None,
        }
    }
}

/// Every CPU path: whether this CPU runs it.
fn cpu_paths() -> Vec<PathProbe> {
    use vigil_core::cpu_path::PathChoice;
    let mut paths: Vec<PathProbe> = vigil_core::cpu_path::Isa::ALL
        .into_iter()
        .map(|isa| match PathChoice::Lanes(isa).resolve() {
            Ok(path) => PathProbe {
                name: isa.name(),
                label: path.to_string(),
                status: Ok("supported"),
            },
            Err(e) => PathProbe {
                name: isa.name(),
                label: isa.to_string(),
                status: Err(e.to_string()),
            },
        })
        .collect();
    paths.push(PathProbe {
        name: "reference",
        label: "reference crates".into(),
        status: Ok("always"),
    });
    paths
}

/// Opens OpenCL as `--backend opencl` would (building and self-testing every device) and
/// reports each device.
fn probe_opencl() -> Probe {
    let opened = OpenclBackend::open(&opencl_options(Select::AcceleratorsElseAny)).map(|b| {
        let devices = b
            .devices()
            .into_iter()
            .map(|d| (d.summary.to_string(), d.status));
        (b.info().devices.len(), devices.collect())
    });
    probe_report("opencl", "device(s)", opened)
}

/// Opens CUDA as `--backend cuda` would (compiling and self-testing every GPU) and
/// reports each GPU.
fn probe_cuda() -> Probe {
    let opened = CudaBackend::open(&vigil_cuda::Options::default()).map(|b| {
        let devices = b
            .devices()
            .into_iter()
            .map(|d| (d.summary.to_string(), d.status));
        (b.info().devices.len(), devices.collect())
    });
    let mut probe = probe_report("cuda", "GPU(s)", opened);
    // Without a GPU, say whether this machine could still compile the kernels.
    if probe.status.is_err() {
        probe.nvrtc = Some(
            vigil_cuda::nvrtc::version()
                .map(|v| (v / 1000, (v % 1000) / 10))
                .map_err(|e| e.to_string()),
        );
    }
    probe
}

/// Opens wgpu as `--backend wgpu` would (pipelines built and self-tested on every
/// adapter it selects) and reports each adapter.
fn probe_wgpu() -> Probe {
    let opened = WgpuBackend::open(vigil_wgpu::Select::HardwareElseSoftware).map(|b| {
        let devices = b
            .devices()
            .into_iter()
            .map(|d| (d.summary.to_string(), d.status));
        (b.info().devices.len(), devices.collect())
    });
    probe_report("wgpu", "adapter(s)", opened)
}

/// Where the XDMA driver's character devices are: `$VIGIL_XDMA_DIR`, else `/dev`.
fn xdma_dir() -> std::path::PathBuf {
    std::env::var_os("VIGIL_XDMA_DIR").map_or_else(|| "/dev".into(), Into::into)
}

/// Opens every XDMA card as `--backend fpga` would (identity check and self-test each)
/// and lists them all: in service, or why not.
fn probe_fpga() -> Probe {
    let opened = FpgaBackend::open_xdma(&xdma_dir()).map(|b| {
        let in_service = b.devices_in_service().unwrap_or(0);
        (in_service, b.card_statuses())
    });
    probe_report("fpga", "card(s)", opened)
}

/// Opens the simulated card as `--backend fpga-sim` would.
fn probe_fpga_sim() -> Probe {
    let socket = vigil_fpga::sim::default_sim_socket();
    let opened = FpgaBackend::open_sim(&socket).map(|b| {
        let info = b.card_info().to_string();
        (
            1,
            vec![(format!("{} (vigil-card-sim)", socket.display()), Ok(info))],
        )
    });
    probe_report("fpga-sim", "card(s)", opened)
}

/// One family's probe line: how many devices are in service, then each device found.
type Opened = Result<(usize, Vec<(String, Result<String, String>)>), vigil_core::BackendError>;

fn probe_report(name: &'static str, unit: &str, opened: Opened) -> Probe {
    match opened {
        Ok((used, found)) => Probe {
            devices: found
                .into_iter()
                .map(|(description, status)| DeviceProbe {
                    description,
                    status,
                })
                .collect(),
            ..Probe::family(name, Ok(format!("{used} {unit} in service")))
        },
        Err(e) => Probe::family(name, Err(e.to_string())),
    }
}

fn opencl_options(select: Select) -> vigil_opencl::Options {
    vigil_opencl::Options {
        select,
        ..vigil_opencl::Options::default()
    }
}

/// Signatures from which `auto` on a one-shot command sends a batch to a GPU.
pub const AUTO_DEVICE_MIN: usize = 4_096;

/// The accelerators `auto` uses, fastest first: NVIDIA GPUs through CUDA, else OpenCL
/// GPUs and accelerators, else wgpu's hardware adapters (the
/// same GPU is not driven through two APIs; software adapters never). Absent families are
/// skipped quietly (that is what `auto` means); present ones that fail are logged.
fn auto_accelerators() -> Vec<Arc<dyn Backend>> {
    let mut found: Vec<Arc<dyn Backend>> = Vec::new();
    match CudaBackend::open(&vigil_cuda::Options::default()) {
        Ok(b) => {
            found.push(Arc::new(b));
            return found;
        }
        Err(e) => tracing::debug!(error = %e, "auto: no CUDA GPU"),
    }
    match OpenclBackend::open(&opencl_options(Select::Accelerators)) {
        Ok(b) => {
            found.push(Arc::new(b));
            return found;
        }
        Err(e) => tracing::debug!(error = %e, "auto: no OpenCL accelerator"),
    }
    match WgpuBackend::open(vigil_wgpu::Select::Hardware) {
        Ok(b) => found.push(Arc::new(b)),
        Err(e) => tracing::debug!(error = %e, "auto: no wgpu GPU"),
    }
    found
}

/// Opens the chosen backend and runs its self-test.
pub fn open(choice: Choice, threads: Option<usize>) -> anyhow::Result<Arc<dyn Backend>> {
    let backend: Arc<dyn Backend> = match choice {
        Choice::Cpu => Arc::new(CpuBackend::new(threads)?),
        Choice::CpuRef => Arc::new(CpuBackend::reference(threads)?),
        Choice::Auto => {
            let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::new(threads)?);
            match auto_accelerators().into_iter().next() {
                Some(device) => Arc::new(SizeRouted {
                    device,
                    cpu,
                    threshold: AUTO_DEVICE_MIN,
                }),
                None => cpu,
            }
        }
        // Device backends self-test every device while opening and keep only those
        // that pass (vigil_runtime::Roster); a second test here would repeat it.
        Choice::Cuda => {
            return Ok(Arc::new(
                CudaBackend::open(&vigil_cuda::Options::default())
                    .context("backend cuda is not available")?,
            ))
        }
        Choice::Opencl => {
            return Ok(Arc::new(
                OpenclBackend::open(&opencl_options(Select::AcceleratorsElseAny))
                    .context("backend opencl is not available")?,
            ))
        }
        Choice::Wgpu => {
            return Ok(Arc::new(
                WgpuBackend::open(vigil_wgpu::Select::HardwareElseSoftware)
                    .context("backend wgpu is not available")?,
            ))
        }
        // The card's driver runs its own known-answer self-test at open (a Merkle root, a
        // subtree-node root and, with CAPS.VERIFY, signatures under every profile); the
        // shared self-test's batch would take the simulated card minutes.
        Choice::Fpga => {
            return Ok(Arc::new(
                FpgaBackend::open_xdma(&xdma_dir()).context("backend fpga is not available")?,
            ))
        }
        Choice::FpgaSim => {
            return Ok(Arc::new(
                FpgaBackend::open_sim(&vigil_fpga::sim::default_sim_socket())
                    .context("backend fpga-sim is not available")?,
            ))
        }
        #[cfg(feature = "null-backend")]
        Choice::Null => {
            tracing::warn!("the null backend verifies nothing and rejects every signature");
            // It cannot pass the self-test by design (it accepts nothing).
            return Ok(Arc::new(null::NullBackend));
        }
    };
    self_test(backend.as_ref())?;
    Ok(backend)
}

/// Opens every backend of a `--backend` list, in order, each self-tested. `auto` stands
/// for every accelerator present followed by the CPU. A backend named twice is opened
/// once. Any named backend that cannot open is an error: an operator who asked for a
/// device must not silently get less.
pub fn open_list(
    choices: &[Choice],
    threads: Option<usize>,
) -> anyhow::Result<Vec<Arc<dyn Backend>>> {
    let mut opened: Vec<Arc<dyn Backend>> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut keep = |backend: Arc<dyn Backend>| {
        let name = backend.info().name;
        if !names.contains(&name) {
            names.push(name);
            opened.push(backend);
        }
    };
    // How long each opening took (kernels compiled or loaded, devices self-tested): the
    // time a node waits before it serves.
    let timed = |what: &str, started: std::time::Instant| {
        tracing::info!(
            backend = what,
            seconds = started.elapsed().as_secs_f64(),
            "opened"
        );
    };
    for &choice in choices {
        let started = std::time::Instant::now();
        if choice == Choice::Auto {
            // Each accelerator's devices passed their self-tests while it opened.
            let accelerators = auto_accelerators();
            timed("auto accelerators", started);
            for backend in accelerators {
                keep(backend);
            }
            let started = std::time::Instant::now();
            keep(open(Choice::Cpu, threads)?);
            timed("cpu", started);
        } else {
            let backend = open(choice, threads)?;
            timed(&backend.info().name, started);
            keep(backend);
        }
    }
    Ok(opened)
}

/// Runs the known-answer self-test on a backend before it is handed out.
fn self_test(backend: &dyn Backend) -> anyhow::Result<()> {
    let name = backend.info().name;
    vigil_core::conformance::self_test(backend)
        .map_err(|e| anyhow::anyhow!("backend {name} failed its self-test: {e}"))?;
    tracing::info!(backend = %name, "self-test passed");
    Ok(())
}

/// `auto` for one-shot commands: large batches to a device, small ones to the CPU.
pub struct SizeRouted {
    device: Arc<dyn Backend>,
    cpu: Arc<dyn Backend>,
    /// Signatures (or leaves) from which work goes to the device.
    threshold: usize,
}

impl Backend for SizeRouted {
    fn info(&self) -> vigil_core::BackendInfo {
        let device = self.device.info();
        let cpu = self.cpu.info();
        vigil_core::BackendInfo {
            name: format!("{}+{}", device.name, cpu.name),
            devices: device.devices.into_iter().chain(cpu.devices).collect(),
            preferred_batch: device.preferred_batch,
        }
    }

    fn verify(
        &self,
        batch: Arc<vigil_core::Batch>,
        profile: vigil_core::Profile,
    ) -> vigil_core::Pending<vigil_core::Verdicts> {
        if batch.signature_count() >= self.threshold {
            self.device.verify(batch, profile)
        } else {
            self.cpu.verify(batch, profile)
        }
    }

    fn merkle_root(&self, leaves: Arc<vigil_core::Leaves>) -> vigil_core::Pending<[u8; 32]> {
        if leaves.len() >= self.threshold {
            self.device.merkle_root(leaves)
        } else {
            self.cpu.merkle_root(leaves)
        }
    }

    fn kernel_time(&self) -> Option<std::time::Duration> {
        self.device.kernel_time()
    }
}

#[cfg(feature = "null-backend")]
mod null {
    //! A backend that does no cryptography, so that a benchmark of the service path
    //! measures decode, queue, coalesce, split and encode alone. It marks every
    //! signature invalid: even if it were somehow deployed it could never accept one.

    use std::sync::Arc;

    use vigil_core::{Backend, BackendInfo, Batch, Leaves, Pending, Profile, Verdicts};

    /// Rejects everything, instantly.
    pub struct NullBackend;

    impl Backend for NullBackend {
        fn info(&self) -> BackendInfo {
            BackendInfo {
                name: "null".into(),
                devices: vec!["no verification (benchmarks only)".into()],
                preferred_batch: 16_384,
            }
        }

        fn verify(&self, batch: Arc<Batch>, _profile: Profile) -> Pending<Verdicts> {
            let verdicts = Verdicts::from_signatures(&batch, vec![false; batch.signature_count()]);
            Pending::ready(
                verdicts.ok_or_else(|| {
                    vigil_core::BackendError::Internal("verdict count mismatch".into())
                }),
            )
        }

        fn merkle_root(&self, _leaves: Arc<Leaves>) -> Pending<[u8; 32]> {
            Pending::ready(Ok([0; 32]))
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn accepts_nothing() {
            let spec = vigil_core::synth::SynthSpec {
                count: 50,
                profile: Profile::Strict,
                invalid_fraction: 0.0,
                msg_len: 10..=20,
                signers: 1,
                format: vigil_core::synth::Format::Jsonl,
                seed: 1,
            };
            let batch = Arc::new(vigil_core::synth::batch(&spec).unwrap());
            let v = NullBackend.verify(batch, Profile::Strict).wait().unwrap();
            assert_eq!(v.signature_valid.len(), 50);
            assert!(v.signature_valid.iter().all(|&x| !x));
            assert!(v.transaction_valid.iter().all(|&x| !x));
        }
    }
}
