//! The AVX2 instruction set: four lanes, radix 2^25.5, products from `vpmuludq`
//! (32 x 32 -> 64 bits), for CPUs without AVX-512 IFMA.
//!
//! **Representation.** A value is ten limbs, limb k holding its bits from offset off_k =
//! 0, 26, 51, 77, 102, 128, 153, 179, 204, 230 (26 bits wide for even k, 25 for odd k:
//! the widths w_k), the limbs of `kernels/ED25519.md` ("Field representation"). An
//! element stores them *packed*, two limbs per 64-bit lane: five `__m256i` P_0..P_4, P_i
//! holding limb i in the low 32 bits and limb i + 5 in the high 32 bits of each lane.
//! Packed, an addition, subtraction, carry or selection is five vector operations, not
//! ten, and an element is half as much to load and store: with 16 vector registers most
//! elements live in memory, and moving them costs as much as the arithmetic. A product
//! unpacks its operands into ten limbs, each in the low 32 bits of the lanes where
//! `vpmuludq` reads it (limb i < 5 is P_i itself, since `vpmuludq` ignores the high
//! halves; limb i + 5 is P_i shifted down), sums its columns in 64 bits, carries them
//! and packs the result. (Measured on a Zen 5, verification against ed25519-dalek's
//! `verify_strict`, before the products went out of line and their frames were
//! aligned, see below: one limb per 64-bit lane as in `ifma` 1.13x, packed 1.20x; with
//! the products out of line but partly inlined again by LLVM, 1.18x and 1.38x.)
//!
//! **Products.** Limb i times limb j sits at offset off_i + off_j, which is column
//! (i + j)'s offset plus one bit when both are odd (so those products count twice), and
//! column (i + j - 10) times 2^255 = 19 mod p when i + j >= 10. The 2 is applied to the
//! odd limbs of one operand, the 19 to the other before multiplying: `mul` is 100
//! products, `sq` 55 (each cross product once, doubled on an operand: factors 2, 4, 19,
//! 38, 76 in all). A product goes row by row (one limb of a times every limb of b, into
//! the ten column sums), which keeps the columns in registers and needs a quarter fewer
//! loads and stores than column by column; a square goes column by column. (Both
//! orders, for either, measured within noise of each other once frames were aligned.)
//!
//! **Bounds.** Every element any method returns is *tight*: limb k < 2^w_k + 2^16, and
//! every method may assume its inputs are. Two carries keep it so:
//!
//! * [`Avx2::carry`] (after a product, on the ten 64-bit columns): two interleaved
//!   sequential chains in ref10's order, 0-1-2-3-4-5 and 4-5-6-7-8-9, then 9 into 0
//!   times 19, then 0-1. From columns below 2^62 every carry is below 2^38 (the 64-bit
//!   lanes never overflow: at most 2^62 + 2^38), 19 times the top carry is below 2^42,
//!   and every limb ends below 2^w_k except limb 1 (< 2^25 + 2^16: limb 0's last
//!   carry) and limb 5 (< 2^25 + 2^12: limb 4's second carry). (Two parallel passes
//!   instead have a shorter dependency chain but 60% more operations: measured 4%
//!   slower overall.)
//! * [`Avx2::carry_short`] (after an addition or subtraction, packed): one pass, every
//!   limb at once, each 32-bit half shifted by its own width. From limbs below
//!   2^(w_k + 2) every carry is at most 3, so limb 0 ends below 2^26 + 57 and the others
//!   below 2^w_k + 3.
//!
//! No packed limb ever reaches 2^32 (the largest, before `sub`'s carry, is below 2^28),
//! so the two halves of a lane never spill into each other.
//!
//! | method | before its carry | returns |
//! |---|---|---|
//! | `add` | a + b: < 2^(w_k + 1) + 2^17 < 3 * 2^w_k | tight (`carry_short`) |
//! | `sub` | a + 2p - b: < 2^w_k + 2^16 + 2^(w_k + 1) < 2^(w_k + 2) (2p's limbs, 2^27 - 38, 2^26 - 2, 2^27 - 2, ..., exceed any tight limb, so nothing goes negative) | tight (`carry_short`) |
//! | `neg` | 2p - a: < 2^(w_k + 1) | tight (`carry_short`) |
//! | `mul`, `sq`, `sq_n` | operands: 2 a_k < 2^28, 19 b_k and 38 b_k < 38 (2^25 + 2^16) < 2^31 (below 2^32, as `vpmuludq` needs); column k = the sum of a_i b_j times 1, 2, 19, 38 (in `sq` also 4, 76: the same sum): column 0, the largest (one plain product, four times 19, five times 38), < 124.5 (1 + 2^-9)^2 2^52 < 2^59 | tight (`carry`) |
//! | `from_words`, `splat` | limbs < 2^w_k (exact split; bit 255 dropped) | tight |
//! | `select` | a blend of tight limbs | tight |
//! | `to_words` | a tight element is below 2^255 + 2^247 < 2p - 19 | canonical |
//!
//! The column bound has room to spare (2^62 would do), and so has the operand bound
//! (2^32): tight is simply what one carry leaves. `lanes_tests` checks every method on
//! elements whose limbs all sit at the tight maximum, and that every result is tight.
//!
//! **What LLVM must not see.** `vpmuludq` is, to LLVM, a 64-bit multiplication of two
//! operands masked to 32 bits. Where LLVM can prove an operand's high half zero it
//! drops the mask; where it then no longer sees that (the operand comes from another
//! basic block, or the masking was folded into a 19 that it reassociated) it emits a
//! full 64 x 64-bit product: three `vpmuludq` and shifts (measured, all inlined: 0.55x
//! of ed25519-dalek instead of 1.13x). Hence the limb masks are [`Avx2::opaque`]
//! constants, and the 19 and 38 multiples of product operands come from `vpmulld`
//! ([`Avx2::mul19_halves`]), which LLVM keeps as a 32-bit multiplication.
//!
//! **Products out of line.** `mul`, `sq` and `sq_n` run in their own `#[target_feature]`
//! functions (`mul_entry`, `sq_entry`, `sq_n_entry`), called through a pointer hidden
//! from LLVM ([`hidden`]); everything else is inlined into [`verify_group`]. A product is
//! 400 instructions and a verification has dozens of call sites: inlined, its main loop
//! alone is tens of kilobytes of code, beyond the instruction caches (measured, packed,
//! before the frames were aligned: 1.20x of ed25519-dalek inlined, 1.55x out of line).
//! Each entry realigns its stack frame to 64 bytes ([`align_frame`]), so that its
//! 32-byte spills never straddle cache lines (1.72x to 1.84x, from 1.31x to 1.84x
//! depending on where the stack started). The pointer is hidden because rustc
//! 1.95 emits no `noinline` for a `#[target_feature]` function whatever
//! `#[inline(never)]` says (checked in the LLVM IR), and LLVM then inlines the product
//! at some call sites (the doubling loop: 1.38x). The indirect call always goes to the
//! same target, so it is predicted, and costs a few cycles of a product's hundred.
//!
//! **Safety.** Every intrinsic is called from a method of [`Avx2`], a zero-sized token
//! that only [`Avx2::detect`] makes, after `is_x86_feature_detected!` found AVX2. The
//! lane-parallel code is inlined into [`verify_group`] or the three product entries,
//! which carry `#[target_feature]` so the intrinsics compile to the instructions
//! themselves; every caller of those four holds a token.
//!
//! No closures and no array `map` or iterator adaptors over vectors in this module:
//! they are separate functions to LLVM, not always inlined into the `#[target_feature]`
//! entry, and an intrinsic left outside it becomes a call. Hence the indexed loops (over
//! constant ranges, which LLVM unrolls and folds).

