// sha512.wgsl: SHA-512 (FIPS 180-4) of R || A || M streamed out of the arena, for the
// Ed25519 challenge k = SHA-512(R || A || M) mod L.
//
// WGSL has no 64-bit integers (and SHADER_INT64 is not something every adapter has), so
// a 64-bit word is a vec2<u32> holding (high half, low half): bitwise operations work on
// both halves at once, additions carry from the low half by hand, and a rotation by
// n >= 32 is a swap of the halves followed by a rotation by n - 32 (no shift here is
// ever by 0 or 32, which WGSL would take modulo 32).
//
// As in sha512.h, the compression runs five times through sixteen rounds written out,
// with the 16-word message schedule updated in place: the window is then indexed by
// constants only and can stay in registers (a rolled 80-round loop indexes it by the
// round and sends it to scratch memory on a GPU). The working variables go through the
// rounds as one array value, each round returning them already renamed, which costs
// nothing once the compiler has the values in SSA form. For the same reason a block's
// sixteen words are read by sixteen written-out calls (sha512_ram_word is kept small
// and loop-free for that); the loop over blocks stays rolled. The round constants are a
// private table read at the same index by every invocation: naga's SPIR-V backend
// spills a `const` array indexed at run time into a temporary where it is indexed,
// while a never-written private one is left for the driver to keep as constant data
// (Mesa does).
//
// Input is read from the module-scope `arena` (bytes as words, as bytes.wgsl describes;
// the entry declares it), at any byte offset: each 8-byte word of the padded stream
// R || A || M || 0x80 || 0* || (bit length, 128 bits) is made where it is needed, from
// the arena words holding it, so there is no block buffer and no copy of M.

