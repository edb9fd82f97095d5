//! The lab gateway: a fifth listener that routes `/<team>/v1/...` to the pod the
//! scenario gives that team (quantization → AWQ, fine-tuning → LoRA, evaluation →
//! judge, baseline → FP16; the replicas of a replicated pod in turn) and counts each
//! request in `lab_gateway_*`.
//!
//! Routing is in-process: a request reaches its pod's OpenAI handler without a second
//! hop, and its latency is measured on the lab's clock, like the pods' own. The
//! scenario's synthetic traffic is counted here too (see [`crate::lab`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::{Method, Request, Response, StatusCode, Uri, header};
use prometheus_client::registry::Registry;
use serde_json::json;
use tokio::net::TcpListener;

use crate::lab::{Lab, PodHandle};
use crate::server::{self, BoxBody, openai};
use vllm_sim_core::clock::SimTime;
use vllm_sim_core::exposition::{self, Format};
use vllm_sim_core::metrics::gateway::{CLIENT_CLOSED, GatewayMetrics, ROUTING_MS};

/// The gateway of a lab.
#[derive(Clone)]
pub struct Gateway {
    lab: Lab,
    routes: Arc<BTreeMap<String, Route>>,
    metrics: GatewayMetrics,
    registry: Arc<Registry>,
}

impl Gateway {
    /// A gateway over `lab`'s pods.
    pub fn new(lab: Lab) -> Gateway {
        Gateway::with_registry(lab, Registry::default())
    }

    /// A gateway whose `/metrics` also shows the families already in `registry` (the
    /// headless harness's); the gateway adds its own.
    pub fn with_registry(lab: Lab, mut registry: Registry) -> Gateway {
        let metrics = lab.gateway_metrics().clone();
        metrics.register(&mut registry);
        let mut routes: BTreeMap<String, Route> = BTreeMap::new();
        for (i, pod) in lab.pods().enumerate() {
            if let Some(team) = &lab.scenario().pods[i].team {
                routes.entry(team.clone()).or_default().replicas.push(pod);
            }
        }
        Gateway {
            lab,
            routes: Arc::new(routes),
            metrics,
            registry: Arc::new(registry),
        }
    }

    /// The teams it routes, in order.
    pub fn teams(&self) -> impl Iterator<Item = &str> {
        self.routes.keys().map(String::as_str)
    }

    /// Answers one request.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<BoxBody>
    where
        B: Body<Data = Bytes> + Send,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let path = req.uri().path();
        match path {
            "/metrics" | "/metrics/" => return self.scrape(&req),
            "/health" => return text(StatusCode::OK, ""),
            _ => {}
        }
        let Some((team, rest)) = path
            .strip_prefix('/')
            .and_then(|p| p.split_once('/'))
            .map(|(team, rest)| (team.to_owned(), format!("/{rest}")))
        else {
            return not_found(path);
        };
        let Some(pod) = self.routes.get(&team).map(Route::next) else {
            return not_found(path);
        };
        if !openai::is_route(&rest) {
            return not_found(path);
        }
        let started = self.lab.clock().now();
        let (method, request_bytes) = (req.method().clone(), server::content_length(&req));
        let req = with_path(req, &rest);
        // The pod's own server answers the routed request, and counts it.
        let route = openai::route_of(&rest);
        let response = openai::handle(req, pod.clone()).await;
        let response = server::counted(&pod, &method, &rest, route, request_bytes, response);
        let status = response.status().as_u16();
        let (parts, body) = response.into_parts();
        let observed = Observed {
            inner: body,
            done: Some(Done {
                metrics: self.metrics.clone(),
                lab: self.lab.clone(),
                team,
                status,
                started,
            }),
        };
        let response = Response::from_parts(parts, observed.boxed());
        tracing::debug!(status, "gateway routed {}", rest);
        response
    }

    fn scrape<B>(&self, req: &Request<B>) -> Response<BoxBody> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
        }
        self.lab.catch_up();
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok());
        let format = Format::negotiate(accept);
        let mut body = String::with_capacity(4096);
        if exposition::encode(&self.registry, format, &mut body).is_err() {
            return text(StatusCode::INTERNAL_SERVER_ERROR, "cannot encode metrics");
        }
        let mut response = Response::new(Full::new(Bytes::from(body)).boxed());
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static(format.content_type()),
        );
        response
    }
}

/// The replicas of a team's pod, taken in turn.
#[derive(Default)]
struct Route {
    replicas: Vec<PodHandle>,
    turn: AtomicUsize,
}

impl Route {
    /// The replica whose turn it is.
    fn next(&self) -> PodHandle {
        let turn = self.turn.fetch_add(1, Ordering::Relaxed);
        self.replicas[turn % self.replicas.len()].clone()
    }
}

/// Serves `gateway` on `listener` until `shutdown` resolves.
pub async fn serve(listener: TcpListener, gateway: Gateway, shutdown: impl Future<Output = ()>) {
    let handler = move |req: Request<Incoming>| {
        let gateway = gateway.clone();
        async move { gateway.handle(req).await }
    };
    server::serve_with(listener, handler, shutdown).await;
}

/// `req` with its path replaced by `path` (the query kept).
fn with_path<B>(req: Request<B>, path: &str) -> Request<B> {
    let (mut parts, body) = req.into_parts();
    let path_and_query = match parts.uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    if let Ok(uri) = Uri::builder().path_and_query(path_and_query).build() {
        parts.uri = uri;
    }
    Request::from_parts(parts, body)
}

fn not_found(path: &str) -> Response<BoxBody> {
    let body = json!({
        "object": "error",
        "message": format!("no route for {path}: use /<team>/v1/... with a team the gateway knows"),
        "type": "NotFoundError",
        "param": null,
        "code": 404,
    });
    let mut response = text(StatusCode::NOT_FOUND, &body.to_string());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

fn text(status: StatusCode, body: &str) -> Response<BoxBody> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_owned())).boxed());
    *response.status_mut() = status;
    response
}

/// What to record when a routed response ends.
struct Done {
    metrics: GatewayMetrics,
    lab: Lab,
    team: String,
    status: u16,
    started: SimTime,
}

impl Done {
    fn record(self, status: u16) {
        let millis = (self.lab.clock().now() - self.started).as_secs_f64() * 1000.0 + ROUTING_MS;
        self.metrics.observe(&self.team, status, millis);
    }
}

/// A routed response body that records the request when its last byte is out, or as
/// [`CLIENT_CLOSED`] when the client hangs up first.
struct Observed {
    inner: BoxBody,
    done: Option<Done>,
}

impl Body for Observed {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        let ended = matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream();
        if ended && let Some(done) = self.done.take() {
            let status = done.status;
            done.record(status);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Observed {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            let status = if self.inner.is_end_stream() {
                done.status
            } else {
                CLIENT_CLOSED
            };
            done.record(status);
        }
    }
}
