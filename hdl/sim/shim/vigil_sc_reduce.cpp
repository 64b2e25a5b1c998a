// C entry points to the Verilator model of vigil_sc_reduce, for the Rust wrapper in
// hdl/sim/src/ffi.rs. The handle operations every DUT shares are in model.h /
// model.cpp.
//
// Every function takes a handle made by vigil_sc_reduce_new and not yet freed. Wide
// ports are u32 arrays, word i = bits [32i +: 32] of the port (Verilator's VlWide
// layout).

#include <cstdint>

#include "Vvigil_sc_reduce.h"
#include "model.h"

using Top = Vvigil_sc_reduce;

extern "C" {

void* vigil_sc_reduce_new(void) { return vigil_shim::make<Top>("vigil_sc_reduce"); }

void vigil_sc_reduce_set_in(void* h, uint8_t valid, const uint32_t* x) {
    Top& t = vigil_shim::top<Top>(h);
    t.in_valid_i = valid & 1u;
    for (int i = 0; i < 16; ++i) t.in_x_i[i] = x[i];
}

void vigil_sc_reduce_out(void* h, uint32_t* k) {
    Top& t = vigil_shim::top<Top>(h);
    for (int i = 0; i < 8; ++i) k[i] = t.out_k_o[i];
}

}  // extern "C"
