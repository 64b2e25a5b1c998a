// vigil_fe_addsub: a fully pipelined GF(2^255 - 19) adder, m a + b or m a - b mod p with
// m = 1 or 2: the adder unit beside the multiplier in the dual-issue verification engine.
//
//   in:  sub (0: add b, 1: subtract b), dbl (0: a, 1: 2a), a and b: ANY 255-bit values,
//        0 .. 2^255 - 1 (p .. 2^255 - 1 too, as vigil_fe_alu takes them), and a tag
//   out: r = a + b, a - b, 2a + b or 2a - b mod p, always canonical (r < p), with the tag
//
// Why it exists: the engine (vigil_ed25519_engine) issues a bundle of two instructions
// per turn, a multiplication to vigil_fe_alu and an addition, subtraction (the engine's
// ADD, SUB, DADD, DSUB), selection or negation to this unit, so a signature's turns are
// about its multiplications instead of all its field operations. vigil_fe_alu can add
// too, but it is one operation per clock and 150 DSPs; this is a few carry chains. One
// operation may enter every clock and there is no backpressure: every operation has the
// same latency vigil_fe_pkg::AddLatency = 5 (an operation taken at the rising edge that
// ends cycle t is on the outputs during cycle t + 5; out_valid_o is in_valid_i delayed
// 5 clocks, and the tag travels with it). It need not equal the multiplier's: the two
// write different register banks.
//
// The doubling: 2^255 = 19 (mod p)
// --------------------------------
// 2a = 2 (a mod 2^254) + a[254] 2^255, so with A = {a[253:0], 0} (doubled) or A = a, and
// e = dbl & a[254], m a = A + 19 e (mod p) with A < 2^255. The 19 e joins the constant
// below; everything else is the same for m = 1 and m = 2.
//
// Reduction: four candidates, the largest non-negative one
// --------------------------------------------------------
// Let u = A + 19 e + b (ADD) or A + 19 e - b (SUB). With A, b < 2^255 = p + 19, an ADD's
// u lies in [0, 2p + 57) and a SUB's in (-p - 19, p + 38). So r is one of four
// candidates v_j, j = 0..3, spaced p apart:
//   ADD: v_j = u - j p        SUB: v_j = u + (2 - j) p
// v_0 is never negative (an ADD's u >= 0; a SUB's u + 2p > p - 19 > 0), and
// v_{j+1} = v_j - p. The result is v_j for the largest j with v_j >= 0: then v_j < p,
// because either v_{j+1} = v_j - p < 0, or j = 3, which an ADD never reaches
// (u - 3p < 57 - p < 0) and a SUB only with v_3 = u - p <= 2^255 + 18 - p = 37. So the
// chosen candidate is canonical and is r; no further reduction.
// Each candidate is one 258-bit sum S_j = A + bx + C_j, with bx = b (ADD) or ~b =
// 2^255 - 1 - b (SUB: -b = ~b + 1 - 2^255) and a constant
//   ADD: C_j = 2^257 + 19 e - j p        SUB: C_j = 2^257 + 19 e + 1 - 2^255 + (2 - j) p,
// so that S_j = v_j + 2^257. Every v_j lies in (-2^257, 2^257) (|v_j| < 3p + 57), so
// 0 <= S_j < 2^258: S_j[257] is "v_j >= 0", and when v_j is the result (0 <= v_j < p)
// S_j[254:0] is v_j itself. Each sum is a carry-save step (A, bx and C_j to a sum row and
// a carry row, one LUT level) and one carry-propagate add.
//
// Pipeline (register stages; stage k is written at the k-th edge after the input)
// --------------------------------------------------------------------------------
//   1  operands a, b, sub, dbl (the engine's operand muxes end here)
//   2  A, bx, e (one LUT each): registered so that each candidate's sum bit is a
//      function of A, bx, sub and e only, not of a, b and the controls (a mux the four
//      candidates would each repeat: in Yosys 0.23, 2,985 LUTs instead of 2,568)
//   3  the low AddSplitBit = 128 bits of the four sums (four 128-bit carry chains) with
//      their carries out; A[254:127] and bx[254:127] kept for the high halves
//   4  the high 130 bits of the four sums (four 130-bit chains, the low carries in);
//      the select, j = the largest with S_j[257] set (one LUT after the chains' tops)
//   5  r: a 4:1 mux of the candidates' low 255 bits by the select
// AddLatency = 5 (vigil_fe_pkg). The engine needs Contexts >= max(AluLatency,
// AddLatency) + 3 = 11; it has 16.
//
// fmax (reasoning only, no Vivado here; VU9P-class UltraScale+, target 250 MHz): the
// 255-bit carry chains are split over stages 3 and 4 so that no stage has a chain
// longer than 130 bits (17 CARRY8, roughly 1-1.5 ns on a -2 part), behind one LUT
// level from registers; the full 257-bit chain vigil_fe_alu has in one stage (about
// 2.5-3 ns) would also fit, but this unit is cheap to pipeline and the split keeps its
// paths well inside 4 ns. Stage 2 is one LUT; stage 5 a mux whose select comes from
// registers (fanout 255, which Vivado replicates).
//
// Resources: Yosys 0.23 (`hdl/synth.sh vigil_fe_addsub`, TagWidth = 8, 2026-12-05):
// CARRY4 259 (4 x 258 sum bits), LUT2..6 509 / 512 / 517 / 758 / 272 (2,568), MUXF7
// 254 (the stage-5 mux), FDRE 3,077, SRL16E 8 (tags), LC estimate 2,059; no DSPs, no
// block RAM. Of the LUTs, 510 are A and bx and about two per candidate sum bit: Yosys
// gives the carry chain's DI input (s_i) a LUT of its own; Vivado packs s_i and the
// propagate function into one LUT6_2 wherever they share five inputs (every bit but
// the few where the constants depend on e), so expect about 1,800. The flip-flops (the
// operands twice, the low halves, the four candidates) stay within the two per LUT a
// slice has.
//
// Reset: rst_ni is SYNCHRONOUS and active-low and clears the valid bits only; data
// registers (operands, sums, tags) have no reset.