#![allow(unsafe_code)]
// Indexed loops on purpose (see the module docs).
#![allow(clippy::needless_range_loop)]

use core::arch::x86_64::{
    __m256i, _mm256_add_epi32, _mm256_add_epi64, _mm256_and_si256, _mm256_blendv_epi8,
    _mm256_cmpeq_epi64, _mm256_loadu_si256, _mm256_mul_epu32, _mm256_mullo_epi32, _mm256_or_si256,
    _mm256_set1_epi32, _mm256_set1_epi64x, _mm256_setr_epi64x, _mm256_shuffle_epi32,
    _mm256_slli_epi64, _mm256_srli_epi64, _mm256_srlv_epi32, _mm256_storeu_si256, _mm256_sub_epi32,
};

use crate::lanes::{Lanes, MAX_LANES};
use crate::verify::{self, Prepared};
use crate::Rule;

/// Proof that this CPU runs AVX2 (see the module docs).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avx2(());

impl Avx2 {
    /// A token if the CPU has the instructions this module uses.
    pub(crate) fn detect() -> Option<Avx2> {
        std::arch::is_x86_feature_detected!("avx2").then_some(Avx2(()))
    }
}

/// Four field elements, packed (see the module docs for the layout and the bounds).
#[derive(Clone, Copy)]
pub(crate) struct Fe([__m256i; 5]);

