//! The AVX-512 IFMA instruction set: eight lanes, radix 2^51, products from
//! `vpmadd52luq` / `vpmadd52huq`.
//!
//! **Representation.** An element is five `__m512i` limbs, limb i holding bits
//! 51i.. of each lane's value in one 64-bit lane. Radix 2^51 rather than 2^52 because
//! 2^255 then falls on a limb boundary (the top carry re-enters limb 0 times 19) and the
//! 52-bit multiplier leaves one bit of headroom above the limb width.
//!
//! **Bounds.** IFMA multiplies only the low 52 bits of its operands, so every element
//! any method returns has every limb below 2^52 (it is *reduced*), and every method may
//! assume its inputs are. Precisely, the carry pass [`Ifma::carry`] maps limbs below
//! 2^62 to limbs below 2^51 + 2^16 (limb 0 takes 19 times the top carry, below 2^16;
//! the others a carry below 2^11). Then:
//!
//! | method | before its carry | returns |
//! |---|---|---|
//! | `add` | limbs < 2^53 | reduced |
//! | `sub`, `neg` | a + 2p - b: < 2^51 + 2^16 + 2^52 < 2^53 (2p's limbs, 2^52 - 38 and 2^52 - 2, exceed any reduced limb, so nothing goes negative) | reduced |
//! | `mul`, `sq` | column k = lo_k + 2 hi_(k-1) < 5 * 2^52 + 2 * 5 * 2^52 < 2^56; folded c_k + 19 c_(k+5) < 20 * 2^56 < 2^61 | reduced |
//! | `from_words`, `splat` | limbs < 2^51 | reduced |
//!
//! In a product a_i b_j = lo + hi 2^52 at position 51(i + j), hi lands at 51(i + j + 1)
//! doubled: that is the `2 hi_(k-1)` above.
//!
//! **Products out of line.** `mul`, `sq` and `sq_n` run in their own `#[target_feature]`
//! functions called through a pointer LLVM cannot see through ([`hidden`]), each with its
//! frame aligned to 64 bytes ([`align_frame`]) so that its 64-byte spills never straddle
//! cache lines; everything else is inlined into [`verify_group`]. Inlined, the products
//! made the verification tens of kilobytes of straight-line code. Measured on the
//! development VM (Zen 5, one thread, `lane_speed`): all inlined about 160,000 `strict`
//! verifications a second, out of line 170,000, out of line with aligned frames 178,000.
//! (The AVX2 module found the same, and explains why `#[inline(never)]` is not enough.)
//!
//! **Safety.** Every intrinsic is called from a method of [`Ifma`], a zero-sized token
//! that only [`Ifma::detect`] makes, after `is_x86_feature_detected!` found AVX-512F,
//! AVX-512DQ and AVX-512 IFMA. The lane-parallel code is inlined into
//! [`verify_group`], which carries `#[target_feature]` so the intrinsics compile to the
//! instructions themselves; the only caller of `verify_group` holds a token.

#![allow(unsafe_code)]
// Index loops on purpose: iterator adaptors and closures are not reliably inlined into the
// `#[target_feature]` entry (see `Ifma::carry`).
#![allow(clippy::needless_range_loop)]

use core::arch::x86_64::{
    __m512i, _mm512_add_epi64, _mm512_and_si512, _mm512_loadu_si512, _mm512_madd52hi_epu64,
    _mm512_madd52lo_epu64, _mm512_mask_blend_epi64, _mm512_mullo_epi64, _mm512_or_si512,
    _mm512_set1_epi64, _mm512_slli_epi64, _mm512_srli_epi64, _mm512_storeu_si512, _mm512_sub_epi64,
};

use crate::lanes::{Lanes, MAX_LANES};
use crate::verify::{self, Prepared};
use crate::Rule;

/// Proof that this CPU runs AVX-512F, AVX-512DQ and AVX-512 IFMA (see the module docs).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ifma(());

impl Ifma {
    /// A token if the CPU has the instructions this module uses.
    pub(crate) fn detect() -> Option<Ifma> {
        let has = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512ifma");
        has.then_some(Ifma(()))
    }
}

/// Eight field elements (see the module docs for the bounds).
#[derive(Clone, Copy)]
pub(crate) struct Fe([__m512i; 5]);

const MASK51: u64 = (1 << 51) - 1;
/// 2p in radix 2^51: (2^52 - 38, 2^52 - 2, 2^52 - 2, 2^52 - 2, 2^52 - 2).
const TWO_P: [u64; 5] = [
    (1 << 52) - 38,
    (1 << 52) - 2,
    (1 << 52) - 2,
    (1 << 52) - 2,
    (1 << 52) - 2,
];