`default_nettype none

module vigil_fe_addsub #(
  // Width of the sideband tag passed through with each operation.
  parameter int unsigned TagWidth = 8
) (
  input  wire logic                clk_i,
  input  wire logic                rst_ni,

  // One operation per clock (no handshake: always accepted).
  input  wire logic                in_valid_i,
  input  wire logic                in_sub_i,   // 0: (m a) + b, 1: (m a) - b
  input  wire logic                in_dbl_i,   // 0: m = 1, 1: m = 2
  input  wire logic [254:0]        in_a_i,
  input  wire logic [254:0]        in_b_i,
  input  wire logic [TagWidth-1:0] in_tag_i,

  // Its result, AddLatency clocks later.
  output      logic                out_valid_o,
  output      logic [254:0]        out_r_o,
  output      logic [TagWidth-1:0] out_tag_o
);

  localparam int unsigned Latency = vigil_fe_pkg::AddLatency;
  // Bits of each sum added in stage 3; stage 4 adds the rest (258 - Split).
  localparam int unsigned Split = vigil_fe_pkg::AddSplitBit;
  localparam int unsigned HiBits = 258 - Split;
  localparam int unsigned Candidates = 4;
  localparam logic [257:0] PWide = {3'b000, vigil_fe_pkg::P};

  if (Latency != 5) begin : g_latency
    $error("vigil_fe_addsub: 5 register stages, but vigil_fe_pkg::AddLatency differs");
  end

  // C_j (see the header) for SUB or ADD, with e.
  function automatic logic [257:0] bias(input logic sub, input logic e,
                                        input int unsigned j);
    logic [257:0] c;
    c = (258'd1 << 257) + (e ? 258'd19 : 258'd0) - 258'(j) * PWide;
    if (sub) begin
      c = c + 258'd1 - (258'd1 << 255) + 258'(2) * PWide;
    end
    bias = c;
  endfunction

  // ------------------------------------------------------------------------------------
  // Control: valid bits (reset) and tags, shifted along the stages.

  logic [Latency-1:0]          valid_q;
  logic [TagWidth*Latency-1:0] tag_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      valid_q <= '0;
    end else begin
      valid_q <= {valid_q[Latency-2:0], in_valid_i};
    end
  end

  always_ff @(posedge clk_i) begin
    tag_q <= {tag_q[TagWidth*(Latency-1)-1:0], in_tag_i};
  end

  assign out_valid_o = valid_q[Latency-1];
  assign out_tag_o = tag_q[TagWidth*(Latency-1) +: TagWidth];

  // ------------------------------------------------------------------------------------
  // Stage 1: the operands.

  logic [254:0] a_q, b_q;
  logic         sub_q, dbl_q;
  always_ff @(posedge clk_i) begin
    a_q   <= in_a_i;
    b_q   <= in_b_i;
    sub_q <= in_sub_i;
    dbl_q <= in_dbl_i;
  end

  // ------------------------------------------------------------------------------------
  // Stage 2: A (ax_q: a, or 2a less its bit 255), bx (b or ~b), e (the 2^255 the
  // doubling dropped). Registered, so that each candidate's sum bit is one LUT of A, bx,
  // sub and e, not of a, b and all the controls (a mux the candidates would each
  // repeat).

  logic [254:0] ax_q, bx_q;
  logic         sub2_q, e_q;
  always_ff @(posedge clk_i) begin
    ax_q   <= dbl_q ? {a_q[253:0], 1'b0} : a_q;
    bx_q   <= sub_q ? ~b_q : b_q;
    sub2_q <= sub_q;
    e_q    <= dbl_q & a_q[254];
  end

  // Stage 3 keeps the operands' bits Split-1 .. 254 for the high halves (bit Split-1
  // feeds the carry row's first high bit), and the op.
  logic [255-Split:0] ax_hi_q, bx_hi_q;
  logic               sub3_q, e3_q;
  always_ff @(posedge clk_i) begin
    ax_hi_q <= ax_q[254:Split-1];
    bx_hi_q <= bx_q[254:Split-1];
    sub3_q  <= sub2_q;
    e3_q    <= e_q;
  end

  // ------------------------------------------------------------------------------------
  // Stages 3 and 4, per candidate: S_j = {C_j[257:255], s} + {c, 0}, with s and c the
  // carry-save sum and carry rows of A, bx and C_j[254:0]; the low Split bits in stage
  // 3, the rest with the low carry in stage 4.

  logic [Candidates-1:1]     nonneg;       // S_j[257], v_j >= 0 (v_0 always is)
  logic [255*Candidates-1:0] cand;         // S_j[254:0]

  for (genvar j = 0; j < Candidates; j++) begin : g_cand
    // C_j for ADD and SUB, without and with e.
    localparam logic [257:0] AddC = bias(1'b0, 1'b0, j);
    localparam logic [257:0] AddCe = bias(1'b0, 1'b1, j);
    localparam logic [257:0] SubC = bias(1'b1, 1'b0, j);
    localparam logic [257:0] SubCe = bias(1'b1, 1'b1, j);

    // Stage 3: the low half.
    logic [Split-1:0] k_lo, s_lo;
    logic [Split-2:0] c_lo;   // carry row bits 0 .. Split-2, weights 2^1 .. 2^(Split-1)
    logic [Split:0]   lo_d;
    logic [Split:0]   lo_q;   // {carry out, S_j[Split-1:0]}
    assign k_lo = sub2_q ? (e_q ? SubCe[Split-1:0] : SubC[Split-1:0])
                         : (e_q ? AddCe[Split-1:0] : AddC[Split-1:0]);
    assign s_lo = ax_q[Split-1:0] ^ bx_q[Split-1:0] ^ k_lo;
    // The carry of bit Split-1 (weight 2^Split) belongs to the high half: stage 4
    // computes it from the kept operand bits.
    assign c_lo = (ax_q[Split-2:0] & bx_q[Split-2:0]) |
                  (ax_q[Split-2:0] & k_lo[Split-2:0]) |
                  (bx_q[Split-2:0] & k_lo[Split-2:0]);
    assign lo_d = {1'b0, s_lo} + {1'b0, c_lo, 1'b0};
    always_ff @(posedge clk_i) begin
      lo_q <= lo_d;
    end

    // Stage 4: the high half, bits Split .. 257, the low carry in.
    logic [255-Split:0] k_hi;   // C_j[254:Split-1]
    logic [2:0]         k_top;  // C_j[257:255]
    logic [254:Split]   s_hi;
    logic [255-Split:0] c_hi;   // carry row bits Split-1 .. 254, weights 2^Split ..
    // S_j[257:Split]. Bits 255 and 256 are never used (the result is below 2^255, and
    // only bit 257 tells the sign), nor is candidate 0's sign (always set).
    /* verilator lint_off UNUSEDSIGNAL */
    logic [HiBits-1:0]  hi;
    /* verilator lint_on UNUSEDSIGNAL */
    assign k_hi  = sub3_q ? (e3_q ? SubCe[254:Split-1] : SubC[254:Split-1])
                          : (e3_q ? AddCe[254:Split-1] : AddC[254:Split-1]);
    assign k_top = sub3_q ? (e3_q ? SubCe[257:255] : SubC[257:255])
                          : (e3_q ? AddCe[257:255] : AddC[257:255]);
    assign s_hi = ax_hi_q[255-Split:1] ^ bx_hi_q[255-Split:1] ^ k_hi[255-Split:1];
    assign c_hi = (ax_hi_q & bx_hi_q) | (ax_hi_q & k_hi) | (bx_hi_q & k_hi);
    assign hi = {k_top, s_hi} + {1'b0, c_hi} + {{(HiBits - 1){1'b0}}, lo_q[Split]};

    assign cand[255*j +: 255] = {hi[254-Split:0], lo_q[Split-1:0]};
    if (j > 0) begin : g_sign
      assign nonneg[j] = hi[HiBits-1];
    end
  end

  // The select: the largest j with S_j >= 2^257 (j = 0 when no other).
  logic [1:0] sel_d;
  always_comb begin
    if (nonneg[3]) begin
      sel_d = 2'd3;
    end else if (nonneg[2]) begin
      sel_d = 2'd2;
    end else if (nonneg[1]) begin
      sel_d = 2'd1;
    end else begin
      sel_d = 2'd0;
    end
  end

  logic [255*Candidates-1:0] cand_q;
  logic [1:0]                sel_q;
  always_ff @(posedge clk_i) begin
    cand_q <= cand;
    sel_q  <= sel_d;
  end

  // ------------------------------------------------------------------------------------
  // Stage 5: r.

  logic [254:0] r_q;
  always_ff @(posedge clk_i) begin
    unique case (sel_q)
      2'd0:    r_q <= cand_q[0 +: 255];
      2'd1:    r_q <= cand_q[255 +: 255];
      2'd2:    r_q <= cand_q[510 +: 255];
      default: r_q <= cand_q[765 +: 255];
    endcase
  end

  assign out_r_o = r_q;

endmodule

`default_nettype wire
