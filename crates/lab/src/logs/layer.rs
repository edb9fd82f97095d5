//! The `tracing` layer that turns this crate's events into Loki lines and queues them for
//! the shipper without ever blocking: when the queue is full the line is dropped and
//! counted.
//!
//! Only events whose target is `vllm_sim` or under it are shipped, so the HTTP client's
//! own logging (from the shipper thread) never comes back into the queue.

use std::fmt::{self, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::SystemTime;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use super::push::Entry;
use super::shipper::Msg;

/// The target prefixes of the events shipped to Loki: the binary's crate, and the lab
/// crate (gateway, battery, lab), whose events carry its own name.
const CRATE_TARGETS: [&str; 2] = ["vllm_sim_lab", "vllm_sim"];

/// A [`Layer`] that queues each `vllm_sim` event as a Loki line: `LEVEL target: message
/// key=value ...`, labelled with its component (`gateway`, `bench`, `lab`...) and level.
///
/// Logging through it never blocks and never panics; lines that find the queue full are
/// dropped and counted (see [`LogGuard::dropped`](super::LogGuard::dropped)).
#[derive(Debug)]
pub struct LokiLayer {
    /// The shipper's bounded queue.
    tx: SyncSender<Msg>,
    /// Lines dropped because the queue was full or the shipper had stopped.
    dropped: Arc<AtomicU64>,
}

impl LokiLayer {
    pub(super) fn new(tx: SyncSender<Msg>, dropped: Arc<AtomicU64>) -> LokiLayer {
        LokiLayer { tx, dropped }
    }
}

impl<S: Subscriber> Layer<S> for LokiLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let Some(component) = component(meta.target()) else {
            return;
        };
        let entry = Entry {
            unix_nanos: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
            component,
            level: level_label(*meta.level()),
            line: format_line(event),
            past: false,
        };
        if self.tx.try_send(Msg::Line(entry)).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The `component` label of a target: the module under the crate root
/// (`vllm_sim::gateway::route` → `gateway`), or the subcommand for the command line's
/// modules (`vllm_sim::cli::bench` → `bench`); `main` for the root itself, `None` for
/// targets outside the crate.
pub(super) fn component(target: &'static str) -> Option<&'static str> {
    let rest = CRATE_TARGETS.iter().find_map(|crate_target| {
        let rest = target.strip_prefix(crate_target)?;
        (rest.is_empty() || rest.starts_with("::")).then_some(rest)
    })?;
    if rest.is_empty() {
        return Some("main");
    }
    let mut modules = rest.strip_prefix("::")?.split("::");
    let first = modules.next().filter(|m| !m.is_empty()).unwrap_or("main");
    match (first, modules.next()) {
        ("cli", Some(subcommand)) if !subcommand.is_empty() => Some(subcommand),
        _ => Some(first),
    }
}

fn level_label(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// `LEVEL target: message key=value ...`, as the stderr log prints it, so the dashboard's
/// line filter (`bench|benchmark|harness`) also matches on the target.
fn format_line(event: &Event<'_>) -> String {
    let meta = event.metadata();
    let mut visitor = LineVisitor::default();
    event.record(&mut visitor);
    let mut line = format!("{} {}: {}", meta.level(), meta.target(), visitor.message);
    line.push_str(&visitor.fields);
    line
}

/// Collects the message and the other fields (` key=value` each) of one event.
#[derive(Default)]
struct LineVisitor {
    message: String,
    fields: String,
}

impl LineVisitor {
    fn push_field(&mut self, name: &str, value: &str) {
        // Writing into a String cannot fail.
        let _ = if needs_quotes(value) {
            write!(self.fields, " {name}={value:?}")
        } else {
            write!(self.fields, " {name}={value}")
        };
    }
}

impl Visit for LineVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.push_field(field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message.push_str(&text);
        } else if text.len() >= 2 && text.starts_with('"') && text.ends_with('"') {
            // Already quoted and escaped by `Debug` (a string logged with `?`).
            let _ = write!(self.fields, " {}={text}", field.name());
        } else {
            self.push_field(field.name(), &text);
        }
    }
}

/// Whether a value must be quoted to stay one `key=value` token (logfmt's rule).
fn needs_quotes(value: &str) -> bool {
    value.is_empty() || value.contains(|c: char| c.is_whitespace() || c == '"' || c == '=')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_is_the_module_under_the_crate() {
        assert_eq!(component("vllm_sim::gateway::route"), Some("gateway"));
        assert_eq!(component("vllm_sim::bench"), Some("bench"));
        assert_eq!(component("vllm_sim::cli::bench"), Some("bench"));
        assert_eq!(component("vllm_sim::cli"), Some("cli"));
        assert_eq!(component("vllm_sim"), Some("main"));
        assert_eq!(component("vllm_sim_lab::bench::run"), Some("bench"));
        assert_eq!(component("vllm_sim_lab::gateway"), Some("gateway"));
        assert_eq!(component("vllm_sim_tests::x"), None);
        assert_eq!(component("ureq::unversioned"), None);
        assert_eq!(component("log"), None);
    }

    #[test]
    fn values_with_spaces_or_equals_are_quoted() {
        let mut v = LineVisitor::default();
        v.push_field("a", "plain");
        v.push_field("b", "two words");
        v.push_field("c", "");
        v.push_field("d", "k=v");
        assert_eq!(v.fields, r#" a=plain b="two words" c="" d="k=v""#);
    }
}
