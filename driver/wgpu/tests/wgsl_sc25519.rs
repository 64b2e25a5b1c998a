//! Scalars mod L in WGSL (`kernels/wgsl/sc25519.wgsl`) on lavapipe, held to
//! curve25519-dalek, and the challenge entry (`vigil_ed25519_challenge`) run through the
//! launch contract on real batches, held to `vigil_core::craft::challenge`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::time::Instant;

use curve25519_dalek::Scalar;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use vigil_core::{Batch, BatchBuilder, Profile, Signer};
use vigil_kernels::launch::{Binding, Buffer, HostData, Plan, Step, Ty, ED25519_CHALLENGE};
use vigil_wgpu::gpu::{Bind, Gpu};

/// Test entries over the library: one item per invocation, `input` words in, `output`
/// words out (16 -> 8 for the reduction, 8 -> 1 for the canonical check, 8 -> 64 for the
/// digits, each an i32's bits).
const WRAPPER: &str = r#"
@group(0) @binding(0) var<storage, read> input: array<u32>;
@group(0) @binding(1) var<storage, read_write> output: array<u32>;
struct TestArgs { count: u32 }
@group(0) @binding(2) var<uniform> test_args: TestArgs;

fn load8(j: u32) -> array<u32, 8> {
    var s: array<u32, 8>;
    for (var i = 0u; i < 8u; i++) {
        s[i] = input[8u * j + i];
    }
    return s;
}

@compute @workgroup_size(64)
fn reduce_test(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    if (j >= test_args.count) {
        return;
    }
    var h: array<u32, 16>;
    for (var i = 0u; i < 16u; i++) {
        h[i] = input[16u * j + i];
    }
    let r = sc_reduce512(h);
    for (var i = 0u; i < 8u; i++) {
        output[8u * j + i] = r[i];
    }
}

@compute @workgroup_size(64)
fn canonical_test(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    if (j >= test_args.count) {
        return;
    }
    output[j] = select(0u, 1u, sc_is_canonical(load8(j)));
}

@compute @workgroup_size(64)
fn radix16_test(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    if (j >= test_args.count) {
        return;
    }
    let e = sc_signed_radix16(load8(j));
    for (var i = 0u; i < 64u; i++) {
        output[64u * j + i] = bitcast<u32>(e[i]);
    }
}
"#;

/// L as 8 little-endian words.
const L: [u32; 8] = [
    0x5cf5_d3ed,
    0x5812_631a,
    0xa2f7_9cd6,
    0x14de_f9de,
    0,
    0,
    0,
    0x1000_0000,
];

/// Runs `entry` of the scalar test module over `items` (each `per_in` words), returning
/// `per_out` words per item.
fn run_items(gpu: &Gpu, entry: &str, items: &[Vec<u32>], per_out: usize) -> Vec<Vec<u32>> {
    let source = vigil_kernels::wgsl::library(&["sc25519"]) + WRAPPER;
    let pipeline = gpu.pipeline(&source, entry).unwrap();
    let input: Vec<u32> = items.iter().flatten().copied().collect();
    let count = u32::try_from(items.len()).unwrap();
    let out = gpu
        .run(
            &pipeline,
            &[
                Bind::Read(&input),
                Bind::ReadWrite(&vec![0u32; per_out * items.len()]),
                Bind::Uniform(&[count]),
            ],
            count.div_ceil(64),
        )
        .unwrap();
    out[0].chunks(per_out).map(<[u32]>::to_vec).collect()
}

fn to_bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