const MASK26: u64 = (1 << 26) - 1;
const MASK25: u64 = (1 << 25) - 1;
const MASK32: u64 = (1 << 32) - 1;
/// 2p in radix 2^25.5: 2^27 - 38, then 2^26 - 2 (odd limbs) and 2^27 - 2 (even limbs).
const TWO_P: [u64; 10] = [
    (1 << 27) - 38,
    (1 << 26) - 2,
    (1 << 27) - 2,
    (1 << 26) - 2,
    (1 << 27) - 2,
    (1 << 26) - 2,
    (1 << 27) - 2,
    (1 << 26) - 2,
    (1 << 27) - 2,
    (1 << 26) - 2,
];

/// The 64-bit lane of packed register i: limb i low, limb i + 5 high.
#[inline(always)]
const fn pack(l: &[u64; 10], i: usize) -> u64 {
    l[i] | (l[i + 5] << 32)
}

// The intrinsic wrappers. SAFETY (every block below): `self` is an `Avx2` token, which
// exists only once AVX2 was detected (module docs); the loads and stores read and write
// whole `[u64; 4]` arrays through unaligned accesses.
impl Avx2 {
    #[inline(always)]
    fn set1(self, x: u64) -> __m256i {
        // The cast reinterprets the bits, as the intrinsic's signed argument requires.
        #[allow(clippy::cast_possible_wrap)]
        // SAFETY: see above.
        unsafe {
            _mm256_set1_epi64x(x as i64)
        }
    }
    #[inline(always)]
    fn load(self, a: &[u64; 4]) -> __m256i {
        // SAFETY: see above (32 readable bytes).
        unsafe { _mm256_loadu_si256(a.as_ptr().cast()) }
    }
    #[inline(always)]
    fn store(self, v: __m256i) -> [u64; 4] {
        let mut out = [0u64; 4];
        // SAFETY: see above (32 writable bytes).
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), v) };
        out
    }
    /// 64-bit lanes: a + b.
    #[inline(always)]
    fn vadd(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: see above.
        unsafe { _mm256_add_epi64(a, b) }
    }
    /// 32-bit halves (packed limbs): a + b.
    #[inline(always)]
    fn vadd32(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: see above.
        unsafe { _mm256_add_epi32(a, b) }
    }
    /// 32-bit halves (packed limbs): a - b.
    #[inline(always)]
    fn vsub32(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: see above.
        unsafe { _mm256_sub_epi32(a, b) }
    }
    #[inline(always)]
    fn vand(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: see above.
        unsafe { _mm256_and_si256(a, b) }
    }
    #[inline(always)]
    fn vor(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: see above.
        unsafe { _mm256_or_si256(a, b) }
    }
    /// 64-bit lanes: a >> N.
    #[inline(always)]
    fn shr<const N: i32>(self, a: __m256i) -> __m256i {
        // SAFETY: see above.
        unsafe { _mm256_srli_epi64::<N>(a) }
    }
    /// 64-bit lanes: a << N.
    #[inline(always)]
    fn shl<const N: i32>(self, a: __m256i) -> __m256i {
        // SAFETY: see above.
        unsafe { _mm256_slli_epi64::<N>(a) }
    }
    /// 32-bit halves: each shifted right by its own count.
    #[inline(always)]
    fn shr32v(self, a: __m256i, counts: __m256i) -> __m256i {
        // SAFETY: see above.
        unsafe { _mm256_srlv_epi32(a, counts) }
    }
    /// The two 32-bit halves of each 64-bit lane swapped.
    #[inline(always)]
    fn swap_halves(self, a: __m256i) -> __m256i {
        // SAFETY: see above. 0b10_11_00_01: dwords (1, 0, 3, 2) of each 128-bit half.
        unsafe { _mm256_shuffle_epi32::<0b1011_0001>(a) }
    }
    /// 32-bit halves: the low 32 bits of a * b.
    #[inline(always)]
    fn mullo32(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: see above.
        unsafe { _mm256_mullo_epi32(a, b) }
    }
    /// (a mod 2^32)(b mod 2^32), a full 64-bit product per lane.
    #[inline(always)]
    fn mul32(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: see above.
        unsafe { _mm256_mul_epu32(a, b) }
    }
    /// 19 a for a below 2^32 (one `vpmuludq`).
    #[inline(always)]
    fn mul19_small(self, a: __m256i) -> __m256i {
        self.mul32(a, self.set1(19))
    }
    /// 19 a for a below 2^59 (16a + 2a + a).
    #[inline(always)]
    fn mul19_wide(self, a: __m256i) -> __m256i {
        self.vadd(self.vadd(self.shl::<4>(a), self.shl::<1>(a)), a)
    }
    /// 19 times each 32-bit half, for halves below 2^27 (one `vpmulld`): the
    /// premultiplied product operands. Not `vpmuludq`: a product reads only the low 32
    /// bits of 19 a, so LLVM would drop `vpmuludq`'s masking of a and multiply all 64
    /// bits (module docs).
    #[inline(always)]
    fn mul19_halves(self, a: __m256i) -> __m256i {
        // SAFETY: see above.
        let nineteen = unsafe { _mm256_set1_epi32(19) };
        self.mullo32(a, nineteen)
    }
    /// `x` in every lane, a constant LLVM cannot see through (for the limb masks: module
    /// docs). The empty `asm!` is pure, so LLVM still computes each once and hoists it.
    #[inline(always)]
    fn opaque(self, x: u64) -> __m256i {
        let mut x = x;
        // SAFETY: an empty instruction sequence (the template is a comment): the register
        // comes back unchanged, and no memory, stack or flags are touched.
        unsafe {
            core::arch::asm!(
                "/* {0} */",
                inout(reg) x,
                options(pure, nomem, nostack, preserves_flags)
            );
        }
        self.set1(x)
    }
    /// All ones in the 64-bit lanes whose bit is set in `mask`, zero elsewhere.
    #[inline(always)]
    fn lane_mask(self, mask: u8) -> __m256i {
        // SAFETY: see above.
        unsafe {
            let bits = _mm256_setr_epi64x(1, 2, 4, 8);
            let m = _mm256_and_si256(self.set1(u64::from(mask)), bits);
            _mm256_cmpeq_epi64(m, bits)
        }
    }
    /// `a` in the lanes where `m` is all ones, `b` where it is zero.
    #[inline(always)]
    fn blend(self, m: __m256i, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: see above. The intrinsic takes its second vector where the mask's
        // bytes have their top bit set (here: whole 64-bit lanes at once).
        unsafe { _mm256_blendv_epi8(b, a, m) }
    }
}

