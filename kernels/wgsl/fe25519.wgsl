// fe25519.wgsl: arithmetic in GF(p), p = 2^255 - 19, for the WGSL port.
//
// WHY THIS REPRESENTATION
//
// The C code (fe25519.h) multiplies 32x32 -> 64 bits; WGSL has neither 64-bit integers
// nor a high-half multiply, so a product must fit in 32 bits. An element here is twenty
// u32 limbs of 13 bits:
//
//     value = sum over i < 20 of f[i] * 2^(13 i)      (260 bits of room)
//
// A product of two 13-bit limbs has 26 bits and a column of up to 20 of them stays
// below 2^31, so a multiplication is 400 plain u32 multiply-adds with no split
// accumulation, followed by one carry pass. The top of a product folds back with
// 2^260 = 2^5 * 2^255 = 32 * 19 = 608 (mod p). A squaring takes 210 products (the
// cross terms against a doubled operand).
//
// Measured on lavapipe (Mesa's CPU Vulkan on this development machine, test
// `field_multiplication_rate` in driver/wgpu/tests/wgsl_curve.rs, 4096 invocations each
// running a dependent chain): 1.9e8 multiplications per second, squarings the same.
// The alternative, 16 limbs of 16 bits, was not measured: its 32-bit products must be
// split into 16-bit halves for the column sums (256 multiplies but about 5 operations
// each, against 400 multiplies and 1 addition each here) and its carry pass is twice
// as wide, so the 13-bit layout was taken without a race. A measurement on real GPUs is
// still to be made.
//
// Unlike fe25519.h there is no headroom for lazy additions (two tight operands summed
// would exceed what a multiplication accepts), so every addition and subtraction
// carries; the carry is 20 shift/mask/add steps, cheap beside a multiplication. The
// benefit is a single bound everywhere: every function returns "tight" limbs and every
// function accepts them, so the group formulas need no bound annotations.
//
// BOUNDS
//
//   tight: every limb < 2^13 + 8 (limbs other than 2 are < 2^13; limb 2 may take the
//          last carry of the wrap-around). Every function returning Fe returns tight
//          limbs, except fe_from_words (< 2^13, also tight) and the constants (< 2^13).
//   fe_mul, fe_sq accept limbs < 2^13.5 (11585): then every column sum of 20 products
//          is below 20 * 2^27 < 2^31.4, and the folded sums below 2^31.6.
//   fe_carry, fe_to_words, fe_is_zero, fe_is_negative accept limbs < 3 * 2^30 (the
//          carries then stay below 2^19 and the wrap-around 608 * carry below 2^29).
//   fe_add: f + g limb-wise < 3 * 2^30 (any two tight elements).
//   fe_sub, fe_neg: the subtrahend g limb-wise <= 15168 (tight is), f < 2^30; the
//          result is f + 64p - g, whose limbs are non-negative because 64p is written
//          with every limb >= 15168 (FE_64P below).
//
// Canonical form (fe_to_words): after a carry the value is below 2^260; the bits from
// 255 up fold back times 19, leaving a value below 2^255 + 2^10 < 2p - 19; then
// q = floor((f + 19) / 2^255) is 1 exactly when f >= p, and f + 19q with bit 255
// dropped is f mod p.
//
// Unrolled code: the column sums, carries, additions, selections and word packing are
// written out with constant indices so that every limb stays a scalar. A dynamically
// indexed array parameter goes to memory (naga copies it into a local variable), and
// with fe_add / fe_sub / fe_select written as loops over the limbs, the double-scalar
// multiplication (ed25519.wgsl) came out WRONG on lavapipe, silently and depending on
// the inputs of neighbouring invocations, while each function alone passed its tests;
// written out, it is right. Keep hot field code free of run-time indices; the exponentiations keep their squaring runs as rolled loops
// (fe_sqn), which keeps the compiled size of the modules that use them small.
// Nothing branches on data: every function is straight-line code.

alias Fe = array<u32, 20>;

// 64p, limb-wise, every limb >= 15168 (what fe_sub adds before subtracting; written out
// there with constant indices).
const FE_64P = array<u32, 20>(15168u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u);

// d = -121665/121666, 2d, and sqrt(-1) = 2^((p-1)/4) (the even root, as
// curve25519-dalek's SQRT_M1). Canonical limbs.
const FE_D = array<u32, 20>(6307u, 6859u, 4740u, 5787u, 5982u, 3157u, 1287u, 2472u, 4106u, 3u, 6694u, 3827u, 1943u, 928u, 3635u, 8142u, 2927u, 1905u, 219u, 164u);
const FE_D2 = array<u32, 20>(4441u, 5527u, 1289u, 3383u, 3773u, 6315u, 2574u, 4944u, 20u, 7u, 5196u, 7655u, 3886u, 1856u, 7270u, 8092u, 5855u, 3810u, 438u, 72u);
const FE_SQRTM1 = array<u32, 20>(176u, 4213u, 2514u, 7222u, 3150u, 4668u, 5311u, 213u, 792u, 6522u, 5609u, 7159u, 2451u, 1664u, 3245u, 7137u, 4033u, 1026u, 201u, 87u);

fn fe_zero() -> Fe {
    return Fe();
}

