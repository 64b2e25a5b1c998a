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
// final compression (the last block of a one-chunk leaf, else the topmost parent).
// Several leaves are hashed at once, so that a leaf's chaining compressions (each
// waiting for its predecessor, 32 cycles) overlap with other leaves' and leaves longer
// than a block run at the input rate:
//
// - Contexts (parameter, 8): each holds one leaf: its length, index, blocks issued,
//   state (HBlock / HMerge / HFinal as below, HIdle = free), the CV stack pointer and
//   the chunk count for merging, and a "chaining compression in flight" bit. Leaves
//   take contexts in turn (leaf i in context i mod Contexts); a length word waits until
//   its context is free, i.e. its previous leaf's final compression has been issued.
// - Block queues: one RAM of Contexts x QueueBlocks (32) blocks of 512 bits (block
//   RAM), a ring per context. Input words are assembled into a block (the final word's
//   padding and the words after it zeroed) and written to the receiving leaf's queue
//   as its last word arrives; an empty leaf writes one zero block. When that queue is
//   full the input waits (backpressure): correct for any leaf length, and input-bound
//   as long as a leaf's backlog fits (up to about 2.7 KiB per leaf at the full rate).
//   A block's place in the leaf (CHUNK_START, CHUNK_END, ROOT, block_len, counter)
//   is computed at issue from the context's length and blocks issued, not stored.
// - Chaining values: per context StackDepth + 1 slots of 256 bits, slots 0..sp-1 the
//   CV stack of log2(MaxLeafBytes/1024) entries and slot sp the running chaining
//   value, in two banks (even and odd slot, distributed RAM) so that a parent reads
//   slots sp-1 and sp in one cycle. A push is only sp + 1 (the value stays in place).
// - The issuer: each cycle it picks, round robin, one context whose next compression
//   can go: HBlock with a block queued and no compression in flight; HMerge with an
//   even chunk count (a parent of slots sp-1, sp into slot sp-1); HFinal (the same,
//   the merge with sp = 1 being the leaf's ROOT). The pick updates the context's state
//   at once and starts the RAM reads (queue block, slots); the next cycle the pick
//   register fills the issue register from the RAM outputs; the core follows.
//
// The chunk tree merges eagerly, as before: after a chunk that is not the leaf's last,
// parents are made while the count of chunks done is even (those subtrees are complete:
// they lie inside the leaf), then the chaining value is pushed; after the last chunk it
// is merged with the stack from the top. This is BLAKE3's tree (left subtree = largest
// power of two of chunks below the total), the same shape as the Merkle tree itself.
//
// The core's tag says where a result goes: bit TagW-1 set = "write the hash (leaf, node
// or EMPTY) to the RAM at index tag[IdxW-1:0]", clear = "chaining value for context
// tag[SpW +: CtxW], slot tag[SpW-1:0]" (which also clears that context's in-flight
// bit). A leaf's final compression is not waited for: its context is free at once.
// TagW = 1 + max(IdxW, CtxW + SpW) = 13, as before.
//
// Count 0 issues one compression, EMPTY (an empty block under MerkleEmptyKey with
// MerkleOneBlockFlags), written to index 0; count 1 needs no node level: the root is
// then always entry 0, read from the RAM.
//
// Cycles (measured by hdl/tb/vigil_merkle_engine.rs, cycle_counts: no stalls, from the
// first word offered to the result taken; `cargo test -p vigil-hdl-sim --test
// vigil_merkle_engine -- --nocapture cycle_counts`, run 2026-12-05 on the 2-core
// development VM, Verilator 5.006, working tree over commit 0c4be59). The
// input runs at one word per clock for leaves up to about 2.7 KiB: 1000 leaves of 64
// bytes (9,001 words) take 10,361 cycles, of 200 bytes (26,001 words) 27,440 (27.4 per
// leaf; 103,360 before leaves were interleaved), of 1232 bytes (155,001 words) 156,856
// (156.9 per leaf; 631,360 before). A chaining step costs 32 cycles (pick, RAM read,
// issue register, the core's 29, the result), so a context hashes a leaf of c
// compressions in about 32 c cycles; since a block (8 words) costs at most 1.07
// compressions, about 4.3 leaves in flight keep up with the input, and there are 8.
// What limits longer leaves is the queue: a leaf's blocks arrive every 8 cycles and
// leave every 32, so 32 queued blocks hold the backlog of a leaf of about 42 blocks;
// a longer leaf fills its queue, and the rest of its input enters at its chain's rate
// while the other contexts run dry (leaves enter in order): 100 leaves of 4096 bytes
// (51,301 words) take 102,580 cycles (1,026 per leaf; about 2,056 before, by the old
// formula 31 (c - 1) + 10). One leaf of MaxLeafBytes is latency-bound as before (32
// cycles per compression). A node level of n nodes costs n/2 issue cycles plus about
// 35 (drain, and 2 to copy an odd node): 1000 nodes (MERKLE_NODES, 4,001 words) take
// 5,329 cycles; EMPTY takes 37.
//
// fmax (reasoning only, no Vivado run; target 250 MHz as for the core): every
// compression enters the core from an issue register and every result is used from the
// core's output register, so no path runs from the ports or the RAMs into the core's
// first adders; the RAMs' read data is registered before it is used. The issue
// register's input is a mux of 4 sources (queue RAM, slot RAMs, node pair, EMPTY). The
// issuer's pick (8 ready bits, round robin) feeds the context state and the RAM
// addresses: a priority pick over 8, then an 8:1 mux of the context's fields and the
// block-position arithmetic (a 17-bit subtract and compare), about 6-8 LUT levels; if
// it misses, precompute each context's next-block flags in registers. The input path
// (in_data_i through a 32-bit compare and the status decision) is as before, about 5-6
// LUT levels; registering the input word fixes it if needed.
//
// Resources (hdl/synth.sh vigil_merkle_engine, Yosys 0.23 synth_xilinx -family xcup,
// 2026-12-05, same tree): without the core, Yosys LC estimate 3,111 (4,687 for the
// one-leaf engine on the same day), 2,696 flip-flops (3,548), 73 RAMB18E2 (58: the 15
// more are the queues) and 38 RAM32M16 (the chaining-value slots); with the core
// 19,019 (20,804).
//
// The core's out_ready_i is tied high: every result is consumed in the cycle it appears
// (a RAM write: node RAM or chaining-value slot), so the core never stalls and its
// in_ready_o is always high. The issuer picks only while it is high; the pick register
// then loads the issue register the next cycle unconditionally, which relies on that.
//
// Reset: rst_ni is synchronous and active-low, as in the other cores. It clears the
// control state; data registers and RAMs are not reset.

