// vigil_merkle_level: one level of the tree, one work-item per output node
// (entry/merkle.cl).
//
// Output node j = NODE(in[2j], in[2j+1]) when 2j + 1 < count_in, else the odd last node
// in[count_in - 1] copied up, for j < ceil(count_in / 2). Nodes are 8 words each, so the
// block l || r of pair j is words 16j .. 16j+16 of the input as they lie. Bindings follow
// the contract (in, count_in, out): in at 0, out at 1, count_in in a uniform at 2. The
// launch is rounded up to whole groups of 64 (the contract's GROUP): bounds-checked.

// The merkle library (bytes.wgsl, blake3.wgsl) reads leaf bytes from a module-scope
// `arena`; this entry has no arena parameter, so a private placeholder stands in
// for it (never read: node hashing takes its block from the node buffer). Unlike
// a storage declaration it takes no binding.
var<private> arena: array<u32, 1>;

@group(0) @binding(0) var<storage, read> nodes_in: array<u32>;
@group(0) @binding(1) var<storage, read_write> nodes_out: array<u32>;

struct MerkleLevelArgs {
    count_in: u32,
}
@group(0) @binding(2) var<uniform> args: MerkleLevelArgs;

@compute @workgroup_size(64)
fn vigil_merkle_level(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    let count_in = args.count_in;
    let count_out = (count_in >> 1u) + (count_in & 1u);
    if (j >= count_out) {
        return;
    }
    let p = j * 16u;
    var h: array<u32, 8>;
    if (2u * j + 1u < count_in) {
        var m: array<u32, 16>;
        for (var k = 0u; k < 16u; k++) {
            m[k] = nodes_in[p + k];
        }
        h = merkle_node(m);
    } else {
        for (var k = 0u; k < 8u; k++) {
            h[k] = nodes_in[p + k];
        }
    }
    let o = j * 8u;
    for (var k = 0u; k < 8u; k++) {
        nodes_out[o + k] = h[k];
    }
}
