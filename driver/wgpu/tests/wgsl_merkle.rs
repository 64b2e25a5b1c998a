//! The WGSL port of the Merkle kernels on lavapipe, against the CPU oracle: BLAKE3 of
//! inputs of every awkward length at every byte alignment, and whole roots computed by
//! walking `vigil_kernels::launch::Plan::merkle` (both the level-by-level and the fused
//! route) with the runner, step by step, as a driver does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use vigil_core::merkle;
use vigil_core::Leaves;
use vigil_kernels::launch::{
    self, Binding, Buffer, Entry, HostData, Plan, Step, Ty, MERKLE_LEAVES, MERKLE_LEVEL,
    MERKLE_REDUCE,
};
use vigil_wgpu::gpu::{Bind, Gpu};

const BLAKE3_WGSL: &str = include_str!("../../../kernels/wgsl/blake3.wgsl");
const LEAVES_WGSL: &str = include_str!("../../../kernels/wgsl/entry/vigil_merkle_leaves.wgsl");
const LEVEL_WGSL: &str = include_str!("../../../kernels/wgsl/entry/vigil_merkle_level.wgsl");
const REDUCE_WGSL: &str = include_str!("../../../kernels/wgsl/entry/vigil_merkle_reduce.wgsl");

/// A test entry over the library alone: hash i is BLAKE3 of the `spans[2i + 1]` bytes at
/// arena offset `spans[2i]`, by `merkle_leaf` (`args.leaf` = 1) or by `b3_hash_arena`
/// under `args.key` with `args.flags` on every compression.
const HASH_TEST: &str = r#"
@group(0) @binding(0) var<storage, read> arena: array<u32>;
@group(0) @binding(1) var<storage, read> spans: array<u32>;
@group(0) @binding(2) var<storage, read_write> hashes: array<u32>;
struct HashArgs { count: u32, leaf: u32, flags: u32, pad: u32, key_lo: vec4<u32>, key_hi: vec4<u32> }
@group(0) @binding(3) var<uniform> args: HashArgs;

@compute @workgroup_size(64)
fn hash_test(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= args.count) { return; }
    let key = array<u32, 8>(args.key_lo.x, args.key_lo.y, args.key_lo.z, args.key_lo.w,
                            args.key_hi.x, args.key_hi.y, args.key_hi.z, args.key_hi.w);
    var h: array<u32, 8>;
    if (args.leaf == 1u) {
        h = merkle_leaf(spans[2u * i], spans[2u * i + 1u]);
    } else {
        h = b3_hash_arena(spans[2u * i], spans[2u * i + 1u], key, args.flags);
    }
    for (var k = 0u; k < 8u; k++) { hashes[8u * i + k] = h[k]; }
}
"#;

/// The merkle program's library files (`bytes`, `blake3`), as a driver joins them.
fn merkle_library() -> String {
    vigil_kernels::wgsl::library(&["bytes", "blake3"])
}

/// The module of one entry, as the driver builds it.
fn module_of(entry: &Entry) -> String {
    vigil_kernels::wgsl::entry_module(entry).expect("every Merkle entry has a module")
}