// The arithmetic on limbs.
impl Avx2 {
    /// The ten limbs of a packed element, each in the low 32 bits of the lanes (limbs
    /// 0..5 keep their packed neighbour in the high half, which `vpmuludq` ignores).
    #[inline(always)]
    fn unpack(self, p: &[__m256i; 5]) -> [__m256i; 10] {
        let mut l = [p[0]; 10];
        for i in 0..5 {
            l[i] = p[i];
            l[i + 5] = self.shr::<32>(p[i]);
        }
        l
    }

    /// One carry step on 64-bit columns: limb i + 1 takes limb i's bits above its
    /// width `W` (`mask`: the low `W` bits).
    #[inline(always)]
    fn carry_step<const W: i32>(self, c: &mut [__m256i; 10], i: usize, mask: __m256i) {
        c[i + 1] = self.vadd(c[i + 1], self.shr::<W>(c[i]));
        c[i] = self.vand(c[i], mask);
    }

    /// Columns of a product, each below 2^62, to a tight packed element (module docs):
    /// the two chains 0..5 and 4..9 interleaved, 9 into 0 times 19, then 0 into 1 again.
    #[inline(always)]
    fn carry(self, c: [__m256i; 10]) -> Fe {
        let m26 = self.opaque(MASK26);
        let m25 = self.opaque(MASK25);
        let mut c = c;
        self.carry_step::<26>(&mut c, 0, m26);
        self.carry_step::<26>(&mut c, 4, m26);
        self.carry_step::<25>(&mut c, 1, m25);
        self.carry_step::<25>(&mut c, 5, m25);
        self.carry_step::<26>(&mut c, 2, m26);
        self.carry_step::<26>(&mut c, 6, m26);
        self.carry_step::<25>(&mut c, 3, m25);
        self.carry_step::<25>(&mut c, 7, m25);
        self.carry_step::<26>(&mut c, 4, m26);
        self.carry_step::<26>(&mut c, 8, m26);
        // Limb 9's carry is below 2^38: too wide for `vpmuludq`.
        c[0] = self.vadd(c[0], self.mul19_wide(self.shr::<25>(c[9])));
        c[9] = self.vand(c[9], m25);
        self.carry_step::<26>(&mut c, 0, m26);
        let mut p = [c[0]; 5];
        for i in 0..5 {
            p[i] = self.vor(c[i], self.shl::<32>(c[i + 5]));
        }
        Fe(p)
    }

