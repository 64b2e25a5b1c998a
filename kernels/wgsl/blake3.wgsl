// blake3.wgsl: BLAKE3 on the device, and the two hashes of the vigil-merkle-v1 tree.
//
//   LEAF(d)    = BLAKE3 derive-key, context "vigil-merkle-v1 leaf", input d (any length)
//   NODE(l, r) = BLAKE3 derive-key, context "vigil-merkle-v1 node", input l || r (64 bytes)
//
// The WGSL port of include/vigil/blake3.h (docs/MERKLE.md is the specification,
// host/core/src/merkle.rs the CPU oracle, kernels/MERKLE_KERNELS.md the design notes).
// A derive-key hash is BLAKE3 keyed by the context key (the context string hashed once)
// with DERIVE_KEY_MATERIAL on every compression. The two context keys are constants here,
// so NODE is one compression and a leaf of at most 64 bytes is one too;
// driver/wgpu/tests/wgsl_merkle.rs checks them against the blake3 crate.
//
// Why it is written this way:
//
// - A hash is array<u32, 8> and a block array<u32, 16>, word i = bytes 4i..4i+4
//   little-endian, as in the C code: a NODE's block is then the 16 words of two
//   consecutive nodes of a level's buffer, unconverted.
// - The compression keeps the 4x4 state as four vec4<u32> rows, so one G call does the
//   four column (or, after rotating rows 1-3, the four diagonal) quarter-rounds at once.
//   WGSL has no macros; this keeps the seven rounds short without a run-time-indexed
//   state. As in the C, each round names its message words already permuted (round r
//   uses the permutation applied r times), so no message data moves between rounds and
//   every index is a constant.
// - WGSL has no 64-bit integers. BLAKE3's counter is 64 bits, so b3_compress takes it as
//   two words; a chunk index of a u32-long input is below 2^22, so the high word is 0.
// - WGSL has no recursion: the chunk tree of an input longer than a chunk is built with
//   an explicit chaining-value stack (a function-scope array), as BLAKE3's incremental
//   hasher builds it, one compression per loop pass (see b3_hash_arena).
// - Storage buffers cannot be passed to functions: the input is read from the module-scope
//   `arena` (array<u32>, bytes little-endian in words, see bytes.wgsl) that every module
//   using this file declares.

const B3_IV = array<u32, 8>(
    0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
    0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u,
);

// Domain flags (BLAKE3 specification, table 3).
const B3_CHUNK_START: u32 = 0x01u;
const B3_CHUNK_END: u32 = 0x02u;
const B3_PARENT: u32 = 0x04u;
const B3_ROOT: u32 = 0x08u;
const B3_KEYED_HASH: u32 = 0x10u;
const B3_DERIVE_KEY_CONTEXT: u32 = 0x20u;
const B3_DERIVE_KEY_MATERIAL: u32 = 0x40u;

const B3_BLOCK_LEN: u32 = 64u;
const B3_CHUNK_LEN: u32 = 1024u;

// Chaining values the stack of one input can hold: after chunk c of a multi-chunk input
// is merged it holds popcount(c + 1) of them, c + 1 < 2^22 for a u32 length, so 22
// suffice; 24 as in the C header.
const B3_MAX_DEPTH: u32 = 24u;

// hash_derive_key_context("vigil-merkle-v1 leaf") as 8 little-endian words.
const MERKLE_LEAF_KEY = array<u32, 8>(
    0x6CDFFD44u, 0x7D910D5Fu, 0xA9EA1759u, 0xA5066F64u,
    0x1373D6EDu, 0x4272EB76u, 0xE3BEAE07u, 0x426330E2u,
);

// hash_derive_key_context("vigil-merkle-v1 node") as 8 little-endian words.
const MERKLE_NODE_KEY = array<u32, 8>(
    0x842E0D09u, 0x41DF1F49u, 0x34AAA295u, 0x0CA265E5u,
    0x161E5CCBu, 0x10CC8D64u, 0x3A88A5DAu, 0xE0BBA1CAu,
);

// NODE's single compression: the only block of the only chunk, and the root.
const MERKLE_NODE_FLAGS: u32 = 0x4Bu; // CHUNK_START | CHUNK_END | ROOT | DERIVE_KEY_MATERIAL

// ---------------------------------------------------------------------------------------
// The compression function.

// The state as rows: a = v0..v3, b = v4..v7, c = v8..v11, d = v12..v15.
struct B3State {
    a: vec4<u32>,
    b: vec4<u32>,
    c: vec4<u32>,
    d: vec4<u32>,
}

fn b3_rotr(x: vec4<u32>, n: u32) -> vec4<u32> {
    return (x >> vec4<u32>(n)) | (x << vec4<u32>(32u - n));
}

