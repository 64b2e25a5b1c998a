//! The `vigil.v1.Verifier` gRPC service: the thin layer between tonic and the scheduler.
//!
//! It names the client (for fair shedding), reads the request's deadline, turns the
//! decoded request into a job for the [`Scheduler`] and its answer back into a response
//! ([`super::wire`]), and maps every failure through the one table in
//! [`super::error`]. On a stream each request is answered on its own as soon as its
//! verdicts are ready (out of order); a request that fails alone is answered with a
//! per-request status and the stream stays open.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::Stream;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use vigil_proto::lenient;
use vigil_proto::v1::verifier_server::Verifier;
use vigil_proto::v1::{
    DevicesRequest, DevicesResponse, MerkleRequest, MerkleResponse, RequestStatus, VerifyRequest,
    VerifyResponse,
};

use super::admission::ClientKey;
use super::error::{code_label, ServeError};
use super::metrics::Metrics;
use super::scheduler::{Reply, Scheduler};
use super::wire::{self, RequestLimits};

/// Time kept back from a request's deadline (at most a tenth of it) to answer
/// DEADLINE_EXCEEDED before tonic's own timer, started a moment earlier, cancels the
/// call (which would reach the client as CANCELLED), and while the client still waits.
/// 20 ms leaves room for a loaded machine's scheduling delays; a request that would
/// finish in its deadline's last 20 ms is rare, and it is answered, not lost.
const ANSWER_MARGIN: Duration = Duration::from_millis(20);

/// Responses buffered per stream before the stream's tasks wait for the client to read.
const STREAM_BUFFER: usize = 256;

/// The service.
pub struct VerifierService {
    scheduler: Arc<Scheduler>,
    limits: RequestLimits,
    metrics: Arc<Metrics>,
    stop: watch::Receiver<bool>,
}

impl VerifierService {
    /// A service over `scheduler`, refusing requests over `limits`; streams stop
    /// reading once `stop` turns true.
    pub fn new(
        scheduler: Arc<Scheduler>,
        limits: RequestLimits,
        metrics: Arc<Metrics>,
        stop: watch::Receiver<bool>,
    ) -> VerifierService {
        VerifierService {
            scheduler,
            limits,
            metrics,
            stop,
        }
    }

    fn count(&self, method: &str, code: tonic::Code) {
        self.metrics
            .requests
            .with_label_values(&[method, code_label(code)])
            .inc();
    }

    /// Counts a unary call's outcome and turns it into the gRPC answer.
    fn answer<T>(
        &self,
        method: &str,
        result: Result<T, ServeError>,
    ) -> Result<Response<T>, Status> {
        match result {
            Ok(response) => {
                self.count(method, tonic::Code::Ok);
                Ok(Response::new(response))
            }
            Err(e) => {
                self.count(method, e.code());
                Err(e.into())
            }
        }
    }
}

/// Who sent a request: its `vigil-client-id` header (at most 64 bytes) or peer address,
/// derived as the early-shedding layer derives it.
fn client_key<T>(request: &Request<T>) -> ClientKey {
    super::shed::client_key(request.metadata().as_ref(), request.remote_addr())
}

/// The request's deadline from its `grpc-timeout` header, less the answer margin.
fn deadline<T>(request: &Request<T>, received: Instant) -> Option<Instant> {
    let value = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    let timeout = parse_grpc_timeout(value)?;
    let margin = ANSWER_MARGIN.min(timeout / 10);
    Some(received + timeout.saturating_sub(margin))
}