// K[0..80): the first 64 bits of the fractional parts of the cube roots of the first
// 80 primes (FIPS 180-4, 4.2.3), as (high, low).
var<private> sha512_k: array<vec2<u32>, 80> = array<vec2<u32>, 80>(
    vec2<u32>(0x428a2f98u, 0xd728ae22u), vec2<u32>(0x71374491u, 0x23ef65cdu),
    vec2<u32>(0xb5c0fbcfu, 0xec4d3b2fu), vec2<u32>(0xe9b5dba5u, 0x8189dbbcu),
    vec2<u32>(0x3956c25bu, 0xf348b538u), vec2<u32>(0x59f111f1u, 0xb605d019u),
    vec2<u32>(0x923f82a4u, 0xaf194f9bu), vec2<u32>(0xab1c5ed5u, 0xda6d8118u),
    vec2<u32>(0xd807aa98u, 0xa3030242u), vec2<u32>(0x12835b01u, 0x45706fbeu),
    vec2<u32>(0x243185beu, 0x4ee4b28cu), vec2<u32>(0x550c7dc3u, 0xd5ffb4e2u),
    vec2<u32>(0x72be5d74u, 0xf27b896fu), vec2<u32>(0x80deb1feu, 0x3b1696b1u),
    vec2<u32>(0x9bdc06a7u, 0x25c71235u), vec2<u32>(0xc19bf174u, 0xcf692694u),
    vec2<u32>(0xe49b69c1u, 0x9ef14ad2u), vec2<u32>(0xefbe4786u, 0x384f25e3u),
    vec2<u32>(0x0fc19dc6u, 0x8b8cd5b5u), vec2<u32>(0x240ca1ccu, 0x77ac9c65u),
    vec2<u32>(0x2de92c6fu, 0x592b0275u), vec2<u32>(0x4a7484aau, 0x6ea6e483u),
    vec2<u32>(0x5cb0a9dcu, 0xbd41fbd4u), vec2<u32>(0x76f988dau, 0x831153b5u),
    vec2<u32>(0x983e5152u, 0xee66dfabu), vec2<u32>(0xa831c66du, 0x2db43210u),
    vec2<u32>(0xb00327c8u, 0x98fb213fu), vec2<u32>(0xbf597fc7u, 0xbeef0ee4u),
    vec2<u32>(0xc6e00bf3u, 0x3da88fc2u), vec2<u32>(0xd5a79147u, 0x930aa725u),
    vec2<u32>(0x06ca6351u, 0xe003826fu), vec2<u32>(0x14292967u, 0x0a0e6e70u),
    vec2<u32>(0x27b70a85u, 0x46d22ffcu), vec2<u32>(0x2e1b2138u, 0x5c26c926u),
    vec2<u32>(0x4d2c6dfcu, 0x5ac42aedu), vec2<u32>(0x53380d13u, 0x9d95b3dfu),
    vec2<u32>(0x650a7354u, 0x8baf63deu), vec2<u32>(0x766a0abbu, 0x3c77b2a8u),
    vec2<u32>(0x81c2c92eu, 0x47edaee6u), vec2<u32>(0x92722c85u, 0x1482353bu),
    vec2<u32>(0xa2bfe8a1u, 0x4cf10364u), vec2<u32>(0xa81a664bu, 0xbc423001u),
    vec2<u32>(0xc24b8b70u, 0xd0f89791u), vec2<u32>(0xc76c51a3u, 0x0654be30u),
    vec2<u32>(0xd192e819u, 0xd6ef5218u), vec2<u32>(0xd6990624u, 0x5565a910u),
    vec2<u32>(0xf40e3585u, 0x5771202au), vec2<u32>(0x106aa070u, 0x32bbd1b8u),
    vec2<u32>(0x19a4c116u, 0xb8d2d0c8u), vec2<u32>(0x1e376c08u, 0x5141ab53u),
    vec2<u32>(0x2748774cu, 0xdf8eeb99u), vec2<u32>(0x34b0bcb5u, 0xe19b48a8u),
    vec2<u32>(0x391c0cb3u, 0xc5c95a63u), vec2<u32>(0x4ed8aa4au, 0xe3418acbu),
    vec2<u32>(0x5b9cca4fu, 0x7763e373u), vec2<u32>(0x682e6ff3u, 0xd6b2b8a3u),
    vec2<u32>(0x748f82eeu, 0x5defb2fcu), vec2<u32>(0x78a5636fu, 0x43172f60u),
    vec2<u32>(0x84c87814u, 0xa1f0ab72u), vec2<u32>(0x8cc70208u, 0x1a6439ecu),
    vec2<u32>(0x90befffau, 0x23631e28u), vec2<u32>(0xa4506cebu, 0xde82bde9u),
    vec2<u32>(0xbef9a3f7u, 0xb2c67915u), vec2<u32>(0xc67178f2u, 0xe372532bu),
    vec2<u32>(0xca273eceu, 0xea26619cu), vec2<u32>(0xd186b8c7u, 0x21c0c207u),
    vec2<u32>(0xeada7dd6u, 0xcde0eb1eu), vec2<u32>(0xf57d4f7fu, 0xee6ed178u),
    vec2<u32>(0x06f067aau, 0x72176fbau), vec2<u32>(0x0a637dc5u, 0xa2c898a6u),
    vec2<u32>(0x113f9804u, 0xbef90daeu), vec2<u32>(0x1b710b35u, 0x131c471bu),
    vec2<u32>(0x28db77f5u, 0x23047d84u), vec2<u32>(0x32caab7bu, 0x40c72493u),
    vec2<u32>(0x3c9ebe0au, 0x15c9bebcu), vec2<u32>(0x431d67c4u, 0x9c100d4cu),
    vec2<u32>(0x4cc5d4beu, 0xcb3e42b6u), vec2<u32>(0x597f299cu, 0xfc657e2au),
    vec2<u32>(0x5fcb6fabu, 0x3ad6faecu), vec2<u32>(0x6c44198cu, 0x4a475817u),
);

// The initial hash value (FIPS 180-4, 5.3.5): the fractional parts of the square roots
// of the first 8 primes.
const SHA512_IV = array<vec2<u32>, 8>(
    vec2<u32>(0x6a09e667u, 0xf3bcc908u),
    vec2<u32>(0xbb67ae85u, 0x84caa73bu),
    vec2<u32>(0x3c6ef372u, 0xfe94f82bu),
    vec2<u32>(0xa54ff53au, 0x5f1d36f1u),
    vec2<u32>(0x510e527fu, 0xade682d1u),
    vec2<u32>(0x9b05688cu, 0x2b3e6c1fu),
    vec2<u32>(0x1f83d9abu, 0xfb41bd6bu),
    vec2<u32>(0x5be0cd19u, 0x137e2179u),
);

