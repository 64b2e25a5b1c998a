// vigil_sha512_core: SHA-512 of a streamed message, and the digest reduced mod L.
//
// The front end of Ed25519 verification: given R || A || M it produces the digest and
// k = SHA-512(R || A || M) mod L (vigil_sc_reduce), with the message's tag.
//
//   in:  the message as 64-bit words, byte i of a word in bits [8i +: 8] (message byte
//        8w + i of word w); in_last_i marks the final word, whose in_bytes_i (0..8;
//        above 8 reads as 8) says how many of its bytes are message. Every word before
//        the final one is 8 bytes (in_bytes_i is ignored there). The empty message is
//        one word with in_last_i = 1, in_bytes_i = 0. in_tag_i is sampled with the final
//        word. Lengths up to 2^61 - 1 bytes.
//   out: out_digest_o, the 64-byte SHA-512 digest, byte i in bits [8i +: 8] (so, read
//        as an integer, the digest's little-endian value); out_k_o, that value mod L
//        (256 bits, little-endian, as curve25519-dalek's Scalar::to_bytes); out_tag_o.
//
// Design: iterative, one message at a time.
// - Load: each accepted word is byte-swapped into SHA-512's big-endian word and
//   written into a 16-word block register; the final word is masked to its bytes and
//   gets the 0x80 pad byte after them (or the pad byte is left pending when the word
//   is full). 16 words fill a block.
// - Pad (one clock, after the final word): the block's remaining words are cleared, the
//   pending 0x80 is placed, and when the 128-bit length fits (the 0x80 byte in word
//   13 or before) the bit length goes into words 14 and 15, making this the final
//   block; otherwise another padding block follows the compression.
// - Rounds: one SHA-512 round per clock, 80 clocks. The block register is the message
//   schedule's 16-word window: word 0 is W_t, and each round shifts in W_t+16.
// - Add: one clock for the feed-forward H += (a..h).
// - Reduce: the digest goes to vigil_sc_reduce (512 / ReduceBitsPerCycle clocks); the
//   result is held on the outputs until taken, then the core starts the next message.
//
// Cycles (a streaming source, an always-ready sink): 16 (load) + 80 + 1 = 97 per
// 128-byte block, plus 1 (init) per message, 1 (pad) per message, 97 - 16 = 81 for an
// extra padding block (a final block with more than 111 message bytes), and 2 +
// 512 / ReduceBitsPerCycle for the handoff, reduction and output.
// hdl/tb/vigil_sha512_core.rs measures them; hdl/README.md has the figures.
//
// fmax (not yet checked by Vivado): a round's critical path is T1 = h + S1(e) + Ch +
// K_t + W_t then a = T1 + T2, five 64-bit operands into carry-save adders and two
// carry chains; the usual FPGA figure for a one-round-per-clock SHA-512 is 150-250
// MHz. The reducer's default (4 bits per clock) is slower; see vigil_sc_reduce.
//
// Handshakes are AXI-Stream valid/ready; in_ready_o does not depend on in_valid_i;
// outputs hold while out_valid_o is high and out_ready_i low.
//
// Reset: rst_ni is SYNCHRONOUS and active-low and clears the control state only (the
// state machine, here and in the reducer); data registers have no reset.

