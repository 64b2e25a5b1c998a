//! Verifier calls in progress, counted from their headers to their last byte sent.
//!
//! Shutdown waits for accepted work, not for connections: an idle connection or an
//! idle stream must not hold the process for the whole grace period. So the process
//! exits once every call to the `vigil.v1.Verifier` service has been answered, and an
//! answer counts as given only when its response body has been sent to the end (or
//! the client went away), which this layer observes by wrapping the body.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http_body::{Body, Frame, SizeHint};
use prometheus::IntGauge;
use tokio::sync::Notify;

/// Path prefix of the calls counted.
const VERIFIER: &str = "/vigil.v1.Verifier/";

/// The count of calls in progress.
#[derive(Debug)]
pub struct Calls {
    n: AtomicUsize,
    gauge: IntGauge,
    idle: Notify,
}

impl Calls {
    /// No calls yet; `gauge` mirrors the count.
    pub fn new(gauge: IntGauge) -> Arc<Calls> {
        Arc::new(Calls {
            n: AtomicUsize::new(0),
            gauge,
            idle: Notify::new(),
        })
    }

    /// Calls in progress.
    pub fn count(&self) -> usize {
        self.n.load(Ordering::Acquire)
    }

    /// Resolves when no call is in progress.
    pub async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.count() == 0 {
                return;
            }
            notified.await;
        }
    }

    fn begin(self: &Arc<Self>) -> CallGuard {
        self.n.fetch_add(1, Ordering::AcqRel);
        self.gauge.inc();
        CallGuard(self.clone())
    }
}

/// One call in progress; ends when dropped.
#[derive(Debug)]
struct CallGuard(Arc<Calls>);

impl Drop for CallGuard {
    fn drop(&mut self) {
        self.0.gauge.dec();
        if self.0.n.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// The tower layer that counts calls.
#[derive(Debug, Clone)]
pub struct CallsLayer(Arc<Calls>);

impl CallsLayer {
    /// Counts into `calls`.
    pub fn new(calls: Arc<Calls>) -> CallsLayer {
        CallsLayer(calls)
    }
}

impl<S> tower::Layer<S> for CallsLayer {
    type Service = CallsService<S>;

    fn layer(&self, inner: S) -> CallsService<S> {
        CallsService {
            inner,
            calls: self.0.clone(),
        }
    }
}

/// See [`CallsLayer`].
#[derive(Debug, Clone)]
pub struct CallsService<S> {
    inner: S,
    calls: Arc<Calls>,
}

impl<S, ReqB, ResB> tower::Service<http::Request<ReqB>> for CallsService<S>
where
    S: tower::Service<http::Request<ReqB>, Response = http::Response<ResB>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Counted<ResB>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqB>) -> Self::Future {
        let guard = request
            .uri()
            .path()
            .starts_with(VERIFIER)
            .then(|| self.calls.begin());
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await?;
            Ok(response.map(|body| Counted { body, guard }))
        })
    }
}

/// A response body that ends its call when it has been sent to the end or dropped.
#[derive(Debug)]
pub struct Counted<B> {
    body: B,
    guard: Option<CallGuard>,
}

impl<B: Body + Unpin> Body for Counted<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            this.guard = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use http_body_util::{BodyExt, Full};
    use tower::{Layer, Service, ServiceExt};

    #[tokio::test]
    async fn a_call_is_counted_until_its_body_is_sent() {
        let calls = Calls::new(IntGauge::new("t", "t").unwrap());
        let inner = tower::service_fn(|_req: http::Request<()>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                bytes::Bytes::from_static(b"abc"),
            )))
        });
        let mut svc = CallsLayer::new(calls.clone()).layer(inner);
        let request = |path: &str| http::Request::builder().uri(path).body(()).unwrap();
        let response = svc
            .ready()
            .await
            .unwrap()
            .call(request("/vigil.v1.Verifier/Verify"))
            .await
            .unwrap();
        assert_eq!(calls.count(), 1, "answered but not yet sent");
        let other = svc
            .ready()
            .await
            .unwrap()
            .call(request("/grpc.health.v1.Health/Watch"))
            .await
            .unwrap();
        assert_eq!(calls.count(), 1, "health is not counted");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"abc");
        assert_eq!(calls.count(), 0);
        drop(other);
        // Idle resolves at once now.
        tokio::time::timeout(std::time::Duration::from_secs(1), calls.idle())
            .await
            .unwrap();
    }
}
