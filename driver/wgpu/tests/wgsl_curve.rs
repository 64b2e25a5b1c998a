//! The WGSL curve library on lavapipe: GF(2^255 - 19) (`fe25519.wgsl`), the Edwards
//! group (`ge25519.wgsl`), decompression and the double-scalar multiplication
//! (`ed25519.wgsl`, `ed25519_base.wgsl`), each against a CPU oracle: big integers for the
//! field, curve25519-dalek for the group. Each test wraps the library functions in a
//! small entry point of its own that reads its inputs from a buffer and writes results.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::OnceLock;
use std::time::Instant;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use num_bigint::BigUint;
use rand::{Rng, RngCore, SeedableRng};
use vigil_core::craft;
use vigil_wgpu::gpu::{Bind, Gpu};

/// The lavapipe device, opened once for all tests of this file.
fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(common::software_gpu)
}

/// The curve library files and [`TABLE_AS_VALUE`], with a test's own entry points after
/// them.
fn module(entry: &str) -> String {
    let lib = vigil_kernels::wgsl::library(&["fe25519", "ge25519", "ed25519_base", "ed25519"]);
    format!("{lib}\n{TABLE_AS_VALUE}\n{entry}")
}

/// The double-scalar multiplication over -A's table held as a value, built from the
/// library's pieces (ed_cached_digit, ed_straus_digit) as prepare and scalarmult use them
/// over the table buffer: what these tests hold to curve25519-dalek without a buffer
/// of tables. The entries do not use this form (it costs the shader compiler dearly).
const TABLE_AS_VALUE: &str = r#"
// [1..8](-A) as cached points: entry j - 1 = [j](-A). 7 additions and 8 conversions
// (7 x (4M + 4M) + 8 x 1M = 64M).
fn ed_table_of(neg_a: GeP3) -> array<GeCached, 8> {
    var t: array<GeCached, 8>;
    let first = ge_p3_to_cached(neg_a);
    t[0] = first;
    var q = neg_a;
    for (var j = 1u; j < 8u; j++) {
        q = ge_p1p1_to_p3(ge_add_cached(q, first));
        t[j] = ge_p3_to_cached(q);
    }
    return t;
}

// [e](-A) for a digit e in [-8, 8], from the table (the identity for e = 0).
fn ed_select_cached(table: ptr<function, array<GeCached, 8>>, e: i32) -> GeCached {
    return ed_cached_digit((*table)[max(u32(abs(e)), 1u) - 1u], e);
}

// R' = [s]B + [k](-A), s = sum s_i 16^i and k = sum k_i 16^i with digits in [-8, 8],
// given [1..8](-A) as a value (ed_table_of): 64 x ed_straus_digit from the top digit,
// then 4M for the result: the scalarmult entry's loop, with -A's table as a value
// instead of in its buffer.
fn ed_double_scalarmult(s: array<i32, 64>, k: array<i32, 64>, table: array<GeCached, 8>) -> GeP3 {
    var sd = s;
    var kd = k;
    var t = table;
    var acc = ge_p1p1_identity();
    for (var n = 0u; n < 64u; n++) {
        let i = 63u - n;
        acc = ed_straus_digit(acc, n == 0u, ed_select_cached(&t, kd[i]), sd[i]);
    }
    return ge_p1p1_to_p3(acc);
}
"#;

fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

// ---------------------------------------------------------------------------------
// Field

fn p() -> BigUint {
    (BigUint::from(1u32) << 255u32) - BigUint::from(19u32)
}

fn words_of(x: &BigUint) -> [u32; 8] {
    let mut w = [0u32; 8];
    for (i, d) in x.to_u32_digits().iter().enumerate() {
        w[i] = *d;
    }
    w
}

fn big_of_words(w: &[u32]) -> BigUint {
    BigUint::from_slice(w)
}

/// The value of 20 limbs of 13 bits (any size).
fn big_of_limbs(l: &[u32]) -> BigUint {
    l.iter().rev().fold(BigUint::from(0u32), |acc, &x| {
        (acc << 13u32) + BigUint::from(x)
    })
}

/// curve25519-dalek's `sqrt_ratio_i` over big integers: (was a nonzero square or
/// u = 0, the non-negative r).
fn sqrt_ratio_i(u: &BigUint, v: &BigUint) -> (bool, BigUint) {
    let p = p();
    let i = BigUint::from(2u32).modpow(&((&p - 1u32) / 4u32), &p);
    let v3 = v * v * v % &p;
    let v7 = &v3 * &v3 * v % &p;
    let e = (&p - 5u32) / 8u32;
    let mut r = u * &v3 % &p * (u * &v7 % &p).modpow(&e, &p) % &p;
    let check = v * &r * &r % &p;
    let neg_u = (&p - u % &p) % &p;
    let correct = check == u % &p;
    let flipped = check == neg_u;
    let flipped_i = check == &neg_u * &i % &p;
    if flipped || flipped_i {
        r = r * &i % &p;
    }
    if r.bit(0) {
        r = (&p - r) % &p;
    }
    (correct || flipped, r)
}