fn fe_one() -> Fe {
    var h = Fe();
    h[0] = 1u;
    return h;
}

// The low 255 bits of the 256-bit little-endian integer w[0..8) (bit 255 ignored).
// A value >= p (a non-canonical encoding) is kept and taken mod p by what follows, as
// curve25519-dalek's FieldElement::from_bytes does. Output limbs < 2^13.
fn fe_from_words(w: array<u32, 8>) -> Fe {
    var h: Fe;
    h[0] = w[0] & 0x1fffu;
    h[1] = (w[0] >> 13u) & 0x1fffu;
    h[2] = ((w[0] >> 26u) | (w[1] << 6u)) & 0x1fffu;
    h[3] = (w[1] >> 7u) & 0x1fffu;
    h[4] = ((w[1] >> 20u) | (w[2] << 12u)) & 0x1fffu;
    h[5] = (w[2] >> 1u) & 0x1fffu;
    h[6] = (w[2] >> 14u) & 0x1fffu;
    h[7] = ((w[2] >> 27u) | (w[3] << 5u)) & 0x1fffu;
    h[8] = (w[3] >> 8u) & 0x1fffu;
    h[9] = ((w[3] >> 21u) | (w[4] << 11u)) & 0x1fffu;
    h[10] = (w[4] >> 2u) & 0x1fffu;
    h[11] = (w[4] >> 15u) & 0x1fffu;
    h[12] = ((w[4] >> 28u) | (w[5] << 4u)) & 0x1fffu;
    h[13] = (w[5] >> 9u) & 0x1fffu;
    h[14] = ((w[5] >> 22u) | (w[6] << 10u)) & 0x1fffu;
    h[15] = (w[6] >> 3u) & 0x1fffu;
    h[16] = (w[6] >> 16u) & 0x1fffu;
    h[17] = ((w[6] >> 29u) | (w[7] << 3u)) & 0x1fffu;
    h[18] = (w[7] >> 10u) & 0x1fffu;
    h[19] = (w[7] >> 23u) & 0xffu;
    return h;
}

// f with its limbs carried: limbs < 3 * 2^30 -> tight, same value mod p.
fn fe_carry(f: Fe) -> Fe {
    var t0 = f[0];
    var t1 = f[1];
    var t2 = f[2];
    var t3 = f[3];
    var t4 = f[4];
    var t5 = f[5];
    var t6 = f[6];
    var t7 = f[7];
    var t8 = f[8];
    var t9 = f[9];
    var t10 = f[10];
    var t11 = f[11];
    var t12 = f[12];
    var t13 = f[13];
    var t14 = f[14];
    var t15 = f[15];
    var t16 = f[16];
    var t17 = f[17];
    var t18 = f[18];
    var t19 = f[19];
    t1 += t0 >> 13u; t0 &= 0x1fffu;
    t2 += t1 >> 13u; t1 &= 0x1fffu;
    t3 += t2 >> 13u; t2 &= 0x1fffu;
    t4 += t3 >> 13u; t3 &= 0x1fffu;
    t5 += t4 >> 13u; t4 &= 0x1fffu;
    t6 += t5 >> 13u; t5 &= 0x1fffu;
    t7 += t6 >> 13u; t6 &= 0x1fffu;
    t8 += t7 >> 13u; t7 &= 0x1fffu;
    t9 += t8 >> 13u; t8 &= 0x1fffu;
    t10 += t9 >> 13u; t9 &= 0x1fffu;
    t11 += t10 >> 13u; t10 &= 0x1fffu;
    t12 += t11 >> 13u; t11 &= 0x1fffu;
    t13 += t12 >> 13u; t12 &= 0x1fffu;
    t14 += t13 >> 13u; t13 &= 0x1fffu;
    t15 += t14 >> 13u; t14 &= 0x1fffu;
    t16 += t15 >> 13u; t15 &= 0x1fffu;
    t17 += t16 >> 13u; t16 &= 0x1fffu;
    t18 += t17 >> 13u; t17 &= 0x1fffu;
    t19 += t18 >> 13u; t18 &= 0x1fffu;
    t0 += 608u * (t19 >> 13u); t19 &= 0x1fffu;
    t1 += t0 >> 13u; t0 &= 0x1fffu;
    t2 += t1 >> 13u; t1 &= 0x1fffu;
    return Fe(t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15, t16, t17, t18, t19);
}

