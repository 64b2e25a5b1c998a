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

// No arena in this module: the library's byte readers (bytes.wgsl) refer to one, so a
// private stand-in (never read, no binding) lets the module compile.
var<private> arena: array<u32, 1>;

// The field element at words w .. w + 20 of table row `row`.
fn table_fe(row: u32, w: u32) -> Fe {
    return Fe(
        table[ed_word(row, w + 0u)],
        table[ed_word(row, w + 1u)],
        table[ed_word(row, w + 2u)],
        table[ed_word(row, w + 3u)],
        table[ed_word(row, w + 4u)],
        table[ed_word(row, w + 5u)],
        table[ed_word(row, w + 6u)],
        table[ed_word(row, w + 7u)],
        table[ed_word(row, w + 8u)],
        table[ed_word(row, w + 9u)],
        table[ed_word(row, w + 10u)],
        table[ed_word(row, w + 11u)],
        table[ed_word(row, w + 12u)],
        table[ed_word(row, w + 13u)],
        table[ed_word(row, w + 14u)],
        table[ed_word(row, w + 15u)],
        table[ed_word(row, w + 16u)],
        table[ed_word(row, w + 17u)],
        table[ed_word(row, w + 18u)],
        table[ed_word(row, w + 19u)],
    );
}

// Writes f to words w .. w + 20 of table row `row`.
fn table_put_fe(row: u32, w: u32, f: Fe) {
    table[ed_word(row, w + 0u)] = f[0];
    table[ed_word(row, w + 1u)] = f[1];
    table[ed_word(row, w + 2u)] = f[2];
    table[ed_word(row, w + 3u)] = f[3];
    table[ed_word(row, w + 4u)] = f[4];
    table[ed_word(row, w + 5u)] = f[5];
    table[ed_word(row, w + 6u)] = f[6];
    table[ed_word(row, w + 7u)] = f[7];
    table[ed_word(row, w + 8u)] = f[8];
    table[ed_word(row, w + 9u)] = f[9];
    table[ed_word(row, w + 10u)] = f[10];
    table[ed_word(row, w + 11u)] = f[11];
    table[ed_word(row, w + 12u)] = f[12];
    table[ed_word(row, w + 13u)] = f[13];
    table[ed_word(row, w + 14u)] = f[14];
    table[ed_word(row, w + 15u)] = f[15];
    table[ed_word(row, w + 16u)] = f[16];
    table[ed_word(row, w + 17u)] = f[17];
    table[ed_word(row, w + 18u)] = f[18];
    table[ed_word(row, w + 19u)] = f[19];
}

// The 64 signed radix-16 digits at words w .. w + 16 of table row `row`.
fn table_digits(row: u32, w: u32) -> array<i32, 64> {
    var d: array<i32, 64>;
    for (var i = 0u; i < 16u; i++) {
        let word = table[ed_word(row, w + i)];
        for (var j = 0u; j < 4u; j++) {
            d[4u * i + j] = i32((word >> (8u * j)) & 0xffu) - 8;
        }
    }
    return d;
}

// [e](-A) for a digit e in [-8, 8], read from table row `row` at the entry the digit
// names (the identity for e = 0).
fn table_cached(row: u32, e: i32) -> GeCached {
    let at = 80u * (max(u32(abs(e)), 1u) - 1u);
    let q = GeCached(table_fe(row, at), table_fe(row, at + 20u), table_fe(row, at + 40u),
                     table_fe(row, at + 60u));
    return ed_cached_digit(q, e);
}

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
