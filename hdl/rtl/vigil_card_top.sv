// vigil_card_top: the card's platform: registers, request and response streams, engines.
//
// The host sees two things (hdl/regmap.json has every detail; hdl/README.md the tables):
// - AXI-Lite registers (32-bit, 4 KiB window): identity, version and build hash first,
//   then capabilities and limits, control, status, the last error and the counters. On
//   a real card they sit behind the XDMA core's user BAR (/dev/xdma<N>_user).
// - AXI-Stream request and response streams of 64-bit words (the XDMA H2C and C2H
//   channels). A request frame is header word 0 (opcode, tag), word 1 (count or length)
//   and the payload; a response frame is a header (opcode, status, payload words, tag)
//   and the payload (a 32-byte root, or a 64-byte digest and k). tlast ends a frame.
//
// Engines and out-of-order completion
// -----------------------------------
// The dispatcher reads a request's header, then hands the rest of the frame to its
// engine: vigil_merkle_engine (MERKLE_ROOT, MERKLE_NODES) or one of the Sha512Cores
// vigil_sha512_core instances (SHA512_K, and VERIFY's front end). Each of them holds
// one request, and they run at once, so a short SHA512_K sent after a large MERKLE_ROOT
// is answered first: responses come back in completion order and the host matches them
// by tag. SHA-512 messages (SHA512_K and VERIFY alike) go to the cores in turn, the
// next core after each message's final word; a message whose core still holds an
// earlier one waits for it.
//
// VERIFY: the dispatcher keeps S, streams R || A || message into a SHA-512 core
// (keeping R and A as they pass), and the core's result, k with S, R, A, the profile
// and the tag in its sideband, goes on to one of the VerifyEngines
// vigil_ed25519_engine instances, each holding VerifyContexts signatures at once and
// answering each with a one-word verdict. The handoff moves one signature per clock at
// most, from the cores that hold one, in turn, to an engine whose context of this clock
// is idle, in turn (a core finishes one every few hundred clocks, an engine takes one
// whenever a context is idle, so one handoff per clock is never the bound). A core is
// free for the next request as soon as an engine takes its result, so hashing overlaps
// verification. Sha512Cores cores keep VerifyEngines engines fed when a core hashes
// R || A || M faster than the engines verify: one core hashes a 296-byte input in
// about 410 clocks and a 1,232-byte one in about 1,100 (10 blocks), while a full engine
// finishes one signature every vigil_ed25519_pkg::IssuesPerSignature clocks (3,547 for
// the dual-issue program as generated on 2026-12-05), so one core could feed about 8
// engines at 296 bytes and 3 at 1,232 (hdl/README.md has the measurements). Multi-signer
// transactions are combined on the host: the card verifies signatures, one request
// each. A request whose engine still holds an earlier one waits in the stream
// (backpressure), which is also how the host is slowed down when it sends faster than
// the engines work.
//
// Errors never lose sync: the dispatcher answers a request it cannot route (unknown
// opcode, reserved header bits set, card disabled, a frame that ends at its header)
// itself, discarding the rest of the frame up to tlast; the SHA-512 path checks the
// message length against the frame (FRAME_SHORT, FRAME_LONG, TOO_LONG) and the Merkle
// engine checks its own frames. Every request gets exactly one response.
//
// Responses
// ---------
// Each source (the dispatcher's errors, the Merkle engine, each SHA-512 core, each
// verification engine) holds at most one finished result. A round-robin arbiter over
// the 2 + Sha512Cores + VerifyEngines sources copies one into the output shift
// register (header and up to 12 payload words) and frees its source at once, so an
// engine starts its next request while the host reads the previous answer. The output
// holds still while the host does not take it (AXI-Stream: out_* stable while
// out_valid_o & ~out_ready_i), and that backpressure reaches the engines, then the
// request stream.
//
// The SHA-512 core carries {status, tag} in its tag sideband: the status of a message
// (OK, or the framing error found when its final word went in) leaves with its digest.
//
// Registers
// ---------
// AXI-Lite writes take the address and data channels together (a slave may wait for
// both); reads take one cycle. Unmapped reads return 0; writes to read-only or unmapped
// offsets are ignored; responses are always OKAY. The 64-bit counters are read LO then
// HI: reading a _LO register latches its _HI half, so the pair is consistent.
//
// Reset: rst_ni is synchronous and active-low, like the engines'.

