// ge25519.wgsl: the Ed25519 group, the twisted Edwards curve -x^2 + y^2 = 1 + d x^2 y^2
// over GF(2^255 - 19) (a = -1), for the WGSL port. The formulas and coordinate systems
// are those of ge25519.h (Hisil, Wong, Carter, Dawson 2008; curve25519-dalek's names):
//
//   GeP3     extended    (X : Y : Z : T), x = X/Z, y = Y/Z, xy = T/Z
//   GeP2     projective  (X : Y : Z)
//   GeP1P1   completed   ((X : Z), (Y : T)), x = X/Z, y = Y/T: what a doubling or an
//                        addition produces before its last multiplications
//   GeCached (Y + X, Y - X, Z, 2dT) of an extended point: the right operand of an
//            addition
//   GeNiels  affine Niels (y + x, y - x, 2dxy): the right operand with Z = 1 (the
//            base-point table)
//
// The formulas are complete on this curve (a is a square, d is not): the identity and
// small-order points need no special cases.
//
// Points are structs of field elements passed by value: WGSL has no pointers into the
// storage buffers for library functions, and by-value code leaves the compiler free to
// keep everything in registers. Unlike ge25519.h, the right operands are whole values
// here (the C code reads them coordinate by coordinate from memory to hold a 128-register
// budget under CUDA; that tuning belongs with a real GPU at hand). Every field element
// here is tight (fe25519.wgsl carries after every addition), so no formula needs a bound
// annotation: every multiplication input is tight.
//
// Costs (M multiplication, S squaring): dbl p2 -> p1p1 4S; p3 + cached -> p1p1 4M;
// p3 + niels -> p1p1 3M; p1p1 -> p2 3M; p1p1 -> p3 4M; p3 -> cached 1M.

struct GeP3 {
    X: Fe,
    Y: Fe,
    Z: Fe,
    T: Fe,
}

struct GeP2 {
    X: Fe,
    Y: Fe,
    Z: Fe,
}

struct GeP1P1 {
    X: Fe,
    Y: Fe,
    Z: Fe,
    T: Fe,
}

struct GeCached {
    ypx: Fe,
    ymx: Fe,
    Z: Fe,
    T2d: Fe,
}

struct GeNiels {
    ypx: Fe,
    ymx: Fe,
    xy2d: Fe,
}

// The identity (0 : 1 : 1 : 0).
fn ge_p3_identity() -> GeP3 {
    return GeP3(fe_zero(), fe_one(), fe_one(), fe_zero());
}

// The identity as a completed point ((0 : 1), (1 : 1)).
fn ge_p1p1_identity() -> GeP1P1 {
    return GeP1P1(fe_zero(), fe_one(), fe_one(), fe_one());
}

// The identity in cached form (1, 1, 1, 0) and in Niels form (1, 1, 0).
fn ge_cached_identity() -> GeCached {
    return GeCached(fe_one(), fe_one(), fe_one(), fe_zero());
}

fn ge_niels_identity() -> GeNiels {
    return GeNiels(fe_one(), fe_one(), fe_zero());
}

// Completed -> projective: (XT : YZ : ZT). 3M.
fn ge_p1p1_to_p2(p: GeP1P1) -> GeP2 {
    return GeP2(fe_mul(p.X, p.T), fe_mul(p.Y, p.Z), fe_mul(p.Z, p.T));
}

// Completed -> extended: (XT : YZ : ZT : XY). 4M.
fn ge_p1p1_to_p3(p: GeP1P1) -> GeP3 {
    return GeP3(fe_mul(p.X, p.T), fe_mul(p.Y, p.Z), fe_mul(p.Z, p.T), fe_mul(p.X, p.Y));
}

fn ge_p3_to_p2(p: GeP3) -> GeP2 {
    return GeP2(p.X, p.Y, p.Z);
}

// Extended -> cached (Y + X, Y - X, Z, 2dT). 1M.
fn ge_p3_to_cached(p: GeP3) -> GeCached {
    return GeCached(fe_add(p.Y, p.X), fe_sub(p.Y, p.X), p.Z, fe_mul(p.T, FE_D2));
}

// 2p, projective in, completed out: ((2XY : Y^2 - X^2), (Y^2 + X^2 : 2Z^2 - Y^2 + X^2)),
// HWCD08 section 3.3 with a = -1, as ge25519.h's vigil_ge_p2_dbl. 4S.
fn ge_p2_dbl(p: GeP2) -> GeP1P1 {
    let xx = fe_sq(p.X);
    let yy = fe_sq(p.Y);
    let zz2 = fe_add(fe_sq(p.Z), fe_sq(p.Z));
    let s = fe_sq(fe_add(p.X, p.Y));
    let y = fe_add(yy, xx);
    let z = fe_sub(yy, xx);
    return GeP1P1(fe_sub(s, y), y, z, fe_sub(zz2, z));
}

fn ge_p3_dbl(p: GeP3) -> GeP1P1 {
    return ge_p2_dbl(ge_p3_to_p2(p));
}

