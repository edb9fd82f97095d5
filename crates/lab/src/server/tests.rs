//! The listener's limits over real TCP: oversized headers, the connection cap, clients
//! that send nothing, trickle their headers or body, or idle after an answer; the
//! listener serves on after each. Limits are shortened per test (hyper's timers and
//! the kernel's sockets run on wall time), so these tests wait a fraction of a second,
//! not the real limits.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::time::timeout;

use super::{Limits, serve_limited};
use crate::lab::Lab;
use crate::scenario::builtin;
use vllm_sim_core::clock::ManualClock;

/// How long a test waits for an answer that must come.
const PATIENCE: Duration = Duration::from_secs(5);

/// A healthy lab's first pod served within `limits`; the sender stops it.
async fn start(limits: Limits) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let lab = Lab::new(
        builtin("healthy").unwrap(),
        Arc::new(ManualClock::new(1.7e9)),
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    tokio::spawn(serve_limited(listener, lab.pod(0), shutdown, limits));
    (addr, stop)
}

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: pod\r\n\r\n";

/// Reads one response: its status code and body (by `Content-Length`); `None` if the
/// connection closes first.
async fn read_response(stream: &mut (impl AsyncRead + Unpin)) -> Option<(u16, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")?
                .parse()
                .ok()
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    Some((
        status,
        String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned(),
    ))
}

/// A keep-alive connection that got its answer to `GET /health`.
async fn served(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(HEALTH).await.unwrap();
    let answer = timeout(PATIENCE, read_response(&mut stream)).await;
    assert_eq!(answer.unwrap().unwrap().0, 200);
    stream
}

/// Whether the connection is closed (or reset) within `PATIENCE`, without an answer.
async fn closed_silently(stream: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    match timeout(PATIENCE, stream.read_to_end(&mut rest)).await {
        Ok(Ok(_)) => rest.is_empty(),
        Ok(Err(_)) => true,
        Err(_) => false,
    }
}

#[tokio::test]
async fn oversized_headers_get_431_and_the_listener_serves_on() {
    let (addr, _stop) = start(Limits::default()).await;
    // Headers within the limit are fine.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let fits = format!(
        "GET /health HTTP/1.1\r\nHost: pod\r\nX-Big: {}\r\n\r\n",
        "a".repeat(32 * 1024)
    );
    stream.write_all(fits.as_bytes()).await.unwrap();
    let answer = timeout(PATIENCE, read_response(&mut stream)).await.unwrap();
    assert_eq!(answer.map(|a| a.0), Some(200));
    // 100 KiB of headers: 431, or a reset when the kernel drops the unread rest.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let big = format!(
        "GET /health HTTP/1.1\r\nHost: pod\r\nX-Big: {}\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    let _ = stream.write_all(big.as_bytes()).await;
    let answer = timeout(PATIENCE, read_response(&mut stream)).await.unwrap();
    assert!(matches!(answer, None | Some((431, _))), "{answer:?}");
    served(addr).await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_one() {
    let limits = Limits {
        max_connections: 2,
        ..Limits::default()
    };
    let (addr, _stop) = start(limits).await;
    let first = served(addr).await;
    let _second = served(addr).await;
    let mut third = TcpStream::connect(addr)
        .await
        .expect("the kernel's backlog takes the connection");
    third.write_all(HEALTH).await.unwrap();
    // No clock to advance here: the kernel holds the connection, so wait a little.
    let early = timeout(Duration::from_millis(300), read_response(&mut third)).await;
    assert!(early.is_err(), "served beyond the cap: {early:?}");
    drop(first);
    let answer = timeout(PATIENCE, read_response(&mut third)).await;
    assert_eq!(answer.unwrap().map(|a| a.0), Some(200));
}

#[tokio::test]
async fn a_client_that_sends_nothing_is_dropped_after_the_header_timeout() {
    let limits = Limits {
        header_read_timeout: Duration::from_millis(200),
        ..Limits::default()
    };
    let (addr, _stop) = start(limits).await;
    let started = Instant::now();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    assert!(closed_silently(&mut silent).await, "still open");
    assert!(started.elapsed() >= Duration::from_millis(200));
    // Headers trickled a line every 50 ms: the deadline is for all of them.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
    let (mut reader, mut writer) = slow.into_split();
    let trickle = tokio::spawn(async move {
        for i in 0..100 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let line = format!("X-Slow-{i}: yes\r\n");
            if writer.write_all(line.as_bytes()).await.is_err() {
                return i;
            }
        }
        100
    });
    let mut rest = Vec::new();
    let read = timeout(PATIENCE, reader.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "the trickling client was not dropped");
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    trickle.abort();
    served(addr).await;
}

#[tokio::test]
async fn idle_connections_are_closed_at_the_header_timeout_and_free_their_places() {
    // A flood of connections that idle holds a listener (and its memory) no longer
    // than the header timeout: a keep-alive connection idle after its answer and one
    // that never sent anything are both closed, and the client waiting beyond the cap
    // is served in their place.
    let limits = Limits {
        max_connections: 2,
        header_read_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let (addr, _stop) = start(limits).await;
    let mut kept_alive = served(addr).await;
    let answered = Instant::now();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut waiting = TcpStream::connect(addr)
        .await
        .expect("the kernel's backlog takes the connection");
    waiting.write_all(HEALTH).await.unwrap();
    let early = timeout(Duration::from_millis(100), read_response(&mut waiting)).await;
    assert!(early.is_err(), "served beyond the cap: {early:?}");
    assert!(
        closed_silently(&mut kept_alive).await,
        "keep-alive still open"
    );
    assert!(answered.elapsed() >= Duration::from_millis(300));
    assert!(closed_silently(&mut silent).await, "silent still open");
    let answer = timeout(PATIENCE, read_response(&mut waiting)).await;
    assert_eq!(answer.unwrap().map(|a| a.0), Some(200));
}

#[tokio::test]
async fn a_trickled_body_gets_408_and_the_listener_serves_on() {
    let limits = Limits {
        body_read_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let (addr, _stop) = start(limits).await;
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(b"POST /v1/completions HTTP/1.1\r\nHost: pod\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"mo")
        .await
        .unwrap();
    let trickle = tokio::spawn(async move {
        for _ in 0..96 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if writer.write_all(b" ").await.is_err() {
                return;
            }
        }
    });
    let answer = timeout(PATIENCE, read_response(&mut reader)).await;
    let (status, body) = answer.expect("an answer in time").expect("an answer");
    assert_eq!(status, 408, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (&body["object"], &body["code"]),
        (&"error".into(), &408.into())
    );
    trickle.abort();
    served(addr).await;
}
