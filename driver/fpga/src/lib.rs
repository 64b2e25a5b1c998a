//! The host driver of Vigil's FPGA card.
//!
//! The card computes vigil-merkle-v1 roots, SHA-512 with its reduction mod L, and (from
//! register map 1.1, on builds with CAPS.VERIFY; 1.2 also reports the SHA-512 cores)
//! whole Ed25519 verifications under the three profiles in hardware. The host talks to
//! it over two channels, both described by one machine-readable register map
//! (`hdl/regmap.json`, from which [`regs`] is generated, so driver and RTL cannot
//! drift):
//!
//! * **AXI-Lite registers**: identity, version, build hash, limits, control, counters.
//! * **AXI-Stream frames**: a request is one packet of 64-bit words (header, count,
//!   payload, `tlast` on the last word); each answer is one packet carrying the
//!   request's tag, so several requests can be outstanding and come back in any order.
//!
//! The layers, bottom up:
//!
//! * [`transport`]: the [`transport::Transport`] trait, registers plus whole frames.
//!   Two implementations: [`xdma`] (a real card through the Xilinx XDMA character
//!   devices) and [`sim`] (the Verilator-simulated card over a Unix socket).
//! * [`protocol`]: request encoding and response decoding; every malformed frame is a
//!   typed error, never a panic.
//! * [`card`]: [`card::Card`], the identity check at open, tagged pipelining, the
//!   splitting of trees larger than the card's request limit into subtrees, and
//!   signature verification kept to the card's engines × contexts.
//! * [`check`]: the card's own known answers (MERKLE_NODES, the profile codes), run
//!   before it serves.
//! * [`backend`]: [`backend::FpgaBackend`], the cards behind `vigil_core`'s `Backend`
//!   contract on the shared device runtime (`vigil_runtime`), self-tested before they
//!   serve.

pub mod backend;
pub mod card;
pub mod check;
pub mod protocol;
#[allow(missing_docs, clippy::module_inception)]
pub mod regs;
pub mod sim;
pub mod transport;
pub mod xdma;

#[cfg(test)]
mod fake;

pub use backend::FpgaBackend;
pub use card::{Card, CardError, CardInfo, CardOptions, Counters, VerifyItem};
pub use transport::{Transport, TransportError};
