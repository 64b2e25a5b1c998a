// vigil_merkle_engine: the vigil-merkle-v1 root (docs/MERKLE.md) of a MERKLE_ROOT or
// MERKLE_NODES request, with one vigil_blake3_compress core.
//
// Interface
// ---------
// The request stream is the frame after its header word: word 1 (the count in bits
// 31:0, bits 63:32 zero), then the payload, in_last_i on the frame's final word;
// in_nodes_i is sampled with word 1. MERKLE_ROOT: per leaf one length word (bits 63:32
// zero), then the leaf's bytes in ceil(len / 8) words (byte i of a word in bits
// [8i +: 8]; the final word's padding is masked off here, so it need not be zero).
// MERKLE_NODES: 4 words per level-0 node. One result per request, held until taken:
// the root (byte i in bits [8i +: 8], zero on error) and a vigil_card_regs_pkg status.
// Errors: BAD_HEADER, TOO_MANY, TOO_LONG and FRAME_LONG discard the frame up to
// in_last_i, then answer; FRAME_SHORT (in_last_i before the declared contents ended)
// answers without reading further. Either way the engine first waits for its
// compressions in flight to leave the core, so no stale result can reach the next
// request: it never loses sync with the stream.
//
// Architecture
// ------------
// Node storage: two RAM banks (even and odd index) of MaxLeaves/2 x 256 bits, one write
// and one registered read port each (block RAM: 1 Mbit for 4096 leaves, about 32
// RAMB36). Leaf hashes (or the given nodes) are written at their index; a node level
// reads the pair (2i, 2i+1) from the two banks in one cycle and issues one NODE
// compression per clock, whose result is written back in place at index i. In place is
// safe: index i of level L+1 overwrites node i of level L, which was read with pair i/2
// <= i, earlier. An odd last node is copied down (index n-1 to (n-1)/2) after the level
// drains, and the next level starts when every result of this one is in.
//
// Leaf hashing (MERKLE_ROOT) is BLAKE3 in derive-key mode under MerkleLeafKey: chunks of
// 1024 bytes, blocks of 64, counter = chunk index (0 for parents), ROOT on the leaf's
// final compression (the last block of a one-chunk leaf, else the topmost parent). Input
// words are assembled into a block buffer; the hasher issues a block when the buffer is
// full and the block's chaining value is known. A chaining compression (the next block
// of a chunk, a parent) waits for its predecessor's result; a leaf's FINAL compression
// is not waited for: it is tagged with the leaf index, its result is written to the RAM
// when it leaves the core, and the next leaf starts at once. The chunk tree merges
// eagerly: after a chunk that is not the leaf's last, parents are made while the count
// of chunks done is even (those subtrees are complete: they lie inside the leaf), and
// the result is pushed on a CV stack of log2(MaxLeafBytes/1024) entries; after the last
// chunk its chaining value is merged with the stack from the top, the bottom merge
// being the ROOT. This is BLAKE3's tree (left subtree = largest power of two of chunks
// below the total), the same shape as the Merkle tree itself.
//
// The core's tag says where a result goes: bit IdxW set = "write the hash (leaf, node or
// EMPTY) to the RAM at index tag[IdxW-1:0]", clear = "chaining value back to the leaf
// hasher". Only one chaining compression is ever in flight, so it needs no index.
//
// Count 0 issues one compression, EMPTY (an empty block under MerkleEmptyKey with
// MerkleOneBlockFlags), written to index 0; count 1 needs no node level: the root is
// then always entry 0, read from the RAM.
//
// Cycles (measured by hdl/tb/vigil_merkle_engine.rs, cycle_counts: no stalls, from the
// first word offered to the result taken; hdl/README.md has the run's details). Input
// runs at one word per clock while leaves fit one block: 1000 leaves of 64 bytes (9
// words each) take 10,360 cycles, 9,001 of them the words. A longer leaf is
// latency-bound: each chaining compression costs CompressLatency + 2 = 31 cycles (issue
// register, core, result), so a leaf of c compressions costs about 31 (c - 1) + 10:
// 103 cycles for 200 bytes (4 blocks), 631 for 1232 bytes (20 blocks + 1 parent), while
// its words would take 26 and 155. A node level of n nodes costs n/2 issue cycles plus
// about 35 (drain, and 2 to copy an odd node): 1000 nodes (MERKLE_NODES, 4,001 words)
// take 5,329 cycles, the tree about 1,330 of them; EMPTY takes 37.
//
// fmax (reasoning only, no Vivado run; target 250 MHz as for the core): every
// compression enters the core from an issue register and every result is used from the
// core's output register, so no path runs from the ports or the RAM into the core's
// first adders, and the RAM's read data is registered (BRAM output) before it is used.
// The issue register's input is a mux of 4 sources (block buffer, parent, node pair,
// EMPTY) plus a 6-entry stack read: 2-3 LUT/MUXF levels. The longest path is likely
// from in_data_i through a 32-bit compare against a constant (count, length) and the
// status/abort decision to the state registers, about 5-6 LUT levels; if it misses,
// register the input word first (one cycle of latency, no throughput cost).
//
// The core's out_ready_i is tied high: every result is consumed in the cycle it appears
// (a RAM write or the hasher's chaining value), so the core never stalls and its
// in_ready_o is always high; the issue logic still honours it.
//
// Reset: rst_ni is synchronous and active-low, as in the other cores. It clears the
// control state; data registers and RAMs are not reset.