// The intrinsic wrappers. SAFETY (every block below): `self` is an `Ifma` token, which
// exists only once AVX-512F, DQ and IFMA were detected (module docs); the loads and
// stores read and write whole `[u64; 8]` arrays through unaligned accesses.
impl Ifma {
    #[inline(always)]
    fn set1(self, x: u64) -> __m512i {
        // The cast reinterprets the bits, as the intrinsic's signed argument requires.
        #[allow(clippy::cast_possible_wrap)]
        // SAFETY: see above.
        unsafe {
            _mm512_set1_epi64(x as i64)
        }
    }
    #[inline(always)]
    fn load(self, a: &[u64; 8]) -> __m512i {
        // SAFETY: see above (64 readable bytes).
        unsafe { _mm512_loadu_si512(a.as_ptr().cast()) }
    }
    #[inline(always)]
    fn store(self, v: __m512i) -> [u64; 8] {
        let mut out = [0u64; 8];
        // SAFETY: see above (64 writable bytes).
        unsafe { _mm512_storeu_si512(out.as_mut_ptr().cast(), v) };
        out
    }
    #[inline(always)]
    fn vadd(self, a: __m512i, b: __m512i) -> __m512i {
        // SAFETY: see above.
        unsafe { _mm512_add_epi64(a, b) }
    }
    #[inline(always)]
    fn vsub(self, a: __m512i, b: __m512i) -> __m512i {
        // SAFETY: see above.
        unsafe { _mm512_sub_epi64(a, b) }
    }
    #[inline(always)]
    fn vand(self, a: __m512i, b: __m512i) -> __m512i {
        // SAFETY: see above.
        unsafe { _mm512_and_si512(a, b) }
    }
    #[inline(always)]
    fn vor(self, a: __m512i, b: __m512i) -> __m512i {
        // SAFETY: see above.
        unsafe { _mm512_or_si512(a, b) }
    }
    #[inline(always)]
    fn shr<const N: u32>(self, a: __m512i) -> __m512i {
        // SAFETY: see above.
        unsafe { _mm512_srli_epi64::<N>(a) }
    }
    #[inline(always)]
    fn shl<const N: u32>(self, a: __m512i) -> __m512i {
        // SAFETY: see above.
        unsafe { _mm512_slli_epi64::<N>(a) }
    }
    /// acc + low 52 bits of (a mod 2^52)(b mod 2^52).
    #[inline(always)]
    fn madd_lo(self, acc: __m512i, a: __m512i, b: __m512i) -> __m512i {
        // SAFETY: see above.
        unsafe { _mm512_madd52lo_epu64(acc, a, b) }
    }
    /// acc + high 52 bits of (a mod 2^52)(b mod 2^52).
    #[inline(always)]
    fn madd_hi(self, acc: __m512i, a: __m512i, b: __m512i) -> __m512i {
        // SAFETY: see above.
        unsafe { _mm512_madd52hi_epu64(acc, a, b) }
    }
    #[inline(always)]
    fn mul19(self, a: __m512i) -> __m512i {
        let nineteen = self.set1(19);
        // SAFETY: see above.
        unsafe { _mm512_mullo_epi64(a, nineteen) }
    }
    #[inline(always)]
    fn blend(self, mask: u8, a: __m512i, b: __m512i) -> __m512i {
        // SAFETY: see above. The intrinsic takes the second vector where a bit is set.
        unsafe { _mm512_mask_blend_epi64(mask, b, a) }
    }

    /// One parallel carry pass: limbs below 2^62 to limbs below 2^51 + 2^16.
    ///
    /// No closures and no array `map` in this module: they are separate functions to
    /// LLVM, not always inlined into the `#[target_feature]` entry, and an intrinsic
    /// left outside it becomes a call.
    #[inline(always)]
    fn carry(self, c: [__m512i; 5]) -> Fe {
        let m = self.set1(MASK51);
        let mut out = c;
        for i in 0..5 {
            out[i] = self.vand(c[i], m);
        }
        out[0] = self.vadd(out[0], self.mul19(self.shr::<51>(c[4])));
        for i in 1..5 {
            out[i] = self.vadd(out[i], self.shr::<51>(c[i - 1]));
        }
        Fe(out)
    }

