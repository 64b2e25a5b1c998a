// ed25519_table.wgsl: reading the per-signature table (its layout is in ed25519.wgsl)
// from the module's `table` binding, for the entries that read it (scalarmult, check).
// Its writers are in ed25519_table_put.wgsl: a storage binding's access mode holds for
// its whole module, and check binds the table read-only, so a module that writes it
// cannot be one that check is built from. Field elements are read limb by limb with
// constant indices (fe25519.wgsl says why).

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
