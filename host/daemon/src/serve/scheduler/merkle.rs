//! Merkle roots and inclusion proofs.
//!
//! Merkle jobs do not queue or coalesce: a root is one backend call over the job's own
//! leaves, routed as a batch of that many leaves would be and re-run elsewhere when the
//! backend cannot take it or fails; proofs need every level of the tree, which the host
//! builds ([`super::super::proofs`]). What they share with verify jobs is the
//! admission budget, and the rule that a job is bounded before any work: the proofs'
//! count, indices and response size are checked, and their working memory charged,
//! before the leaves are copied or anything is hashed.

use std::sync::Arc;

use vigil_core::Leaves;

use super::super::admission::ClientKey;
use super::super::error::ServeError;
use super::super::proofs;
use super::job::{MerkleAnswer, MerkleJob};
use super::Scheduler;

impl Scheduler {
    /// The Merkle root of a job's leaves, with the inclusion proofs it asks for.
    pub async fn merkle<L: AsRef<[u8]>>(
        self: &Arc<Self>,
        client: &ClientKey,
        job: MerkleJob<L>,
    ) -> Result<MerkleAnswer, ServeError> {
        self.ready()?;
        let MerkleJob {
            leaves: received,
            proof_indices,
        } = job;
        let count = received.len();
        // The response's size is known from the tree's shape: it is checked, and the
        // proofs' working memory charged, before anything is hashed or built.
        let limits = proofs::ProofLimits {
            max_proofs: self.config.max_proofs,
            max_response_bytes: self.config.max_response_bytes,
        };
        proofs::check(count, &proof_indices, &limits)?;
        let bytes: usize = received.iter().map(|l| l.as_ref().len()).sum();
        let working = if proof_indices.is_empty() {
            0
        } else {
            proofs::working_bytes(count, proof_indices.len())
        };
        // A leaf costs about what one signature check costs in hashing terms; charging
        // leaves as signatures keeps Merkle floods inside the same budget. Bytes: the
        // leaves' copy with its offsets, and the proofs' working memory.
        let charged = bytes
            .saturating_add(count.saturating_mul(std::mem::size_of::<u64>()))
            .saturating_add(working);
        let ticket = self.charge(client, count / 16, charged)?;
        let mut leaves = Leaves::with_capacity(count, bytes);
        for leaf in &received {
            leaves
                .push(leaf.as_ref())
                .map_err(|e| ServeError::InvalidArgument(format!("leaves: {e}")))?;
        }
        drop(received);
        let leaves = Arc::new(leaves);
        if !proof_indices.is_empty() {
            // Proofs need every level of the tree, which the host builds.
            let proofs = tokio::task::spawn_blocking(move || proofs::prove(&leaves, proof_indices))
                .await
                .map_err(|e| ServeError::Internal(format!("proof task failed: {e}")))??;
            return Ok(MerkleAnswer {
                root: proofs.root,
                proofs: Some(proofs),
                backend: proofs::BACKEND.to_string(),
                _charge: ticket,
            });
        }
        let mut exclude = Vec::new();
        loop {
            let slot = self.route(count, &exclude, false).ok_or_else(|| {
                ServeError::Unavailable("no healthy backend for a Merkle root".into())
            })?;
            match slot.backend.merkle_root(leaves.clone()).await {
                Ok(root) => {
                    return Ok(MerkleAnswer {
                        root,
                        proofs: None,
                        backend: slot.name.clone(),
                        _charge: ticket,
                    })
                }
                Err(e) => {
                    slot.refused_or_failed(&e, &self.metrics);
                    exclude.push(slot.name.clone());
                }
            }
        }
    }
}
