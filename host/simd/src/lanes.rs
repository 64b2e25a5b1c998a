//! The contract between the verification algorithm and an instruction set.
//!
//! The algorithm (`point`, `verify`) is written once, generic over [`Lanes`]: a set of
//! `N` field elements mod p = 2^255 - 19 that every operation processes at once, one per
//! SIMD lane. Each instruction set (`ifma`: 8 lanes in radix 2^51, `avx2`: 4 lanes in
//! radix 2^25.5) implements this trait with its own limbs and its own carry discipline;
//! the algorithm never sees a limb.
//!
//! **Bounds.** The contract is deliberately simple: every method accepts any element
//! that any method of the same implementation returned (or that [`Lanes::from_words`]
//! or [`Lanes::splat`] made), and returns such an element. Each implementation documents
//! the limb bounds that make this true, and carries wherever its multiplier needs it.
//!
//! **Lanes never branch apart.** Per-lane choices are bit masks (bit `i` for lane `i`)
//! applied with [`Lanes::select`]; the only way out of the vectors is
//! [`Lanes::to_words`], which the algorithm uses for its few per-lane comparisons.
//!
//! Implementations are zero-sized tokens that can only be made after the CPU was found
//! to have the instruction set, so holding one is the proof that its methods may run.

/// Most lanes any implementation has; per-lane arrays are this long and only the first
/// [`Lanes::N`] entries are used.
pub(crate) const MAX_LANES: usize = 8;

/// A lane-parallel field GF(2^255 - 19) (see the module docs).
pub(crate) trait Lanes: Copy {
    /// Lanes processed at once (at most [`MAX_LANES`]).
    const N: usize;
    /// `N` field elements.
    type Fe: Copy;

    /// Lane `i` holds `words[i]` (little-endian) with bit 255 dropped: the value may be
    /// up to 2^255 - 1, that is, not reduced mod p (decompression takes y that way).
    // `self` is the instruction-set token (the proof the method may run), not a source.
    #[allow(clippy::wrong_self_convention)]
    fn from_words(self, words: &[[u64; 4]; MAX_LANES]) -> Self::Fe;
    /// Every lane holds the canonical constant `words`.
    fn splat(self, words: &[u64; 4]) -> Self::Fe;
    /// a + b.
    fn add(self, a: Self::Fe, b: Self::Fe) -> Self::Fe;
    /// a - b.
    fn sub(self, a: Self::Fe, b: Self::Fe) -> Self::Fe;
    /// -a.
    fn neg(self, a: Self::Fe) -> Self::Fe;
    /// a * b.
    fn mul(self, a: Self::Fe, b: Self::Fe) -> Self::Fe;
    /// a^2.
    fn sq(self, a: Self::Fe) -> Self::Fe;
    /// Lane by lane: `a` where bit `i` of `mask` is set, else `b`.
    fn select(self, mask: u8, a: Self::Fe, b: Self::Fe) -> Self::Fe;
    /// The canonical value (< p) of each lane as little-endian words.
    fn to_words(self, a: Self::Fe) -> [[u64; 4]; MAX_LANES];

    /// The mask with every lane set.
    #[inline(always)]
    fn all(self) -> u8 {
        // N <= MAX_LANES = 8: the low N bits.
        u8::MAX >> (MAX_LANES - Self::N)
    }

    /// Lanes where `a` is 0 mod p.
    #[inline(always)]
    fn is_zero(self, a: Self::Fe) -> u8 {
        let w = self.to_words(a);
        let mut m = 0u8;
        for (i, v) in w.iter().enumerate().take(Self::N) {
            m |= u8::from(*v == [0; 4]) << i;
        }
        m
    }

    /// Lanes where a = b mod p.
    #[inline(always)]
    fn eq(self, a: Self::Fe, b: Self::Fe) -> u8 {
        self.is_zero(self.sub(a, b))
    }

    /// Lanes where the canonical value of `a` is odd ("negative" in RFC 8032 terms).
    #[inline(always)]
    fn is_negative(self, a: Self::Fe) -> u8 {
        let w = self.to_words(a);
        let mut m = 0u8;
        for (i, v) in w.iter().enumerate().take(Self::N) {
            m |= u8::from(v[0] & 1 == 1) << i;
        }
        m
    }

    /// a^(2^k), k >= 1.
    #[inline(always)]
    fn sq_n(self, a: Self::Fe, k: u32) -> Self::Fe {
        let mut r = self.sq(a);
        for _ in 1..k {
            r = self.sq(r);
        }
        r
    }

    /// (a^(2^250 - 1), a^11): the chain shared by inversion and the square-root power
    /// (the usual addition chain of ref10 and curve25519-dalek: 249 squarings, 10
    /// multiplications to here).
    #[inline(always)]
    fn pow22501(self, a: Self::Fe) -> (Self::Fe, Self::Fe) {
        let t0 = self.sq(a); // 2
        let t1 = self.sq_n(t0, 2); // 8
        let t2 = self.mul(a, t1); // 9
        let t3 = self.mul(t0, t2); // 11
        let t4 = self.sq(t3); // 22
        let t5 = self.mul(t2, t4); // 2^5 - 1
        let t6 = self.sq_n(t5, 5);
        let t7 = self.mul(t6, t5); // 2^10 - 1
        let t8 = self.sq_n(t7, 10);
        let t9 = self.mul(t8, t7); // 2^20 - 1
        let t10 = self.sq_n(t9, 20);
        let t11 = self.mul(t10, t9); // 2^40 - 1
        let t12 = self.sq_n(t11, 10);
        let t13 = self.mul(t12, t7); // 2^50 - 1
        let t14 = self.sq_n(t13, 50);
        let t15 = self.mul(t14, t13); // 2^100 - 1
        let t16 = self.sq_n(t15, 100);
        let t17 = self.mul(t16, t15); // 2^200 - 1
        let t18 = self.sq_n(t17, 50);
        let t19 = self.mul(t18, t13); // 2^250 - 1
        (t19, t3)
    }

    /// a^(p - 2) = 1/a (0 for 0).
    #[inline(always)]
    fn invert(self, a: Self::Fe) -> Self::Fe {
        let (t19, t3) = self.pow22501(a);
        self.mul(self.sq_n(t19, 5), t3) // 2^255 - 32 + 11 = p - 2
    }

    /// a^((p - 5) / 8) = a^(2^252 - 3).
    #[inline(always)]
    fn pow_p58(self, a: Self::Fe) -> Self::Fe {
        let (t19, _) = self.pow22501(a);
        self.mul(self.sq_n(t19, 2), a)
    }
}