// The 39 column sums of a product (each < 2^31.4) -> tight. Columns 20..38 are carried
// first (leaving them < 2^13 and a column 39 < 2^19), then fold onto 0..19 times 608.
fn fe_reduce_columns(c: array<u32, 39>) -> Fe {
    var c20 = c[20];
    var c21 = c[21];
    var c22 = c[22];
    var c23 = c[23];
    var c24 = c[24];
    var c25 = c[25];
    var c26 = c[26];
    var c27 = c[27];
    var c28 = c[28];
    var c29 = c[29];
    var c30 = c[30];
    var c31 = c[31];
    var c32 = c[32];
    var c33 = c[33];
    var c34 = c[34];
    var c35 = c[35];
    var c36 = c[36];
    var c37 = c[37];
    var c38 = c[38];
    c21 += c20 >> 13u; c20 &= 0x1fffu;
    c22 += c21 >> 13u; c21 &= 0x1fffu;
    c23 += c22 >> 13u; c22 &= 0x1fffu;
    c24 += c23 >> 13u; c23 &= 0x1fffu;
    c25 += c24 >> 13u; c24 &= 0x1fffu;
    c26 += c25 >> 13u; c25 &= 0x1fffu;
    c27 += c26 >> 13u; c26 &= 0x1fffu;
    c28 += c27 >> 13u; c27 &= 0x1fffu;
    c29 += c28 >> 13u; c28 &= 0x1fffu;
    c30 += c29 >> 13u; c29 &= 0x1fffu;
    c31 += c30 >> 13u; c30 &= 0x1fffu;
    c32 += c31 >> 13u; c31 &= 0x1fffu;
    c33 += c32 >> 13u; c32 &= 0x1fffu;
    c34 += c33 >> 13u; c33 &= 0x1fffu;
    c35 += c34 >> 13u; c34 &= 0x1fffu;
    c36 += c35 >> 13u; c35 &= 0x1fffu;
    c37 += c36 >> 13u; c36 &= 0x1fffu;
    c38 += c37 >> 13u; c37 &= 0x1fffu;
    let c39 = c38 >> 13u; c38 &= 0x1fffu;
    return fe_carry(array<u32, 20>(
        c[0] + 608u * c20,
        c[1] + 608u * c21,
        c[2] + 608u * c22,
        c[3] + 608u * c23,
        c[4] + 608u * c24,
        c[5] + 608u * c25,
        c[6] + 608u * c26,
        c[7] + 608u * c27,
        c[8] + 608u * c28,
        c[9] + 608u * c29,
        c[10] + 608u * c30,
        c[11] + 608u * c31,
        c[12] + 608u * c32,
        c[13] + 608u * c33,
        c[14] + 608u * c34,
        c[15] + 608u * c35,
        c[16] + 608u * c36,
        c[17] + 608u * c37,
        c[18] + 608u * c38,
        c[19] + 608u * c39
    ));
}