// The end of the additions: from PP = (Y1 + X1)(Y2 + X2), MM = (Y1 - X1)(Y2 - X2),
// TT = T1 2dT2 and ZZ2 = 2 Z1 Z2, the completed ((PP - MM : ZZ2 + TT), (PP + MM : ZZ2 - TT)).
fn ge_p1p1_from_products(pp: Fe, mm: Fe, tt: Fe, zz2: Fe) -> GeP1P1 {
    return GeP1P1(fe_sub(pp, mm), fe_add(pp, mm), fe_add(zz2, tt), fe_sub(zz2, tt));
}

// p + q, q cached (HWCD08 "add-2008-hwcd-3", a = -1, k = 2d). 4M.
fn ge_add_cached(p: GeP3, q: GeCached) -> GeP1P1 {
    let pp = fe_mul(fe_add(p.Y, p.X), q.ypx);
    let mm = fe_mul(fe_sub(p.Y, p.X), q.ymx);
    let tt = fe_mul(p.T, q.T2d);
    let zz = fe_mul(p.Z, q.Z);
    return ge_p1p1_from_products(pp, mm, tt, fe_add(zz, zz));
}

// p + q, q affine Niels (Z2 = 1). 3M.
fn ge_add_niels(p: GeP3, q: GeNiels) -> GeP1P1 {
    let pp = fe_mul(fe_add(p.Y, p.X), q.ypx);
    let mm = fe_mul(fe_sub(p.Y, p.X), q.ymx);
    let tt = fe_mul(p.T, q.xy2d);
    return ge_p1p1_from_products(pp, mm, tt, fe_add(p.Z, p.Z));
}

// -q in cached / Niels form: the first two coordinates swapped, the last negated;
// applied when c is true (no branch).
fn ge_cached_cneg(q: GeCached, c: bool) -> GeCached {
    return GeCached(fe_select(q.ypx, q.ymx, c), fe_select(q.ymx, q.ypx, c), q.Z,
                    fe_cneg(q.T2d, c));
}

fn ge_niels_cneg(q: GeNiels, c: bool) -> GeNiels {
    return GeNiels(fe_select(q.ypx, q.ymx, c), fe_select(q.ymx, q.ypx, c), fe_cneg(q.xy2d, c));
}

// p - q, q cached. 4M.
fn ge_sub_cached(p: GeP3, q: GeCached) -> GeP1P1 {
    return ge_add_cached(p, ge_cached_cneg(q, true));
}

// -p for an extended point: (-X : Y : Z : -T).
fn ge_p3_neg(p: GeP3) -> GeP3 {
    return GeP3(fe_neg(p.X), p.Y, p.Z, fe_neg(p.T));
}

// p is the identity (X = 0 and Y = Z).
fn ge_p2_is_identity(p: GeP2) -> bool {
    return fe_is_zero(p.X) && fe_eq(p.Y, p.Z);
}

// [8]p is the identity (p has small order). 3 doublings: 12S + 9M.
fn ge_p3_has_small_order(p: GeP3) -> bool {
    var q = ge_p3_to_p2(p);
    for (var i = 0u; i < 3u; i++) {
        q = ge_p1p1_to_p2(ge_p2_dbl(q));
    }
    return ge_p2_is_identity(q);
}

// Compression: the canonical encoding of p as 8 little-endian words: y = Y/Z mod p in
// bits 0..254, bit 255 = the low bit of the canonical x = X/Z. One inversion + 2M.
fn ge_p2_compress(p: GeP2) -> array<u32, 8> {
    let zinv = fe_invert(p.Z);
    var w = fe_to_words(fe_mul(p.Y, zinv));
    let x = fe_to_words(fe_mul(p.X, zinv));
    w[7] |= x[0] << 31u;
    return w;
}

fn ge_p3_compress(p: GeP3) -> array<u32, 8> {
    return ge_p2_compress(ge_p3_to_p2(p));
}

// Decompression, exactly curve25519-dalek 4's CompressedEdwardsY::decompress: s is the
// 32-byte encoding as 8 little-endian words. y = its low 255 bits taken mod p (a
// non-canonical y >= p is accepted and means y - p); u = y^2 - 1, v = d y^2 + 1; fails
// (ok = false) unless u/v is a square (v is never 0: -1/d is not a square); x = the
// non-negative root, negated when bit 255 is set (x = 0 stays 0: "negative zero"
// decodes). On success p = (x, y, 1, xy). Cost: one pow_p58 (252S + 11M) plus 5S + 12M.
struct GeDecoded {
    ok: bool,
    p: GeP3,
}

fn ge_decompress(s: array<u32, 8>) -> GeDecoded {
    let y = fe_from_words(s);
    let yy = fe_sq(y);
    let u = fe_sub(yy, fe_one());
    let v = fe_add(fe_mul(yy, FE_D), fe_one());
    let root = fe_sqrt_ratio_i(u, v);
    let x = fe_cneg(root.r, (s[7] >> 31u) == 1u);
    return GeDecoded(root.ok, GeP3(x, y, fe_one(), fe_mul(x, y)));
}
