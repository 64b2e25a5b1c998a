// vigil_blake3_pkg: BLAKE3 constants shared by the card's hashing engines.
//
// Byte and word order are BLAKE3's: a 32-byte hash (a chaining value, a key) is 8 words,
// word i = bytes 4i..4i+4 read little-endian; a 64-byte message block is 16 such words.
// A vector of N words is a flat `logic [32*N-1:0]` with word i in bits [32i +: 32], so
// word 0 is the least significant, and a concatenation literal lists the LAST word first.
// (Flat vectors rather than packed `[N-1:0][31:0]` arrays: Yosys 0.23, the synthesis
// check in hdl/synth.sh, does not parse multi-dimensional packed arrays. The bit layout
// is the same.)
//
// The Merkle context keys are BLAKE3's hash_derive_key_context of the vigil-merkle-v1
// contexts (docs/MERKLE.md). hdl/tb/vigil_blake3_pkg.rs reads this file's text and
// checks the algorithm's constants and the keys against the `blake3` crate, so the
// literals cannot drift; hdl/tb/vigil_blake3_compress.rs measures CompressLatency.

`default_nettype none

package vigil_blake3_pkg;

  // A package of constants: each engine and testbench uses the ones it needs, so any
  // one top module leaves some unused. The waiver covers this package only.
  /* verilator lint_off UNUSEDPARAM */

  // ------------------------------------------------------------------------------------
  // The algorithm.

  // BLAKE3's IV (the SHA-256 IV), words 7..0.
  localparam logic [255:0] Iv = {
    32'h5BE0CD19, 32'h1F83D9AB, 32'h9B05688C, 32'h510E527F,
    32'hA54FF53A, 32'h3C6EF372, 32'hBB67AE85, 32'h6A09E667
  };

  // Domain flags (BLAKE3 specification, table 3), as the 32-bit flags word.
  localparam logic [31:0] FlagChunkStart        = 32'h0000_0001;
  localparam logic [31:0] FlagChunkEnd          = 32'h0000_0002;
  localparam logic [31:0] FlagParent            = 32'h0000_0004;
  localparam logic [31:0] FlagRoot              = 32'h0000_0008;
  localparam logic [31:0] FlagKeyedHash         = 32'h0000_0010;
  localparam logic [31:0] FlagDeriveKeyContext  = 32'h0000_0020;
  localparam logic [31:0] FlagDeriveKeyMaterial = 32'h0000_0040;

  localparam int unsigned BlockBytes = 64;
  localparam int unsigned ChunkBytes = 1024;
  localparam int unsigned Rounds = 7;

  // The message permutation: round r + 1 uses word MsgPermutation[i] of round r's
  // message at position i; entry i is bits [4i +: 4]. Entries 15..0.
  localparam logic [63:0] MsgPermutation = {
    4'd8, 4'd15, 4'd14, 4'd9, 4'd5, 4'd12, 4'd11, 4'd1,
    4'd13, 4'd4, 4'd0, 4'd7, 4'd10, 4'd3, 4'd6, 4'd2
  };

  // The message schedule: the index, in the original block, of the word that round
  // `round` (0..6) uses at position `pos` (0..15): MsgPermutation applied `round` times.
  // Positions 2i, 2i+1 feed column G i, positions 8+2i, 8+2i+1 diagonal G i. A constant
  // function: engines call it from localparams, so the schedule is pure wiring.
  function automatic int unsigned msg_schedule(int unsigned round, int unsigned pos);
    int unsigned idx;
    idx = pos;
    for (int r = 0; r < round; r++) begin
      idx = {28'd0, MsgPermutation[4*idx +: 4]};
    end
    msg_schedule = idx;
  endfunction

  // Right rotation of a 32-bit word by a constant amount (1..31).
  function automatic logic [31:0] rotr32(logic [31:0] x, int unsigned n);
    rotr32 = (x >> n) | (x << (32 - n));
  endfunction

  // ------------------------------------------------------------------------------------
  // The compression core's pipeline (vigil_blake3_compress).

  // Register stages of the rounds: one per half of G, so 4 per round (column step and
  // diagonal step, each split after its first a/d/c/b update).
  localparam int unsigned CompressRoundStages = 4 * Rounds;
  // Cycles from input to result: an input taken in cycle t is on the outputs in cycle
  // t + CompressLatency (the round stages, then the output register of the feed-forward).
  localparam int unsigned CompressLatency = CompressRoundStages + 1;

  // ------------------------------------------------------------------------------------
  // The vigil-merkle-v1 tree (docs/MERKLE.md).

  // hash_derive_key_context("vigil-merkle-v1 leaf"), words 7..0.
  localparam logic [255:0] MerkleLeafKey = {
    32'h426330E2, 32'hE3BEAE07, 32'h4272EB76, 32'h1373D6ED,
    32'hA5066F64, 32'hA9EA1759, 32'h7D910D5F, 32'h6CDFFD44
  };

  // hash_derive_key_context("vigil-merkle-v1 node"), words 7..0.
  localparam logic [255:0] MerkleNodeKey = {
    32'hE0BBA1CA, 32'h3A88A5DA, 32'h10CC8D64, 32'h161E5CCB,
    32'h0CA265E5, 32'h34AAA295, 32'h41DF1F49, 32'h842E0D09
  };

  // hash_derive_key_context("vigil-merkle-v1 empty"), words 7..0. The empty tree's root
  // is one compression under it: an empty block with MerkleOneBlockFlags.
  localparam logic [255:0] MerkleEmptyKey = {
    32'hC3457A79, 32'h333426C6, 32'h6B53BAB0, 32'h033AF1F3,
    32'hF44B7323, 32'h298C67A2, 32'h6B1D3D82, 32'hB47D0FFB
  };

  // Flags of a whole derive-key hash of at most one block (a NODE, a leaf of at most 64
  // bytes, EMPTY): the only block of the only chunk, and the root.
  localparam logic [31:0] MerkleOneBlockFlags =
      FlagChunkStart | FlagChunkEnd | FlagRoot | FlagDeriveKeyMaterial;

  /* verilator lint_on UNUSEDPARAM */

endpackage