// a + b mod 2^64.
fn sha512_add(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.y + b.y;
    return vec2<u32>(a.x + b.x + select(0u, 1u, lo < a.y), lo);
}

// x rotated right by n, 0 < n < 32. (Rotating x.yx instead rotates by n + 32.)
fn sha512_rotr(x: vec2<u32>, n: u32) -> vec2<u32> {
    return (x >> vec2<u32>(n)) | (x.yx << vec2<u32>(32u - n));
}

// x shifted right by n, 0 < n < 32.
fn sha512_shr(x: vec2<u32>, n: u32) -> vec2<u32> {
    return vec2<u32>(x.x >> n, (x.y >> n) | (x.x << (32u - n)));
}

// The four sigma functions of FIPS 180-4, 4.1.3.
fn sha512_bsig0(x: vec2<u32>) -> vec2<u32> {
    return sha512_rotr(x, 28u) ^ sha512_rotr(x.yx, 2u) ^ sha512_rotr(x.yx, 7u);
}

fn sha512_bsig1(x: vec2<u32>) -> vec2<u32> {
    return sha512_rotr(x, 14u) ^ sha512_rotr(x, 18u) ^ sha512_rotr(x.yx, 9u);
}

fn sha512_ssig0(x: vec2<u32>) -> vec2<u32> {
    return sha512_rotr(x, 1u) ^ sha512_rotr(x, 8u) ^ sha512_shr(x, 7u);
}

fn sha512_ssig1(x: vec2<u32>) -> vec2<u32> {
    return sha512_rotr(x, 19u) ^ sha512_rotr(x.yx, 29u) ^ sha512_shr(x, 6u);
}

// One round on the working variables v = (a, b, c, d, e, f, g, h) with constant k and
// schedule word w; returns them for the next round, already renamed (the new a first).
fn sha512_round(v: array<vec2<u32>, 8>, k: vec2<u32>, w: vec2<u32>) -> array<vec2<u32>, 8> {
    let ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
    let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
    let t1 = sha512_add(sha512_add(sha512_add(v[7], sha512_bsig1(v[4])), sha512_add(ch, k)), w);
    let t2 = sha512_add(sha512_bsig0(v[0]), maj);
    return array<vec2<u32>, 8>(
        sha512_add(t1, t2), v[0], v[1], v[2], sha512_add(v[3], t1), v[4], v[5], v[6],
    );
}

// W[t] from W[t-16], W[t-2], W[t-7] and W[t-15].
fn sha512_sched(w16: vec2<u32>, w2: vec2<u32>, w7: vec2<u32>, w15: vec2<u32>) -> vec2<u32> {
    return sha512_add(sha512_add(w16, sha512_ssig1(w2)), sha512_add(w7, sha512_ssig0(w15)));
}

