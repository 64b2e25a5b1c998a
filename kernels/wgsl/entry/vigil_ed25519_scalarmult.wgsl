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
}

@group(0) @binding(2) var<uniform> scalarmult_args: ScalarmultArgs;

// No arena in this module: the library's byte readers (bytes.wgsl) refer to one, so a
// private stand-in (never read, no binding) lets the module compile.
var<private> arena: array<u32, 1>;

// The field element at table words w .. w + 20 of signature s.
fn table_fe(s: u32, w: u32) -> Fe {
    return Fe(
        table[ed_word(s, w + 0u)],
        table[ed_word(s, w + 1u)],
        table[ed_word(s, w + 2u)],
        table[ed_word(s, w + 3u)],
        table[ed_word(s, w + 4u)],
        table[ed_word(s, w + 5u)],
        table[ed_word(s, w + 6u)],
        table[ed_word(s, w + 7u)],
        table[ed_word(s, w + 8u)],
        table[ed_word(s, w + 9u)],
        table[ed_word(s, w + 10u)],
        table[ed_word(s, w + 11u)],
        table[ed_word(s, w + 12u)],
        table[ed_word(s, w + 13u)],
        table[ed_word(s, w + 14u)],
        table[ed_word(s, w + 15u)],
        table[ed_word(s, w + 16u)],
        table[ed_word(s, w + 17u)],
        table[ed_word(s, w + 18u)],
        table[ed_word(s, w + 19u)],
    );
}

// Writes f to table words w .. w + 20 of signature s.
fn table_put_fe(s: u32, w: u32, f: Fe) {
    table[ed_word(s, w + 0u)] = f[0];
    table[ed_word(s, w + 1u)] = f[1];
    table[ed_word(s, w + 2u)] = f[2];
    table[ed_word(s, w + 3u)] = f[3];
    table[ed_word(s, w + 4u)] = f[4];
    table[ed_word(s, w + 5u)] = f[5];
    table[ed_word(s, w + 6u)] = f[6];
    table[ed_word(s, w + 7u)] = f[7];
    table[ed_word(s, w + 8u)] = f[8];
    table[ed_word(s, w + 9u)] = f[9];
    table[ed_word(s, w + 10u)] = f[10];
    table[ed_word(s, w + 11u)] = f[11];
    table[ed_word(s, w + 12u)] = f[12];
    table[ed_word(s, w + 13u)] = f[13];
    table[ed_word(s, w + 14u)] = f[14];
    table[ed_word(s, w + 15u)] = f[15];
    table[ed_word(s, w + 16u)] = f[16];
    table[ed_word(s, w + 17u)] = f[17];
    table[ed_word(s, w + 18u)] = f[18];
    table[ed_word(s, w + 19u)] = f[19];
}

// The 64 signed radix-16 digits at table words w .. w + 16 of signature s.
fn table_digits(s: u32, w: u32) -> array<i32, 64> {
    var d: array<i32, 64>;
    for (var i = 0u; i < 16u; i++) {
        let word = table[ed_word(s, w + i)];
        for (var j = 0u; j < 4u; j++) {
            d[4u * i + j] = i32((word >> (8u * j)) & 0xffu) - 8;
        }
    }
    return d;
}

// [e](-A) for a digit e in [-8, 8], read from signature s's table at the entry the
// digit names (the identity for e = 0).
fn table_cached(s: u32, e: i32) -> GeCached {
    let at = 80u * (max(u32(abs(e)), 1u) - 1u);
    let q = GeCached(table_fe(s, at), table_fe(s, at + 20u), table_fe(s, at + 40u),
                     table_fe(s, at + 60u));
    return ed_cached_digit(q, e);
}

@compute @workgroup_size(64)
fn vigil_ed25519_scalarmult(@builtin(global_invocation_id) gid: vec3<u32>) {
    let s = gid.x;
    if (s >= scalarmult_args.count || state[s] == 0u) {
        return;
    }
    var sd = table_digits(s, ED_DIGITS_S);
    var kd = table_digits(s, ED_DIGITS_K);
    var acc = ge_p1p1_identity();
    for (var n = 0u; n < 64u; n++) {
        let i = 63u - n;
        acc = ed_straus_digit(acc, n == 0u, table_cached(s, kd[i]), sd[i]);
    }
    let rp = ge_p1p1_to_p3(acc);
    table_put_fe(s, 0u, rp.X);
    table_put_fe(s, 20u, rp.Y);
    table_put_fe(s, 40u, rp.Z);
    table_put_fe(s, 60u, rp.T);
}
