//! The conformance harness: one suite that every backend's tests run.
//!
//! The code moves here from `conformance.rs` unchanged (into `harness.rs`, re-exported
//! whole); the next commit splits it into one file per job.

mod harness;

pub use harness::*;