// f * g. Limbs < 2^13.5 -> tight. 400 multiplications.
fn fe_mul(f: Fe, g: Fe) -> Fe {
    let f0 = f[0]; let g0 = g[0];
    let f1 = f[1]; let g1 = g[1];
    let f2 = f[2]; let g2 = g[2];
    let f3 = f[3]; let g3 = g[3];
    let f4 = f[4]; let g4 = g[4];
    let f5 = f[5]; let g5 = g[5];
    let f6 = f[6]; let g6 = g[6];
    let f7 = f[7]; let g7 = g[7];
    let f8 = f[8]; let g8 = g[8];
    let f9 = f[9]; let g9 = g[9];
    let f10 = f[10]; let g10 = g[10];
    let f11 = f[11]; let g11 = g[11];
    let f12 = f[12]; let g12 = g[12];
    let f13 = f[13]; let g13 = g[13];
    let f14 = f[14]; let g14 = g[14];
    let f15 = f[15]; let g15 = g[15];
    let f16 = f[16]; let g16 = g[16];
    let f17 = f[17]; let g17 = g[17];
    let f18 = f[18]; let g18 = g[18];
    let f19 = f[19]; let g19 = g[19];
    let c0 = f0 * g0;
    let c1 = f0 * g1 + f1 * g0;
    let c2 = f0 * g2 + f1 * g1 + f2 * g0;
    let c3 = f0 * g3 + f1 * g2 + f2 * g1 + f3 * g0;
    let c4 = f0 * g4 + f1 * g3 + f2 * g2 + f3 * g1 + f4 * g0;
    let c5 = f0 * g5 + f1 * g4 + f2 * g3 + f3 * g2 + f4 * g1 + f5 * g0;
    let c6 = f0 * g6 + f1 * g5 + f2 * g4 + f3 * g3 + f4 * g2 + f5 * g1 + f6 * g0;
    let c7 = f0 * g7 + f1 * g6 + f2 * g5 + f3 * g4 + f4 * g3 + f5 * g2 + f6 * g1 + f7 * g0;
    let c8 = f0 * g8 + f1 * g7 + f2 * g6 + f3 * g5 + f4 * g4 + f5 * g3 + f6 * g2 + f7 * g1 + f8 * g0;
    let c9 = f0 * g9 + f1 * g8 + f2 * g7 + f3 * g6 + f4 * g5 + f5 * g4 + f6 * g3 + f7 * g2 + f8 * g1 + f9 * g0;
    let c10 = f0 * g10 + f1 * g9 + f2 * g8 + f3 * g7 + f4 * g6 + f5 * g5 + f6 * g4 + f7 * g3 + f8 * g2 + f9 * g1 + f10 * g0;
    let c11 = f0 * g11 + f1 * g10 + f2 * g9 + f3 * g8 + f4 * g7 + f5 * g6 + f6 * g5 + f7 * g4 + f8 * g3 + f9 * g2 + f10 * g1 + f11 * g0;
    let c12 = f0 * g12 + f1 * g11 + f2 * g10 + f3 * g9 + f4 * g8 + f5 * g7 + f6 * g6 + f7 * g5 + f8 * g4 + f9 * g3 + f10 * g2 + f11 * g1 + f12 * g0;
    let c13 = f0 * g13 + f1 * g12 + f2 * g11 + f3 * g10 + f4 * g9 + f5 * g8 + f6 * g7 + f7 * g6 + f8 * g5 + f9 * g4 + f10 * g3 + f11 * g2 + f12 * g1 + f13 * g0;
    let c14 = f0 * g14 + f1 * g13 + f2 * g12 + f3 * g11 + f4 * g10 + f5 * g9 + f6 * g8 + f7 * g7 + f8 * g6 + f9 * g5 + f10 * g4 + f11 * g3 + f12 * g2 + f13 * g1 + f14 * g0;
    let c15 = f0 * g15 + f1 * g14 + f2 * g13 + f3 * g12 + f4 * g11 + f5 * g10 + f6 * g9 + f7 * g8 + f8 * g7 + f9 * g6 + f10 * g5 + f11 * g4 + f12 * g3 + f13 * g2 + f14 * g1 + f15 * g0;
    let c16 = f0 * g16 + f1 * g15 + f2 * g14 + f3 * g13 + f4 * g12 + f5 * g11 + f6 * g10 + f7 * g9 + f8 * g8 + f9 * g7 + f10 * g6 + f11 * g5 + f12 * g4 + f13 * g3 + f14 * g2 + f15 * g1 + f16 * g0;
    let c17 = f0 * g17 + f1 * g16 + f2 * g15 + f3 * g14 + f4 * g13 + f5 * g12 + f6 * g11 + f7 * g10 + f8 * g9 + f9 * g8 + f10 * g7 + f11 * g6 + f12 * g5 + f13 * g4 + f14 * g3 + f15 * g2 + f16 * g1 + f17 * g0;
    let c18 = f0 * g18 + f1 * g17 + f2 * g16 + f3 * g15 + f4 * g14 + f5 * g13 + f6 * g12 + f7 * g11 + f8 * g10 + f9 * g9 + f10 * g8 + f11 * g7 + f12 * g6 + f13 * g5 + f14 * g4 + f15 * g3 + f16 * g2 + f17 * g1 + f18 * g0;
    let c19 = f0 * g19 + f1 * g18 + f2 * g17 + f3 * g16 + f4 * g15 + f5 * g14 + f6 * g13 + f7 * g12 + f8 * g11 + f9 * g10 + f10 * g9 + f11 * g8 + f12 * g7 + f13 * g6 + f14 * g5 + f15 * g4 + f16 * g3 + f17 * g2 + f18 * g1 + f19 * g0;
    let c20 = f1 * g19 + f2 * g18 + f3 * g17 + f4 * g16 + f5 * g15 + f6 * g14 + f7 * g13 + f8 * g12 + f9 * g11 + f10 * g10 + f11 * g9 + f12 * g8 + f13 * g7 + f14 * g6 + f15 * g5 + f16 * g4 + f17 * g3 + f18 * g2 + f19 * g1;
    let c21 = f2 * g19 + f3 * g18 + f4 * g17 + f5 * g16 + f6 * g15 + f7 * g14 + f8 * g13 + f9 * g12 + f10 * g11 + f11 * g10 + f12 * g9 + f13 * g8 + f14 * g7 + f15 * g6 + f16 * g5 + f17 * g4 + f18 * g3 + f19 * g2;
    let c22 = f3 * g19 + f4 * g18 + f5 * g17 + f6 * g16 + f7 * g15 + f8 * g14 + f9 * g13 + f10 * g12 + f11 * g11 + f12 * g10 + f13 * g9 + f14 * g8 + f15 * g7 + f16 * g6 + f17 * g5 + f18 * g4 + f19 * g3;
    let c23 = f4 * g19 + f5 * g18 + f6 * g17 + f7 * g16 + f8 * g15 + f9 * g14 + f10 * g13 + f11 * g12 + f12 * g11 + f13 * g10 + f14 * g9 + f15 * g8 + f16 * g7 + f17 * g6 + f18 * g5 + f19 * g4;
    let c24 = f5 * g19 + f6 * g18 + f7 * g17 + f8 * g16 + f9 * g15 + f10 * g14 + f11 * g13 + f12 * g12 + f13 * g11 + f14 * g10 + f15 * g9 + f16 * g8 + f17 * g7 + f18 * g6 + f19 * g5;
    let c25 = f6 * g19 + f7 * g18 + f8 * g17 + f9 * g16 + f10 * g15 + f11 * g14 + f12 * g13 + f13 * g12 + f14 * g11 + f15 * g10 + f16 * g9 + f17 * g8 + f18 * g7 + f19 * g6;
    let c26 = f7 * g19 + f8 * g18 + f9 * g17 + f10 * g16 + f11 * g15 + f12 * g14 + f13 * g13 + f14 * g12 + f15 * g11 + f16 * g10 + f17 * g9 + f18 * g8 + f19 * g7;
    let c27 = f8 * g19 + f9 * g18 + f10 * g17 + f11 * g16 + f12 * g15 + f13 * g14 + f14 * g13 + f15 * g12 + f16 * g11 + f17 * g10 + f18 * g9 + f19 * g8;
    let c28 = f9 * g19 + f10 * g18 + f11 * g17 + f12 * g16 + f13 * g15 + f14 * g14 + f15 * g13 + f16 * g12 + f17 * g11 + f18 * g10 + f19 * g9;
    let c29 = f10 * g19 + f11 * g18 + f12 * g17 + f13 * g16 + f14 * g15 + f15 * g14 + f16 * g13 + f17 * g12 + f18 * g11 + f19 * g10;
    let c30 = f11 * g19 + f12 * g18 + f13 * g17 + f14 * g16 + f15 * g15 + f16 * g14 + f17 * g13 + f18 * g12 + f19 * g11;
    let c31 = f12 * g19 + f13 * g18 + f14 * g17 + f15 * g16 + f16 * g15 + f17 * g14 + f18 * g13 + f19 * g12;
    let c32 = f13 * g19 + f14 * g18 + f15 * g17 + f16 * g16 + f17 * g15 + f18 * g14 + f19 * g13;
    let c33 = f14 * g19 + f15 * g18 + f16 * g17 + f17 * g16 + f18 * g15 + f19 * g14;
    let c34 = f15 * g19 + f16 * g18 + f17 * g17 + f18 * g16 + f19 * g15;
    let c35 = f16 * g19 + f17 * g18 + f18 * g17 + f19 * g16;
    let c36 = f17 * g19 + f18 * g18 + f19 * g17;
    let c37 = f18 * g19 + f19 * g18;
    let c38 = f19 * g19;
    return fe_reduce_columns(array<u32, 39>(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16, c17, c18, c19, c20, c21, c22, c23, c24, c25, c26, c27, c28, c29, c30, c31, c32, c33, c34, c35, c36, c37, c38));
}

