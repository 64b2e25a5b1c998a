// C entry points to the Verilator model of vigil_card_top (the whole card: registers,
// streams, engines), for the Rust wrapper in hdl/sim/src/ffi.rs. The handle operations
// every DUT shares (reset, clock, in_ready/out_valid, out_ready) are in model.h /
// model.cpp.
//
// Every function takes a handle made by vigil_card_top_new and not yet freed.

// build.rs compiles this file once per card model: the default one, and each variant
// with more engines, verilated under its own name (prefix V<name>) and given here as
// VIGIL_CARD_NAME (e.g. vigil_card_top_e2: model Vvigil_card_top_e2, entry points
// vigil_card_top_e2_new, ...).

#include <cstdint>

#include "model.h"

#ifndef VIGIL_CARD_NAME
#define VIGIL_CARD_NAME vigil_card_top
#endif
#define VIGIL_CAT2(a, b) a##b
#define VIGIL_CAT(a, b) VIGIL_CAT2(a, b)
#define VIGIL_STR2(x) #x
#define VIGIL_STR(x) VIGIL_STR2(x)
#define VIGIL_CARD_MODEL VIGIL_CAT(V, VIGIL_CARD_NAME)
#define VIGIL_CARD_FN(f) VIGIL_CAT(VIGIL_CARD_NAME, VIGIL_CAT(_, f))
#include VIGIL_STR(VIGIL_CARD_MODEL.h)

using Top = VIGIL_CARD_MODEL;

extern "C" {

void* VIGIL_CARD_FN(new)(void) { return vigil_shim::make<Top>("vigil_card_top"); }

// The request stream's inputs.
void VIGIL_CARD_FN(set_in)(void* h, uint8_t valid, uint64_t data, uint8_t last) {
    Top& t = vigil_shim::top<Top>(h);
    t.in_valid_i = valid & 1u;
    t.in_data_i = data;
    t.in_last_i = last & 1u;
}

// The response stream's outputs.
void VIGIL_CARD_FN(out)(void* h, uint64_t* data, uint8_t* last) {
    Top& t = vigil_shim::top<Top>(h);
    *data = t.out_data_o;
    *last = t.out_last_o;
}

// The AXI-Lite master's outputs (the card's inputs).
void VIGIL_CARD_FN(set_axil)(void* h, uint8_t awvalid, uint32_t awaddr, uint8_t wvalid,
                             uint32_t wdata, uint8_t wstrb, uint8_t bready, uint8_t arvalid,
                             uint32_t araddr, uint8_t rready) {
    Top& t = vigil_shim::top<Top>(h);
    t.s_axil_awvalid_i = awvalid & 1u;
    t.s_axil_awaddr_i = awaddr & 0xFFFu;
    t.s_axil_wvalid_i = wvalid & 1u;
    t.s_axil_wdata_i = wdata;
    t.s_axil_wstrb_i = wstrb & 0xFu;
    t.s_axil_bready_i = bready & 1u;
    t.s_axil_arvalid_i = arvalid & 1u;
    t.s_axil_araddr_i = araddr & 0xFFFu;
    t.s_axil_rready_i = rready & 1u;
}

// The card's AXI-Lite outputs: bit 0 awready, 1 wready, 2 bvalid, 3 arready, 4 rvalid;
// bits 9:8 bresp, 11:10 rresp. *rdata is the read data.
uint32_t VIGIL_CARD_FN(axil)(void* h, uint32_t* rdata) {
    Top& t = vigil_shim::top<Top>(h);
    *rdata = t.s_axil_rdata_o;
    return (uint32_t(t.s_axil_awready_o) << 0) | (uint32_t(t.s_axil_wready_o) << 1) |
           (uint32_t(t.s_axil_bvalid_o) << 2) | (uint32_t(t.s_axil_arready_o) << 3) |
           (uint32_t(t.s_axil_rvalid_o) << 4) | (uint32_t(t.s_axil_bresp_o) << 8) |
           (uint32_t(t.s_axil_rresp_o) << 10);
}

}  // extern "C"
