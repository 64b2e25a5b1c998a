// The handle operations every DUT shares (see model.h), for hdl/sim/src/ffi.rs. Every
// function takes a handle made by a DUT's <dut>_new and not yet freed.

#include "model.h"

namespace {

vigil_shim::Handle* handle(void* h) { return static_cast<vigil_shim::Handle*>(h); }

}  // namespace

extern "C" {

void vigil_model_free(void* h) { delete handle(h); }
void vigil_model_set_rst_n(void* h, uint8_t rst_n) { handle(h)->set_rst_n(rst_n); }
void vigil_model_set_out_ready(void* h, uint8_t ready) { handle(h)->set_out_ready(ready); }
void vigil_model_eval(void* h) { handle(h)->eval(); }
void vigil_model_tick(void* h) { handle(h)->tick(); }
uint8_t vigil_model_in_ready(void* h) { return handle(h)->in_ready(); }
uint8_t vigil_model_out_valid(void* h) { return handle(h)->out_valid(); }

}  // extern "C"