// f^2. Limbs < 2^13.5 -> tight. 210 multiplications: each cross product once, against
// the doubled limb (d[j] = 2 f[j] < 2^14.5, so f[i] d[j] < 2^28).
fn fe_sq(f: Fe) -> Fe {
    let f0 = f[0];
    let f1 = f[1];
    let f2 = f[2];
    let f3 = f[3];
    let f4 = f[4];
    let f5 = f[5];
    let f6 = f[6];
    let f7 = f[7];
    let f8 = f[8];
    let f9 = f[9];
    let f10 = f[10];
    let f11 = f[11];
    let f12 = f[12];
    let f13 = f[13];
    let f14 = f[14];
    let f15 = f[15];
    let f16 = f[16];
    let f17 = f[17];
    let f18 = f[18];
    let f19 = f[19];
    let d1 = 2u * f1;
    let d2 = 2u * f2;
    let d3 = 2u * f3;
    let d4 = 2u * f4;
    let d5 = 2u * f5;
    let d6 = 2u * f6;
    let d7 = 2u * f7;
    let d8 = 2u * f8;
    let d9 = 2u * f9;
    let d10 = 2u * f10;
    let d11 = 2u * f11;
    let d12 = 2u * f12;
    let d13 = 2u * f13;
    let d14 = 2u * f14;
    let d15 = 2u * f15;
    let d16 = 2u * f16;
    let d17 = 2u * f17;
    let d18 = 2u * f18;
    let d19 = 2u * f19;
    let c0 = f0 * f0;
    let c1 = f0 * d1;
    let c2 = f0 * d2 + f1 * f1;
    let c3 = f0 * d3 + f1 * d2;
    let c4 = f0 * d4 + f1 * d3 + f2 * f2;
    let c5 = f0 * d5 + f1 * d4 + f2 * d3;
    let c6 = f0 * d6 + f1 * d5 + f2 * d4 + f3 * f3;
    let c7 = f0 * d7 + f1 * d6 + f2 * d5 + f3 * d4;
    let c8 = f0 * d8 + f1 * d7 + f2 * d6 + f3 * d5 + f4 * f4;
    let c9 = f0 * d9 + f1 * d8 + f2 * d7 + f3 * d6 + f4 * d5;
    let c10 = f0 * d10 + f1 * d9 + f2 * d8 + f3 * d7 + f4 * d6 + f5 * f5;
    let c11 = f0 * d11 + f1 * d10 + f2 * d9 + f3 * d8 + f4 * d7 + f5 * d6;
    let c12 = f0 * d12 + f1 * d11 + f2 * d10 + f3 * d9 + f4 * d8 + f5 * d7 + f6 * f6;
    let c13 = f0 * d13 + f1 * d12 + f2 * d11 + f3 * d10 + f4 * d9 + f5 * d8 + f6 * d7;
    let c14 = f0 * d14 + f1 * d13 + f2 * d12 + f3 * d11 + f4 * d10 + f5 * d9 + f6 * d8 + f7 * f7;
    let c15 = f0 * d15 + f1 * d14 + f2 * d13 + f3 * d12 + f4 * d11 + f5 * d10 + f6 * d9 + f7 * d8;
    let c16 = f0 * d16 + f1 * d15 + f2 * d14 + f3 * d13 + f4 * d12 + f5 * d11 + f6 * d10 + f7 * d9 + f8 * f8;
    let c17 = f0 * d17 + f1 * d16 + f2 * d15 + f3 * d14 + f4 * d13 + f5 * d12 + f6 * d11 + f7 * d10 + f8 * d9;
    let c18 = f0 * d18 + f1 * d17 + f2 * d16 + f3 * d15 + f4 * d14 + f5 * d13 + f6 * d12 + f7 * d11 + f8 * d10 + f9 * f9;
    let c19 = f0 * d19 + f1 * d18 + f2 * d17 + f3 * d16 + f4 * d15 + f5 * d14 + f6 * d13 + f7 * d12 + f8 * d11 + f9 * d10;
    let c20 = f1 * d19 + f2 * d18 + f3 * d17 + f4 * d16 + f5 * d15 + f6 * d14 + f7 * d13 + f8 * d12 + f9 * d11 + f10 * f10;
    let c21 = f2 * d19 + f3 * d18 + f4 * d17 + f5 * d16 + f6 * d15 + f7 * d14 + f8 * d13 + f9 * d12 + f10 * d11;
    let c22 = f3 * d19 + f4 * d18 + f5 * d17 + f6 * d16 + f7 * d15 + f8 * d14 + f9 * d13 + f10 * d12 + f11 * f11;
    let c23 = f4 * d19 + f5 * d18 + f6 * d17 + f7 * d16 + f8 * d15 + f9 * d14 + f10 * d13 + f11 * d12;
    let c24 = f5 * d19 + f6 * d18 + f7 * d17 + f8 * d16 + f9 * d15 + f10 * d14 + f11 * d13 + f12 * f12;
    let c25 = f6 * d19 + f7 * d18 + f8 * d17 + f9 * d16 + f10 * d15 + f11 * d14 + f12 * d13;
    let c26 = f7 * d19 + f8 * d18 + f9 * d17 + f10 * d16 + f11 * d15 + f12 * d14 + f13 * f13;
    let c27 = f8 * d19 + f9 * d18 + f10 * d17 + f11 * d16 + f12 * d15 + f13 * d14;
    let c28 = f9 * d19 + f10 * d18 + f11 * d17 + f12 * d16 + f13 * d15 + f14 * f14;
    let c29 = f10 * d19 + f11 * d18 + f12 * d17 + f13 * d16 + f14 * d15;
    let c30 = f11 * d19 + f12 * d18 + f13 * d17 + f14 * d16 + f15 * f15;
    let c31 = f12 * d19 + f13 * d18 + f14 * d17 + f15 * d16;
    let c32 = f13 * d19 + f14 * d18 + f15 * d17 + f16 * f16;
    let c33 = f14 * d19 + f15 * d18 + f16 * d17;
    let c34 = f15 * d19 + f16 * d18 + f17 * f17;
    let c35 = f16 * d19 + f17 * d18;
    let c36 = f17 * d19 + f18 * f18;
    let c37 = f18 * d19;
    let c38 = f19 * f19;
    return fe_reduce_columns(array<u32, 39>(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16, c17, c18, c19, c20, c21, c22, c23, c24, c25, c26, c27, c28, c29, c30, c31, c32, c33, c34, c35, c36, c37, c38));
}

