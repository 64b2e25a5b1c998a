//! Writes `testdata/edge/ed25519_edge.jsonl`, Vigil's own Ed25519 edge cases.
//!
//! Run: `cargo run --release -p vigil-core --example gen_edge_vectors`
//!
//! Every case is built by construction from a fixed seed (ChaCha20), so the file is the
//! same on every run. Every expected verdict is computed by running the reference crates
//! ([`vigil_core::reference_verify`], through [`EdgeRecord::new`]): none is written by
//! hand. The comments say how each case was built and which verification equations hold
//! (computed with curve25519-dalek, for the reader; the verdicts do not use them).
//! `testdata/README.md` describes each kind.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::PathBuf;

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use ed25519_dalek::Signer as _;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use vigil_core::conformance::EdgeRecord;
use vigil_core::craft::{
    add_multiple_of_l, challenge, decode, equations, hash_wide, is_canonical, mixed,
    noncanonical_encodings, noncanonical_ordinary, off_curve, random_scalar, sign_with,
    small_order, small_order_aliases, torsion, P,
};
use vigil_core::Signer;

/// The generator's seed ("vigil edge" v1).
const SEED: u64 = 0x7669_6769_6c65_6401;
/// Tries before a search for a case with a wanted property gives up.
const TRIES: usize = 10_000;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

struct Gen {
    rng: ChaCha20Rng,
    records: Vec<EdgeRecord>,
    counts: BTreeMap<String, usize>,
}

impl Gen {
    fn add(&mut self, kind: &str, comment: String, msg: &[u8], signers: &[Signer]) {
        let n = self.counts.entry(kind.to_owned()).or_default();
        *n += 1;
        let id = format!("{kind}-{n:03}");
        self.records
            .push(EdgeRecord::new(id, kind, comment, msg, signers));
    }

    fn msg(&mut self) -> Vec<u8> {
        let len = self.rng.gen_range(0..=48);
        self.bytes(len)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut m = vec![0u8; len];
        self.rng.fill_bytes(&mut m);
        m
    }

    fn scalar(&mut self) -> Scalar {
        random_scalar(&mut self.rng)
    }

    /// An honest RFC 8032 signature by a fresh random key.
    fn honest(&mut self, msg: &[u8]) -> Signer {
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        Signer {
            pubkey: key.verifying_key().to_bytes(),
            signature: key.sign(msg).to_bytes(),
        }
    }

    /// Calls `f` with fresh randomness until it returns a value.
    fn search<T>(
        &mut self,
        what: &str,
        mut f: impl FnMut(&mut ChaCha20Rng) -> Option<T>,
    ) -> Result<T> {
        for _ in 0..TRIES {
            if let Some(found) = f(&mut self.rng) {
                return Ok(found);
            }
        }
        Err(format!("no {what} found in {TRIES} tries").into())
    }
}

fn signer(pubkey: [u8; 32], signature: [u8; 64]) -> Signer {
    Signer { pubkey, signature }
}

fn canonical(p: &EdwardsPoint) -> [u8; 32] {
    p.compress().to_bytes()
}

fn ordinary(s: &Scalar) -> [u8; 32] {
    canonical(&EdwardsPoint::mul_base(s))
}

/// `R || S` with the given R encoding and S bytes.
fn sig_of(r_enc: &[u8; 32], s: &[u8; 32]) -> [u8; 64] {
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(r_enc);
    sig[32..].copy_from_slice(s);
    sig
}

fn s_of(sig: &[u8; 64]) -> [u8; 32] {
    let mut s = [0u8; 32];
    s.copy_from_slice(&sig[32..]);
    s
}

/// "T3 (order 8)": the small-order point `EIGHT_TORSION[i]`.
fn tname(i: usize) -> String {
    let order = small_order(&torsion(i)).unwrap_or(0);
    format!("T{i} (order {order})")
}

