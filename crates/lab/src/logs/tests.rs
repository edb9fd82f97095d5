//! End-to-end tests of the layer and the shipper against a local HTTP receiver that
//! plays Loki's push endpoint.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use tracing_subscriber::layer::SubscriberExt as _;

use super::*;

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Captured {
    request_line: String,
    content_type: String,
    body: Vec<u8>,
    /// The status it was answered with.
    status: u16,
}

/// A fake Loki: answers each request with the next scripted status, then 204.
struct Receiver {
    url: String,
    captured: Arc<Mutex<Vec<Captured>>>,
}

impl Receiver {
    fn start(script: &[u16]) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let captured = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script.to_vec()));
        let sink = Arc::clone(&captured);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (sink, script) = (Arc::clone(&sink), Arc::clone(&script));
                thread::spawn(move || serve(stream, &sink, &script));
            }
        });
        Receiver { url, captured }
    }

    fn requests(&self) -> Vec<Captured> {
        self.captured.lock().unwrap().clone()
    }

    /// Waits (at most 5 s) until `n` requests have arrived.
    fn wait_for(&self, n: usize) -> Vec<Captured> {
        let until = Instant::now() + Duration::from_secs(5);
        while self.requests().len() < n && Instant::now() < until {
            thread::sleep(Duration::from_millis(5));
        }
        self.requests()
    }
}

/// Serves keep-alive HTTP/1.1 requests on one connection until the client closes it.
fn serve(stream: TcpStream, sink: &Mutex<Vec<Captured>>, script: &Mutex<Vec<u16>>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let (mut length, mut content_type) = (0, String::new());
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap(),
                "content-type" => value.trim().clone_into(&mut content_type),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let status = {
            let mut script = script.lock().unwrap();
            if script.is_empty() {
                204
            } else {
                script.remove(0)
            }
        };
        sink.lock().unwrap().push(Captured {
            request_line: request_line.trim_end().to_owned(),
            content_type,
            body,
            status,
        });
        let reason = if status == 204 {
            "No Content"
        } else {
            "Scripted"
        };
        write!(
            writer,
            "HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\n\r\n"
        )
        .unwrap();
    }
}

/// Fast options for tests: no long sleeps anywhere.
fn options() -> ShipperOptions {
    ShipperOptions {
        batch_size: 500,
        flush_interval: Duration::from_secs(3600),
        queue_capacity: 1000,
        first_backoff: Duration::from_millis(10),
        max_attempts: 5,
        request_timeout: Duration::from_secs(2),
        shutdown_timeout: Duration::from_secs(5),
    }
}

