// C entry points to the Verilator model of vigil_blake3_compress (built with
// TagWidth = 32), for the Rust wrapper in hdl/sim/src/ffi.rs.
//
// A handle owns its own VerilatedContext, so models in different threads (cargo test
// runs tests in parallel) share no simulation state. Every function takes a handle made
// by vigil_blake3_compress_new and not yet freed. Word vectors are u32 arrays, word i
// = bits [32i +: 32] of the port, which is Verilator's own VlWide layout.

#include <cstdint>

#include "Vvigil_blake3_compress.h"
#include "verilated.h"

namespace {

struct Model {
    VerilatedContext ctx;
    Vvigil_blake3_compress top;
    Model() : ctx(), top(&ctx, "vigil_blake3_compress") {}
};

}  // namespace

extern "C" {

void* vigil_blake3_compress_new(void) {
    Model* m = new Model();
    m->top.clk_i = 0;
    m->top.rst_ni = 0;
    m->top.in_valid_i = 0;
    m->top.out_ready_i = 0;
    m->top.eval();
    return m;
}

void vigil_blake3_compress_free(void* h) {
    Model* m = static_cast<Model*>(h);
    m->top.final();
    delete m;
}

void vigil_blake3_compress_set_rst_n(void* h, uint8_t rst_n) {
    static_cast<Model*>(h)->top.rst_ni = rst_n & 1u;
}

void vigil_blake3_compress_set_in(void* h, uint8_t valid, const uint32_t* cv,
                                  const uint32_t* block, uint64_t counter,
                                  uint32_t block_len, uint32_t flags, uint32_t tag) {
    Vvigil_blake3_compress& t = static_cast<Model*>(h)->top;
    t.in_valid_i = valid & 1u;
    for (int i = 0; i < 8; ++i) t.in_cv_i[i] = cv[i];
    for (int i = 0; i < 16; ++i) t.in_block_i[i] = block[i];
    t.in_counter_i = counter;
    t.in_block_len_i = block_len;
    t.in_flags_i = flags;
    t.in_tag_i = tag;
}

void vigil_blake3_compress_set_out_ready(void* h, uint8_t ready) {
    static_cast<Model*>(h)->top.out_ready_i = ready & 1u;
}

// Settles the combinational logic after inputs changed.
void vigil_blake3_compress_eval(void* h) { static_cast<Model*>(h)->top.eval(); }

// One clock cycle: a rising edge, then the falling edge.
void vigil_blake3_compress_tick(void* h) {
    Model* m = static_cast<Model*>(h);
    m->top.clk_i = 1;
    m->top.eval();
    m->top.clk_i = 0;
    m->top.eval();
    m->ctx.timeInc(1);
}

uint8_t vigil_blake3_compress_in_ready(void* h) {
    return static_cast<Model*>(h)->top.in_ready_o;
}

uint8_t vigil_blake3_compress_out_valid(void* h) {
    return static_cast<Model*>(h)->top.out_valid_o;
}

void vigil_blake3_compress_out(void* h, uint32_t* state, uint32_t* tag) {
    Vvigil_blake3_compress& t = static_cast<Model*>(h)->top;
    for (int i = 0; i < 16; ++i) state[i] = t.out_state_o[i];
    *tag = t.out_tag_o;
}

}  // extern "C"