/// How an encoding relates to its point.
fn describe(enc: &[u8; 32]) -> String {
    if decode(enc).is_none() {
        return "not a curve point".into();
    }
    if is_canonical(enc) {
        return "canonical".into();
    }
    let sign = enc[31] >> 7;
    let mut y = *enc;
    y[31] &= 0x7f;
    let at_least_p = y.iter().rev().zip(P.iter().rev()).find(|(a, b)| a != b);
    if matches!(at_least_p, Some((a, b)) if a > b) || y == P {
        // y = t + p with t < 19: t is y's low byte minus p's (0xed), mod 256.
        let t = y[0].wrapping_sub(0xed);
        format!("non-canonical: y = {t} + p, sign bit {sign}")
    } else {
        "non-canonical: sign bit set on a point with x = 0 (\"negative zero\")".into()
    }
}

/// Which equations hold, in words.
fn holds(s: &Signer, msg: &[u8]) -> String {
    match equations(&s.pubkey, &s.signature, msg) {
        Some((true, true)) => "cofactorless and cofactored equations both hold".into(),
        Some((false, true)) => "only the cofactored equation holds".into(),
        Some((true, false)) => "only the cofactorless equation holds (impossible)".into(),
        Some((false, false)) => "neither equation holds".into(),
        None => "A or R does not decode, or S >= L".into(),
    }
}

fn k_mod_8(r_enc: &[u8; 32], a_enc: &[u8; 32], msg: &[u8]) -> (u8, u8) {
    let wide = hash_wide(r_enc, a_enc, msg)[0] & 7;
    let reduced = challenge(r_enc, a_enc, msg).as_bytes()[0] & 7;
    (wide, reduced)
}

/// Both small order, S = 0, every pair of the eight torsion points, canonical.
fn small_order_a_r(g: &mut Gen) {
    for ta in 0..8 {
        for tr in 0..8 {
            let msg = g.msg();
            let s = signer(
                canonical(&torsion(ta)),
                sig_of(&canonical(&torsion(tr)), &[0; 32]),
            );
            let c = format!(
                "A = {}, R = {}, both canonical, S = 0; {}",
                tname(ta),
                tname(tr),
                holds(&s, &msg)
            );
            g.add("small_order_a_r", c, &msg, &[s]);
        }
    }
}

/// The six non-canonical encodings of small-order points, as A and as R.
fn small_order_noncanonical(g: &mut Gen) {
    let aliases = small_order_aliases();
    for (t, encs) in aliases.iter().enumerate() {
        for enc in &encs[1..] {
            let what = format!("{} encoded {}", tname(t), describe(enc));
            for other in 0..8 {
                let msg = g.msg();
                let s = signer(*enc, sig_of(&canonical(&torsion(other)), &[0; 32]));
                let c = format!(
                    "A = {what}; R = {} canonical; S = 0; {}",
                    tname(other),
                    holds(&s, &msg)
                );
                g.add("small_order_noncanonical", c, &msg, &[s]);
            }
            for other in 0..8 {
                let msg = g.msg();
                let s = signer(canonical(&torsion(other)), sig_of(enc, &[0; 32]));
                let c = format!(
                    "R = {what}; A = {} canonical; S = 0; {}",
                    tname(other),
                    holds(&s, &msg)
                );
                g.add("small_order_noncanonical", c, &msg, &[s]);
            }
            let msg = g.msg();
            let s = signer(*enc, sig_of(enc, &[0; 32]));
            let c = format!("A = R = {what}; S = 0; {}", holds(&s, &msg));
            g.add("small_order_noncanonical", c, &msg, &[s]);

            let (msg, r) = (g.msg(), g.scalar());
            let r_enc = ordinary(&r);
            let s = signer(*enc, sign_with(&Scalar::ZERO, enc, &r, &r_enc, &msg));
            let c = format!(
                "A = {what}; R = [r]B, S = r, k over A as received; {}",
                holds(&s, &msg)
            );
            g.add("small_order_noncanonical", c, &msg, &[s]);

            let (msg, a) = (g.msg(), g.scalar());
            let a_enc = ordinary(&a);
            let s = signer(a_enc, sign_with(&a, &a_enc, &Scalar::ZERO, enc, &msg));
            let c = format!(
                "R = {what}; A = [a]B, S = k*a, k over R as received; {}",
                holds(&s, &msg)
            );
            g.add("small_order_noncanonical", c, &msg, &[s]);
        }
    }
}