    /// Packed limbs below 2^(w_k + 2) to a tight element in one pass, every limb at once
    /// (module docs): each carry is at most 3. Register i's carries go to register
    /// i + 1, half for half, except register 4's: limb 4's to limb 5 (register 0's high
    /// half) and limb 9's, times 19, to limb 0 (its low half).
    #[inline(always)]
    fn carry_short(self, d: [__m256i; 5]) -> Fe {
        // Registers 0, 2, 4 hold limbs of widths (26, 25); 1 and 3 of (25, 26).
        let even_mask = self.opaque(MASK26 | (MASK25 << 32));
        let odd_mask = self.opaque(MASK25 | (MASK26 << 32));
        let even_shift = self.set1(26 | (25 << 32));
        let odd_shift = self.set1(25 | (26 << 32));
        let mut c = d;
        let mut out = d;
        for i in 0..5 {
            let (mask, shift) = if i % 2 == 0 {
                (even_mask, even_shift)
            } else {
                (odd_mask, odd_shift)
            };
            c[i] = self.shr32v(d[i], shift);
            out[i] = self.vand(d[i], mask);
        }
        // (carry of limb 9, carry of limb 4) times (19, 1).
        let top = self.mullo32(self.swap_halves(c[4]), self.set1(19 | (1 << 32)));
        out[0] = self.vadd32(out[0], top);
        for i in 1..5 {
            out[i] = self.vadd32(out[i], c[i - 1]);
        }
        Fe(out)
    }

    /// Row `I` of a product: column (I + j) mod 10 += a_I b_j for j = 0..10, times 2 for
    /// odd x odd (through `a2`), times 19 where I + j >= 10 (through `b19`). The rows are
    /// separate calls, not an outer loop, so that LLVM fully unrolls each (100 bodies in
    /// one loop nest exceed its unrolling threshold, and the arrays then stay in memory).
    #[inline(always)]
    fn mul_row<const I: usize>(
        self,
        c: &mut [__m256i; 10],
        a: &[__m256i; 10],
        a2: &[__m256i; 10],
        b: &[__m256i; 10],
        b19: &[__m256i; 10],
    ) {
        for j in 0..10 {
            let x = if I % 2 == 1 && j % 2 == 1 {
                a2[I]
            } else {
                a[I]
            };
            let y = if I + j >= 10 { b19[j] } else { b[j] };
            let k = (I + j) % 10;
            c[k] = self.vadd(c[k], self.mul32(x, y));
        }
    }

    /// Column `K` of a square: a_i^2 for 2i = K or K + 10, and a_i a_j doubled (through
    /// 2 a_i) for i < j, i + j = K or K + 10. `m` holds the limbs a, 2a, 19a and 38a (the
    /// last two only from limb 5 up); the other factor is a_j times 2 for odd x odd
    /// (`m[1]`), 19 where i + j >= 10 (`m[2]`) or both (`m[3]`). Column by column, unlike
    /// products (measured 4% faster overall, though fewer loads and stores row by row).
    #[inline(always)]
    fn sq_col<const K: usize>(self, m: &[[__m256i; 10]; 4]) -> __m256i {
        let (a, a2) = (&m[0], &m[1]);
        let mut c = self.set1(0);
        for i in 0..10 {
            let j = (K + 10 - i) % 10;
            let odd = i % 2 == 1 && j % 2 == 1;
            let y = m[usize::from(odd) + 2 * usize::from(i + j >= 10)][j];
            if j == i {
                c = self.vadd(c, self.mul32(a[i], y));
            } else if j > i {
                c = self.vadd(c, self.mul32(a2[i], y));
            }
        }
        c
    }