`default_nettype none

module vigil_merkle_engine #(
  parameter int unsigned MaxLeaves    = 4096,   // power of two, >= 2 (tested: 4096)
  parameter int unsigned MaxLeafBytes = 65536,  // multiple of 1024 (tested: 65536)
  parameter int unsigned Contexts     = 8,      // leaves hashed at once, power of two >= 2
  parameter int unsigned QueueBlocks  = 32      // blocks queued per context, power of two
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
  localparam int unsigned SpW = $clog2(StackDepth + 1);         // a slot (0..StackDepth)
  localparam int unsigned LenW = $clog2(MaxLeafBytes + 1);      // a leaf length
  localparam int unsigned BlkW = $clog2(MaxLeafBytes / 64);     // a block of a leaf
  localparam int unsigned CtxW = $clog2(Contexts);              // a context
  localparam int unsigned QW = $clog2(QueueBlocks);             // a queue entry
  localparam int unsigned PtrW = QW + 1;                        // a queue pointer
  localparam int unsigned QDepth = Contexts * QueueBlocks;      // queue RAM entries
  localparam int unsigned SlotAW = (SpW > 1) ? SpW - 1 : 1;     // a slot within its bank
  localparam int unsigned SlotDepth = Contexts * (1 << SlotAW); // entries per slot bank
  localparam int unsigned MtW = ChunkW + 1;                     // chunks done
  // Tag: bit TagW-1 set = a hash for the node RAM at index [IdxW-1:0]; clear = a
  // chaining value for context [SpW +: CtxW], slot [SpW-1:0].
  localparam int unsigned TagW = 1 + ((IdxW > CtxW + SpW) ? IdxW : CtxW + SpW);
  localparam logic [MtW-1:0] MtotOne = 1;

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

  // A context's state.
  localparam logic [1:0] HIdle  = 2'd0;   // free (no leaf, or its final compression issued)
  localparam logic [1:0] HBlock = 2'd1;   // issue the next queued block when ready
  localparam logic [1:0] HMerge = 2'd2;   // after a chunk (not the last): merge, push
  localparam logic [1:0] HFinal = 2'd3;   // after the last chunk: merge with the stack

  logic [3:0]            st_d, st_q;
  logic [7:0]            stat_d, stat_q;
  logic [CntW-1:0]       count_d, count_q;       // leaves (nodes) declared
  logic [CntW-1:0]       item_d, item_q;         // leaves (nodes) received whole
  logic [LenW-1:0]       rem_d, rem_q;           // bytes of the leaf still to come
  logic [2:0]            wpos_d, wpos_q;         // word of the block (node) being filled
  logic [447:0]          asm_d, asm_q;           // words 0..6 of the block being filled
  logic [CtxW-1:0]       fctx_d, fctx_q;         // the context of the leaf being received

  // The contexts, context c in [W*c +: W] of each vector.
  logic [2*Contexts-1:0]    hs_d, hs_q;
  logic [Contexts-1:0]      wait_d, wait_q;      // a chaining compression is in flight
  logic [SpW*Contexts-1:0]  sp_d, sp_q;          // CV stack entries (slot of the cv)
  logic [MtW*Contexts-1:0]  mtot_d, mtot_q;      // chunks done, shifted per merge
  logic [BlkW*Contexts-1:0] blk_d, blk_q;        // blocks of the leaf issued
  logic [LenW*Contexts-1:0] clen_d, clen_q;      // the leaf's length
  logic [IdxW*Contexts-1:0] cleaf_d, cleaf_q;    // the leaf's index
  logic [PtrW*Contexts-1:0] head_d, head_q;      // queue: next block to issue
  logic [PtrW*Contexts-1:0] tail_d, tail_q;      // queue: next block to write
  logic [CtxW-1:0]          rr_d, rr_q;          // round robin: first context to look at

  // The pick register: a compression chosen last cycle, its RAM reads now on the outputs.
  logic                  pk_valid_d, pk_valid_q;
  logic                  pk_parent_d, pk_parent_q;   // a parent (else a queued block)
  logic                  pk_key_d, pk_key_q;         // cv = MerkleLeafKey
  logic                  pk_sp0_d, pk_sp0_q;         // bit 0 of the slot holding the cv
  logic [31:0]           pk_flags_d, pk_flags_q;
  logic [ChunkW-1:0]     pk_counter_d, pk_counter_q;
  logic [6:0]            pk_len_d, pk_len_q;
  logic [TagW-1:0]       pk_tag_d, pk_tag_q;

  // The issue register, in front of the core.
  logic                  iss_valid_d, iss_valid_q;
  logic [255:0]          iss_cv_d, iss_cv_q;
  logic [511:0]          iss_block_d, iss_block_q;
  logic [ChunkW-1:0]     iss_counter_d, iss_counter_q;
  logic [6:0]            iss_len_d, iss_len_q;
  logic [31:0]           iss_flags_d, iss_flags_q;
  logic [TagW-1:0]       iss_tag_d, iss_tag_q;
  logic [5:0]            inflight_d, inflight_q;  // picked, not yet out of the core

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
  // The block queues: one RAM, context c's queue at entries c * QueueBlocks + 0..Q-1.

  logic [511:0] qmem [0:QDepth-1];
  logic                 q_we;
  logic [CtxW+QW-1:0]   q_waddr, q_raddr;
  logic [511:0]         q_wdata, q_rdata_q;

  always_ff @(posedge clk_i) begin
    if (q_we) begin
      qmem[q_waddr] <= q_wdata;
    end
    q_rdata_q <= qmem[q_raddr];
  end

  // ------------------------------------------------------------------------------------
  // The chaining values: per context StackDepth + 1 slots, the CV stack (slots
  // 0..sp-1) and the running chaining value (slot sp). Two banks, even and odd slot, so
  // a parent reads slots sp-1 and sp in one cycle; slot s of context c is entry
  // {c, s >> 1} of bank s[0].

  logic [255:0] slot_even [0:SlotDepth-1];
  logic [255:0] slot_odd  [0:SlotDepth-1];
  logic                   s_we_even, s_we_odd;
  logic [CtxW+SlotAW-1:0] s_waddr, s_raddr_even, s_raddr_odd;
  logic [255:0]           s_rdata_even_q, s_rdata_odd_q;

  always_ff @(posedge clk_i) begin
    if (s_we_even) begin
      slot_even[s_waddr] <= core_out_state[255:0];
    end
    s_rdata_even_q <= slot_even[s_raddr_even];
  end

  always_ff @(posedge clk_i) begin
    if (s_we_odd) begin
      slot_odd[s_waddr] <= core_out_state[255:0];
    end
    s_rdata_odd_q <= slot_odd[s_raddr_odd];
  end

  // ------------------------------------------------------------------------------------
  // Combinational helpers (from registers only, but for the input word's masking).

  // Contexts ready to issue: a queued block whose chaining value is back, or a parent.
  logic [Contexts-1:0] rdy;
  logic                all_idle;
  always_comb begin
    all_idle = 1'b1;
    for (int unsigned c = 0; c < Contexts; c++) begin
      rdy[c] = ~wait_q[c]
             & (((hs_q[2*c +: 2] == HBlock) & (head_q[PtrW*c +: PtrW] != tail_q[PtrW*c +: PtrW]))
               | ((hs_q[2*c +: 2] == HMerge) & ~mtot_q[MtW*c])
               | (hs_q[2*c +: 2] == HFinal));
      if (hs_q[2*c +: 2] != HIdle) begin
        all_idle = 1'b0;
      end
    end
  end

  // Round robin from rr_q: the context issued this cycle.
  logic            pick;
  logic [CtxW-1:0] pc;
  always_comb begin
    pick = 1'b0;
    pc = '0;
    for (int unsigned k = 0; k < Contexts; k++) begin
      if (!pick && rdy[rr_q + CtxW'(k)]) begin
        pick = 1'b1;
        pc = rr_q + CtxW'(k);
      end
    end
    // The core never stalls (out_ready_i tied high), so this is always high.
    pick = pick & core_in_ready;
  end

  // The picked context's fields.
  logic [1:0]       p_hs;
  logic [SpW-1:0]   p_sp;
  logic [MtW-1:0]   p_mtot;
  logic [BlkW-1:0]  p_blk;
  logic [LenW-1:0]  p_len;
  logic [IdxW-1:0]  p_leaf;
  logic [PtrW-1:0]  p_head;
  always_comb begin
    p_hs = '0;
    p_sp = '0;
    p_mtot = '0;
    p_blk = '0;
    p_len = '0;
    p_leaf = '0;
    p_head = '0;
    for (int unsigned c = 0; c < Contexts; c++) begin
      if (pc == CtxW'(c)) begin
        p_hs = hs_q[2*c +: 2];
        p_sp = sp_q[SpW*c +: SpW];
        p_mtot = mtot_q[MtW*c +: MtW];
        p_blk = blk_q[BlkW*c +: BlkW];
        p_len = clen_q[LenW*c +: LenW];
        p_leaf = cleaf_q[IdxW*c +: IdxW];
        p_head = head_q[PtrW*c +: PtrW];
      end
    end
  end

  // The picked context's next block: where it lies in the leaf.
  logic [BlkW-1:0]   b_lastblk;
  logic              b_last, b_start, b_end, b_root;
  logic [ChunkW-1:0] b_chunk;
  logic [6:0]        b_len;
  logic [LenW-1:0]   b_off;
  assign b_lastblk = (p_len == '0) ? '0 : BlkW'((p_len - LenW'(1)) >> 6);
  assign b_last = (p_blk == b_lastblk);
  assign b_start = (p_blk[3:0] == 4'd0);
  assign b_end = b_last | (p_blk[3:0] == 4'd15);
  assign b_chunk = ChunkW'(p_blk >> 4);
  assign b_root = b_last & (b_chunk == '0);
  assign b_off = LenW'({p_blk, 6'd0});
  assign b_len = b_last ? 7'(p_len - b_off) : 7'd64;

  // The picked context's slots sp-1 and sp, one in each bank.
  logic [SpW-1:0] p_spm1, p_sp_even, p_sp_odd;
  assign p_spm1 = p_sp - SpW'(1);
  assign p_sp_even = p_sp[0] ? p_spm1 : p_sp;
  assign p_sp_odd = p_sp[0] ? p_sp : p_spm1;

  // The pick register's slots as left (sp-1) and right (sp, the chaining value).
  logic [255:0] pk_left, pk_right;
  assign pk_right = pk_sp0_q ? s_rdata_odd_q : s_rdata_even_q;
  assign pk_left = pk_sp0_q ? s_rdata_even_q : s_rdata_odd_q;

  // The data word's bytes (the leaf's last word may hold fewer than 8).
  logic [3:0]  nbytes;
  logic [63:0] data_masked;
  assign nbytes = (rem_q >= LenW'(8)) ? 4'd8 : 4'(rem_q);
  always_comb begin
    for (int unsigned b = 0; b < 8; b++) begin
      data_masked[8*b +: 8] = (4'(b) < nbytes) ? in_data_i[8*b +: 8] : 8'd0;
    end
  end

  // The block being filled with this word as word wpos, the words after it zeroed.
  logic [511:0] blk_word;
  always_comb begin
    for (int unsigned k = 0; k < 8; k++) begin
      if (3'(k) == wpos_q) begin
        blk_word[64*k +: 64] = data_masked;
      end else if (k < 7 && 3'(k) < wpos_q) begin
        blk_word[64*k +: 64] = asm_q[64*(k % 7) +: 64];
      end else begin
        blk_word[64*k +: 64] = 64'd0;
      end
    end
  end

  // The receiving context: free, and its queue's fill.
  logic            f_idle, f_full;
  logic [PtrW-1:0] f_tail;
  always_comb begin
    f_idle = 1'b0;
    f_full = 1'b0;
    f_tail = '0;
    for (int unsigned c = 0; c < Contexts; c++) begin
      if (fctx_q == CtxW'(c)) begin
        f_idle = (hs_q[2*c +: 2] == HIdle);
        f_full = (tail_q[PtrW*c +: PtrW] - head_q[PtrW*c +: PtrW]) == PtrW'(QueueBlocks);
        f_tail = tail_q[PtrW*c +: PtrW];
      end
    end
  end

  // ------------------------------------------------------------------------------------
  // The state machine.

  logic in_take;    // a request word is taken this cycle
  logic abort;      // an error: stop the leaf hashing
  logic is_final;   // the word taken ends the declared contents
  logic oth_load;   // a node or EMPTY compression enters the issue register
  logic last_word, blk_done;  // of a data word taken
  logic leaf_start; // a good length word taken: its leaf goes to context fctx_q
  logic [TagW-1:0] p_tag_ram, p_tag_cv;

  assign p_tag_ram = {1'b1, (TagW - 1)'(p_leaf)};
  assign p_tag_cv = {1'b0, (TagW - 1)'({pc, p_sp})};

  always_comb begin
    st_d = st_q;
    stat_d = stat_q;
    count_d = count_q;
    item_d = item_q;
    rem_d = rem_q;
    wpos_d = wpos_q;
    asm_d = asm_q;
    fctx_d = fctx_q;
    hs_d = hs_q;
    wait_d = wait_q;
    sp_d = sp_q;
    mtot_d = mtot_q;
    blk_d = blk_q;
    clen_d = clen_q;
    cleaf_d = cleaf_q;
    head_d = head_q;
    tail_d = tail_q;
    rr_d = rr_q;
    pk_valid_d = 1'b0;
    pk_parent_d = pk_parent_q;
    pk_key_d = pk_key_q;
    pk_sp0_d = pk_sp0_q;
    pk_flags_d = pk_flags_q;
    pk_counter_d = pk_counter_q;
    pk_len_d = pk_len_q;
    pk_tag_d = pk_tag_q;
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
    q_we = 1'b0;
    q_waddr = {fctx_q, f_tail[QW-1:0]};
    q_wdata = blk_word;
    q_raddr = {pc, p_head[QW-1:0]};
    s_we_even = 1'b0;
    s_we_odd = 1'b0;
    s_waddr = {core_out_tag[SpW +: CtxW], SlotAW'(core_out_tag[SpW-1:0] >> 1)};
    s_raddr_even = {pc, SlotAW'(p_sp_even >> 1)};
    s_raddr_odd = {pc, SlotAW'(p_sp_odd >> 1)};
    in_ready_o = 1'b0;
    abort = 1'b0;
    is_final = 1'b0;
    oth_load = 1'b0;
    last_word = 1'b0;
    blk_done = 1'b0;
    leaf_start = 1'b0;

    // Results leaving the core: a hash to write, or a context's chaining value.
    if (core_out_valid) begin
      if (core_out_tag[TagW-1]) begin
        waddr = AddrW'(core_out_tag[IdxW-1:0] >> 1);
        we_even = ~core_out_tag[0];
        we_odd = core_out_tag[0];
      end else begin
        s_we_even = ~core_out_tag[0];
        s_we_odd = core_out_tag[0];
        for (int unsigned c = 0; c < Contexts; c++) begin
          if (core_out_tag[SpW +: CtxW] == CtxW'(c)) begin
            wait_d[c] = 1'b0;
          end
        end
      end
    end

    // A context with an odd count of chunks done has no more complete subtrees: push
    // its chaining value (it stays in its slot; the next chunk's goes one slot up).
    for (int unsigned c = 0; c < Contexts; c++) begin
      if (hs_q[2*c +: 2] == HMerge && !wait_q[c] && mtot_q[MtW*c]) begin
        sp_d[SpW*c +: SpW] = sp_q[SpW*c +: SpW] + SpW'(1);
        hs_d[2*c +: 2] = HBlock;
      end
    end

    // The issuer: the picked context's next compression into the pick register (its
    // RAM reads start now).
    if (pick) begin
      rr_d = pc + CtxW'(1);
      pk_valid_d = 1'b1;
      pk_sp0_d = p_sp[0];
      for (int unsigned c = 0; c < Contexts; c++) begin
        if (pc == CtxW'(c)) begin
          if (p_hs == HBlock) begin
            pk_parent_d = 1'b0;
            pk_key_d = b_start;
            pk_flags_d = FlagsDkm
                       | (b_start ? vigil_blake3_pkg::FlagChunkStart : 32'd0)
                       | (b_end ? vigil_blake3_pkg::FlagChunkEnd : 32'd0)
                       | (b_root ? vigil_blake3_pkg::FlagRoot : 32'd0);
            pk_counter_d = b_chunk;
            pk_len_d = b_len;
            head_d[PtrW*c +: PtrW] = p_head + PtrW'(1);
            blk_d[BlkW*c +: BlkW] = p_blk + BlkW'(1);
            if (b_root) begin
              pk_tag_d = p_tag_ram;
              hs_d[2*c +: 2] = HIdle;
            end else begin
              pk_tag_d = p_tag_cv;
              wait_d[c] = 1'b1;
              if (b_end) begin
                hs_d[2*c +: 2] = b_last ? HFinal : HMerge;
                mtot_d[MtW*c +: MtW] = {1'b0, b_chunk} + MtotOne;
              end
            end
          end else begin
            // A parent: left = slot sp-1, right = slot sp, the result to slot sp-1.
            pk_parent_d = 1'b1;
            pk_key_d = 1'b1;
            pk_flags_d = FlagsParent;
            pk_counter_d = '0;
            pk_len_d = 7'd64;
            pk_tag_d = {1'b0, (TagW - 1)'({pc, p_spm1})};
            sp_d[SpW*c +: SpW] = p_spm1;
            wait_d[c] = 1'b1;
            if (p_hs == HMerge) begin
              mtot_d[MtW*c +: MtW] = p_mtot >> 1;
            end else if (p_sp == SpW'(1)) begin
              // The bottom merge of the last chunk: the leaf's ROOT.
              pk_flags_d = FlagsParent | vigil_blake3_pkg::FlagRoot;
              pk_tag_d = p_tag_ram;
              wait_d[c] = 1'b0;
              hs_d[2*c +: 2] = HIdle;
            end
          end
        end
      end
    end

    // The pick register into the issue register.
    if (pk_valid_q) begin
      iss_valid_d = 1'b1;
      iss_cv_d = pk_key_q ? vigil_blake3_pkg::MerkleLeafKey : pk_right;
      iss_block_d = pk_parent_q ? {pk_right, pk_left} : q_rdata_q;
      iss_counter_d = pk_counter_q;
      iss_len_d = pk_len_q;
      iss_flags_d = pk_flags_q;
      iss_tag_d = pk_tag_q;
    end

    // A pair read from the RAM last cycle: its NODE compression.
    if (rd_valid_q) begin
      iss_valid_d = 1'b1;
      oth_load = 1'b1;
      iss_cv_d = vigil_blake3_pkg::MerkleNodeKey;
      iss_block_d = {rdata_odd_q, rdata_even_q};
      iss_counter_d = '0;
      iss_len_d = 7'd64;
      iss_flags_d = vigil_blake3_pkg::MerkleOneBlockFlags;
      iss_tag_d = {1'b1, (TagW - 1)'(rd_idx_q)};
    end

    // The request.
    unique case (st_q)
      StIdle: begin
        in_ready_o = 1'b1;
        if (in_valid_i) begin
          count_d = CntW'(in_data_i[31:0]);
          item_d = '0;
          wpos_d = '0;
          fctx_d = '0;
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
        // The leaf's context must be free (its previous leaf issued whole).
        in_ready_o = f_idle;
        if (in_valid_i && f_idle) begin
          if (in_data_i[63:32] != 32'd0 || in_data_i[31:0] > 32'(MaxLeafBytes)) begin
            stat_d = vigil_card_regs_pkg::StatusTooLong;
          end else begin
            leaf_start = 1'b1;
            wpos_d = '0;
            rem_d = LenW'(in_data_i[31:0]);
            if (in_data_i[31:0] == 32'd0) begin
              // An empty leaf: one empty block, its final compression.
              q_we = 1'b1;
              q_wdata = '0;
              fctx_d = fctx_q + CtxW'(1);
              item_d = item_q + CntW'(1);
              is_final = (item_q + CntW'(1) == count_q);
            end else begin
              st_d = StData;
            end
          end
        end
      end
      StData: begin
        in_ready_o = ~f_full;
        if (in_valid_i && in_ready_o) begin
          last_word = (rem_q <= LenW'(8));
          blk_done = last_word | (wpos_q == 3'd7);
          for (int unsigned k = 0; k < 7; k++) begin
            if (wpos_q == 3'(k)) begin
              asm_d[64*k +: 64] = data_masked;
            end
          end
          rem_d = rem_q - LenW'(nbytes);
          wpos_d = blk_done ? 3'd0 : wpos_q + 3'd1;
          q_we = blk_done;
          if (last_word) begin
            fctx_d = fctx_q + CtxW'(1);
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
          for (int unsigned k = 0; k < 3; k++) begin
            if (wpos_q == 3'(k)) begin
              asm_d[64*k +: 64] = in_data_i;
            end
          end
          wpos_d = wpos_q + 3'd1;
          if (wpos_q == 3'd3) begin
            wpos_d = 3'd0;
            waddr = AddrW'(item_q[IdxW-1:0] >> 1);
            wdata = {in_data_i, asm_q[191:0]};
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
          oth_load = 1'b1;
          iss_cv_d = vigil_blake3_pkg::MerkleEmptyKey;
          iss_block_d = '0;
          iss_counter_d = '0;
          iss_len_d = 7'd0;
          iss_flags_d = vigil_blake3_pkg::MerkleOneBlockFlags;
          iss_tag_d = {1'b1, (TagW - 1)'(0)};
          st_d = StHash;
        end
      end
      StHash: begin
        if (all_idle && !pk_valid_q && !iss_valid_q && inflight_q == 6'd0) begin
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
        if (!rd_valid_q && !pk_valid_q && !iss_valid_q && inflight_q == 6'd0) begin
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

    // A good length word: its leaf takes context fctx_q.
    if (leaf_start) begin
      for (int unsigned c = 0; c < Contexts; c++) begin
        if (fctx_q == CtxW'(c)) begin
          hs_d[2*c +: 2] = HBlock;
          sp_d[SpW*c +: SpW] = '0;
          blk_d[BlkW*c +: BlkW] = '0;
          clen_d[LenW*c +: LenW] = LenW'(in_data_i[31:0]);
          cleaf_d[IdxW*c +: IdxW] = item_q[IdxW-1:0];
        end
      end
    end
    // A block written to the receiving context's queue.
    if (q_we) begin
      for (int unsigned c = 0; c < Contexts; c++) begin
        if (fctx_q == CtxW'(c)) begin
          tail_d[PtrW*c +: PtrW] = f_tail + PtrW'(1);
        end
      end
    end

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
      // What is picked or in flight still leaves the core (StErrDrain waits for it);
      // nothing new is issued for this request: every context is freed, every queue
      // emptied.
      hs_d = '0;
      wait_d = '0;
      head_d = '0;
      tail_d = '0;
    end

    inflight_d = inflight_q + {5'd0, pick} + {5'd0, oth_load} - {5'd0, core_out_valid};
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      st_q <= StIdle;
      hs_q <= '0;
      wait_q <= '0;
      head_q <= '0;
      tail_q <= '0;
      rr_q <= '0;
      pk_valid_q <= 1'b0;
      iss_valid_q <= 1'b0;
      inflight_q <= '0;
      rd_valid_q <= 1'b0;
      stat_q <= vigil_card_regs_pkg::StatusOk;
    end else begin
      st_q <= st_d;
      hs_q <= hs_d;
      wait_q <= wait_d;
      head_q <= head_d;
      tail_q <= tail_d;
      rr_q <= rr_d;
      pk_valid_q <= pk_valid_d;
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
    asm_q <= asm_d;
    fctx_q <= fctx_d;
    sp_q <= sp_d;
    mtot_q <= mtot_d;
    blk_q <= blk_d;
    clen_q <= clen_d;
    cleaf_q <= cleaf_d;
    pk_parent_q <= pk_parent_d;
    pk_key_q <= pk_key_d;
    pk_sp0_q <= pk_sp0_d;
    pk_flags_q <= pk_flags_d;
    pk_counter_q <= pk_counter_d;
    pk_len_q <= pk_len_d;
    pk_tag_q <= pk_tag_d;
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
