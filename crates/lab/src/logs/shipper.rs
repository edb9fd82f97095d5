//! The background thread that batches queued lines and POSTs them to Loki, retrying
//! connection errors, 429 and 5xx with exponential backoff, and the [`LogGuard`] that
//! flushes what is left when the program ends.
//!
//! A plain thread rather than a task: subcommands build their own tokio runtimes, and
//! shipping must outlive them. Its own problems go to stderr, never through `tracing`.

use std::io::Read as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::push::{self, Entry};

/// What the layer and the guard send to the shipper thread.
#[derive(Debug)]
pub(super) enum Msg {
    /// A line to ship.
    Line(Entry),
    /// Ship everything queued, give up retrying at `deadline`, acknowledge and stop.
    Shutdown {
        ack: mpsc::Sender<()>,
        deadline: Instant,
    },
}

/// Tuning of the shipper; [`Default`] is what the binary uses.
#[derive(Debug, Clone)]
pub struct ShipperOptions {
    /// Lines per push; reaching it flushes at once.
    pub batch_size: usize,
    /// Longest time a line waits in a partial batch.
    pub flush_interval: Duration,
    /// Lines the queue holds before the layer starts dropping.
    pub queue_capacity: usize,
    /// Wait before the first retry; doubles for each further one.
    pub first_backoff: Duration,
    /// Attempts per batch, the first included, before it is dropped.
    pub max_attempts: u32,
    /// Limit on one HTTP request, connection included.
    pub request_timeout: Duration,
    /// How long dropping the [`LogGuard`] waits for the last lines to be shipped.
    pub shutdown_timeout: Duration,
}

impl Default for ShipperOptions {
    fn default() -> ShipperOptions {
        ShipperOptions {
            batch_size: 500,
            flush_interval: Duration::from_secs(1),
            queue_capacity: 10_000,
            first_backoff: Duration::from_millis(250),
            max_attempts: 5,
            request_timeout: Duration::from_secs(5),
            shutdown_timeout: Duration::from_secs(2),
        }
    }
}

/// Keeps log shipping alive; dropping it ships the lines still queued, waiting at most
/// the configured shutdown timeout. Keep it in `main` for the whole run.
#[derive(Debug)]
#[must_use = "dropping the guard stops shipping logs"]
pub struct LogGuard {
    /// `None` when no Loki URL was given.
    shipper: Option<ShipperHandle>,
}

#[derive(Debug)]
struct ShipperHandle {
    tx: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
    thread: JoinHandle<()>,
    shutdown_timeout: Duration,
}

impl LogGuard {
    /// A guard with nothing to flush, for when logs go to stderr only.
    pub fn disabled() -> LogGuard {
        LogGuard { shipper: None }
    }

    /// Lines the layer has dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.shipper
            .as_ref()
            .map_or(0, |s| s.dropped.load(Ordering::Relaxed))
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        let Some(ShipperHandle {
            tx,
            thread,
            shutdown_timeout,
            ..
        }) = self.shipper.take()
        else {
            return;
        };
        let deadline = Instant::now() + shutdown_timeout;
        let (ack, acked) = mpsc::channel();
        let mut msg = Msg::Shutdown { ack, deadline };
        // The queue may be full; the shipper empties it unless it is stuck retrying.
        loop {
            match tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Full(m)) if Instant::now() < deadline => {
                    msg = m;
                    thread::sleep(Duration::from_millis(5));
                }
                Err(TrySendError::Full(_)) => {
                    eprintln!(
                        "vllm-sim: log shipping did not finish within {shutdown_timeout:?}; \
                         queued lines are lost"
                    );
                    return;
                }
                Err(TrySendError::Disconnected(_)) => {
                    eprintln!("vllm-sim: the log shipper has stopped; queued lines are lost");
                    return;
                }
            }
        }
        match acked.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(()) => {
                let _ = thread.join();
            }
            Err(_) => eprintln!(
                "vllm-sim: log shipping did not finish within {shutdown_timeout:?}; \
                 queued lines are lost"
            ),
        }
    }
}

/// Starts the shipper thread for `push_url`; the sender goes to the layer.
pub(super) fn spawn(
    push_url: String,
    options: ShipperOptions,
) -> std::io::Result<(SyncSender<Msg>, Arc<AtomicU64>, LogGuard)> {
    let (tx, rx) = mpsc::sync_channel(options.queue_capacity.max(1));
    let dropped = Arc::new(AtomicU64::new(0));
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(options.request_timeout))
            .build(),
    );
    let shipper = Shipper {
        push_url,
        agent,
        options: options.clone(),
        dropped: Arc::clone(&dropped),
        reported_drops: 0,
    };
    let thread = thread::Builder::new()
        .name("loki-shipper".into())
        .spawn(move || shipper.run(rx))?;
    let guard = LogGuard {
        shipper: Some(ShipperHandle {
            tx: tx.clone(),
            dropped: Arc::clone(&dropped),
            thread,
            shutdown_timeout: options.shutdown_timeout,
        }),
    };
    Ok((tx, dropped, guard))
}