    /// a * b (the body of `mul_entry`).
    #[inline(always)]
    fn product(self, a: &Fe, b: &Fe) -> Fe {
        let a = self.unpack(&a.0);
        // 19 b_j for the wrapped products (both halves at once); 2 a_i for odd i.
        let b19p = [
            self.mul19_halves(b.0[0]),
            self.mul19_halves(b.0[1]),
            self.mul19_halves(b.0[2]),
            self.mul19_halves(b.0[3]),
            self.mul19_halves(b.0[4]),
        ];
        let b = self.unpack(&b.0);
        let b19 = self.unpack(&b19p);
        let mut a2 = a;
        for i in 0..5 {
            a2[2 * i + 1] = self.vadd(a[2 * i + 1], a[2 * i + 1]);
        }
        let mut c = [self.set1(0); 10];
        self.mul_row::<0>(&mut c, &a, &a2, &b, &b19);
        self.mul_row::<1>(&mut c, &a, &a2, &b, &b19);
        self.mul_row::<2>(&mut c, &a, &a2, &b, &b19);
        self.mul_row::<3>(&mut c, &a, &a2, &b, &b19);
        self.mul_row::<4>(&mut c, &a, &a2, &b, &b19);
        self.mul_row::<5>(&mut c, &a, &a2, &b, &b19);
        self.mul_row::<6>(&mut c, &a, &a2, &b, &b19);
        self.mul_row::<7>(&mut c, &a, &a2, &b, &b19);
        self.mul_row::<8>(&mut c, &a, &a2, &b, &b19);
        self.mul_row::<9>(&mut c, &a, &a2, &b, &b19);
        self.carry(c)
    }

    /// a^2 (the body of `sq_entry` and `sq_n_entry`).
    #[inline(always)]
    fn square(self, a: &Fe) -> Fe {
        let mut a2p = a.0;
        for i in 0..5 {
            a2p[i] = self.vadd32(a.0[i], a.0[i]);
        }
        let a = self.unpack(&a.0);
        let a2 = self.unpack(&a2p);
        let mut a19 = a;
        let mut a38 = a;
        for j in 5..10 {
            a19[j] = self.mul19_halves(a[j]);
            a38[j] = self.vadd(a19[j], a19[j]);
        }
        let m = [a, a2, a19, a38];
        let c = [
            self.sq_col::<0>(&m),
            self.sq_col::<1>(&m),
            self.sq_col::<2>(&m),
            self.sq_col::<3>(&m),
            self.sq_col::<4>(&m),
            self.sq_col::<5>(&m),
            self.sq_col::<6>(&m),
            self.sq_col::<7>(&m),
            self.sq_col::<8>(&m),
            self.sq_col::<9>(&m),
        ];
        self.carry(c)
    }
}

impl Lanes for Avx2 {
    const N: usize = 4;
    type Fe = Fe;

    #[inline(always)]
    fn from_words(self, words: &[[u64; 4]; MAX_LANES]) -> Fe {
        // Word k of every lane in one vector, then `split`'s shifts on whole vectors.
        let mut t = [[0u64; 4]; 4];
        for lane in 0..4 {
            for k in 0..4 {
                t[k][lane] = words[lane][k];
            }
        }
        let w = [
            self.load(&t[0]),
            self.load(&t[1]),
            self.load(&t[2]),
            self.load(&t[3]),
        ];
        let m26 = self.opaque(MASK26);
        let m25 = self.opaque(MASK25);
        let l = [
            self.vand(w[0], m26),
            self.vand(self.shr::<26>(w[0]), m25),
            self.vand(self.vor(self.shr::<51>(w[0]), self.shl::<13>(w[1])), m26),
            self.vand(self.shr::<13>(w[1]), m25),
            self.vand(self.shr::<38>(w[1]), m26),
            self.vand(w[2], m25),
            self.vand(self.shr::<25>(w[2]), m26),
            self.vand(self.vor(self.shr::<51>(w[2]), self.shl::<13>(w[3])), m25),
            self.vand(self.shr::<12>(w[3]), m26),
            self.vand(self.shr::<38>(w[3]), m25),
        ];
        let mut p = [l[0]; 5];
        for i in 0..5 {
            p[i] = self.vor(l[i], self.shl::<32>(l[i + 5]));
        }
        Fe(p)
    }

    #[inline(always)]
    fn splat(self, words: &[u64; 4]) -> Fe {
        let l = split(words);
        let mut p = [self.set1(0); 5];
        for i in 0..5 {
            p[i] = self.set1(pack(&l, i));
        }
        Fe(p)
    }

    #[inline(always)]
    fn add(self, a: Fe, b: Fe) -> Fe {
        let mut s = a.0;
        for i in 0..5 {
            s[i] = self.vadd32(a.0[i], b.0[i]);
        }
        self.carry_short(s)
    }

