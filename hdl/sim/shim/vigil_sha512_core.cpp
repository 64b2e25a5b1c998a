// C entry points to the Verilator model of vigil_sha512_core (built with TagWidth = 32),
// for the Rust wrapper in hdl/sim/src/ffi.rs. The handle operations every DUT shares
// are in model.h / model.cpp.
//
// Every function takes a handle made by vigil_sha512_core_new and not yet freed. Wide
// ports are u32 arrays, word i = bits [32i +: 32] of the port (Verilator's VlWide
// layout).

#include <cstdint>

#include "Vvigil_sha512_core.h"
#include "model.h"

using Top = Vvigil_sha512_core;

extern "C" {

void* vigil_sha512_core_new(void) { return vigil_shim::make<Top>("vigil_sha512_core"); }

void vigil_sha512_core_set_in(void* h, uint8_t valid, uint64_t data, uint8_t last,
                              uint8_t bytes, uint32_t tag) {
    Top& t = vigil_shim::top<Top>(h);
    t.in_valid_i = valid & 1u;
    t.in_data_i = data;
    t.in_last_i = last & 1u;
    t.in_bytes_i = bytes & 0xFu;
    t.in_tag_i = tag;
}

void vigil_sha512_core_out(void* h, uint32_t* digest, uint32_t* k, uint32_t* tag) {
    Top& t = vigil_shim::top<Top>(h);
    for (int i = 0; i < 16; ++i) digest[i] = t.out_digest_o[i];
    for (int i = 0; i < 8; ++i) k[i] = t.out_k_o[i];
    *tag = t.out_tag_o;
}

}  // extern "C"
