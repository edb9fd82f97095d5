//! Server-sent events for streamed completions, and aborting requests whose client left.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame};
use tokio::sync::mpsc;

use crate::lab::PodHandle;

/// Aborts the engine requests it holds when dropped, unless disarmed: dropping it is
/// how a handler learns its client went away (hyper drops the handler or the body).
pub(super) struct AbortGuard {
    pod: PodHandle,
    ids: Vec<u64>,
}

impl AbortGuard {
    pub(super) fn new(pod: PodHandle) -> AbortGuard {
        AbortGuard {
            pod,
            ids: Vec::new(),
        }
    }

    /// Watches request `id`.
    pub(super) fn watch(&mut self, id: u64) {
        self.ids.push(id);
    }

    /// Request `id` finished: nothing to abort.
    pub(super) fn done(&mut self, id: u64) {
        self.ids.retain(|&i| i != id);
    }
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        for &id in &self.ids {
            self.pod.abort(id);
        }
    }
}

/// A response body fed `data: …` events through a channel; dropping it (the client
/// hung up) drops the producer's guard, which aborts the requests.
pub(super) struct SseBody {
    events: mpsc::Receiver<Bytes>,
}

impl SseBody {
    /// A body and the sender that feeds it.
    pub(super) fn channel() -> (mpsc::Sender<Bytes>, SseBody) {
        let (tx, rx) = mpsc::channel(64);
        (tx, SseBody { events: rx })
    }
}

impl Body for SseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.events
            .poll_recv(cx)
            .map(|event| event.map(|data| Ok(Frame::data(data))))
    }
}

/// One event: `data: <json>` and a blank line.
pub(super) fn event(json: &impl serde::Serialize) -> Bytes {
    let json = serde_json::to_string(json).unwrap_or_default();
    Bytes::from(format!("data: {json}\n\n"))
}

/// The last event of every stream.
pub(super) fn done() -> Bytes {
    Bytes::from_static(b"data: [DONE]\n\n")
}
