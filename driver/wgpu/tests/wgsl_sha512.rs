//! SHA-512 in WGSL (`kernels/wgsl/sha512.wgsl`) on lavapipe, held to `sha2::Sha512`:
//! `sha512_ram(r_at, a_at, msg_at, msg_len)` hashes R || A || M straight out of the
//! arena, each piece at any byte offset, for messages of every length around the block
//! and padding boundaries and a few long ones.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use sha2::{Digest, Sha512};
use vigil_wgpu::gpu::{Bind, Gpu};

/// A test entry over the library: job j is four words (r_at, a_at, msg_at, msg_len),
/// its digest 16 words of `digests`.
const WRAPPER: &str = r#"
@group(0) @binding(0) var<storage, read> arena: array<u32>;
@group(0) @binding(1) var<storage, read> jobs: array<u32>;
@group(0) @binding(2) var<storage, read_write> digests: array<u32>;
struct TestArgs { count: u32 }
@group(0) @binding(3) var<uniform> test_args: TestArgs;

@compute @workgroup_size(64)
fn sha512_test(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    if (j >= test_args.count) {
        return;
    }
    let d = sha512_ram(jobs[4u * j], jobs[4u * j + 1u], jobs[4u * j + 2u], jobs[4u * j + 3u]);
    for (var i = 0u; i < 16u; i++) {
        digests[16u * j + i] = d[i];
    }
}
"#;

/// One hash to make: where R, A and M are in the arena, and what they are.
struct Job {
    at: [u32; 3],
    msg_len: usize,
    want: [u8; 64],
}

/// Hashes built into one arena, each piece placed after a few filler bytes.
#[derive(Default)]
struct Jobs {
    arena: Vec<u8>,
    jobs: Vec<Job>,
}

impl Jobs {
    /// Appends `gap` random bytes, then `piece`; returns where the piece starts.
    fn place(&mut self, rng: &mut StdRng, gap: usize, piece: &[u8]) -> u32 {
        for _ in 0..gap {
            self.arena.push(rng.gen());
        }
        let at = u32::try_from(self.arena.len()).unwrap();
        self.arena.extend_from_slice(piece);
        at
    }

    /// A job hashing random R and A and a random message of `msg_len` bytes; `gaps`
    /// (filler before each piece) set the alignments, `order` which piece goes first
    /// (0: R A M, 1: A R M as a transaction lays them out, 2: M R A).
    fn push(&mut self, rng: &mut StdRng, msg_len: usize, gaps: [usize; 3], order: usize) {
        let mut r = [0u8; 32];
        let mut a = [0u8; 32];
        let mut m = vec![0u8; msg_len];
        rng.fill_bytes(&mut r);
        rng.fill_bytes(&mut a);
        rng.fill_bytes(&mut m);
        let (r_at, a_at, m_at) = match order % 3 {
            0 => {
                let r_at = self.place(rng, gaps[0], &r);
                let a_at = self.place(rng, gaps[1], &a);
                (r_at, a_at, self.place(rng, gaps[2], &m))
            }
            1 => {
                let a_at = self.place(rng, gaps[0], &a);
                let r_at = self.place(rng, gaps[1], &r);
                (r_at, a_at, self.place(rng, gaps[2], &m))
            }
            _ => {
                let m_at = self.place(rng, gaps[0], &m);
                let r_at = self.place(rng, gaps[1], &r);
                (r_at, self.place(rng, gaps[2], &a), m_at)
            }
        };
        let want: [u8; 64] = Sha512::new()
            .chain_update(r)
            .chain_update(a)
            .chain_update(&m)
            .finalize()
            .into();
        self.jobs.push(Job {
            at: [r_at, a_at, m_at],
            msg_len,
            want,
        });
    }

    /// Runs every job on the GPU and compares each digest with sha2's.
    fn check(&self, gpu: &Gpu, pipeline: &wgpu::ComputePipeline) {
        let arena = common::arena_words(&self.arena);
        let jobs: Vec<u32> = self
            .jobs
            .iter()
            .flat_map(|j| {
                let len = u32::try_from(j.msg_len).unwrap();
                [j.at[0], j.at[1], j.at[2], len]
            })
            .collect();
        let count = u32::try_from(self.jobs.len()).unwrap();
        let out = gpu
            .run(
                pipeline,
                &[
                    Bind::Read(&arena),
                    Bind::Read(&jobs),
                    Bind::ReadWrite(&vec![0u32; 16 * self.jobs.len()]),
                    Bind::Uniform(&[count]),
                ],
                count.div_ceil(64),
            )
            .unwrap();
        for (i, job) in self.jobs.iter().enumerate() {
            let got: Vec<u8> = out[0][16 * i..16 * i + 16]
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .collect();
            assert_eq!(
                got,
                job.want.to_vec(),
                "job {i}: message of {} bytes, R at {}, A at {}, M at {}",
                job.msg_len,
                job.at[0],
                job.at[1],
                job.at[2]
            );
        }
    }
}

fn pipeline(gpu: &Gpu) -> wgpu::ComputePipeline {
    let source = vigil_kernels::wgsl::library(&["bytes", "sha512"]) + WRAPPER;
    gpu.pipeline(&source, "sha512_test").unwrap()
}

#[test]
fn every_short_length_at_random_alignments() {
    let gpu = common::software_gpu();
    let pipeline = pipeline(&gpu);
    let mut rng = StdRng::seed_from_u64(1);
    let mut jobs = Jobs::default();
    for len in 0..=300 {
        let gaps = [
            rng.gen_range(0..8),
            rng.gen_range(0..8),
            rng.gen_range(0..8),
        ];
        jobs.push(&mut rng, len, gaps, len);
    }
    assert_eq!(jobs.jobs.len(), 301);
    jobs.check(&gpu, &pipeline);
}

#[test]
fn padding_edges_at_every_alignment() {
    let gpu = common::software_gpu();
    let pipeline = pipeline(&gpu);
    let mut rng = StdRng::seed_from_u64(2);
    let mut jobs = Jobs::default();
    // Message lengths whose stream (64 + len bytes) ends just before, at and after the
    // point where the length no longer fits the block (111 / 112 mod 128) and a block
    // boundary; and the lengths named in those terms for the message itself.
    let mut lens: Vec<usize> = [47, 48, 49, 63, 64, 65, 175, 176, 177, 191, 192, 193]
        .into_iter()
        .chain([111, 112, 113, 127, 128, 129, 239, 240, 241, 255, 256, 257])
        .collect();
    lens.sort_unstable();
    lens.dedup();
    for &len in &lens {
        for align in 0..4 {
            for order in 0..3 {
                jobs.push(&mut rng, len, [align, (align + 1) % 4, 3 - align], order);
            }
        }
    }
    jobs.check(&gpu, &pipeline);
}

#[test]
fn long_messages() {
    let gpu = common::software_gpu();
    let pipeline = pipeline(&gpu);
    let mut rng = StdRng::seed_from_u64(3);
    let mut jobs = Jobs::default();
    for (i, len) in [1_000, 4_999, 5_000, 20_000, 20_047]
        .into_iter()
        .enumerate()
    {
        jobs.push(&mut rng, len, [i % 4, (i + 3) % 4, (i + 1) % 4], i);
    }
    jobs.check(&gpu, &pipeline);
}
