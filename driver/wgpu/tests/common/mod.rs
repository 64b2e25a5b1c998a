//! What the WGSL tests share: the software adapter they run on.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use vigil_wgpu::gpu::Gpu;

/// A software Vulkan adapter (lavapipe), opened; the tests need one (CI installs
/// mesa-vulkan-drivers) and say so plainly when it is missing.
pub fn software_gpu() -> Gpu {
    let found = vigil_wgpu::discover();
    let names: Vec<String> = found.iter().map(|f| f.summary.to_string()).collect();
    let soft = found
        .into_iter()
        .find(|f| f.summary.software)
        .unwrap_or_else(|| {
            panic!(
                "no software Vulkan adapter (install mesa-vulkan-drivers for lavapipe); found: {names:?}"
            )
        });
    Gpu::open(soft.adapter).expect("opening the software adapter")
}
