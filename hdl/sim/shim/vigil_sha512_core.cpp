// C entry points to the Verilator model of vigil_sha512_core (built with TagWidth = 32),
// for the Rust wrapper in hdl/sim/src/ffi.rs.
//
// A handle owns its own VerilatedContext (see vigil_blake3_compress.cpp). Every function
// takes a handle made by vigil_sha512_core_new and not yet freed. Wide ports are u32
// arrays, word i = bits [32i +: 32] of the port (Verilator's VlWide layout).

#include <cstdint>

#include "Vvigil_sha512_core.h"
#include "verilated.h"

namespace {

struct Model {
    VerilatedContext ctx;
    Vvigil_sha512_core top;
    Model() : ctx(), top(&ctx, "vigil_sha512_core") {}
};

}  // namespace

extern "C" {

void* vigil_sha512_core_new(void) {
    Model* m = new Model();
    m->top.clk_i = 0;
    m->top.rst_ni = 0;
    m->top.in_valid_i = 0;
    m->top.out_ready_i = 0;
    m->top.eval();
    return m;
}

void vigil_sha512_core_free(void* h) {
    Model* m = static_cast<Model*>(h);
    m->top.final();
    delete m;
}

void vigil_sha512_core_set_rst_n(void* h, uint8_t rst_n) {
    static_cast<Model*>(h)->top.rst_ni = rst_n & 1u;
}

void vigil_sha512_core_set_in(void* h, uint8_t valid, uint64_t data, uint8_t last,
                              uint8_t bytes, uint32_t tag) {
    Vvigil_sha512_core& t = static_cast<Model*>(h)->top;
    t.in_valid_i = valid & 1u;
    t.in_data_i = data;
    t.in_last_i = last & 1u;
    t.in_bytes_i = bytes & 0xFu;
    t.in_tag_i = tag;
}

void vigil_sha512_core_set_out_ready(void* h, uint8_t ready) {
    static_cast<Model*>(h)->top.out_ready_i = ready & 1u;
}

// Settles the combinational logic after inputs changed.
void vigil_sha512_core_eval(void* h) { static_cast<Model*>(h)->top.eval(); }

// One clock cycle: a rising edge, then the falling edge.
void vigil_sha512_core_tick(void* h) {
    Model* m = static_cast<Model*>(h);
    m->top.clk_i = 1;
    m->top.eval();
    m->top.clk_i = 0;
    m->top.eval();
    m->ctx.timeInc(1);
}

uint8_t vigil_sha512_core_in_ready(void* h) {
    return static_cast<Model*>(h)->top.in_ready_o;
}

uint8_t vigil_sha512_core_out_valid(void* h) {
    return static_cast<Model*>(h)->top.out_valid_o;
}

void vigil_sha512_core_out(void* h, uint32_t* digest, uint32_t* k, uint32_t* tag) {
    Vvigil_sha512_core& t = static_cast<Model*>(h)->top;
    for (int i = 0; i < 16; ++i) digest[i] = t.out_digest_o[i];
    for (int i = 0; i < 8; ++i) k[i] = t.out_k_o[i];
    *tag = t.out_tag_o;
}

}  // extern "C"
