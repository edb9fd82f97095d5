//! The API server's HTTP instrumentation, as vLLM's prometheus-fastapi-instrumentator
//! counts requests: every answered request but those to the excluded handlers, by the
//! route it matched (`none` for unknown paths), method and status, with its request
//! and response `Content-Length` and its duration to the last byte.

use http_body_util::BodyExt;
use hyper::body::Body;
use hyper::{Method, Response};

use super::BoxBody;

use crate::lab::PodHandle;
use vllm_sim_core::clock::SimTime;
use vllm_sim_core::metrics::HttpRequest;

/// The handlers vLLM excludes from the instrumentator (a search of the route path).
const EXCLUDED: &[&str] = &[
    "/metrics",
    "/health",
    "/load",
    "/ping",
    "/version",
    "/server_info",
];

/// `response` to `method` on `path`, counted in `pod`'s HTTP metrics once its body has
/// been sent (or dropped); `route` is the OpenAI route it matched, if any.
pub(crate) fn counted(
    pod: &PodHandle,
    method: &Method,
    path: &str,
    route: Option<&'static str>,
    request_bytes: u64,
    response: Response<BoxBody>,
) -> Response<BoxBody> {
    if EXCLUDED.iter().any(|e| path.contains(e)) {
        return response;
    }
    let pending = Pending {
        pod: pod.clone(),
        started: pod.time(),
        method: method.as_str().to_owned(),
        route,
        status: response.status().as_u16(),
        request_bytes,
        response_bytes: response.body().size_hint().exact().unwrap_or(0),
    };
    response.map(|body| {
        Counted {
            body,
            _pending: pending,
        }
        .boxed()
    })
}

/// A response body that counts its request when it is dropped, sent or not; its size
/// hint is the body's, so the response keeps its `Content-Length`.
struct Counted {
    body: BoxBody,
    _pending: Pending,
}

impl Body for Counted {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// A request whose response is on its way; counted when dropped with its body.
struct Pending {
    pod: PodHandle,
    started: SimTime,
    method: String,
    route: Option<&'static str>,
    status: u16,
    request_bytes: u64,
    response_bytes: u64,
}

impl Drop for Pending {
    fn drop(&mut self) {
        let seconds = self.pod.time().secs_since(self.started);
        self.pod.record_http(&HttpRequest {
            handler: self.route,
            method: &self.method,
            status: self.status,
            request_bytes: self.request_bytes,
            response_bytes: self.response_bytes,
            seconds,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;

    use http_body_util::BodyExt;
    use hyper::Request;

    use crate::lab::Lab;
    use crate::scenario::builtin;
    use vllm_sim_core::catalogue::Profile;
    use vllm_sim_core::clock::ManualClock;
    use vllm_sim_core::exposition::Format;

    /// Each family's HELP and TYPE lines, and its series without their values.
    fn shapes(text: &str, names: &[&str]) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut current = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap_or_default();
                current = names
                    .iter()
                    .any(|n| name.starts_with(n))
                    .then(|| name.to_owned());
            }
            if let Some(family) = &current {
                let shape = match line.rsplit_once(' ') {
                    Some((series, _)) if !line.starts_with('#') => series.to_owned(),
                    _ => line.to_owned(),
                };
                out.entry(family.clone()).or_default().push(shape);
            }
        }
        out
    }

    /// The API server's own families on each release, as the golden its code rendered
    /// shows them: the same families, HELP and TYPE lines, label names; requests
    /// counted by route, method and status class; /metrics and /health not counted.
    #[tokio::test]
    async fn the_api_server_counts_requests_as_the_instrumentator_does() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../core/data/vllm/golden");
        for release in ["vllm-0.6.4", "vllm-0.8.0", "vllm-0.8.5", "vllm-0.33.0"] {
            let profile = Profile::from_name(release).unwrap();
            let clock = Arc::new(ManualClock::new(1.7e9));
            let lab = Lab::new(builtin("healthy").unwrap().with_profile(profile), clock);
            let pod = lab.pod(0);
            for (method, path) in [
                ("GET", "/v1/models"),
                ("GET", "/v1/no-such-route"),
                ("GET", "/health"),
                ("GET", "/metrics"),
                ("GET", "/v1/models"),
            ] {
                let req = Request::builder()
                    .method(method)
                    .uri(path)
                    .body(String::new())
                    .unwrap();
                let response = super::super::route(req, pod.clone(), Duration::from_secs(1)).await;
                let _ = response.into_body().collect().await;
            }
            let text = pod.scrape(Format::PrometheusText).unwrap();
            let release = profile.release();
            let names: Vec<&str> = release
                .server_metrics
                .iter()
                .map(|m| m.name.as_str())
                .collect();
            let ours = shapes(&text, &names);
            let golden_path = format!("{dir}/{}-server.txt", profile.version());
            let Ok(golden) = std::fs::read_to_string(&golden_path) else {
                assert!(names.is_empty(), "{release:?} has no server golden");
                assert!(ours.is_empty(), "{profile}: {ours:?}");
                continue;
            };
            let golden = shapes(&golden, &names);
            let headers = |f: &BTreeMap<String, Vec<String>>| {
                f.iter()
                    .map(|(k, v)| (k.clone(), v[..2].to_vec()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(headers(&ours), headers(&golden), "{profile}");
            if release.http.is_some() {
                let requests = &ours["http_requests_total"];
                assert_eq!(
                    requests[2..],
                    [
                        r#"http_requests_total{handler="/v1/models",method="GET",status="2xx"}"#,
                        r#"http_requests_total{handler="none",method="GET",status="4xx"}"#,
                    ],
                    "{profile}"
                );
                assert!(
                    text.contains(
                        r#"http_requests_total{handler="/v1/models",method="GET",status="2xx"} 2.0"#
                    ),
                    "{text}"
                );
                assert!(
                    text.contains("http_request_duration_highr_seconds_count 3.0"),
                    "{text}"
                );
            }
        }
    }
}
