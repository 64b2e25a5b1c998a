//! The service's edge: protobuf messages into scheduler jobs, answers back into
//! messages.
//!
//! The scheduler works on core types only ([`super::scheduler`]), so it can be tested
//! and reused without the wire format; every conversion between the two lives here.
//! A `VerifyRequest` is checked by `vigil_proto::convert` (the same rules the client
//! library's local fallback applies) and refused here if it is too big for one request
//! or its response for one message, before the scheduler sees it. Its transactions are
//! not copied: the job keeps the decoded message and the scheduler's coalescer copies
//! them straight from it into the batch a device takes. Answers become messages with
//! the same truncation rules the response bound was computed with
//! ([`convert::verify_response`]), and Merkle proofs with the path slices of the one
//! buffer they were computed into.

use vigil_core::{BatchBuilder, BatchError, Profile, Signer};
use vigil_proto::convert::{self, Checked};
use vigil_proto::v1::{self, InclusionProof, MerkleRequest, MerkleResponse, VerifyRequest};

use super::error::ServeError;
use super::proofs::Proofs;
use super::scheduler::{Cost, Devices, MerkleAnswer, MerkleJob, Transactions, Verified, VerifyJob};

/// What one message may carry, checked here before the scheduler sees a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// Transactions one Verify request may carry (`--max-request-transactions`).
    pub max_request_transactions: usize,
    /// The largest response message, bytes, as tonic will encode it
    /// (`--max-message-bytes`).
    pub max_response_bytes: usize,
}

/// A decoded request's transactions, left where prost put them until the coalescer
/// copies them into a batch.
struct Message {
    request: VerifyRequest,
    cost: Cost,
}

impl Transactions for Message {
    fn cost(&self) -> Cost {
        self.cost
    }

    fn push_into(
        &self,
        builder: &mut BatchBuilder,
        scratch: &mut Vec<Signer>,
    ) -> Result<(), BatchError> {
        convert::push_request(builder, &self.request, scratch)
    }
}

/// The verify job a request asks for, or why it is refused (INVALID_ARGUMENT): no
/// profile, both transaction forms, more transactions than one request may carry, or a
/// response that could pass the message size limit.
pub fn verify_job(request: VerifyRequest, limits: &RequestLimits) -> Result<VerifyJob, ServeError> {
    let checked = convert::check(&request)?;
    convert::check_limits(
        &checked,
        limits.max_request_transactions,
        limits.max_response_bytes,
    )
    .map_err(|e| ServeError::InvalidArgument(e.to_string()))?;
    let Checked {
        profile,
        transactions,
        signatures,
        bytes,
        ..
    } = checked;
    Ok(VerifyJob {
        id: request.id,
        profile,
        want_root: request.want_merkle_root,
        transactions: Box::new(Message {
            cost: Cost {
                transactions,
                signatures,
                bytes,
            },
            request,
        }),
    })
}

/// The response carrying a job's verdicts.
pub fn verify_response(verified: Verified) -> v1::VerifyResponse {
    let Verified {
        id,
        transaction_valid,
        signature_valid,
        reasons,
        merkle_root,
        backend,
    } = verified;
    convert::verify_response(
        id,
        transaction_valid,
        signature_valid,
        reasons.into_iter().map(Option::unwrap_or_default).collect(),
        &backend,
        merkle_root,
    )
}

/// The Merkle job a request asks for; its leaves stay the message's buffers (the
/// scheduler copies them once admitted).
pub fn merkle_job(request: MerkleRequest) -> MerkleJob<bytes::Bytes> {
    MerkleJob {
        leaves: request.leaves,
        proof_indices: request.proof_indices,
    }
}

/// The response carrying a Merkle answer. Drops the answer (and so releases what
/// admission charged for it) only once the response is made.
pub fn merkle_answer(answer: MerkleAnswer) -> MerkleResponse {
    merkle_response(answer.root, answer.proofs.as_ref(), &answer.backend)
}

/// The response carrying `root` and `proofs` (none when no proof was asked for): each
/// proof's path vector made once with its exact length, its hashes slices of the one
/// buffer they were computed into.
pub fn merkle_response(root: [u8; 32], proofs: Option<&Proofs>, backend: &str) -> MerkleResponse {
    let proofs = proofs.map_or_else(Vec::new, |proofs| {
        let proofs = proofs.iter();
        let mut out = Vec::with_capacity(proofs.len());
        for proof in proofs {
            let hashes = proof.hashes();
            let mut path = Vec::with_capacity(hashes.len());
            path.extend(hashes);
            out.push(InclusionProof {
                index: proof.index,
                tree_size: proof.tree_size,
                path,
            });
        }
        out
    });
    MerkleResponse {
        root: bytes::Bytes::copy_from_slice(&root),
        proofs,
        backend: backend.to_string(),
    }
}

