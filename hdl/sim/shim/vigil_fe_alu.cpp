// C entry points to the Verilator model of vigil_fe_alu (TagWidth = 32), for the Rust
// wrapper in hdl/sim/src/ffi.rs. The handle operations every DUT shares are in model.h /
// model.cpp.
//
// The ALU has no handshake (one operation per clock, no backpressure): it is a
// vigil_shim::Model<Top, false> (model.h).
//
// Every function takes a handle made by vigil_fe_alu_new and not yet freed. Field
// elements are u32 arrays of 8 words, word i = bits [32i +: 32] (Verilator's VlWide
// layout); bit 255 (word 7's top bit) is not a port bit and is ignored.

#include <cstdint>

#include "Vvigil_fe_alu.h"
#include "model.h"

namespace {

using Top = Vvigil_fe_alu;

Top& top(void* h) { return vigil_shim::top<Top, false>(h); }

}  // namespace

extern "C" {

void* vigil_fe_alu_new(void) { return vigil_shim::make<Top, false>("vigil_fe_alu"); }

void vigil_fe_alu_set_in(void* h, uint8_t valid, uint8_t op, const uint32_t* a,
                         const uint32_t* b, uint32_t tag) {
    Top& t = top(h);
    t.in_valid_i = valid & 1u;
    t.in_op_i = op & 3u;
    vigil_shim::set_fe(t.in_a_i, a);
    vigil_shim::set_fe(t.in_b_i, b);
    t.in_tag_i = tag;
}

void vigil_fe_alu_out(void* h, uint32_t* r, uint32_t* tag) {
    Top& t = top(h);
    for (int i = 0; i < 8; ++i) r[i] = t.out_r_o[i];
    *tag = t.out_tag_o;
}

}  // extern "C"
