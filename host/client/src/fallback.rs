//! Local CPU verification, for when no appliance can serve.
//!
//! The answer must be the one an appliance would have given, byte for byte apart from
//! `backend`: a node that falls back must reach the same consensus verdicts. So the
//! request goes through the very functions the daemon uses (`vigil_proto::convert`:
//! the request-level check, the request-to-batch conversion and the response builder)
//! and is verified by `vigil_core`'s CPU backend, which gives the reference crates'
//! verdicts. The CPU pool is started on first use only, since a node that never falls
//! back should not carry idle threads.

use std::sync::Arc;

use tokio::sync::OnceCell;
use vigil_core::cpu::CpuBackend;
use vigil_core::{Backend as _, BatchBuilder};
use vigil_proto::convert;
use vigil_proto::v1::{VerifyRequest, VerifyResponse};

use crate::error::ClientError;

/// The `backend` field of a response made by the fallback.
pub const LOCAL_BACKEND: &str = "local-cpu";

/// A lazily started CPU backend.
#[derive(Debug)]
pub(crate) struct Fallback {
    threads: Option<usize>,
    backend: OnceCell<CpuBackend>,
}

impl Fallback {
    pub(crate) fn new(threads: Option<usize>) -> Fallback {
        Fallback {
            threads,
            backend: OnceCell::new(),
        }
    }

    /// Verifies `req` here, as an appliance would.
    pub(crate) async fn verify(&self, req: &VerifyRequest) -> Result<VerifyResponse, ClientError> {
        let backend = self
            .backend
            .get_or_try_init(|| async { CpuBackend::new(self.threads) })
            .await
            .map_err(|e| ClientError::Fallback(e.to_string()))?;
        verify_with(backend, req).await
    }
}

/// Verifies `req` on `backend` through the daemon's conversion.
pub(crate) async fn verify_with(
    backend: &CpuBackend,
    req: &VerifyRequest,
) -> Result<VerifyResponse, ClientError> {
    let checked = convert::check(req).map_err(|e| ClientError::InvalidRequest(e.to_string()))?;
    let mut builder = BatchBuilder::with_capacity(checked.transactions, checked.bytes);
    convert::push_request(&mut builder, req, &mut Vec::new())
        .map_err(|e| ClientError::InvalidRequest(e.to_string()))?;
    let batch = Arc::new(builder.finish());
    let verdicts = backend.verify(batch.clone(), checked.profile);
    // The backend's root is merkle::root's by the Backend contract; it is computed on
    // the backend's threads so that a large batch does not stall an async worker.
    let root = req
        .want_merkle_root
        .then(|| backend.merkle_root(batch.leaves().clone()));
    let verdicts = verdicts
        .await
        .map_err(|e| ClientError::Fallback(e.to_string()))?;
    let root = match root {
        Some(pending) => Some(
            pending
                .await
                .map_err(|e| ClientError::Fallback(e.to_string()))?,
        ),
        None => None,
    };
    Ok(convert::response_for(
        req.id,
        &batch,
        &verdicts,
        0..batch.len(),
        LOCAL_BACKEND,
        root,
    ))
}
