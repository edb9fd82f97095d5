//! The HTTP listener of each pod: `GET /metrics`, `GET /health` and the OpenAI API.
//!
//! [`serve`] takes a bound listener and a shutdown future, answers on HTTP/1.1 with
//! hyper, and on shutdown lets in-flight requests finish (bounded wait). Routing lives
//! in [`service`]; no model math happens here.

pub(crate) mod openai;
mod service;

pub use service::respond;

/// The response body of every route.
pub(crate) type BoxBody = http_body_util::combinators::BoxBody<bytes::Bytes, Infallible>;

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::lab::PodHandle;

/// How long shutdown waits for in-flight requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How long a client may take to send its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `pod` on `listener` until `shutdown` resolves.
pub async fn serve(listener: TcpListener, pod: PodHandle, shutdown: impl Future<Output = ()>) {
    let driver = tokio::spawn(pod.clone().drive());
    let handler = move |req: Request<Incoming>| {
        let pod = pod.clone();
        async move {
            if openai::is_route(req.uri().path()) {
                openai::handle(req, pod).await
            } else {
                service::respond(&req, &pod).map(BodyExt::boxed)
            }
        }
    };
    serve_with(listener, handler, shutdown).await;
    driver.abort();
}

/// Answers every request on `listener` with `handler` until `shutdown` resolves, then
/// lets in-flight requests finish (bounded wait).
pub(crate) async fn serve_with<H, F>(
    listener: TcpListener,
    handler: H,
    shutdown: impl Future<Output = ()>,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<BoxBody>> + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    let mut builder = http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
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
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("gave up waiting for open connections after {SHUTDOWN_GRACE:?}");
    }
}