/// Small-order A with an ordinary R = [r]B and S = r: the cofactorless equation holds
/// exactly when [k]A = 0.
fn small_order_a(g: &mut Gen) -> Result<()> {
    for t in 0..8 {
        let a_enc = canonical(&torsion(t));
        for want in [true, false] {
            if t == 0 && !want {
                continue; // [k]O = O always
            }
            let (msg, s) = g.search("small-order-A case", |rng| {
                let msg = {
                    let mut m = vec![0u8; rng.gen_range(0..=48)];
                    rng.fill_bytes(&mut m);
                    m
                };
                let r = random_scalar(rng);
                let r_enc = ordinary(&r);
                let k = challenge(&r_enc, &a_enc, &msg);
                ((k * torsion(t)).is_identity() == want).then(|| {
                    (
                        msg.clone(),
                        signer(a_enc, sign_with(&Scalar::ZERO, &a_enc, &r, &r_enc, &msg)),
                    )
                })
            })?;
            let c = format!(
                "A = {} canonical; R = [r]B; S = r; [k]A {} 0, so {}",
                tname(t),
                if want { "=" } else { "!=" },
                holds(&s, &msg)
            );
            g.add("small_order_a", c, &msg, &[s]);
        }
    }
    Ok(())
}

/// Small-order R with an ordinary A = [a]B and S = k*a: the cofactorless equation holds
/// only for R = identity.
fn small_order_r(g: &mut Gen) {
    for t in 0..8 {
        let (msg, a) = (g.msg(), g.scalar());
        let a_enc = ordinary(&a);
        let r_enc = canonical(&torsion(t));
        let s = signer(a_enc, sign_with(&a, &a_enc, &Scalar::ZERO, &r_enc, &msg));
        let c = format!(
            "R = {} canonical; A = [a]B; S = k*a; {}",
            tname(t),
            holds(&s, &msg)
        );
        g.add("small_order_r", c, &msg, &[s]);
    }
}

/// A = [a]B + T: both equations hold when [k]T = 0, else only the cofactored one.
fn mixed_order_a(g: &mut Gen) -> Result<()> {
    for t in 1..8 {
        for want in [true, false] {
            let (msg, s) = g.search("mixed-order-A case", |rng| {
                let mut msg = vec![0u8; rng.gen_range(0..=48)];
                rng.fill_bytes(&mut msg);
                let (a, r) = (random_scalar(rng), random_scalar(rng));
                let a_enc = mixed(&a, t);
                let r_enc = ordinary(&r);
                let k = challenge(&r_enc, &a_enc, &msg);
                ((k * torsion(t)).is_identity() == want).then(|| {
                    (
                        msg.clone(),
                        signer(a_enc, sign_with(&a, &a_enc, &r, &r_enc, &msg)),
                    )
                })
            })?;
            let c = format!(
                "A = [a]B + {} (mixed order); R = [r]B; S = r + k*a; [k]{} {} 0, so {}",
                tname(t),
                tname(t),
                if want { "=" } else { "!=" },
                holds(&s, &msg)
            );
            g.add("mixed_order_a", c, &msg, &[s]);
        }
    }
    // The cofactorless equation holds only if [k]A is taken with the unreduced 512-bit
    // hash (a verifier bug); a correct cofactorless verifier rejects.
    let (msg, s) = g.search("unreduced-k case", |rng| {
        let mut msg = vec![0u8; rng.gen_range(0..=48)];
        rng.fill_bytes(&mut msg);
        let (a, r) = (random_scalar(rng), random_scalar(rng));
        let a_enc = mixed(&a, 1);
        let tr = rng.gen_range(0..8);
        let r_enc = mixed(&r, tr);
        let (wide, reduced) = k_mod_8(&r_enc, &a_enc, &msg);
        let cancels = (tr + usize::from(wide)) % 8 == 0;
        (cancels && wide != reduced).then(|| {
            (
                msg.clone(),
                signer(a_enc, sign_with(&a, &a_enc, &r, &r_enc, &msg)),
            )
        })
    })?;
    let c = format!(
        "A = [a]B + T1, R = [r]B + T, S = r + (k mod L)*a, where T + [k_512]T1 = 0 for the \
         unreduced 512-bit hash k_512 but not for k mod L: only a verifier that multiplies A \
         by the unreduced hash sees the cofactorless equation hold; {}",
        holds(&s, &msg)
    );
    g.add("mixed_order_a", c, &msg, &[s]);
    Ok(())
}

