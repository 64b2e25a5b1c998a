// vigil_merkle_reduce: several tree levels in one launch, in work-group memory
// (entry/merkle.cl; kernels/MERKLE_KERNELS.md shows why it gives the level-by-level root).
//
// Work-group g reduces nodes in[2Wg .. min(2W(g+1), count_in)) level by level, pairing
// adjacent nodes and carrying an odd last one exactly as vigil_merkle_level does, to one
// node, written to out[g]; W = MERKLE_REDUCE_GROUP. Bindings follow the contract
// (in, count_in, out): in at 0, out at 1, count_in in a uniform at 2.
//
// WGSL fixes the work-group size at compile time, so W is a constant here and must be
// vigil_kernels::MERKLE_REDUCE_GROUP, the local size the host launches it with (a test
// in driver/wgpu/tests/wgsl_merkle.rs reads this file and compares). The C kernel's
// guard for other local sizes is therefore not needed.
//
// The first level reads its pairs from the storage buffer; every level writes its nodes
// to one of two regions of work-group memory and the next level reads them from there
// and writes the other, so one barrier per level separates a level's writes from the
// next level's reads. Region 0 holds W nodes, region 1 W/2 (level j has at most 2W / 2^j
// nodes, and levels write regions 0, 1, 0, 1, ...). Words are stored transposed (word k
// of every slot of a region together), so work-item t writing slot t touches consecutive
// words. The node count, and so every loop bound, depends only on the work-group id and
// the uniform count: all work-items of a group run the same passes and reach every
// barrier (uniform control flow, as WGSL requires); there is no early return.
// Indices are u32: a dispatch has at most 65535 groups, so 2W * 8 * g stays far below
// 2^32.

const MERKLE_REDUCE_GROUP: u32 = 128u;

// The merkle library (bytes.wgsl, blake3.wgsl) reads leaf bytes from a module-scope
// `arena`; this entry has no arena parameter, so a private placeholder stands in
// for it (never read: node hashing takes its block from the node buffer). Unlike
// a storage declaration it takes no binding.
var<private> arena: array<u32, 1>;

@group(0) @binding(0) var<storage, read> nodes_in: array<u32>;
@group(0) @binding(1) var<storage, read_write> nodes_out: array<u32>;

struct MerkleReduceArgs {
    count_in: u32,
}
@group(0) @binding(2) var<uniform> args: MerkleReduceArgs;

// Region 0 (W slots) then region 1 (W / 2 slots), 8 words per slot.
var<workgroup> reduce_tree: array<u32, 1536>; // 8 * (MERKLE_REDUCE_GROUP * 3 / 2)

// Index of word k of slot i in the region starting at off with slot words stride apart.
fn reduce_slot(off: u32, stride: u32, i: u32, k: u32) -> u32 {
    return off + k * stride + i;
}

@compute @workgroup_size(MERKLE_REDUCE_GROUP)
fn vigil_merkle_reduce(@builtin(local_invocation_id) lid: vec3<u32>,
                       @builtin(workgroup_id) wid: vec3<u32>) {
    let cap = MERKLE_REDUCE_GROUP;
    let t = lid.x;
    let g = wid.x;
    let count_in = args.count_in;
    let base = g * 2u * cap;
    // The group's nodes: up to 2W from base (none for a group past the end).
    let n = select(0u, min(count_in - base, 2u * cap), base < count_in);
    let group_in = base * 8u;
    var count = n;
    var first = true; // the first level reads the storage buffer
    var src_off = 0u; // the region the last level wrote
    var src_stride = cap;

    while (count > 1u) {
        let dst_off = select(0u, 8u * cap, !first && src_off == 0u);
        let dst_stride = select(cap / 2u, cap, dst_off == 0u);
        let pairs = count >> 1u;
        let carry = t == pairs && (count & 1u) != 0u;
        var h: array<u32, 8>;
        if (t < pairs) {
            var m: array<u32, 16>;
            if (first) {
                let p = group_in + t * 16u;
                for (var k = 0u; k < 16u; k++) {
                    m[k] = nodes_in[p + k];
                }
            } else {
                for (var k = 0u; k < 8u; k++) {
                    m[k] = reduce_tree[reduce_slot(src_off, src_stride, 2u * t, k)];
                    m[k + 8u] = reduce_tree[reduce_slot(src_off, src_stride, 2u * t + 1u, k)];
                }
            }
            h = merkle_node(m);
        } else if (carry) {
            // The odd last node, carried up unchanged.
            let a = count - 1u;
            for (var k = 0u; k < 8u; k++) {
                if (first) {
                    h[k] = nodes_in[group_in + a * 8u + k];
                } else {
                    h[k] = reduce_tree[reduce_slot(src_off, src_stride, a, k)];
                }
            }
        }
        if (t < pairs || carry) {
            for (var k = 0u; k < 8u; k++) {
                reduce_tree[reduce_slot(dst_off, dst_stride, t, k)] = h[k];
            }
        }
        count = pairs + (count & 1u);
        first = false;
        src_off = dst_off;
        src_stride = dst_stride;
        workgroupBarrier();
    }

    // The group's root: its only node (n = 1), or slot 0 of the region written last;
    // word k by work-item k.
    if (n != 0u && t < 8u) {
        if (first) {
            nodes_out[g * 8u + t] = nodes_in[group_in + t];
        } else {
            nodes_out[g * 8u + t] = reduce_tree[reduce_slot(src_off, src_stride, 0u, t)];
        }
    }
}