/// Field operations by code, on inputs given either as 8 words (through
/// `fe_from_words`) or as 20 raw limbs. Per case: 8 result words, then a flag word
/// (bit 0 a boolean result, bit 8 set if a returned element was not tight).
const FIELD: &str = r#"
@group(0) @binding(0) var<storage, read> input: array<u32>;
@group(0) @binding(1) var<storage, read_write> output: array<u32>;
struct Args { count: u32, op: u32, raw: u32 }
@group(0) @binding(2) var<uniform> args: Args;

fn load(at: u32) -> Fe {
    var h: Fe;
    if (args.raw != 0u) {
        for (var i = 0u; i < 20u; i++) { h[i] = input[at + i]; }
    } else {
        var w: array<u32, 8>;
        for (var i = 0u; i < 8u; i++) { w[i] = input[at + i]; }
        h = fe_from_words(w);
    }
    return h;
}

fn loose(f: Fe) -> u32 {
    var bad = 0u;
    for (var i = 0u; i < 20u; i++) { bad |= u32(f[i] >= 8200u); }
    return bad << 8u;
}

@compute @workgroup_size(64)
fn field(@builtin(global_invocation_id) id: vec3<u32>) {
    let s = id.x;
    if (s >= args.count) { return; }
    let a = load(40u * s);
    let b = load(40u * s + 20u);
    var r = a;
    var flag = 0u;
    switch args.op {
        case 0u: { r = a; }
        case 1u: { r = fe_add(a, b); }
        case 2u: { r = fe_sub(a, b); }
        case 3u: { r = fe_neg(a); }
        case 4u: { r = fe_mul(a, b); }
        case 5u: { r = fe_sq(a); }
        case 6u: { r = fe_invert(a); }
        case 7u: { r = fe_pow_p58(a); }
        case 8u: { let q = fe_sqrt_ratio_i(a, b); r = q.r; flag = u32(q.ok); }
        case 9u: {
            flag = u32(fe_is_zero(a)) | (u32(fe_eq(a, b)) << 1u) | (u32(fe_is_negative(a)) << 2u);
        }
        case 10u: { r = fe_carry(a); }
        case 11u: { r = fe_cneg(a, (b[0] & 1u) == 1u); }
        default: {}
    }
    if (args.op != 0u && args.op != 9u) { flag |= loose(r); }
    let w = fe_to_words(r);
    for (var i = 0u; i < 8u; i++) { output[9u * s + i] = w[i]; }
    output[9u * s + 8u] = flag;
}
"#;

fn field_pipeline() -> &'static wgpu::ComputePipeline {
    static PIPE: OnceLock<wgpu::ComputePipeline> = OnceLock::new();
    PIPE.get_or_init(|| gpu().pipeline(&module(FIELD), "field").unwrap())
}

/// Runs `op` over (a, b) cases given as 20-word records; returns (value, flag) per case.
fn run_field(op: u32, raw: bool, cases: &[([u32; 20], [u32; 20])]) -> Vec<(BigUint, u32)> {
    let mut input = Vec::with_capacity(40 * cases.len());
    for (a, b) in cases {
        input.extend_from_slice(a);
        input.extend_from_slice(b);
    }
    let n = u32::try_from(cases.len()).unwrap();
    let out = gpu()
        .run(
            field_pipeline(),
            &[
                Bind::Read(&input),
                Bind::ReadWrite(&vec![0u32; 9 * cases.len()]),
                Bind::Uniform(&[n, op, u32::from(raw)]),
            ],
            n.div_ceil(64),
        )
        .unwrap();
    out[0]
        .chunks_exact(9)
        .map(|c| (big_of_words(&c[..8]), c[8]))
        .collect()
}

fn record(w: &[u32]) -> [u32; 20] {
    let mut r = [0u32; 20];
    r[..w.len()].copy_from_slice(w);
    r
}

/// 256-bit inputs for fe_from_words: the edges, then random ones, then values near p.
fn word_inputs(n: usize, seed: u64) -> Vec<[u32; 8]> {
    let p = p();
    let mut v: Vec<BigUint> = vec![
        BigUint::from(0u32),
        BigUint::from(1u32),
        BigUint::from(2u32),
        BigUint::from(19u32),
        &p - 1u32,
        p.clone(),
        &p + 1u32,
        &p + 18u32,
        (BigUint::from(1u32) << 255u32) - 1u32,
        (BigUint::from(1u32) << 256u32) - 1u32,
        &p + (BigUint::from(1u32) << 255u32),
        BigUint::from(1u32) << 255u32,
        (&p - 1u32) / 2u32,
    ];
    let mut r = rng(seed);
    while v.len() < n {
        let mut w = [0u32; 8];
        r.fill(&mut w[..]);
        match v.len() % 4 {
            0 => w[7] |= 0x7fff_ff00,
            1 => w[..7].fill(0xffff_ffff),
            _ => {}
        }
        v.push(big_of_words(&w));
    }
    v.iter().map(words_of).collect()
}