    /// Columns of a product (lo_k, hi_k: sums of low and high product halves at limb
    /// position k) to a reduced element.
    #[inline(always)]
    fn fold(self, lo: [__m512i; 9], hi: [__m512i; 9]) -> Fe {
        // col_k = lo_k + 2 hi_(k-1), k = 0..=9 (lo_9 = 0).
        let mut col = [self.set1(0); 10];
        col[0] = lo[0];
        for k in 1..9 {
            col[k] = self.vadd(lo[k], self.shl::<1>(hi[k - 1]));
        }
        col[9] = self.shl::<1>(hi[8]);
        let mut c = [col[0]; 5];
        for k in 0..5 {
            c[k] = self.vadd(col[k], self.mul19(col[k + 5]));
        }
        self.carry(c)
    }
}

impl Ifma {
    /// a * b (the body of [`Lanes::mul`], run out of line).
    #[inline(always)]
    fn product(self, a: &Fe, b: &Fe) -> Fe {
        let z = self.set1(0);
        let mut lo = [z; 9];
        let mut hi = [z; 9];
        for i in 0..5 {
            for j in 0..5 {
                lo[i + j] = self.madd_lo(lo[i + j], a.0[i], b.0[j]);
                hi[i + j] = self.madd_hi(hi[i + j], a.0[i], b.0[j]);
            }
        }
        self.fold(lo, hi)
    }

    /// a^2 (the body of [`Lanes::sq`], run out of line).
    #[inline(always)]
    fn square(self, a: &Fe) -> Fe {
        // Cross products once, doubled; squares once.
        let z = self.set1(0);
        let mut lo = [z; 9];
        let mut hi = [z; 9];
        for i in 0..5 {
            for j in i + 1..5 {
                lo[i + j] = self.madd_lo(lo[i + j], a.0[i], a.0[j]);
                hi[i + j] = self.madd_hi(hi[i + j], a.0[i], a.0[j]);
            }
        }
        for k in 0..9 {
            lo[k] = self.shl::<1>(lo[k]);
            hi[k] = self.shl::<1>(hi[k]);
        }
        for i in 0..5 {
            lo[2 * i] = self.madd_lo(lo[2 * i], a.0[i], a.0[i]);
            hi[2 * i] = self.madd_hi(hi[2 * i], a.0[i], a.0[i]);
        }
        self.fold(lo, hi)
    }
}

impl Lanes for Ifma {
    const N: usize = 8;
    type Fe = Fe;

    #[inline(always)]
    fn from_words(self, words: &[[u64; 4]; MAX_LANES]) -> Fe {
        let mut limbs = [[0u64; 8]; 5];
        for (lane, w) in words.iter().enumerate() {
            let l = split51(w);
            for (limb, v) in limbs.iter_mut().zip(l) {
                limb[lane] = v;
            }
        }
        Fe([
            self.load(&limbs[0]),
            self.load(&limbs[1]),
            self.load(&limbs[2]),
            self.load(&limbs[3]),
            self.load(&limbs[4]),
        ])
    }

    #[inline(always)]
    fn splat(self, words: &[u64; 4]) -> Fe {
        let l = split51(words);
        Fe([
            self.set1(l[0]),
            self.set1(l[1]),
            self.set1(l[2]),
            self.set1(l[3]),
            self.set1(l[4]),
        ])
    }

    #[inline(always)]
    fn add(self, a: Fe, b: Fe) -> Fe {
        let mut s = a.0;
        for i in 0..5 {
            s[i] = self.vadd(a.0[i], b.0[i]);
        }
        self.carry(s)
    }

    #[inline(always)]
    fn sub(self, a: Fe, b: Fe) -> Fe {
        let mut d = a.0;
        for i in 0..5 {
            d[i] = self.vsub(self.vadd(a.0[i], self.set1(TWO_P[i])), b.0[i]);
        }
        self.carry(d)
    }

    #[inline(always)]
    fn neg(self, a: Fe) -> Fe {
        let mut d = a.0;
        for i in 0..5 {
            d[i] = self.vsub(self.set1(TWO_P[i]), a.0[i]);
        }
        self.carry(d)
    }

    #[inline(always)]
    fn mul(self, a: Fe, b: Fe) -> Fe {
        let entry: unsafe fn(Ifma, &Fe, &Fe) -> Fe = mul_entry;
        // SAFETY: `self` proves the CPU has what `mul_entry` is compiled for.
        unsafe { hidden(entry)(self, &a, &b) }
    }

