//! Bytes on the wire: which text format a scraper gets, and the encoding itself.
//!
//! As prometheus_client's `choose_encoder` does, a request whose `Accept` header names
//! `application/openmetrics-text` gets OpenMetrics 1.0 (ending in `# EOF`) where the
//! path negotiates; anything else gets the text format. A real Prometheus asks for
//! OpenMetrics. Pods write their text with [`text`], as vLLM's prometheus_client does;
//! the lab gateway, which is no vLLM, through the prometheus-client crate
//! ([`encode`]). A pod's families are told line by line to a [`Sink`]: a text body, or
//! a [`BackfillWriter`]'s scrape, which turns many scrapes into one timestamped
//! document; the crate's text enters a backfill through [`read_openmetrics`].

mod backfill;
mod sink;
pub mod text;

pub use backfill::{BackfillWriter, Scrape};
pub use sink::{Sink, read_openmetrics};

use prometheus_client::encoding::{self, prometheus_text};
use prometheus_client::registry::Registry;

/// A text exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    PrometheusText,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
}

impl Format {
    /// The format an `Accept` header asks for.
    pub fn negotiate(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::PrometheusText,
        }
    }

    /// The `Content-Type` of a gateway body in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::PrometheusText => prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Appends the gateway's `registry` to `out` in `format`.
pub fn encode(registry: &Registry, format: Format, out: &mut String) -> std::fmt::Result {
    match format {
        Format::PrometheusText => prometheus_text::encode(out, registry),
        Format::OpenMetrics => encoding::text::encode(out, registry),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_scrapes_get_openmetrics() {
        let prometheus_2_42 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(
            Format::negotiate(Some(prometheus_2_42)),
            Format::OpenMetrics
        );
        assert_eq!(Format::negotiate(Some("*/*")), Format::PrometheusText);
        assert_eq!(Format::negotiate(None), Format::PrometheusText);
        assert_eq!(
            Format::PrometheusText.content_type(),
            "text/plain; version=0.0.4; charset=utf-8"
        );
    }
}