fn words_of(hash: &[u8; 32]) -> Vec<u32> {
    hash.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn bytes_of(words: &[u32]) -> [u8; 32] {
    assert_eq!(words.len(), 8);
    let mut out = [0u8; 32];
    for (o, w) in out.chunks_exact_mut(4).zip(words) {
        o.copy_from_slice(&w.to_le_bytes());
    }
    out
}

fn random_bytes(rng: &mut StdRng, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill_bytes(&mut v);
    v
}

/// The three Merkle pipelines, by entry name.
struct Pipelines {
    by_name: HashMap<&'static str, wgpu::ComputePipeline>,
}

impl Pipelines {
    fn new(gpu: &Gpu) -> Pipelines {
        let by_name = [&MERKLE_LEAVES, &MERKLE_LEVEL, &MERKLE_REDUCE]
            .into_iter()
            .map(|e| {
                let p = gpu
                    .pipeline(&module_of(e), e.name)
                    .unwrap_or_else(|err| panic!("{}: {err}", e.name));
                (e.name, p)
            })
            .collect();
        Pipelines { by_name }
    }

    fn get(&self, name: &str) -> &wgpu::ComputePipeline {
        &self.by_name[name]
    }
}

/// The work-group size the WGSL entry of `entry` declares (checked against the source
/// text by `work_group_sizes_match_the_contract`).
fn declared_group(entry: &Entry) -> usize {
    if entry.name == MERKLE_REDUCE.name {
        vigil_kernels::MERKLE_REDUCE_GROUP as usize
    } else {
        launch::GROUP
    }
}

/// Runs one launch of a plan on `nodes` and the uploaded buffers: binds its buffer
/// parameters in order (read-only for `const` pointers), then its `u32` parameters as
/// one uniform, and writes what it wrote back into the host copies.
fn run_launch(
    gpu: &Gpu,
    pipelines: &Pipelines,
    buffers: &mut HashMap<Buffer, Vec<u32>>,
    l: &launch::Launch,
) {
    assert_eq!(l.group, declared_group(l.entry), "{}", l.entry.name);
    assert_eq!(l.global % l.group, 0);
    let mut order: Vec<(Buffer, bool)> = Vec::new();
    let mut uniform: Vec<u32> = Vec::new();
    for p in l.entry.params {
        match l.bind(p) {
            Binding::Buffer(b) => {
                let writes = matches!(p.ty, Ty::U8Ptr | Ty::U32Ptr);
                order.push((b, writes));
            }
            Binding::U32(v) => uniform.push(v),
        }
    }
    let out = {
        let mut binds: Vec<Bind<'_>> = order
            .iter()
            .map(|(b, writes)| {
                let words = &buffers[b];
                if *writes {
                    Bind::ReadWrite(words)
                } else {
                    Bind::Read(words)
                }
            })
            .collect();
        binds.push(Bind::Uniform(&uniform));
        let groups = u32::try_from(l.groups()).unwrap();
        gpu.run(pipelines.get(l.entry.name), &binds, groups)
            .unwrap_or_else(|e| panic!("{}: {e}", l.entry.name))
    };
    let written: Vec<Buffer> = order.iter().filter(|o| o.1).map(|o| o.0).collect();
    assert_eq!(written.len(), out.len());
    for (b, words) in written.into_iter().zip(out) {
        buffers.insert(b, words);
    }
}

/// The root the plan computes on the device: uploads into host copies, every launch in
/// order through the runner, the download's words.
fn device_root(gpu: &Gpu, pipelines: &Pipelines, leaves: &Leaves, fused: bool) -> [u8; 32] {
    let plan = Plan::merkle(leaves, fused).unwrap();
    let mut buffers: HashMap<Buffer, Vec<u32>> = HashMap::new();
    for b in [Buffer::NodesA, Buffer::NodesB] {
        buffers.insert(b, vec![0u32; plan.sizes[b.index()]]);
    }
    for step in &plan.steps {
        match step {
            Step::Upload(b, data) => {
                let words = match data {
                    HostData::U8(bytes) => common::arena_words(bytes),
                    HostData::U32(words) => words.to_vec(),
                };
                buffers.insert(*b, words);
            }
            Step::Launch(l) => run_launch(gpu, pipelines, &mut buffers, l),
            Step::Download(b, n) => {
                assert_eq!(*n, 8);
                return bytes_of(&buffers[b][..8]);
            }
        }
    }
    panic!("the plan has no download");
}

/// Where each input of a hash test lies: (offset, bytes).
struct Arena {
    bytes: Vec<u8>,
    spans: Vec<(usize, Vec<u8>)>,
}

/// Each input at each of the four byte alignments, with random bytes between them, so
/// that a read past an input's end or before its start changes the hash.
fn arena_with(rng: &mut StdRng, inputs: &[Vec<u8>]) -> Arena {
    let mut bytes = random_bytes(rng, 3);
    let mut spans = Vec::new();
    for data in inputs {
        for align in 0..4 {
            let gap = 5 + rng.gen_range(0..8);
            bytes.extend(random_bytes(rng, gap));
            while bytes.len() % 4 != align {
                bytes.push(rng.gen());
            }
            spans.push((bytes.len(), data.clone()));
            bytes.extend_from_slice(data);
        }
    }
    bytes.extend(random_bytes(rng, 7));
    Arena { bytes, spans }
}

/// The device's hash of every span of `arena` with the test entry.
fn device_hashes(gpu: &Gpu, arena: &Arena, leaf: bool, key: &[u32], flags: u32) -> Vec<[u8; 32]> {
    let pipeline = gpu
        .pipeline(&format!("{}\n{HASH_TEST}", merkle_library()), "hash_test")
        .unwrap();
    let words = common::arena_words(&arena.bytes);
    let spans: Vec<u32> = arena
        .spans
        .iter()
        .flat_map(|(off, d)| {
            [
                u32::try_from(*off).unwrap(),
                u32::try_from(d.len()).unwrap(),
            ]
        })
        .collect();
    let count = u32::try_from(arena.spans.len()).unwrap();
    let mut args = vec![count, u32::from(leaf), flags, 0];
    args.extend_from_slice(key);
    let hashes = vec![0u32; 8 * arena.spans.len()];
    let out = gpu
        .run(
            &pipeline,
            &[
                Bind::Read(&words),
                Bind::Read(&spans),
                Bind::ReadWrite(&hashes),
                Bind::Uniform(&args),
            ],
            count.div_ceil(64),
        )
        .unwrap();
    out[0].chunks_exact(8).map(bytes_of).collect()
}

/// Lengths around every block and chunk boundary, several chunk-tree shapes, and a
/// ~70 KB input (69 chunks: a stack six deep, merges at every level).
const LENGTHS: [usize; 24] = [
    0, 1, 2, 3, 4, 5, 63, 64, 65, 127, 128, 129, 1023, 1024, 1025, 2048, 3072, 4096, 4097, 5121,
    8193, 10_000, 16_385, 70_001,
];

#[test]
fn leaf_hashes_match_the_cpu_at_every_length_and_alignment() {
    let gpu = common::software_gpu();
    let mut rng = StdRng::seed_from_u64(0x5eed_b1a3);
    let inputs: Vec<Vec<u8>> = LENGTHS.iter().map(|&n| random_bytes(&mut rng, n)).collect();
    let arena = arena_with(&mut rng, &inputs);
    let got = device_hashes(&gpu, &arena, true, &[0; 8], 0);
    assert_eq!(got.len(), 4 * LENGTHS.len());
    for ((off, data), h) in arena.spans.iter().zip(&got) {
        let want = merkle::leaf_hash(data);
        assert_eq!(
            want,
            blake3::derive_key(merkle::LEAF_CONTEXT, data),
            "oracle"
        );
        assert_eq!(*h, want, "LEAF of {} bytes at offset {off}", data.len());
    }
}

#[test]
fn plain_and_keyed_blake3_match_the_crate() {
    let gpu = common::software_gpu();
    let mut rng = StdRng::seed_from_u64(7);
    let inputs: Vec<Vec<u8>> = LENGTHS.iter().map(|&n| random_bytes(&mut rng, n)).collect();
    let arena = arena_with(&mut rng, &inputs);
    // Plain hash: the IV as key, no mode flag.
    let iv = [
        0x6A09E667u32,
        0xBB67AE85,
        0x3C6EF372,
        0xA54FF53A,
        0x510E527F,
        0x9B05688C,
        0x1F83D9AB,
        0x5BE0CD19,
    ];
    let got = device_hashes(&gpu, &arena, false, &iv, 0);
    for ((off, data), h) in arena.spans.iter().zip(&got) {
        let want = *blake3::hash(data).as_bytes();
        assert_eq!(*h, want, "hash of {} bytes at offset {off}", data.len());
    }
    // Keyed hash (KEYED_HASH = 0x10).
    let key: [u8; 32] = rng.gen();
    let got = device_hashes(&gpu, &arena, false, &words_of(&key), 0x10);
    for ((off, data), h) in arena.spans.iter().zip(&got) {
        let want = *blake3::keyed_hash(&key, data).as_bytes();
        assert_eq!(
            *h,
            want,
            "keyed hash of {} bytes at offset {off}",
            data.len()
        );
    }
}

/// The context keys written into blake3.wgsl are the crate's.
#[test]
fn context_keys_are_the_crates() {
    let keys = merkle::context_keys();
    for (name, want) in [
        ("MERKLE_LEAF_KEY", &keys.leaf),
        ("MERKLE_NODE_KEY", &keys.node),
    ] {
        let decl = format!("const {name} = array<u32, 8>(");
        let at = BLAKE3_WGSL
            .find(&decl)
            .unwrap_or_else(|| panic!("no {decl}"))
            + decl.len();
        let body = &BLAKE3_WGSL[at..at + BLAKE3_WGSL[at..].find(')').unwrap()];
        let got: Vec<u32> = body
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(|w| {
                let hex = w.trim_start_matches("0x").trim_end_matches('u');
                u32::from_str_radix(hex, 16).unwrap()
            })
            .collect();
        assert_eq!(got, words_of(want), "{name}");
    }
}

/// The reduce kernel's work-group size is `MERKLE_REDUCE_GROUP` of the headers, and the
/// per-item kernels' is the contract's `GROUP`.
#[test]
fn work_group_sizes_match_the_contract() {
    let decl = "const MERKLE_REDUCE_GROUP: u32 = ";
    let at = REDUCE_WGSL.find(decl).expect("the constant") + decl.len();
    let value: u32 = REDUCE_WGSL[at..]
        .split('u')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(value, vigil_kernels::MERKLE_REDUCE_GROUP);
    assert!(REDUCE_WGSL.contains("@workgroup_size(MERKLE_REDUCE_GROUP)"));
    assert!(REDUCE_WGSL.contains(&format!("array<u32, {}>", 8 * (value + value / 2))));
    assert_eq!(launch::GROUP, 64);
    for file in [LEAVES_WGSL, LEVEL_WGSL] {
        assert!(file.contains("@workgroup_size(64)"));
    }
}

/// Launches cover whole groups: work-items past the count write nothing.
#[test]
fn entries_write_only_their_outputs() {
    let gpu = common::software_gpu();
    let pipelines = Pipelines::new(&gpu);
    const GUARD: u32 = 0xDEAD_BEEF;
    let mut rng = StdRng::seed_from_u64(3);

    // Three leaves in a group of 64.
    let leaves: Leaves = [5usize, 0, 70]
        .iter()
        .map(|&n| random_bytes(&mut rng, n))
        .collect();
    let arena = common::arena_words(leaves.arena());
    let out = gpu
        .run(
            pipelines.get(MERKLE_LEAVES.name),
            &[
                Bind::Read(&arena),
                Bind::Read(leaves.starts()),
                Bind::ReadWrite(&[GUARD; 8 * 64]),
                Bind::Uniform(&[3]),
            ],
            1,
        )
        .unwrap();
    for (i, leaf) in leaves.iter().enumerate() {
        assert_eq!(bytes_of(&out[0][8 * i..8 * i + 8]), merkle::leaf_hash(leaf));
    }
    assert!(out[0][24..].iter().all(|&w| w == GUARD));

    // Five nodes: two pairs and a carried one; one reduce group.
    let nodes: Vec<[u8; 32]> = (0..5).map(|_| rng.gen()).collect();
    let words: Vec<u32> = nodes.iter().flat_map(words_of).collect();
    let level = gpu
        .run(
            pipelines.get(MERKLE_LEVEL.name),
            &[
                Bind::Read(&words),
                Bind::ReadWrite(&[GUARD; 8 * 64]),
                Bind::Uniform(&[5]),
            ],
            1,
        )
        .unwrap();
    assert_eq!(
        bytes_of(&level[0][..8]),
        merkle::node_hash(&nodes[0], &nodes[1])
    );
    assert_eq!(
        bytes_of(&level[0][8..16]),
        merkle::node_hash(&nodes[2], &nodes[3])
    );
    assert_eq!(bytes_of(&level[0][16..24]), nodes[4]);
    assert!(level[0][24..].iter().all(|&w| w == GUARD));

    let reduce = gpu
        .run(
            pipelines.get(MERKLE_REDUCE.name),
            &[
                Bind::Read(&words),
                Bind::ReadWrite(&[GUARD; 8 * 4]),
                Bind::Uniform(&[5]),
            ],
            // Groups past the nodes write nothing either.
            3,
        )
        .unwrap();
    assert_eq!(bytes_of(&reduce[0][..8]), merkle::root_of_nodes(&nodes));
    assert!(reduce[0][8..].iter().all(|&w| w == GUARD));
}

/// Leaves of random lengths (about one in eight empty, a few longer than a chunk).
fn random_leaves(rng: &mut StdRng, n: usize) -> Leaves {
    (0..n)
        .map(|_| {
            let len = match rng.gen_range(0..100) {
                0..=11 => 0,
                12..=13 => rng.gen_range(1025..3000),
                _ => rng.gen_range(1..300),
            };
            random_bytes(rng, len)
        })
        .collect()
}

#[test]
fn roots_through_the_plan_match_the_cpu() {
    let gpu = common::software_gpu();
    let pipelines = Pipelines::new(&gpu);
    let mut rng = StdRng::seed_from_u64(0x00c0_ffee);
    let counts = [
        1usize, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000, 4097,
    ];
    for n in counts {
        let leaves = random_leaves(&mut rng, n);
        let want = merkle::root(&leaves);
        for fused in [false, true] {
            let got = device_root(&gpu, &pipelines, &leaves, fused);
            assert_eq!(got, want, "{n} leaves, fused = {fused}");
        }
    }
    // The specified lengths as consecutive leaves (every start alignment occurs).
    let leaves: Leaves = LENGTHS
        .iter()
        .map(|&len| random_bytes(&mut rng, len))
        .collect();
    let want = merkle::root(&leaves);
    for fused in [false, true] {
        assert_eq!(device_root(&gpu, &pipelines, &leaves, fused), want);
    }
    // All leaves empty.
    let leaves: Leaves = (0..300).map(|_| Vec::new()).collect();
    let want = merkle::root(&leaves);
    for fused in [false, true] {
        assert_eq!(device_root(&gpu, &pipelines, &leaves, fused), want);
    }
}

/// The leaves launch over 4,096 leaves of 200 bytes on lavapipe (reported, not asserted):
/// whole `Gpu::run` calls (buffers made, dispatch, read back), and the same call with a
/// count of 0 to show what of it is overhead.
#[test]
fn leaves_launch_timing() {
    let gpu = common::software_gpu();
    let pipelines = Pipelines::new(&gpu);
    let mut rng = StdRng::seed_from_u64(200);
    let leaves: Leaves = (0..4096).map(|_| random_bytes(&mut rng, 200)).collect();
    let arena = common::arena_words(leaves.arena());
    let out = vec![0u32; 8 * 4096];
    let pipeline = pipelines.get(MERKLE_LEAVES.name);
    let run = |count: u32| {
        let t = Instant::now();
        let r = gpu
            .run(
                pipeline,
                &[
                    Bind::Read(&arena),
                    Bind::Read(leaves.starts()),
                    Bind::ReadWrite(&out),
                    Bind::Uniform(&[count]),
                ],
                64,
            )
            .unwrap();
        (t.elapsed(), r)
    };
    let (_, first) = run(4096);
    for (i, leaf) in leaves.iter().enumerate().step_by(97) {
        assert_eq!(
            bytes_of(&first[0][8 * i..8 * i + 8]),
            merkle::leaf_hash(leaf)
        );
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let full = median((0..5).map(|_| run(4096).0).collect());
    let empty = median((0..5).map(|_| run(0).0).collect());
    eprintln!(
        "lavapipe ({}): vigil_merkle_leaves, 4096 leaves x 200 B: {:.2} ms per run \
         (median of 5; the same run with count 0: {:.2} ms) -> {:.0} leaves/s",
        gpu.info().name,
        full.as_secs_f64() * 1e3,
        empty.as_secs_f64() * 1e3,
        4096.0 / full.as_secs_f64()
    );
}
