//! The wgpu backend: Vigil's kernels in WGSL on any Vulkan, Metal or DX12 GPU.
//!
//! wgpu is how Vigil reaches GPUs that are not NVIDIA's (AMD, Intel, Apple) with no
//! vendor SDK. CI has no GPU, but Mesa's lavapipe is a real Vulkan device on the CPU, so
//! the exact shaders a GPU runs are held to the CPU oracle on every CI run.
//!
//! * **Discovery.** [`discover`] lists every adapter of the Vulkan, Metal and DX12
//!   backends (GL is left out: it has no storage-buffer guarantees the kernels can lean
//!   on). Software adapters (lavapipe, WARP) are marked as such; they are used only when
//!   asked for by name, never by `auto`.
//! * **Running.** [`gpu::Gpu`] opens an adapter with its own limits and runs a WGSL entry
//!   point over storage buffers, with every wgpu validation error turned into an error
//!   value, not a panic.
//!
//! * **Serving.** [`WgpuBackend`] runs each adapter on the shared device runtime
//!   ([`device`]: pipelines built once per adapter, slots of buffers reused, a plan of
//!   the launch contract recorded as one submission), self-tested before use.
//!
//! The kernels are the WGSL port of the device code (`kernels/wgsl/`, assembled by
//! `vigil_kernels::wgsl`).

mod backend;
pub mod device;
pub mod gpu;
mod pipeline_cache;

pub use backend::{DeviceStatus, Select, WgpuBackend};

/// The backends searched: every native one but GL.
pub const BACKENDS: wgpu::Backends = wgpu::Backends::VULKAN
    .union(wgpu::Backends::METAL)
    .union(wgpu::Backends::DX12);

/// What an adapter is, as `vigil devices` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSummary {
    /// Its name (for lavapipe: "llvmpipe (LLVM ...)").
    pub name: String,
    /// The wgpu backend it is reached through (Vulkan, Metal, Dx12).
    pub backend: String,
    /// The driver's name and version, as the adapter gives them.
    pub driver: String,
    /// Discrete, integrated, virtual, CPU or other.
    pub kind: String,
    /// Whether it is a software rasteriser on the CPU (lavapipe, WARP, SwiftShader).
    pub software: bool,
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}, {}, {})",
            self.name, self.backend, self.kind, self.driver
        )
    }
}

/// An adapter found by [`discover`].
pub struct Found {
    /// The adapter, to open.
    pub adapter: wgpu::Adapter,
    /// What it is.
    pub summary: AdapterSummary,
}

/// Summarises an adapter's information.
pub fn summarize(info: &wgpu::AdapterInfo) -> AdapterSummary {
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => "discrete GPU",
        wgpu::DeviceType::IntegratedGpu => "integrated GPU",
        wgpu::DeviceType::VirtualGpu => "virtual GPU",
        wgpu::DeviceType::Cpu => "CPU",
        wgpu::DeviceType::Other => "other",
    };
    let driver = [info.driver.trim(), info.driver_info.trim()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    AdapterSummary {
        name: info.name.trim().to_owned(),
        backend: format!("{:?}", info.backend),
        driver: if driver.is_empty() {
            "driver unnamed".to_owned()
        } else {
            driver
        },
        kind: kind.to_owned(),
        software: info.device_type == wgpu::DeviceType::Cpu,
    }
}

/// Every adapter of [`BACKENDS`] on this machine (none is not an error here: the
/// caller says why it matters).
pub fn discover() -> Vec<Found> {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = BACKENDS;
    desc.flags = wgpu::InstanceFlags::empty();
    let instance = wgpu::Instance::new(desc);
    pollster::block_on(instance.enumerate_adapters(BACKENDS))
        .into_iter()
        .map(|adapter| Found {
            summary: summarize(&adapter.get_info()),
            adapter,
        })
        .collect()
}
