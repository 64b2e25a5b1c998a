//! Vigil's FPGA RTL (`hdl/rtl`), simulated with Verilator and driven from Rust.
//!
//! # Why drive the RTL from Rust
//!
//! A testbench is only as good as its reference model, and the reference must be an
//! independent implementation, never a copy of the RTL's own logic. The independent
//! implementations Vigil trusts are Rust crates: `blake3` for hashing, later `sha2` and
//! `curve25519-dalek` for Ed25519, and `vigil-core`'s Merkle tree, the CPU oracle that
//! every backend is held to. Driving the Verilator model from Rust lets a testbench call
//! exactly those crates, with no second reference to keep in step (no Python `blake3`
//! beside the Rust one, no hand-copied vectors), and `cargo test` runs the RTL's tests
//! with everything else's.
//!
//! # How
//!
//! `build.rs` verilates each DUT and compiles the generated C++ with a small C shim per
//! DUT (`shim/<dut>.cpp`: create, free, set inputs, eval, tick, read outputs). The
//! `ffi` module wraps those calls in safe handle types (it holds the crate's only
//! unsafe code); the DUT modules ([`blake3_compress`]) give a cycle-level interface
//! whose handshakes mean what they mean on the wire; drivers ([`blake3_hash`]) run whole
//! workloads through a DUT with random stalls on both sides. [`rtl`] reads constants
//! out of the RTL packages' source, so tests can check them against the crates.
//!
//! Without Verilator the crate still builds (so the workspace does), but every model
//! constructor returns [`SimError::NoVerilator`], and the tests that need a model fail
//! with that message: they never pass vacuously.
//!
//! Testbenches live beside the RTL, `hdl/tb/<module>.rs` for `hdl/rtl/<module>.sv`.

pub mod blake3_compress;
pub mod blake3_hash;
pub mod card;
pub mod ed25519_engine;
pub mod fe_addsub;
pub mod fe_alu;
mod ffi;
pub mod merkle_engine;
mod pipeline;
pub mod rtl;
pub mod sc_reduce;
pub mod sha512_core;

/// How often each side of a DUT is active, in percent of cycles: every driver in this
/// crate stalls its DUT's input and output at random by these rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Traffic {
    /// Chance that the driver offers ready work in a cycle where it has nothing
    /// offered yet (an offer stays until taken, as on a valid/ready bus).
    pub in_valid_percent: u32,
    /// Chance that `out_ready` is high in a cycle.
    pub out_ready_percent: u32,
    /// Seed of the stall pattern (and of any other random choice the driver makes).
    pub seed: u64,
}

impl Traffic {
    /// No stalls: offer whenever there is work, always take results.
    pub const FULL: Traffic = Traffic {
        in_valid_percent: 100,
        out_ready_percent: 100,
        seed: 0,
    };

    /// Random stalls on both sides.
    pub fn stalls(seed: u64) -> Self {
        Traffic {
            in_valid_percent: 80,
            out_ready_percent: 70,
            seed,
        }
    }
}

/// Errors of the simulation layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// This build has no RTL models: Verilator was not found when it was built.
    #[error(
        "verilator is not installed: apt-get install verilator (then rebuild; \
         vigil-hdl-sim was built without RTL models)"
    )]
    NoVerilator,
    /// No card model was built with this many verification engines.
    #[error("no card model with {0} verification engines (built: 1, 2 or 4)")]
    NoCardModel(u32),
    /// The shim could not make a model.
    #[error("could not create the Verilator model of {0}")]
    ModelCreation(&'static str),
    /// The DUT broke its interface contract (a handshake, ordering, stability).
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// No transfer happened on either side for too long.
    #[error("no progress for {0} cycles: the DUT seems stuck")]
    Stuck(u64),
    /// An RTL source could not be read as expected.
    #[error("RTL source: {0}")]
    Rtl(String),
}