/// Pushes `entries` to `push_url` now, from this thread, in batches of
/// `options.batch_size` with the shipper's retries: how many lines were delivered.
pub(super) fn push_now(push_url: String, options: &ShipperOptions, entries: &[Entry]) -> usize {
    let shipper = Shipper {
        push_url,
        agent: ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(options.request_timeout))
                .build(),
        ),
        options: options.clone(),
        dropped: Arc::default(),
        reported_drops: 0,
    };
    (entries.chunks(options.batch_size.max(1)))
        .filter(|batch| shipper.ship_with_retry(batch, None))
        .map(<[Entry]>::len)
        .sum()
}

struct Shipper {
    push_url: String,
    agent: ureq::Agent,
    options: ShipperOptions,
    dropped: Arc<AtomicU64>,
    /// Drops already reported on stderr.
    reported_drops: u64,
}

/// How one push ended.
enum Outcome {
    Delivered,
    Retry(String),
    Reject(String),
}

impl Shipper {
    fn run(mut self, rx: Receiver<Msg>) {
        let mut batch = Vec::with_capacity(self.options.batch_size);
        let mut next_flush = Instant::now() + self.options.flush_interval;
        loop {
            let wait = next_flush.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(Msg::Line(entry)) => {
                    batch.push(entry);
                    if batch.len() >= self.options.batch_size {
                        self.ship(&mut batch, None);
                        next_flush = Instant::now() + self.options.flush_interval;
                    }
                }
                Ok(Msg::Shutdown { ack, deadline }) => {
                    while let Ok(msg) = rx.try_recv() {
                        if let Msg::Line(entry) = msg {
                            batch.push(entry);
                        }
                    }
                    for chunk in batch.chunks(self.options.batch_size.max(1)) {
                        let _ = self.ship_with_retry(chunk, Some(deadline));
                    }
                    self.report_drops();
                    let _ = ack.send(());
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.ship(&mut batch, None);
                    next_flush = Instant::now() + self.options.flush_interval;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.ship(&mut batch, None);
                    return;
                }
            }
        }
    }

    /// Ships and empties `batch` (nothing to do when empty).
    fn ship(&mut self, batch: &mut Vec<Entry>, deadline: Option<Instant>) {
        if !batch.is_empty() {
            let _ = self.ship_with_retry(batch, deadline);
            batch.clear();
        }
        self.report_drops();
    }

    /// Pushes one batch, retrying with doubling backoff until it is delivered, rejected,
    /// out of attempts or past `deadline`; a batch that is not delivered is dropped.
    fn ship_with_retry(&self, batch: &[Entry], deadline: Option<Instant>) -> bool {
        let body = push::body(batch);
        let mut backoff = self.options.first_backoff;
        let mut attempt = 1;
        loop {
            let reason = match self.push(&body) {
                Outcome::Delivered => return true,
                Outcome::Reject(reason) => {
                    eprintln!(
                        "vllm-sim: Loki rejected {} log lines ({reason}); dropped",
                        batch.len()
                    );
                    return false;
                }
                Outcome::Retry(reason) => reason,
            };
            let past_deadline = deadline.is_some_and(|d| Instant::now() + backoff >= d);
            if attempt >= self.options.max_attempts || past_deadline {
                eprintln!(
                    "vllm-sim: could not ship {} log lines to {} after {attempt} attempts \
                     ({reason}); dropped",
                    batch.len(),
                    self.push_url
                );
                return false;
            }
            thread::sleep(backoff);
            backoff = backoff.saturating_mul(2);
            attempt += 1;
        }
    }

    fn push(&self, body: &[u8]) -> Outcome {
        let result = self
            .agent
            .post(&self.push_url)
            .content_type("application/json")
            .send(body);
        match result {
            Ok(mut response) => {
                let status = response.status().as_u16();
                if response.status().is_success() {
                    return Outcome::Delivered;
                }
                // Loki explains a rejection in the body; a little of it is enough.
                let mut text = Vec::new();
                let _ = response
                    .body_mut()
                    .as_reader()
                    .take(512)
                    .read_to_end(&mut text);
                let reason = format!("HTTP {status}: {}", String::from_utf8_lossy(&text).trim());
                if status == 429 || status >= 500 {
                    Outcome::Retry(reason)
                } else {
                    Outcome::Reject(reason)
                }
            }
            Err(
                e @ (ureq::Error::Io(_)
                | ureq::Error::Timeout(_)
                | ureq::Error::HostNotFound
                | ureq::Error::ConnectionFailed
                | ureq::Error::Protocol(_)),
            ) => Outcome::Retry(e.to_string()),
            Err(e) => Outcome::Reject(e.to_string()),
        }
    }

    fn report_drops(&mut self) {
        let dropped = self.dropped.load(Ordering::Relaxed);
        if dropped > self.reported_drops {
            eprintln!(
                "vllm-sim: {} log lines dropped because the Loki queue was full ({dropped} in all)",
                dropped - self.reported_drops
            );
            self.reported_drops = dropped;
        }
    }
}
