//! API clients waiting on a pod: who is owed which tokens, and the sink that tells them.
//!
//! The engine reports a client request's tokens and its end to the pod's sink; this
//! module forwards them, alongside the metrics, to the channel of the HTTP handler
//! that submitted the request, and counts the scenario's own requests as traffic of
//! the lab gateway.

use std::collections::HashMap;

use tokio::sync::mpsc;

use vllm_sim_core::clock::SimTime;
use vllm_sim_core::engine::{EventSink, FinishReason, FinishedRequest, StepStats};
use vllm_sim_core::metrics::VllmMetrics;
use vllm_sim_core::metrics::gateway::{self, GatewayMetrics};

/// What an API client hears about its request.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientEvent {
    /// A token was generated at this simulated time.
    Token(SimTime),
    /// The request finished.
    Finished {
        /// Why.
        reason: FinishReason,
        /// Prompt tokens.
        prompt_tokens: u32,
        /// Tokens generated.
        generation_tokens: u32,
    },
    /// The pod went down with the request in flight.
    PodDown,
}

/// The clients of one pod, by request id.
#[derive(Debug, Default)]
pub(super) struct Clients {
    next_id: u64,
    waiting: HashMap<u64, mpsc::UnboundedSender<ClientEvent>>,
}

impl Clients {
    /// Registers a new client; returns its request id and its event stream.
    pub(super) fn register(&mut self) -> (u64, mpsc::UnboundedReceiver<ClientEvent>) {
        self.next_id += 1;
        let (tx, rx) = mpsc::unbounded_channel();
        self.waiting.insert(self.next_id, tx);
        (self.next_id, rx)
    }

    /// Whether any client is waiting.
    pub(super) fn any(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Forgets a client that went away.
    pub(super) fn forget(&mut self, id: u64) {
        self.waiting.remove(&id);
    }

    /// Tells every client the pod went down, and forgets them.
    pub(super) fn pod_down(&mut self) {
        for (_, tx) in self.waiting.drain() {
            let _ = tx.send(ClientEvent::PodDown);
        }
    }
}

/// The sink of a pod with API clients: metrics first, then the client's channel.
pub(super) struct Tee<'a> {
    pub(super) metrics: &'a mut VllmMetrics,
    pub(super) clients: &'a mut Clients,
    pub(super) gateway: Option<&'a mut GatewayRoute>,
}

/// The gateway route of a pod's scenario traffic: its team and where it is counted.
#[derive(Debug)]
pub(super) struct GatewayRoute {
    pub(super) team: String,
    pub(super) counts: GatewayCounts,
}

/// Where a routed request is counted.
#[derive(Debug)]
pub(super) enum GatewayCounts {
    /// In the gateway's metrics, at once.
    Metrics(GatewayMetrics),
    /// In a journal of (HTTP status, milliseconds), in order, for a backfill to
    /// replay into the gateway's metrics.
    Journal(Vec<(u16, f64)>),
}

impl EventSink for Tee<'_> {
    fn first_token(&mut self, latency: f64) {
        self.metrics.first_token(latency);
    }

    fn next_token(&mut self, latency: f64) {
        self.metrics.next_token(latency);
    }

    fn finished(&mut self, request: &FinishedRequest) {
        self.metrics.finished(request);
        if let (None, Some(route)) = (request.client, self.gateway.as_deref_mut()) {
            let status = match request.reason {
                FinishReason::Abort => gateway::CLIENT_CLOSED,
                FinishReason::Stop | FinishReason::Length => 200,
            };
            let millis = request.e2e * 1000.0 + gateway::ROUTING_MS;
            match &mut route.counts {
                GatewayCounts::Metrics(metrics) => metrics.observe(&route.team, status, millis),
                GatewayCounts::Journal(journal) => journal.push((status, millis)),
            }
        }
        if let Some(tx) = request
            .client
            .and_then(|id| self.clients.waiting.remove(&id))
        {
            let _ = tx.send(ClientEvent::Finished {
                reason: request.reason,
                prompt_tokens: request.prompt_tokens,
                generation_tokens: request.generation_tokens,
            });
        }
    }

    fn step(&mut self, stats: &StepStats) {
        self.metrics.step(stats);
    }

    fn throughput(&mut self, prompt: f64, generation: f64) {
        self.metrics.throughput(prompt, generation);
    }

    fn rejected(&mut self) {
        self.metrics.rejected();
        // The harness's request came through the gateway, which answers vLLM's 503.
        if let Some(route) = self.gateway.as_deref_mut() {
            match &mut route.counts {
                GatewayCounts::Metrics(metrics) => {
                    metrics.observe(&route.team, 503, gateway::ROUTING_MS)
                }
                GatewayCounts::Journal(journal) => journal.push((503, gateway::ROUTING_MS)),
            }
        }
    }

    fn client_token(&mut self, client: u64, at: SimTime) {
        if let Some(tx) = self.clients.waiting.get(&client) {
            let _ = tx.send(ClientEvent::Token(at));
        }
    }
}