/// R = [r]B + T: cofactored only; and mixed A and R with the torsion parts cancelling.
fn mixed_order_r(g: &mut Gen) -> Result<()> {
    for t in 1..8 {
        let (msg, a, r) = (g.msg(), g.scalar(), g.scalar());
        let a_enc = ordinary(&a);
        let r_enc = mixed(&r, t);
        let s = signer(a_enc, sign_with(&a, &a_enc, &r, &r_enc, &msg));
        let c = format!(
            "R = [r]B + {} (mixed order); A = [a]B; S = r + k*a; {}",
            tname(t),
            holds(&s, &msg)
        );
        g.add("mixed_order_r", c, &msg, &[s]);
    }
    for ta in 1..8 {
        let (msg, s, tr) = g.search("cancelling torsion", |rng| {
            let mut msg = vec![0u8; rng.gen_range(0..=48)];
            rng.fill_bytes(&mut msg);
            let (a, r) = (random_scalar(rng), random_scalar(rng));
            let a_enc = mixed(&a, ta);
            let tr = rng.gen_range(1..8);
            let r_enc = mixed(&r, tr);
            let k = challenge(&r_enc, &a_enc, &msg);
            (torsion(tr) + k * torsion(ta)).is_identity().then(|| {
                (
                    msg.clone(),
                    signer(a_enc, sign_with(&a, &a_enc, &r, &r_enc, &msg)),
                    tr,
                )
            })
        })?;
        let c = format!(
            "A = [a]B + {}, R = [r]B + {}, [k]{} + {} = 0; S = r + k*a; {}",
            tname(ta),
            tname(tr),
            tname(ta),
            tname(tr),
            holds(&s, &msg)
        );
        g.add("mixed_order_r", c, &msg, &[s]);
    }
    Ok(())
}

/// S out of range, and S values at the boundaries.
fn s_range(g: &mut Gen) -> Result<()> {
    for len in [0usize, 32, 100] {
        let msg = g.bytes(len);
        let base = g.honest(&msg);
        let s = s_of(&base.signature);
        let mut variants: Vec<(String, [u8; 32])> = Vec::new();
        for k in [1u8, 2, 3] {
            if let Some(v) = add_multiple_of_l(&s, k) {
                variants.push((format!("S + {k}L"), v));
            }
        }
        let kmax = (1..=15u8)
            .rev()
            .find(|&k| add_multiple_of_l(&s, k).is_some())
            .ok_or("S + L overflows")?;
        if let Some(v) = add_multiple_of_l(&s, kmax) {
            variants.push((format!("S + {kmax}L (the largest multiple that fits)"), v));
        }
        for (bit, mask) in [(253, 0x20u8), (254, 0x40), (255, 0x80)] {
            let mut v = s;
            v[31] |= mask;
            variants.push((format!("S + 2^{bit} (bit {bit} set)"), v));
        }
        for (what, v) in variants {
            let sg = signer(base.pubkey, sig_of(&base.signature[..32].try_into()?, &v));
            let c = format!(
                "honest signature ({len}-byte message) with S replaced by {what}: S >= L; \
                 valid if S were reduced mod L"
            );
            g.add("s_range", c, &msg, &[sg]);
        }
    }
    let l_plus = |k: u8, add: u8| -> Result<[u8; 32]> {
        let mut v = [0u8; 32];
        v[0] = add;
        Ok(add_multiple_of_l(&v, k).ok_or("overflow")?)
    };
    let mut l_minus_1 = l_plus(1, 0)?;
    l_minus_1[0] -= 1;
    let mut two_252 = [0u8; 32];
    two_252[31] = 0x10;
    let mut two_253_minus_1 = [0xffu8; 32];
    two_253_minus_1[31] = 0x1f;
    let fixed: [(&str, [u8; 32]); 7] = [
        ("S = 0", [0; 32]),
        ("S = L - 1 (largest canonical)", l_minus_1),
        ("S = 2^252 (canonical, < L)", two_252),
        ("S = L", l_plus(1, 0)?),
        ("S = L + 1", l_plus(1, 1)?),
        (
            "S = 2^253 - 1 (top three bits clear, >= L)",
            two_253_minus_1,
        ),
        ("S = 2^256 - 1", [0xff; 32]),
    ];
    for (what, v) in fixed {
        let msg = g.msg();
        let base = g.honest(&msg);
        let sg = signer(base.pubkey, sig_of(&base.signature[..32].try_into()?, &v));
        g.add(
            "s_range",
            format!("honest R and A with {what}; {}", holds(&sg, &msg)),
            &msg,
            &[sg],
        );
    }
    // A = R = identity: [S]B = R + [k]A holds exactly when S = 0 mod L.
    let identity = canonical(&torsion(0));
    for (what, v) in [
        ("S = 0 (all equations hold)", [0u8; 32]),
        ("S = L (holds if S were reduced)", l_plus(1, 0)?),
        ("S = 2L (holds if S were reduced)", l_plus(2, 0)?),
    ] {
        let msg = g.msg();
        let sg = signer(identity, sig_of(&identity, &v));
        g.add(
            "s_range",
            format!("A = R = identity (canonical), {what}"),
            &msg,
            &[sg],
        );
    }
    Ok(())
}