// G on the four columns of the rows at once, lane i with message words x[i], y[i].
fn b3_g(s: B3State, x: vec4<u32>, y: vec4<u32>) -> B3State {
    var a = s.a;
    var b = s.b;
    var c = s.c;
    var d = s.d;
    a = a + b + x;
    d = b3_rotr(d ^ a, 16u);
    c = c + d;
    b = b3_rotr(b ^ c, 12u);
    a = a + b + y;
    d = b3_rotr(d ^ a, 8u);
    c = c + d;
    b = b3_rotr(b ^ c, 7u);
    return B3State(a, b, c, d);
}

// One round: the columns with (cx, cy), then the diagonals with (dx, dy). Rotating row b
// left by one, c by two and d by three lines the diagonal (v0, v5, v10, v15), ... up in
// lane 0, 1, 2, 3; the inverse rotation puts the rows back.
fn b3_round(s0: B3State, cx: vec4<u32>, cy: vec4<u32>, dx: vec4<u32>, dy: vec4<u32>) -> B3State {
    var s = b3_g(s0, cx, cy);
    s = B3State(s.a, s.b.yzwx, s.c.zwxy, s.d.wxyz);
    s = b3_g(s, dx, dy);
    return B3State(s.a, s.b.wxyz, s.c.zwxy, s.d.yzwx);
}

// The first 8 words of compress(cv, m, counter, block_len, flags): the chaining value of
// a block, or with ROOT the first 32 bytes of the output.
fn b3_compress(cv: array<u32, 8>, m: array<u32, 16>, counter_lo: u32, counter_hi: u32,
               block_len: u32, flags: u32) -> array<u32, 8> {
    var s = B3State(
        vec4<u32>(cv[0], cv[1], cv[2], cv[3]),
        vec4<u32>(cv[4], cv[5], cv[6], cv[7]),
        vec4<u32>(B3_IV[0], B3_IV[1], B3_IV[2], B3_IV[3]),
        vec4<u32>(counter_lo, counter_hi, block_len, flags),
    );
    s = b3_round(s, vec4<u32>(m[0], m[2], m[4], m[6]), vec4<u32>(m[1], m[3], m[5], m[7]),
                 vec4<u32>(m[8], m[10], m[12], m[14]), vec4<u32>(m[9], m[11], m[13], m[15]));
    s = b3_round(s, vec4<u32>(m[2], m[3], m[7], m[4]), vec4<u32>(m[6], m[10], m[0], m[13]),
                 vec4<u32>(m[1], m[12], m[9], m[15]), vec4<u32>(m[11], m[5], m[14], m[8]));
    s = b3_round(s, vec4<u32>(m[3], m[10], m[13], m[7]), vec4<u32>(m[4], m[12], m[2], m[14]),
                 vec4<u32>(m[6], m[9], m[11], m[8]), vec4<u32>(m[5], m[0], m[15], m[1]));
    s = b3_round(s, vec4<u32>(m[10], m[12], m[14], m[13]), vec4<u32>(m[7], m[9], m[3], m[15]),
                 vec4<u32>(m[4], m[11], m[5], m[1]), vec4<u32>(m[0], m[2], m[8], m[6]));
    s = b3_round(s, vec4<u32>(m[12], m[9], m[15], m[14]), vec4<u32>(m[13], m[11], m[10], m[8]),
                 vec4<u32>(m[7], m[5], m[0], m[6]), vec4<u32>(m[2], m[3], m[1], m[4]));
    s = b3_round(s, vec4<u32>(m[9], m[11], m[8], m[15]), vec4<u32>(m[14], m[5], m[12], m[1]),
                 vec4<u32>(m[13], m[0], m[2], m[4]), vec4<u32>(m[3], m[10], m[6], m[7]));
    s = b3_round(s, vec4<u32>(m[11], m[5], m[1], m[8]), vec4<u32>(m[15], m[0], m[9], m[6]),
                 vec4<u32>(m[14], m[2], m[3], m[7]), vec4<u32>(m[10], m[12], m[4], m[13]));
    let lo = s.a ^ s.c;
    let hi = s.b ^ s.d;
    return array<u32, 8>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
}

// ---------------------------------------------------------------------------------------
// Reading input from the arena.

// The block at byte offset p of the arena: min(avail, 64) bytes, zero-padded to 64.
//
// One path for every block, aligned or not, whole or short: the aligned words covering
// the block are read in order, each message word is put together from two neighbours
// by shifts (the first alone when p is aligned), and bytes at or past the end are masked
// off. Word indices are clamped to the last word holding a byte of the block, so nothing
// past the input's last word is read (the clamped duplicates only feed masked bytes).
// Work-items hashing leaves of mixed alignments and lengths thus run the same
// instructions, where the C code's three load paths would diverge.
fn b3_load_block(p: u32, avail: u32) -> array<u32, 16> {
    var m: array<u32, 16>;
    let n = min(avail, B3_BLOCK_LEN);
    if (n == 0u) {
        return m;
    }
    let first = p >> 2u;
    let last = (p + n - 1u) >> 2u;
    let lo = (p & 3u) * 8u;
    // For lo = 0 the neighbour contributes nothing (and a shift by 32 would be by 0).
    let keep_hi = select(0xFFFFFFFFu, 0u, lo == 0u);
    let hi = (32u - lo) & 31u;
    var cur = arena[first];
    for (var k = 0u; k < 16u; k++) {
        let next = arena[min(first + k + 1u, last)];
        // Bytes of word k inside the block: n - 4k, clamped to 0..4.
        let valid = min(n - min(n, 4u * k), 4u);
        let mask = select((1u << (8u * valid)) - 1u, 0xFFFFFFFFu, valid == 4u);
        m[k] = ((cur >> lo) | ((next << hi) & keep_hi)) & mask;
        cur = next;
    }
    return m;
}