`default_nettype none

module vigil_merkle_engine #(
  parameter int unsigned MaxLeaves    = 4096,   // power of two, >= 2 (tested: 4096)
  parameter int unsigned MaxLeafBytes = 65536   // multiple of 1024 (tested: 65536)
) (
  input  wire logic         clk_i,
  input  wire logic         rst_ni,
  input  wire logic         in_valid_i,
  output      logic         in_ready_o,
  input  wire logic [63:0]  in_data_i,
  input  wire logic         in_last_i,
  input  wire logic         in_nodes_i,
  output      logic         out_valid_o,
  input  wire logic         out_ready_i,
  output      logic [255:0] out_root_o,
  output      logic [7:0]   out_status_o,
  output      logic         busy_o,
  output      logic         compress_o
);

  localparam int unsigned IdxW = $clog2(MaxLeaves);             // a node index
  localparam int unsigned CntW = IdxW + 1;                      // a count, 0..MaxLeaves
  localparam int unsigned AddrW = (IdxW > 1) ? IdxW - 1 : 1;    // a RAM bank address
  localparam int unsigned Depth = MaxLeaves / 2;                // words per bank
  localparam int unsigned MaxChunks = MaxLeafBytes / 1024;
  localparam int unsigned ChunkW = (MaxChunks > 1) ? $clog2(MaxChunks) : 1;
  localparam int unsigned StackDepth = ChunkW;                  // CV stack entries
  localparam int unsigned SpW = $clog2(StackDepth + 1);
  localparam int unsigned LenW = $clog2(MaxLeafBytes + 1);      // a leaf length
  localparam int unsigned TagW = IdxW + 1;
  localparam logic [ChunkW:0] MtotOne = 1;

  localparam logic [31:0] FlagsDkm = vigil_blake3_pkg::FlagDeriveKeyMaterial;
  localparam logic [31:0] FlagsParent = vigil_blake3_pkg::FlagParent | FlagsDkm;

  // The request's state.
  localparam logic [3:0] StIdle      = 4'd0;   // waiting for word 1
  localparam logic [3:0] StLen       = 4'd1;   // a leaf's length word
  localparam logic [3:0] StData      = 4'd2;   // a leaf's data words
  localparam logic [3:0] StNode      = 4'd3;   // a node's words
  localparam logic [3:0] StDiscard   = 4'd4;   // an error: words up to in_last_i
  localparam logic [3:0] StEmpty     = 4'd5;   // count 0: issue EMPTY
  localparam logic [3:0] StHash      = 4'd6;   // input done: wait for the leaf hashes
  localparam logic [3:0] StLevel     = 4'd7;   // issue a level's pairs
  localparam logic [3:0] StLevelWait = 4'd8;   // wait for the level's results
  localparam logic [3:0] StCopyRd    = 4'd9;   // read the odd last node
  localparam logic [3:0] StCopyWr    = 4'd10;  // write it one level up
  localparam logic [3:0] StRootRd    = 4'd11;  // read entry 0
  localparam logic [3:0] StRootWait  = 4'd12;  // register it
  localparam logic [3:0] StErrDrain  = 4'd13;  // an error: wait for the core to drain
  localparam logic [3:0] StOut       = 4'd14;  // the result, until taken

  // The leaf hasher's state.
  localparam logic [1:0] HIdle  = 2'd0;   // no leaf (or its final compression issued)
  localparam logic [1:0] HBlock = 2'd1;   // issue the buffered block when ready
  localparam logic [1:0] HMerge = 2'd2;   // after a chunk (not the last): merge, push
  localparam logic [1:0] HFinal = 2'd3;   // after the last chunk: merge with the stack

  logic [3:0]            st_d, st_q;
  logic [7:0]            stat_d, stat_q;
  logic [CntW-1:0]       count_d, count_q;       // leaves (nodes) declared
  logic [CntW-1:0]       item_d, item_q;         // leaves (nodes) received whole
  logic [LenW-1:0]       rem_d, rem_q;           // bytes of the leaf still to come
  logic [2:0]            wpos_d, wpos_q;         // word of the block (node) being filled
  logic [3:0]            bpos_d, bpos_q;         // block of the chunk being filled
  logic [ChunkW-1:0]     chunk_d, chunk_q;       // chunk of the leaf being filled

  // The block buffer: one block waiting to be issued, and what it is.
  logic [511:0]          buf_d, buf_q;
  logic                  buf_full_d, buf_full_q;
  logic [3:0]            buf_words_d, buf_words_q;   // words that are data (0..8)
  logic [6:0]            buf_len_d, buf_len_q;       // block_len
  logic                  buf_start_d, buf_start_q;   // the chunk's first block
  logic                  buf_end_d, buf_end_q;       // the chunk's last block
  logic                  buf_last_d, buf_last_q;     // ... of the leaf's last chunk
  logic                  buf_root_d, buf_root_q;     // the leaf's final compression
  logic [ChunkW-1:0]     buf_chunk_d, buf_chunk_q;

  // The leaf hasher.
  logic [1:0]              hs_d, hs_q;
  logic                    wait_d, wait_q;       // a chaining compression is in flight
  logic [255:0]            cv_d, cv_q;           // the chaining value
  logic [256*StackDepth-1:0] stack_d, stack_q;   // entry k in [256k +: 256]
  logic [SpW-1:0]          sp_d, sp_q;           // entries on the stack
  logic [ChunkW:0]         mtot_d, mtot_q;       // chunks done, shifted per merge
  logic [IdxW-1:0]         hleaf_d, hleaf_q;     // index of the leaf being hashed

  // The issue register, in front of the core.
  logic                  iss_valid_d, iss_valid_q;
  logic [255:0]          iss_cv_d, iss_cv_q;
  logic [511:0]          iss_block_d, iss_block_q;
  logic [ChunkW-1:0]     iss_counter_d, iss_counter_q;
  logic [6:0]            iss_len_d, iss_len_q;
  logic [31:0]           iss_flags_d, iss_flags_q;
  logic [TagW-1:0]       iss_tag_d, iss_tag_q;
  logic [5:0]            inflight_d, inflight_q;  // in the issue register or the core

  // The node levels.
  logic [CntW-1:0]       n_d, n_q;               // nodes in the level
  logic [IdxW-1:0]       pair_d, pair_q;         // next pair to read
  logic                  rd_valid_d, rd_valid_q; // a pair is on the RAM outputs
  logic [IdxW-1:0]       rd_idx_d, rd_idx_q;
  logic [255:0]          root_d, root_q;

  // ------------------------------------------------------------------------------------
  // The compression core.

  logic            core_in_ready, core_out_valid;
  logic [TagW-1:0] core_out_tag;
  // Words 8..15 of the output state are a root's extended output: never used here.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [511:0]    core_out_state;
  /* verilator lint_on UNUSEDSIGNAL */

  vigil_blake3_compress #(
    .TagWidth(TagW)
  ) u_compress (
    .clk_i,
    .rst_ni,
    .in_valid_i     (iss_valid_q),
    .in_ready_o     (core_in_ready),
    .in_cv_i        (iss_cv_q),
    .in_block_i     (iss_block_q),
    .in_counter_i   ({{(64 - ChunkW){1'b0}}, iss_counter_q}),
    .in_block_len_i ({25'd0, iss_len_q}),
    .in_flags_i     (iss_flags_q),
    .in_tag_i       (iss_tag_q),
    .out_valid_o    (core_out_valid),
    .out_ready_i    (1'b1),
    .out_state_o    (core_out_state),
    .out_tag_o      (core_out_tag)
  );

  logic iss_free;
  assign iss_free = ~iss_valid_q | core_in_ready;

  // ------------------------------------------------------------------------------------
  // The node RAM: two banks, one write and one registered read port each.

  logic [255:0] mem_even [0:Depth-1];
  logic [255:0] mem_odd  [0:Depth-1];
  logic             we_even, we_odd;
  logic [AddrW-1:0] waddr, raddr;
  logic [255:0]     wdata, rdata_even_q, rdata_odd_q;

  always_ff @(posedge clk_i) begin
    if (we_even) begin
      mem_even[waddr] <= wdata;
    end
    rdata_even_q <= mem_even[raddr];
  end

  always_ff @(posedge clk_i) begin
    if (we_odd) begin
      mem_odd[waddr] <= wdata;
    end
    rdata_odd_q <= mem_odd[raddr];
  end

  // ------------------------------------------------------------------------------------
  // Combinational helpers (from registers only).

  // The top of the CV stack.
  logic [255:0] stack_top;
  always_comb begin
    stack_top = '0;
    for (int unsigned k = 0; k < StackDepth; k++) begin
      if (sp_q == SpW'(k + 1)) begin
        stack_top = stack_q[256*k +: 256];
      end
    end
  end

  // The buffered block with the words after its data zeroed.
  logic [511:0] buf_block;
  always_comb begin
    for (int unsigned k = 0; k < 8; k++) begin
      buf_block[64*k +: 64] = (4'(k) < buf_words_q) ? buf_q[64*k +: 64] : 64'd0;
    end
  end

  // The hasher issues the buffered block this cycle / a leaf's final compression.
  logic buf_issue, fin_now, leaf_ready;
  assign buf_issue = (hs_q == HBlock) & buf_full_q & ~wait_q & iss_free;
  assign fin_now = (buf_issue & buf_root_q)
                 | ((hs_q == HFinal) & ~wait_q & iss_free & (sp_q == SpW'(1)));
  // A new leaf's length word may be taken: the previous leaf is issued whole.
  assign leaf_ready = ((hs_q == HIdle) & ~buf_full_q) | fin_now;

  // The data word's bytes (the leaf's last word may hold fewer than 8).
  logic [3:0]  nbytes;
  logic [63:0] data_masked;
  assign nbytes = (rem_q >= LenW'(8)) ? 4'd8 : 4'(rem_q);
  always_comb begin
    for (int unsigned b = 0; b < 8; b++) begin
      data_masked[8*b +: 8] = (4'(b) < nbytes) ? in_data_i[8*b +: 8] : 8'd0;
    end
  end

  // ------------------------------------------------------------------------------------
  // The state machine.

  logic in_take;    // a request word is taken this cycle
  logic abort;      // an error: stop the leaf hasher
  logic is_final;   // the word taken ends the declared contents
  logic iss_load;   // a compression enters the issue register
  logic last_word, blk_done, chunk_done;  // of a data word taken

  always_comb begin
    st_d = st_q;
    stat_d = stat_q;
    count_d = count_q;
    item_d = item_q;
    rem_d = rem_q;
    wpos_d = wpos_q;
    bpos_d = bpos_q;
    chunk_d = chunk_q;
    buf_d = buf_q;
    buf_full_d = buf_full_q;
    buf_words_d = buf_words_q;
    buf_len_d = buf_len_q;
    buf_start_d = buf_start_q;
    buf_end_d = buf_end_q;
    buf_last_d = buf_last_q;
    buf_root_d = buf_root_q;
    buf_chunk_d = buf_chunk_q;
    hs_d = hs_q;
    wait_d = wait_q;
    cv_d = cv_q;
    stack_d = stack_q;
    sp_d = sp_q;
    mtot_d = mtot_q;
    hleaf_d = hleaf_q;
    iss_valid_d = iss_valid_q & ~core_in_ready;
    iss_cv_d = iss_cv_q;
    iss_block_d = iss_block_q;
    iss_counter_d = iss_counter_q;
    iss_len_d = iss_len_q;
    iss_flags_d = iss_flags_q;
    iss_tag_d = iss_tag_q;
    n_d = n_q;
    pair_d = pair_q;
    rd_valid_d = 1'b0;
    rd_idx_d = rd_idx_q;
    root_d = root_q;
    we_even = 1'b0;
    we_odd = 1'b0;
    waddr = '0;
    wdata = core_out_state[255:0];
    raddr = '0;
    in_ready_o = 1'b0;
    abort = 1'b0;
    is_final = 1'b0;
    iss_load = 1'b0;
    last_word = 1'b0;
    blk_done = 1'b0;
    chunk_done = 1'b0;

    // Results leaving the core: a hash to write, or the hasher's chaining value.
    if (core_out_valid) begin
      if (core_out_tag[IdxW]) begin
        waddr = AddrW'(core_out_tag[IdxW-1:0] >> 1);
        we_even = ~core_out_tag[0];
        we_odd = core_out_tag[0];
      end else begin
        cv_d = core_out_state[255:0];
        wait_d = 1'b0;
      end
    end

    // The leaf hasher.
    unique case (hs_q)
      HIdle: begin
      end
      HBlock: begin
        if (buf_issue) begin
          iss_valid_d = 1'b1;
          iss_load = 1'b1;
          iss_cv_d = buf_start_q ? vigil_blake3_pkg::MerkleLeafKey : cv_q;
          iss_block_d = buf_block;
          iss_counter_d = buf_chunk_q;
          iss_len_d = buf_len_q;
          iss_flags_d = FlagsDkm
                      | (buf_start_q ? vigil_blake3_pkg::FlagChunkStart : 32'd0)
                      | (buf_end_q ? vigil_blake3_pkg::FlagChunkEnd : 32'd0)
                      | (buf_root_q ? vigil_blake3_pkg::FlagRoot : 32'd0);
          buf_full_d = 1'b0;
          if (buf_root_q) begin
            iss_tag_d = {1'b1, hleaf_q};
            hleaf_d = hleaf_q + IdxW'(1);
            hs_d = HIdle;
          end else begin
            iss_tag_d = '0;
            wait_d = 1'b1;
            if (buf_end_q) begin
              hs_d = buf_last_q ? HFinal : HMerge;
              mtot_d = {1'b0, buf_chunk_q} + MtotOne;
            end
          end
        end
      end
      HMerge: begin
        if (!wait_q) begin
          if (mtot_q[0]) begin
            // An odd count of chunks done: no more complete subtrees. Push.
            for (int unsigned k = 0; k < StackDepth; k++) begin
              if (sp_q == SpW'(k)) begin
                stack_d[256*k +: 256] = cv_q;
              end
            end
            sp_d = sp_q + SpW'(1);
            hs_d = HBlock;
          end else if (iss_free) begin
            iss_valid_d = 1'b1;
            iss_load = 1'b1;
            iss_cv_d = vigil_blake3_pkg::MerkleLeafKey;
            iss_block_d = {cv_q, stack_top};
            iss_counter_d = '0;
            iss_len_d = 7'd64;
            iss_flags_d = FlagsParent;
            iss_tag_d = '0;
            wait_d = 1'b1;
            sp_d = sp_q - SpW'(1);
            mtot_d = mtot_q >> 1;
          end
        end
      end
      HFinal: begin
        if (!wait_q && iss_free) begin
          iss_valid_d = 1'b1;
          iss_load = 1'b1;
          iss_cv_d = vigil_blake3_pkg::MerkleLeafKey;
          iss_block_d = {cv_q, stack_top};
          iss_counter_d = '0;
          iss_len_d = 7'd64;
          sp_d = sp_q - SpW'(1);
          if (sp_q == SpW'(1)) begin
            iss_flags_d = FlagsParent | vigil_blake3_pkg::FlagRoot;
            iss_tag_d = {1'b1, hleaf_q};
            hleaf_d = hleaf_q + IdxW'(1);
            hs_d = HIdle;
          end else begin
            iss_flags_d = FlagsParent;
            iss_tag_d = '0;
            wait_d = 1'b1;
          end
        end
      end
      default: begin
        hs_d = HIdle;
      end
    endcase

    // A pair read from the RAM last cycle: its NODE compression.
    if (rd_valid_q) begin
      iss_valid_d = 1'b1;
      iss_load = 1'b1;
      iss_cv_d = vigil_blake3_pkg::MerkleNodeKey;
      iss_block_d = {rdata_odd_q, rdata_even_q};
      iss_counter_d = '0;
      iss_len_d = 7'd64;
      iss_flags_d = vigil_blake3_pkg::MerkleOneBlockFlags;
      iss_tag_d = {1'b1, rd_idx_q};
    end

    // The request.
    unique case (st_q)
      StIdle: begin
        in_ready_o = 1'b1;
        if (in_valid_i) begin
          count_d = CntW'(in_data_i[31:0]);
          item_d = '0;
          wpos_d = '0;
          hleaf_d = '0;
          sp_d = '0;
          stat_d = vigil_card_regs_pkg::StatusOk;
          if (in_data_i[63:32] != 32'd0) begin
            stat_d = vigil_card_regs_pkg::StatusBadHeader;
          end else if (in_data_i[31:0] > 32'(MaxLeaves)) begin
            stat_d = vigil_card_regs_pkg::StatusTooMany;
          end else if (in_data_i[31:0] == 32'd0) begin
            is_final = 1'b1;
          end else if (in_nodes_i) begin
            st_d = StNode;
          end else begin
            st_d = StLen;
          end
          if (in_data_i[31:0] == 32'd0 && in_last_i) begin
            st_d = StEmpty;
          end
        end
      end
      StLen: begin
        in_ready_o = leaf_ready;
        if (in_valid_i && leaf_ready) begin
          if (in_data_i[63:32] != 32'd0 || in_data_i[31:0] > 32'(MaxLeafBytes)) begin
            stat_d = vigil_card_regs_pkg::StatusTooLong;
          end else begin
            hs_d = HBlock;
            wpos_d = '0;
            bpos_d = '0;
            chunk_d = '0;
            rem_d = LenW'(in_data_i[31:0]);
            if (in_data_i[31:0] == 32'd0) begin
              // An empty leaf: one empty block, its final compression.
              buf_full_d = 1'b1;
              buf_words_d = 4'd0;
              buf_len_d = 7'd0;
              buf_start_d = 1'b1;
              buf_end_d = 1'b1;
              buf_last_d = 1'b1;
              buf_root_d = 1'b1;
              buf_chunk_d = '0;
              item_d = item_q + CntW'(1);
              is_final = (item_q + CntW'(1) == count_q);
            end else begin
              st_d = StData;
            end
          end
        end
      end
      StData: begin
        in_ready_o = ~buf_full_q | buf_issue;
        if (in_valid_i && in_ready_o) begin
          last_word = (rem_q <= LenW'(8));
          blk_done = last_word | (wpos_q == 3'd7);
          chunk_done = last_word | ((wpos_q == 3'd7) & (bpos_q == 4'd15));
          buf_d[64*wpos_q +: 64] = data_masked;
          rem_d = rem_q - LenW'(nbytes);
          wpos_d = wpos_q + 3'd1;
          if (blk_done) begin
            buf_full_d = 1'b1;
            buf_words_d = {1'b0, wpos_q} + 4'd1;
            buf_len_d = {1'b0, wpos_q, 3'b000} + {3'b000, nbytes};
            buf_start_d = (bpos_q == 4'd0);
            buf_end_d = chunk_done;
            buf_last_d = last_word;
            buf_root_d = last_word & (chunk_q == '0);
            buf_chunk_d = chunk_q;
            wpos_d = 3'd0;
            bpos_d = chunk_done ? 4'd0 : bpos_q + 4'd1;
            if (chunk_done) begin
              chunk_d = chunk_q + ChunkW'(1);
            end
          end
          if (last_word) begin
            item_d = item_q + CntW'(1);
            is_final = (item_q + CntW'(1) == count_q);
            if (!is_final) begin
              st_d = StLen;
            end
          end
        end
      end
      StNode: begin
        in_ready_o = 1'b1;
        if (in_valid_i) begin
          buf_d[64*wpos_q +: 64] = in_data_i;
          wpos_d = wpos_q + 3'd1;
          if (wpos_q == 3'd3) begin
            wpos_d = 3'd0;
            waddr = AddrW'(item_q[IdxW-1:0] >> 1);
            wdata = {in_data_i, buf_q[191:0]};
            we_even = ~item_q[0];
            we_odd = item_q[0];
            item_d = item_q + CntW'(1);
            is_final = (item_q + CntW'(1) == count_q);
          end
        end
      end
      StDiscard: begin
        in_ready_o = 1'b1;
        if (in_valid_i && in_last_i) begin
          st_d = StErrDrain;
        end
      end
      StEmpty: begin
        if (iss_free) begin
          iss_valid_d = 1'b1;
          iss_load = 1'b1;
          iss_cv_d = vigil_blake3_pkg::MerkleEmptyKey;
          iss_block_d = '0;
          iss_counter_d = '0;
          iss_len_d = 7'd0;
          iss_flags_d = vigil_blake3_pkg::MerkleOneBlockFlags;
          iss_tag_d = {1'b1, IdxW'(0)};
          st_d = StHash;
        end
      end
      StHash: begin
        if (hs_q == HIdle && !buf_full_q && !iss_valid_q && inflight_q == 6'd0) begin
          n_d = (count_q == '0) ? CntW'(1) : count_q;
          pair_d = '0;
          st_d = StLevel;
        end
      end
      StLevel: begin
        if (n_q == CntW'(1)) begin
          st_d = StRootRd;
        end else if ({1'b0, pair_q} < (n_q >> 1)) begin
          raddr = AddrW'(pair_q);
          rd_valid_d = 1'b1;
          rd_idx_d = pair_q;
          pair_d = pair_q + IdxW'(1);
        end else begin
          st_d = StLevelWait;
        end
      end
      StLevelWait: begin
        if (!rd_valid_q && !iss_valid_q && inflight_q == 6'd0) begin
          if (n_q[0]) begin
            st_d = StCopyRd;
          end else begin
            n_d = n_q >> 1;
            pair_d = '0;
            st_d = StLevel;
          end
        end
      end
      StCopyRd: begin
        // Node n-1 (n odd, so an even index) is entry (n-1)/2 = n/2 of the even bank.
        raddr = AddrW'(n_q >> 1);
        st_d = StCopyWr;
      end
      StCopyWr: begin
        // ... and goes to index n/2 of the next level: bank bit 0 of n/2, entry n/4.
        waddr = AddrW'(n_q >> 2);
        wdata = rdata_even_q;
        we_even = ~n_q[1];
        we_odd = n_q[1];
        n_d = (n_q >> 1) + CntW'(1);
        pair_d = '0;
        st_d = StLevel;
      end
      StRootRd: begin
        raddr = '0;
        st_d = StRootWait;
      end
      StRootWait: begin
        root_d = rdata_even_q;
        st_d = StOut;
      end
      StErrDrain: begin
        if (!rd_valid_q && !iss_valid_q && inflight_q == 6'd0) begin
          root_d = '0;
          st_d = StOut;
        end
      end
      StOut: begin
        if (out_ready_i) begin
          st_d = StIdle;
        end
      end
      default: begin
        st_d = StIdle;
      end
    endcase

    // The frame's end against its declared contents.
    in_take = in_valid_i & in_ready_o;
    if (in_take && (st_q == StIdle || st_q == StLen || st_q == StData || st_q == StNode)) begin
      if (stat_d != vigil_card_regs_pkg::StatusOk) begin
        // BAD_HEADER, TOO_MANY, TOO_LONG: discard to in_last_i.
        abort = 1'b1;
        st_d = in_last_i ? StErrDrain : StDiscard;
      end else if (is_final && !in_last_i) begin
        stat_d = vigil_card_regs_pkg::StatusFrameLong;
        abort = 1'b1;
        st_d = StDiscard;
      end else if (!is_final && in_last_i) begin
        stat_d = vigil_card_regs_pkg::StatusFrameShort;
        abort = 1'b1;
        st_d = StErrDrain;
      end else if (is_final && st_q != StIdle) begin
        st_d = StHash;
      end
    end
    if (abort) begin
      // What is in flight still leaves the core (StErrDrain waits for it); nothing new
      // is issued for this request.
      hs_d = HIdle;
      buf_full_d = 1'b0;
      wait_d = 1'b0;
    end

    inflight_d = inflight_q + {5'd0, iss_load} - {5'd0, core_out_valid};
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      st_q <= StIdle;
      hs_q <= HIdle;
      wait_q <= 1'b0;
      buf_full_q <= 1'b0;
      iss_valid_q <= 1'b0;
      inflight_q <= '0;
      rd_valid_q <= 1'b0;
      stat_q <= vigil_card_regs_pkg::StatusOk;
    end else begin
      st_q <= st_d;
      hs_q <= hs_d;
      wait_q <= wait_d;
      buf_full_q <= buf_full_d;
      iss_valid_q <= iss_valid_d;
      inflight_q <= inflight_d;
      rd_valid_q <= rd_valid_d;
      stat_q <= stat_d;
    end
  end

  always_ff @(posedge clk_i) begin
    count_q <= count_d;
    item_q <= item_d;
    rem_q <= rem_d;
    wpos_q <= wpos_d;
    bpos_q <= bpos_d;
    chunk_q <= chunk_d;
    buf_q <= buf_d;
    buf_words_q <= buf_words_d;
    buf_len_q <= buf_len_d;
    buf_start_q <= buf_start_d;
    buf_end_q <= buf_end_d;
    buf_last_q <= buf_last_d;
    buf_root_q <= buf_root_d;
    buf_chunk_q <= buf_chunk_d;
    cv_q <= cv_d;
    stack_q <= stack_d;
    sp_q <= sp_d;
    mtot_q <= mtot_d;
    hleaf_q <= hleaf_d;
    iss_cv_q <= iss_cv_d;
    iss_block_q <= iss_block_d;
    iss_counter_q <= iss_counter_d;
    iss_len_q <= iss_len_d;
    iss_flags_q <= iss_flags_d;
    iss_tag_q <= iss_tag_d;
    n_q <= n_d;
    pair_q <= pair_d;
    rd_idx_q <= rd_idx_d;
    root_q <= root_d;
  end

  assign out_valid_o = (st_q == StOut);
  assign out_root_o = root_q;
  assign out_status_o = stat_q;
  assign busy_o = (st_q != StIdle);
  assign compress_o = iss_valid_q & core_in_ready;

endmodule
