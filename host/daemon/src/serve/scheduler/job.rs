//! What the scheduler takes and gives, in core types: jobs in, answers out.
//!
//! The scheduler never sees a protobuf message. A [`VerifyJob`] names its profile and
//! carries its transactions as any [`Transactions`]: something that knows what it
//! costs and copies itself into a [`BatchBuilder`]. The copy is made by the coalescer,
//! into the batch a device takes, and is the only one the service makes, so a job keeps
//! its transactions in the form they arrived in until then (the service's decoded
//! message, a test's synthetic batch). A [`MerkleJob`] carries its leaves likewise, as
//! received, because the flat [`vigil_core::Leaves`] copy is what admission charges and
//! is made only once the job is admitted. Answers are plain Rust: [`Verified`] (a job's
//! share of its batch's verdicts) and [`MerkleAnswer`] (a root and proofs).

use std::ops::Range;

use vigil_core::{Batch, BatchBuilder, BatchError, Profile, Signer, Verdicts};

use super::super::admission::Ticket;
use super::super::error::ServeError;
use super::super::proofs::Proofs;

/// What a verify job costs, counted when its transactions were checked, before any is
/// copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cost {
    /// Transactions it carries.
    pub transactions: usize,
    /// Signatures that will be verified: exactly those its transactions add to a batch
    /// (a malformed transaction adds none). Admission charges these, and they are the
    /// job's weight in its client's fair queue.
    pub signatures: usize,
    /// Bytes of transaction data (messages, keys, signatures, wire bytes): what
    /// admission charges for memory.
    pub bytes: usize,
}

/// A verify job's transactions, in whatever form they arrived.
pub trait Transactions: Send {
    /// What they cost: `signatures` is what [`Transactions::push_into`] adds.
    fn cost(&self) -> Cost;

    /// Appends every transaction, in order, to `builder`; one that is malformed is
    /// added as such, with its reason, so verdicts line up with the input. Only running
    /// out of batch space is an error. `scratch` is reused between calls.
    fn push_into(
        &self,
        builder: &mut BatchBuilder,
        scratch: &mut Vec<Signer>,
    ) -> Result<(), BatchError>;
}

/// Transactions whose signatures are to be verified.
pub struct VerifyJob {
    /// The caller's name for the job, given back with its verdicts.
    pub id: u64,
    /// The rules its signatures are verified under.
    pub profile: Profile,
    /// Whether its answer carries the Merkle root of its transactions.
    pub want_root: bool,
    /// Its transactions.
    pub transactions: Box<dyn Transactions>,
}

/// A verify job's verdicts: its share of its coalesced batch's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The job's [`VerifyJob::id`].
    pub id: u64,
    /// Per transaction, in order: well formed, has signers, and every signature valid.
    pub transaction_valid: Vec<bool>,
    /// Per signature, in order (a malformed transaction has none).
    pub signature_valid: Vec<bool>,
    /// Per transaction: why it is malformed, or `None`.
    pub reasons: Vec<Option<String>>,
    /// The Merkle root of its transactions' leaves, when asked for.
    pub merkle_root: Option<[u8; 32]>,
    /// The backend that verified it.
    pub backend: String,
}

impl Verified {
    /// The share of `batch`'s `verdicts` of the job that was placed at transactions
    /// `txs`.
    pub(super) fn share(
        id: u64,
        batch: &Batch,
        verdicts: &Verdicts,
        txs: Range<usize>,
        backend: &str,
        merkle_root: Option<[u8; 32]>,
    ) -> Verified {
        let signatures = batch.signers_of_range(&txs);
        Verified {
            id,
            transaction_valid: verdicts.transaction_valid[txs.clone()].to_vec(),
            signature_valid: verdicts.signature_valid[signatures].to_vec(),
            reasons: txs.map(|t| batch.error(t).map(str::to_owned)).collect(),
            merkle_root,
            backend: backend.to_string(),
        }
    }
}

/// What the scheduler answers a verify job with.
pub type Reply = Result<Verified, ServeError>;

/// Leaves whose Merkle root is wanted, with the inclusion proofs asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleJob<L> {
    /// The leaves, in order, as received; copied into one flat
    /// [`vigil_core::Leaves`] once the job is admitted.
    pub leaves: Vec<L>,
    /// The leaves whose inclusion proofs are wanted (repeats allowed), in the order
    /// the proofs are to be given.
    pub proof_indices: Vec<u64>,
}

/// A Merkle job's answer.
#[derive(Debug)]
pub struct MerkleAnswer {
    /// The root of the leaves.
    pub root: [u8; 32],
    /// The inclusion proofs, when any were asked for.
    pub proofs: Option<Proofs>,
    /// The backend that computed it.
    pub backend: String,
    /// What admission charged the job (the proofs' memory among it), released when the
    /// answer is dropped: after the service has made its response of it.
    pub(super) _charge: Ticket,
}