/// Runs `log` with a registry and a Loki layer as the thread's default subscriber.
fn with_layer(url: &str, options: ShipperOptions, log: impl FnOnce()) -> LogGuard {
    let (layer, guard) = loki_layer(url, options).unwrap();
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, log);
    guard
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn pushes_streams_in_lokis_shape() {
    let loki = Receiver::start(&[]);
    let before = now_nanos();
    let guard = with_layer(&loki.url, options(), || {
        tracing::info!(target: "vllm_sim::bench", run = 42, model = "mistral-7b-awq", "benchmark run started");
        tracing::info!(target: "vllm_sim::bench", passed = true, "harness finished");
        tracing::warn!(target: "vllm_sim::gateway", team = "a b", "slow pod");
        tracing::info!(target: "ureq::pool", "not ours");
    });
    drop(guard);
    let after = now_nanos();

    let requests = loki.requests();
    assert_eq!(requests.len(), 1, "one flush on shutdown");
    let req = &requests[0];
    assert_eq!(req.request_line, "POST /loki/api/v1/push HTTP/1.1");
    assert_eq!(req.content_type, "application/json");
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    let streams = body["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 2, "bench/info and gateway/warn: {body}");

    let mut lines = Vec::new();
    for s in streams {
        let labels = s["stream"].as_object().unwrap();
        assert_eq!(labels["namespace"], "platform");
        assert_eq!(labels["app"], "vllm-sim");
        let mut last = 0u128;
        for value in s["values"].as_array().unwrap() {
            let pair = value.as_array().unwrap();
            assert_eq!(pair.len(), 2);
            let ts: u128 = pair[0].as_str().unwrap().parse().unwrap();
            assert!(
                (before..=after).contains(&ts),
                "{ts} not in [{before}, {after}]"
            );
            assert!(ts >= last, "timestamps decrease");
            last = ts;
            let line = pair[1].as_str().unwrap().to_owned();
            lines.push((labels["component"].clone(), labels["level"].clone(), line));
        }
    }
    assert_eq!(
        lines,
        [
            (
                "bench".into(),
                "info".into(),
                "INFO vllm_sim::bench: benchmark run started run=42 model=mistral-7b-awq"
                    .to_owned()
            ),
            (
                "bench".into(),
                "info".into(),
                "INFO vllm_sim::bench: harness finished passed=true".to_owned()
            ),
            (
                "gateway".into(),
                "warn".into(),
                r#"WARN vllm_sim::gateway: slow pod team="a b""#.to_owned()
            ),
        ]
    );
}

#[test]
fn a_full_batch_is_pushed_without_waiting_for_the_interval() {
    let loki = Receiver::start(&[]);
    let opts = ShipperOptions {
        batch_size: 3,
        ..options()
    };
    let _guard = with_layer(&loki.url, opts, || {
        for i in 0..3 {
            tracing::info!(target: "vllm_sim::lab", i, "phase");
        }
    });
    let requests = loki.wait_for(1);
    assert_eq!(requests.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["streams"][0]["values"].as_array().unwrap().len(), 3);
}

#[test]
fn a_partial_batch_is_pushed_after_the_interval() {
    let loki = Receiver::start(&[]);
    let opts = ShipperOptions {
        flush_interval: Duration::from_millis(20),
        ..options()
    };
    let _guard = with_layer(&loki.url, opts, || {
        tracing::info!(target: "vllm_sim::bench", "one line");
    });
    assert_eq!(loki.wait_for(1).len(), 1);
}

#[test]
fn a_server_error_is_retried_and_delivered_once() {
    let loki = Receiver::start(&[500, 429]);
    let guard = with_layer(&loki.url, options(), || {
        tracing::info!(target: "vllm_sim::bench", "retry me");
    });
    drop(guard);
    let requests = loki.requests();
    let statuses: Vec<u16> = requests.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 429, 204]);
    assert!(requests.iter().all(|r| r.body == requests[0].body));
}

#[test]
fn a_client_error_is_not_retried() {
    let loki = Receiver::start(&[400]);
    let guard = with_layer(&loki.url, options(), || {
        tracing::info!(target: "vllm_sim::bench", "bad batch");
    });
    drop(guard);
    let statuses: Vec<u16> = loki.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [400]);
}

#[test]
fn logging_never_blocks_when_loki_is_down() {
    // A port that refuses connections: bound, then released.
    let url = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let opts = ShipperOptions {
        batch_size: 10,
        flush_interval: Duration::from_millis(1),
        queue_capacity: 100,
        first_backoff: Duration::from_secs(1),
        shutdown_timeout: Duration::from_millis(50),
        ..options()
    };
    let guard = with_layer(&url, opts, || {
        for i in 0..10_000 {
            tracing::info!(target: "vllm_sim::bench", i, "flood");
        }
    });
    // At most one batch is out of the queue and at most the queue's capacity is in it.
    assert!(
        guard.dropped() >= 10_000 - 100 - 10,
        "dropped {}",
        guard.dropped()
    );
}