    #[inline(always)]
    fn sub(self, a: Fe, b: Fe) -> Fe {
        let mut d = a.0;
        for i in 0..5 {
            let two_p = self.set1(pack(&TWO_P, i));
            d[i] = self.vsub32(self.vadd32(a.0[i], two_p), b.0[i]);
        }
        self.carry_short(d)
    }

    #[inline(always)]
    fn neg(self, a: Fe) -> Fe {
        let mut d = a.0;
        for i in 0..5 {
            d[i] = self.vsub32(self.set1(pack(&TWO_P, i)), a.0[i]);
        }
        self.carry_short(d)
    }

    #[inline(always)]
    fn mul(self, a: Fe, b: Fe) -> Fe {
        let entry: unsafe fn(Avx2, &Fe, &Fe) -> Fe = mul_entry;
        // SAFETY: `self` proves the CPU has AVX2, which `mul_entry` is compiled for.
        unsafe { hidden(entry)(self, &a, &b) }
    }

    #[inline(always)]
    fn sq(self, a: Fe) -> Fe {
        let entry: unsafe fn(Avx2, &Fe) -> Fe = sq_entry;
        // SAFETY: `self` proves the CPU has AVX2, which `sq_entry` is compiled for.
        unsafe { hidden(entry)(self, &a) }
    }

    #[inline(always)]
    fn sq_n(self, a: Fe, k: u32) -> Fe {
        let entry: unsafe fn(Avx2, &Fe, u32) -> Fe = sq_n_entry;
        // SAFETY: `self` proves the CPU has AVX2, which `sq_n_entry` is compiled for.
        unsafe { hidden(entry)(self, &a, k) }
    }

    #[inline(always)]
    fn select(self, mask: u8, a: Fe, b: Fe) -> Fe {
        let m = self.lane_mask(mask);
        let mut r = a.0;
        for i in 0..5 {
            r[i] = self.blend(m, a.0[i], b.0[i]);
        }
        Fe(r)
    }

    #[inline(always)]
    fn to_words(self, a: Fe) -> [[u64; 4]; MAX_LANES] {
        // A tight element v is below 2^255 + 2^247 < 2p - 19, so q = floor((v + 19) /
        // 2^255) is 1 exactly when v >= p; v + 19q with bit 255 dropped is v mod p. The
        // chain computes q exactly whatever the limbs' excess (each step is the floor of
        // the partial sum).
        let mut l = self.unpack(&a.0);
        let m32 = self.set1(MASK32);
        for i in 0..5 {
            l[i] = self.vand(l[i], m32);
        }
        let m26 = self.set1(MASK26);
        let m25 = self.set1(MASK25);
        let mut q = self.shr::<26>(self.vadd(l[0], self.set1(19)));
        for i in 0..5 {
            q = self.shr::<25>(self.vadd(l[2 * i + 1], q));
            if i < 4 {
                q = self.shr::<26>(self.vadd(l[2 * i + 2], q));
            }
        }
        l[0] = self.vadd(l[0], self.mul19_small(q));
        for i in 0..5 {
            l[2 * i + 1] = self.vadd(l[2 * i + 1], self.shr::<26>(l[2 * i]));
            l[2 * i] = self.vand(l[2 * i], m26);
            if i < 4 {
                l[2 * i + 2] = self.vadd(l[2 * i + 2], self.shr::<25>(l[2 * i + 1]));
            }
            l[2 * i + 1] = self.vand(l[2 * i + 1], m25);
        }
        let w = [
            self.store(self.vor(self.vor(l[0], self.shl::<26>(l[1])), self.shl::<51>(l[2]))),
            self.store(self.vor(
                self.vor(self.shr::<13>(l[2]), self.shl::<13>(l[3])),
                self.shl::<38>(l[4]),
            )),
            self.store(self.vor(self.vor(l[5], self.shl::<25>(l[6])), self.shl::<51>(l[7]))),
            self.store(self.vor(
                self.vor(self.shr::<13>(l[7]), self.shl::<12>(l[8])),
                self.shl::<38>(l[9]),
            )),
        ];
        let mut out = [[0u64; 4]; MAX_LANES];
        for lane in 0..4 {
            out[lane] = [w[0][lane], w[1][lane], w[2][lane], w[3][lane]];
        }
        out
    }
}