// Compresses one block, w = its 16 big-endian words, into the state st. w is used as
// the schedule window and overwritten: before rounds r .. r + 16 it holds W[r .. r + 16)
// (each entry replaced in place by the one 16 later, which reads W[t-2], W[t-7] and
// W[t-15] at i + 14, i + 9 and i + 1 mod 16).
fn sha512_compress(st: ptr<function, array<vec2<u32>, 8>>, w: ptr<function, array<vec2<u32>, 16>>) {
    var v = *st;
    for (var r = 0u; r < 80u; r += 16u) {
        if (r != 0u) {
            (*w)[0] = sha512_sched((*w)[0], (*w)[14], (*w)[9], (*w)[1]);
            (*w)[1] = sha512_sched((*w)[1], (*w)[15], (*w)[10], (*w)[2]);
            (*w)[2] = sha512_sched((*w)[2], (*w)[0], (*w)[11], (*w)[3]);
            (*w)[3] = sha512_sched((*w)[3], (*w)[1], (*w)[12], (*w)[4]);
            (*w)[4] = sha512_sched((*w)[4], (*w)[2], (*w)[13], (*w)[5]);
            (*w)[5] = sha512_sched((*w)[5], (*w)[3], (*w)[14], (*w)[6]);
            (*w)[6] = sha512_sched((*w)[6], (*w)[4], (*w)[15], (*w)[7]);
            (*w)[7] = sha512_sched((*w)[7], (*w)[5], (*w)[0], (*w)[8]);
            (*w)[8] = sha512_sched((*w)[8], (*w)[6], (*w)[1], (*w)[9]);
            (*w)[9] = sha512_sched((*w)[9], (*w)[7], (*w)[2], (*w)[10]);
            (*w)[10] = sha512_sched((*w)[10], (*w)[8], (*w)[3], (*w)[11]);
            (*w)[11] = sha512_sched((*w)[11], (*w)[9], (*w)[4], (*w)[12]);
            (*w)[12] = sha512_sched((*w)[12], (*w)[10], (*w)[5], (*w)[13]);
            (*w)[13] = sha512_sched((*w)[13], (*w)[11], (*w)[6], (*w)[14]);
            (*w)[14] = sha512_sched((*w)[14], (*w)[12], (*w)[7], (*w)[15]);
            (*w)[15] = sha512_sched((*w)[15], (*w)[13], (*w)[8], (*w)[0]);
        }
        v = sha512_round(v, sha512_k[r + 0u], (*w)[0]);
        v = sha512_round(v, sha512_k[r + 1u], (*w)[1]);
        v = sha512_round(v, sha512_k[r + 2u], (*w)[2]);
        v = sha512_round(v, sha512_k[r + 3u], (*w)[3]);
        v = sha512_round(v, sha512_k[r + 4u], (*w)[4]);
        v = sha512_round(v, sha512_k[r + 5u], (*w)[5]);
        v = sha512_round(v, sha512_k[r + 6u], (*w)[6]);
        v = sha512_round(v, sha512_k[r + 7u], (*w)[7]);
        v = sha512_round(v, sha512_k[r + 8u], (*w)[8]);
        v = sha512_round(v, sha512_k[r + 9u], (*w)[9]);
        v = sha512_round(v, sha512_k[r + 10u], (*w)[10]);
        v = sha512_round(v, sha512_k[r + 11u], (*w)[11]);
        v = sha512_round(v, sha512_k[r + 12u], (*w)[12]);
        v = sha512_round(v, sha512_k[r + 13u], (*w)[13]);
        v = sha512_round(v, sha512_k[r + 14u], (*w)[14]);
        v = sha512_round(v, sha512_k[r + 15u], (*w)[15]);
    }
    for (var i = 0u; i < 8u; i++) {
        (*st)[i] = sha512_add((*st)[i], v[i]);
    }
}

// The word at byte q (a multiple of 8) of the stream R || A || M || 0x80 || 0*, as
// big-endian: n = 64 + |M| bytes before the 0x80, R is 32 bytes at arena[r_at], A 32
// bytes at arena[a_at], M at arena[m_at] (sha512_ram puts the bit length in the last
// word). R, A and M start on 8-byte boundaries of the stream, so a word is 8 bytes of
// one of them, or the 0 to 7 last bytes of M then 0x80 and zeros, or zeros. It is made
// from the (up to three) arena words holding its bytes, without a loop or a branch on
// the alignment: the function is inlined sixteen times. Arena words past the one
// holding M's last byte are never read (their index is clamped to it, and the bytes
// taken from it masked off), so nothing is read beyond M even at the arena's end.
fn sha512_ram_word(r_at: u32, a_at: u32, m_at: u32, n: u32, q: u32) -> vec2<u32> {
    if (q >= n) {
        // Past M: the 0x80 if M ended on this word's first byte, else zeros.
        return vec2<u32>(select(0u, 0x80000000u, q == n), 0u);
    }
    var p = m_at + (q - 64u);
    if (q < 32u) {
        p = r_at + q;
    } else if (q < 64u) {
        p = a_at + (q - 32u);
    }
    // Bytes of data in this word: 8, or fewer where M ends inside it.
    let valid = min(n - q, 8u);
    let at = p >> 2u;
    let last = (p + valid - 1u) >> 2u;
    let w0 = arena[at];
    let w1 = arena[min(at + 1u, last)];
    let w2 = arena[min(at + 2u, last)];
    // Bytes p .. p + 8 as two little-endian words (a funnel shift by the alignment).
    let shift = (p & 3u) * 8u;
    var lo = w0;
    var hi = w1;
    if (shift != 0u) {
        lo = (w0 >> shift) | (w1 << (32u - shift));
        hi = (w1 >> shift) | (w2 << (32u - shift));
    }
    var word = vec2<u32>(sha512_bswap32(lo), sha512_bswap32(hi));
    if (valid < 8u) {
        // Keep the first `valid` bytes (the high ones, big-endian) and put 0x80 after.
        let bits = valid * 8u;
        if (bits < 32u) {
            word = vec2<u32>((word.x & ~(0xffffffffu >> bits)) | (0x80000000u >> bits), 0u);
        } else {
            let rest = bits - 32u;
            word.y = (word.y & ~(0xffffffffu >> rest)) | (0x80000000u >> rest);
        }
    }
    return word;
}

