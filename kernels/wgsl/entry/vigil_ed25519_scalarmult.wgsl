// vigil_ed25519_scalarmult: R' = [S]B + [k](-A) per signature that prepare passed
// (state[s] = 1), from -A's table and the digits of S and k in the per-signature table,
// written back over the table's first 80 words (ed25519.wgsl says the layout). Each
// digit's entry of -A's table is read from the buffer where the digit names it, as
// ed25519.h does, rather than the whole table loaded into an array value: with the
// array, Mesa's lavapipe took 38 s to compile this shader instead of 7 (2026-12-05). The port
// of the kernel of the same name in kernels/entry/ed25519.cl; the launch contract is
// ED25519_SCALARMULT in kernels/src/launch.rs.
//
// Bindings follow the contract's parameter order (kernels/src/wgsl.rs): table, state,
// then `count` as the one field of a uniform. One invocation per signature, in groups
// of 64; s < count is checked.

@group(0) @binding(0) var<storage, read_write> table: array<u32>;
@group(0) @binding(1) var<storage, read> state: array<u32>;

struct ScalarmultArgs {
    count: u32,
    // WGSL only (not in the launch contract): the first signature of this launch's
    // table rows; the driver splits a batch whose table would not fit one binding.
    first: u32,
}

@group(0) @binding(2) var<uniform> scalarmult_args: ScalarmultArgs;

@compute @workgroup_size(64)
fn vigil_ed25519_scalarmult(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row = gid.x;
    let s = scalarmult_args.first + row;
    if (s >= scalarmult_args.count || state[s] == 0u) {
        return;
    }
    var sd = table_digits(row, ED_DIGITS_S);
    var kd = table_digits(row, ED_DIGITS_K);
    var acc = ge_p1p1_identity();
    for (var n = 0u; n < 64u; n++) {
        let i = 63u - n;
        acc = ed_straus_digit(acc, n == 0u, table_cached(row, kd[i]), sd[i]);
    }
    let rp = ge_p1p1_to_p3(acc);
    table_put_fe(row, 0u, rp.X);
    table_put_fe(row, 20u, rp.Y);
    table_put_fe(row, 40u, rp.Z);
    table_put_fe(row, 60u, rp.T);
}