/// What fe_from_words means: the low 255 bits, mod p.
fn reduced(w: &[u32; 8]) -> BigUint {
    let mut x = *w;
    x[7] &= 0x7fff_ffff;
    big_of_words(&x) % p()
}

#[test]
fn field_operations_match_big_integers() {
    let p = p();
    let xs = word_inputs(320, 1);
    let ys = word_inputs(320, 2);
    let mut cases: Vec<([u32; 20], [u32; 20])> = Vec::new();
    for (i, x) in xs.iter().enumerate() {
        cases.push((record(x), record(&ys[(i * 7 + 3) % ys.len()])));
    }
    // Edge pairs: every edge with every edge.
    for x in &xs[..13] {
        for y in &xs[..13] {
            cases.push((record(x), record(y)));
        }
    }
    for op in 0..=11u32 {
        let got = run_field(op, false, &cases);
        for ((a, b), (r, flag)) in cases.iter().zip(&got) {
            let a8: [u32; 8] = a[..8].try_into().unwrap();
            let b8: [u32; 8] = b[..8].try_into().unwrap();
            let (x, y) = (reduced(&a8), reduced(&b8));
            let (want, want_flag) = match op {
                0 => (x.clone(), 0),
                1 => ((&x + &y) % &p, 0),
                2 => ((&x + &p - &y) % &p, 0),
                3 => ((&p - &x) % &p, 0),
                4 => (&x * &y % &p, 0),
                5 => (&x * &x % &p, 0),
                6 => (x.modpow(&(&p - 2u32), &p), 0),
                7 => (x.modpow(&((&p - 5u32) / 8u32), &p), 0),
                8 => {
                    let (ok, r) = sqrt_ratio_i(&x, &y);
                    (r, u32::from(ok))
                }
                9 => (
                    x.clone(),
                    u32::from(x == BigUint::from(0u32))
                        | (u32::from(x == y) << 1)
                        | (u32::from(x.bit(0)) << 2),
                ),
                10 => (x.clone(), 0),
                11 => (
                    if b8[0] & 1 == 1 {
                        (&p - &x) % &p
                    } else {
                        x.clone()
                    },
                    0,
                ),
                _ => unreachable!(),
            };
            // sqrt_ratio_i's r is specified only on success and for v = 0 as dalek's.
            assert_eq!(*flag, want_flag, "op {op} flag, a {a8:08x?} b {b8:08x?}");
            assert_eq!(*r, want, "op {op}, a {a8:08x?} b {b8:08x?}");
            assert!(*r < p, "op {op}: not canonical");
        }
    }
}

#[test]
fn square_roots_of_squares_and_non_squares() {
    let p = p();
    let mut r = rng(3);
    let mut cases = Vec::new();
    let zero = BigUint::from(0u32);
    for i in 0..256u32 {
        let v = BigUint::from(r.next_u64()) * BigUint::from(r.next_u64()) % &p;
        let w = BigUint::from(r.next_u64()) << 190u32;
        // Squares (u = v w^2), arbitrary ratios, u = 0, v = 0.
        let u = match i % 4 {
            0 => &v * &w * &w % &p,
            1 => w.clone() % &p,
            2 => zero.clone(),
            _ => w.clone() % &p,
        };
        let v = if i % 8 == 3 { zero.clone() } else { v };
        cases.push((record(&words_of(&u)), record(&words_of(&v))));
    }
    let got = run_field(8, false, &cases);
    let mut squares = 0;
    for ((a, b), (root, ok)) in cases.iter().zip(&got) {
        let (u, v) = (big_of_limbs_words(a), big_of_limbs_words(b));
        let (want_ok, want_r) = sqrt_ratio_i(&u, &v);
        assert_eq!(*ok, u32::from(want_ok), "u {u} v {v}");
        assert_eq!(*root, want_r, "u {u} v {v}");
        squares += usize::from(want_ok);
    }
    assert!(squares > 100 && squares < 250, "{squares} squares");
}

fn big_of_limbs_words(r: &[u32; 20]) -> BigUint {
    big_of_words(&r[..8])
}

/// Raw limbs at the extremes each function accepts: tight (< 2^13 + 8) for all, and up
/// to 2^13.5 for the multiplication and squaring, up to 3 * 2^30 for the carry.
#[test]
fn field_bounds_at_the_extremes() {
    let p = p();
    let mut r = rng(4);
    let mut gen = |max: u32, n: usize| -> Vec<[u32; 20]> {
        (0..n)
            .map(|i| {
                let mut l = [0u32; 20];
                for x in &mut l {
                    *x = match i % 3 {
                        0 => max - 1,
                        1 => max - 1 - r.gen_range(0..4u32),
                        _ => r.gen_range(0..max),
                    };
                }
                l
            })
            .collect()
    };
    let tight = gen(8200, 192);
    let wide = gen(11585, 192);
    let huge = gen(3 << 30, 192);
    let pairs = |v: &[[u32; 20]]| -> Vec<([u32; 20], [u32; 20])> {
        v.iter()
            .enumerate()
            .map(|(i, a)| (*a, v[(i + 1) % v.len()]))
            .collect()
    };
    for (op, inputs) in [
        (1u32, &tight),
        (2, &tight),
        (3, &tight),
        (4, &wide),
        (5, &wide),
        (6, &wide),
        (10, &huge),
    ] {
        let cases = pairs(inputs);
        let got = run_field(op, true, &cases);
        for ((a, b), (res, flag)) in cases.iter().zip(&got) {
            let (x, y) = (big_of_limbs(a) % &p, big_of_limbs(b) % &p);
            let want = match op {
                1 => (&x + &y) % &p,
                2 => (&x + &p - &y) % &p,
                3 => (&p - &x) % &p,
                4 => &x * &y % &p,
                5 => &x * &x % &p,
                6 => x.modpow(&(&p - 2u32), &p),
                _ => x.clone(),
            };
            assert_eq!(*flag, 0, "op {op}: result not tight for {a:?}");
            assert_eq!(*res, want, "op {op}: {a:?} {b:?}");
        }
    }
}