/// The Devices response: the scheduler's listing, and this build's version.
pub fn devices_response(devices: Devices) -> v1::DevicesResponse {
    v1::DevicesResponse {
        backends: devices
            .backends
            .into_iter()
            .map(|b| v1::Backend {
                name: b.name,
                devices: b
                    .devices
                    .into_iter()
                    .map(|name| v1::Device { name })
                    .collect(),
                healthy: b.healthy,
                health_detail: b.health_detail,
                in_flight_batches: b.in_flight_batches as u64,
                preferred_batch: b.preferred_batch as u64,
            })
            .collect(),
        queues: devices
            .queues
            .into_iter()
            .map(|q| v1::QueueDepth {
                profile: wire_profile(q.profile),
                requests: q.requests as u64,
                transactions: q.transactions as u64,
                signatures: q.signatures as u64,
            })
            .collect(),
        queue_capacity_signatures: devices.queue_capacity_signatures as u64,
        version: format!("{} ({})", env!("CARGO_PKG_VERSION"), env!("VIGIL_COMMIT")),
    }
}

fn wire_profile(profile: Profile) -> i32 {
    vigil_proto::profile_to_wire(profile) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_core::{Batch, Verdicts};

    fn limits() -> RequestLimits {
        RequestLimits {
            max_request_transactions: 65_536,
            max_response_bytes: 16 << 20,
        }
    }

    fn synth(count: usize, format: vigil_core::synth::Format) -> Batch {
        let spec = vigil_core::synth::SynthSpec {
            count,
            profile: Profile::Zip215,
            invalid_fraction: 0.3,
            msg_len: 0..=100,
            signers: 2,
            format,
            seed: 7,
        };
        vigil_core::synth::batch(&spec).unwrap()
    }

    /// A job made from a request costs what `convert::check` counts, and copies into a
    /// batch exactly what `convert::push_request` builds; its answer becomes the very
    /// response `convert::response_for` makes from the same verdicts.
    #[test]
    fn a_request_round_trips_through_a_job() {
        for (format, solana) in [
            (vigil_core::synth::Format::Jsonl, false),
            (vigil_core::synth::Format::Solana, true),
        ] {
            let batch = synth(30, format);
            let mut request = convert::request_from_batch(42, Profile::Zip215, &batch, solana);
            request.want_merkle_root = true;
            let checked = convert::check(&request).unwrap();
            let job = verify_job(request.clone(), &limits()).unwrap();
            assert_eq!(
                (job.id, job.profile, job.want_root),
                (42, Profile::Zip215, true)
            );
            let cost = job.transactions.cost();
            assert_eq!(
                (cost.transactions, cost.signatures, cost.bytes),
                (checked.transactions, checked.signatures, checked.bytes)
            );
            let mut builder = BatchBuilder::default();
            job.transactions
                .push_into(&mut builder, &mut Vec::new())
                .unwrap();
            let built = builder.finish();
            assert_eq!(built.leaves(), batch.leaves());
            let verdicts = Verdicts::reference(&built, Profile::Zip215);
            let root = vigil_core::merkle::root(built.leaves());
            let verified = Verified {
                id: 42,
                transaction_valid: verdicts.transaction_valid.clone(),
                signature_valid: verdicts.signature_valid.clone(),
                reasons: (0..built.len())
                    .map(|t| built.error(t).map(str::to_owned))
                    .collect(),
                merkle_root: Some(root),
                backend: "cpu".into(),
            };
            assert_eq!(
                verify_response(verified),
                convert::response_for(42, &built, &verdicts, 0..built.len(), "cpu", Some(root))
            );
        }
    }

    #[test]
    fn requests_over_the_limits_are_refused_before_the_scheduler() {
        let request = convert::request_from_batch(
            1,
            Profile::Strict,
            &synth(3, vigil_core::synth::Format::Jsonl),
            false,
        );
        let small = RequestLimits {
            max_request_transactions: 2,
            ..limits()
        };
        let Err(ServeError::InvalidArgument(message)) = verify_job(request.clone(), &small) else {
            panic!("three transactions over a limit of two were accepted");
        };
        assert!(message.contains("--max-request-transactions"), "{message}");
        let tiny = RequestLimits {
            max_response_bytes: 10,
            ..limits()
        };
        let Err(ServeError::InvalidArgument(message)) = verify_job(request.clone(), &tiny) else {
            panic!("a response over the message limit was accepted");
        };
        assert!(message.contains("--max-message-bytes"), "{message}");
        let mut both = request;
        both.solana_transactions
            .push(bytes::Bytes::from_static(b"x"));
        assert!(matches!(
            verify_job(both, &limits()),
            Err(ServeError::InvalidArgument(_))
        ));
    }
}