#[test]
fn urls_must_be_plain_http_with_a_host() {
    assert_eq!(
        push_url("http://loki:3100").unwrap(),
        "http://loki:3100/loki/api/v1/push"
    );
    assert_eq!(
        push_url("http://loki:3100/").unwrap(),
        "http://loki:3100/loki/api/v1/push"
    );
    assert_eq!(
        push_url("http://127.0.0.1:3100/loki/api/v1/push").unwrap(),
        "http://127.0.0.1:3100/loki/api/v1/push"
    );
    for bad in [
        "https://loki:3100",
        "HTTPS://loki",
        "loki:3100",
        "http://",
        "http://:3100",
        "",
    ] {
        assert!(push_url(bad).is_err(), "{bad:?} accepted");
    }
    let https = push_url("https://loki:3100").unwrap_err().to_string();
    assert!(https.contains("https is not supported"), "{https}");
}

/// A history's past lines go to Loki at once, with their own timestamps, in streams
/// of their own (`history="true"`), in time order per stream, in batches; those older
/// than Loki accepts are left out; a 503 is retried.
#[test]
fn past_lines_are_pushed_with_their_own_timestamps() {
    let loki = Receiver::start(&[503]);
    let now = now_nanos();
    let hour = 3_600_000_000_000u128;
    let line = |hours_ago: u128, target, level, message: &str| history::PastLine {
        unix_nanos: now - hours_ago * hour,
        target,
        level,
        message: message.to_owned(),
    };
    let lines = [
        line(170, "vllm_sim_lab::bench::run", "info", "too old for Loki"),
        line(2, "vllm_sim_lab::bench::run", "info", "benchmark finished"),
        line(3, "vllm_sim_lab::bench::run", "info", "benchmark started"),
        line(
            3,
            "vllm_sim::cli::run",
            "info",
            "phase busy begins at t=0.000s",
        ),
        line(
            1,
            "vllm_sim_lab::bench::run",
            "warn",
            "harness request failed",
        ),
    ];
    let options = ShipperOptions {
        batch_size: 2,
        ..options()
    };
    let pushed = history::push(&loki.url, &lines, now, &options).unwrap();
    assert_eq!(
        pushed,
        history::Pushed {
            delivered: 4,
            too_old: 1,
            failed: 0
        }
    );
    let requests = loki.requests();
    assert_eq!(
        requests.len(),
        3,
        "two batches of two, the first retried once"
    );
    let mut streams: std::collections::BTreeMap<String, Vec<(u128, String)>> = Default::default();
    for request in requests.iter().filter(|r| r.status == 204) {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        for stream in body["streams"].as_array().unwrap() {
            assert_eq!(stream["stream"]["history"], "true", "{stream}");
            assert_eq!(stream["stream"]["namespace"], "platform");
            let key = format!(
                "{}/{}",
                stream["stream"]["component"].as_str().unwrap(),
                stream["stream"]["level"].as_str().unwrap()
            );
            for value in stream["values"].as_array().unwrap() {
                let at: u128 = value[0].as_str().unwrap().parse().unwrap();
                streams
                    .entry(key.clone())
                    .or_default()
                    .push((at, value[1].as_str().unwrap().to_owned()));
            }
        }
    }
    let texts = |key: &str| -> Vec<String> {
        let values = &streams[key];
        assert!(
            values.windows(2).all(|w| w[0].0 <= w[1].0),
            "{key} in order"
        );
        values.iter().map(|(_, t)| t.clone()).collect()
    };
    assert_eq!(
        texts("bench/info"),
        [
            "INFO vllm_sim_lab::bench::run: benchmark started",
            "INFO vllm_sim_lab::bench::run: benchmark finished"
        ]
    );
    assert_eq!(
        texts("run/info"),
        ["INFO vllm_sim::cli::run: phase busy begins at t=0.000s"]
    );
    assert_eq!(
        texts("bench/warn"),
        ["WARN vllm_sim_lab::bench::run: harness request failed"]
    );
    assert_eq!(streams["bench/info"][0].0, now - 3 * hour);
}