// ---------------------------------------------------------------------------------
// The base-point table

/// The 13-bit limbs of x (< 2^260).
fn limbs_of(x: &BigUint) -> [u32; 20] {
    let mut l = [0u32; 20];
    let mut v = x.clone();
    for limb in &mut l {
        *limb = (&v & BigUint::from(0x1fffu32))
            .to_u32_digits()
            .first()
            .copied()
            .unwrap_or(0);
        v >>= 13u32;
    }
    l
}

fn d() -> BigUint {
    let p = p();
    let inv = BigUint::from(121_666u32).modpow(&(&p - 2u32), &p);
    (&p - BigUint::from(121_665u32) * inv % &p) % &p
}

/// The affine (x, y) of a point, from its encoding: x recovered from y with a square
/// root of our own (p = 5 mod 8), checked against the curve equation.
fn affine(point: &EdwardsPoint) -> (BigUint, BigUint) {
    let p = p();
    let enc = point.compress().to_bytes();
    let mut yb = enc;
    yb[31] &= 0x7f;
    let y = BigUint::from_bytes_le(&yb);
    let yy = &y * &y % &p;
    let u = (&yy + &p - 1u32) % &p;
    let v = (d() * &yy + 1u32) % &p;
    let xx = u * v.modpow(&(&p - 2u32), &p) % &p;
    let mut x = xx.modpow(&((&p + 3u32) / 8u32), &p);
    if &x * &x % &p != xx {
        x = x * BigUint::from(2u32).modpow(&((&p - 1u32) / 4u32), &p) % &p;
    }
    assert_eq!(&x * &x % &p, xx, "no square root");
    if x.bit(0) != (enc[31] >> 7 == 1) {
        x = (&p - x) % &p;
    }
    // -x^2 + y^2 = 1 + d x^2 y^2
    let lhs = (&yy + &p - &x * &x % &p) % &p;
    let rhs = (d() * (&x * &x % &p) % &p * &yy + 1u32) % &p;
    assert_eq!(lhs, rhs, "not on the curve");
    (x, y)
}

/// ed25519_base.wgsl as it must be: [1..8]B from curve25519-dalek in affine Niels form.
fn base_table_source() -> String {
    let p = p();
    let mut s = String::from(
        "// ed25519_base.wgsl: GENERATED by driver/wgpu/tests/wgsl_curve.rs (base_table_is_dalek_multiples);\n\
         // do not edit. Regenerate: VIGIL_REGEN=1 cargo test -p vigil-wgpu --test wgsl_curve base_table\n\
         //\n\
         // [j]B for j = 1..8, B the Ed25519 base point, in affine Niels form (y + x, y - x, 2dxy),\n\
         // each coordinate canonical (< p) as the twenty 13-bit limbs of fe25519.wgsl: entry j\n\
         // at words 60 (j - 1) .. 60 j, 20 words per coordinate. The multiples come from\n\
         // curve25519-dalek; the test recovers x from each encoding and checks the curve\n\
         // equation. Read at the index a digit names (ed_select_base in ed25519.wgsl).\n\
         // A private variable that is never written, not a `const`: naga copies a `const`\n\
         // array into a temporary wherever it is indexed at run time, and with that copy\n\
         // Mesa's lavapipe took 29 s to compile the scalarmult shader instead of 8\n\
         // (2026-12-05); drivers place a never-written initialised private array in\n\
         // constant data.\n\n\
         var<private> ED_BASE_NIELS: array<u32, 480> = array<u32, 480>(\n",
    );
    let mut point = EdwardsPoint::identity();
    for j in 1..=8 {
        point += ED25519_BASEPOINT_POINT;
        let (x, y) = affine(&point);
        let coords = [
            (&y + &x) % &p,
            (&y + &p - &x) % &p,
            BigUint::from(2u32) * d() % &p * &x % &p * &y % &p,
        ];
        s.push_str(&format!("    // [{j}]B\n"));
        for c in &coords {
            let l = limbs_of(c);
            let text: Vec<String> = l.iter().map(|v| format!("{v}u")).collect();
            s.push_str(&format!("    {},\n", text[..10].join(", ")));
            s.push_str(&format!("    {},\n", text[10..].join(", ")));
        }
    }
    s.push_str(
        ");\n\n\
         // [j]B, j in 1..8.\n\
         fn ed_base_niels(j: u32) -> GeNiels {\n\
         \x20   let at = 60u * (j - 1u);\n\
         \x20   var q: GeNiels;\n\
         \x20   for (var l = 0u; l < 20u; l++) {\n\
         \x20       q.ypx[l] = ED_BASE_NIELS[at + l];\n\
         \x20       q.ymx[l] = ED_BASE_NIELS[at + 20u + l];\n\
         \x20       q.xy2d[l] = ED_BASE_NIELS[at + 40u + l];\n\
         \x20   }\n\
         \x20   return q;\n\
         }\n",
    );
    s
}