// A 32-bit word with its bytes reversed.
fn sha512_bswap32(x: u32) -> u32 {
    return (x >> 24u) | ((x >> 8u) & 0xff00u) | ((x << 8u) & 0xff0000u) | (x << 24u);
}

// SHA-512(R || A || M): R = arena[r_at .. r_at + 32), A = arena[a_at .. a_at + 32),
// M = arena[msg_at .. msg_at + msg_len), each at any byte offset and anywhere in the
// arena (they need not be adjacent). msg_len < 2^32 - 256 (the stream length 64 +
// msg_len plus padding must fit a u32; an arena is far smaller). The digest is its 64
// bytes read as 16 little-endian u32 words (word i = bytes 4i .. 4i + 4), which is the
// 512-bit little-endian integer sc_reduce512 takes (RFC 8032, 5.1.7 step 2).
fn sha512_ram(r_at: u32, a_at: u32, msg_at: u32, msg_len: u32) -> array<u32, 16> {
    var st = SHA512_IV;
    var w: array<vec2<u32>, 16>;
    let n = 64u + msg_len;
    // The data, at least one byte of 0x80 and 16 of length, in whole 128-byte blocks.
    let blocks = (n + 17u + 127u) >> 7u;
    for (var blk = 0u; blk < blocks; blk++) {
        let q = blk << 7u;
        // Written out, so that w is indexed by constants only (see sha512_compress).
        w[0] = sha512_ram_word(r_at, a_at, msg_at, n, q + 0u);
        w[1] = sha512_ram_word(r_at, a_at, msg_at, n, q + 8u);
        w[2] = sha512_ram_word(r_at, a_at, msg_at, n, q + 16u);
        w[3] = sha512_ram_word(r_at, a_at, msg_at, n, q + 24u);
        w[4] = sha512_ram_word(r_at, a_at, msg_at, n, q + 32u);
        w[5] = sha512_ram_word(r_at, a_at, msg_at, n, q + 40u);
        w[6] = sha512_ram_word(r_at, a_at, msg_at, n, q + 48u);
        w[7] = sha512_ram_word(r_at, a_at, msg_at, n, q + 56u);
        w[8] = sha512_ram_word(r_at, a_at, msg_at, n, q + 64u);
        w[9] = sha512_ram_word(r_at, a_at, msg_at, n, q + 72u);
        w[10] = sha512_ram_word(r_at, a_at, msg_at, n, q + 80u);
        w[11] = sha512_ram_word(r_at, a_at, msg_at, n, q + 88u);
        w[12] = sha512_ram_word(r_at, a_at, msg_at, n, q + 96u);
        w[13] = sha512_ram_word(r_at, a_at, msg_at, n, q + 104u);
        w[14] = sha512_ram_word(r_at, a_at, msg_at, n, q + 112u);
        w[15] = sha512_ram_word(r_at, a_at, msg_at, n, q + 120u);
        if (blk + 1u == blocks) {
            // The low 64 bits of the bit length 8n (the high 64 bits, w[14], are 0).
            w[15] = vec2<u32>(n >> 29u, n << 3u);
        }
        sha512_compress(&st, &w);
    }
    // Digest byte 8i + j is byte 7 - j of st[i]: as little-endian words, each half of
    // each state word byte-swapped.
    var out: array<u32, 16>;
    for (var i = 0u; i < 8u; i++) {
        out[2u * i] = sha512_bswap32(st[i].x);
        out[2u * i + 1u] = sha512_bswap32(st[i].y);
    }
    return out;
}
