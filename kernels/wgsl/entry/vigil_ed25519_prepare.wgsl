// vigil_ed25519_prepare: per signature, S < L, A decoded (and, under strict, not of
// small order), the table of [1..8](-A) and the signed radix-16 digits of S and k, into
// the per-signature table (ed25519.wgsl says its layout); state[s] = 1 if the signature
// goes on to the scalar multiplication, else 0 (its verdict is then invalid). The port
// of the kernel of the same name in kernels/entry/ed25519.cl; the launch contract is
// ED25519_PREPARE in kernels/src/launch.rs.
//
// Bindings follow the contract's parameter order (kernels/src/wgsl.rs): the buffers
// (arena, pubkey_at, sig_at, k_in, table, state), then the u32 parameters (count,
// profile) as the fields of one uniform. One invocation per signature, in groups of 64;
// launches are rounded up to whole groups, so s < count is checked. The field elements
// go to the table written out limb by limb (constant indices: see fe25519.wgsl on
// run-time indices).

@group(0) @binding(0) var<storage, read> arena: array<u32>;
@group(0) @binding(1) var<storage, read> pubkey_at: array<u32>;
@group(0) @binding(2) var<storage, read> sig_at: array<u32>;
@group(0) @binding(3) var<storage, read> k_in: array<u32>;
@group(0) @binding(4) var<storage, read_write> table: array<u32>;
@group(0) @binding(5) var<storage, read_write> state: array<u32>;

struct PrepareArgs {
    count: u32,
    profile: u32,
    // WGSL only (not in the launch contract): the first signature of this launch's
    // table rows; the driver splits a batch whose table would not fit one binding.
    first: u32,
}

@group(0) @binding(6) var<uniform> prepare_args: PrepareArgs;

@compute @workgroup_size(64)
fn vigil_ed25519_prepare(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row = gid.x;
    let s = prepare_args.first + row;
    if (s >= prepare_args.count) {
        return;
    }
    state[s] = 0u;
    let sig = sig_at[s];
    let s_words = arena_words8(sig + 32u);
    if (!sc_is_canonical(s_words)) {
        return;
    }
    let a = ge_decompress(arena_words8(pubkey_at[s]));
    if (!a.ok || !ed_key_ok(a.p, prepare_args.profile)) {
        return;
    }
    // [1..8](-A), each entry stored as it is made (an array of the eight held as a value
    // cost lavapipe's compiler 32 s on this shader instead of a few).
    let neg_a = ge_p3_neg(a.p);
    let first = ge_p3_to_cached(neg_a);
    table_put_cached(row, 0u, first);
    var q = neg_a;
    for (var j = 1u; j < 8u; j++) {
        q = ge_p1p1_to_p3(ge_add_cached(q, first));
        table_put_cached(row, j, ge_p3_to_cached(q));
    }
    var k: array<u32, 8>;
    for (var i = 0u; i < 8u; i++) {
        k[i] = k_in[8u * s + i];
    }
    table_put_digits(row, ED_DIGITS_S, sc_signed_radix16(s_words));
    table_put_digits(row, ED_DIGITS_K, sc_signed_radix16(k));
    state[s] = 1u;
}