#[test]
fn base_table_is_dalek_multiples() {
    let want = base_table_source();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../kernels/wgsl/ed25519_base.wgsl"
    );
    if std::env::var_os("VIGIL_REGEN").is_some() {
        std::fs::write(path, &want).unwrap();
    }
    assert_eq!(
        vigil_kernels::wgsl::library(&["ed25519_base"]),
        want,
        "kernels/wgsl/ed25519_base.wgsl is stale: VIGIL_REGEN=1 regenerates it"
    );
}

// ---------------------------------------------------------------------------------
// The group and decompression

fn enc_words(enc: &[u8; 32]) -> [u32; 8] {
    std::array::from_fn(|i| u32::from_le_bytes(enc[4 * i..4 * i + 4].try_into().unwrap()))
}

fn words_enc(w: &[u32]) -> [u8; 32] {
    let mut e = [0u8; 32];
    for (i, x) in w.iter().take(8).enumerate() {
        e[4 * i..4 * i + 4].copy_from_slice(&x.to_le_bytes());
    }
    e
}

/// Per case, two encodings P and Q in; out: a flag word (bit 0: P decoded, bit 1: Q
/// decoded, bit 2: P has small order), then the encodings of the decoded P, P + Q
/// (cached), P - Q, 2P and P + Q (Niels, from Q's affine coordinates).
const GROUP: &str = r#"
@group(0) @binding(0) var<storage, read> input: array<u32>;
@group(0) @binding(1) var<storage, read_write> output: array<u32>;
struct Args { count: u32 }
@group(0) @binding(2) var<uniform> args: Args;

fn load8(at: u32) -> array<u32, 8> {
    var w: array<u32, 8>;
    for (var i = 0u; i < 8u; i++) { w[i] = input[at + i]; }
    return w;
}

fn store8(at: u32, w: array<u32, 8>) {
    for (var i = 0u; i < 8u; i++) { output[at + i] = w[i]; }
}

@compute @workgroup_size(64)
fn group(@builtin(global_invocation_id) id: vec3<u32>) {
    let s = id.x;
    if (s >= args.count) { return; }
    let dp = ge_decompress(load8(16u * s));
    let dq = ge_decompress(load8(16u * s + 8u));
    let p = dp.p;
    let q = dq.p;
    let at = 41u * s;
    output[at] = u32(dp.ok) | (u32(dq.ok) << 1u) | (u32(ge_p3_has_small_order(p)) << 2u);
    store8(at + 1u, ge_p3_compress(p));
    store8(at + 9u, ge_p3_compress(ge_p1p1_to_p3(ge_add_cached(p, ge_p3_to_cached(q)))));
    store8(at + 17u, ge_p3_compress(ge_p1p1_to_p3(ge_sub_cached(p, ge_p3_to_cached(q)))));
    store8(at + 25u, ge_p2_compress(ge_p1p1_to_p2(ge_p3_dbl(p))));
    let niels = GeNiels(fe_add(q.Y, q.X), fe_sub(q.Y, q.X), fe_mul(q.T, FE_D2));
    store8(at + 33u, ge_p3_compress(ge_p1p1_to_p3(ge_add_niels(p, niels))));
}
"#;

fn run_group(cases: &[([u8; 32], [u8; 32])]) -> Vec<Vec<u32>> {
    static PIPE: OnceLock<wgpu::ComputePipeline> = OnceLock::new();
    let pipe = PIPE.get_or_init(|| gpu().pipeline(&module(GROUP), "group").unwrap());
    let mut input = Vec::new();
    for (a, b) in cases {
        input.extend_from_slice(&enc_words(a));
        input.extend_from_slice(&enc_words(b));
    }
    let n = u32::try_from(cases.len()).unwrap();
    let out = gpu()
        .run(
            pipe,
            &[
                Bind::Read(&input),
                Bind::ReadWrite(&vec![0u32; 41 * cases.len()]),
                Bind::Uniform(&[n]),
            ],
            n.div_ceil(64),
        )
        .unwrap();
    out[0].chunks_exact(41).map(<[u32]>::to_vec).collect()
}

fn random_point<R: RngCore>(r: &mut R) -> EdwardsPoint {
    let mut wide = [0u8; 64];
    r.fill_bytes(&mut wide);
    let point = ED25519_BASEPOINT_POINT * Scalar::from_bytes_mod_order_wide(&wide);
    // Every other point with a torsion component.
    if r.next_u32().is_multiple_of(2) {
        point + craft::torsion(r.next_u32() as usize)
    } else {
        point
    }
}