    #[inline(always)]
    fn sq(self, a: Fe) -> Fe {
        let entry: unsafe fn(Ifma, &Fe) -> Fe = sq_entry;
        // SAFETY: `self` proves the CPU has what `sq_entry` is compiled for.
        unsafe { hidden(entry)(self, &a) }
    }

    #[inline(always)]
    fn sq_n(self, a: Fe, k: u32) -> Fe {
        let entry: unsafe fn(Ifma, &Fe, u32) -> Fe = sq_n_entry;
        // SAFETY: `self` proves the CPU has what `sq_n_entry` is compiled for.
        unsafe { hidden(entry)(self, &a, k) }
    }

    #[inline(always)]
    fn select(self, mask: u8, a: Fe, b: Fe) -> Fe {
        let mut r = a.0;
        for i in 0..5 {
            r[i] = self.blend(mask, a.0[i], b.0[i]);
        }
        Fe(r)
    }

    #[inline(always)]
    fn to_words(self, a: Fe) -> [[u64; 4]; MAX_LANES] {
        // A reduced element is below 2^255 + 2^(204 + 16) < 2p, so q = floor((v + 19) /
        // 2^255) is 1 exactly when v >= p; v + 19q with bit 255 dropped is v mod p.
        let m = self.set1(MASK51);
        let c = self.carry(a.0).0;
        let mut q = self.shr::<51>(self.vadd(c[0], self.set1(19)));
        for limb in &c[1..] {
            q = self.shr::<51>(self.vadd(*limb, q));
        }
        let mut l = c;
        l[0] = self.vadd(l[0], self.mul19(q));
        for i in 0..4 {
            l[i + 1] = self.vadd(l[i + 1], self.shr::<51>(l[i]));
            l[i] = self.vand(l[i], m);
        }
        l[4] = self.vand(l[4], m);
        let w = [
            self.store(self.vor(l[0], self.shl::<51>(l[1]))),
            self.store(self.vor(self.shr::<13>(l[1]), self.shl::<38>(l[2]))),
            self.store(self.vor(self.shr::<26>(l[2]), self.shl::<25>(l[3]))),
            self.store(self.vor(self.shr::<39>(l[3]), self.shl::<12>(l[4]))),
        ];
        let mut out = [[0u64; 4]; MAX_LANES];
        for (lane, o) in out.iter_mut().enumerate() {
            *o = [w[0][lane], w[1][lane], w[2][lane], w[3][lane]];
        }
        out
    }
}

/// The low 255 bits of a little-endian value as five 51-bit limbs.
#[inline(always)]
fn split51(w: &[u64; 4]) -> [u64; 5] {
    [
        w[0] & MASK51,
        ((w[0] >> 51) | (w[1] << 13)) & MASK51,
        ((w[1] >> 38) | (w[2] << 26)) & MASK51,
        ((w[2] >> 25) | (w[3] << 39)) & MASK51,
        (w[3] >> 12) & MASK51,
    ]
}

/// `f`, a function pointer LLVM cannot see through, so that a call through it is never
/// inlined (rustc emits no `noinline` for a `#[target_feature]` function).
#[inline(always)]
fn hidden<F>(f: F) -> F {
    core::hint::black_box(f)
}

/// A 64-byte aligned stack slot (see [`align_frame`]).
#[repr(align(64))]
struct AlignedSlot(#[allow(dead_code)] u8);

/// Makes LLVM realign the frame of the entry this is inlined into to 64 bytes, so that
/// 64-byte spills never straddle cache lines.
#[inline(always)]
fn align_frame() {
    let slot = AlignedSlot(0);
    core::hint::black_box(&slot);
}

/// a * b for [`Lanes::mul`], out of line.
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn mul_entry(token: Ifma, a: &Fe, b: &Fe) -> Fe {
    align_frame();
    token.product(a, b)
}

/// a^2 for [`Lanes::sq`], out of line.
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn sq_entry(token: Ifma, a: &Fe) -> Fe {
    align_frame();
    token.square(a)
}

/// a^(2^k), k >= 1, one call for a run of squarings.
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn sq_n_entry(token: Ifma, a: &Fe, k: u32) -> Fe {
    align_frame();
    let mut r = token.square(a);
    for _ in 1..k {
        r = token.square(&r);
    }
    r
}

/// Verdicts of one group of up to eight signatures (bit i: lane i valid).
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
pub(crate) fn verify_group(token: Ifma, rule: Rule, p: &Prepared) -> u8 {
    verify::verify_group(token, rule, p)
}
