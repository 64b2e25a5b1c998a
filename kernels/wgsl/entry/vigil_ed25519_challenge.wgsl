// vigil_ed25519_challenge: k = SHA-512(R || A || M) mod L for every signature, the first
// of the four Ed25519 launches (kernels/entry/ed25519.cl has the C kernel this is a port
// of; the launch contract is ED25519_CHALLENGE in kernels/src/launch.rs).
//
// Bindings follow the contract's parameter order (kernels/src/wgsl.rs): the buffers,
// then the one u32 parameter, `count`, as the only field of a uniform struct. The arena
// is bytes bound as words (bytes.wgsl). Transaction t's message is
// arena[msg_start[t] .. leaf_start[t + 1]); signer s has its public key at
// arena[pubkey_at[s] ..][..32] and its signature R || S at arena[sig_at[s] ..][..64],
// and belongs to transaction signer_tx[s]. Offsets are byte offsets, not necessarily
// aligned. One invocation per signer, in groups of 64 (GROUP of the launch contract);
// launches are rounded up to whole groups, so s < count is checked.

@group(0) @binding(0) var<storage, read> arena: array<u32>;
@group(0) @binding(1) var<storage, read> leaf_start: array<u32>;
@group(0) @binding(2) var<storage, read> msg_start: array<u32>;
@group(0) @binding(3) var<storage, read> pubkey_at: array<u32>;
@group(0) @binding(4) var<storage, read> sig_at: array<u32>;
@group(0) @binding(5) var<storage, read> signer_tx: array<u32>;
@group(0) @binding(6) var<storage, read_write> k_out: array<u32>;

struct ChallengeParams {
    count: u32,
}

@group(0) @binding(7) var<uniform> challenge_params: ChallengeParams;

// k_out[8s .. 8s + 8) = SHA-512(R || A || M) mod L, little-endian words.
@compute @workgroup_size(64)
fn vigil_ed25519_challenge(@builtin(global_invocation_id) gid: vec3<u32>) {
    let s = gid.x;
    if (s >= challenge_params.count) {
        return;
    }
    let tx = signer_tx[s];
    let m_at = msg_start[tx];
    let m_end = leaf_start[tx + 1u];
    // R is the first half of the signature.
    let k = sc_reduce512(sha512_ram(sig_at[s], pubkey_at[s], m_at, m_end - m_at));
    for (var i = 0u; i < 8u; i++) {
        k_out[8u * s + i] = k[i];
    }
}
