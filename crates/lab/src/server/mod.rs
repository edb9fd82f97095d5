//! The HTTP listener of each pod: `GET /metrics`, `GET /health` and the OpenAI API.
//!
//! [`serve`] takes a bound listener and a shutdown future, answers on HTTP/1.1 with
//! hyper, and on shutdown lets in-flight requests finish (bounded wait). The accept
//! loop it shares with the gateway ([`serve_with`]) applies the [`Limits`] every
//! listener gives its clients: connections, header size and time, body time. Routing
//! lives in [`service`] and [`openai`]; no model math happens here.

mod instrument;
pub(crate) mod openai;

pub(crate) use instrument::counted;
mod service;
#[cfg(test)]
mod tests;

pub use service::respond;

/// The response body of every route.
pub(crate) type BoxBody = http_body_util::combinators::BoxBody<bytes::Bytes, Infallible>;

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::lab::PodHandle;

/// Most connections one listener serves at once; more wait in the kernel's accept
/// backlog until one closes. Generous enough for 10,000 concurrent streams per pod.
pub(crate) const MAX_CONNECTIONS: usize = 16_384;
/// How long shutdown waits for in-flight requests.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How long a client may take to send its request line and headers.
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes of request line and headers: hyper answers 431 past it.
pub(crate) const MAX_HEADER_BYTES: usize = 64 * 1024;
/// How long an accept error (such as running out of file descriptors) holds the loop
/// back before it tries again, rather than spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// What a listener allows its clients. Tests shorten the times.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Limits {
    /// Most connections served at once; more wait in the accept backlog.
    pub(crate) max_connections: usize,
    /// How long a client may take to send its request line and headers; the
    /// connection is closed past it.
    pub(crate) header_read_timeout: Duration,
    /// Most bytes of request line and headers.
    pub(crate) max_header_bytes: usize,
    /// How long a client may take to send an OpenAI request body; 408 past it.
    pub(crate) body_read_timeout: Duration,
    /// How long shutdown waits for in-flight requests.
    pub(crate) shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: MAX_CONNECTIONS,
            header_read_timeout: HEADER_READ_TIMEOUT,
            max_header_bytes: MAX_HEADER_BYTES,
            body_read_timeout: openai::BODY_READ_TIMEOUT,
            shutdown_grace: SHUTDOWN_GRACE,
        }
    }
}

/// Serves `pod` on `listener` until `shutdown` resolves.
pub async fn serve(listener: TcpListener, pod: PodHandle, shutdown: impl Future<Output = ()>) {
    serve_limited(listener, pod, shutdown, Limits::default()).await;
}

/// [`serve`] within `limits`.
pub(crate) async fn serve_limited(
    listener: TcpListener,
    pod: PodHandle,
    shutdown: impl Future<Output = ()>,
    limits: Limits,
) {
    let driver = tokio::spawn(pod.clone().drive());
    let handler = move |req: Request<Incoming>| route(req, pod.clone(), limits.body_read_timeout);
    accept_loop(listener, handler, shutdown, limits).await;
    driver.abort();
}

/// Answers one request for `pod`: the OpenAI routes, or `/metrics`, `/health` and 404s.
/// The body is read within `body_read_timeout`.
pub(crate) async fn route<B>(
    req: Request<B>,
    pod: PodHandle,
    body_read_timeout: Duration,
) -> Response<BoxBody>
where
    B: Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let request_bytes = content_length(&req);
    let route = openai::route_of(&path);
    let response = if route.is_some() {
        openai::handle_within(req, pod.clone(), body_read_timeout).await
    } else {
        service::respond(&req, &pod).map(BodyExt::boxed)
    };
    instrument::counted(&pod, &method, &path, route, request_bytes, response)
}

/// A request's `Content-Length`, 0 without one (as the HTTP instrumentator reads it).
pub(crate) fn content_length<B>(req: &Request<B>) -> u64 {
    req.headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(0)
}

/// Answers every request on `listener` with `handler` until `shutdown` resolves, then
/// lets in-flight requests finish (bounded wait), within the default [`Limits`].
pub(crate) async fn serve_with<H, F>(
    listener: TcpListener,
    handler: H,
    shutdown: impl Future<Output = ()>,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<BoxBody>> + Send + 'static,
{
    accept_loop(listener, handler, shutdown, Limits::default()).await;
}

/// The accept loop of every listener.
///
/// A connection is accepted only once a permit is free, so clients beyond
/// `max_connections` wait in the kernel's backlog (their connect succeeds, their
/// request is read later) instead of getting an error.
async fn accept_loop<H, F>(
    listener: TcpListener,
    handler: H,
    shutdown: impl Future<Output = ()>,
    limits: Limits,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<BoxBody>> + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut shutdown = pin!(shutdown);
    let mut builder = http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(limits.max_header_bytes);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Tokens are small writes: without this, Nagle's algorithm holds each chunk of a
        // stream until the client's delayed ACK, some 40 ms.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
        let handler = handler.clone();
        let service = service_fn(move |req: Request<Incoming>| {
            let response = handler(req);
            async move { Ok::<_, Infallible>(response.await) }
        });
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("connection ended: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    let grace = limits.shutdown_grace;
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("gave up waiting for open connections after {grace:?}");
    }
}
