//! vigil-client: the library a blockchain node links to verify signatures on Vigil
//! appliances.
//!
//! A node's verification path must not stall on one machine, so the client spreads
//! calls over every appliance it knows and steps around the ones that fail:
//!
//! * **Endpoints** are fixed (`http://`, `https://`) or a DNS name (`dns://`) whose
//!   addresses are re-resolved periodically, as a headless Kubernetes Service gives
//!   them ([`EndpointSpec`]). Each address gets its own channel; channels connect
//!   lazily, so [`Client::connect`] never waits on a dead appliance.
//! * **Balancing** is round-robin over the appliances not marked down. An appliance
//!   that cannot be connected to or answers `UNAVAILABLE` is marked down for a short
//!   backoff ([`ClientConfig::down_backoff`]).
//! * **Deadlines**: every call has one (the configured default or the caller's). It is
//!   sent as `grpc-timeout`, so the appliance drops work nobody waits for, and enforced
//!   here too, so a silent appliance cannot hold a call past it.
//! * **Retries**: `UNAVAILABLE` (or no connection) and `RESOURCE_EXHAUSTED` (the
//!   appliance shedding load) are retried on another appliance, after a short backoff,
//!   up to [`ClientConfig::attempts`] tries in all, within the deadline. Every other
//!   code is returned as is: `INVALID_ARGUMENT` means the request is wrong and would be
//!   wrong anywhere. A call that runs out of time is not retried.
//! * **Local fallback** (off unless [`ClientConfig::local_fallback`] is set): when no
//!   appliance could serve a request, it is verified on this machine's CPU through the
//!   daemon's own request conversion, so the verdicts are the appliance's. The
//!   deadline bounds the time spent on appliances; the fallback's own work comes after
//!   it. [`Client::stats`] counts fallbacks, so a node can alert on them.
//! * **Pipelines** ([`Client::pipeline`]) keep many requests in flight on one
//!   `VerifyStream`, for nodes that verify continuously.
//!
//! Nothing here panics on what an appliance sends or a caller passes; every failure is
//! a [`ClientError`] with the gRPC code it corresponds to.

mod balancer;
mod config;
mod endpoint;
mod error;
mod fallback;
mod pipeline;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::{Code, Request};
use vigil_proto::v1::verifier_client::VerifierClient;
use vigil_proto::v1::{
    DevicesRequest, DevicesResponse, MerkleRequest, MerkleResponse, VerifyRequest, VerifyResponse,
};

use balancer::{Balancer, Key};
use endpoint::ChannelFactory;
use fallback::Fallback;

pub use config::{ClientConfig, ClientIdentity, TlsConfig};
pub use endpoint::EndpointSpec;
pub use error::ClientError;
pub use fallback::LOCAL_BACKEND;
pub use pipeline::Pipeline;
/// The wire types, for building requests and reading responses.
pub use vigil_proto::v1 as proto;

/// A handle on a set of appliances. Cheap to clone: clones share channels, balancing
/// state and counters. Dropping the last clone stops DNS re-resolution.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    resolver: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = &self.resolver {
            task.abort();
        }
    }
}

/// What calls, pipelines and the resolver share.
#[derive(Debug)]
pub(crate) struct Shared {
    balancer: Mutex<Balancer<Channel>>,
    factory: ChannelFactory,
    deadline: Duration,
    attempts: usize,
    down_backoff: Duration,
    retry_backoff: Duration,
    max_message_bytes: usize,
    fallback: Option<Fallback>,
    counters: Counters,
}

#[derive(Debug, Default)]
struct Counters {
    calls: AtomicU64,
    attempts: AtomicU64,
    retries: AtomicU64,
    fallbacks: AtomicU64,
}

/// Counters since the client was created, and the state of its appliances now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Calls made (unary calls and pipeline submits).
    pub calls: u64,
    /// Unary requests sent to appliances and streams opened, first tries and retries
    /// (pipeline submits are not attempts: they ride an open stream).
    pub attempts: u64,
    /// Of those, the retries.
    pub retries: u64,
    /// Requests verified by the local fallback.
    pub fallbacks: u64,
    /// Appliance addresses known.
    pub endpoints: usize,
    /// Of those, how many are marked down now.
    pub endpoints_down: usize,
}

/// One attempt's view: a client for the chosen appliance, the time left, and which
/// appliance it is.
struct Attempt {
    client: VerifierClient<Channel>,
    time_left: Duration,
    key: Key,
}

