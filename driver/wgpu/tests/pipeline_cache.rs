//! The pipeline cache on disk: written after the pipelines are built, used on the next
//! open, and a damaged file is ignored (the pipelines are built again and still verify).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;

use vigil_core::{Backend, BackendInfo, Profile, Verdicts};
use vigil_wgpu::device::Opened;
use vigil_wgpu::gpu::Gpu;

fn software() -> vigil_wgpu::Found {
    vigil_wgpu::discover()
        .into_iter()
        .find(|f| f.summary.software)
        .expect("a software adapter (mesa-vulkan-drivers)")
}

/// Opens lavapipe through the cache in `dir` and checks a small batch's verdicts.
fn open_and_verify(dir: &std::path::Path) {
    let found = software();
    let opened = Opened::open(Gpu::open(found.adapter).unwrap(), Some(dir)).unwrap();
    let info = BackendInfo {
        name: "wgpu".into(),
        devices: vec![found.summary.to_string()],
        preferred_batch: 1024,
    };
    let device = vigil_runtime::Device::start(opened, "wgpu cached".into(), info).unwrap();
    let spec = vigil_core::synth::SynthSpec {
        count: 100,
        profile: Profile::Strict,
        invalid_fraction: 0.3,
        msg_len: 0..=100,
        signers: 1,
        format: vigil_core::synth::Format::Jsonl,
        seed: 3,
    };
    let batch = Arc::new(vigil_core::synth::batch(&spec).unwrap());
    let got = device
        .verify(Arc::clone(&batch), Profile::Strict)
        .wait()
        .unwrap();
    assert_eq!(got, Verdicts::reference(&batch, Profile::Strict));
}

#[test]
fn written_reused_and_a_damaged_file_ignored() {
    let dir = std::env::temp_dir().join(format!("vigil-wgpu-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    open_and_verify(&dir);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    // Vulkan adapters (lavapipe among them) have a pipeline cache: one file.
    assert_eq!(files.len(), 1, "{files:?}");
    open_and_verify(&dir);
    std::fs::write(&files[0], b"not a pipeline cache at all").unwrap();
    open_and_verify(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}
