// C entry points to the Verilator model of vigil_blake3_compress (built with
// TagWidth = 32), for the Rust wrapper in hdl/sim/src/ffi.rs. The handle operations
// every DUT shares (reset, clock, handshakes, free) are in model.h / model.cpp.
//
// Every function takes a handle made by vigil_blake3_compress_new and not yet freed.
// Word vectors are u32 arrays, word i = bits [32i +: 32] of the port, which is
// Verilator's own VlWide layout.

#include <cstdint>

#include "Vvigil_blake3_compress.h"
#include "model.h"

using Top = Vvigil_blake3_compress;

extern "C" {

void* vigil_blake3_compress_new(void) {
    return vigil_shim::make<Top>("vigil_blake3_compress");
}

void vigil_blake3_compress_set_in(void* h, uint8_t valid, const uint32_t* cv,
                                  const uint32_t* block, uint64_t counter,
                                  uint32_t block_len, uint32_t flags, uint32_t tag) {
    Top& t = vigil_shim::top<Top>(h);
    t.in_valid_i = valid & 1u;
    for (int i = 0; i < 8; ++i) t.in_cv_i[i] = cv[i];
    for (int i = 0; i < 16; ++i) t.in_block_i[i] = block[i];
    t.in_counter_i = counter;
    t.in_block_len_i = block_len;
    t.in_flags_i = flags;
    t.in_tag_i = tag;
}

void vigil_blake3_compress_out(void* h, uint32_t* state, uint32_t* tag) {
    Top& t = vigil_shim::top<Top>(h);
    for (int i = 0; i < 16; ++i) state[i] = t.out_state_o[i];
    *tag = t.out_tag_o;
}

}  // extern "C"