impl Client {
    /// A client for `config.endpoints`. Parses and checks the configuration, resolves
    /// `dns://` names once (a name that does not resolve yet is logged and retried at
    /// the resolve interval, not an error) and creates lazily connecting channels: it
    /// never waits for an appliance.
    pub async fn connect(config: ClientConfig) -> Result<Client, ClientError> {
        config.validate()?;
        let factory = ChannelFactory::new(config.tls.as_ref(), config.connect_timeout)?;
        let specs = config
            .endpoints
            .iter()
            .map(|text| EndpointSpec::parse(text))
            .collect::<Result<Vec<_>, _>>()?;
        let mut balancer = Balancer::default();
        let mut names = Vec::new();
        for (group, spec) in specs.iter().enumerate() {
            factory.check(spec)?;
            match spec {
                EndpointSpec::Static { .. } => {
                    let uri = factory.uri(spec, None);
                    let mut channel = Some(factory.channel(&uri, None)?);
                    balancer.set_group(group, &[uri], |_| channel.take());
                }
                EndpointSpec::Dns { host, port } => names.push(Name {
                    group,
                    spec: spec.clone(),
                    host: host.clone(),
                    port: *port,
                }),
            }
        }
        let shared = Arc::new(Shared {
            balancer: Mutex::new(balancer),
            factory,
            deadline: config.deadline,
            attempts: config.attempts,
            down_backoff: config.down_backoff,
            retry_backoff: config.retry_backoff,
            max_message_bytes: config.max_message_bytes,
            fallback: config
                .local_fallback
                .then(|| Fallback::new(config.fallback_threads)),
            counters: Counters::default(),
        });
        for name in &names {
            match tokio::time::timeout(config.deadline, resolve(&shared, name)).await {
                Ok(()) => {}
                Err(_) => tracing::warn!(
                    endpoint = %name.spec,
                    "resolving took longer than the deadline; retrying in the background"
                ),
            }
        }
        let resolver = (!names.is_empty()).then(|| {
            tokio::spawn(resolve_forever(
                shared.clone(),
                names,
                config.resolve_interval,
            ))
        });
        Ok(Client {
            inner: Arc::new(Inner { shared, resolver }),
        })
    }

    /// Verifies one batch within the default deadline.
    pub async fn verify(&self, req: VerifyRequest) -> Result<VerifyResponse, ClientError> {
        let deadline = self.inner.shared.deadline;
        self.verify_with_deadline(req, deadline).await
    }

    /// Verifies one batch within `deadline` (for the appliances; a local fallback runs
    /// after it).
    pub async fn verify_with_deadline(
        &self,
        req: VerifyRequest,
        deadline: Duration,
    ) -> Result<VerifyResponse, ClientError> {
        let shared = &self.inner.shared;
        shared.count_call();
        let result = shared
            .attempts(deadline, |mut a| {
                let mut request = Request::new(req.clone());
                request.set_timeout(a.time_left);
                async move { a.client.verify(request).await.map(|r| r.into_inner()) }
            })
            .await
            .and_then(|mut response| match response.status.take() {
                // Unary failures are the call's status; honour a stray per-request one.
                Some(status) => Err(ClientError::Status(tonic::Status::new(
                    Code::from(status.code),
                    status.message,
                ))),
                None => Ok(response),
            });
        match result {
            Err(e) if e.unserved() && shared.fallback_enabled() => shared.fall_back(&req, e).await,
            result => result,
        }
    }

    /// The vigil-merkle-v1 root of the leaves, with the inclusion proofs asked for.
    /// There is no local fallback for this call.
    pub async fn merkle_root(&self, req: MerkleRequest) -> Result<MerkleResponse, ClientError> {
        let shared = &self.inner.shared;
        shared.count_call();
        shared
            .attempts(shared.deadline, |mut a| {
                let mut request = Request::new(req.clone());
                request.set_timeout(a.time_left);
                async move { a.client.merkle_root(request).await.map(|r| r.into_inner()) }
            })
            .await
    }

    /// Backends, devices, health and queue depths of one appliance (the next in the
    /// rotation).
    pub async fn devices(&self) -> Result<DevicesResponse, ClientError> {
        let shared = &self.inner.shared;
        shared.count_call();
        shared
            .attempts(shared.deadline, |mut a| {
                let mut request = Request::new(DevicesRequest {});
                request.set_timeout(a.time_left);
                async move { a.client.devices(request).await.map(|r| r.into_inner()) }
            })
            .await
    }

    /// Opens a `VerifyStream` on one appliance (the next in the rotation, with the
    /// same retries as a call) and returns a [`Pipeline`] on it. Opening waits, within
    /// the default deadline, for the appliance to accept the stream.
    pub async fn pipeline(&self) -> Result<Pipeline, ClientError> {
        let shared = &self.inner.shared;
        let (requests, responses, key) = shared
            .attempts(shared.deadline, |mut a| {
                let (requests, queue) = mpsc::channel(pipeline::QUEUE);
                async move {
                    let responses = a.client.verify_stream(ReceiverStream::new(queue)).await?;
                    Ok((requests, responses.into_inner(), a.key))
                }
            })
            .await?;
        Ok(Pipeline::start(shared.clone(), key, requests, responses))
    }

