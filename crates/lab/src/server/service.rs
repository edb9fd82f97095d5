//! Routing of one pod's HTTP requests, callable without a network.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use crate::lab::PodHandle;
use vllm_sim_core::exposition::Format;

/// Answers one request for `pod`. Only the method, path and `Accept` headers matter,
/// so any body type will do. The metrics paths, their formats and gzip are the pod's
/// release's.
pub fn respond<B>(req: &Request<B>, pod: &PodHandle) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    let route = match path {
        "/health" => Route::Health,
        _ => match pod.profile().serving(path) {
            Some(serving) => Route::Metrics(serving),
            None => return detail(StatusCode::NOT_FOUND, "Not Found"),
        },
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    }
    match route {
        Route::Metrics(serving) => {
            let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
            let (format, content_type) = match &serving.openmetrics_content_type {
                Some(om) if Format::negotiate(header(ACCEPT)) == Format::OpenMetrics => {
                    (Format::OpenMetrics, om.as_str())
                }
                _ => (Format::PrometheusText, serving.text_content_type.as_str()),
            };
            let Some(body) = pod.scrape(format) else {
                return unavailable();
            };
            let gzip = serving.gzip && header(ACCEPT_ENCODING).is_some_and(|e| e.contains("gzip"));
            if gzip {
                let mut response = with_type(
                    Response::new(Full::new(Bytes::from(gzipped(body.as_bytes())))),
                    content_type,
                );
                response
                    .headers_mut()
                    .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                response
            } else {
                with_type(Response::new(Full::new(Bytes::from(body))), content_type)
            }
        }
        Route::Health => {
            if pod.caught_up().is_up() {
                Response::new(Full::new(Bytes::new()))
            } else {
                unavailable()
            }
        }
    }
}

enum Route {
    Metrics(&'static vllm_sim_core::catalogue::Serving),
    Health,
}

/// `body` compressed as Python's `gzip.compress` does it for prometheus_client.
fn gzipped(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(9));
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(body);
    encoder.finish().unwrap_or_default()
}

fn unavailable() -> Response<Full<Bytes>> {
    detail(
        StatusCode::SERVICE_UNAVAILABLE,
        "The pod is down (scenario outage)",
    )
}

/// A JSON error body in FastAPI's shape, as vLLM's server sends for unknown routes.
fn detail(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "detail": message }).to_string();
    let mut response = with_type(
        Response::new(Full::new(Bytes::from(body))),
        "application/json",
    );
    *response.status_mut() = status;
    response
}

fn with_type(
    mut response: Response<Full<Bytes>>,
    content_type: &'static str,
) -> Response<Full<Bytes>> {
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::Lab;
    use crate::scenario::builtin;
    use http_body_util::BodyExt;
    use std::sync::Arc;
    use std::time::Duration;
    use vllm_sim_core::clock::ManualClock;

    fn lab(name: &str) -> (Lab, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(1.7e9));
        (Lab::new(builtin(name).unwrap(), clock.clone()), clock)
    }

    fn get(path: &str, accept: Option<&str>) -> Request<()> {
        let mut b = Request::get(path);
        if let Some(a) = accept {
            b = b.header(ACCEPT, a);
        }
        b.body(()).unwrap()
    }

    async fn body(r: Response<Full<Bytes>>) -> String {
        String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn metrics_negotiate_their_format() {
        let (lab, clock) = lab("healthy");
        clock.advance(Duration::from_secs(30));
        let pod = lab.pod(0);
        let text = respond(&get("/metrics", None), &pod);
        assert_eq!(text.status(), StatusCode::OK);
        assert_eq!(
            text.headers()[CONTENT_TYPE],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        let text = body(text).await;
        assert!(text.contains("# TYPE vllm:generation_tokens_total counter"));
        let om = respond(
            &get(
                "/metrics",
                Some("application/openmetrics-text;version=1.0.0"),
            ),
            &pod,
        );
        assert!(
            om.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/openmetrics-text")
        );
        let om = body(om).await;
        assert!(om.ends_with("# EOF\n"));
        assert!(om.contains("# TYPE vllm:generation_tokens counter"));
    }

    #[tokio::test]
    async fn each_release_serves_metrics_as_it_does() {
        use vllm_sim_core::catalogue::Profile;
        let om = Some("application/openmetrics-text;version=1.0.0");
        let clock = Arc::new(ManualClock::new(1.7e9));
        let at = |release: &str| {
            let scenario = builtin("healthy")
                .unwrap()
                .with_profile(Profile::from_name(release).unwrap());
            Lab::new(scenario, clock.clone()).pod(0)
        };
        // V1 behind prometheus-fastapi-instrumentator: text on /metrics whatever the
        // Accept header says; /metrics/ negotiates OpenMetrics and gzip.
        let v1 = at("vllm-0.33.0");
        let text = respond(&get("/metrics", om), &v1);
        assert_eq!(
            text.headers()[CONTENT_TYPE],
            "text/plain; version=1.0.0; charset=utf-8"
        );
        assert!(
            body(text)
                .await
                .contains("# TYPE vllm:prompt_tokens_created gauge")
        );
        let slash = respond(&get("/metrics/", om), &v1);
        assert_eq!(
            slash.headers()[CONTENT_TYPE],
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
        );
        let mut gzip = get("/metrics/", None);
        gzip.headers_mut()
            .insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip, deflate"));
        let gzipped = respond(&gzip, &v1);
        assert_eq!(gzipped.headers()[CONTENT_ENCODING], "gzip");
        assert_eq!(
            gzipped.headers()[CONTENT_TYPE],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        let bytes = gzipped.into_body().collect().await.unwrap().to_bytes();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .unwrap();
        assert!(text.starts_with("# HELP vllm:"), "{text}");
        // V0: prometheus_client's ASGI app on /metrics itself.
        let v0 = at("vllm-0.6.4");
        let om = respond(&get("/metrics", om), &v0);
        assert_eq!(
            om.headers()[CONTENT_TYPE],
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        assert!(body(om).await.ends_with("# EOF\n"));
        assert_eq!(
            respond(&get("/metrics/x", None), &v0).status(),
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn bad_requests_get_json_errors() {
        let (lab, _) = lab("healthy");
        let pod = lab.pod(0);
        let missing = respond(&get("/nope", None), &pod);
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(body(missing).await, r#"{"detail":"Not Found"}"#);
        let post = Request::post("/metrics").body(()).unwrap();
        assert_eq!(
            respond(&post, &pod).status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    #[tokio::test]
    async fn a_pod_held_down_answers_503() {
        let (lab, clock) = lab("spot-preemption");
        let awq = lab.pod(lab.scenario().pod_index("mistral-7b-awq").unwrap());
        assert_eq!(
            respond(&get("/health", None), &awq).status(),
            StatusCode::OK
        );
        clock.advance(Duration::from_secs(150));
        assert_eq!(
            respond(&get("/health", None), &awq).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            respond(&get("/metrics", None), &awq).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            respond(&get("/health", None), &lab.pod(0)).status(),
            StatusCode::OK
        );
    }
}
