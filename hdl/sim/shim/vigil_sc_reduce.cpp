// C entry points to the Verilator model of vigil_sc_reduce, for the Rust wrapper in
// hdl/sim/src/ffi.rs.
//
// A handle owns its own VerilatedContext (see vigil_blake3_compress.cpp). Every function
// takes a handle made by vigil_sc_reduce_new and not yet freed. Wide ports are u32
// arrays, word i = bits [32i +: 32] of the port (Verilator's VlWide layout).

#include <cstdint>

#include "Vvigil_sc_reduce.h"
#include "verilated.h"

namespace {

struct Model {
    VerilatedContext ctx;
    Vvigil_sc_reduce top;
    Model() : ctx(), top(&ctx, "vigil_sc_reduce") {}
};

}  // namespace

extern "C" {

void* vigil_sc_reduce_new(void) {
    Model* m = new Model();
    m->top.clk_i = 0;
    m->top.rst_ni = 0;
    m->top.in_valid_i = 0;
    m->top.out_ready_i = 0;
    m->top.eval();
    return m;
}

void vigil_sc_reduce_free(void* h) {
    Model* m = static_cast<Model*>(h);
    m->top.final();
    delete m;
}

void vigil_sc_reduce_set_rst_n(void* h, uint8_t rst_n) {
    static_cast<Model*>(h)->top.rst_ni = rst_n & 1u;
}

void vigil_sc_reduce_set_in(void* h, uint8_t valid, const uint32_t* x) {
    Vvigil_sc_reduce& t = static_cast<Model*>(h)->top;
    t.in_valid_i = valid & 1u;
    for (int i = 0; i < 16; ++i) t.in_x_i[i] = x[i];
}

void vigil_sc_reduce_set_out_ready(void* h, uint8_t ready) {
    static_cast<Model*>(h)->top.out_ready_i = ready & 1u;
}

// Settles the combinational logic after inputs changed.
void vigil_sc_reduce_eval(void* h) { static_cast<Model*>(h)->top.eval(); }

// One clock cycle: a rising edge, then the falling edge.
void vigil_sc_reduce_tick(void* h) {
    Model* m = static_cast<Model*>(h);
    m->top.clk_i = 1;
    m->top.eval();
    m->top.clk_i = 0;
    m->top.eval();
    m->ctx.timeInc(1);
}

uint8_t vigil_sc_reduce_in_ready(void* h) { return static_cast<Model*>(h)->top.in_ready_o; }

uint8_t vigil_sc_reduce_out_valid(void* h) {
    return static_cast<Model*>(h)->top.out_valid_o;
}

void vigil_sc_reduce_out(void* h, uint32_t* k) {
    Vvigil_sc_reduce& t = static_cast<Model*>(h)->top;
    for (int i = 0; i < 8; ++i) k[i] = t.out_k_o[i];
}

}  // extern "C"