/// Every kind of encoding decompression must judge as curve25519-dalek does.
fn hostile_encodings() -> Vec<[u8; 32]> {
    let mut r = rng(5);
    let mut v: Vec<[u8; 32]> = Vec::new();
    for aliases in craft::small_order_aliases() {
        v.extend_from_slice(aliases);
    }
    v.extend_from_slice(craft::noncanonical_encodings());
    for _ in 0..64 {
        v.push(craft::off_curve(&mut r));
    }
    for _ in 0..64 {
        let mut e = [0u8; 32];
        r.fill_bytes(&mut e);
        v.push(e);
    }
    // y = p - 1, p, 2^255 - 1 with both signs, and all-zero / all-one strings.
    for base in [craft::P, [0xff; 32], [0u8; 32]] {
        for sign in [0u8, 0x80] {
            let mut e = base;
            e[31] = (e[31] & 0x7f) | sign;
            v.push(e);
        }
    }
    v
}

#[test]
fn decompression_matches_dalek() {
    let mut r = rng(6);
    let mut encs = hostile_encodings();
    for _ in 0..128 {
        encs.push(random_point(&mut r).compress().to_bytes());
    }
    let cases: Vec<_> = encs.iter().map(|e| (*e, *e)).collect();
    let got = run_group(&cases);
    let (mut accepted, mut rejected) = (0, 0);
    for (enc, out) in encs.iter().zip(&got) {
        let want = CompressedEdwardsY(*enc).decompress();
        assert_eq!(
            out[0] & 1 == 1,
            want.is_some(),
            "accept/reject of {enc:02x?}"
        );
        if let Some(point) = want {
            accepted += 1;
            assert_eq!(
                words_enc(&out[1..9]),
                point.compress().to_bytes(),
                "point of {enc:02x?}"
            );
            assert_eq!(
                out[0] >> 2 & 1 == 1,
                craft::small_order(&point).is_some(),
                "small order of {enc:02x?}"
            );
        } else {
            rejected += 1;
        }
    }
    assert!(
        accepted > 150 && rejected > 60,
        "{accepted} accepted, {rejected} rejected"
    );
}

#[test]
fn group_operations_match_dalek() {
    let mut r = rng(7);
    let mut points: Vec<EdwardsPoint> = (0..120).map(|_| random_point(&mut r)).collect();
    points.extend((0..8).map(craft::torsion));
    points.push(EdwardsPoint::identity());
    let mut cases = Vec::new();
    let mut pairs = Vec::new();
    for (i, a) in points.iter().enumerate() {
        for b in [
            points[(i * 5 + 1) % points.len()],
            *a,
            -a,
            craft::torsion(i),
        ] {
            cases.push((a.compress().to_bytes(), b.compress().to_bytes()));
            pairs.push((*a, b));
        }
    }
    let got = run_group(&cases);
    for ((a, b), out) in pairs.iter().zip(&got) {
        assert_eq!(out[0] & 3, 3);
        assert_eq!(
            words_enc(&out[9..17]),
            (a + b).compress().to_bytes(),
            "P + Q"
        );
        assert_eq!(
            words_enc(&out[17..25]),
            (a - b).compress().to_bytes(),
            "P - Q"
        );
        assert_eq!(words_enc(&out[25..33]), (a + a).compress().to_bytes(), "2P");
        assert_eq!(
            words_enc(&out[33..41]),
            (a + b).compress().to_bytes(),
            "P + niels(Q)"
        );
    }
}

// ---------------------------------------------------------------------------------
// The double-scalar multiplication

/// Signed radix-16 digits of a 256-bit little-endian scalar with its top bit clear:
/// sum e_i 16^i, e_i in [-8, 7] for i < 63, e_63 in [0, 8].
fn radix16(s: &[u8; 32]) -> [i32; 64] {
    let mut e = [0i32; 64];
    for i in 0..32 {
        e[2 * i] = i32::from(s[i] & 15);
        e[2 * i + 1] = i32::from(s[i] >> 4);
    }
    let mut carry = 0;
    for x in e.iter_mut().take(63) {
        *x += carry;
        carry = (*x + 8) >> 4;
        *x -= carry << 4;
    }
    e[63] += carry;
    e
}

/// Per case: A's encoding (8 words), S's digits (64), k's digits (64); out: a flag
/// (A decoded) and the encoding of [S]B + [k](-A).
const DSM: &str = r#"
@group(0) @binding(0) var<storage, read> input: array<u32>;
@group(0) @binding(1) var<storage, read_write> output: array<u32>;
struct Args { count: u32 }
@group(0) @binding(2) var<uniform> args: Args;

