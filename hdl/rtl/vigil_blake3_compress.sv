// vigil_blake3_compress: the BLAKE3 compression function, fully pipelined.
//
// One compression may enter per clock and one result leaves per clock. Every result
// keeps its input's tag (a sideband of TagWidth bits, passed through untouched), and
// results leave in the order their inputs entered.
//
//   in:  chaining value cv (8 words), message block (16 words), counter (64 bits),
//        block_len, flags (32 bits each)
//   out: the 16-word output state; words 0..7 are the new chaining value (the 32-byte
//        hash at the root), words 8..15 the rest of a root's 64-byte XOF block.
//
// Pipeline
// --------
// BLAKE3 is 7 rounds of 8 quarter-rounds G (four on the columns, then four on the
// diagonals). G on words a, b, c, d with message words x, y is two identical halves:
//
//   a = a + b + x;  d = (d ^ a) >>> 16;  c = c + d;  b = (b ^ c) >>> 12;   // first half
//   a = a + b + y;  d = (d ^ a) >>>  8;  c = c + d;  b = (b ^ c) >>>  7;   // second half
//
// There is one register stage after every half: CompressRoundStages = 4 per round x 7 =
// 28 stages, then one output stage that registers the feed-forward xor
// (out[i] = v[i] ^ v[i+8], out[i+8] = v[i+8] ^ cv[i]). Latency: CompressLatency = 29
// cycles: an input taken at the rising edge that ends cycle t is on the outputs during
// cycle t + 29. Throughput: one compression per clock.
//
// Why one stage per half-G (fmax, VU9P-class UltraScale+, 250 MHz = 4.0 ns): the
// longest path of a half runs through two 32-bit carry chains: a + b + x (one chain:
// Vivado's ternary adder, or a LUT 3:2 compressor in front of one chain), then c + d,
// whose LUTs also take the xor d ^ a, then the xor b ^ c in one LUT before the flop. A
// 32-bit chain is 4 CARRY8; with the three LUT levels and their routes this is roughly
// 2.5-3 ns on a -2 part, which leaves a margin for congestion at 4.0 ns. A whole G per
// stage (four chains, about 5 ns) would not make 250 MHz. The rotations are wiring.
//
// Cost: each stage registers the state (512 bits), the input cv for the feed-forward
// (256), the block (512, in its original word order: synthesis drops each word after
// its last use), the tag and a valid bit. The cv, tag and block just shift along, so
// synthesis packs them into SRLs: Yosys 0.23 gives about 15.6 k flip-flops, 3.3 k SRLs
// and 18.3 k LUTs (hdl/README.md), a few percent of a VU9P. Data registers have no
// reset; only the valid bits are reset.
//
// Backpressure (global enable)
// ----------------------------
// All stages advance together when `en` = out_ready_i | ~out_valid_o: the output
// register is empty or being read. When the consumer holds out_ready_i low with a
// result waiting, the whole pipeline freezes (bubbles included) and in_ready_o falls.
// This is the valid/ready contract of AXI-Stream on both sides: a transfer happens on a
// rising edge where valid and ready are both high; while out_valid_o is high and
// out_ready_i low, out_* stay unchanged. in_ready_o depends combinationally on
// out_ready_i (and on the output register), never on in_valid_i. The enable is the
// clock enable of every data flop and SRL (~19 k loads): Vivado replicates it (or give
// it a max_fanout). If that ever limits timing, the alternative is an always-advancing
// pipeline with a FIFO of CompressLatency entries after it and a credit counter at the
// producer.
//
// Reset: rst_ni is SYNCHRONOUS and active-low (the FPGA choice: Xilinx flops reset
// synchronously for free and the reset tree needs no recovery/removal timing). It
// clears the valid bits only.

