// C entry points to the Verilator model of vigil_ed25519_engine (TagWidth = 32), for the
// Rust wrapper in hdl/sim/src/ffi.rs. The handle operations every DUT shares are in
// model.h / model.cpp.
//
// Every function takes a handle made by vigil_ed25519_engine_new and not yet freed.
// 256-bit inputs are u32 arrays of 8 words, word i = bits [32i +: 32] (Verilator's
// VlWide layout).

#include <cstdint>

#include "Vvigil_ed25519_engine.h"
#include "model.h"

using Top = Vvigil_ed25519_engine;

extern "C" {

void* vigil_ed25519_engine_new(void) {
    return vigil_shim::make<Top>("vigil_ed25519_engine");
}

void vigil_ed25519_engine_set_in(void* h, uint8_t valid, uint8_t profile, const uint32_t* s,
                                 const uint32_t* k, const uint32_t* a, const uint32_t* r,
                                 uint32_t tag) {
    Top& t = vigil_shim::top<Top>(h);
    t.in_valid_i = valid & 1u;
    t.in_profile_i = profile & 3u;
    for (int i = 0; i < 8; ++i) {
        t.in_s_i[i] = s[i];
        t.in_k_i[i] = k[i];
        t.in_a_i[i] = a[i];
        t.in_r_i[i] = r[i];
    }
    t.in_tag_i = tag;
}

// Bit 0: the verdict; bit 1: busy_o; bit 2: alu_issue_o (a multiplication issued);
// bit 3: add_issue_o (an adder-unit operation issued). *tag: the verdict's tag.
uint32_t vigil_ed25519_engine_out(void* h, uint32_t* tag) {
    Top& t = vigil_shim::top<Top>(h);
    *tag = t.out_tag_o;
    return (t.out_ok_o & 1u) | ((t.busy_o & 1u) << 1) | ((t.alu_issue_o & 1u) << 2) |
           ((t.add_issue_o & 1u) << 3);
}

}  // extern "C"
