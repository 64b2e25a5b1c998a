// ed25519_table_put.wgsl: writing the per-signature table (its layout is in
// ed25519.wgsl) through the module's `table` binding, for the entries that write it
// (prepare, scalarmult: they bind it read-write; check, which binds it read-only, is
// built without this file).

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

// Writes a cached point to entry j (words 80 j .. 80 j + 80) of table row `row`.
fn table_put_cached(row: u32, j: u32, q: GeCached) {
    table_put_fe(row, 80u * j, q.ypx);
    table_put_fe(row, 80u * j + 20u, q.ymx);
    table_put_fe(row, 80u * j + 40u, q.Z);
    table_put_fe(row, 80u * j + 60u, q.T2d);
}

// Writes 64 signed radix-16 digits to words w .. w + 16 of table row `row`.
fn table_put_digits(row: u32, w: u32, d: array<i32, 64>) {
    var digits = d;
    for (var i = 0u; i < 16u; i++) {
        var word = 0u;
        for (var j = 0u; j < 4u; j++) {
            word |= u32(digits[4u * i + j] + 8) << (8u * j);
        }
        table[ed_word(row, w + i)] = word;
    }
}
