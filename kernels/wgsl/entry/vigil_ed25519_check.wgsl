// vigil_ed25519_check: verdict[s] = 1 if signature s is valid under `profile` (0 strict,
// 1 rfc8032, 2 zip215), else 0, from its state and R' (in the per-signature table,
// ed25519.wgsl) and R (the signature's first 32 bytes in the arena). The port of the
// kernel of the same name in kernels/entry/ed25519.cl; the launch contract is
// ED25519_CHECK in kernels/src/launch.rs. WGSL has no byte stores, so the verdict is
// one word per signature (the driver turns it into the contract's byte).
//
// Bindings follow the contract's parameter order (kernels/src/wgsl.rs): arena, sig_at,
// state, table, verdict, then count and profile as the fields of one uniform. One
// invocation per signature, in groups of 64; s < count is checked.

@group(0) @binding(0) var<storage, read> arena: array<u32>;
@group(0) @binding(1) var<storage, read> sig_at: array<u32>;
@group(0) @binding(2) var<storage, read> state: array<u32>;
@group(0) @binding(3) var<storage, read> table: array<u32>;
@group(0) @binding(4) var<storage, read_write> verdict: array<u32>;

struct CheckArgs {
    count: u32,
    profile: u32,
    // WGSL only (not in the launch contract): the first signature of this launch's
    // table rows; the driver splits a batch whose table would not fit one binding.
    first: u32,
}

@group(0) @binding(5) var<uniform> check_args: CheckArgs;

@compute @workgroup_size(64)
fn vigil_ed25519_check(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row = gid.x;
    let s = check_args.first + row;
    if (s >= check_args.count) {
        return;
    }
    var ok = 0u;
    if (state[s] != 0u) {
        let rp = GeP3(table_fe(row, 0u), table_fe(row, 20u), table_fe(row, 40u), table_fe(row, 60u));
        if (ed_check(rp, arena_words8(sig_at[s]), check_args.profile)) {
            ok = 1u;
        }
    }
    verdict[s] = ok;
}