// f^(2^n), n >= 1. Rolled.
fn fe_sqn(f: Fe, n: u32) -> Fe {
    var h = fe_sq(f);
    for (var i = 1u; i < n; i++) {
        h = fe_sq(h);
    }
    return h;
}

// f + g, carried. Tight inputs (f + g < 3 * 2^30 limb-wise) -> tight.
fn fe_add(f: Fe, g: Fe) -> Fe {
    return fe_carry(Fe(
        f[0] + g[0],
        f[1] + g[1],
        f[2] + g[2],
        f[3] + g[3],
        f[4] + g[4],
        f[5] + g[5],
        f[6] + g[6],
        f[7] + g[7],
        f[8] + g[8],
        f[9] + g[9],
        f[10] + g[10],
        f[11] + g[11],
        f[12] + g[12],
        f[13] + g[13],
        f[14] + g[14],
        f[15] + g[15],
        f[16] + g[16],
        f[17] + g[17],
        f[18] + g[18],
        f[19] + g[19],
    ));
}

// f - g = f + 64p - g, carried. g tight, f limbs < 2^30 -> tight.
fn fe_sub(f: Fe, g: Fe) -> Fe {
    return fe_carry(Fe(
        f[0] + 15168u - g[0],
        f[1] + 16382u - g[1],
        f[2] + 16382u - g[2],
        f[3] + 16382u - g[3],
        f[4] + 16382u - g[4],
        f[5] + 16382u - g[5],
        f[6] + 16382u - g[6],
        f[7] + 16382u - g[7],
        f[8] + 16382u - g[8],
        f[9] + 16382u - g[9],
        f[10] + 16382u - g[10],
        f[11] + 16382u - g[11],
        f[12] + 16382u - g[12],
        f[13] + 16382u - g[13],
        f[14] + 16382u - g[14],
        f[15] + 16382u - g[15],
        f[16] + 16382u - g[16],
        f[17] + 16382u - g[17],
        f[18] + 16382u - g[18],
        f[19] + 16382u - g[19],
    ));
}

