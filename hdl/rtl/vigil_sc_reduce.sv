// vigil_sc_reduce: a 512-bit integer mod L, the order of the Ed25519 base point.
//
//   in:  x, 512 bits (Ed25519's convention for a SHA-512 digest: the 64 bytes read as
//        a little-endian integer, so byte i of the digest is bits [8i +: 8])
//   out: k = x mod L, 256 bits (bits 255:253 are zero), the same little-endian layout
//        as curve25519-dalek's Scalar::to_bytes
//
// Design: iterative binary long division, BitsPerCycle bits of x per clock from the
// most significant. The remainder r < L < 2^253 is kept; each bit does r = 2r + bit,
// then r = r - L if r >= L (2r + 1 < 2L, so one conditional subtraction keeps r < L).
// BitsPerCycle such steps are chained combinationally per clock: one 254-bit compare
// and subtract each. Chosen for its size (a 512-bit shift register, a 253-bit
// remainder and BitsPerCycle subtractors, no multiplier) over Barrett reduction, which
// needs a 260 x 260-bit product; its cost is time.
//
// Cycles: an input taken at the edge that ends cycle t is on the outputs during cycle
// t + 512 / BitsPerCycle + 1 (129 with the default 4): the taking edge loads x, the next
// 512 / BitsPerCycle edges divide. One reduction at a time: in_ready_o
// is high only while idle (nothing in progress and no result waiting).
//
// fmax (not yet checked by Vivado): at the default 4 bits per clock the path is four
// 254-bit carry chains in series (32 CARRY8 each), far too long for 250 MHz; this core
// is the functional reference of the Ed25519 front end, and 1 bit per clock
// (BitsPerCycle = 1, 512 cycles) is the fmax-safe setting.
//
// Handshakes are AXI-Stream valid/ready; in_ready_o does not depend on in_valid_i; the
// output holds while out_valid_o is high and out_ready_i low.
//
// Reset: rst_ni is SYNCHRONOUS and active-low and clears the control bits only (busy,
// done); data registers have no reset.

`default_nettype none

module vigil_sc_reduce #(
  // Bits of x consumed per clock; must divide 512.
  parameter int unsigned BitsPerCycle = 4
) (
  input  wire logic         clk_i,
  input  wire logic         rst_ni,

  input  wire logic         in_valid_i,
  output      logic         in_ready_o,
  input  wire logic [511:0] in_x_i,

  output      logic         out_valid_o,
  input  wire logic         out_ready_i,
  output      logic [255:0] out_k_o
);

  localparam int unsigned Steps = 512 / BitsPerCycle;
  localparam int unsigned LastStep = Steps - 1;

  logic         busy_q, done_q;
  logic [511:0] x_q;
  logic [252:0] r_q, r_d;
  logic [8:0]   cnt_q;

  assign in_ready_o = ~busy_q & ~done_q;

  // BitsPerCycle long-division steps.
  logic [253:0] r;
  always_comb begin
    r = {1'b0, r_q};
    for (int j = 0; j < BitsPerCycle; j++) begin
      r = {r[252:0], x_q[511-j]};
      if (r >= {1'b0, vigil_sha512_pkg::L[252:0]}) begin
        r = r - {1'b0, vigil_sha512_pkg::L[252:0]};
      end
    end
    r_d = r[252:0];
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      busy_q <= 1'b0;
      done_q <= 1'b0;
    end else if (in_valid_i && in_ready_o) begin
      busy_q <= 1'b1;
    end else if (busy_q && cnt_q == LastStep[8:0]) begin
      busy_q <= 1'b0;
      done_q <= 1'b1;
    end else if (done_q && out_ready_i) begin
      done_q <= 1'b0;
    end
  end

  always_ff @(posedge clk_i) begin
    if (in_valid_i && in_ready_o) begin
      x_q <= in_x_i;
      r_q <= '0;
      cnt_q <= '0;
    end else if (busy_q) begin
      x_q <= x_q << BitsPerCycle;
      r_q <= r_d;
      cnt_q <= cnt_q + 9'd1;
    end
  end

  assign out_valid_o = done_q;
  assign out_k_o = {3'b000, r_q};

endmodule
