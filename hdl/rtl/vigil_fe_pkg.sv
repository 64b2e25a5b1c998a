// vigil_fe_pkg: constants of the GF(2^255 - 19) field ALU (vigil_fe_alu) and adder unit
// (vigil_fe_addsub), the field arithmetic under the Ed25519 verification engine.
//
// A field element is a flat `logic [254:0]`, the integer's bits little-endian (bit i is
// 2^i), as in RFC 8032's encoding without the sign bit. The ALU's contract: operands are
// any 255-bit values (0 .. 2^255 - 1, so p .. 2^255 - 1 too); results are canonical
// (< P).
//
// hdl/tb/vigil_fe_alu.rs reads P, the opcodes and AluLatency, and
// hdl/tb/vigil_fe_addsub.rs AddLatency, out of this file's text, so the testbenches check
// what is synthesised.

`default_nettype none

package vigil_fe_pkg;

  // A package of constants: each user uses some. The waiver covers this package only.
  /* verilator lint_off UNUSEDPARAM */

  // The field prime p = 2^255 - 19, words 3..0 (word 3 is 63 bits).
  localparam logic [254:0] P = {
    63'h7FFF_FFFF_FFFF_FFFF, 64'hFFFF_FFFF_FFFF_FFFF, 64'hFFFF_FFFF_FFFF_FFFF,
    64'hFFFF_FFFF_FFFF_FFED
  };

  // Operations (in_op_i). 2'd3 is reserved and computes OpAdd.
  localparam logic [1:0] OpMul = 2'd0;  // a * b mod p
  localparam logic [1:0] OpAdd = 2'd1;  // a + b mod p
  localparam logic [1:0] OpSub = 2'd2;  // a - b mod p

  // The multiplier's decomposition (see vigil_fe_alu): a in ALimbs limbs of ALimbBits,
  // b in BLimbs limbs of BLimbBits (the top limb holds the last 21 bits), one DSP48E2
  // per limb product.
  localparam int unsigned ALimbBits = 17;
  localparam int unsigned ALimbs = 15;
  localparam int unsigned BLimbBits = 26;
  localparam int unsigned BLimbs = 10;
  localparam int unsigned Products = ALimbs * BLimbs;
  // Rows of partial products into the adder tree: three per b limb (the a limbs
  // i = 0, 1, 2 mod 3 of one b limb do not overlap).
  localparam int unsigned ProductRows = 3 * BLimbs;
  // Carry-save (3:2) levels from ProductRows rows down to two, and how many of them
  // share one register stage.
  localparam int unsigned TreeLevels = 8;
  localparam int unsigned LevelsPerStage = 3;
  // Register stages of the tree: after levels 3, 6 and 8.
  localparam int unsigned TreeStages = 3;
  // The fold by 19 (2^255 = 19 mod p) makes 8 rows of 260 bits, and FoldLevels
  // carry-save levels take them to two.
  localparam int unsigned FoldRows = 8;
  localparam int unsigned FoldLevels = 4;

  // Cycles from input to result, the same for every operation: an operation taken at
  // the rising edge that ends cycle t is on the outputs during cycle t + AluLatency.
  // Stages: operands, products, TreeStages of the adder tree, the fold by 19, the
  // carry-propagate add, the canonical result.
  localparam int unsigned AluLatency = 2 + TreeStages + 3;

  // The adder unit beside the multiplier (vigil_fe_addsub: a + b, a - b, 2a + b,
  // 2a - b mod p): cycles from input to result, as AluLatency. Stages: operands, the
  // doubled and complemented operands, the low halves of its four candidate sums, their
  // high halves and the select, the result.
  localparam int unsigned AddLatency = 5;
  // The adder unit's carry chains are split here: sum bits below AddSplitBit in one
  // stage, the rest in the next.
  localparam int unsigned AddSplitBit = 128;

  // The number of rows after one 3:2 carry-save level over n rows: each group of three
  // becomes two, the one or two left over pass through.
  function automatic int unsigned csa_rows(int unsigned n);
    csa_rows = 2 * (n / 3) + n % 3;
  endfunction

  // The rows left of n after `levels` carry-save levels.
  function automatic int unsigned rows_after(int unsigned n, int unsigned levels);
    int unsigned rows;
    rows = n;
    for (int l = 0; l < levels; l++) begin
      rows = csa_rows(rows);
    end
    rows_after = rows;
  endfunction

  /* verilator lint_on UNUSEDPARAM */

endpackage