/// Parses a `grpc-timeout` value: up to 8 digits and a unit (H, M, S, m, u, n).
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.as_bytes().split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits
        .iter()
        .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
    Some(match unit {
        b"H" => Duration::from_secs(n * 3600),
        b"M" => Duration::from_secs(n * 60),
        b"S" => Duration::from_secs(n),
        b"m" => Duration::from_millis(n),
        b"u" => Duration::from_micros(n),
        b"n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Checks and queues a request: the receiver yields its verdicts.
fn submit(
    scheduler: &Arc<Scheduler>,
    limits: &RequestLimits,
    client: &ClientKey,
    request: VerifyRequest,
    deadline: Option<Instant>,
) -> Result<tokio::sync::oneshot::Receiver<Reply>, ServeError> {
    let job = wire::verify_job(request, limits)?;
    scheduler.submit(client, job, deadline)
}

/// Waits for a scheduled reply, answering DEADLINE_EXCEEDED if the deadline comes first,
/// and makes the response of it.
async fn await_reply(
    rx: tokio::sync::oneshot::Receiver<Reply>,
    deadline: Option<Instant>,
) -> Result<VerifyResponse, ServeError> {
    let answer = async {
        rx.await.unwrap_or_else(|_| {
            Err(ServeError::Internal(
                "the scheduler dropped a request".into(),
            ))
        })
    };
    let reply = match deadline {
        Some(d) => tokio::time::timeout_at(d.into(), answer)
            .await
            .unwrap_or(Err(ServeError::DeadlineExceeded)),
        None => answer.await,
    };
    reply.map(wire::verify_response)
}

/// A stream response that reports one request's failure.
fn failed(id: u64, error: &ServeError) -> VerifyResponse {
    VerifyResponse {
        id,
        status: Some(RequestStatus {
            code: error.code() as i32,
            message: error.to_string(),
        }),
        ..VerifyResponse::default()
    }
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<VerifyResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Verifier for VerifierService {
    async fn verify(
        &self,
        request: Request<VerifyRequest>,
    ) -> Result<Response<VerifyResponse>, Status> {
        let received = Instant::now();
        let client = client_key(&request);
        let deadline = deadline(&request, received);
        let result = match submit(
            &self.scheduler,
            &self.limits,
            &client,
            request.into_inner(),
            deadline,
        ) {
            Ok(rx) => await_reply(rx, deadline).await,
            Err(e) => Err(e),
        };
        self.answer("Verify", result)
    }

    type VerifyStreamStream = ResponseStream;

    async fn verify_stream(
        &self,
        request: Request<Streaming<VerifyRequest>>,
    ) -> Result<Response<Self::VerifyStreamStream>, Status> {
        let client = client_key(&request);
        // Messages the frame guard refused (oversize, compressed) arrive as empty
        // stand-ins; this says which, so each gets its own status.
        let rejected = request
            .extensions()
            .get::<super::frames::RejectedFrames>()
            .cloned();
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel::<Result<VerifyResponse, Status>>(STREAM_BUFFER);
        let scheduler = self.scheduler.clone();
        let limits = self.limits;
        let metrics = self.metrics.clone();
        let mut stop = self.stop.clone();
        tokio::spawn(async move {
            let count = move |code: tonic::Code| {
                metrics
                    .requests
                    .with_label_values(&["VerifyStream", code_label(code)])
                    .inc();
            };
            let mut index: u64 = 0;
            loop {
                // On shutdown the stream stops reading; it ends (OK) once the requests
                // it accepted are answered, so an idle stream cannot hold the exit.
                let next = tokio::select! {
                    biased;
                    _ = stop.wait_for(|s| *s) => break,
                    next = lenient::message(&mut inbound) => next,
                };
                let read = match next {
                    Ok(Some(read)) => read,
                    Ok(None) => break,
                    Err(status) => {
                        // A broken transport or framing (a message cut short) ends the
                        // call; requests already accepted are still answered first.
                        tracing::debug!(%status, "inbound stream ended with an error");
                        let _ = tx.send(Err(status)).await;
                        break;
                    }
                };
                let this = index;
                index += 1;
                let request = match read {
                    lenient::Read::Decoded(request) => request,
                    lenient::Read::Undecodable(reason) => {
                        // Its id cannot be trusted from bytes that do not decode.
                        let error = ServeError::Undecodable(reason);
                        count(error.code());
                        if tx.send(Ok(failed(0, &error))).await.is_err() {
                            break;
                        }
                        continue;
                    }
                };
                if let Some(r) = rejected.as_ref().and_then(|r| r.take(this)) {
                    let error = ServeError::Frame(r.reason);
                    count(error.code());
                    if tx
                        .send(Ok(failed(r.id.unwrap_or(0), &error)))
                        .await
                        .is_err()
                    {
                        break;
                    }
                    continue;
                }
                let id = request.id;
                match submit(&scheduler, &limits, &client, request, None) {
                    Ok(rx) => {
                        let tx = tx.clone();
                        let count = count.clone();
                        tokio::spawn(async move {
                            let response = match await_reply(rx, None).await {
                                Ok(response) => {
                                    count(tonic::Code::Ok);
                                    response
                                }
                                Err(e) => {
                                    count(e.code());
                                    failed(id, &e)
                                }
                            };
                            let _ = tx.send(Ok(response)).await;
                        });
                    }
                    Err(e) => {
                        count(e.code());
                        if tx.send(Ok(failed(id, &e))).await.is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn merkle_root(
        &self,
        request: Request<MerkleRequest>,
    ) -> Result<Response<MerkleResponse>, Status> {
        let client = client_key(&request);
        let job = wire::merkle_job(request.into_inner());
        let result = self.scheduler.merkle(&client, job).await;
        self.answer("MerkleRoot", result.map(wire::merkle_answer))
    }

    async fn devices(
        &self,
        _request: Request<DevicesRequest>,
    ) -> Result<Response<DevicesResponse>, Status> {
        let devices = wire::devices_response(self.scheduler.devices());
        self.answer("Devices", Ok(devices))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeout_values() {
        assert_eq!(parse_grpc_timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(
            parse_grpc_timeout("99999999n"),
            Some(Duration::from_nanos(99_999_999))
        );
        for bad in ["", "S", "5", "123456789S", "5s", "-5S", "5 S", "5é"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
    }
}
