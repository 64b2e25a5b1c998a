// C entry points to the Verilator model of vigil_merkle_engine (default parameters:
// MaxLeaves = 4096, MaxLeafBytes = 65536), for the Rust wrapper in hdl/sim/src/ffi.rs.
// The handle operations every DUT shares (reset, clock, handshakes, free) are in
// model.h / model.cpp.
//
// Every function takes a handle made by vigil_merkle_engine_new and not yet freed. The
// root is 8 u32 words, word i = bits [32i +: 32] of out_root_o (Verilator's VlWide
// layout).

#include <cstdint>

#include "Vvigil_merkle_engine.h"
#include "model.h"

using Top = Vvigil_merkle_engine;

extern "C" {

void* vigil_merkle_engine_new(void) {
    return vigil_shim::make<Top>("vigil_merkle_engine");
}

void vigil_merkle_engine_set_in(void* h, uint8_t valid, uint64_t data, uint8_t last,
                                uint8_t nodes) {
    Top& t = vigil_shim::top<Top>(h);
    t.in_valid_i = valid & 1u;
    t.in_data_i = data;
    t.in_last_i = last & 1u;
    t.in_nodes_i = nodes & 1u;
}

void vigil_merkle_engine_out(void* h, uint32_t* root, uint8_t* status, uint8_t* busy,
                             uint8_t* compress) {
    Top& t = vigil_shim::top<Top>(h);
    for (int i = 0; i < 8; ++i) root[i] = t.out_root_o[i];
    *status = t.out_status_o;
    *busy = t.busy_o;
    *compress = t.compress_o;
}

}  // extern "C"
