// What every DUT's shim shares: one Verilator model with its own VerilatedContext
// (models in different threads, as cargo test runs them, share no simulation state),
// and the handle operations every Vigil DUT has the ports for (clk_i, rst_ni,
// in_valid_i/in_ready_o, out_valid_o/out_ready_i). Those operations are C entry points
// defined once, in model.cpp (vigil_model_*); a DUT's shim (shim/<dut>.cpp) adds only
// its constructor and its own input and output ports.
//
// A handle crosses the C boundary as void*, always pointing at the Handle base of a
// Model<Top>; make() and top() are the only two casts.

#pragma once

#include <cstdint>

#include "verilated.h"

namespace vigil_shim {

struct Handle {
    virtual ~Handle() = default;
    virtual void set_rst_n(uint8_t rst_n) = 0;
    virtual void set_out_ready(uint8_t ready) = 0;
    virtual void eval() = 0;
    virtual void tick() = 0;
    virtual uint8_t in_ready() = 0;
    virtual uint8_t out_valid() = 0;
};

// Handshake: the DUT has in_ready_o and out_ready_i. Without them (the field units: one
// operation per clock, no backpressure) in_ready is always 1 and set_out_ready does
// nothing, so the shared vigil_model_* entry points work on every DUT unchanged.
template <class Top, bool Handshake = true>
struct Model final : Handle {
    VerilatedContext ctx;
    Top top;

    explicit Model(const char* name) : ctx(), top(&ctx, name) {
        top.clk_i = 0;
        top.rst_ni = 0;
        top.in_valid_i = 0;
        if constexpr (Handshake) top.out_ready_i = 0;
        top.eval();
    }
    ~Model() override { top.final(); }

    void set_rst_n(uint8_t rst_n) override { top.rst_ni = rst_n & 1u; }
    void set_out_ready([[maybe_unused]] uint8_t ready) override {
        if constexpr (Handshake) top.out_ready_i = ready & 1u;
    }
    // Settles the combinational logic after inputs changed.
    void eval() override { top.eval(); }
    // One clock cycle: a rising edge, then the falling edge.
    void tick() override {
        top.clk_i = 1;
        top.eval();
        top.clk_i = 0;
        top.eval();
        ctx.timeInc(1);
    }
    uint8_t in_ready() override {
        if constexpr (Handshake) return top.in_ready_o;
        return 1;
    }
    uint8_t out_valid() override { return top.out_valid_o; }
};

// A new model of Top, as the C side holds it.
template <class Top, bool Handshake = true>
void* make(const char* name) {
    return static_cast<Handle*>(new Model<Top, Handshake>(name));
}

// The model behind a handle made by make<Top, Handshake>.
template <class Top, bool Handshake = true>
Top& top(void* h) {
    return static_cast<Model<Top, Handshake>*>(static_cast<Handle*>(h))->top;
}

// Drives a 255-bit field-element port from 8 little-endian u32 words (Verilator's VlWide
// layout); bit 255, not a port bit, is dropped.
template <class Wide>
void set_fe(Wide& port, const uint32_t* v) {
    for (int i = 0; i < 8; ++i) port[i] = i == 7 ? v[i] & 0x7FFFFFFFu : v[i];
}


}  // namespace vigil_shim
