// C entry points to the Verilator model of vigil_fe_addsub (TagWidth = 32), for the Rust
// wrapper in hdl/sim/src/ffi.rs. The handle operations every DUT shares are in model.h /
// model.cpp.
//
// Like vigil_fe_alu, the adder unit has no handshake (one operation per clock, no
// backpressure), so it cannot use vigil_shim::Model (which drives in_ready_o and
// out_ready_i). FeAddSubModel is the same model behind the same Handle, with in_ready
// always 1 and set_out_ready ignored; the shared vigil_model_* entry points work on it
// unchanged.
//
// Every function takes a handle made by vigil_fe_addsub_new and not yet freed. Field
// elements are u32 arrays of 8 words, word i = bits [32i +: 32] (Verilator's VlWide
// layout); bit 255 (word 7's top bit) is not a port bit and is ignored.

#include <cstdint>

#include "Vvigil_fe_addsub.h"
#include "model.h"

namespace {

using Top = Vvigil_fe_addsub;

struct FeAddSubModel final : vigil_shim::Handle {
    VerilatedContext ctx;
    Top top;

    FeAddSubModel() : ctx(), top(&ctx, "vigil_fe_addsub") {
        top.clk_i = 0;
        top.rst_ni = 0;
        top.in_valid_i = 0;
        top.eval();
    }
    ~FeAddSubModel() override { top.final(); }

    void set_rst_n(uint8_t rst_n) override { top.rst_ni = rst_n & 1u; }
    void set_out_ready(uint8_t) override {}
    void eval() override { top.eval(); }
    void tick() override {
        top.clk_i = 1;
        top.eval();
        top.clk_i = 0;
        top.eval();
        ctx.timeInc(1);
    }
    uint8_t in_ready() override { return 1; }
    uint8_t out_valid() override { return top.out_valid_o; }
};

Top& top(void* h) {
    return static_cast<FeAddSubModel*>(static_cast<vigil_shim::Handle*>(h))->top;
}

}  // namespace

extern "C" {

void* vigil_fe_addsub_new(void) {
    return static_cast<vigil_shim::Handle*>(new FeAddSubModel());
}

void vigil_fe_addsub_set_in(void* h, uint8_t valid, uint8_t sub, uint8_t dbl,
                            const uint32_t* a, const uint32_t* b, uint32_t tag) {
    Top& t = top(h);
    t.in_valid_i = valid & 1u;
    t.in_sub_i = sub & 1u;
    t.in_dbl_i = dbl & 1u;
    for (int i = 0; i < 8; ++i) {
        uint32_t mask = i == 7 ? 0x7FFFFFFFu : 0xFFFFFFFFu;
        t.in_a_i[i] = a[i] & mask;
        t.in_b_i[i] = b[i] & mask;
    }
    t.in_tag_i = tag;
}

void vigil_fe_addsub_out(void* h, uint32_t* r, uint32_t* tag) {
    Top& t = top(h);
    for (int i = 0; i < 8; ++i) r[i] = t.out_r_o[i];
    *tag = t.out_tag_o;
}

}  // extern "C"
