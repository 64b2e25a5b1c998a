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

/// Bytes as a byte buffer is bound to a WGSL kernel (what the driver uploads):
/// little-endian words, the tail zero padded, then one zero word more.
pub fn arena_words(bytes: &[u8]) -> Vec<u32> {
    let mut words: Vec<u32> = bytes
        .chunks(4)
        .map(|c| {
            let mut w = [0u8; 4];
            w[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(w)
        })
        .collect();
    words.push(0);
    words
}