// ---------------------------------------------------------------------------------------
// Whole hashes.

// The 32-byte BLAKE3 output (8 words) of the len bytes at byte offset start of the arena,
// under key, with mode added to every compression's flags: 0 with B3_IV as key (plain
// hash), B3_KEYED_HASH, or B3_DERIVE_KEY_MATERIAL with a context key (derive-key mode).
//
// The chunk tree is built as BLAKE3's incremental hasher builds it: a finished chunk's
// chaining value is merged with the stack's top while the number of chunks finished so
// far is even, then pushed; the last chunk is never pushed, and at the end it is merged
// with the stack from the top down, the last merge (or, for one chunk, the chunk's last
// block) carrying ROOT. Every loop pass makes exactly one compression, of a block or of
// a parent, at one call site, so work-items hashing inputs of different lengths keep
// running the compression together. The stack is the only array indexed at run time.
fn b3_hash_arena(start: u32, len: u32, key: array<u32, 8>, mode: u32) -> array<u32, 8> {
    var stack: array<array<u32, 8>, B3_MAX_DEPTH>;
    var cv = key;
    // Chunks in the input (an empty input is one empty chunk).
    let chunks = select((len >> 10u) + select(0u, 1u, (len & 1023u) != 0u), 1u, len == 0u);
    var chunk = 0u;    // the chunk being hashed (its index is its counter)
    var block = 0u;    // the next block of that chunk
    var depth = 0u;    // entries on the stack
    var pending = false; // a finished chunk's chaining value is in cv, not yet pushed
    var finished = 0u; // chunks finished so far, shifted right once per merge
    var closing = false; // the last chunk is done; merging the stack into it

    loop {
        if (pending && (finished & 1u) != 0u) {
            // No more merges for this chunk: push its chaining value.
            stack[depth] = cv;
            depth += 1u;
            pending = false;
        }
        if (closing && depth == 0u) {
            break;
        }

        let is_block = !(pending || closing);
        var m: array<u32, 16>;
        var counter = 0u;
        var block_len = B3_BLOCK_LEN;
        var flags = mode;
        var is_last_block = false;
        if (!is_block) {
            // A parent: the top of the stack on the left, cv on the right, under the key.
            depth -= 1u;
            let l = stack[depth];
            m = array<u32, 16>(l[0], l[1], l[2], l[3], l[4], l[5], l[6], l[7],
                               cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7]);
            flags |= B3_PARENT;
            if (closing && depth == 0u) {
                flags |= B3_ROOT;
            }
            finished >>= 1u;
        } else {
            let chunk_len = select(len - (chunk << 10u), B3_CHUNK_LEN, chunk + 1u < chunks);
            let offset = block << 6u;
            let avail = chunk_len - offset;
            m = b3_load_block(start + (chunk << 10u) + offset, avail);
            counter = chunk;
            block_len = min(avail, B3_BLOCK_LEN);
            is_last_block = offset + B3_BLOCK_LEN >= chunk_len;
            if (block == 0u) {
                flags |= B3_CHUNK_START;
            }
            if (is_last_block) {
                flags |= B3_CHUNK_END;
                if (chunks == 1u) {
                    flags |= B3_ROOT;
                }
            }
        }
        if (!is_block || block == 0u) {
            // A parent, or a chunk's first block, starts from the key.
            cv = key;
        }

        cv = b3_compress(cv, m, counter, 0u, block_len, flags);

        if (is_block) {
            if (!is_last_block) {
                block += 1u;
            } else if (chunk + 1u < chunks) {
                chunk += 1u;
                block = 0u;
                pending = true;
                finished = chunk;
            } else if (chunks == 1u) {
                break;
            } else {
                closing = true;
            }
        }
    }
    return cv;
}

// ---------------------------------------------------------------------------------------
// The vigil-merkle-v1 hashes.

// LEAF(the len bytes at byte offset start of the arena).
fn merkle_leaf(start: u32, len: u32) -> array<u32, 8> {
    return b3_hash_arena(start, len, MERKLE_LEAF_KEY, B3_DERIVE_KEY_MATERIAL);
}

// NODE(l, r), m = l || r as 16 words (the left hash's 8 words, then the right's): one
// compression with the key and flags constant.
fn merkle_node(m: array<u32, 16>) -> array<u32, 8> {
    return b3_compress(MERKLE_NODE_KEY, m, 0u, 0u, B3_BLOCK_LEN, MERKLE_NODE_FLAGS);
}