// -f = 64p - f, carried. f tight -> tight.
fn fe_neg(f: Fe) -> Fe {
    return fe_sub(Fe(), f);
}

// c ? g : f, limb by limb with select (no branch).
fn fe_select(f: Fe, g: Fe, c: bool) -> Fe {
    return Fe(
        select(f[0], g[0], c),
        select(f[1], g[1], c),
        select(f[2], g[2], c),
        select(f[3], g[3], c),
        select(f[4], g[4], c),
        select(f[5], g[5], c),
        select(f[6], g[6], c),
        select(f[7], g[7], c),
        select(f[8], g[8], c),
        select(f[9], g[9], c),
        select(f[10], g[10], c),
        select(f[11], g[11], c),
        select(f[12], g[12], c),
        select(f[13], g[13], c),
        select(f[14], g[14], c),
        select(f[15], g[15], c),
        select(f[16], g[16], c),
        select(f[17], g[17], c),
        select(f[18], g[18], c),
        select(f[19], g[19], c),
    );
}

// c ? -f : f. f tight -> tight.
fn fe_cneg(f: Fe, c: bool) -> Fe {
    return fe_select(f, fe_neg(f), c);
}

// The canonical value of f (in [0, p)) as a 256-bit little-endian integer in 8 words
// (bit 255 is 0). Limbs < 3 * 2^30.
fn fe_to_words(f: Fe) -> array<u32, 8> {
    let h = fe_carry(f);
    var t0 = h[0];
    var t1 = h[1];
    var t2 = h[2];
    var t3 = h[3];
    var t4 = h[4];
    var t5 = h[5];
    var t6 = h[6];
    var t7 = h[7];
    var t8 = h[8];
    var t9 = h[9];
    var t10 = h[10];
    var t11 = h[11];
    var t12 = h[12];
    var t13 = h[13];
    var t14 = h[14];
    var t15 = h[15];
    var t16 = h[16];
    var t17 = h[17];
    var t18 = h[18];
    var t19 = h[19];
    let top = t19 >> 8u; t19 &= 0xffu;
    t0 += 19u * top;
    t1 += t0 >> 13u; t0 &= 0x1fffu;
    t2 += t1 >> 13u; t1 &= 0x1fffu;
    t3 += t2 >> 13u; t2 &= 0x1fffu;
    t4 += t3 >> 13u; t3 &= 0x1fffu;
    t5 += t4 >> 13u; t4 &= 0x1fffu;
    t6 += t5 >> 13u; t5 &= 0x1fffu;
    t7 += t6 >> 13u; t6 &= 0x1fffu;
    t8 += t7 >> 13u; t7 &= 0x1fffu;
    t9 += t8 >> 13u; t8 &= 0x1fffu;
    t10 += t9 >> 13u; t9 &= 0x1fffu;
    t11 += t10 >> 13u; t10 &= 0x1fffu;
    t12 += t11 >> 13u; t11 &= 0x1fffu;
    t13 += t12 >> 13u; t12 &= 0x1fffu;
    t14 += t13 >> 13u; t13 &= 0x1fffu;
    t15 += t14 >> 13u; t14 &= 0x1fffu;
    t16 += t15 >> 13u; t15 &= 0x1fffu;
    t17 += t16 >> 13u; t16 &= 0x1fffu;
    t18 += t17 >> 13u; t17 &= 0x1fffu;
    t19 += t18 >> 13u; t18 &= 0x1fffu;
    var q = (t0 + 19u) >> 13u;
    q = (t1 + q) >> 13u;
    q = (t2 + q) >> 13u;
    q = (t3 + q) >> 13u;
    q = (t4 + q) >> 13u;
    q = (t5 + q) >> 13u;
    q = (t6 + q) >> 13u;
    q = (t7 + q) >> 13u;
    q = (t8 + q) >> 13u;
    q = (t9 + q) >> 13u;
    q = (t10 + q) >> 13u;
    q = (t11 + q) >> 13u;
    q = (t12 + q) >> 13u;
    q = (t13 + q) >> 13u;
    q = (t14 + q) >> 13u;
    q = (t15 + q) >> 13u;
    q = (t16 + q) >> 13u;
    q = (t17 + q) >> 13u;
    q = (t18 + q) >> 13u;
    q = (t19 + q) >> 8u;
    t0 += 19u * q;
    t1 += t0 >> 13u; t0 &= 0x1fffu;
    t2 += t1 >> 13u; t1 &= 0x1fffu;
    t3 += t2 >> 13u; t2 &= 0x1fffu;
    t4 += t3 >> 13u; t3 &= 0x1fffu;
    t5 += t4 >> 13u; t4 &= 0x1fffu;
    t6 += t5 >> 13u; t5 &= 0x1fffu;
    t7 += t6 >> 13u; t6 &= 0x1fffu;
    t8 += t7 >> 13u; t7 &= 0x1fffu;
    t9 += t8 >> 13u; t8 &= 0x1fffu;
    t10 += t9 >> 13u; t9 &= 0x1fffu;
    t11 += t10 >> 13u; t10 &= 0x1fffu;
    t12 += t11 >> 13u; t11 &= 0x1fffu;
    t13 += t12 >> 13u; t12 &= 0x1fffu;
    t14 += t13 >> 13u; t13 &= 0x1fffu;
    t15 += t14 >> 13u; t14 &= 0x1fffu;
    t16 += t15 >> 13u; t15 &= 0x1fffu;
    t17 += t16 >> 13u; t16 &= 0x1fffu;
    t18 += t17 >> 13u; t17 &= 0x1fffu;
    t19 += t18 >> 13u; t18 &= 0x1fffu;
    t19 &= 0xffu;
    var w: array<u32, 8>;
    w[0] = t0 | (t1 << 13u) | (t2 << 26u);
    w[1] = (t2 >> 6u) | (t3 << 7u) | (t4 << 20u);
    w[2] = (t4 >> 12u) | (t5 << 1u) | (t6 << 14u) | (t7 << 27u);
    w[3] = (t7 >> 5u) | (t8 << 8u) | (t9 << 21u);
    w[4] = (t9 >> 11u) | (t10 << 2u) | (t11 << 15u) | (t12 << 28u);
    w[5] = (t12 >> 4u) | (t13 << 9u) | (t14 << 22u);
    w[6] = (t14 >> 10u) | (t15 << 3u) | (t16 << 16u) | (t17 << 29u);
    w[7] = (t17 >> 3u) | (t18 << 10u) | (t19 << 23u);
    return w;
}