    /// Counters and the appliances' state now.
    pub fn stats(&self) -> ClientStats {
        let shared = &self.inner.shared;
        let (endpoints, endpoints_down) = {
            let balancer = lock(&shared.balancer);
            (balancer.len(), balancer.down(Instant::now()))
        };
        let c = &shared.counters;
        ClientStats {
            calls: c.calls.load(Ordering::Relaxed),
            attempts: c.attempts.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            fallbacks: c.fallbacks.load(Ordering::Relaxed),
            endpoints,
            endpoints_down,
        }
    }
}

impl Shared {
    /// Runs `call` on appliances in turn until one answers, a non-retryable code comes
    /// back, the attempts are spent or the deadline passes.
    async fn attempts<T, F, Fut>(&self, deadline: Duration, mut call: F) -> Result<T, ClientError>
    where
        F: FnMut(Attempt) -> Fut,
        Fut: Future<Output = Result<T, tonic::Status>>,
    {
        let end = Instant::now() + deadline;
        let mut tried: Vec<Key> = Vec::new();
        let mut last = ClientError::NoEndpoints;
        for attempt in 0..self.attempts {
            if attempt > 0 {
                let exponent = u32::try_from(attempt - 1).unwrap_or(u32::MAX).min(10);
                let pause = self.retry_backoff.saturating_mul(1 << exponent);
                tokio::time::sleep(pause.min(end.saturating_duration_since(Instant::now()))).await;
            }
            let now = Instant::now();
            let time_left = end.saturating_duration_since(now);
            if time_left.is_zero() {
                return Err(ClientError::Timeout);
            }
            let Some((key, channel)) = lock(&self.balancer).pick(now, &tried) else {
                return Err(last);
            };
            self.counters.attempts.fetch_add(1, Ordering::Relaxed);
            if attempt > 0 {
                self.counters.retries.fetch_add(1, Ordering::Relaxed);
            }
            let client = VerifierClient::new(channel)
                .max_decoding_message_size(self.max_message_bytes)
                .max_encoding_message_size(self.max_message_bytes);
            let outcome = tokio::time::timeout(
                time_left,
                call(Attempt {
                    client,
                    time_left,
                    key: key.clone(),
                }),
            )
            .await;
            let status = match outcome {
                Err(_) => return Err(ClientError::Timeout),
                Ok(Ok(value)) => {
                    lock(&self.balancer).mark_up(&key);
                    return Ok(value);
                }
                Ok(Err(status)) => status,
            };
            let status = match classify(status) {
                Failure::Timeout => return Err(ClientError::Timeout),
                Failure::Down(status) => {
                    tracing::debug!(endpoint = %key.uri, "unavailable, marked down: {status}");
                    self.mark_down(&key);
                    status
                }
                Failure::Shed(status) => {
                    tracing::debug!(endpoint = %key.uri, "shedding load: {status}");
                    status
                }
                Failure::Final(status) => return Err(ClientError::Status(status)),
            };
            last = ClientError::Status(status);
            tried.push(key);
        }
        Err(last)
    }

    fn mark_down(&self, key: &Key) {
        lock(&self.balancer).mark_down(key, Instant::now() + self.down_backoff);
    }

    fn count_call(&self) {
        self.counters.calls.fetch_add(1, Ordering::Relaxed);
    }

    fn fallback_enabled(&self) -> bool {
        self.fallback.is_some()
    }

    /// Verifies `req` locally if fallback is on; otherwise returns `why`.
    async fn fall_back(
        &self,
        req: &VerifyRequest,
        why: ClientError,
    ) -> Result<VerifyResponse, ClientError> {
        let Some(fallback) = &self.fallback else {
            return Err(why);
        };
        self.counters.fallbacks.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("no appliance served the request ({why}); verifying locally");
        fallback.verify(req).await
    }
}

/// What a failed attempt means for the call.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The deadline passed (noticed by tonic's own timer or the appliance's).
    Timeout,
    /// The appliance could not be reached or said `UNAVAILABLE`: mark it down, retry.
    Down(tonic::Status),
    /// The appliance sheds load: retry elsewhere.
    Shed(tonic::Status),
    /// Anything else: the answer to the call.
    Final(tonic::Status),
}

