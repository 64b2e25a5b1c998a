//! Load shedding before a request's body is read.
//!
//! Admission control ([`Admission`]) refuses what the queue cannot take, but only once
//! the request has been received and decoded, so under a flood most of the appliance's
//! time went on decoding requests it then refused (goodput halved under a 10x flood).
//! [`ShedLayer`] asks the same budget first, from the request's headers alone: when even
//! the smallest request from this client would be refused now
//! ([`Admission::precheck`]), the call is answered RESOURCE_EXHAUSTED at once, its
//! body never read and the service never called. The answer is the one the scheduler
//! gives (same error, same message, same `vigil_shed_total{reason}` label, and the
//! same `vigil_requests_total{method, code="RESOURCE_EXHAUSTED"}` count), so a client
//! or a dashboard cannot tell the two apart and need not.
//!
//! It never refuses what admission would take: the precheck only refuses what
//! admission would refuse for any request of at least its size. It applies to the
//! unary calls that carry work (`Verify` and `MerkleRoot`); a `VerifyStream` is
//! admitted request by request inside the stream, and `Devices`, health and reflection
//! are always answered.
//!
//! The client is named as the service names it ([`client_key`]), so the precheck and
//! the admission that follows charge the same client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::{Either, Ready};
use prometheus::IntCounterVec;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
use tower::{Layer, Service};

use super::admission::{Admission, ClientKey, Refusal};
use super::error::{code_label, ServeError};

/// The header a client may send to name itself for fairness (else its address is used).
pub const CLIENT_ID_HEADER: &str = "vigil-client-id";

/// Longest `vigil-client-id` taken, in bytes; a longer one is ignored.
const MAX_CLIENT_ID: usize = 64;

/// The unary Verify call: a request of at least one signature.
pub const VERIFY_PATH: &str = "/vigil.v1.Verifier/Verify";

/// The MerkleRoot call: charged `leaves / 16` signatures, so a small one charges none.
pub const MERKLE_ROOT_PATH: &str = "/vigil.v1.Verifier/MerkleRoot";

/// Who sent a request, for fairness: `id:<value>` of its `vigil-client-id` header (1 to
/// 64 bytes of visible ASCII), else its peer address, else `unknown`.
pub fn client_key(headers: &http::HeaderMap, remote: Option<SocketAddr>) -> ClientKey {
    if let Some(id) = headers
        .get(CLIENT_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= MAX_CLIENT_ID)
    {
        return Arc::from(format!("id:{id}"));
    }
    match remote {
        Some(addr) => Arc::from(addr.to_string()),
        None => Arc::from("unknown"),
    }
}

/// The peer address tonic's server puts in a request's extensions (plain TCP or TLS),
/// found as `tonic::Request::remote_addr` finds it.
pub fn remote_addr(extensions: &http::Extensions) -> Option<SocketAddr> {
    extensions
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| {
            extensions
                .get::<TlsConnectInfo<TcpConnectInfo>>()
                .and_then(|i| i.get_ref().remote_addr())
        })
}

/// The status message of a refusal, as the scheduler words it.
fn message(refusal: Refusal) -> &'static str {
    match refusal {
        Refusal::Full => "queue full",
        Refusal::FairShare => "queue contended and this client holds its fair share",
        // The smallest request always fits an empty queue (capacities are at least 1).
        Refusal::TooLarge => "request larger than the queue",
    }
}

/// Sheds `Verify` and `MerkleRoot` calls the queue would refuse, before their bodies
/// are read. Add it with
/// `Server::builder().layer(ShedLayer::new(admission, shed, requests))`.
#[derive(Debug, Clone)]
pub struct ShedLayer {
    admission: Arc<Admission>,
    shed: IntCounterVec,
    requests: IntCounterVec,
}

impl ShedLayer {
    /// Checks against `admission` (the scheduler's own budget) and counts each call shed
    /// in `shed` (`vigil_shed_total`, by refusal label) and in `requests`
    /// (`vigil_requests_total`, by method and code), as the service counts the calls it
    /// answers.
    pub fn new(
        admission: Arc<Admission>,
        shed: IntCounterVec,
        requests: IntCounterVec,
    ) -> ShedLayer {
        ShedLayer {
            admission,
            shed,
            requests,
        }
    }
}

impl<S> Layer<S> for ShedLayer {
    type Service = Shed<S>;

    fn layer(&self, inner: S) -> Shed<S> {
        Shed {
            inner,
            admission: self.admission.clone(),
            shed: self.shed.clone(),
            requests: self.requests.clone(),
        }
    }
}

/// The service [`ShedLayer`] makes.
#[derive(Debug, Clone)]
pub struct Shed<S> {
    inner: S,
    admission: Arc<Admission>,
    shed: IntCounterVec,
    requests: IntCounterVec,
}

