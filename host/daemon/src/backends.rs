//! The one place that chooses a backend.
//!
//! Every backend family Vigil knows is listed here, with a probe that says whether it
//! can run on this machine and, if not, why. An explicitly requested backend that is
//! absent is an error carrying that reason, never a silent fallback; `auto` takes the
//! best present one. Every backend runs the known-answer self-test before it is handed
//! out: a backend that fails it is not used.

use std::sync::Arc;

use anyhow::{bail, Context as _};
use clap::ValueEnum;
use vigil_core::cpu::CpuBackend;
use vigil_core::Backend;

/// A backend choice on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Choice {
    /// The best backend present on this machine.
    Auto,
    /// The CPU (always present).
    Cpu,
    /// NVIDIA GPUs through CUDA.
    Cuda,
    /// GPUs through OpenCL.
    Opencl,
    /// GPUs through wgpu (Vulkan, Metal, DX12).
    Wgpu,
    /// The Vigil FPGA card.
    Fpga,
}

/// A backend family and whether it can run here.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The family's command-line name.
    pub name: &'static str,
    /// `Ok(description of what was found)` or `Err(why it is absent)`.
    pub status: Result<String, String>,
}

/// Families in order of preference for `auto` (fastest first; the CPU last).
const FAMILIES: [(Choice, &str, &str); 4] = [
    (Choice::Cuda, "cuda", "CUDA"),
    (Choice::Fpga, "fpga", "FPGA"),
    (Choice::Opencl, "opencl", "OpenCL"),
    (Choice::Wgpu, "wgpu", "wgpu"),
];

/// Probes every family. `threads` sizes the CPU backend.
pub fn probe_all(threads: Option<usize>) -> Vec<Probe> {
    let mut probes: Vec<Probe> = FAMILIES
        .iter()
        .map(|&(_, name, label)| Probe {
            name,
            status: Err(absent_reason(name, label)),
        })
        .collect();
    probes.push(Probe {
        name: "cpu",
        status: CpuBackend::new(threads)
            .map(|cpu| cpu.info().devices.join(", "))
            .map_err(|e| e.to_string()),
    });
    probes
}

/// Why a driver family cannot run here (none of them is written yet).
fn absent_reason(name: &str, label: &str) -> String {
    format!("this build has no {label} driver: driver/{name} is not written yet")
}

/// Opens the chosen backend and runs its self-test.
pub fn open(choice: Choice, threads: Option<usize>) -> anyhow::Result<Arc<dyn Backend>> {
    let backend: Arc<dyn Backend> = match choice {
        Choice::Cpu | Choice::Auto => Arc::new(CpuBackend::new(threads)?),
        other => {
            let (_, name, label) = FAMILIES
                .iter()
                .find(|(c, _, _)| *c == other)
                .copied()
                .context("unknown backend")?;
            bail!(
                "backend {name} is not available: {}",
                absent_reason(name, label)
            );
        }
    };
    let name = backend.info().name;
    vigil_core::conformance::self_test(backend.as_ref())
        .map_err(|e| anyhow::anyhow!("backend {name} failed its self-test: {e}"))?;
    tracing::info!(backend = %name, "self-test passed");
    Ok(backend)
}