// f == 0 mod p.
fn fe_is_zero(f: Fe) -> bool {
    let w = fe_to_words(f);
    return (w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7]) == 0u;
}

// f == g mod p. Tight inputs.
fn fe_eq(f: Fe, g: Fe) -> bool {
    return fe_is_zero(fe_sub(f, g));
}

// The canonical value of f is odd ("negative" in RFC 8032's sense).
fn fe_is_negative(f: Fe) -> bool {
    return (fe_to_words(f)[0] & 1u) == 1u;
}

// z^(2^250 - 1) and z^11, the shared start of the exponentiations (249 squarings,
// 10 multiplications). Names z2_a_b = z^(2^a - 2^b).
struct FePow {
    z2_250_0: Fe,
    z11: Fe,
}

fn fe_pow22501(z: Fe) -> FePow {
    let z2 = fe_sq(z);
    let z9 = fe_mul(fe_sqn(z2, 2u), z);
    let z11 = fe_mul(z9, z2);
    let z2_5_0 = fe_mul(fe_sq(z11), z9);
    let z2_10_0 = fe_mul(fe_sqn(z2_5_0, 5u), z2_5_0);
    let z2_20_0 = fe_mul(fe_sqn(z2_10_0, 10u), z2_10_0);
    let z2_40_0 = fe_mul(fe_sqn(z2_20_0, 20u), z2_20_0);
    let z2_50_0 = fe_mul(fe_sqn(z2_40_0, 10u), z2_10_0);
    let z2_100_0 = fe_mul(fe_sqn(z2_50_0, 50u), z2_50_0);
    let z2_200_0 = fe_mul(fe_sqn(z2_100_0, 100u), z2_100_0);
    let z2_250_0 = fe_mul(fe_sqn(z2_200_0, 50u), z2_50_0);
    return FePow(z2_250_0, z11);
}

// 1/z = z^(p-2) = z^(2^255 - 21) (0 for z = 0): 254 squarings, 11 multiplications.
fn fe_invert(z: Fe) -> Fe {
    let t = fe_pow22501(z);
    return fe_mul(fe_sqn(t.z2_250_0, 5u), t.z11);
}

// z^((p-5)/8) = z^(2^252 - 3) = (z^(2^250 - 1))^4 * z.
fn fe_pow_p58(z: Fe) -> Fe {
    let t = fe_pow22501(z);
    return fe_mul(fe_sqn(t.z2_250_0, 2u), z);
}

// curve25519-dalek 4's FieldElement::sqrt_ratio_i: ok = 1 and r = the non-negative
// (even) square root of u/v when u/v is a nonzero square or u = 0 (r = 0); ok = 0 when
// u != 0 and u/v is not a square, or v = 0 and u != 0 (r then is what dalek returns:
// a root of sqrt(-1) u/v where that is a square). r = u v^3 (u v^7)^((p-5)/8); v r^2
// is one of u, -u, sqrt(-1) u, -sqrt(-1) u.
struct FeRoot {
    ok: bool,
    r: Fe,
}

fn fe_sqrt_ratio_i(u: Fe, v: Fe) -> FeRoot {
    let v3 = fe_mul(fe_sq(v), v);
    let v7 = fe_mul(fe_sq(v3), v);
    var r = fe_mul(fe_mul(u, v3), fe_pow_p58(fe_mul(u, v7)));
    let check = fe_mul(v, fe_sq(r));
    let neg_u = fe_neg(u);
    let correct = fe_eq(check, u);
    let flipped = fe_eq(check, neg_u);
    let flipped_i = fe_eq(check, fe_mul(neg_u, FE_SQRTM1));
    r = fe_select(r, fe_mul(r, FE_SQRTM1), flipped || flipped_i);
    r = fe_cneg(r, fe_is_negative(r));
    return FeRoot(correct || flipped, r);
}
