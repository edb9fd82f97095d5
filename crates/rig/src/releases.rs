//! The vLLM releases as the caller hands them over: which series each release
//! exposes and which of its metrics it marks deprecated.
//!
//! The rig knows nothing of this crate's catalogue: the command line builds a
//! [`Releases`] from it and passes it in, as plain data. From it the rig says when a
//! metric appeared, was deprecated and went ([`Releases::lifetime`]), and whether a
//! release still exposes a series a query names ([`Release::exposes`]).

use std::fmt;

/// Every known release, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Releases(pub Vec<Release>);

/// One vLLM release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    /// The version, e.g. `0.11.0`.
    pub version: String,
    /// Its metric families.
    pub metrics: Vec<ReleaseMetric>,
}

/// One metric family of a release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseMetric {
    /// The names of its series as queries name them: a gauge's own name, a
    /// counter's `_total`, a histogram's `_bucket`, `_sum` and `_count` (and
    /// `_created` where the release prints it).
    pub series: Vec<String>,
    /// Whether the release's HELP text calls it deprecated.
    pub deprecated: bool,
}

/// When a series came, was deprecated and went, as far as the releases tell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lifetime<'a> {
    /// The first release exposing it; `None` when no release does.
    pub added: Option<&'a str>,
    /// The first release calling it deprecated.
    pub deprecated: Option<&'a str>,
    /// The release after the last one exposing it; `None` while the newest has it.
    pub gone: Option<&'a str>,
    /// The oldest release known, to tell "added in" from "there from the start".
    first_known: Option<&'a str>,
    /// The newest release known.
    last_known: Option<&'a str>,
}

impl Release {
    /// The family `series` belongs to, if this release has it.
    pub fn metric(&self, series: &str) -> Option<&ReleaseMetric> {
        self.metrics
            .iter()
            .find(|m| m.series.iter().any(|s| s == series))
    }

    /// Whether this release exposes a series called `series`.
    pub fn exposes(&self, series: &str) -> bool {
        self.metric(series).is_some()
    }
}

impl Releases {
    /// The release called `version`.
    pub fn get(&self, version: &str) -> Option<&Release> {
        self.0.iter().find(|r| r.version == version)
    }

    /// Whether any release exposes `series`.
    pub fn knows(&self, series: &str) -> bool {
        self.0.iter().any(|r| r.exposes(series))
    }

    /// When `series` came, was deprecated and went.
    pub fn lifetime(&self, series: &str) -> Lifetime<'_> {
        let mut life = Lifetime {
            first_known: self.0.first().map(|r| r.version.as_str()),
            last_known: self.0.last().map(|r| r.version.as_str()),
            ..Lifetime::default()
        };
        let mut last = None;
        for (i, r) in self.0.iter().enumerate() {
            let Some(m) = r.metric(series) else {
                continue;
            };
            life.added.get_or_insert(r.version.as_str());
            if m.deprecated {
                life.deprecated.get_or_insert(r.version.as_str());
            }
            last = Some(i);
        }
        life.gone = last
            .and_then(|i| self.0.get(i + 1))
            .map(|r| r.version.as_str());
        life
    }
}

impl Lifetime<'_> {
    /// Whether some release exposes the series.
    pub fn known(&self) -> bool {
        self.added.is_some()
    }
}

impl fmt::Display for Lifetime<'_> {
    /// `added in 0.8.0, deprecated in 0.9.2, gone in 0.11.0`; a release the series
    /// was there from is left out when it is the oldest known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(added) = self.added else {
            return f.write_str("in no known vLLM release");
        };
        let mut parts = Vec::new();
        if Some(added) != self.first_known {
            parts.push(format!("added in {added}"));
        }
        if let Some(d) = self.deprecated {
            parts.push(format!("deprecated in {d}"));
        }
        match self.gone {
            Some(g) => parts.push(format!("gone in {g}")),
            None => parts.push(format!(
                "still in {}",
                self.last_known.unwrap_or("the newest")
            )),
        }
        f.write_str(&parts.join(", "))
    }
}

