// vigil_merkle_leaves: LEAF() of every leaf, one work-item per leaf (entry/merkle.cl).
//
// out[8i .. 8i+8] = LEAF(arena[leaf_start[i] .. leaf_start[i+1])) for i < count.
// leaf_start holds count + 1 byte offsets; a leaf may start at any byte and have any
// length (an end before its start is read as an empty leaf). Bindings follow the launch
// contract's parameter order (arena, leaf_start, count, out): the buffers at 0, 1, 2 and
// the u32 parameter in a uniform struct at 3. The arena is bound as words (bytes.wgsl);
// the leaf hashing itself, chunk tree included, is b3_hash_arena in blake3.wgsl. The
// launch is rounded up to whole groups of 64 (the contract's GROUP), so every item is
// bounds-checked.

@group(0) @binding(0) var<storage, read> arena: array<u32>;
@group(0) @binding(1) var<storage, read> leaf_start: array<u32>;
@group(0) @binding(2) var<storage, read_write> leaf_out: array<u32>;

struct MerkleLeavesArgs {
    count: u32,
}
@group(0) @binding(3) var<uniform> args: MerkleLeavesArgs;

@compute @workgroup_size(64)
fn vigil_merkle_leaves(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= args.count) {
        return;
    }
    let start = leaf_start[i];
    let end = leaf_start[i + 1u];
    let len = select(0u, end - start, end >= start);
    let h = merkle_leaf(start, len);
    let o = i * 8u;
    for (var k = 0u; k < 8u; k++) {
        leaf_out[o + k] = h[k];
    }
}
