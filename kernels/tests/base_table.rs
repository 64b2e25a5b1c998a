//! The base-point table `include/vigil/ed25519_base.h`, regenerated and compared.
//!
//! The table holds [j]B for j = 1..8 in affine Niels form (y + x, y - x, 2dxy), each
//! coordinate canonical and split into the ten 26/25-bit limbs of `fe25519.h`. The
//! multiples come from curve25519-dalek (`B * Scalar::from(j)`, compressed); x is
//! recovered from the encoding here, with a small field implementation of this file's
//! own, and checked two ways: the point is on the curve, and the affine addition law
//! ([j]B = [j - 1]B + B) reproduces dalek's encodings, which a wrong d or a wrong root
//! could not.
//!
//! `cargo test -p vigil-kernels --test base_table` fails if the header differs from what
//! this generates; with `VIGIL_REGEN=1` it rewrites the header instead.

// Multi-word arithmetic keeps the low half of wider values on purpose.
#![allow(clippy::cast_possible_truncation)]

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::scalar::Scalar;

/// An integer mod p = 2^255 - 19, as four little-endian 64-bit words, always < p.
type Fe = [u64; 4];

const P: Fe = [
    0xffff_ffff_ffff_ffed,
    0xffff_ffff_ffff_ffff,
    0xffff_ffff_ffff_ffff,
    0x7fff_ffff_ffff_ffff,
];

/// a - b over four words, and whether it borrowed.
fn sub_words(a: &Fe, b: &Fe) -> (Fe, bool) {
    let mut out = [0u64; 4];
    let mut borrow = false;
    for i in 0..4 {
        let (d, b1) = a[i].overflowing_sub(b[i]);
        let (d, b2) = d.overflowing_sub(u64::from(borrow));
        out[i] = d;
        borrow = b1 || b2;
    }
    (out, borrow)
}

/// a mod p for any a < 2^256 (2^256 < 3p, so at most two subtractions).
fn reduce_once(a: Fe) -> Fe {
    let mut a = a;
    for _ in 0..2 {
        let (d, borrow) = sub_words(&a, &P);
        if !borrow {
            a = d;
        }
    }
    a
}

fn add(a: &Fe, b: &Fe) -> Fe {
    // a, b < p, so a + b < 2^256.
    let mut out = [0u64; 4];
    let mut carry = 0u128;
    for i in 0..4 {
        let t = u128::from(a[i]) + u128::from(b[i]) + carry;
        out[i] = t as u64;
        carry = t >> 64;
    }
    reduce_once(out)
}

fn sub(a: &Fe, b: &Fe) -> Fe {
    let (d, borrow) = sub_words(a, b);
    if borrow {
        // d = a - b + 2^256; add p and drop the 2^256 (the carry out).
        let mut out = [0u64; 4];
        let mut carry = 0u128;
        for i in 0..4 {
            let t = u128::from(d[i]) + u128::from(P[i]) + carry;
            out[i] = t as u64;
            carry = t >> 64;
        }
        out
    } else {
        d
    }
}

fn mul(a: &Fe, b: &Fe) -> Fe {
    let mut t = [0u64; 8];
    for i in 0..4 {
        let mut carry = 0u128;
        for j in 0..4 {
            let x = u128::from(a[i]) * u128::from(b[j]) + u128::from(t[i + j]) + carry;
            t[i + j] = x as u64;
            carry = x >> 64;
        }
        t[i + 4] = carry as u64;
    }
    // 2^256 = 38 mod p: fold the high half in, then the (small) overflow word.
    let mut lo = [0u64; 4];
    let mut carry = 0u128;
    for i in 0..4 {
        let x = u128::from(t[i]) + 38 * u128::from(t[i + 4]) + carry;
        lo[i] = x as u64;
        carry = x >> 64;
    }
    // The carry out of the top word (at most 38) is worth 38 times itself again.
    let mut c = 38 * carry;
    for word in &mut lo {
        let x = u128::from(*word) + c;
        *word = x as u64;
        c = x >> 64;
    }
    // Wrapping past 2^256 again leaves a value below 38 * 38, so adding 38 for that last
    // carry cannot carry any further.
    if c != 0 {
        lo[0] += 38;
    }
    reduce_once(lo)
}