/// Sorts a failed attempt's status.
///
/// A status tonic made on this side of the wire carries the transport error as its
/// source, while one an appliance sent never has a source. Tonic enforces the
/// `grpc-timeout` it sends, reporting `CANCELLED` with a `TimeoutExpired` source; a
/// connection that fails after connecting (a TLS handshake the appliance rejects, a
/// reset) arrives as `UNKNOWN` "transport error". Both are re-labelled here for what
/// they are: the deadline, and an unreachable appliance.
pub(crate) fn classify(status: tonic::Status) -> Failure {
    let mut source = std::error::Error::source(&status);
    let local = source.is_some();
    while let Some(error) = source {
        if error.is::<tonic::TimeoutExpired>() {
            return Failure::Timeout;
        }
        source = error.source();
    }
    match status.code() {
        Code::DeadlineExceeded => Failure::Timeout,
        Code::ResourceExhausted => Failure::Shed(status),
        // Local statuses with a code of their own (a message over the size limit) stand.
        Code::Unavailable | Code::Unknown | Code::Internal | Code::Cancelled if local => {
            // Tonic's message names the layer ("tcp connect error"); the cause is in
            // the sources.
            let why = endpoint::chain(
                status.message().to_string(),
                std::error::Error::source(&status),
            );
            Failure::Down(tonic::Status::unavailable(format!(
                "cannot reach the appliance: {why}"
            )))
        }
        Code::Unavailable => Failure::Down(status),
        _ => Failure::Final(status),
    }
}

/// A `dns://` endpoint to keep resolved.
#[derive(Debug)]
struct Name {
    group: usize,
    spec: EndpointSpec,
    host: String,
    port: u16,
}

/// Replaces `name`'s addresses with what it resolves to now. A failed or empty answer
/// keeps the addresses known: a resolver hiccup must not take every appliance away.
async fn resolve(shared: &Shared, name: &Name) {
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((name.host.as_str(), name.port))
        .await
    {
        Ok(addrs) => addrs.collect(),
        Err(e) => {
            tracing::warn!(endpoint = %name.spec, "cannot resolve: {e}; keeping the addresses known");
            return;
        }
    };
    let mut uris: Vec<String> = addrs
        .into_iter()
        .map(|addr| shared.factory.uri(&name.spec, Some(addr)))
        .collect();
    uris.sort();
    uris.dedup();
    if uris.is_empty() {
        tracing::warn!(endpoint = %name.spec, "resolved to no address; keeping the addresses known");
        return;
    }
    lock(&shared.balancer).set_group(name.group, &uris, |uri| {
        match shared.factory.channel(uri, Some(&name.host)) {
            Ok(channel) => Some(channel),
            Err(e) => {
                tracing::warn!(endpoint = %name.spec, "skipping {uri}: {e}");
                None
            }
        }
    });
}

async fn resolve_forever(shared: Arc<Shared>, names: Vec<Name>, every: Duration) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for name in &names {
            resolve(&shared, name).await;
        }
    }
}

/// Locks `mutex`, ignoring poisoning: every critical section leaves its data whole.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_shareable_across_tasks() {
        fn shareable<T: Clone + Send + Sync + 'static>() {}
        shareable::<Client>();
        shareable::<Pipeline>();
        shareable::<ClientError>();
    }

    #[test]
    fn statuses_are_sorted_by_origin_and_code() {
        // From an appliance (no source): by code.
        assert!(matches!(
            classify(tonic::Status::unavailable("x")),
            Failure::Down(_)
        ));
        assert!(matches!(
            classify(tonic::Status::resource_exhausted("x")),
            Failure::Shed(_)
        ));
        assert!(matches!(
            classify(tonic::Status::deadline_exceeded("x")),
            Failure::Timeout
        ));
        for status in [
            tonic::Status::invalid_argument("x"),
            tonic::Status::unknown("x"),
            tonic::Status::cancelled("x"),
        ] {
            assert!(matches!(classify(status), Failure::Final(_)));
        }
        // Made here from a transport error: the connection failed, or tonic's timer ran out.
        #[derive(Debug)]
        struct Reset;
        impl std::fmt::Display for Reset {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("reset by peer")
            }
        }
        impl std::error::Error for Reset {}
        let reset = tonic::Status::from_error(Box::new(Reset));
        assert_eq!(reset.code(), Code::Unknown);
        match classify(reset) {
            Failure::Down(s) => {
                assert_eq!(s.code(), Code::Unavailable);
                assert!(s.message().contains("reset by peer"), "{}", s.message());
            }
            other => panic!("{other:?}"),
        }
        let expired = tonic::Status::from_error(Box::new(tonic::TimeoutExpired(())));
        assert!(matches!(classify(expired), Failure::Timeout));
    }
}