`default_nettype none

module vigil_blake3_compress #(
  // Width of the sideband tag passed through with each compression.
  parameter int unsigned TagWidth = 8
) (
  input  wire logic                clk_i,
  input  wire logic                rst_ni,

  // Input: one compression, accepted on a rising edge with in_valid_i & in_ready_o.
  // Word vectors are flat, word i in bits [32i +: 32] (see vigil_blake3_pkg).
  input  wire logic                in_valid_i,
  output      logic                in_ready_o,
  input  wire logic [255:0]        in_cv_i,
  input  wire logic [511:0]        in_block_i,
  input  wire logic [63:0]         in_counter_i,
  input  wire logic [31:0]         in_block_len_i,
  input  wire logic [31:0]         in_flags_i,
  input  wire logic [TagWidth-1:0] in_tag_i,

  // Output: one result, taken on a rising edge with out_valid_o & out_ready_i.
  output      logic                out_valid_o,
  input  wire logic                out_ready_i,
  output      logic [511:0]        out_state_o,
  output      logic [TagWidth-1:0] out_tag_o
);

  localparam int unsigned Stages = vigil_blake3_pkg::CompressRoundStages;

  // The output stage's registers.
  logic [511:0]        out_state_d, out_state_q;
  logic [TagWidth-1:0] out_tag_q;
  logic                out_valid_q;

  // The global enable: every register advances when the output register is empty or
  // being taken.
  logic en;
  assign en = out_ready_i | ~out_valid_q;
  assign in_ready_o = en;

  // The initial state: cv, IV words 0..3, counter low and high, block_len, flags.
  logic [511:0] state_init;
  assign state_init = {in_flags_i, in_block_len_i, in_counter_i[63:32], in_counter_i[31:0],
                       vigil_blake3_pkg::Iv[127:0], in_cv_i};

  // ------------------------------------------------------------------------------------
  // The round stages. Stage s registers the state after s + 1 half-G steps, with the
  // input's cv (for the feed-forward), tag and valid bit, and the block (original word
  // order) for the stages after it.

  for (genvar s = 0; s < Stages; s++) begin : g_stage
    // Stage s is the `Second`-th half of the G step `Diag` (0: columns, 1: diagonals)
    // of round `Round`.
    localparam int unsigned Round = s / 4;
    localparam int unsigned Diag = (s / 2) % 2;
    localparam int unsigned Second = s % 2;
    localparam int unsigned RotD = (Second == 0) ? 16 : 8;
    localparam int unsigned RotB = (Second == 0) ? 12 : 7;

    // This stage's inputs: the module's inputs, or the previous stage's registers. v is
    // the state it works on; the others pass through it to its registers.
    logic [511:0]          v;
    // The last stage's G's read 4 of the block's words and it has no block register, so
    // the rest of its block_d is unused (earlier stages register all of it).
    /* verilator lint_off UNUSEDSIGNAL */
    logic [511:0]          block_d;
    /* verilator lint_on UNUSEDSIGNAL */
    logic [255:0]          cv_d;
    logic [TagWidth-1:0]   tag_d;
    logic                  valid_d;

    logic [511:0]          state_d, state_q;
    logic [255:0]          cv_q;
    logic [TagWidth-1:0]   tag_q;
    logic                  valid_q;

    if (s == 0) begin : g_in
      assign v = state_init;
      assign block_d = in_block_i;
      assign cv_d = in_cv_i;
      assign tag_d = in_tag_i;
      assign valid_d = in_valid_i;
    end else begin : g_in
      assign v = g_stage[s-1].state_q;
      assign block_d = g_stage[s-1].g_block.block_q;
      assign cv_d = g_stage[s-1].cv_q;
      assign tag_d = g_stage[s-1].tag_q;
      assign valid_d = g_stage[s-1].valid_q;
    end

    for (genvar g = 0; g < 4; g++) begin : g_quarter
      // G g of this step works on words A, B, C, D (column g, or the diagonal that
      // starts at column g) with word MsgIdx of the original block.
      localparam int unsigned A = g;
      localparam int unsigned B = 4 + (g + Diag) % 4;
      localparam int unsigned C = 8 + (g + 2 * Diag) % 4;
      localparam int unsigned D = 12 + (g + 3 * Diag) % 4;
      localparam int unsigned MsgIdx =
          vigil_blake3_pkg::msg_schedule(Round, 8 * Diag + 2 * g + Second);

      logic [31:0] a, b, c, d;
      always_comb begin
        a = v[32*A +: 32] + v[32*B +: 32] + block_d[32*MsgIdx +: 32];
        d = vigil_blake3_pkg::rotr32(v[32*D +: 32] ^ a, RotD);
        c = v[32*C +: 32] + d;
        b = vigil_blake3_pkg::rotr32(v[32*B +: 32] ^ c, RotB);
      end

      assign state_d[32*A +: 32] = a;
      assign state_d[32*B +: 32] = b;
      assign state_d[32*C +: 32] = c;
      assign state_d[32*D +: 32] = d;
    end

    always_ff @(posedge clk_i) begin
      if (!rst_ni) begin
        valid_q <= 1'b0;
      end else if (en) begin
        valid_q <= valid_d;
      end
    end

    always_ff @(posedge clk_i) begin
      if (en) begin
        state_q <= state_d;
        cv_q <= cv_d;
        tag_q <= tag_d;
      end
    end

    // The last stage has no later stage to pass the block to.
    if (s < Stages - 1) begin : g_block
      logic [511:0] block_q;
      always_ff @(posedge clk_i) begin
        if (en) begin
          block_q <= block_d;
        end
      end
    end
  end

  // ------------------------------------------------------------------------------------
  // The output stage: the feed-forward.

  logic [511:0] v_last;
  logic [255:0] cv_last;
  assign v_last = g_stage[Stages-1].state_q;
  assign cv_last = g_stage[Stages-1].cv_q;
  assign out_state_d = {v_last[511:256] ^ cv_last, v_last[255:0] ^ v_last[511:256]};

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      out_valid_q <= 1'b0;
    end else if (en) begin
      out_valid_q <= g_stage[Stages-1].valid_q;
    end
  end

  always_ff @(posedge clk_i) begin
    if (en) begin
      out_state_q <= out_state_d;
      out_tag_q <= g_stage[Stages-1].tag_q;
    end
  end

  assign out_valid_o = out_valid_q;
  assign out_state_o = out_state_q;
  assign out_tag_o = out_tag_q;

endmodule
