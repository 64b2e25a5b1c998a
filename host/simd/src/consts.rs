//! Curve constants as canonical little-endian 64-bit words (every value < p).
//!
//! They are written out rather than computed at start-up so that each instruction set
//! only converts them to its own limbs. `tests::constants_match_curve25519_dalek`
//! recomputes each one independently (big integers, and curve25519-dalek's own
//! encodings of [j]B), so a wrong digit cannot go unnoticed.

/// d = -121665 / 121666, the curve constant.
pub(crate) const D: [u64; 4] = [
    0x75eb4dca135978a3,
    0x00700a4d4141d8ab,
    0x8cc740797779e898,
    0x52036cee2b6ffe73,
];
/// 2d, the factor of T in cached and Niels points.
pub(crate) const D2: [u64; 4] = [
    0xebd69b9426b2f159,
    0x00e0149a8283b156,
    0x198e80f2eef3d130,
    0x2406d9dc56dffce7,
];
/// sqrt(-1) = 2^((p - 1) / 4), the root curve25519-dalek uses.
pub(crate) const SQRT_M1: [u64; 4] = [
    0xc4ee1b274a0ea0b0,
    0x2f431806ad2fe478,
    0x2b4d00993dfbd7a7,
    0x2b8324804fc1df0b,
];
/// [j]B for j = 1..8 in affine Niels form: (y + x, y - x, 2dxy), each mod p.
pub(crate) const BASE_NIELS: [[[u64; 4]; 3]; 8] = [
    [
        [
            0x2fbc93c6f58c3b85,
            0xcf932dc6fb8c0e19,
            0x270b4898643d42c2,
            0x07cf9d3a33d4ba65,
        ],
        [
            0x9d103905d740913e,
            0xfd399f05d140beb3,
            0xa5c18434688f8a09,
            0x44fd2f9298f81267,
        ],
        [
            0xabc91205877aaa68,
            0x26d9e823ccaac49e,
            0x5a1b7dcbdd43598c,
            0x6f117b689f0c65a8,
        ],
    ],
    [
        [
            0x9224e7fc933c71d7,
            0x9f469d967a0ff5b5,
            0x5aa69a65e1d60702,
            0x590c063fa87d2e2e,
        ],
        [
            0x8a99a56042b4d5a8,
            0x8f2b810c4e60acf6,
            0xe09e236bb16e37aa,
            0x6bb595a669c92555,
        ],
        [
            0x43faa8b3a59b7a5f,
            0x36c16bdd5d9acf78,
            0x500fa0840b3d6a31,
            0x701af5b13ea50b73,
        ],
    ],
    [
        [
            0xaf25b0a84cee9730,
            0x025a8430e8864b8a,
            0xc11b50029f016732,
            0x7a164e1b9a80f8f4,
        ],
        [
            0x56611fe8a4fcd265,
            0x3bd353fde5c1ba7d,
            0x8131f31a214bd6bd,
            0x2ab91587555bda62,
        ],
        [
            0x14ae933f0dd0d889,
            0x589423221c35da62,
            0xd170e5458cf2db4c,
            0x5a2826af12b9b4c6,
        ],
    ],
    [
        [
            0x287351b98efc099f,
            0x6765c6f47dfd2538,
            0xca348d3dfb0a9265,
            0x680e910321e58727,
        ],
        [
            0x95fe050a056818bf,
            0x327e89715660faa9,
            0xc3e8e3cd06a05073,
            0x27933f4c7445a49a,
        ],
        [
            0x5a13fbe9c476ff09,
            0x6e9e39457b5cc172,
            0x5ddbdcf9102b4494,
            0x7f9d0cbf63553e2b,
        ],
    ],
    [
        [
            0xa212bc4408a5bb33,
            0x8d5048c3c75eed02,
            0xdd1beb0c5abfec44,
            0x2945ccf146e206eb,
        ],
        [
            0x7f9182c3a447d6ba,
            0xd50014d14b2729b7,
            0xe33cf11cb864a087,
            0x154a7e73eb1b55f3,
        ],
        [
            0xbcbbdbf1812a8285,
            0x270e0807d0bdd1fc,
            0xb41b670b1bbda72d,
            0x43aabe696b3bb69a,
        ],
    ],
    [
        [
            0x3a0ceeeb77157131,
            0x9b27158900c8af88,
            0x8065b668da59a736,
            0x51e57bb6a2cc38bd,
        ],
        [
            0x499806b67b7d8ca4,
            0x575be28427d22739,
            0xbb085ce7204553b9,
            0x38b64c41ae417884,
        ],
        [
            0x85ac326702ea4b71,
            0xbe70e00341a1bb01,
            0x53e4a24b083bc144,
            0x10b8e91a9f0d61e3,
        ],
    ],
    [
        [
            0x6b1a5cd0944ea3bf,
            0x7470353ab39dc0d2,
            0x71b2528228542e49,
            0x461bea69283c927e,
        ],
        [
            0xba6f2c9aaa3221b1,
            0x6ca021533bba23a7,
            0x9dea764f92192c3a,
            0x1d6edd5d2e5317e0,
        ],
        [
            0xf1836dc801b8b3a2,
            0xb3035f47053ea49a,
            0x529c41ba5877adf3,
            0x7a9fbb1c6a0f90a7,
        ],
    ],
    [
        [
            0x59b7596604dd3e8f,
            0x6cb30377e288702c,
            0xb1339c665ed9c323,
            0x0915e76061bce52f,
        ],
        [
            0xe2a75dedf39234d9,
            0x963d7680e1b558f9,
            0x2c2741ac6e3c23fb,
            0x3a9024a1320e01c3,
        ],
        [
            0xe7c1f5d9c9a2911a,
            0xb8a371788bcca7d7,
            0x636412190eb62a32,
            0x26907c5c2ecc4e95,
        ],
    ],
];

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
    use curve25519_dalek::scalar::Scalar;
    use num_bigint::BigUint;

    fn int(w: &[u64; 4]) -> BigUint {
        let bytes: Vec<u8> = w.iter().flat_map(|x| x.to_le_bytes()).collect();
        BigUint::from_bytes_le(&bytes)
    }

    fn p() -> BigUint {
        (BigUint::from(1u8) << 255u32) - BigUint::from(19u8)
    }

    fn inv(x: &BigUint) -> BigUint {
        x.modpow(&(p() - BigUint::from(2u8)), &p())
    }

    #[test]
    fn constants_match_curve25519_dalek() {
        let p = p();
        let d = int(&D);
        // d * 121666 = -121665 mod p
        assert_eq!(
            (&d * BigUint::from(121_666u32) + BigUint::from(121_665u32)) % &p,
            BigUint::from(0u8)
        );
        assert_eq!(int(&D2), (&d + &d) % &p);
        let i = int(&SQRT_M1);
        assert_eq!((&i * &i + BigUint::from(1u8)) % &p, BigUint::from(0u8));
        assert!(i < p);
        let two = BigUint::from(2u8);
        for (j, [ypx, ymx, xy2d]) in BASE_NIELS.iter().enumerate() {
            let (ypx, ymx, xy2d) = (int(ypx), int(ymx), int(xy2d));
            // y = (ypx + ymx) / 2, x = (ypx - ymx) / 2
            let y = (&ypx + &ymx) * inv(&two) % &p;
            let x = (&ypx + &p - &ymx) * inv(&two) % &p;
            assert_eq!(xy2d, &two * &d * &x * &y % &p, "2dxy of [{}]B", j + 1);
            // on the curve: -x^2 + y^2 = 1 + d x^2 y^2
            let (xx, yy) = (&x * &x % &p, &y * &y % &p);
            assert_eq!(
                (&yy + &p - &xx) % &p,
                (BigUint::from(1u8) + &d * &xx * &yy) % &p
            );
            // and it is dalek's [j]B: same y, same sign of x
            let want = (ED25519_BASEPOINT_POINT * Scalar::from(j as u64 + 1)).compress();
            let mut enc = y.to_bytes_le();
            enc.resize(32, 0);
            enc[31] |= u8::from(x.bit(0)) << 7;
            assert_eq!(enc.as_slice(), want.as_bytes(), "[{}]B", j + 1);
        }
    }
}
