// vigil_sha512_pkg: SHA-512 and Ed25519 scalar constants for the card's Ed25519 front end.
//
// Word order: a vector of N 64-bit words is a flat `logic [64*N-1:0]` with word i in bits
// [64i +: 64] (word 0 least significant; a concatenation literal lists the LAST word
// first), as in vigil_blake3_pkg. SHA-512's words are its own big-endian 64-bit words
// (FIPS 180-4); the scalar L is a 256-bit integer, least significant word first.
//
// hdl/tb/vigil_sha512_core.rs checks K and Iv by hashing against the `sha2` crate, and
// hdl/tb/vigil_sc_reduce.rs reads L out of this file's text and checks it against
// `curve25519-dalek` (L = 0 mod L, L - 1 is the largest canonical scalar).

`default_nettype none

package vigil_sha512_pkg;

  // A package of constants: each module uses some. The waiver covers this package only.
  /* verilator lint_off UNUSEDPARAM */

  // SHA-512 initial hash value H0..H7 (FIPS 180-4, 5.3.5), words 7..0.
  localparam logic [511:0] Iv = {
    64'h5BE0CD19137E2179, 64'h1F83D9ABFB41BD6B, 64'h9B05688C2B3E6C1F, 64'h510E527FADE682D1,
    64'hA54FF53A5F1D36F1, 64'h3C6EF372FE94F82B, 64'hBB67AE8584CAA73B, 64'h6A09E667F3BCC908
  };

  // SHA-512 round constants K0..K79 (FIPS 180-4, 4.2.3), words 79..0: K_t is bits
  // [64t +: 64].
  localparam logic [5119:0] K = {
    64'h6C44198C4A475817, 64'h5FCB6FAB3AD6FAEC, 64'h597F299CFC657E2A, 64'h4CC5D4BECB3E42B6,
    64'h431D67C49C100D4C, 64'h3C9EBE0A15C9BEBC, 64'h32CAAB7B40C72493, 64'h28DB77F523047D84,
    64'h1B710B35131C471B, 64'h113F9804BEF90DAE, 64'h0A637DC5A2C898A6, 64'h06F067AA72176FBA,
    64'hF57D4F7FEE6ED178, 64'hEADA7DD6CDE0EB1E, 64'hD186B8C721C0C207, 64'hCA273ECEEA26619C,
    64'hC67178F2E372532B, 64'hBEF9A3F7B2C67915, 64'hA4506CEBDE82BDE9, 64'h90BEFFFA23631E28,
    64'h8CC702081A6439EC, 64'h84C87814A1F0AB72, 64'h78A5636F43172F60, 64'h748F82EE5DEFB2FC,
    64'h682E6FF3D6B2B8A3, 64'h5B9CCA4F7763E373, 64'h4ED8AA4AE3418ACB, 64'h391C0CB3C5C95A63,
    64'h34B0BCB5E19B48A8, 64'h2748774CDF8EEB99, 64'h1E376C085141AB53, 64'h19A4C116B8D2D0C8,
    64'h106AA07032BBD1B8, 64'hF40E35855771202A, 64'hD69906245565A910, 64'hD192E819D6EF5218,
    64'hC76C51A30654BE30, 64'hC24B8B70D0F89791, 64'hA81A664BBC423001, 64'hA2BFE8A14CF10364,
    64'h92722C851482353B, 64'h81C2C92E47EDAEE6, 64'h766A0ABB3C77B2A8, 64'h650A73548BAF63DE,
    64'h53380D139D95B3DF, 64'h4D2C6DFC5AC42AED, 64'h2E1B21385C26C926, 64'h27B70A8546D22FFC,
    64'h142929670A0E6E70, 64'h06CA6351E003826F, 64'hD5A79147930AA725, 64'hC6E00BF33DA88FC2,
    64'hBF597FC7BEEF0EE4, 64'hB00327C898FB213F, 64'hA831C66D2DB43210, 64'h983E5152EE66DFAB,
    64'h76F988DA831153B5, 64'h5CB0A9DCBD41FBD4, 64'h4A7484AA6EA6E483, 64'h2DE92C6F592B0275,
    64'h240CA1CC77AC9C65, 64'h0FC19DC68B8CD5B5, 64'hEFBE4786384F25E3, 64'hE49B69C19EF14AD2,
    64'hC19BF174CF692694, 64'h9BDC06A725C71235, 64'h80DEB1FE3B1696B1, 64'h72BE5D74F27B896F,
    64'h550C7DC3D5FFB4E2, 64'h243185BE4EE4B28C, 64'h12835B0145706FBE, 64'hD807AA98A3030242,
    64'hAB1C5ED5DA6D8118, 64'h923F82A4AF194F9B, 64'h59F111F1B605D019, 64'h3956C25BF348B538,
    64'hE9B5DBA58189DBBC, 64'hB5C0FBCFEC4D3B2F, 64'h7137449123EF65CD, 64'h428A2F98D728AE22
  };

  localparam int unsigned Rounds = 80;
  localparam int unsigned BlockWords = 16;

  // The order of the Ed25519 base point, L = 2^252 + 27742317777372353535851937790883648493,
  // words 3..0.
  localparam logic [255:0] L = {
    64'h1000000000000000, 64'h0000000000000000, 64'h14DEF9DEA2F79CD6, 64'h5812631A5CF5D3ED
  };

  /* verilator lint_on UNUSEDPARAM */

  // Right rotation of a 64-bit word by a constant amount (1..63).
  function automatic logic [63:0] rotr64(logic [63:0] x, int unsigned n);
    rotr64 = (x >> n) | (x << (64 - n));
  endfunction

  // The bytes of a 64-bit word in reverse order: a little-endian-byte input word to a
  // SHA-512 (big-endian) word, and back.
  function automatic logic [63:0] bswap64(logic [63:0] x);
    for (int i = 0; i < 8; i++) begin
      bswap64[8*i +: 8] = x[8*(7-i) +: 8];
    end
  endfunction

endpackage
