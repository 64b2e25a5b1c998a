//! Many requests in flight on one `VerifyStream`.
//!
//! A node that verifies continuously pays for a unary call's round trip and headers on
//! every batch; on a stream it only pays for the messages. Responses come back in the
//! order the appliance finishes them, matched to their requests by `id`.
//!
//! The caller's ids cannot be used on the wire as they are: two requests in flight with
//! the same id (two threads numbering from zero, say) would be indistinguishable. So
//! each request is sent under an id of the pipeline's own, and the response gets the
//! caller's id back before it is handed over. A table maps wire ids to waiting callers;
//! an entry leaves the table when its response arrives, or when its caller stops
//! waiting (deadline, or the future dropped), so a late response is recognised and
//! dropped.
//!
//! The request side is a bounded channel: when the appliance reads slower than the node
//! submits, `submit` waits (within its deadline) instead of queueing without bound. A
//! background task reads responses; when the stream ends or fails, every waiting caller
//! gets the error and later submits fail at once. The stream has no overall deadline
//! (it lives as long as the pipeline); each submit enforces its own deadline locally.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tonic::Code;
use vigil_proto::v1::{VerifyRequest, VerifyResponse};

use crate::balancer::Key;
use crate::error::ClientError;
use crate::{classify, lock, Failure, Shared};

/// Requests queued on a pipeline before `submit` waits for the stream to take them.
pub(crate) const QUEUE: usize = 64;

type Answer = Result<VerifyResponse, ClientError>;

/// A `VerifyStream` to one appliance, shared by clones: submit from as many tasks as
/// you like. Obtain one with [`crate::Client::pipeline`]; the stream closes when the
/// last clone is dropped.
#[derive(Debug, Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    requests: mpsc::Sender<VerifyRequest>,
    table: Arc<Mutex<Table>>,
    next_id: AtomicU64,
    shared: Arc<Shared>,
    endpoint: String,
    reader: tokio::task::AbortHandle,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // No submit can be waiting: each holds a reference to this.
        self.reader.abort();
    }
}

#[derive(Debug, Default)]
struct Table {
    waiting: HashMap<u64, Waiter>,
    /// Set once the stream is over: why.
    closed: Option<ClientError>,
}

#[derive(Debug)]
struct Waiter {
    caller_id: u64,
    answer: oneshot::Sender<Answer>,
}

/// Takes a wire id out of the table when its caller stops waiting, however it stops.
struct Forget<'a> {
    table: &'a Mutex<Table>,
    id: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        lock(self.table).waiting.remove(&self.id);
    }
}

impl Pipeline {
    /// Wraps an opened stream: `requests` feeds it, `responses` is its answer side.
    pub(crate) fn start(
        shared: Arc<Shared>,
        key: Key,
        requests: mpsc::Sender<VerifyRequest>,
        responses: tonic::Streaming<VerifyResponse>,
    ) -> Pipeline {
        let table = Arc::new(Mutex::new(Table::default()));
        let reader = tokio::spawn(read_responses(
            responses,
            table.clone(),
            shared.clone(),
            key.clone(),
        ))
        .abort_handle();
        Pipeline {
            inner: Arc::new(Inner {
                requests,
                table,
                next_id: AtomicU64::new(1),
                shared,
                endpoint: key.uri,
                reader,
            }),
        }
    }

    /// The appliance this pipeline's stream goes to.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// Sends `req` on the stream and resolves when its response arrives, with `req.id`
    /// as its id, within the client's default deadline.
    ///
    /// A request the appliance fails on its own (its response carries a status) gives
    /// [`ClientError::Status`] with that code; the stream stays usable. If the request
    /// could not be served (shed, unavailable, out of time, stream closed) and the
    /// client has local fallback on, it is verified locally instead.
    pub async fn submit(&self, req: VerifyRequest) -> Result<VerifyResponse, ClientError> {
        let deadline = self.inner.shared.deadline;
        self.submit_with_deadline(req, deadline).await
    }

    /// [`Pipeline::submit`] with its own deadline.
    pub async fn submit_with_deadline(
        &self,
        req: VerifyRequest,
        deadline: Duration,
    ) -> Result<VerifyResponse, ClientError> {
        let shared = &self.inner.shared;
        shared.count_call();
        // The request moves into the stream; keep a copy only where it may be needed.
        let spare = shared.fallback_enabled().then(|| req.clone());
        match self.exchange(req, deadline).await {
            Err(e) if e.unserved() => match spare {
                Some(req) => shared.fall_back(&req, e).await,
                None => Err(e),
            },
            result => result,
        }
    }

    async fn exchange(
        &self,
        mut req: VerifyRequest,
        deadline: Duration,
    ) -> Result<VerifyResponse, ClientError> {
        let inner = &*self.inner;
        let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (answer, mut rx) = oneshot::channel();
        {
            let mut table = lock(&inner.table);
            if let Some(why) = &table.closed {
                return Err(why.clone());
            }
            table.waiting.insert(
                id,
                Waiter {
                    caller_id: req.id,
                    answer,
                },
            );
        }
        let _forget = Forget {
            table: &inner.table,
            id,
        };
        req.id = id;
        let work = async {
            // The stream may end while this waits for room in the queue.
            tokio::select! {
                sent = inner.requests.send(req) => {
                    if sent.is_err() {
                        return Err(ClientError::StreamClosed);
                    }
                }
                answer = &mut rx => return answer.unwrap_or(Err(ClientError::StreamClosed)),
            }
            rx.await.unwrap_or(Err(ClientError::StreamClosed))
        };
        tokio::time::timeout(deadline, work)
            .await
            .unwrap_or(Err(ClientError::Timeout))
    }
}

/// Hands each response to its caller until the stream ends, then fails the rest.
async fn read_responses(
    mut responses: tonic::Streaming<VerifyResponse>,
    table: Arc<Mutex<Table>>,
    shared: Arc<Shared>,
    key: Key,
) {
    let end = loop {
        match responses.message().await {
            Ok(Some(response)) => deliver(&table, response),
            Ok(None) => break ClientError::StreamClosed,
            Err(status) => {
                tracing::debug!(endpoint = %key.uri, "verification stream failed: {status}");
                break match classify(status) {
                    Failure::Timeout => ClientError::Timeout,
                    Failure::Down(status) => {
                        shared.mark_down(&key);
                        ClientError::Status(status)
                    }
                    Failure::Shed(status) | Failure::Final(status) => ClientError::Status(status),
                };
            }
        }
    };
    let waiting = {
        let mut table = lock(&table);
        table.closed = Some(end.clone());
        std::mem::take(&mut table.waiting)
    };
    for waiter in waiting.into_values() {
        // A caller that stopped waiting has nothing to receive this.
        let _ = waiter.answer.send(Err(end.clone()));
    }
}

fn deliver(table: &Mutex<Table>, mut response: VerifyResponse) {
    let Some(waiter) = lock(table).waiting.remove(&response.id) else {
        tracing::debug!(
            wire_id = response.id,
            "response for a request whose caller stopped waiting; dropped"
        );
        return;
    };
    response.id = waiter.caller_id;
    let answer = match response.status.take() {
        Some(status) => Err(ClientError::Status(tonic::Status::new(
            Code::from(status.code),
            status.message,
        ))),
        None => Ok(response),
    };
    let _ = waiter.answer.send(answer);
}
