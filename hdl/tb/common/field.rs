//! Field elements for the field units' testbenches (`vigil_fe_alu.rs`,
//! `vigil_fe_addsub.rs`): p, the conversion to and from the ports' 32-bit words, and the
//! random operands both draw from. Included by each with `#[path]`.

use num_bigint::BigUint;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub fn p() -> BigUint {
    (BigUint::from(1u32) << 255u32) - 19u32
}

pub fn two_255() -> BigUint {
    BigUint::from(1u32) << 255u32
}

pub fn to_words(x: &BigUint) -> [u32; 8] {
    assert!(x.bits() <= 255, "operand wider than 255 bits: {x:#x}");
    let mut out = [0u32; 8];
    for (o, d) in out.iter_mut().zip(x.to_u32_digits()) {
        *o = d;
    }
    out
}

pub fn from_words(w: &[u32; 8]) -> BigUint {
    BigUint::from_slice(w)
}

/// A random operand: uniform, or near 0, p or 2^255, or sparse.
pub fn random_value(rng: &mut ChaCha8Rng) -> BigUint {
    let mut words = [0u32; 8];
    rng.fill(&mut words[..]);
    words[7] &= 0x7FFF_FFFF;
    let uniform = BigUint::from_slice(&words);
    let small = BigUint::from(rng.gen::<u64>());
    match rng.gen_range(0..8) {
        0 => small,
        1 => (p() - (small % p())) % two_255(),
        2 => two_255() - 1u32 - (small % two_255()),
        3 => {
            // A few random bits set.
            let mut x = BigUint::from(0u32);
            for _ in 0..rng.gen_range(1..6) {
                x.set_bit(rng.gen_range(0..255), true);
            }
            x
        }
        _ => uniform,
    }
}