impl<S, B, ResBody> Service<http::Request<B>> for Shed<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResBody>>,
    ResBody: Default,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = Either<Ready<Result<http::Response<ResBody>, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let (merkle, method) = match request.uri().path() {
            VERIFY_PATH => (false, "Verify"),
            MERKLE_ROOT_PATH => (true, "MerkleRoot"),
            _ => return Either::Right(self.inner.call(request)),
        };
        let client = client_key(request.headers(), remote_addr(request.extensions()));
        // The smallest request of each call: a Verify request that verifies anything
        // holds a signature; a MerkleRoot request of under 16 leaves is charged none.
        let verdict = if merkle {
            self.admission.precheck_size(&client, 0, 1)
        } else {
            self.admission.precheck(&client)
        };
        match verdict {
            Ok(()) => Either::Right(self.inner.call(request)),
            Err(refusal) => {
                self.shed.with_label_values(&[refusal.label()]).inc();
                let error = ServeError::Shed(message(refusal).into());
                self.requests
                    .with_label_values(&[method, code_label(error.code())])
                    .inc();
                let status = tonic::Status::from(error);
                // The request (and its unread body) is dropped here.
                Either::Left(futures::future::ready(Ok(status.into_http())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::future::poll_fn;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use bytes::Bytes;
    use http_body::{Body, Frame};
    use prometheus::Opts;
    use tonic::Code;

    use crate::serve::admission::Ticket;

    /// A body that records whether anyone polled it.
    struct Watched(Arc<AtomicBool>);

    impl Body for Watched {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            self.0.store(true, Ordering::SeqCst);
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"\0\0\0\0\0")))))
        }
    }

    /// The inner service: counts calls and reads the request body's first frame, as
    /// tonic would.
    #[derive(Clone)]
    struct Inner(Arc<AtomicUsize>);

    impl Service<http::Request<tonic::body::Body>> for Inner {
        type Response = http::Response<tonic::body::Body>;
        type Error = std::convert::Infallible;
        type Future =
            Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                let mut body = request.into_body();
                let _ = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
                Ok(http::Response::new(tonic::body::Body::default()))
            })
        }
    }

    struct Setup {
        admission: Arc<Admission>,
        shed: IntCounterVec,
        requests: IntCounterVec,
        calls: Arc<AtomicUsize>,
        service: Shed<Inner>,
    }

    fn setup(capacity_signatures: usize, capacity_bytes: usize) -> Setup {
        let admission = Admission::new(capacity_signatures, capacity_bytes);
        let shed = IntCounterVec::new(Opts::new("shed", "shed"), &["reason"]).unwrap();
        let requests =
            IntCounterVec::new(Opts::new("requests", "requests"), &["method", "code"]).unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let service = ShedLayer::new(admission.clone(), shed.clone(), requests.clone())
            .layer(Inner(calls.clone()));
        Setup {
            admission,
            shed,
            requests,
            calls,
            service,
        }
    }

    fn request(
        path: &str,
        client: &str,
        polled: &Arc<AtomicBool>,
    ) -> http::Request<tonic::body::Body> {
        http::Request::builder()
            .uri(format!("http://vigil{path}"))
            .header(CLIENT_ID_HEADER, client)
            .body(tonic::body::Body::new(Watched(polled.clone())))
            .unwrap()
    }

    async fn call(
        service: &mut Shed<Inner>,
        request: http::Request<tonic::body::Body>,
    ) -> http::Response<tonic::body::Body> {
        poll_fn(|cx| service.poll_ready(cx)).await.unwrap();
        service.call(request).await.unwrap()
    }

    fn grpc_status(response: &http::Response<tonic::body::Body>) -> Option<&str> {
        response
            .headers()
            .get("grpc-status")
            .map(|v| v.to_str().unwrap())
    }

    #[tokio::test]
    async fn a_full_queue_is_answered_at_once_without_reading_the_body() {
        let mut s = setup(10, 1_000);
        let _full: Ticket = s.admission.admit(&Arc::from("id:heavy"), 10, 1).unwrap();
        for path in [VERIFY_PATH, MERKLE_ROOT_PATH] {
            let polled = Arc::new(AtomicBool::new(false));
            // Merkle requests are charged bytes: fill those too for them.
            let _bytes = (path == MERKLE_ROOT_PATH)
                .then(|| s.admission.admit(&Arc::from("id:bytes"), 0, 999).unwrap());
            let response = call(&mut s.service, request(path, "light", &polled)).await;
            assert_eq!(response.status(), http::StatusCode::OK);
            assert_eq!(grpc_status(&response), Some("8"), "{path}");
            assert_eq!(
                response.headers()["content-type"].to_str().unwrap(),
                "application/grpc"
            );
            let status = tonic::Status::from_header_map(response.headers()).unwrap();
            assert_eq!(status.code(), Code::ResourceExhausted);
            assert_eq!(status.message(), "appliance is shedding load: queue full");
            assert!(!polled.load(Ordering::SeqCst), "{path}: body read");
        }
        assert_eq!(s.calls.load(Ordering::SeqCst), 0, "inner service called");
        assert_eq!(s.shed.with_label_values(&["queue_full"]).get(), 2);
        // Each shed call is a request answered, as the service would count it.
        for method in ["Verify", "MerkleRoot"] {
            let answered = s
                .requests
                .with_label_values(&[method, "RESOURCE_EXHAUSTED"]);
            assert_eq!(answered.get(), 1, "{method}");
        }
    }

    #[tokio::test]
    async fn a_client_over_its_share_is_shed_and_others_pass() {
        let mut s = setup(100, 1_000_000);
        let heavy: ClientKey = Arc::from("id:heavy");
        let _held: Vec<Ticket> = (0..8)
            .map(|_| s.admission.admit(&heavy, 10, 1).unwrap())
            .collect();
        let polled = Arc::new(AtomicBool::new(false));
        // "light" asks first (and so is active), then heavy is over its half.
        let response = call(&mut s.service, request(VERIFY_PATH, "light", &polled)).await;
        assert_eq!(grpc_status(&response), None);
        assert!(polled.load(Ordering::SeqCst), "passed on and read");
        let polled = Arc::new(AtomicBool::new(false));
        let response = call(&mut s.service, request(VERIFY_PATH, "heavy", &polled)).await;
        let status = tonic::Status::from_header_map(response.headers()).unwrap();
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert!(status.message().contains("fair share"), "{status:?}");
        assert!(!polled.load(Ordering::SeqCst));
        assert_eq!(s.calls.load(Ordering::SeqCst), 1);
        assert_eq!(s.shed.with_label_values(&["fair_share"]).get(), 1);
    }

    #[tokio::test]
    async fn other_calls_and_a_queue_with_room_pass_through() {
        let mut s = setup(10, 1_000);
        let polled = Arc::new(AtomicBool::new(false));
        let response = call(&mut s.service, request(VERIFY_PATH, "a", &polled)).await;
        assert_eq!(grpc_status(&response), None);
        assert!(polled.load(Ordering::SeqCst));

        let _full: Ticket = s.admission.admit(&Arc::from("id:heavy"), 10, 1).unwrap();
        for path in [
            "/vigil.v1.Verifier/VerifyStream",
            "/vigil.v1.Verifier/Devices",
            "/grpc.health.v1.Health/Check",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/vigil.v1.Verifier/VerifyX",
        ] {
            let polled = Arc::new(AtomicBool::new(false));
            let response = call(&mut s.service, request(path, "a", &polled)).await;
            assert_eq!(grpc_status(&response), None, "{path}");
            assert!(polled.load(Ordering::SeqCst), "{path}");
        }
        // A MerkleRoot request may be charged no signature: a queue full of signatures
        // but with bytes to spare still takes it.
        let polled = Arc::new(AtomicBool::new(false));
        let response = call(&mut s.service, request(MERKLE_ROOT_PATH, "a", &polled)).await;
        assert_eq!(grpc_status(&response), None);
        assert_eq!(s.calls.load(Ordering::SeqCst), 7);
        assert_eq!(s.shed.with_label_values(&["queue_full"]).get(), 0);
    }

    /// The derivation service.rs made from a `tonic::Request` (metadata and
    /// `remote_addr`), written again here as the reference.
    fn reference_key<T>(request: &tonic::Request<T>) -> ClientKey {
        if let Some(id) = request
            .metadata()
            .get(CLIENT_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 64)
        {
            return Arc::from(format!("id:{id}"));
        }
        match request.remote_addr() {
            Some(addr) => Arc::from(addr.to_string()),
            None => Arc::from("unknown"),
        }
    }

    #[test]
    fn the_client_key_is_the_services() {
        let peer: SocketAddr = "192.0.2.7:40000".parse().unwrap();
        let long = "x".repeat(64);
        let too_long = "x".repeat(65);
        let values: Vec<Option<&[u8]>> = vec![
            None,
            Some(b"alice"),
            Some(b""),
            Some(long.as_bytes()),
            Some(too_long.as_bytes()),
            Some(b"caf\xc3\xa9"),
            Some(b"tab\there"),
            Some(b"sp ace"),
        ];
        for value in values {
            for remote in [Some(peer), None] {
                let mut request = http::Request::new(());
                if let Some(v) = value {
                    request
                        .headers_mut()
                        .insert(CLIENT_ID_HEADER, http::HeaderValue::from_bytes(v).unwrap());
                }
                request.extensions_mut().insert(TcpConnectInfo {
                    local_addr: None,
                    remote_addr: remote,
                });
                let ours = client_key(request.headers(), remote_addr(request.extensions()));
                let theirs = reference_key(&tonic::Request::from_http(request));
                assert_eq!(ours, theirs, "{value:?} {remote:?}");
            }
        }
        let mut headers = http::HeaderMap::new();
        assert_eq!(&*client_key(&headers, Some(peer)), "192.0.2.7:40000");
        assert_eq!(&*client_key(&headers, None), "unknown");
        headers.insert(CLIENT_ID_HEADER, http::HeaderValue::from_static("bob"));
        assert_eq!(&*client_key(&headers, Some(peer)), "id:bob");
        headers.insert(
            CLIENT_ID_HEADER,
            http::HeaderValue::from_str(&too_long).unwrap(),
        );
        assert_eq!(&*client_key(&headers, Some(peer)), "192.0.2.7:40000");
    }

    #[test]
    fn the_shed_paths_are_the_generated_ones() {
        use vigil_proto::v1::verifier_server::SERVICE_NAME;
        assert_eq!(VERIFY_PATH, format!("/{SERVICE_NAME}/Verify"));
        assert_eq!(MERKLE_ROOT_PATH, format!("/{SERVICE_NAME}/MerkleRoot"));
    }

    /// The layers type-check where serve/mod.rs adds them, in front of the real
    /// services, and the server runs with them.
    #[tokio::test]
    async fn the_layers_fit_the_tonic_server() {
        let metrics = Arc::new(crate::serve::metrics::Metrics::new().unwrap());
        let admission = Admission::new(10, 1_000);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        let (_health, health_service) = tonic_health::server::health_reporter();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let layers = tower::ServiceBuilder::new()
            .layer(ShedLayer::new(
                admission.clone(),
                metrics.shed.clone(),
                metrics.requests.clone(),
            ))
            .layer(crate::serve::frames::FrameGuardLayer::new(1 << 20))
            .into_inner();
        let server = tonic::transport::Server::builder()
            .layer(layers)
            .add_service(health_service)
            .add_service(vigil_proto::v1::verifier_server::VerifierServer::new(
                Refuser,
            ))
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stop_rx.await;
            });
        let server = tokio::spawn(server);

        // Over TCP: a full queue sheds Verify from the peer's address; with room, the
        // call reaches the service.
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = vigil_proto::v1::verifier_client::VerifierClient::new(channel);
        let full = admission.admit(&Arc::from("id:other"), 10, 1).unwrap();
        let refused = client
            .verify(vigil_proto::v1::VerifyRequest::default())
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::ResourceExhausted);
        assert_eq!(metrics.shed.with_label_values(&["queue_full"]).get(), 1);
        drop(full);
        let reached = client
            .verify(vigil_proto::v1::VerifyRequest::default())
            .await
            .unwrap_err();
        assert_eq!(reached.code(), Code::Unimplemented, "{reached:?}");
        let _ = stop_tx.send(());
        server.await.unwrap().unwrap();
    }

    /// A Verifier that answers UNIMPLEMENTED to everything.
    struct Refuser;

    #[tonic::async_trait]
    impl vigil_proto::v1::verifier_server::Verifier for Refuser {
        async fn verify(
            &self,
            _: tonic::Request<vigil_proto::v1::VerifyRequest>,
        ) -> Result<tonic::Response<vigil_proto::v1::VerifyResponse>, tonic::Status> {
            Err(tonic::Status::unimplemented("reached"))
        }

        type VerifyStreamStream =
            futures::stream::Empty<Result<vigil_proto::v1::VerifyResponse, tonic::Status>>;

        async fn verify_stream(
            &self,
            _: tonic::Request<tonic::Streaming<vigil_proto::v1::VerifyRequest>>,
        ) -> Result<tonic::Response<Self::VerifyStreamStream>, tonic::Status> {
            Err(tonic::Status::unimplemented("reached"))
        }

        async fn merkle_root(
            &self,
            _: tonic::Request<vigil_proto::v1::MerkleRequest>,
        ) -> Result<tonic::Response<vigil_proto::v1::MerkleResponse>, tonic::Status> {
            Err(tonic::Status::unimplemented("reached"))
        }

        async fn devices(
            &self,
            _: tonic::Request<vigil_proto::v1::DevicesRequest>,
        ) -> Result<tonic::Response<vigil_proto::v1::DevicesResponse>, tonic::Status> {
            Err(tonic::Status::unimplemented("reached"))
        }
    }
}
