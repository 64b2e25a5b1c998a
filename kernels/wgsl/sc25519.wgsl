// sc25519.wgsl: scalars mod L, the order of the Ed25519 base point,
// L = 2^252 + 27742317777372353535851937790883648493.
//
// A scalar is 8 u32 words, little-endian (word i = bytes 4i .. 4i + 4 of its 32-byte
// encoding, read little-endian), as in sc25519.h. Three operations:
//
//   sc_reduce512        a 512-bit integer (the SHA-512 challenge) mod L, by Barrett
//                       reduction in base 2^32 (Handbook of Applied Cryptography,
//                       algorithm 14.42, k = 8 words), as sc25519.h does it;
//   sc_is_canonical     s < L (the signature's S must be);
//   sc_signed_radix16   signed radix-16 digits for the scalar multiplication.
//
// WGSL has no 64-bit integers, so the 32x32 -> 64-bit products Barrett needs are made
// from four 16x16 -> 32-bit ones (sc_mac). The loops stay rolled (the compiler may
// unroll them; the source need not) over function-local arrays: the parameters are
// copied into `var`s first, since indexing an array value by a runtime index is not
// something every WGSL compiler handles well.

// L as 9 little-endian words (words 4..6 and 8 are zero; the ninth keeps the loops
// over 9-word numbers uniform).
const SC_L = array<u32, 9>(
    0x5cf5d3edu, 0x5812631au, 0xa2f79cd6u, 0x14def9deu,
    0u, 0u, 0u, 0x10000000u, 0u,
);

// mu = floor(2^512 / L), 260 bits, as 9 little-endian words.
const SC_MU = array<u32, 9>(
    0x0a2c131bu, 0xed9ce5a3u, 0x086329a7u, 0x2106215du,
    0xffffffebu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x0000000fu,
);

// a * b + c + d as (high word, low word); at most (2^32 - 1)^2 + 2 (2^32 - 1) < 2^64,
// so it never overflows.
fn sc_mac(a: u32, b: u32, c: u32, d: u32) -> vec2<u32> {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    // Bits 16.. of the product below 2^48 (three terms under 2^16 each plus one under 2^16).
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    var lo = (mid << 16u) | (p00 & 0xffffu);
    var hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
    lo += c;
    hi += select(0u, 1u, lo < c);
    lo += d;
    hi += select(0u, 1u, lo < d);
    return vec2<u32>(hi, lo);
}

// a - L if a >= L, else a; a is 9 words (in sc_reduce512, a < 3L < 2^255, so its ninth
// word is 0 throughout).
fn sc_csub_l9(a: array<u32, 9>) -> array<u32, 9> {
    var x = a;
    var l = SC_L;
    var t: array<u32, 9>;
    var borrow = 0u;
    for (var i = 0u; i < 9u; i++) {
        let d = x[i] - l[i];
        let under = x[i] < l[i];
        t[i] = d - borrow;
        borrow = select(0u, 1u, under || d < borrow);
    }
    // A borrow out of the top word: a < L, keep a.
    let keep = borrow == 1u;
    for (var i = 0u; i < 9u; i++) {
        t[i] = select(t[i], x[i], keep);
    }
    return t;
}

// h mod L, fully reduced (< L), as 8 little-endian words. h is any 512-bit integer,
// 16 little-endian words (sha512_ram's digest as it comes).
//   q1 = floor(h / 2^224)              9 words: h[7..16)
//   q3 = floor(q1 mu / 2^288)          9 words; q3 <= floor(h / L) <= q3 + 2
//   r  = (h - q3 L) mod 2^288          = h - q3 L, in [0, 3L)
//   then L subtracted twice, where r >= L.
// (HAC's bound allows r up to 3L, hence two subtractions, as in sc25519.h. For this L
// the second never subtracts: frac(2^512 / L) is about 0.225, so q3 >= floor(h / L) - 1
// for every h < 2^512 and r < 2L already; it stays as the general algorithm's guard.)
fn sc_reduce512(h: array<u32, 16>) -> array<u32, 8> {
    var x = h;
    var mu = SC_MU;
    var l = SC_L;
    // q2 = q1 * mu, schoolbook by rows (each step's sum fits 64 bits; see sc_mac).
    var q2: array<u32, 18>;
    for (var i = 0u; i < 9u; i++) {
        let xi = x[7u + i];
        var carry = 0u;
        for (var j = 0u; j < 9u; j++) {
            let t = sc_mac(xi, mu[j], q2[i + j], carry);
            q2[i + j] = t.y;
            carry = t.x;
        }
        q2[i + 9u] = carry;
    }
    // q3 = q2[9..18). r2 = q3 L mod 2^288: only the products landing below word 9;
    // the carry out of word 8 is dropped.
    var r2: array<u32, 9>;
    for (var i = 0u; i < 9u; i++) {
        let qi = q2[9u + i];
        var carry = 0u;
        for (var j = 0u; i + j < 9u; j++) {
            let t = sc_mac(qi, l[j], r2[i + j], carry);
            r2[i + j] = t.y;
            carry = t.x;
        }
    }
    // r = h[0..9) - r2 mod 2^288.
    var r: array<u32, 9>;
    var borrow = 0u;
    for (var i = 0u; i < 9u; i++) {
        let d = x[i] - r2[i];
        let under = x[i] < r2[i];
        r[i] = d - borrow;
        borrow = select(0u, 1u, under || d < borrow);
    }
    r = sc_csub_l9(sc_csub_l9(r));
    var out: array<u32, 8>;
    for (var i = 0u; i < 8u; i++) {
        out[i] = r[i];
    }
    return out;
}

// Whether s < L, that is whether the 32-byte encoding s (8 little-endian words, any
// value below 2^256) is a canonical scalar.
fn sc_is_canonical(s: array<u32, 8>) -> bool {
    var x = s;
    var l = SC_L;
    var borrow = 0u;
    for (var i = 0u; i < 8u; i++) {
        let d = x[i] - l[i];
        let under = x[i] < l[i];
        borrow = select(0u, 1u, under || d < borrow);
    }
    return borrow == 1u;
}

// Signed radix-16 digits of s: s = sum_{i < 64} e_i 16^i, with e_i in [-8, 7] for
// i < 63 and e_63 in [0, 8]. Requires s < 2^255 (8 little-endian words; in practice
// s < L < 2^253, where e_63 <= 2); above that e_63 would pass 8.
// Recoding from the bottom nibble up: t = nibble + carry (in [0, 16]); carry = t >= 8;
// e = t - 16 carry. The top nibble of s < 2^255 is at most 7, so t <= 8 there and it
// is kept as it is, with no carry out.
fn sc_signed_radix16(s: array<u32, 8>) -> array<i32, 64> {
    var x = s;
    var e: array<i32, 64>;
    var carry = 0u;
    for (var i = 0u; i < 63u; i++) {
        let t = ((x[i >> 3u] >> ((i & 7u) * 4u)) & 15u) + carry;
        carry = (t + 8u) >> 4u;
        e[i] = i32(t) - i32(carry << 4u);
    }
    e[63] = i32((x[7] >> 28u) + carry);
    return e;
}
