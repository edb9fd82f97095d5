//! A lab served: each pod on its own listener and the gateway on another, until told
//! to stop. The one wiring of a lab to sockets, used by `vllm-sim run` and by every
//! test that serves a lab.

use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::gateway::{self, Gateway};
use crate::lab::Lab;
use crate::server;

/// Where a lab is served: one listener per pod, in the lab's pod order, and the
/// gateway's.
pub struct Listeners {
    /// The pods' listeners.
    pub pods: Vec<TcpListener>,
    /// The gateway's listener.
    pub gateway: TcpListener,
}

/// Serves every pod of `lab` and its gateway (whose `/metrics` shows `registry`'s
/// families beside its own) on `listeners`, until `stop` turns true; returns when
/// every server has ended (after in-flight responses, as [`server::serve`] does).
pub async fn serve(
    lab: Lab,
    listeners: Listeners,
    registry: Registry,
    stop: watch::Receiver<bool>,
) {
    let stopped = |mut stop: watch::Receiver<bool>| async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    let mut servers = Vec::new();
    for (pod, listener) in lab.pods().zip(listeners.pods) {
        servers.push(tokio::spawn(server::serve(
            listener,
            pod,
            stopped(stop.clone()),
        )));
    }
    let gateway = Gateway::with_registry(lab, registry);
    servers.push(tokio::spawn(gateway::serve(
        listeners.gateway,
        gateway,
        stopped(stop),
    )));
    for server in servers {
        let _ = server.await;
    }
}