@compute @workgroup_size(64)
fn dsm(@builtin(global_invocation_id) id: vec3<u32>) {
    let s = id.x;
    if (s >= args.count) { return; }
    let at = 136u * s;
    var w: array<u32, 8>;
    for (var i = 0u; i < 8u; i++) { w[i] = input[at + i]; }
    var sd: array<i32, 64>;
    var kd: array<i32, 64>;
    for (var i = 0u; i < 64u; i++) {
        sd[i] = bitcast<i32>(input[at + 8u + i]);
        kd[i] = bitcast<i32>(input[at + 72u + i]);
    }
    let a = ge_decompress(w);
    let rp = ed_double_scalarmult(sd, kd, ed_table_of(ge_p3_neg(a.p)));
    let enc = ge_p3_compress(rp);
    output[9u * s] = u32(a.ok);
    for (var i = 0u; i < 8u; i++) { output[9u * s + 1u + i] = enc[i]; }
}
"#;

fn dsm_pipeline() -> &'static wgpu::ComputePipeline {
    static PIPE: OnceLock<wgpu::ComputePipeline> = OnceLock::new();
    PIPE.get_or_init(|| gpu().pipeline(&module(DSM), "dsm").unwrap())
}

fn run_dsm(cases: &[([u8; 32], [u8; 32], [u8; 32])]) -> Vec<Vec<u32>> {
    let mut input = Vec::new();
    for (a, s, k) in cases {
        input.extend_from_slice(&enc_words(a));
        input.extend(radix16(s).iter().map(|&d| d as u32));
        input.extend(radix16(k).iter().map(|&d| d as u32));
    }
    let n = u32::try_from(cases.len()).unwrap();
    let out = gpu()
        .run(
            dsm_pipeline(),
            &[
                Bind::Read(&input),
                Bind::ReadWrite(&vec![0u32; 9 * cases.len()]),
                Bind::Uniform(&[n]),
            ],
            n.div_ceil(64),
        )
        .unwrap();
    out[0].chunks_exact(9).map(<[u32]>::to_vec).collect()
}

#[test]
fn double_scalar_multiplication_matches_dalek() {
    let mut r = rng(8);
    let mut cases = Vec::new();
    let mut points = Vec::new();
    let edge_scalars = [
        Scalar::ZERO,
        Scalar::ONE,
        -Scalar::ONE,
        Scalar::from(8u32),
        Scalar::from(0x8888_8888u32),
    ];
    for n in [
        1u64,
        7,
        8,
        9,
        0x10,
        0x70,
        0x80,
        0x100,
        0x700,
        0x777,
        0x888,
        0x8888,
        0x88888888,
        0x7777_7777,
        1 << 40,
        0x7777_7777_7777_7777,
    ] {
        cases.push((
            EdwardsPoint::identity().compress().to_bytes(),
            Scalar::from(n).to_bytes(),
            Scalar::ZERO.to_bytes(),
        ));
        points.push((EdwardsPoint::identity(), Scalar::from(n), Scalar::ZERO));
        cases.push((
            ED25519_BASEPOINT_POINT.compress().to_bytes(),
            Scalar::ZERO.to_bytes(),
            Scalar::from(n).to_bytes(),
        ));
        points.push((ED25519_BASEPOINT_POINT, Scalar::ZERO, Scalar::from(n)));
    }
    for i in 0..96usize {
        let a = match i % 12 {
            0 => craft::torsion(i / 12),
            1 => EdwardsPoint::identity(),
            _ => random_point(&mut r),
        };
        let (s, k) = if i < 25 {
            (edge_scalars[i % 5], edge_scalars[i / 5 % 5])
        } else {
            let mut wide = [0u8; 64];
            r.fill_bytes(&mut wide);
            let s = Scalar::from_bytes_mod_order_wide(&wide);
            r.fill_bytes(&mut wide);
            (s, Scalar::from_bytes_mod_order_wide(&wide))
        };
        cases.push((a.compress().to_bytes(), s.to_bytes(), k.to_bytes()));
        points.push((a, s, k));
    }
    let got = run_dsm(&cases);
    let mut bad = Vec::new();
    for (i, ((a, s, k), out)) in points.iter().zip(&got).enumerate() {
        let want = EdwardsPoint::vartime_double_scalar_mul_basepoint(k, &-a, s);
        assert_eq!(out[0], 1);
        if words_enc(&out[1..9]) != want.compress().to_bytes() {
            bad.push(i);
        }
    }
    assert!(bad.is_empty(), "wrong R' for cases {bad:?}");
}

/// Per case: A's encoding and a digit e; out: [e](-A) from -A's table and [e]B from the
/// base table, each added to the identity and encoded.
const SEL: &str = r#"
@group(0) @binding(0) var<storage, read> input: array<u32>;
@group(0) @binding(1) var<storage, read_write> output: array<u32>;
struct Args { count: u32 }
@group(0) @binding(2) var<uniform> args: Args;