fn to_words(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// The low 32 bits of t.
fn low_word(t: u64) -> u32 {
    u32::try_from(t & 0xffff_ffff).unwrap()
}

/// a * b truncated to `n` words (schoolbook), with a check that nothing was cut off.
fn mul(a: &[u32], b: &[u32], n: usize) -> Vec<u32> {
    let mut r = vec![0u32; a.len() + b.len()];
    for (i, &x) in a.iter().enumerate() {
        let mut carry = 0u64;
        for (j, &y) in b.iter().enumerate() {
            let t = u64::from(x) * u64::from(y) + u64::from(r[i + j]) + carry;
            r[i + j] = low_word(t);
            carry = t >> 32;
        }
        r[i + b.len()] = low_word(carry);
    }
    assert!(r[n..].iter().all(|&w| w == 0), "product past {n} words");
    r.truncate(n);
    r
}

/// a + d (d signed, small) mod 2^(32 n).
fn add_small(a: &[u32], d: i64) -> Vec<u32> {
    let mut r = a.to_vec();
    let mut carry = d;
    for w in &mut r {
        let t = i64::from(*w) + carry;
        *w = u32::try_from(t.rem_euclid(1 << 32)).unwrap();
        carry = t >> 32;
    }
    r
}

/// Random words, the top `bits` bits of the whole cleared or not as `bits` says: a
/// number below 2^bits.
fn random_below_pow2(rng: &mut StdRng, words: usize, bits: usize) -> Vec<u32> {
    let mut v: Vec<u32> = (0..words).map(|_| rng.next_u32()).collect();
    for (i, w) in v.iter_mut().enumerate() {
        let lo = 32 * i;
        if lo >= bits {
            *w = 0;
        } else if bits - lo < 32 {
            *w &= (1u32 << (bits - lo)) - 1;
        }
    }
    v
}

#[test]
fn reduce512_matches_dalek() {
    let gpu = common::software_gpu();
    let mut rng = StdRng::seed_from_u64(11);
    let l16: Vec<u32> = L.iter().copied().chain([0; 8]).collect();
    let mut items: Vec<Vec<u32>> = Vec::new();
    // 0, 1, L - 1, L, L + 1, 2L - 1, 2L, 2^252, 2^256, 2^511, 2^512 - 1.
    items.push(vec![0; 16]);
    items.push(add_small(&[0; 16], 1));
    for d in [-1, 0, 1] {
        items.push(add_small(&l16, d));
    }
    let two_l = mul(&l16, &[2], 16);
    items.push(add_small(&two_l, -1));
    items.push(two_l);
    for bit in [252usize, 253, 255, 256, 288, 300, 511] {
        let mut v = vec![0u32; 16];
        v[bit / 32] = 1 << (bit % 32);
        items.push(v.clone());
        items.push(add_small(&v, -1));
    }
    items.push(vec![u32::MAX; 16]);
    // Multiples of L and their neighbours: small ones, random ones of every size, and
    // the largest below 2^512, floor(2^512 / L) L.
    let mu = [
        0x0a2c_131b,
        0xed9c_e5a3,
        0x0863_29a7,
        0x2106_215d,
        0xffff_ffeb,
        0xffff_ffff,
        0xffff_ffff,
        0xffff_ffff,
        0x0000_000f,
    ];
    let mut multipliers: Vec<Vec<u32>> = vec![vec![3], vec![16], vec![u32::MAX], mu.to_vec()];
    for bits in [40, 64, 100, 128, 200, 250, 259] {
        multipliers.push(random_below_pow2(&mut rng, 9, bits));
    }
    for m in &multipliers {
        let v = mul(&l16, m, 16);
        for d in [-1, 0, 1, 2] {
            items.push(add_small(&v, d));
        }
    }
    // The multiplier check: mu L <= 2^512 - 1 < (mu + 1) L.
    assert!(mul(&l16, &add_small(&mu, 1), 17)[16] == 1);
    // Random numbers of every size up to 512 bits, and full-width ones.
    for bits in (1..=512).step_by(7) {
        items.push(random_below_pow2(&mut rng, 16, bits));
    }
    for _ in 0..600 {
        items.push((0..16).map(|_| rng.next_u32()).collect());
    }
    let got = run_items(&gpu, "reduce_test", &items, 8);
    for (x, got) in items.iter().zip(&got) {
        let wide: [u8; 64] = to_bytes(x).try_into().unwrap();
        let want = to_words(&Scalar::from_bytes_mod_order_wide(&wide).to_bytes());
        assert_eq!(got, &want, "{x:08x?} mod L");
    }
}

#[test]
fn is_canonical_is_below_l() {
    let gpu = common::software_gpu();
    let mut rng = StdRng::seed_from_u64(12);
    let mut items: Vec<Vec<u32>> = vec![vec![0; 8], vec![u32::MAX; 8]];
    for d in [-2, -1, 0, 1, 2] {
        items.push(add_small(&L, d));
    }
    for bit in [252usize, 253, 255] {
        let mut v = vec![0u32; 8];
        v[bit / 32] = 1 << (bit % 32);
        items.push(v.clone());
        items.push(add_small(&v, -1));
    }
    // L with one lower word raised or lowered: the comparison must look at every word.
    for i in 0..7 {
        let mut up = L.to_vec();
        up[i] = up[i].wrapping_add(1);
        items.push(up);
        let mut down = L.to_vec();
        down[i] = down[i].wrapping_sub(1);
        items.push(down);
    }
    for _ in 0..200 {
        let mut b = [0u8; 64];
        rng.fill_bytes(&mut b);
        items.push(to_words(&Scalar::from_bytes_mod_order_wide(&b).to_bytes()));
        items.push(random_below_pow2(&mut rng, 8, 253));
        items.push(random_below_pow2(&mut rng, 8, 256));
    }
    let got = run_items(&gpu, "canonical_test", &items, 1);
    let mut seen = [0usize; 2];
    for (s, got) in items.iter().zip(&got) {
        let bytes: [u8; 32] = to_bytes(s).try_into().unwrap();
        let want = bool::from(Scalar::from_canonical_bytes(bytes).is_some());
        assert_eq!(got[0], u32::from(want), "{s:08x?} < L");
        seen[usize::from(want)] += 1;
    }
    assert!(seen[0] > 100 && seen[1] > 100, "{seen:?}");
}

#[test]
fn signed_radix16_digits_sum_back() {
    let gpu = common::software_gpu();
    let mut rng = StdRng::seed_from_u64(13);
    let mut items: Vec<Vec<u32>> = vec![
        vec![0; 8],
        add_small(&[0; 8], 1),
        add_small(&L, -1),
        vec![0x7777_7777; 8],
        vec![0x7fff_ffff; 8],
    ];
    for bit in [252usize, 253, 255] {
        let mut v = vec![0u32; 8];
        v[bit / 32] = 1 << (bit % 32);
        items.push(add_small(&v, -1));
        if bit < 255 {
            items.push(v);
        }
    }
    let mut all_eight = vec![0x8888_8888u32; 8];
    all_eight[7] = 0x0888_8888;
    items.push(all_eight);
    for _ in 0..300 {
        let mut b = [0u8; 64];
        rng.fill_bytes(&mut b);
        items.push(to_words(&Scalar::from_bytes_mod_order_wide(&b).to_bytes()));
        items.push(random_below_pow2(&mut rng, 8, 255));
    }
    let got = run_items(&gpu, "radix16_test", &items, 64);
    for (s, got) in items.iter().zip(&got) {
        let e: Vec<i64> = got.iter().map(|&w| i64::from(w as i32)).collect();
        for (i, &d) in e.iter().enumerate() {
            let range = if i < 63 { -8..=7 } else { 0..=8 };
            assert!(range.contains(&d), "{s:08x?}: digit {i} is {d}");
        }
        if s[7] < 0x2000_0000 {
            assert!(e[63] <= 2, "{s:08x?} < 2^253: top digit {}", e[63]);
        }
        // Sum e_i 16^i back, nibble by nibble with a signed carry: it must give s's
        // nibbles exactly and leave nothing over.
        let mut carry = 0i64;
        for (i, &d) in e.iter().enumerate() {
            let v = d + carry;
            let nibble = (s[i / 8] >> (4 * (i % 8))) & 15;
            assert_eq!(v.rem_euclid(16), i64::from(nibble), "{s:08x?}: nibble {i}");
            carry = v.div_euclid(16);
        }
        assert_eq!(carry, 0, "{s:08x?}: the digits sum past s");
    }
}

/// The challenge module, as the driver builds it.
fn challenge_source() -> String {
    vigil_kernels::wgsl::entry_module(&vigil_kernels::launch::ED25519_CHALLENGE)
        .expect("the challenge entry is ported")
}

/// Runs the challenge launch of `batch`'s verification plan as a driver would (its
/// uploads, its arguments in the contract's order, its work size) and returns k_out,
/// and how long the dispatch took (buffers in and out included).
fn run_challenge(gpu: &Gpu, pipeline: &wgpu::ComputePipeline, batch: &Batch) -> (Vec<u32>, f64) {
    let plan = Plan::verify(batch, Profile::Strict).unwrap();
    let mut data: HashMap<Buffer, Vec<u32>> = HashMap::new();
    for step in &plan.steps {
        if let Step::Upload(buffer, host) = step {
            let words = match host {
                HostData::U8(bytes) => common::arena_words(bytes),
                HostData::U32(words) => words.to_vec(),
            };
            data.insert(*buffer, words);
        }
    }
    let launch = *plan.launches().next().unwrap();
    assert_eq!(launch.entry, &ED25519_CHALLENGE);
    assert_eq!(launch.group, 64);
    let k_words = plan.sizes[Buffer::Challenge.index()];
    data.insert(Buffer::Challenge, vec![0; k_words]);
    let mut binds = Vec::new();
    let mut uniform = Vec::new();
    let mut written = Vec::new();
    for (param, binding) in launch.entry.params.iter().zip(launch.arguments()) {
        match binding {
            Binding::Buffer(b) => {
                let words = &data[&b];
                match param.ty {
                    Ty::ConstU8Ptr | Ty::ConstU32Ptr => binds.push(Bind::Read(words)),
                    _ => {
                        written.push(b);
                        binds.push(Bind::ReadWrite(words));
                    }
                }
            }
            Binding::U32(v) => uniform.push(v),
        }
    }
    assert_eq!(written, [Buffer::Challenge]);
    assert_eq!(uniform, [u32::try_from(batch.signature_count()).unwrap()]);
    binds.push(Bind::Uniform(&uniform));
    let groups = u32::try_from(launch.groups()).unwrap();
    let start = Instant::now();
    let mut out = gpu.run(pipeline, &binds, groups).unwrap();
    let seconds = start.elapsed().as_secs_f64();
    (out.remove(0), seconds)
}

/// k_out against craft::challenge for every signature of `batch`.
fn check_challenges(batch: &Batch, k_out: &[u32]) {
    let n = batch.signature_count();
    assert_eq!(k_out.len(), 8 * n);
    for s in 0..n {
        let (pubkey, sig, msg) = batch.signer_item(s);
        let r: [u8; 32] = sig[..32].try_into().unwrap();
        let want = to_words(&vigil_core::craft::challenge(&r, pubkey, msg).to_bytes());
        assert_eq!(
            &k_out[8 * s..8 * s + 8],
            &want[..],
            "signer {s} of {n} (transaction {}, message of {} bytes)",
            batch.signer_tx(s),
            msg.len()
        );
    }
}

fn random_signer(rng: &mut StdRng) -> Signer {
    let mut pubkey = [0u8; 32];
    let mut signature = [0u8; 64];
    rng.fill_bytes(&mut pubkey);
    rng.fill_bytes(&mut signature);
    Signer { pubkey, signature }
}

fn random_message(rng: &mut StdRng, len: usize) -> Vec<u8> {
    let mut m = vec![0u8; len];
    rng.fill_bytes(&mut m);
    m
}

#[test]
fn challenge_entry_matches_craft() {
    let gpu = common::software_gpu();
    let pipeline = gpu
        .pipeline(&challenge_source(), ED25519_CHALLENGE.name)
        .unwrap();
    let mut rng = StdRng::seed_from_u64(14);

    // Transactions of 1 to 5 signers, messages of 0 to 400 bytes (empty ones and
    // the block edges among them), malformed transactions in between (no signers, but
    // they take a transaction index and arena bytes): every offset lands at every
    // alignment, and the signature count (well past one group) is no multiple of 64.
    let mut builder = BatchBuilder::default();
    let edges = [
        0usize, 0, 1, 47, 48, 63, 64, 111, 112, 127, 128, 175, 176, 239, 240,
    ];
    for t in 0..61 {
        let len = if t < edges.len() {
            edges[t]
        } else {
            rng.gen_range(0..=400)
        };
        let signers: Vec<Signer> = (0..rng.gen_range(1..=5))
            .map(|_| random_signer(&mut rng))
            .collect();
        builder
            .push_generic(&random_message(&mut rng, len), &signers)
            .unwrap();
        if t % 9 == 4 {
            let junk = random_message(&mut rng, t % 7);
            builder.push_malformed("test junk", &junk).unwrap();
        }
    }
    let batch = builder.finish();
    let n = batch.signature_count();
    assert!(n > 128 && n % 64 != 0, "{n} signatures");
    let (k_out, _) = run_challenge(&gpu, &pipeline, &batch);
    check_challenges(&batch, &k_out);

    // Long messages with several signers each, and a last transaction whose message
    // ends the arena (unaligned).
    let mut builder = BatchBuilder::default();
    for len in [5_000usize, 0, 20_000, 1, 12_345, 333] {
        let signers: Vec<Signer> = (0..3).map(|_| random_signer(&mut rng)).collect();
        builder
            .push_generic(&random_message(&mut rng, len), &signers)
            .unwrap();
    }
    let batch = builder.finish();
    let (k_out, _) = run_challenge(&gpu, &pipeline, &batch);
    check_challenges(&batch, &k_out);

    // One signature with an empty message.
    let mut builder = BatchBuilder::default();
    builder
        .push_generic(&[], &[random_signer(&mut rng)])
        .unwrap();
    let batch = builder.finish();
    let (k_out, _) = run_challenge(&gpu, &pipeline, &batch);
    check_challenges(&batch, &k_out);
}

/// 1,024 signatures over 200-byte messages: correct, and timed (printed, not asserted).
#[test]
fn challenge_entry_timing() {
    let gpu = common::software_gpu();
    let start = Instant::now();
    let pipeline = gpu
        .pipeline(&challenge_source(), ED25519_CHALLENGE.name)
        .unwrap();
    let compile = start.elapsed().as_secs_f64();
    let mut rng = StdRng::seed_from_u64(15);
    let mut builder = BatchBuilder::default();
    for _ in 0..1024 {
        builder
            .push_generic(&random_message(&mut rng, 200), &[random_signer(&mut rng)])
            .unwrap();
    }
    let batch = builder.finish();
    let mut times = Vec::new();
    for _ in 0..3 {
        let (k_out, seconds) = run_challenge(&gpu, &pipeline, &batch);
        check_challenges(&batch, &k_out);
        times.push(seconds);
    }
    eprintln!(
        "vigil_ed25519_challenge on {}: pipeline {:.3} s; 1024 signatures x 200-byte messages: {:?} ms per dispatch (buffers in and out included; the first also compiles the shader on lavapipe)",
        gpu.info().name,
        compile,
        times
            .iter()
            .map(|t| (t * 1e5).round() / 100.0)
            .collect::<Vec<_>>()
    );
}