`default_nettype none

module vigil_sha512_core #(
  // Width of the sideband tag passed through with each message.
  parameter int unsigned TagWidth = 8,
  // vigil_sc_reduce's BitsPerCycle.
  parameter int unsigned ReduceBitsPerCycle = 4
) (
  input  wire logic                clk_i,
  input  wire logic                rst_ni,

  // Input: one message word, accepted on a rising edge with in_valid_i & in_ready_o.
  input  wire logic                in_valid_i,
  output      logic                in_ready_o,
  input  wire logic [63:0]         in_data_i,
  input  wire logic                in_last_i,
  input  wire logic [3:0]          in_bytes_i,
  input  wire logic [TagWidth-1:0] in_tag_i,

  // Output: one message's result, taken on a rising edge with out_valid_o & out_ready_i.
  output      logic                out_valid_o,
  input  wire logic                out_ready_i,
  output      logic [511:0]        out_digest_o,
  output      logic [255:0]        out_k_o,
  output      logic [TagWidth-1:0] out_tag_o
);

  localparam int unsigned LastRound = vigil_sha512_pkg::Rounds - 1;

  localparam logic [2:0] StInit   = 3'd0;
  localparam logic [2:0] StLoad   = 3'd1;
  localparam logic [2:0] StPad    = 3'd2;
  localparam logic [2:0] StRound  = 3'd3;
  localparam logic [2:0] StAdd    = 3'd4;
  localparam logic [2:0] StReduce = 3'd5;
  localparam logic [2:0] StOut    = 3'd6;

  logic [2:0]          st_d, st_q;
  logic [1023:0]       w_d, w_q;       // block / schedule window, word i in [64i +: 64]
  logic [511:0]        h_d, h_q;       // H0..H7, word i = H_i
  logic [511:0]        v_d, v_q;       // a..h, word 0 = a
  logic [3:0]          widx_d, widx_q; // next word of the block to load
  logic [6:0]          t_d, t_q;       // round
  logic [63:0]         len_d, len_q;   // message bytes so far
  logic                fin_d, fin_q;   // the final word has been taken
  logic                pad_d, pad_q;   // the 0x80 byte is still to be placed at widx
  logic                last_d, last_q; // the block in the rounds is the message's last
  logic [TagWidth-1:0] tag_d, tag_q;

  logic red_in_valid, red_in_ready;

  // ------------------------------------------------------------------------------------
  // The final word: its bytes, the 0x80 pad byte after them, zeros.

  logic [3:0]  nbytes;
  logic [63:0] final_word;
  assign nbytes = (in_bytes_i > 4'd8) ? 4'd8 : in_bytes_i;
  always_comb begin
    logic [3:0] bi;
    for (int b = 0; b < 8; b++) begin
      bi = b[3:0];
      if (bi < nbytes) begin
        final_word[8*b +: 8] = in_data_i[8*b +: 8];
      end else if (bi == nbytes) begin
        final_word[8*b +: 8] = 8'h80;
      end else begin
        final_word[8*b +: 8] = 8'h00;
      end
    end
  end

  // ------------------------------------------------------------------------------------
  // One round and one schedule step.

  logic [63:0] a, b, c, d, e, f, g, h, k_t, w_t, t1, t2, w_new;
  assign a = v_q[0 +: 64];
  assign b = v_q[64 +: 64];
  assign c = v_q[128 +: 64];
  assign d = v_q[192 +: 64];
  assign e = v_q[256 +: 64];
  assign f = v_q[320 +: 64];
  assign g = v_q[384 +: 64];
  assign h = v_q[448 +: 64];
  assign k_t = vigil_sha512_pkg::K[64*t_q +: 64];
  assign w_t = w_q[0 +: 64];
  assign t1 = h
      + (vigil_sha512_pkg::rotr64(e, 14) ^ vigil_sha512_pkg::rotr64(e, 18)
         ^ vigil_sha512_pkg::rotr64(e, 41))
      + ((e & f) ^ (~e & g)) + k_t + w_t;
  assign t2 = (vigil_sha512_pkg::rotr64(a, 28) ^ vigil_sha512_pkg::rotr64(a, 34)
               ^ vigil_sha512_pkg::rotr64(a, 39))
      + ((a & b) ^ (a & c) ^ (b & c));
  assign w_new = (vigil_sha512_pkg::rotr64(w_q[64*14 +: 64], 19)
                  ^ vigil_sha512_pkg::rotr64(w_q[64*14 +: 64], 61) ^ (w_q[64*14 +: 64] >> 6))
      + w_q[64*9 +: 64]
      + (vigil_sha512_pkg::rotr64(w_q[64*1 +: 64], 1)
         ^ vigil_sha512_pkg::rotr64(w_q[64*1 +: 64], 8) ^ (w_q[64*1 +: 64] >> 7))
      + w_t;

  // ------------------------------------------------------------------------------------
  // The state machine.

  always_comb begin
    st_d = st_q;
    w_d = w_q;
    h_d = h_q;
    v_d = v_q;
    widx_d = widx_q;
    t_d = t_q;
    len_d = len_q;
    fin_d = fin_q;
    pad_d = pad_q;
    last_d = last_q;
    tag_d = tag_q;
    in_ready_o = 1'b0;
    red_in_valid = 1'b0;
    unique case (st_q)
      StInit: begin
        h_d = vigil_sha512_pkg::Iv;
        widx_d = 4'd0;
        len_d = 64'd0;
        fin_d = 1'b0;
        pad_d = 1'b0;
        st_d = StLoad;
      end
      StLoad: begin
        in_ready_o = 1'b1;
        if (in_valid_i) begin
          widx_d = widx_q + 4'd1;
          if (in_last_i) begin
            w_d[64*widx_q +: 64] = vigil_sha512_pkg::bswap64(final_word);
            len_d = len_q + {60'd0, nbytes};
            fin_d = 1'b1;
            pad_d = (nbytes == 4'd8);
            tag_d = in_tag_i;
            st_d = StPad;
          end else begin
            w_d[64*widx_q +: 64] = vigil_sha512_pkg::bswap64(in_data_i);
            len_d = len_q + 64'd8;
          end
          if (widx_q == 4'd15) begin
            // The block is full.
            last_d = 1'b0;
            t_d = 7'd0;
            v_d = h_q;
            st_d = StRound;
          end
        end
      end
      StPad: begin
        for (int i = 0; i < 16; i++) begin
          if (i[3:0] >= widx_q) begin
            w_d[64*i +: 64] = 64'd0;
          end
        end
        if (pad_q) begin
          w_d[64*widx_q +: 64] = 64'h8000_0000_0000_0000;
        end
        pad_d = 1'b0;
        if (pad_q ? (widx_q <= 4'd13) : (widx_q <= 4'd14)) begin
          w_d[64*14 +: 64] = {61'd0, len_q[63:61]};
          w_d[64*15 +: 64] = {len_q[60:0], 3'b000};
          last_d = 1'b1;
        end else begin
          last_d = 1'b0;
        end
        widx_d = 4'd0;
        t_d = 7'd0;
        v_d = h_q;
        st_d = StRound;
      end
      StRound: begin
        v_d = {g, f, e, d + t1, c, b, a, t1 + t2};
        w_d = {w_new, w_q[1023:64]};
        t_d = t_q + 7'd1;
        if (t_q == LastRound[6:0]) begin
          st_d = StAdd;
        end
      end
      StAdd: begin
        for (int i = 0; i < 8; i++) begin
          h_d[64*i +: 64] = h_q[64*i +: 64] + v_q[64*i +: 64];
        end
        if (last_q) begin
          st_d = StReduce;
        end else if (fin_q) begin
          st_d = StPad;
        end else begin
          st_d = StLoad;
        end
      end
      StReduce: begin
        red_in_valid = 1'b1;
        if (red_in_ready) begin
          st_d = StOut;
        end
      end
      StOut: begin
        if (out_valid_o && out_ready_i) begin
          st_d = StInit;
        end
      end
      default: begin
        st_d = StInit;
      end
    endcase
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      st_q <= StInit;
    end else begin
      st_q <= st_d;
    end
  end

  always_ff @(posedge clk_i) begin
    w_q <= w_d;
    h_q <= h_d;
    v_q <= v_d;
    widx_q <= widx_d;
    t_q <= t_d;
    len_q <= len_d;
    fin_q <= fin_d;
    pad_q <= pad_d;
    last_q <= last_d;
    tag_q <= tag_d;
  end

  // ------------------------------------------------------------------------------------
  // The digest (little-endian bytes), its reduction, the outputs.

  logic [511:0] digest;
  for (genvar i = 0; i < 8; i++) begin : g_digest
    assign digest[64*i +: 64] = vigil_sha512_pkg::bswap64(h_q[64*i +: 64]);
  end

  logic red_out_valid;
  vigil_sc_reduce #(
    .BitsPerCycle(ReduceBitsPerCycle)
  ) u_reduce (
    .clk_i,
    .rst_ni,
    .in_valid_i (red_in_valid),
    .in_ready_o (red_in_ready),
    .in_x_i     (digest),
    .out_valid_o(red_out_valid),
    .out_ready_i(out_ready_i && st_q == StOut),
    .out_k_o
  );

  assign out_valid_o = red_out_valid && st_q == StOut;
  assign out_digest_o = digest;
  assign out_tag_o = tag_q;

endmodule