/// Non-canonical encodings (y >= p) of points that are not of small order.
fn noncanonical_ordinary_points(g: &mut Gen) {
    for enc in noncanonical_ordinary() {
        let d = describe(enc);
        let (msg, a, r) = (g.msg(), g.scalar(), g.scalar());
        let r_enc = ordinary(&r);
        let s = signer(*enc, sign_with(&a, enc, &r, &r_enc, &msg));
        let c = format!(
            "A = {d} encoding of a point that is not of small order (its discrete log is \
             unknown, so the signature cannot be valid); R = [r]B, S = r + k*a for an unrelated a"
        );
        g.add("noncanonical_ordinary", c, &msg, &[s]);

        let a_enc = ordinary(&a);
        let s = signer(a_enc, sign_with(&a, &a_enc, &r, enc, &msg));
        let c = format!(
            "R = {d} encoding of a point that is not of small order; A = [a]B, S = r + k*a for an \
             unrelated r; {}",
            holds(&s, &msg)
        );
        g.add("noncanonical_ordinary", c, &msg, &[s]);
    }
}

/// Encodings that are not curve points, as A and as R.
fn off_curve_points(g: &mut Gen) {
    for i in 0..6 {
        let msg = g.msg();
        let honest = g.honest(&msg);
        let bad = off_curve(&mut g.rng);
        let (s, what) = if i % 2 == 0 {
            (signer(bad, honest.signature), "A")
        } else {
            let mut sig = honest.signature;
            sig[..32].copy_from_slice(&bad);
            (signer(honest.pubkey, sig), "R")
        };
        let c =
            format!("{what} = random y < p with no x on the curve; rest of an honest signature");
        g.add("off_curve", c, &msg, &[s]);
    }
    for i in 0..3 {
        let msg = g.msg();
        let honest = g.honest(&msg);
        let (x, y) = (off_curve(&mut g.rng), off_curve(&mut g.rng));
        let mut sig = honest.signature;
        sig[..32].copy_from_slice(&y);
        g.add(
            "off_curve",
            format!("A and R both off the curve ({i})"),
            &msg,
            &[signer(x, sig)],
        );
    }
    // y in [p, p + 19) whose reduction is not on the curve: non-canonical and off-curve.
    let on_curve_noncanonical = noncanonical_encodings();
    for t in 0u8..19 {
        let mut enc = P;
        enc[0] = enc[0].wrapping_add(t);
        if on_curve_noncanonical.contains(&enc) || decode(&enc).is_some() {
            continue;
        }
        let msg = g.msg();
        let honest = g.honest(&msg);
        let (s, what) = if t % 2 == 0 {
            (signer(enc, honest.signature), "A")
        } else {
            let mut sig = honest.signature;
            sig[..32].copy_from_slice(&enc);
            (signer(honest.pubkey, sig), "R")
        };
        let c = format!(
            "{what} = y = {t} + p (non-canonical) where y = {t} has no x on the curve; rest of an \
             honest signature"
        );
        g.add("off_curve", c, &msg, &[s]);
    }
}

