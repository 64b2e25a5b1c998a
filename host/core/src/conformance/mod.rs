//! The conformance harness: one suite that every backend's tests run.
//!
//! A backend is correct when it gives [`reference_verify`](crate::reference_verify)'s
//! verdict for every signature under every profile and [`crate::merkle::root`]'s root for
//! every leaf list. [`run`] checks that on five sets, each through the real
//! [`Backend`](crate::Backend) interface (batches split into chunks of at most
//! [`Options::max_batch`] transactions, several of them in flight before any is awaited,
//! profiles interleaved):
//!
//! * **wycheproof**: every test of `testdata/wycheproof/ed25519_test.json`, one
//!   transaction each. The expected verdict is the reference crate's, not the file's own
//!   `result` (that describes one library's policy); a signature or key of the wrong
//!   length becomes a malformed transaction, which must come back invalid.
//! * **edge**: `testdata/edge/ed25519_edge.jsonl`, our own edge cases (small-order and
//!   mixed-order points, non-canonical encodings, S >= L, off-curve points, multi-signer
//!   transactions, ...; see `testdata/README.md`). Expected verdicts are the file's, and
//!   the reference crates must still agree with the file: a stale file is reported under
//!   the set `edge-file`.
//! * **generated**: [`Options::generated`] transactions from a seeded generator, honest
//!   signatures mixed with adversarial ones (bit flips, S + L, small-order and
//!   torsion-shifted points, non-canonical and off-curve encodings, swapped signers),
//!   expected verdicts from the reference crates.
//! * **solana**: Solana wire transactions (legacy and v0, 1 to 3 signers, signatures
//!   broken in the ways each profile rejects, and damaged copies that must come back
//!   malformed), pushed raw, so a backend is also checked on locating keys, signatures
//!   and message inside the wire bytes; expected verdicts from the reference crates.
//! * **merkle**: roots of leaf lists of sizes 0, 1, 2, 3, 4, 5, 7, 8, 9, 1000 and a few
//!   random sizes with variable-length leaves, and of the BLAKE3 test-vector inputs (up to
//!   100 KiB each, so every chunk-boundary case of the leaf hash) as leaves.
//!
//! Every [`Verdicts`](crate::Verdicts) must also have the right shape: one entry per
//! signature and per transaction, and each transaction's verdict equal to "parsed, has
//! signers, every signature valid".
//!
//! [`self_test()`] is the small known-answer version a backend runs at start-up, before it
//! reports itself serving. [`crate::craft`] holds the building blocks for adversarial
//! inputs, shared by the generator here, [`crate::synth`] and
//! `examples/gen_edge_vectors.rs`.
//!
//! One file per job, so each can be read (and changed) without the others:
//!
//! * `vectors.rs`: the embedded vector files and their formats ([`EdgeRecord`] is also
//!   what `examples/gen_edge_vectors.rs` writes);
//! * `generate.rs`: the seeded generator behind the `generated` and `solana` sets;
//! * `harness.rs`: [`run`], [`assert_conforms`] and the judging of answers into a
//!   [`Report`];
//! * `self_test.rs`: the start-up known-answer test;
//! * `case.rs`: the transaction-with-expected-verdicts type they all pass around;
//! * `test_backend.rs` (tests only): a backend that goes wrong on purpose.
//!
//! Dependencies run one way: `self_test` uses `harness`, which uses `vectors` and
//! `generate`, which use `case`; `generate` also uses [`crate::craft`] and
//! [`crate::synth`], neither of which uses this module. Other crates see only what is
//! re-exported here.

mod case;
mod generate;
mod harness;
mod self_test;
#[cfg(test)]
mod test_backend;
mod vectors;

pub use harness::{
    assert_conforms, run, Mismatch, Options, Report, DEFAULT_SEED, SET_EDGE, SET_EDGE_FILE,
    SET_GENERATED, SET_MERKLE, SET_SOLANA, SET_WYCHEPROOF,
};
pub use self_test::self_test;
pub use vectors::{
    merkle_vector_leaves, EdgeExpect, EdgeRecord, EdgeSigner, BLAKE3_JSON, EDGE_JSONL,
    MERKLE_VECTORS_JSON, WYCHEPROOF_JSON,
};
