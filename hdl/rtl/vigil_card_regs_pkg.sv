// vigil_card_regs_pkg: the card's register map, opcodes, status codes and framing.
//
// GENERATED from hdl/regmap.json by `cargo run -p vigil-regmap -- --write`: do not edit.

`default_nettype none

package vigil_card_regs_pkg;

  // A map of constants: each user takes the ones it needs, so the rest are unused
  // there, by design.
  /* verilator lint_off UNUSEDPARAM */

  localparam logic [31:0] Magic = 32'h5647434c;
  localparam logic [15:0] VersionMajor = 16'd1;
  localparam logic [15:0] VersionMinor = 16'd2;

  // Register byte offsets (AXI-Lite, 32-bit registers, 4 KiB window).
  localparam logic [11:0] RegId = 12'h000;  // ro
  localparam logic [11:0] RegVersion = 12'h004;  // ro
  localparam logic [11:0] RegBuildHashLo = 12'h008;  // ro
  localparam logic [11:0] RegBuildHashHi = 12'h00c;  // ro
  localparam logic [11:0] RegCaps = 12'h010;  // ro
  localparam logic [11:0] RegMaxLeaves = 12'h014;  // ro
  localparam logic [11:0] RegMaxLeafBytes = 12'h018;  // ro
  localparam logic [11:0] RegMaxMessageBytes = 12'h01c;  // ro
  localparam logic [11:0] RegControl = 12'h020;  // rw
  localparam logic [11:0] RegStatus = 12'h024;  // ro
  localparam logic [11:0] RegScratch = 12'h028;  // rw
  localparam logic [11:0] RegLastError = 12'h02c;  // ro
  localparam logic [11:0] RegVerifySlots = 12'h030;  // ro
  localparam logic [11:0] RegRequests = 12'h040;  // ro
  localparam logic [11:0] RegResponses = 12'h044;  // ro
  localparam logic [11:0] RegErrors = 12'h048;  // ro
  localparam logic [11:0] RegCyclesLo = 12'h050;  // ro
  localparam logic [11:0] RegCyclesHi = 12'h054;  // ro
  localparam logic [11:0] RegMerkleBusyCyclesLo = 12'h058;  // ro
  localparam logic [11:0] RegMerkleBusyCyclesHi = 12'h05c;  // ro
  localparam logic [11:0] RegSha512BusyCyclesLo = 12'h060;  // ro
  localparam logic [11:0] RegSha512BusyCyclesHi = 12'h064;  // ro
  localparam logic [11:0] RegCompressionsLo = 12'h068;  // ro
  localparam logic [11:0] RegCompressionsHi = 12'h06c;  // ro
  localparam logic [11:0] RegReqStallCyclesLo = 12'h070;  // ro
  localparam logic [11:0] RegReqStallCyclesHi = 12'h074;  // ro
  localparam logic [11:0] RegRespStallCyclesLo = 12'h078;  // ro
  localparam logic [11:0] RegRespStallCyclesHi = 12'h07c;  // ro
  localparam logic [11:0] RegVerifyBusyCyclesLo = 12'h080;  // ro
  localparam logic [11:0] RegVerifyBusyCyclesHi = 12'h084;  // ro
  localparam logic [11:0] RegFieldOpsLo = 12'h088;  // ro
  localparam logic [11:0] RegFieldOpsHi = 12'h08c;  // ro

  // Register fields: lowest bit and width.
  localparam int unsigned CapsMerkleLsb = 0;
  localparam int unsigned CapsMerkleWidth = 1;
  localparam int unsigned CapsSha512Lsb = 1;
  localparam int unsigned CapsSha512Width = 1;
  localparam int unsigned CapsVerifyLsb = 2;
  localparam int unsigned CapsVerifyWidth = 1;
  localparam int unsigned ControlEnableLsb = 0;
  localparam int unsigned ControlEnableWidth = 1;
  localparam int unsigned ControlClearCountersLsb = 1;
  localparam int unsigned ControlClearCountersWidth = 1;
  localparam int unsigned StatusEnabledLsb = 0;
  localparam int unsigned StatusEnabledWidth = 1;
  localparam int unsigned StatusMerkleBusyLsb = 1;
  localparam int unsigned StatusMerkleBusyWidth = 1;
  localparam int unsigned StatusSha512BusyLsb = 2;
  localparam int unsigned StatusSha512BusyWidth = 1;
  localparam int unsigned StatusResponsePendingLsb = 3;
  localparam int unsigned StatusResponsePendingWidth = 1;
  localparam int unsigned StatusVerifyBusyLsb = 4;
  localparam int unsigned StatusVerifyBusyWidth = 1;
  localparam int unsigned LastErrorStatusLsb = 0;
  localparam int unsigned LastErrorStatusWidth = 8;
  localparam int unsigned LastErrorOpcodeLsb = 8;
  localparam int unsigned LastErrorOpcodeWidth = 8;
  localparam int unsigned VerifySlotsContextsLsb = 0;
  localparam int unsigned VerifySlotsContextsWidth = 8;
  localparam int unsigned VerifySlotsEnginesLsb = 8;
  localparam int unsigned VerifySlotsEnginesWidth = 8;
  localparam int unsigned VerifySlotsSha512CoresLsb = 16;
  localparam int unsigned VerifySlotsSha512CoresWidth = 8;

  // Request operations (request header bits 7:0).
  localparam logic [7:0] OpcodeMerkleRoot = 8'd1;
  localparam logic [7:0] OpcodeMerkleNodes = 8'd2;
  localparam logic [7:0] OpcodeSha512K = 8'd3;
  localparam logic [7:0] OpcodeVerify = 8'd4;

  // Response status (response header bits 15:8). Every status but OK comes with an empty payload.
  localparam logic [7:0] StatusOk = 8'd0;
  localparam logic [7:0] StatusBadOpcode = 8'd1;
  localparam logic [7:0] StatusBadHeader = 8'd2;
  localparam logic [7:0] StatusTooMany = 8'd3;
  localparam logic [7:0] StatusTooLong = 8'd4;
  localparam logic [7:0] StatusFrameShort = 8'd5;
  localparam logic [7:0] StatusFrameLong = 8'd6;
  localparam logic [7:0] StatusDisabled = 8'd7;
  localparam logic [7:0] StatusBadProfile = 8'd8;

  // Stream header fields: lowest bit and width.
  localparam int unsigned ReqOpcodeLsb = 0;
  localparam int unsigned ReqOpcodeWidth = 8;
  localparam int unsigned ReqTagLsb = 32;
  localparam int unsigned ReqTagWidth = 32;
  localparam int unsigned RespOpcodeLsb = 0;
  localparam int unsigned RespOpcodeWidth = 8;
  localparam int unsigned RespStatusLsb = 8;
  localparam int unsigned RespStatusWidth = 8;
  localparam int unsigned RespWordsLsb = 16;
  localparam int unsigned RespWordsWidth = 16;
  localparam int unsigned RespTagLsb = 32;
  localparam int unsigned RespTagWidth = 32;

  /* verilator lint_on UNUSEDPARAM */

endpackage : vigil_card_regs_pkg

`default_nettype wire