/// A bad signer of one of several adversarial kinds, and its description.
fn bad_signer(g: &mut Gen, msg: &[u8], kind: usize) -> Result<(Signer, &'static str)> {
    Ok(match kind % 6 {
        0 => {
            let mut other = msg.to_vec();
            other.push(0);
            (g.honest(&other), "a signature over a different message")
        }
        1 => {
            let identity = canonical(&torsion(0));
            (
                signer(identity, sig_of(&identity, &[0; 32])),
                "A = R = identity, S = 0 (rfc8032 and zip215 accept, strict rejects)",
            )
        }
        2 => {
            let base = g.honest(msg);
            let s = add_multiple_of_l(&s_of(&base.signature), 1).ok_or("S + L overflows")?;
            (
                signer(base.pubkey, sig_of(&base.signature[..32].try_into()?, &s)),
                "S + L",
            )
        }
        3 => {
            let s = g.search("cofactored-only signer", |rng| {
                let (a, r) = (random_scalar(rng), random_scalar(rng));
                let a_enc = mixed(&a, 1);
                let r_enc = ordinary(&r);
                let k = challenge(&r_enc, &a_enc, msg);
                (!(k * torsion(1)).is_identity())
                    .then(|| signer(a_enc, sign_with(&a, &a_enc, &r, &r_enc, msg)))
            })?;
            (
                s,
                "mixed-order A, only the cofactored equation holds (zip215 accepts)",
            )
        }
        4 => {
            let mut s = g.honest(msg);
            s.signature[g.rng.gen_range(0..32)] ^= 1 << g.rng.gen_range(0..8);
            (s, "a bit of R flipped")
        }
        _ => {
            let s = g.honest(msg);
            (
                signer(off_curve(&mut g.rng), s.signature),
                "A off the curve",
            )
        }
    })
}

/// 2..=5 signers, all good or exactly one bad.
fn multi_signer(g: &mut Gen) -> Result<()> {
    let mut kind = 0;
    for round in 0..2 {
        for n in 2..=5usize {
            for bad_at in (0..=n).rev() {
                let len = g.rng.gen_range(0..=200);
                let msg = g.bytes(len);
                let mut signers = Vec::with_capacity(n);
                let mut what = "all signers honest".to_owned();
                for i in 0..n {
                    if i == bad_at {
                        let (s, w) = bad_signer(g, &msg, if round == 0 { 0 } else { kind })?;
                        kind += 1;
                        what = format!("signer {i} of {n} bad: {w}; the others honest");
                        signers.push(s);
                    } else {
                        signers.push(g.honest(&msg));
                    }
                }
                g.add("multi_signer", what, &msg, &signers);
            }
        }
    }
    Ok(())
}

/// Honest signatures over messages of lengths around SHA-512's 128-byte block and more.
fn honest_length(g: &mut Gen) {
    let lengths = [
        0usize, 1, 31, 32, 63, 64, 65, 111, 112, 127, 128, 129, 255, 256, 1023, 1024, 4095, 4096,
    ];
    for len in lengths {
        for _ in 0..2 {
            let msg = g.bytes(len);
            let s = g.honest(&msg);
            g.add(
                "honest_length",
                format!("honest RFC 8032 signature, random key, {len}-byte random message"),
                &msg,
                &[s],
            );
        }
    }
}