`default_nettype none

module vigil_card_top #(
  parameter int unsigned MaxLeaves       = 4096,
  parameter int unsigned MaxLeafBytes    = 65536,
  // SHA512_K messages; VERIFY messages may be 64 bytes shorter (64 KiB).
  parameter int unsigned MaxMessageBytes = 65600,
  // Signatures each verification engine holds at once (vigil_ed25519_engine Contexts).
  parameter int unsigned VerifyContexts  = 16,
  // Ed25519 verification engines (1..255; VERIFY_SLOTS.ENGINES).
  parameter int unsigned VerifyEngines   = 1,
  // SHA-512 cores: SHA512_K, and VERIFY's front end (1..255; VERIFY_SLOTS.SHA512_CORES).
  parameter int unsigned Sha512Cores     = 1,
  // The source hash the card was built from (BUILD_HASH_LO/HI).
  parameter logic [63:0] BuildHash       = 64'h0
) (
  input  wire logic        clk_i,
  input  wire logic        rst_ni,

  // AXI-Lite slave.
  input  wire logic        s_axil_awvalid_i,
  output      logic        s_axil_awready_o,
  input  wire logic [11:0] s_axil_awaddr_i,
  input  wire logic        s_axil_wvalid_i,
  output      logic        s_axil_wready_o,
  input  wire logic [31:0] s_axil_wdata_i,
  input  wire logic [3:0]  s_axil_wstrb_i,
  output      logic        s_axil_bvalid_o,
  input  wire logic        s_axil_bready_i,
  output      logic [1:0]  s_axil_bresp_o,
  input  wire logic        s_axil_arvalid_i,
  output      logic        s_axil_arready_o,
  input  wire logic [11:0] s_axil_araddr_i,
  output      logic        s_axil_rvalid_o,
  input  wire logic        s_axil_rready_i,
  output      logic [31:0] s_axil_rdata_o,
  output      logic [1:0]  s_axil_rresp_o,

  // Request stream (AXI-Stream slave).
  input  wire logic        in_valid_i,
  output      logic        in_ready_o,
  input  wire logic [63:0] in_data_i,
  input  wire logic        in_last_i,

  // Response stream (AXI-Stream master).
  output      logic        out_valid_o,
  input  wire logic        out_ready_i,
  output      logic [63:0] out_data_o,
  output      logic        out_last_o
);

  if (VerifyEngines < 1 || VerifyEngines > 255) begin : g_bad_engines
    $error("vigil_card_top: VerifyEngines must be 1..255");
  end
  if (Sha512Cores < 1 || Sha512Cores > 255) begin : g_bad_cores
    $error("vigil_card_top: Sha512Cores must be 1..255");
  end

  localparam int unsigned ShSelBits = (Sha512Cores > 1) ? $clog2(Sha512Cores) : 1;
  localparam int unsigned VfSelBits = (VerifyEngines > 1) ? $clog2(VerifyEngines) : 1;
  // Response sources: 0 errors, 1 Merkle, 2 .. 2+C-1 the SHA-512 cores, then the
  // verification engines.
  localparam int unsigned SrcSha = 2;
  localparam int unsigned SrcVf = 2 + Sha512Cores;
  localparam int unsigned Sources = 2 + Sha512Cores + VerifyEngines;
  localparam int unsigned SrcBits = $clog2(Sources);

  // ------------------------------------------------------------------------------------
  // Control register (written below, used everywhere).

  logic enable_q, clear_q;

  // ------------------------------------------------------------------------------------
  // Dispatcher.

  localparam logic [3:0] StHeader     = 4'd0;  // take word 0
  localparam logic [3:0] StMerkleWait = 4'd1;  // the Merkle engine still holds a request
  localparam logic [3:0] StMerkle     = 4'd2;  // forward the frame to the Merkle engine
  localparam logic [3:0] StShaLen     = 4'd3;  // take word 1 of SHA512_K
  localparam logic [3:0] StShaData    = 4'd4;  // forward the message to the SHA-512 core
  localparam logic [3:0] StShaEmpty   = 4'd5;  // give the core the empty message
  localparam logic [3:0] StError      = 4'd6;  // post an error response
  localparam logic [3:0] StDrain      = 4'd7;  // discard up to tlast
  localparam logic [3:0] StVerifyLen  = 4'd8;  // take word 1 of VERIFY
  localparam logic [3:0] StVerifyS    = 4'd9;  // take S (words 2-5 of VERIFY)

  logic [3:0]  st_d, st_q;
  logic [7:0]  op_d, op_q;
  logic [31:0] tag_d, tag_q;
  logic [7:0]  err_status_d, err_status_q;
  logic        err_drain_d, err_drain_q;   // after posting the error, discard to tlast
  logic [31:0] sha_len_d, sha_len_q;       // message bytes
  logic [29:0] sha_left_d, sha_left_q;     // message words still to forward
  // VERIFY: its profile, S, and R || A as they stream into the SHA-512 core.
  logic [1:0]   vprof_d, vprof_q;
  logic [255:0] vs_d, vs_q;
  logic [1:0]   vs_cnt_d, vs_cnt_q;        // S words taken
  logic [511:0] vra_d, vra_q, vra_next;
  logic [3:0]   vra_cnt_d, vra_cnt_q;      // R || A words taken (up to 8)

  // Error response slot.
  logic        errv_q;
  logic [7:0]  erro_q, errs_q;
  logic [31:0] errt_q;
  logic        err_post, err_take;

  // Merkle engine.
  logic         mk_in_valid, mk_in_ready, mk_out_valid, mk_out_ready, mk_busy, mk_compress;
  logic [255:0] mk_root;
  logic [7:0]   mk_status;
  logic [31:0]  mk_tag_q;
  logic [7:0]   mk_op_q;
  logic         mk_start;

  // SHA-512 cores. The dispatcher feeds core sh_sel_q (the sh_in_* signals, shared);
  // the sh_out_* signals are per core.
  logic         sh_in_valid, sh_in_ready, sh_in_last;
  logic [ShSelBits-1:0] sh_sel_q;
  logic [Sha512Cores-1:0] sh_in_ready_c, sh_out_valid, sh_out_ready;
  logic [63:0]  sh_in_data;
  logic [3:0]   sh_in_bytes;
  // The core's tag sideband: {VERIFY, profile, S, R || A, status, tag}. A VERIFY
  // request's S, R and A leave the core with its k, so the dispatcher can take the next
  // request while the core still works on this one.
  localparam int unsigned ShTagWidth = 1 + 2 + 256 + 512 + 8 + 32;
  logic [ShTagWidth-1:0] sh_in_tag;
  logic [ShTagWidth-1:0] sh_out_tag [Sha512Cores];
  logic [Sha512Cores-1:0] sh_out_verify, sh_out_to_engine;
  // The VERIFY part of the sideband: {VERIFY, profile, S, R || A} (R || A with the word
  // being taken, when the message's final word is one of them).
  logic [ShTagWidth-41:0] sh_verify_side;
  logic [7:0]   sh_out_status [Sha512Cores];
  logic [511:0] sh_digest [Sha512Cores];
  logic [255:0] sh_k [Sha512Cores];
  logic [Sha512Cores-1:0] sh_held_q;       // a message is in the core (for STATUS)

  logic [7:0]  hdr_op;
  logic        hdr_reserved;
  logic        in_fire;
  assign hdr_op = in_data_i[vigil_card_regs_pkg::ReqOpcodeLsb +: 8];
  assign hdr_reserved = |in_data_i[31:8];
  assign in_fire = in_valid_i & in_ready_o;

  // The final word of the SHA-512 message and its status.
  logic       sh_word_final;
  logic [7:0] sh_word_status;
  assign sh_word_final = (sha_left_q == 30'd1) | in_last_i;
  always_comb begin
    if (sha_left_q != 30'd1) begin
      sh_word_status = vigil_card_regs_pkg::StatusFrameShort;
    end else if (!in_last_i) begin
      sh_word_status = vigil_card_regs_pkg::StatusFrameLong;
    end else begin
      sh_word_status = vigil_card_regs_pkg::StatusOk;
    end
  end

  always_comb begin
    st_d = st_q;
    op_d = op_q;
    tag_d = tag_q;
    err_status_d = err_status_q;
    err_drain_d = err_drain_q;
    sha_len_d = sha_len_q;
    sha_left_d = sha_left_q;
    in_ready_o = 1'b0;
    err_post = 1'b0;
    mk_in_valid = 1'b0;
    mk_start = 1'b0;
    sh_in_valid = 1'b0;
    sh_in_data = in_data_i;
    sh_in_last = 1'b0;
    sh_in_bytes = 4'd8;
    sh_in_tag = {sh_verify_side, vigil_card_regs_pkg::StatusOk, tag_q};
    vprof_d = vprof_q;
    vs_d = vs_q;
    vs_cnt_d = vs_cnt_q;
    vra_d = vra_q;
    vra_cnt_d = vra_cnt_q;

    unique case (st_q)
      StHeader: begin
        in_ready_o = 1'b1;
        if (in_valid_i) begin
          op_d = hdr_op;
          tag_d = in_data_i[vigil_card_regs_pkg::ReqTagLsb +: 32];
          err_drain_d = ~in_last_i;
          st_d = StError;
          if (!enable_q) begin
            err_status_d = vigil_card_regs_pkg::StatusDisabled;
          end else if (hdr_reserved) begin
            err_status_d = vigil_card_regs_pkg::StatusBadHeader;
          end else if (hdr_op == vigil_card_regs_pkg::OpcodeMerkleRoot
                       || hdr_op == vigil_card_regs_pkg::OpcodeMerkleNodes) begin
            if (in_last_i) begin
              err_status_d = vigil_card_regs_pkg::StatusFrameShort;
            end else begin
              st_d = StMerkleWait;
            end
          end else if (hdr_op == vigil_card_regs_pkg::OpcodeSha512K) begin
            if (in_last_i) begin
              err_status_d = vigil_card_regs_pkg::StatusFrameShort;
            end else begin
              st_d = StShaLen;
            end
          end else if (hdr_op == vigil_card_regs_pkg::OpcodeVerify) begin
            if (in_last_i) begin
              err_status_d = vigil_card_regs_pkg::StatusFrameShort;
            end else begin
              st_d = StVerifyLen;
            end
          end else begin
            err_status_d = vigil_card_regs_pkg::StatusBadOpcode;
          end
        end
      end

      StMerkleWait: begin
        if (!mk_busy) begin
          mk_start = 1'b1;
          st_d = StMerkle;
        end
      end

      StMerkle: begin
        mk_in_valid = in_valid_i;
        in_ready_o = mk_in_ready;
        if (in_fire && in_last_i) begin
          st_d = StHeader;
        end
      end

      StShaLen: begin
        in_ready_o = 1'b1;
        if (in_valid_i) begin
          sha_len_d = in_data_i[31:0];
          sha_left_d = 30'((33'(in_data_i[31:0]) + 33'd7) >> 3);
          err_drain_d = ~in_last_i;
          st_d = StError;
          if (in_data_i[63:32] != 32'd0) begin
            err_status_d = vigil_card_regs_pkg::StatusBadHeader;
          end else if (in_data_i[31:0] > 32'(MaxMessageBytes)) begin
            err_status_d = vigil_card_regs_pkg::StatusTooLong;
          end else if (in_data_i[31:0] == 32'd0) begin
            if (in_last_i) begin
              st_d = StShaEmpty;
            end else begin
              err_status_d = vigil_card_regs_pkg::StatusFrameLong;
            end
          end else if (in_last_i) begin
            err_status_d = vigil_card_regs_pkg::StatusFrameShort;
          end else begin
            st_d = StShaData;
          end
        end
      end

      StVerifyLen: begin
        in_ready_o = 1'b1;
        if (in_valid_i) begin
          // R || A || message goes to the SHA-512 core.
          sha_len_d = in_data_i[31:0] + 32'd64;
          sha_left_d = 30'((33'(in_data_i[31:0]) + 33'd71) >> 3);
          vprof_d = in_data_i[33:32];
          vs_cnt_d = 2'd0;
          vra_cnt_d = 4'd0;
          err_drain_d = ~in_last_i;
          st_d = StError;
          if (in_data_i[63:40] != 24'd0) begin
            err_status_d = vigil_card_regs_pkg::StatusBadHeader;
          end else if (in_data_i[39:32] > 8'd2) begin
            err_status_d = vigil_card_regs_pkg::StatusBadProfile;
          end else if (in_data_i[31:0] > 32'(MaxMessageBytes - 64)) begin
            err_status_d = vigil_card_regs_pkg::StatusTooLong;
          end else if (in_last_i) begin
            err_status_d = vigil_card_regs_pkg::StatusFrameShort;
          end else begin
            st_d = StVerifyS;
          end
        end
      end

      StVerifyS: begin
        in_ready_o = 1'b1;
        if (in_valid_i) begin
          vs_d = {in_data_i, vs_q[255:64]};
          vs_cnt_d = vs_cnt_q + 2'd1;
          if (in_last_i) begin
            err_status_d = vigil_card_regs_pkg::StatusFrameShort;
            err_drain_d = 1'b0;
            st_d = StError;
          end else if (vs_cnt_q == 2'd3) begin
            st_d = StShaData;
          end
        end
      end

      StShaData: begin
        sh_in_valid = in_valid_i;
        in_ready_o = sh_in_ready;
        sh_in_last = sh_word_final;
        sh_in_bytes = (sha_left_q == 30'd1) ? {1'b0, 3'(sha_len_q - 32'd1)} + 4'd1 : 4'd8;
        sh_in_tag = {sh_verify_side, sh_word_status, tag_q};
        if (in_fire && vra_cnt_q < 4'd8) begin
          vra_d = vra_next;
          vra_cnt_d = vra_cnt_q + 4'd1;
        end
        if (in_fire) begin
          sha_left_d = sha_left_q - 30'd1;
          if (sh_word_final) begin
            // A frame longer than its message is discarded to tlast.
            st_d = in_last_i ? StHeader : StDrain;
          end
        end
      end

      StShaEmpty: begin
        sh_in_valid = 1'b1;
        sh_in_data = 64'd0;
        sh_in_last = 1'b1;
        sh_in_bytes = 4'd0;
        if (sh_in_ready) begin
          st_d = StHeader;
        end
      end

      StError: begin
        if (!errv_q) begin
          err_post = 1'b1;
          st_d = err_drain_q ? StDrain : StHeader;
        end
      end

      StDrain: begin
        in_ready_o = 1'b1;
        if (in_valid_i && in_last_i) begin
          st_d = StHeader;
        end
      end

      default: st_d = StHeader;
    endcase
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      st_q <= StHeader;
      errv_q <= 1'b0;
      sh_held_q <= '0;
      sh_sel_q <= '0;
    end else begin
      st_q <= st_d;
      if (err_post) begin
        errv_q <= 1'b1;
      end else if (err_take) begin
        errv_q <= 1'b0;
      end
      for (int c = 0; c < Sha512Cores; c++) begin
        if (sh_in_valid && sh_in_ready && sh_in_last && 32'(sh_sel_q) == c) begin
          sh_held_q[c] <= 1'b1;
        end else if (sh_out_valid[c] && sh_out_ready[c]) begin
          sh_held_q[c] <= 1'b0;
        end
      end
      // Messages go to the cores in turn: the next one after a message's final word.
      if (sh_in_valid && sh_in_ready && sh_in_last) begin
        sh_sel_q <= (32'(sh_sel_q) == Sha512Cores - 1) ? '0 : sh_sel_q + 1'b1;
      end
    end
  end

  // R || A shifts in from the top: after 8 words, word 0 is bits 63:0.
  assign vra_next = {in_data_i, vra_q[511:64]};
  assign sh_verify_side = {op_q == vigil_card_regs_pkg::OpcodeVerify, vprof_q, vs_q,
                           (vra_cnt_q < 4'd8) ? vra_next : vra_q};

  always_ff @(posedge clk_i) begin
    op_q <= op_d;
    tag_q <= tag_d;
    vprof_q <= vprof_d;
    vs_q <= vs_d;
    vs_cnt_q <= vs_cnt_d;
    vra_q <= vra_d;
    vra_cnt_q <= vra_cnt_d;
    err_status_q <= err_status_d;
    err_drain_q <= err_drain_d;
    sha_len_q <= sha_len_d;
    sha_left_q <= sha_left_d;
    if (err_post) begin
      erro_q <= op_q;
      errs_q <= err_status_q;
      errt_q <= tag_q;
    end
    if (mk_start) begin
      mk_tag_q <= tag_q;
      mk_op_q <= op_q;
    end
  end

  // ------------------------------------------------------------------------------------
  // Engines.

  vigil_merkle_engine #(
    .MaxLeaves   (MaxLeaves),
    .MaxLeafBytes(MaxLeafBytes)
  ) u_merkle (
    .clk_i,
    .rst_ni,
    .in_valid_i  (mk_in_valid),
    .in_ready_o  (mk_in_ready),
    .in_data_i   (in_data_i),
    .in_last_i   (in_last_i),
    .in_nodes_i  (mk_op_q == vigil_card_regs_pkg::OpcodeMerkleNodes),
    .out_valid_o (mk_out_valid),
    .out_ready_i (mk_out_ready),
    .out_root_o  (mk_root),
    .out_status_o(mk_status),
    .busy_o      (mk_busy),
    .compress_o  (mk_compress)
  );

  assign sh_in_ready = sh_in_ready_c[sh_sel_q];

  for (genvar c = 0; c < Sha512Cores; c++) begin : g_sha
    vigil_sha512_core #(
      .TagWidth(ShTagWidth)
    ) u_sha512 (
      .clk_i,
      .rst_ni,
      .in_valid_i  (sh_in_valid && 32'(sh_sel_q) == c),
      .in_ready_o  (sh_in_ready_c[c]),
      .in_data_i   (sh_in_data),
      .in_last_i   (sh_in_last),
      .in_bytes_i  (sh_in_bytes),
      .in_tag_i    (sh_in_tag),
      .out_valid_o (sh_out_valid[c]),
      .out_ready_i (sh_out_ready[c]),
      .out_digest_o(sh_digest[c]),
      .out_k_o     (sh_k[c]),
      .out_tag_o   (sh_out_tag[c])
    );

    // A VERIFY message hashed without a framing error goes on to a verification engine
    // with its k; every other SHA-512 result is a response.
    assign sh_out_verify[c] = sh_out_tag[c][ShTagWidth-1];
    assign sh_out_status[c] = sh_out_tag[c][39:32];
    assign sh_out_to_engine[c] = sh_out_verify[c]
                               && sh_out_status[c] == vigil_card_regs_pkg::StatusOk;
  end

  // Handoff to the engines: one signature per clock at most (a core finishes one every
  // few hundred clocks), from the cores holding one, in turn, to the engines whose
  // context of this clock is idle (in_ready), in turn.
  logic [Sha512Cores-1:0]   hq_req;        // core c holds a signature for the engines
  logic [ShSelBits-1:0]     hq_pick, hq_rr_q;
  logic                     hq_any;
  logic [VfSelBits-1:0]     he_pick, he_rr_q;
  logic                     he_any, hand;
  logic [VerifyEngines-1:0] vf_in_ready, vf_in_valid;
  // The engines take the sideband's profile, S, R, A and tag; its VERIFY flag (set) and
  // status (OK) are what sent it here.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [ShTagWidth-1:0]    hq_tag;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [255:0]             hq_k;

  assign hq_req = sh_out_valid & sh_out_to_engine;
  always_comb begin
    hq_pick = hq_rr_q;
    hq_any = 1'b0;
    for (int i = 1; i <= Sha512Cores; i++) begin
      if (!hq_any && hq_req[ShSelBits'((32'(hq_rr_q) + i) % Sha512Cores)]) begin
        hq_pick = ShSelBits'((32'(hq_rr_q) + i) % Sha512Cores);
        hq_any = 1'b1;
      end
    end
    he_pick = he_rr_q;
    he_any = 1'b0;
    for (int i = 1; i <= VerifyEngines; i++) begin
      if (!he_any && vf_in_ready[VfSelBits'((32'(he_rr_q) + i) % VerifyEngines)]) begin
        he_pick = VfSelBits'((32'(he_rr_q) + i) % VerifyEngines);
        he_any = 1'b1;
      end
    end
    hq_tag = sh_out_tag[0];
    hq_k = sh_k[0];
    for (int c = 1; c < Sha512Cores; c++) begin
      if (32'(hq_pick) == c) begin
        hq_tag = sh_out_tag[c];
        hq_k = sh_k[c];
      end
    end
  end
  assign hand = hq_any & he_any;
  for (genvar e = 0; e < VerifyEngines; e++) begin : g_hand
    assign vf_in_valid[e] = hand && 32'(he_pick) == e;
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      hq_rr_q <= ShSelBits'(Sha512Cores - 1);
      he_rr_q <= VfSelBits'(VerifyEngines - 1);
    end else if (hand) begin
      hq_rr_q <= hq_pick;
      he_rr_q <= he_pick;
    end
  end

  logic [VerifyEngines-1:0] vf_out_valid, vf_out_ready, vf_ok, vf_busy;
  logic [VerifyEngines-1:0] vf_alu_issue, vf_add_issue;
  logic [31:0]              vf_tag [VerifyEngines];
  for (genvar e = 0; e < VerifyEngines; e++) begin : g_verify
    vigil_ed25519_engine #(
      .Contexts(VerifyContexts),
      .TagWidth(32)
    ) u_verify (
      .clk_i,
      .rst_ni,
      .in_valid_i  (vf_in_valid[e]),
      .in_ready_o  (vf_in_ready[e]),
      .in_profile_i(hq_tag[ShTagWidth-2 -: 2]),
      .in_s_i      (hq_tag[40+512 +: 256]),
      .in_k_i      (hq_k),
      .in_a_i      (hq_tag[40+256 +: 256]),
      .in_r_i      (hq_tag[40 +: 256]),
      .in_tag_i    (hq_tag[31:0]),
      .out_valid_o (vf_out_valid[e]),
      .out_ready_i (vf_out_ready[e]),
      .out_ok_o    (vf_ok[e]),
      .out_tag_o   (vf_tag[e]),
      .busy_o      (vf_busy[e]),
      .alu_issue_o (vf_alu_issue[e]),
      .add_issue_o (vf_add_issue[e])
    );
  end

  // ------------------------------------------------------------------------------------
  // Response arbiter and serializer.

  localparam int unsigned RespWords = 13;  // header + digest (8) + k (4)

  logic [64*RespWords-1:0] sr_d, sr_q;     // word 0 leaves first
  logic [3:0]              left_d, left_q; // words still to send, 0 = empty
  logic [SrcBits-1:0]      rr_d, rr_q;     // source that won last
  logic                    load;
  logic [SrcBits-1:0]      pick;

  // Round robin over the sources (0 errors, 1 Merkle, then the SHA-512 cores' responses,
  // then the verification engines' verdicts), starting after the last winner.
  logic [Sources-1:0] req;
  logic               picked;
  assign req = {vf_out_valid, sh_out_valid & ~sh_out_to_engine, mk_out_valid, errv_q};
  always_comb begin
    pick = rr_q;
    picked = 1'b0;
    for (int i = 1; i <= Sources; i++) begin
      if (!picked && req[SrcBits'((32'(rr_q) + i) % Sources)]) begin
        pick = SrcBits'((32'(rr_q) + i) % Sources);
        picked = 1'b1;
      end
    end
  end

  // The picked SHA-512 core's result and the picked engine's verdict.
  logic [511:0]          rs_digest;
  logic [255:0]          rs_k;
  logic [ShTagWidth-1:0] rs_tag;
  logic [7:0]            rs_op;            // its request's opcode
  logic                  rv_ok;
  logic [31:0]           rv_tag;
  always_comb begin
    rs_digest = sh_digest[0];
    rs_k = sh_k[0];
    rs_tag = sh_out_tag[0];
    for (int c = 1; c < Sha512Cores; c++) begin
      if (32'(pick) == SrcSha + c) begin
        rs_digest = sh_digest[c];
        rs_k = sh_k[c];
        rs_tag = sh_out_tag[c];
      end
    end
    rs_op = rs_tag[ShTagWidth-1] ? vigil_card_regs_pkg::OpcodeVerify
                                 : vigil_card_regs_pkg::OpcodeSha512K;
    rv_ok = vf_ok[0];
    rv_tag = vf_tag[0];
    for (int e = 1; e < VerifyEngines; e++) begin
      if (32'(pick) == SrcVf + e) begin
        rv_ok = vf_ok[e];
        rv_tag = vf_tag[e];
      end
    end
  end

  function automatic logic [63:0] resp_header(logic [7:0] op, logic [7:0] status,
                                              logic [15:0] words, logic [31:0] tag);
    resp_header = {tag, words, status, op};
  endfunction

  logic out_fire;
  assign out_fire = out_valid_o & out_ready_i;
  assign out_valid_o = (left_q != 4'd0);
  assign out_data_o = sr_q[63:0];
  assign out_last_o = (left_q == 4'd1);
  assign load = (left_q == 4'd0 || (out_fire && left_q == 4'd1)) && (|req);
  assign err_take = load && pick == SrcBits'(0);
  assign mk_out_ready = load && pick == SrcBits'(1);
  for (genvar c = 0; c < Sha512Cores; c++) begin : g_sh_ready
    assign sh_out_ready[c] = sh_out_to_engine[c] ? (hand && 32'(hq_pick) == c)
                                                 : (load && 32'(pick) == SrcSha + c);
  end
  for (genvar e = 0; e < VerifyEngines; e++) begin : g_vf_ready
    assign vf_out_ready[e] = load && 32'(pick) == SrcVf + e;
  end

  always_comb begin
    sr_d = sr_q;
    left_d = left_q;
    rr_d = rr_q;
    if (out_fire) begin
      sr_d = {64'd0, sr_q[64*RespWords-1:64]};
      left_d = left_q - 4'd1;
    end
    if (load) begin
      rr_d = pick;
      sr_d = '0;
      if (32'(pick) == 0) begin
        sr_d[63:0] = resp_header(erro_q, errs_q, 16'd0, errt_q);
        left_d = 4'd1;
      end else if (32'(pick) == 1) begin
        if (mk_status == vigil_card_regs_pkg::StatusOk) begin
          sr_d[63:0] = resp_header(mk_op_q, mk_status, 16'd4, mk_tag_q);
          sr_d[64 +: 256] = mk_root;
          left_d = 4'd5;
        end else begin
          sr_d[63:0] = resp_header(mk_op_q, mk_status, 16'd0, mk_tag_q);
          left_d = 4'd1;
        end
      end else if (32'(pick) < SrcVf) begin
        if (rs_tag[39:32] == vigil_card_regs_pkg::StatusOk) begin
          sr_d[63:0] = resp_header(vigil_card_regs_pkg::OpcodeSha512K, 8'd0, 16'd12,
                                   rs_tag[31:0]);
          sr_d[64 +: 768] = {rs_k, rs_digest};
          left_d = 4'd13;
        end else begin
          // A framing error of SHA512_K or VERIFY.
          sr_d[63:0] = resp_header(rs_op, rs_tag[39:32], 16'd0, rs_tag[31:0]);
          left_d = 4'd1;
        end
      end else begin
        sr_d[63:0] = resp_header(vigil_card_regs_pkg::OpcodeVerify, 8'd0, 16'd1, rv_tag);
        sr_d[64 +: 64] = {63'd0, rv_ok};
        left_d = 4'd2;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      left_q <= 4'd0;
      // The first engine first after reset, as the one-engine card always did.
      rr_q <= SrcBits'(SrcVf - 1);
    end else begin
      left_q <= left_d;
      rr_q <= rr_d;
    end
  end

  always_ff @(posedge clk_i) begin
    sr_q <= sr_d;
  end

  // ------------------------------------------------------------------------------------
  // Counters.

  logic        hdr_out;   // a response header leaves
  logic        hdr_err;   // ... with a status other than OK
  logic [63:0] cycles_q, mk_busy_q, sh_busy_q, compress_q, req_stall_q, resp_stall_q;
  logic [63:0] vf_busy_q, field_ops_q;
  logic [31:0] requests_q, responses_q, errors_q;
  logic [15:0] last_error_q;
  logic        sha_busy;
  logic        first_word_q;  // the next response word is a header

  assign sha_busy = (|sh_held_q) | (st_q == StShaData) | (st_q == StShaEmpty)
                  | (st_q == StVerifyS);
  assign hdr_out = out_fire & first_word_q;
  assign hdr_err = out_data_o[15:8] != vigil_card_regs_pkg::StatusOk;

  always_ff @(posedge clk_i) begin
    if (!rst_ni || clear_q) begin
      cycles_q <= '0;
      mk_busy_q <= '0;
      sh_busy_q <= '0;
      compress_q <= '0;
      req_stall_q <= '0;
      resp_stall_q <= '0;
      vf_busy_q <= '0;
      field_ops_q <= '0;
      requests_q <= '0;
      responses_q <= '0;
      errors_q <= '0;
    end else begin
      cycles_q <= cycles_q + 64'd1;
      mk_busy_q <= mk_busy_q + {63'd0, mk_busy};
      sh_busy_q <= sh_busy_q + {63'd0, sha_busy};
      compress_q <= compress_q + {63'd0, mk_compress};
      req_stall_q <= req_stall_q + {63'd0, in_valid_i & ~in_ready_o};
      resp_stall_q <= resp_stall_q + {63'd0, out_valid_o & ~out_ready_i};
      vf_busy_q <= vf_busy_q + {63'd0, |vf_busy};
      // Multiplications and adder-unit operations (each engine may issue one of each
      // per clock).
      field_ops_q <= field_ops_q + 64'($countones(vf_alu_issue))
                                 + 64'($countones(vf_add_issue));
      requests_q <= requests_q + {31'd0, in_fire && st_q == StHeader};
      responses_q <= responses_q + {31'd0, hdr_out};
      errors_q <= errors_q + {31'd0, hdr_out & hdr_err};
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      first_word_q <= 1'b1;
      last_error_q <= 16'd0;
    end else begin
      if (out_fire) begin
        first_word_q <= out_last_o;
      end
      if (hdr_out && hdr_err) begin
        last_error_q <= {out_data_o[7:0], out_data_o[15:8]};
      end
    end
  end

  // ------------------------------------------------------------------------------------
  // AXI-Lite.

  logic [31:0] scratch_q;
  logic        wr;
  logic [31:0] rdata;
  logic [31:0] hi_cycles_q, hi_mk_q, hi_sh_q, hi_comp_q, hi_rqs_q, hi_rss_q;
  logic [31:0] hi_vf_q, hi_fo_q;

  // Registers are whole words: the byte-in-word address bits select nothing.
  logic unused_addr_bits;
  assign unused_addr_bits = ^{s_axil_awaddr_i[1:0], s_axil_araddr_i[1:0]};

  assign wr = s_axil_awvalid_i & s_axil_wvalid_i & ~s_axil_bvalid_o;
  assign s_axil_awready_o = wr;
  assign s_axil_wready_o = wr;
  assign s_axil_bresp_o = 2'b00;
  assign s_axil_arready_o = ~s_axil_rvalid_o;
  assign s_axil_rresp_o = 2'b00;

  // Write strobes apply per byte.
  function automatic logic [31:0] strobed(logic [31:0] old, logic [31:0] data,
                                          logic [3:0] strb);
    for (int b = 0; b < 4; b++) begin
      strobed[8*b +: 8] = strb[b] ? data[8*b +: 8] : old[8*b +: 8];
    end
  endfunction

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      s_axil_bvalid_o <= 1'b0;
      enable_q <= 1'b0;
      clear_q <= 1'b0;
      scratch_q <= 32'd0;
    end else begin
      clear_q <= 1'b0;
      if (wr) begin
        s_axil_bvalid_o <= 1'b1;
        unique case ({s_axil_awaddr_i[11:2], 2'b00})
          vigil_card_regs_pkg::RegControl: begin
            if (s_axil_wstrb_i[0]) begin
              enable_q <= s_axil_wdata_i[vigil_card_regs_pkg::ControlEnableLsb];
              clear_q <= s_axil_wdata_i[vigil_card_regs_pkg::ControlClearCountersLsb];
            end
          end
          vigil_card_regs_pkg::RegScratch:
            scratch_q <= strobed(scratch_q, s_axil_wdata_i, s_axil_wstrb_i);
          default: ;
        endcase
      end else if (s_axil_bready_i) begin
        s_axil_bvalid_o <= 1'b0;
      end
    end
  end

  always_comb begin
    rdata = 32'd0;
    unique case ({s_axil_araddr_i[11:2], 2'b00})
      vigil_card_regs_pkg::RegId:              rdata = vigil_card_regs_pkg::Magic;
      vigil_card_regs_pkg::RegVersion:
        rdata = {vigil_card_regs_pkg::VersionMajor, vigil_card_regs_pkg::VersionMinor};
      vigil_card_regs_pkg::RegBuildHashLo:     rdata = BuildHash[31:0];
      vigil_card_regs_pkg::RegBuildHashHi:     rdata = BuildHash[63:32];
      vigil_card_regs_pkg::RegCaps: begin
        rdata[vigil_card_regs_pkg::CapsMerkleLsb] = 1'b1;
        rdata[vigil_card_regs_pkg::CapsSha512Lsb] = 1'b1;
        rdata[vigil_card_regs_pkg::CapsVerifyLsb] = 1'b1;
      end
      vigil_card_regs_pkg::RegVerifySlots: begin
        rdata[vigil_card_regs_pkg::VerifySlotsEnginesLsb +: 8] = 8'(VerifyEngines);
        rdata[vigil_card_regs_pkg::VerifySlotsContextsLsb +: 8] = 8'(VerifyContexts);
        rdata[vigil_card_regs_pkg::VerifySlotsSha512CoresLsb +: 8] = 8'(Sha512Cores);
      end
      vigil_card_regs_pkg::RegMaxLeaves:       rdata = 32'(MaxLeaves);
      vigil_card_regs_pkg::RegMaxLeafBytes:    rdata = 32'(MaxLeafBytes);
      vigil_card_regs_pkg::RegMaxMessageBytes: rdata = 32'(MaxMessageBytes);
      vigil_card_regs_pkg::RegControl:
        rdata[vigil_card_regs_pkg::ControlEnableLsb] = enable_q;
      vigil_card_regs_pkg::RegStatus: begin
        rdata[vigil_card_regs_pkg::StatusEnabledLsb] = enable_q;
        rdata[vigil_card_regs_pkg::StatusMerkleBusyLsb] = mk_busy;
        rdata[vigil_card_regs_pkg::StatusSha512BusyLsb] = sha_busy;
        rdata[vigil_card_regs_pkg::StatusResponsePendingLsb] = out_valid_o;
        rdata[vigil_card_regs_pkg::StatusVerifyBusyLsb] = |vf_busy;
      end
      vigil_card_regs_pkg::RegScratch:         rdata = scratch_q;
      vigil_card_regs_pkg::RegLastError:       rdata = {16'd0, last_error_q};
      vigil_card_regs_pkg::RegRequests:        rdata = requests_q;
      vigil_card_regs_pkg::RegResponses:       rdata = responses_q;
      vigil_card_regs_pkg::RegErrors:          rdata = errors_q;
      vigil_card_regs_pkg::RegCyclesLo:        rdata = cycles_q[31:0];
      vigil_card_regs_pkg::RegCyclesHi:        rdata = hi_cycles_q;
      vigil_card_regs_pkg::RegMerkleBusyCyclesLo: rdata = mk_busy_q[31:0];
      vigil_card_regs_pkg::RegMerkleBusyCyclesHi: rdata = hi_mk_q;
      vigil_card_regs_pkg::RegSha512BusyCyclesLo: rdata = sh_busy_q[31:0];
      vigil_card_regs_pkg::RegSha512BusyCyclesHi: rdata = hi_sh_q;
      vigil_card_regs_pkg::RegCompressionsLo:  rdata = compress_q[31:0];
      vigil_card_regs_pkg::RegCompressionsHi:  rdata = hi_comp_q;
      vigil_card_regs_pkg::RegReqStallCyclesLo:  rdata = req_stall_q[31:0];
      vigil_card_regs_pkg::RegReqStallCyclesHi:  rdata = hi_rqs_q;
      vigil_card_regs_pkg::RegRespStallCyclesLo: rdata = resp_stall_q[31:0];
      vigil_card_regs_pkg::RegRespStallCyclesHi: rdata = hi_rss_q;
      vigil_card_regs_pkg::RegVerifyBusyCyclesLo: rdata = vf_busy_q[31:0];
      vigil_card_regs_pkg::RegVerifyBusyCyclesHi: rdata = hi_vf_q;
      vigil_card_regs_pkg::RegFieldOpsLo:        rdata = field_ops_q[31:0];
      vigil_card_regs_pkg::RegFieldOpsHi:        rdata = hi_fo_q;
      default: rdata = 32'd0;
    endcase
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      s_axil_rvalid_o <= 1'b0;
      s_axil_rdata_o <= 32'd0;
    end else if (s_axil_arvalid_i && s_axil_arready_o) begin
      s_axil_rvalid_o <= 1'b1;
      s_axil_rdata_o <= rdata;
    end else if (s_axil_rready_i) begin
      s_axil_rvalid_o <= 1'b0;
    end
  end

  // Reading a _LO half latches its _HI half.
  logic rd;
  assign rd = s_axil_arvalid_i & s_axil_arready_o;
  always_ff @(posedge clk_i) begin
    if (rd) begin
      unique case ({s_axil_araddr_i[11:2], 2'b00})
        vigil_card_regs_pkg::RegCyclesLo:           hi_cycles_q <= cycles_q[63:32];
        vigil_card_regs_pkg::RegMerkleBusyCyclesLo: hi_mk_q <= mk_busy_q[63:32];
        vigil_card_regs_pkg::RegSha512BusyCyclesLo: hi_sh_q <= sh_busy_q[63:32];
        vigil_card_regs_pkg::RegCompressionsLo:     hi_comp_q <= compress_q[63:32];
        vigil_card_regs_pkg::RegReqStallCyclesLo:   hi_rqs_q <= req_stall_q[63:32];
        vigil_card_regs_pkg::RegRespStallCyclesLo:  hi_rss_q <= resp_stall_q[63:32];
        vigil_card_regs_pkg::RegVerifyBusyCyclesLo: hi_vf_q <= vf_busy_q[63:32];
        vigil_card_regs_pkg::RegFieldOpsLo:         hi_fo_q <= field_ops_q[63:32];
        default: ;
      endcase
    end
  end

endmodule : vigil_card_top

`default_nettype wire