@compute @workgroup_size(64)
fn sel(@builtin(global_invocation_id) id: vec3<u32>) {
    let s = id.x;
    if (s >= args.count) { return; }
    var w: array<u32, 8>;
    for (var i = 0u; i < 8u; i++) { w[i] = input[9u * s + i]; }
    let e = bitcast<i32>(input[9u * s + 8u]);
    let a = ge_decompress(w);
    var t = ed_table_of(ge_p3_neg(a.p));
    let x = ge_p3_compress(ge_p1p1_to_p3(ge_add_cached(ge_p3_identity(), ed_select_cached(&t, e))));
    let y = ge_p3_compress(ge_p1p1_to_p3(ge_add_niels(ge_p3_identity(), ed_select_base(e))));
    for (var i = 0u; i < 8u; i++) { output[16u * s + i] = x[i]; output[16u * s + 8u + i] = y[i]; }
}
"#;

#[test]
fn selection_matches_dalek() {
    let pipe = gpu().pipeline(&module(SEL), "sel").unwrap();
    let mut r = rng(9);
    let mut input = Vec::new();
    let mut want = Vec::new();
    for i in 0..128i32 {
        let a = random_point(&mut r);
        let e = i % 17 - 8;
        input.extend_from_slice(&enc_words(&a.compress().to_bytes()));
        input.push(e as u32);
        let mag = Scalar::from(e.unsigned_abs());
        let (ma, mb) = (-a * mag, ED25519_BASEPOINT_POINT * mag);
        let (ma, mb) = if e < 0 { (-ma, -mb) } else { (ma, mb) };
        want.push((ma.compress().to_bytes(), mb.compress().to_bytes()));
    }
    let out = gpu()
        .run(
            &pipe,
            &[
                Bind::Read(&input),
                Bind::ReadWrite(&vec![0u32; 16 * 128]),
                Bind::Uniform(&[128]),
            ],
            2,
        )
        .unwrap();
    let mut bad = Vec::new();
    for (i, (o, (wa, wb))) in out[0].chunks_exact(16).zip(&want).enumerate() {
        if words_enc(&o[..8]) != *wa {
            bad.push((i, "A"));
        }
        if words_enc(&o[8..]) != *wb {
            bad.push((i, "B"));
        }
    }
    assert!(bad.is_empty(), "{bad:?}");
}

// ---------------------------------------------------------------------------------
// Timings (ignored by default: run with --ignored --test-threads=1 --nocapture)

/// `reps` multiplications (or squarings) in a chain per invocation.
const RATE: &str = r#"
@group(0) @binding(0) var<storage, read_write> output: array<u32>;
struct Args { count: u32, reps: u32, square: u32 }
@group(0) @binding(1) var<uniform> args: Args;

@compute @workgroup_size(64)
fn rate(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= args.count) { return; }
    var f = fe_from_words(array<u32, 8>(id.x + 3u, 5u, 7u, 11u, 13u, 17u, 19u, 23u));
    let g = fe_add(f, fe_one());
    for (var i = 0u; i < args.reps; i++) {
        if (args.square != 0u) { f = fe_sq(f); } else { f = fe_mul(f, g); }
    }
    output[id.x] = fe_to_words(f)[0];
}
"#;

#[test]
#[ignore = "timing"]
fn field_multiplication_rate() {
    let pipe = gpu().pipeline(&module(RATE), "rate").unwrap();
    let n = 4096u32;
    for (square, reps) in [(0u32, 10u32), (0, 2000), (1, 2000), (0, 20000)] {
        let start = Instant::now();
        let out = gpu()
            .run(
                &pipe,
                &[
                    Bind::ReadWrite(&vec![0; n as usize]),
                    Bind::Uniform(&[n, reps, square]),
                ],
                n / 64,
            )
            .unwrap();
        let p = p();
        let f = big_of_words(&[3, 5, 7, 11, 13, 17, 19, 23]);
        let want = if square == 1 {
            f.modpow(&(BigUint::from(1u32) << reps), &p)
        } else {
            &f * (&f + 1u32).modpow(&BigUint::from(reps), &p) % &p
        };
        assert_eq!(out[0][0], words_of(&want)[0], "the chain's result");
        let secs = start.elapsed().as_secs_f64();
        let what = if square == 1 {
            "squarings"
        } else {
            "multiplications"
        };
        eprintln!(
            "{n} invocations x {reps} {what}: {secs:.3} s, {:.2e} per second",
            f64::from(n) * f64::from(reps) / secs
        );
    }
}

#[test]
#[ignore = "timing"]
fn double_scalar_multiplication_rate() {
    let mut r = rng(10);
    let cases: Vec<_> = (0..1024)
        .map(|_| {
            let mut wide = [0u8; 64];
            r.fill_bytes(&mut wide);
            let s = Scalar::from_bytes_mod_order_wide(&wide).to_bytes();
            r.fill_bytes(&mut wide);
            let k = Scalar::from_bytes_mod_order_wide(&wide).to_bytes();
            (random_point(&mut r).compress().to_bytes(), s, k)
        })
        .collect();
    run_dsm(&cases[..64]);
    for n in [256usize, 1024] {
        let start = Instant::now();
        run_dsm(&cases[..n]);
        let secs = start.elapsed().as_secs_f64();
        eprintln!(
            "{n} invocations of decompress + table + [S]B + [k](-A) + compress: {secs:.3} s, {:.1} per second",
            n as f64 / secs
        );
    }
}
