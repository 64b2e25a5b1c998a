//! vigil-core: everything a Vigil backend plugs into.
//!
//! * [`batch`]: transactions in flat buffers (one arena plus offsets), and verdicts;
//! * [`input`]: the two input forms (JSON Lines interchange, Solana wire) parsed into a
//!   batch, where a malformed transaction is marked invalid and the rest still verified;
//! * [`profile`]: the verification profiles and their reference verdicts;
//! * [`backend`]: the asynchronous [`Backend`] contract; [`cpu`]: the CPU backend, which
//!   is both the fallback and the oracle; [`cpu_path`]: which code it verifies with
//!   (a lane-parallel `vigil-simd` verifier, or the reference crates);
//! * [`merkle`]: the vigil-merkle-v1 tree (roots, inclusion proofs);
//! * [`synth`]: synthetic batches for tests and benchmarks;
//! * [`craft`]: building blocks for adversarial Ed25519 inputs (torsion points, every
//!   encoding of a point, signatures from chosen scalars), shared by [`synth`], the
//!   conformance generator, the edge-vector example and the fuzz targets;
//! * [`conformance`]: the harness every backend's tests run, and the start-up self-test.

pub mod backend;
pub mod batch;
pub mod conformance;
pub mod cpu;
pub mod cpu_path;
pub mod craft;
pub mod input;
pub mod merkle;
pub mod profile;
pub mod synth;

pub use backend::{Backend, BackendError, BackendInfo, Completer, Pending};
pub use batch::{Batch, BatchBuilder, BatchError, Leaves, Signer, Verdicts};
pub use profile::{reference_verify, Profile};
