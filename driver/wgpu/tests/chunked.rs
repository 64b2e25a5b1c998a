//! A batch whose per-signature table does not fit one binding runs in chunks: the
//! table's kernels over one chunk of signatures after another, with the same verdicts.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;

use vigil_core::synth::{self, Format, SynthSpec};
use vigil_core::{Backend, BackendInfo, Profile, Verdicts};
use vigil_wgpu::device::Opened;
use vigil_wgpu::gpu::Gpu;

#[test]
fn a_batch_larger_than_the_table_runs_in_chunks() {
    let found = vigil_wgpu::discover()
        .into_iter()
        .find(|f| f.summary.software)
        .expect("a software adapter (mesa-vulkan-drivers)");
    let mut opened = Opened::open(Gpu::open(found.adapter).unwrap(), None).unwrap();
    // Two groups of signatures per chunk: 1,000 signatures take 8 chunks, the last
    // one short.
    opened.limit_table_rows(128);
    let info = BackendInfo {
        name: "wgpu".into(),
        devices: vec![found.summary.to_string()],
        preferred_batch: 1024,
    };
    let device = vigil_runtime::Device::start(opened, "wgpu chunked".into(), info).unwrap();
    for (seed, count, signers) in [(7u64, 1000usize, 1usize), (8, 130, 3)] {
        let spec = SynthSpec {
            count,
            profile: Profile::Strict,
            invalid_fraction: 0.2,
            msg_len: 0..=200,
            signers,
            format: Format::Jsonl,
            seed,
        };
        let batch = Arc::new(synth::batch(&spec).unwrap());
        for profile in Profile::ALL {
            let got = device.verify(Arc::clone(&batch), profile).wait().unwrap();
            assert_eq!(
                got,
                Verdicts::reference(&batch, profile),
                "{count} transactions of {signers} signers, {profile}"
            );
        }
    }
}