fn from_u64(x: u64) -> Fe {
    [x, 0, 0, 0]
}

fn pow(a: &Fe, e: &Fe) -> Fe {
    let mut r = from_u64(1);
    for i in (0..256).rev() {
        r = mul(&r, &r);
        if (e[i / 64] >> (i % 64)) & 1 == 1 {
            r = mul(&r, a);
        }
    }
    r
}

fn invert(a: &Fe) -> Fe {
    let (e, _) = sub_words(&P, &from_u64(2));
    pow(a, &e)
}

fn neg(a: &Fe) -> Fe {
    sub(&from_u64(0), a)
}

/// The square root of a that is even, if a is a square.
fn sqrt(a: &Fe) -> Option<Fe> {
    // (p + 3) / 8 = 2^252 - 2, and sqrt(-1) = 2^((p - 1) / 4), (p - 1) / 4 = 2^253 - 5.
    let e1: Fe = [
        0xffff_ffff_ffff_fffe,
        u64::MAX,
        u64::MAX,
        0x0fff_ffff_ffff_ffff,
    ];
    let e2: Fe = [
        0xffff_ffff_ffff_fffb,
        u64::MAX,
        u64::MAX,
        0x1fff_ffff_ffff_ffff,
    ];
    let mut r = pow(a, &e1);
    if mul(&r, &r) != *a {
        r = mul(&r, &pow(&from_u64(2), &e2));
    }
    if mul(&r, &r) != *a {
        return None;
    }
    if r[0] & 1 == 1 {
        r = neg(&r);
    }
    Some(r)
}

fn d() -> Fe {
    neg(&mul(&from_u64(121_665), &invert(&from_u64(121_666))))
}

/// The ten limbs (26, 25, 26, ... bits) of a canonical element.
fn limbs(a: &Fe) -> [u32; 10] {
    let mut out = [0u32; 10];
    let mut offset = 0usize;
    for (i, limb) in out.iter_mut().enumerate() {
        let width = if i % 2 == 0 { 26 } else { 25 };
        let mut v = 0u64;
        for bit in 0..width {
            let pos = offset + bit;
            v |= ((a[pos / 64] >> (pos % 64)) & 1) << bit;
        }
        *limb = v as u32;
        offset += width;
    }
    out
}

/// An affine point (x, y).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Affine {
    x: Fe,
    y: Fe,
}

/// The encoding of (x, y): y with bit 255 = the low bit of x.
fn encode(p: &Affine) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = (p.y[i / 8] >> (8 * (i % 8))) as u8;
    }
    out[31] |= ((p.x[0] & 1) as u8) << 7;
    out
}

/// x from the encoding (y and x's sign), as decompression does; None off the curve.
fn decode(bytes: &[u8; 32]) -> Option<Affine> {
    let mut y = [0u64; 4];
    for (i, byte) in bytes.iter().enumerate() {
        y[i / 8] |= u64::from(*byte) << (8 * (i % 8));
    }
    y[3] &= 0x7fff_ffff_ffff_ffff;
    let y = reduce_once(y);
    let one = from_u64(1);
    let yy = mul(&y, &y);
    let u = sub(&yy, &one);
    let v = add(&mul(&d(), &yy), &one);
    let mut x = sqrt(&mul(&u, &invert(&v)))?;
    if bytes[31] >> 7 == 1 {
        x = neg(&x);
    }
    Some(Affine { x, y })
}

fn on_curve(p: &Affine) -> bool {
    // -x^2 + y^2 = 1 + d x^2 y^2
    let xx = mul(&p.x, &p.x);
    let yy = mul(&p.y, &p.y);
    sub(&yy, &xx) == add(&from_u64(1), &mul(&d(), &mul(&xx, &yy)))
}

/// The twisted Edwards addition law with a = -1.
fn add_points(p: &Affine, q: &Affine) -> Affine {
    let one = from_u64(1);
    let t = mul(&d(), &mul(&mul(&p.x, &q.x), &mul(&p.y, &q.y)));
    let x = mul(
        &add(&mul(&p.x, &q.y), &mul(&p.y, &q.x)),
        &invert(&add(&one, &t)),
    );
    let y = mul(
        &add(&mul(&p.y, &q.y), &mul(&p.x, &q.x)),
        &invert(&sub(&one, &t)),
    );
    Affine { x, y }
}

