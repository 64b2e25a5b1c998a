// bytes.wgsl: reading bytes out of the arena, which WGSL can only hold as words.
//
// WGSL has no 8-bit storage type, so the byte buffers of the launch contract (the arena)
// are bound as array<u32>: byte i is bits 8 (i % 4) .. of word i / 4 (little-endian, as
// the host uploads it, padded with zero bytes to whole words). Offsets in the arena are
// byte offsets and need not be aligned. Every entry file that uses these declares
// `arena` itself (its binding is the entry's own).

// Byte i of the arena.
fn arena_byte(i: u32) -> u32 {
    return (arena[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
}

// The little-endian word at byte offset i (any alignment).
fn arena_le32(i: u32) -> u32 {
    let shift = (i & 3u) * 8u;
    let lo = arena[i >> 2u];
    if (shift == 0u) {
        return lo;
    }
    let hi = arena[(i >> 2u) + 1u];
    return (lo >> shift) | (hi << (32u - shift));
}

// The big-endian word at byte offset i (any alignment): SHA-512 reads its input so.
fn arena_be32(i: u32) -> u32 {
    let w = arena_le32(i);
    return (w >> 24u) | ((w >> 8u) & 0xff00u) | ((w << 8u) & 0xff0000u) | (w << 24u);
}

// The 32 bytes at byte offset i (any alignment) as 8 little-endian words: a key, R or S.
fn arena_words8(i: u32) -> array<u32, 8> {
    return array<u32, 8>(
        arena_le32(i), arena_le32(i + 4u), arena_le32(i + 8u), arena_le32(i + 12u),
        arena_le32(i + 16u), arena_le32(i + 20u), arena_le32(i + 24u), arena_le32(i + 28u),
    );
}