/// The low 255 bits of a little-endian value as ten limbs of 26, 25, 26, ... bits.
#[inline(always)]
fn split(w: &[u64; 4]) -> [u64; 10] {
    [
        w[0] & MASK26,
        (w[0] >> 26) & MASK25,
        ((w[0] >> 51) | (w[1] << 13)) & MASK26,
        (w[1] >> 13) & MASK25,
        (w[1] >> 38) & MASK26,
        w[2] & MASK25,
        (w[2] >> 25) & MASK26,
        ((w[2] >> 51) | (w[3] << 13)) & MASK25,
        (w[3] >> 12) & MASK26,
        (w[3] >> 38) & MASK25,
    ]
}

/// `f`, a function pointer LLVM cannot see through, so that a call through it is never
/// inlined (module docs: "Products out of line").
#[inline(always)]
fn hidden<F>(f: F) -> F {
    core::hint::black_box(f)
}

/// A 64-byte aligned stack slot (see [`align_frame`]).
#[repr(align(64))]
struct AlignedSlot(#[allow(dead_code)] u8);

/// Makes LLVM realign the stack frame of the (entry) function this is inlined into, to
/// 64 bytes. Without it, an entry keeps the caller's 16-byte alignment and spills its
/// 32-byte registers unaligned: whether a spill slot straddles two cache lines then
/// depends on where the stack happens to start, and with the wrong start (address space
/// randomization, the size of the environment) `mul` ran a third slower (measured: 1.31x
/// to 1.84x of ed25519-dalek by environment size; with this, 1.72x to 1.84x).
#[inline(always)]
fn align_frame() {
    // A variable, not `&AlignedSlot(0)`, which would be promoted to a constant.
    let slot = AlignedSlot(0);
    core::hint::black_box(&slot);
}

/// a * b for [`Lanes::mul`], out of line (module docs).
#[target_feature(enable = "avx2")]
fn mul_entry(token: Avx2, a: &Fe, b: &Fe) -> Fe {
    align_frame();
    token.product(a, b)
}

/// a^2 for [`Lanes::sq`], out of line (module docs).
#[target_feature(enable = "avx2")]
fn sq_entry(token: Avx2, a: &Fe) -> Fe {
    align_frame();
    token.square(a)
}

/// a^(2^k), k >= 1, for [`Lanes::sq_n`]: the squarings of the exponentiations in one
/// loop, one call for all of them.
#[target_feature(enable = "avx2")]
fn sq_n_entry(token: Avx2, a: &Fe, k: u32) -> Fe {
    align_frame();
    let mut r = token.square(a);
    for _ in 1..k {
        r = token.square(&r);
    }
    r
}

/// Verdicts of one group of up to four signatures (bit i: lane i valid).
#[target_feature(enable = "avx2")]
pub(crate) fn verify_group(token: Avx2, rule: Rule, p: &Prepared) -> u8 {
    verify::verify_group(token, rule, p)
}

/// Raw limbs in and out, for `lanes_tests` (the bounds at their extremes).
#[cfg(test)]
impl Avx2 {
    /// Bit offset of each limb.
    pub(crate) const OFFSETS: [u32; 10] = [0, 26, 51, 77, 102, 128, 153, 179, 204, 230];
    /// The largest tight limbs: 2^w_k + 2^16 - 1.
    pub(crate) const TIGHT_MAX: [u64; 10] = [
        (1 << 26) + (1 << 16) - 1,
        (1 << 25) + (1 << 16) - 1,
        (1 << 26) + (1 << 16) - 1,
        (1 << 25) + (1 << 16) - 1,
        (1 << 26) + (1 << 16) - 1,
        (1 << 25) + (1 << 16) - 1,
        (1 << 26) + (1 << 16) - 1,
        (1 << 25) + (1 << 16) - 1,
        (1 << 26) + (1 << 16) - 1,
        (1 << 25) + (1 << 16) - 1,
    ];

    /// The element with limb k of lane i equal to `limbs[i][k]` (each below 2^32).
    pub(crate) fn element(self, limbs: &[[u64; 10]; 4]) -> Fe {
        let mut p = [self.set1(0); 5];
        for i in 0..5 {
            let mut lanes = [0u64; 4];
            for lane in 0..4 {
                lanes[lane] = pack(&limbs[lane], i);
            }
            p[i] = self.load(&lanes);
        }
        Fe(p)
    }

    /// The limbs of each lane, as stored.
    pub(crate) fn limbs(self, a: Fe) -> [[u64; 10]; 4] {
        let mut out = [[0u64; 10]; 4];
        for i in 0..5 {
            let v = self.store(a.0[i]);
            for lane in 0..4 {
                out[lane][i] = v[lane] & MASK32;
                out[lane][i + 5] = v[lane] >> 32;
            }
        }
        out
    }
}
