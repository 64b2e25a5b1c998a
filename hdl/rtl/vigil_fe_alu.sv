// vigil_fe_alu: a fully pipelined GF(2^255 - 19) ALU (multiply, add, subtract), the
// field arithmetic under the Ed25519 verification engine.
//
//   in:  op (vigil_fe_pkg::OpMul, OpAdd, OpSub; 2'd3 is reserved and adds), a and b:
//        ANY 255-bit values, 0 .. 2^255 - 1 (p .. 2^255 - 1 too), and a tag
//   out: r = a * b, a + b or a - b mod p, always canonical (r < p), with the tag
//
// One operation may enter every clock and there is no backpressure: every operation has
// the same latency vigil_fe_pkg::AluLatency = 8. An operation taken at the rising edge
// that ends cycle t is on the outputs during cycle t + 8 (out_valid_o is in_valid_i
// delayed 8 clocks, and the tag travels with it). The engine interleaves 16 contexts, so
// a context's next operation may use this one's result.
//
// Multiplier: the decomposition
// -----------------------------
// Built for Xilinx DSP48E2 slices, whose multiplier is 27 x 18 signed, so 26 x 17
// unsigned. a is split into 15 limbs of 17 bits (a_i = a[17i +: 17], 15 * 17 = 255) and b
// into 10 limbs of 26 bits (b_j = b[26j +: 26]; the top limb b_9 = b[254:234] has 21).
// a * b is the sum of the 150 partial products a_i * b_j * 2^(17i + 26j), each 43 bits
// (38 for j = 9), each its own `*` of a 17-bit and a 26-bit (or 21-bit) unsigned value so
// that synth_xilinx maps it to exactly one DSP48E2: 150 DSP48E2. The operand registers
// (stage 1) and the product registers (stage 2) are there for the DSP's A/B and M (or
// P) pipeline registers: Vivado packs registers like these into the slice. Yosys 0.23
// does not pack registers into DSP48E2 (AREG = BREG = MREG = PREG = 0 even for a single
// registered multiply), so its flip-flop count includes them (510 + 6,450 bits). The
// operand registers also feed the ADD/SUB adder; a tool that packs A/B registers
// replicates them for that.
//
// The products are arranged in ProductRows = 30 rows of 510 bits with no wiring cost:
// for one b limb j, the products of a limbs i, i + 3, i + 6, ... (i = 0, 1, 2) sit 51
// bits apart and are 43 bits wide, so they do not overlap and row 3j + (i mod 3) is
// just their bits side by side (zeros between). Every row lies below 2^510: the highest
// product, a_14 * b_9 < 2^38, starts at bit 17 * 14 + 26 * 9 = 472.
//
// Column sum: a carry-save tree
// -----------------------------
// Each level of 3:2 carry-save adders (a full adder per bit, one LUT level: sum =
// u ^ v ^ w, carry = majority shifted up one bit) turns each three rows into two and
// passes the rest, so 30 rows become 20, 14, 10, 7, 5, 4, 3, 2 in TreeLevels = 8 levels.
// A register stage follows every LevelsPerStage = 3 levels and the last: after levels 3,
// 6 and 8 (TreeStages = 3). The rows keep 510 bits throughout without losing a carry: a
// level's outputs s + 2c equal its inputs' sum exactly, every row is non-negative and the
// total is a * b < 2^510, so 2c < 2^510 and the carry of bit 509 is always 0 (it is not
// even computed). The tree ends with two rows S and C, S + C = a * b.
//
// Reduction: 2^255 = 19 (mod p)
// -----------------------------
// Fold (stage 6): with S = Sh * 2^255 + Sl and C = Ch * 2^255 + Cl (Sl, Cl < 2^255),
// a * b = Sl + Cl + 19 Sh + 19 Ch (mod p), and 19 x = 16 x + 2 x + x is wiring, so that
// is 8 rows (Sl, Cl, Sh, 2 Sh, 16 Sh, Ch, 2 Ch, 16 Ch), carry-save added in FoldLevels =
// 4 levels (8, 6, 4, 3, 2) to two rows of 260 bits. Bounds: (Sh + Ch) * 2^255 <= S + C =
// a * b <= (2^255 - 1)^2, so Sh + Ch <= 2^255 - 2, and
//   Y = Sl + Cl + 19 (Sh + Ch) <= 2 (2^255 - 1) + 19 (2^255 - 2) < 21 * 2^255 < 2^260,
// so 260-bit rows are exact, as in the tree.
// Carry-propagate (stage 7): Y as one 260-bit number. ADD and SUB join here: their Y is
// a + b < 2 * 2^255, or a + ~b + (p - 18) = a - b + 2p, which is >= 2p - (2^255 - 1) > 0
// and < 3 * 2^255 (computed in stage 2, delayed to stage 6, the multiplier's rows muxed
// into this adder's inputs). Every operation's Y is congruent to its result and
// Y < 21 * 2^255.
// Canonical (stage 8): Y = Yh * 2^255 + Yl with Yh = Y[259:255] <= 20. Z = Yl + 19 Yh =
// Y (mod p) and Z <= 2^255 - 1 + 380 < 2p, so Z mod p is Z or Z - p. Z >= p exactly when
// W = Z + 19 = Yl + 19 (Yh + 1) >= 2^255, and then Z - p = W - 2^255 <= 398. Both sums
// are computed side by side (Yl plus a 9-bit constant product), and
//   r = W[255] ? W[254:0] : Z[254:0]
// is canonical in both cases: when W[255] is clear, Z = W - 19 < p.
//
// Pipeline (register stages; stage k is written at the k-th edge after the input)
// --------------------------------------------------------------------------------
//   1  operands a, b, the op (DSP A/B registers)
//   2  150 products (DSP M/P register); ADD/SUB: a + b or a + ~b + (p - 18)
//   3  tree levels 1-3 (30 -> 10 rows)
//   4  tree levels 4-6 (10 -> 4 rows)
//   5  tree levels 7-8 (4 -> 2 rows, S and C)
//   6  fold by 19, 4 carry-save levels (8 -> 2 rows of 260 bits)
//   7  Y: one 260-bit carry-propagate add (ADD/SUB's Y muxed in)
//   8  r: Z and W (256-bit adds) and the select
// AluLatency = 2 + TreeStages + 3 = 8 (vigil_fe_pkg).
//
// fmax (reasoning only, no Vivado here; VU9P-class UltraScale+, target 250 MHz): the
// tree stages are two or three LUT levels (carry-save adders) at most; the fold stage
// four; stage 7 is one 260-bit carry chain (33 CARRY8) with the mux in its LUTs; stage 8
// a 256-bit chain and a mux. The carry chains are the critical paths, roughly 2.5-3 ns
// on a -2 part. The multipliers are a DSP48E2 each with its input and product registers.
//
// Resources: 150 DSP48E2 for the multiplier, no DSPs elsewhere (the fold and the final
// reduction use shifts and adds). Yosys 0.23 (`hdl/synth.sh vigil_fe_alu`, TagWidth = 8,
// 2026-11-21, about 95 s of CPU): DSP48E2 150, CARRY4 264, FDRE 13,230, SRL16E 303,
// LUT2-LUT6 18,948 (MUXF7/8/9 4,340: ABC merges each stage's carry-save levels into wide
// functions), LC estimate 15,891. The flip-flops include the operand and product
// registers that Vivado would put in the DSPs (see above), and the tree's registers.
//
// Reset: rst_ni is SYNCHRONOUS and active-low and clears the valid bits only; data
// registers (operands, products, tree, tags) have no reset.