#[cfg(test)]
pub(crate) mod sample {
    //! A small history with the shape of vLLM's, for the rig's tests.

    use super::*;

    fn release(version: &str, metrics: &[(&str, bool)]) -> Release {
        Release {
            version: version.to_owned(),
            metrics: metrics
                .iter()
                .map(|&(name, deprecated)| ReleaseMetric {
                    // The histograms are the `_seconds` families.
                    series: if name.ends_with("_seconds") {
                        ["_bucket", "_sum", "_count"]
                            .iter()
                            .map(|s| format!("{name}{s}"))
                            .collect()
                    } else {
                        vec![name.to_owned()]
                    },
                    deprecated,
                })
                .collect(),
        }
    }

    /// 0.6 (V0 gauges), 0.9 (both cache gauges, the old one deprecated), 0.11 (the
    /// old cache gauge gone, the decode histogram deprecated) and 0.12.
    pub(crate) fn releases() -> Releases {
        let common = [
            ("vllm:generation_tokens_total", false),
            ("vllm:prompt_tokens_total", false),
            ("vllm:e2e_request_latency_seconds", false),
        ];
        let with = |extra: &[(&'static str, bool)]| -> Vec<(&'static str, bool)> {
            common.iter().chain(extra).copied().collect()
        };
        Releases(vec![
            release(
                "0.6.4",
                &with(&[
                    ("vllm:avg_generation_throughput_toks_per_s", false),
                    ("vllm:avg_prompt_throughput_toks_per_s", false),
                    ("vllm:gpu_cache_usage_perc", false),
                    ("vllm:num_requests_swapped", false),
                    ("vllm:time_per_output_token_seconds", false),
                ]),
            ),
            release(
                "0.9.2",
                &with(&[
                    ("vllm:gpu_cache_usage_perc", true),
                    ("vllm:kv_cache_usage_perc", false),
                    ("vllm:time_per_output_token_seconds", false),
                ]),
            ),
            release(
                "0.11.0",
                &with(&[
                    ("vllm:kv_cache_usage_perc", false),
                    ("vllm:time_per_output_token_seconds", true),
                    ("vllm:inter_token_latency_seconds", false),
                ]),
            ),
            release(
                "0.12.0",
                &with(&[
                    ("vllm:kv_cache_usage_perc", false),
                    ("vllm:inter_token_latency_seconds", false),
                ]),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_from_the_releases() {
        let r = sample::releases();
        let life = |s: &str| r.lifetime(s).to_string();
        assert_eq!(
            life("vllm:gpu_cache_usage_perc"),
            "deprecated in 0.9.2, gone in 0.11.0"
        );
        assert_eq!(
            life("vllm:time_per_output_token_seconds_bucket"),
            "deprecated in 0.11.0, gone in 0.12.0"
        );
        assert_eq!(
            life("vllm:kv_cache_usage_perc"),
            "added in 0.9.2, still in 0.12.0"
        );
        assert_eq!(
            life("vllm:avg_generation_throughput_toks_per_s"),
            "gone in 0.9.2"
        );
        assert_eq!(life("vllm:no_such_thing"), "in no known vLLM release");
        assert!(!r.lifetime("vllm:no_such_thing").known());
        assert_eq!(
            Releases::default().lifetime("x").to_string(),
            "in no known vLLM release"
        );
    }

    #[test]
    fn a_release_exposes_the_series_of_its_families() {
        let r = sample::releases();
        let v011 = r.get("0.11.0").unwrap();
        assert!(v011.exposes("vllm:inter_token_latency_seconds_bucket"));
        assert!(v011.exposes("vllm:generation_tokens_total"));
        assert!(!v011.exposes("vllm:inter_token_latency_seconds"));
        assert!(!v011.exposes("vllm:gpu_cache_usage_perc"));
        assert!(r.knows("vllm:gpu_cache_usage_perc"));
        assert!(r.get("0.7.0").is_none());
    }
}
