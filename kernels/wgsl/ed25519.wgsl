// ed25519.wgsl: the curve side of Ed25519 verification for the WGSL port: the table of
// -A, the double-scalar multiplication R' = [S]B + [k](-A), and each profile's decision
// (kernels/ED25519.md, ed25519.h). The scalar side (S < L, k mod L, the signed radix-16
// digits) is sc25519.wgsl's, and nothing here calls it, so that this file can be built
// and tested on its own; the entry files join the two.
//
// The method is ed25519.h's: Straus' method with both scalars in signed radix 16
// (64 digits in [-8, 8], digit i of weight 16^i, as sc_signed_radix16 returns them)
// sharing one chain of 252 doublings; per digit one cached addition of [k_i](-A) from a
// per-signature table of [1..8](-A) and one Niels addition of [S_i]B from the constant
// table of ed25519_base.wgsl. Selection is by index (every verifier input is public, so
// a data-dependent index leaks nothing), then a conditional negation for a negative
// digit. The running point stays completed between steps and is converted only where a
// formula needs another form.
//
// As in ed25519.h, -A's table lives in the per-signature table buffer (layout below),
// which prepare writes entry by entry and scalarmult reads where each digit names it
// (ed25519_table.wgsl, ed25519_table_put.wgsl): WGSL functions cannot take pointers
// into storage buffers, so the loop over the digits is the scalarmult entry's, one
// ed_straus_digit per digit. Holding the eight points as an array value instead cost
// lavapipe's compiler 30 s and more per shader.

// [e](-A) for a digit e in [-8, 8], given q = [|e|](-A) for e != 0 (anything for
// e = 0): the identity for e = 0, q negated for e < 0.
fn ed_cached_digit(q: GeCached, e: i32) -> GeCached {
    let id = ge_cached_identity();
    let zero = e == 0;
    let r = GeCached(fe_select(q.ypx, id.ypx, zero), fe_select(q.ymx, id.ymx, zero),
                     fe_select(q.Z, id.Z, zero), fe_select(q.T2d, id.T2d, zero));
    return ge_cached_cneg(r, e < 0);
}

// [e]B for a digit e in [-8, 8], from ed25519_base.wgsl (the identity for e = 0).
fn ed_select_base(e: i32) -> GeNiels {
    let mag = u32(abs(e));
    let q = ed_base_niels(max(mag, 1u));
    let id = ge_niels_identity();
    let zero = mag == 0u;
    let r = GeNiels(fe_select(q.ypx, id.ypx, zero), fe_select(q.ymx, id.ymx, zero),
                    fe_select(q.xy2d, id.xy2d, zero));
    return ge_niels_cneg(r, e < 0);
}

// One digit of Straus' method, from the top: acc = 16 acc (4 doublings, skipped for the
// first digit) + a + [s_digit]B, a being [k_i](-A) (ed_cached_digit); 64 of them, then
// the conversion to extended (4M), give R' = [S]B + [k](-A). Per digit after
// the first 16S + 12M (4 x (completed -> projective, doubling)); per digit 4M + 4M + 4M
// + 3M for the two additions and their conversions to extended.
fn ed_straus_digit(acc: GeP1P1, first: bool, a: GeCached, s_digit: i32) -> GeP1P1 {
    var r = acc;
    if (!first) {
        for (var j = 0u; j < 4u; j++) {
            r = ge_p2_dbl(ge_p1p1_to_p2(r));
        }
    }
    r = ge_add_cached(ge_p1p1_to_p3(r), a);
    return ge_add_niels(ge_p1p1_to_p3(r), ed_select_base(s_digit));
}

// Profile codes (kernels/src/lib.rs profile_code); anything else is strict.
const ED_STRICT: u32 = 0u;
const ED_RFC8032: u32 = 1u;
const ED_ZIP215: u32 = 2u;

// Whether a decoded public key A may go on under `profile`: strict rejects A of small
// order ([8]A = 0); rfc8032 and zip215 take any A that decompressed.
fn ed_key_ok(a: GeP3, profile: u32) -> bool {
    let strict = profile != ED_RFC8032 && profile != ED_ZIP215;
    return !(strict && ge_p3_has_small_order(a));
}

// The verdict for a signature whose S < L and whose A decompressed (and passed
// ed_key_ok), given R' = [S]B + [k](-A) and R (the signature's first 32 bytes as
// 8 little-endian words). As ed25519.h's vigil_ed25519_check_one:
//   rfc8032: valid iff compress(R') == R as bytes (R is never decompressed).
//   strict:  additionally R decompresses and neither R nor A has small order; if
//            compress(R') == R, R is the canonical encoding of R' and decompresses to R',
//            so this is "R' not of small order".
//   zip215:  R must decompress (non-canonical encodings accepted); valid iff
//            [8](R - R') is the identity.
fn ed_check(rp: GeP3, r: array<u32, 8>, profile: u32) -> bool {
    if (profile == ED_ZIP215) {
        let dr = ge_decompress(r);
        if (!dr.ok) {
            return false;
        }
        let diff = ge_p1p1_to_p3(ge_sub_cached(dr.p, ge_p3_to_cached(rp)));
        return ge_p3_has_small_order(diff);
    }
    let enc = ge_p3_compress(rp);
    var diff = 0u;
    for (var i = 0u; i < 8u; i++) {
        diff |= enc[i] ^ r[i];
    }
    if (diff != 0u) {
        return false;
    }
    if (profile == ED_RFC8032) {
        return true;
    }
    return !ge_p3_has_small_order(rp);
}

// The per-signature table the prepare, scalarmult and check entries hand each other
// work through (the Table buffer of the launch contract), ED_TABLE_WORDS words per
// signature, laid out in slabs of 64 signatures as ed25519.h lays out its own (word w
// of row r at (r / 64) * 64 * ED_TABLE_WORDS + 64 w + r % 64), so that the 64
// invocations of a workgroup touch 64 neighbouring words at each step. Row r holds
// signature first + r, `first` being the launch's (the driver runs a batch whose table
// would not fit one binding as several launches of these three entries, each over the
// rows the buffer holds; otherwise first is 0 and rows are signatures):
//   words   0 .. 640  [1..8](-A) as cached points (entry j - 1 = [j](-A): ypx, ymx, Z,
//                     T2d, 20 limbs each, 80 words an entry); once scalarmult is done,
//                     R' in extended coordinates (X, Y, Z, T) over words 0 .. 80
//   words 640 .. 656  S's signed radix-16 digits, four to a word (d + 8 in each byte,
//                     digit 4i + j in byte j of word 640 + i)
//   words 656 .. 672  k's, the same
// The host sizes the buffer from this constant (vigil_kernels::wgsl::ED25519_TABLE_WORDS,
// which a test holds equal to it). Storage buffers cannot be passed to functions, so
// each entry declares `table` itself; ed25519_table.wgsl reads it and
// ed25519_table_put.wgsl writes it.
const ED_TABLE_WORDS: u32 = 672u;
const ED_DIGITS_S: u32 = 640u;
const ED_DIGITS_K: u32 = 656u;

// The index of word w of row r in the table buffer.
fn ed_word(r: u32, w: u32) -> u32 {
    return (r >> 6u) * (64u * ED_TABLE_WORDS) + (w << 6u) + (r & 63u);
}