`default_nettype none

module vigil_fe_alu #(
  // Width of the sideband tag passed through with each operation.
  parameter int unsigned TagWidth = 8
) (
  input  wire logic                clk_i,
  input  wire logic                rst_ni,

  // One operation per clock (no handshake: always accepted).
  input  wire logic                in_valid_i,
  input  wire logic [1:0]          in_op_i,
  input  wire logic [254:0]        in_a_i,
  input  wire logic [254:0]        in_b_i,
  input  wire logic [TagWidth-1:0] in_tag_i,

  // Its result, AluLatency clocks later.
  output      logic                out_valid_o,
  output      logic [254:0]        out_r_o,
  output      logic [TagWidth-1:0] out_tag_o
);

  localparam int unsigned Latency = vigil_fe_pkg::AluLatency;
  localparam int unsigned ALimbBits = vigil_fe_pkg::ALimbBits;
  localparam int unsigned ALimbs = vigil_fe_pkg::ALimbs;
  localparam int unsigned BLimbBits = vigil_fe_pkg::BLimbBits;
  localparam int unsigned BLimbs = vigil_fe_pkg::BLimbs;
  localparam int unsigned ProductRows = vigil_fe_pkg::ProductRows;
  localparam int unsigned TreeLevels = vigil_fe_pkg::TreeLevels;
  localparam int unsigned LevelsPerStage = vigil_fe_pkg::LevelsPerStage;
  localparam int unsigned FoldRows = vigil_fe_pkg::FoldRows;
  localparam int unsigned FoldLevels = vigil_fe_pkg::FoldLevels;
  // Width of the product and the tree's rows, and of the folded rows.
  localparam int unsigned ProdBits = 510;
  localparam int unsigned FoldBits = 260;
  // ADD/SUB's Y (< 3 * 2^255), and the stages it is kept in (2 .. Latency - 2).
  localparam int unsigned AsBits = 257;
  localparam int unsigned AsStages = Latency - 3;
  // a + ~b + SubBias = a - b + 2p (~b = 2^255 - 1 - b).
  localparam logic [254:0] SubBias = vigil_fe_pkg::P - 255'd18;

  // ------------------------------------------------------------------------------------
  // Control: valid bits (reset), tags, and the op's selects, shifted along the stages.

  logic [Latency-1:0]          valid_q;
  logic [TagWidth*Latency-1:0] tag_q;
  // mul_q[k]: stage k + 1 holds a multiplication (used by stage Latency - 1).
  logic [Latency-3:0]          mul_q;
  logic                        sub_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      valid_q <= '0;
    end else begin
      valid_q <= {valid_q[Latency-2:0], in_valid_i};
    end
  end

  always_ff @(posedge clk_i) begin
    tag_q <= {tag_q[TagWidth*(Latency-1)-1:0], in_tag_i};
    mul_q <= {mul_q[Latency-4:0], in_op_i == vigil_fe_pkg::OpMul};
    sub_q <= in_op_i == vigil_fe_pkg::OpSub;
  end

  assign out_valid_o = valid_q[Latency-1];
  assign out_tag_o = tag_q[TagWidth*(Latency-1) +: TagWidth];

  // ------------------------------------------------------------------------------------
  // Stage 1: the operands.

  logic [254:0] a_q, b_q;
  always_ff @(posedge clk_i) begin
    a_q <= in_a_i;
    b_q <= in_b_i;
  end

  // ------------------------------------------------------------------------------------
  // Stage 2: the 150 partial products, and their rows (wiring).

  logic [ProductRows*ProdBits-1:0] rows0;

  for (genvar j = 0; j < BLimbs; j++) begin : g_prod
    // b limb j's width (the top limb has what is left of 255 bits), and its products'.
    localparam int unsigned BW =
        (j == BLimbs - 1) ? 255 - BLimbBits * (BLimbs - 1) : BLimbBits;
    localparam int unsigned PW = ALimbBits + BW;

    logic [ALimbs*PW-1:0]  p_q;
    logic [3*ProdBits-1:0] rows;

    // One 17 x BW unsigned product per a limb: one DSP48E2 each.
    always_ff @(posedge clk_i) begin
      for (int i = 0; i < ALimbs; i++) begin
        p_q[PW*i +: PW] <= {{BW{1'b0}}, a_q[ALimbBits*i +: ALimbBits]} *
                           {{ALimbBits{1'b0}}, b_q[BLimbBits*j +: BW]};
      end
    end

    // Row i mod 3 of this b limb holds the product of a limb i at bit 17i + 26j.
    always_comb begin
      rows = '0;
      for (int i = 0; i < ALimbs; i++) begin
        rows[ProdBits*(i%3) + ALimbBits*i + BLimbBits*j +: PW] = p_q[PW*i +: PW];
      end
    end

    assign rows0[3*ProdBits*j +: 3*ProdBits] = rows;
  end

  // ------------------------------------------------------------------------------------
  // Stages 3-5: the carry-save tree, TreeLevels levels of 3:2 adders, registered after
  // every LevelsPerStage levels and after the last.

  for (genvar l = 1; l <= TreeLevels; l++) begin : g_level
    localparam int unsigned NIn = vigil_fe_pkg::rows_after(ProductRows, l - 1);
    localparam int unsigned NOut = vigil_fe_pkg::rows_after(ProductRows, l);
    localparam int unsigned Groups = NIn / 3;
    localparam int unsigned Pass = NIn % 3;

    logic [NIn*ProdBits-1:0]  x;
    logic [NOut*ProdBits-1:0] y_d, y;

    if (l == 1) begin : g_in
      assign x = rows0;
    end else begin : g_in
      assign x = g_level[l-1].y;
    end

    for (genvar g = 0; g < Groups; g++) begin : g_csa
      logic [ProdBits-1:0] u, v, w;
      assign u = x[ProdBits*(3*g) +: ProdBits];
      assign v = x[ProdBits*(3*g+1) +: ProdBits];
      assign w = x[ProdBits*(3*g+2) +: ProdBits];
      assign y_d[ProdBits*(2*g) +: ProdBits] = u ^ v ^ w;
      // The carry out of the top bit is always 0 (see the header).
      assign y_d[ProdBits*(2*g+1) +: ProdBits] = {
        (u[ProdBits-2:0] & v[ProdBits-2:0]) | (u[ProdBits-2:0] & w[ProdBits-2:0]) |
            (v[ProdBits-2:0] & w[ProdBits-2:0]),
        1'b0
      };
    end

    if (Pass != 0) begin : g_pass
      assign y_d[ProdBits*2*Groups +: ProdBits*Pass] = x[ProdBits*3*Groups +: ProdBits*Pass];
    end

    if (l % LevelsPerStage == 0 || l == TreeLevels) begin : g_reg
      logic [NOut*ProdBits-1:0] y_q;
      always_ff @(posedge clk_i) begin
        y_q <= y_d;
      end
      assign y = y_q;
    end else begin : g_reg
      assign y = y_d;
    end
  end

  // ------------------------------------------------------------------------------------
  // Stage 6: the fold by 19, then FoldLevels carry-save levels, registered.

  logic [ProdBits-1:0] s_sum, s_carry;
  assign s_sum = g_level[TreeLevels].y[0 +: ProdBits];
  assign s_carry = g_level[TreeLevels].y[ProdBits +: ProdBits];

  // Sl, Cl, Sh, 2 Sh, 16 Sh, Ch, 2 Ch, 16 Ch.
  logic [FoldRows*FoldBits-1:0] fold0;
  assign fold0 = {
    {1'b0, s_carry[509:255], 4'b0}, {4'b0, s_carry[509:255], 1'b0}, {5'b0, s_carry[509:255]},
    {1'b0, s_sum[509:255], 4'b0},   {4'b0, s_sum[509:255], 1'b0},   {5'b0, s_sum[509:255]},
    {5'b0, s_carry[254:0]},         {5'b0, s_sum[254:0]}
  };

  for (genvar l = 1; l <= FoldLevels; l++) begin : g_fold
    localparam int unsigned NIn = vigil_fe_pkg::rows_after(FoldRows, l - 1);
    localparam int unsigned NOut = vigil_fe_pkg::rows_after(FoldRows, l);
    localparam int unsigned Groups = NIn / 3;
    localparam int unsigned Pass = NIn % 3;

    logic [NIn*FoldBits-1:0]  x;
    logic [NOut*FoldBits-1:0] y;

    if (l == 1) begin : g_in
      assign x = fold0;
    end else begin : g_in
      assign x = g_fold[l-1].y;
    end

    for (genvar g = 0; g < Groups; g++) begin : g_csa
      logic [FoldBits-1:0] u, v, w;
      assign u = x[FoldBits*(3*g) +: FoldBits];
      assign v = x[FoldBits*(3*g+1) +: FoldBits];
      assign w = x[FoldBits*(3*g+2) +: FoldBits];
      assign y[FoldBits*(2*g) +: FoldBits] = u ^ v ^ w;
      // The carry out of the top bit is always 0: the total is below 2^260.
      assign y[FoldBits*(2*g+1) +: FoldBits] = {
        (u[FoldBits-2:0] & v[FoldBits-2:0]) | (u[FoldBits-2:0] & w[FoldBits-2:0]) |
            (v[FoldBits-2:0] & w[FoldBits-2:0]),
        1'b0
      };
    end

    if (Pass != 0) begin : g_pass
      assign y[FoldBits*2*Groups +: FoldBits*Pass] = x[FoldBits*3*Groups +: FoldBits*Pass];
    end
  end

  logic [FoldBits-1:0] f_sum_q, f_carry_q;
  always_ff @(posedge clk_i) begin
    f_sum_q <= g_fold[FoldLevels].y[0 +: FoldBits];
    f_carry_q <= g_fold[FoldLevels].y[FoldBits +: FoldBits];
  end

  // ------------------------------------------------------------------------------------
  // ADD/SUB: Y in stage 2 (a + b, or a + ~b + (p - 18) = a - b + 2p), kept until stage
  // Latency - 2.

  logic [254:0]             as_b, as_k;
  logic [AsBits-1:0]        as_d;
  logic [AsBits*AsStages-1:0] as_q;
  assign as_b = sub_q ? ~b_q : b_q;
  assign as_k = sub_q ? SubBias : '0;
  assign as_d = {2'b00, a_q} + {2'b00, as_b} + {2'b00, as_k};

  always_ff @(posedge clk_i) begin
    as_q <= {as_q[AsBits*(AsStages-1)-1:0], as_d};
  end

  // ------------------------------------------------------------------------------------
  // Stage 7: Y, the multiplier's folded rows added, or ADD/SUB's Y.

  logic                mul_y;
  logic [FoldBits-1:0] y_in0, y_in1, y_q;
  assign mul_y = mul_q[Latency-3];
  assign y_in0 = mul_y ? f_sum_q : {{(FoldBits - AsBits){1'b0}}, as_q[AsBits*(AsStages-1) +: AsBits]};
  assign y_in1 = mul_y ? f_carry_q : '0;

  always_ff @(posedge clk_i) begin
    y_q <= y_in0 + y_in1;
  end

  // ------------------------------------------------------------------------------------
  // Stage 8: the canonical result. Z = Yl + 19 Yh, W = Z + 19; r = W - 2^255 if
  // W >= 2^255 (Z >= p), else Z.

  logic [4:0]   y_hi;
  logic [8:0]   m19, m19_plus;
  logic [254:0] z;
  logic [255:0] w;
  logic [254:0] r_q;
  assign y_hi = y_q[259:255];
  assign m19 = {y_hi, 4'b0} + {3'b0, y_hi, 1'b0} + {4'b0, y_hi};
  assign m19_plus = m19 + 9'd19;
  assign z = y_q[254:0] + {246'b0, m19};
  assign w = {1'b0, y_q[254:0]} + {247'b0, m19_plus};

  always_ff @(posedge clk_i) begin
    r_q <= w[255] ? w[254:0] : z;
  end

  assign out_r_o = r_q;

endmodule