/// The twelve cases of "Taming the many EdDSAs" (Chalkias, Garillot, Nikolaenko; eprint
/// 2020/1244), re-created by construction with our own keys and messages.
fn taming(g: &mut Gen) -> Result<()> {
    let t8 = torsion(1);
    let t8_enc = canonical(&t8);
    let rand_msg = |rng: &mut ChaCha20Rng| {
        let mut m = vec![0u8; rng.gen_range(0..=48)];
        rng.fill_bytes(&mut m);
        m
    };

    // 0: small-order A and R, S = 0, both equations hold.
    let (msg, s) = g.search("taming 0", |rng| {
        let msg = rand_msg(rng);
        let tr = rng.gen_range(0..8);
        let r_enc = canonical(&torsion(tr));
        let k = challenge(&r_enc, &t8_enc, &msg);
        (torsion(tr) + k * t8)
            .is_identity()
            .then(|| (msg.clone(), signer(t8_enc, sig_of(&r_enc, &[0; 32]))))
    })?;
    let c = format!(
        "taming 0: S = 0, A = T1 (order 8), R small order with R + [k]A = 0; {}",
        holds(&s, &msg)
    );
    g.add("taming", c, &msg, &[s]);

    // 1: 0 < S < L, small-order A, mixed-order R.
    let (msg, s) = g.search("taming 1", |rng| {
        let msg = rand_msg(rng);
        let r = random_scalar(rng);
        let tr = rng.gen_range(1..8);
        let r_enc = mixed(&r, tr);
        let k = challenge(&r_enc, &t8_enc, &msg);
        (torsion(tr) + k * t8).is_identity().then(|| {
            (
                msg.clone(),
                signer(t8_enc, sign_with(&Scalar::ZERO, &t8_enc, &r, &r_enc, &msg)),
            )
        })
    })?;
    let c = format!(
        "taming 1: 0 < S < L, A = T1 (small order), R = [S]B + T mixed order with T = -[k]A; {}",
        holds(&s, &msg)
    );
    g.add("taming", c, &msg, &[s]);

    // 2: mixed-order A, small-order R.
    let (msg, s) = g.search("taming 2", |rng| {
        let msg = rand_msg(rng);
        let a = random_scalar(rng);
        let a_enc = mixed(&a, 1);
        let tr = rng.gen_range(1..8);
        let r_enc = canonical(&torsion(tr));
        let k = challenge(&r_enc, &a_enc, &msg);
        (torsion(tr) + k * t8).is_identity().then(|| {
            (
                msg.clone(),
                signer(a_enc, sign_with(&a, &a_enc, &Scalar::ZERO, &r_enc, &msg)),
            )
        })
    })?;
    let c = format!(
        "taming 2: A = [a]B + T1 (mixed order), R small order = -[k]T1, S = k*a; {}",
        holds(&s, &msg)
    );
    g.add("taming", c, &msg, &[s]);

    // 3, 4, 5: mixed-order A and R.
    let mixed_case = |rng: &mut ChaCha20Rng, want: u8| {
        let msg = rand_msg(rng);
        let (a, r) = (random_scalar(rng), random_scalar(rng));
        let a_enc = mixed(&a, 1);
        let tr = rng.gen_range(1..8);
        let r_enc = mixed(&r, tr);
        let k = challenge(&r_enc, &a_enc, &msg);
        let (wide, reduced) = k_mod_8(&r_enc, &a_enc, &msg);
        let cancels = (torsion(tr) + k * t8).is_identity();
        let ok = match want {
            3 => cancels && wide == reduced,
            4 => !cancels,
            _ => cancels && wide != reduced,
        };
        ok.then(|| {
            (
                msg.clone(),
                signer(a_enc, sign_with(&a, &a_enc, &r, &r_enc, &msg)),
            )
        })
    };
    for (n, what) in [
        (
            3u8,
            "R + [k]A has no torsion left, and the unreduced hash agrees mod 8",
        ),
        (4, "the torsion parts do not cancel"),
        (
            5,
            "the torsion parts cancel with k mod L but not with the unreduced 512-bit hash: a \
             verifier that multiplies A by the unreduced hash rejects",
        ),
    ] {
        let (msg, s) = g.search("taming 3-5", |rng| mixed_case(rng, n))?;
        let c = format!(
            "taming {n}: A = [a]B + T1, R = [r]B + T (both mixed order), S = r + k*a; {what}; {}",
            holds(&s, &msg)
        );
        g.add("taming", c, &msg, &[s]);
    }

    // 6, 7: S >= L on an otherwise valid signature.
    let (msg, s) = g.search("taming 6", |rng| {
        let msg = rand_msg(rng);
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let sig = key.sign(&msg).to_bytes();
        let big = add_multiple_of_l(&s_of(&sig), 1)?;
        let r_enc: [u8; 32] = sig[..32].try_into().ok()?;
        (big[31] & 0xe0 == 0).then(|| {
            (
                msg.clone(),
                signer(key.verifying_key().to_bytes(), sig_of(&r_enc, &big)),
            )
        })
    })?;
    g.add(
        "taming",
        "taming 6: valid signature with S replaced by S + L < 2^253: passes a check of the top \
         three bits only, fails S < L"
            .into(),
        &msg,
        &[s],
    );
    let msg = g.msg();
    let base = g.honest(&msg);
    let big = add_multiple_of_l(&s_of(&base.signature), 2).ok_or("S + 2L overflows")?;
    let s = signer(base.pubkey, sig_of(&base.signature[..32].try_into()?, &big));
    g.add(
        "taming",
        "taming 7: valid signature with S replaced by S + 2L >= 2^253: fails even the top-three-\
         bits check; passes only a verifier that reduces S"
            .into(),
        &msg,
        &[s],
    );

    // 8, 9: non-canonical R (the identity as y = 1 + p), A = [a]B, S = k*a.
    let identity_alias = small_order_aliases()[0]
        .iter()
        .copied()
        .find(|e| e[31] == 0x7f)
        .ok_or("no y = 1 + p alias of the identity")?;
    let identity = canonical(&torsion(0));
    for (n, hashed, what) in [
        (8u8, identity_alias, "k over R as received"),
        (9, identity, "k over R's canonical re-encoding"),
    ] {
        let (msg, a) = (g.msg(), g.scalar());
        let a_enc = ordinary(&a);
        let s_bytes = (challenge(&hashed, &a_enc, &msg) * a).to_bytes();
        let s = signer(a_enc, sig_of(&identity_alias, &s_bytes));
        let c = format!(
            "taming {n}: R = identity encoded non-canonically (y = 1 + p), A = [a]B, S = k*a with \
             {what}; {}",
            holds(&s, &msg)
        );
        g.add("taming", c, &msg, &[s]);
    }

    // 10, 11: non-canonical A (the order-2 point with the sign bit set), R = [r]B, S = r:
    // the cofactorless equation holds iff k is even.
    let minus_one = small_order_aliases()[4]
        .get(1)
        .copied()
        .ok_or("no non-canonical alias of the order-2 point")?;
    let minus_one_canonical = canonical(&torsion(4));
    for (n, received_even, what) in [
        (
            10u8,
            true,
            "k over A as received is even (the equation holds), k over A's canonical \
             re-encoding is odd",
        ),
        (
            11,
            false,
            "k over A as received is odd (the equation fails), k over A's canonical \
             re-encoding is even (a verifier that re-encodes A before hashing accepts)",
        ),
    ] {
        let (msg, s) = g.search("taming 10-11", |rng| {
            let msg = rand_msg(rng);
            let r = random_scalar(rng);
            let r_enc = ordinary(&r);
            let even = |a_enc: &[u8; 32]| challenge(&r_enc, a_enc, &msg).as_bytes()[0] & 1 == 0;
            (even(&minus_one) == received_even && even(&minus_one_canonical) != received_even).then(
                || {
                    (
                        msg.clone(),
                        signer(
                            minus_one,
                            sign_with(&Scalar::ZERO, &minus_one, &r, &r_enc, &msg),
                        ),
                    )
                },
            )
        })?;
        let c = format!(
            "taming {n}: A = (0, -1) (order 2) {}, R = [r]B, S = r; {what}; {}",
            describe(&minus_one),
            holds(&s, &msg)
        );
        g.add("taming", c, &msg, &[s]);
    }
    Ok(())
}

fn main() -> Result<()> {
    let mut g = Gen {
        rng: ChaCha20Rng::seed_from_u64(SEED),
        records: Vec::new(),
        counts: BTreeMap::new(),
    };
    taming(&mut g)?;
    small_order_a_r(&mut g);
    small_order_noncanonical(&mut g);
    small_order_a(&mut g)?;
    small_order_r(&mut g);
    mixed_order_a(&mut g)?;
    mixed_order_r(&mut g)?;
    s_range(&mut g)?;
    noncanonical_ordinary_points(&mut g);
    off_curve_points(&mut g);
    multi_signer(&mut g)?;
    honest_length(&mut g);

    let mut out = String::new();
    for r in &g.records {
        out.push_str(&serde_json::to_string(r)?);
        out.push('\n');
    }
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "..", "testdata", "edge"]
        .iter()
        .collect::<PathBuf>()
        .join("ed25519_edge.jsonl");
    std::fs::write(&path, out)?;
    println!("wrote {} cases to {}", g.records.len(), path.display());
    for (kind, n) in &g.counts {
        println!("  {kind:28} {n}");
    }
    Ok(())
}