/// [j]B for j = 1..=8, from curve25519-dalek, checked as the module docs say.
fn multiples() -> Result<Vec<Affine>, String> {
    let mut out: Vec<Affine> = Vec::new();
    for j in 1..=8u64 {
        let encoded = (ED25519_BASEPOINT_POINT * Scalar::from(j))
            .compress()
            .to_bytes();
        let p = decode(&encoded).ok_or(format!("[{j}]B does not decode"))?;
        if !on_curve(&p) || encode(&p) != encoded {
            return Err(format!("[{j}]B is not on the curve or does not re-encode"));
        }
        if let Some(prev) = out.last() {
            if add_points(prev, &out[0]) != p {
                return Err(format!("[{j}]B is not [{}]B + B", j - 1));
            }
        }
        out.push(p);
    }
    Ok(out)
}

/// One coordinate as a C initializer: ten limbs over two lines.
fn fe_initializer(a: &Fe) -> String {
    let words: Vec<String> = limbs(a).iter().map(|l| format!("0x{l:07x}u")).collect();
    format!(
        "{{{},\n      {}}}",
        words[..5].join(", "),
        words[5..].join(", ")
    )
}

/// The header's full text.
fn header() -> Result<String, String> {
    let d2 = add(&d(), &d());
    let mut s = String::from(
        "/*
 * ed25519_base.h: GENERATED by kernels/tests/base_table.rs; do not edit.
 * Regenerate: VIGIL_REGEN=1 cargo test -p vigil-kernels --test base_table
 *
 * vigil_ed25519_base_niels[j - 1] = [j]B for j = 1..8, B the Ed25519 base point, in
 * affine Niels form {y + x, y - x, 2dxy} (vigil_ge_niels in ge25519.h), each coordinate
 * canonical (< p) as the ten 26/25-bit limbs of fe25519.h. The multiples come from
 * curve25519-dalek; the test checks them against the curve equation and the addition law.
 */
#ifndef VIGIL_ED25519_BASE_H
#define VIGIL_ED25519_BASE_H

#include \"vigil/vendor.h\"

VIGIL_CONSTANT u32 vigil_ed25519_base_niels[8][3][10] = {
",
    );
    let points = multiples()?;
    for (j, p) in points.iter().enumerate() {
        let coords = [add(&p.y, &p.x), sub(&p.y, &p.x), mul(&d2, &mul(&p.x, &p.y))];
        let rows: Vec<String> = coords.iter().map(fe_initializer).collect();
        let sep = if j + 1 < points.len() { "," } else { "" };
        s.push_str(&format!(
            "    /* [{}]B */\n    {{{}}}{sep}\n",
            j + 1,
            rows.join(",\n     ")
        ));
    }
    s.push_str("};\n\n#endif /* VIGIL_ED25519_BASE_H */\n");
    Ok(s)
}

#[test]
fn field_arithmetic_is_sound() {
    // d is the documented constant 37095705934669439343138083508754565189542113879843219016388785533085940283555.
    let d = d();
    assert_eq!(
        d,
        [
            0x75eb_4dca_1359_78a3,
            0x0070_0a4d_4141_d8ab,
            0x8cc7_4079_7779_e898,
            0x5203_6cee_2b6f_fe73
        ]
    );
    let x = mul(&d, &d);
    assert_eq!(mul(&x, &invert(&x)), from_u64(1));
    let minus_one = neg(&from_u64(1));
    assert_eq!(sqrt(&minus_one).map(|r| mul(&r, &r)), Some(minus_one));
}

#[test]
fn base_table_header_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/include/vigil/ed25519_base.h");
    let want = header().expect("the table's points check out");
    if std::env::var_os("VIGIL_REGEN").is_some_and(|v| v == "1") {
        std::fs::write(path, &want).expect("write the header");
        return;
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "{path} is stale or edited; regenerate it with \
         VIGIL_REGEN=1 cargo test -p vigil-kernels --test base_table"
    );
}
