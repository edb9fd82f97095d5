//! The catalogue's releases as the rig takes them: the series each vLLM release
//! exposes and the families its HELP text calls deprecated. The rig knows nothing of
//! the catalogue, so the command line hands it this plain table.

use std::sync::LazyLock;

use vllm_sim_core::catalogue::{Kind, MetricDef, Profile};
use vllm_sim_rig::{Release, ReleaseMetric, Releases};

/// Every release of the catalogue, oldest first, as the rig reads it.
pub fn vllm_releases() -> &'static Releases {
    static RELEASES: LazyLock<Releases> = LazyLock::new(|| {
        Releases(
            Profile::all()
                .map(|p| Release {
                    version: p.version().to_owned(),
                    metrics: p
                        .metrics()
                        .iter()
                        .map(|m| ReleaseMetric {
                            series: series(m, p.created_series()),
                            deprecated: m.help.contains("DEPRECATED"),
                        })
                        .collect(),
                })
                .collect(),
        )
    });
    &RELEASES
}

/// The series names of a family, as queries name them.
fn series(m: &MetricDef, created: bool) -> Vec<String> {
    let suffixes: &[&str] = match m.kind {
        Kind::Gauge => &[""],
        Kind::Counter => &["_total"],
        Kind::Histogram => &["_bucket", "_sum", "_count"],
        Kind::Summary => &["_sum", "_count"],
    };
    let created = (created && m.kind != Kind::Gauge).then_some("_created");
    suffixes
        .iter()
        .copied()
        .chain(created)
        .map(|s| format!("{}{s}", m.name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_release_in_order_with_its_series() {
        let r = vllm_releases();
        assert_eq!(r.0.len(), Profile::all().count());
        assert_eq!(r.0[0].version, Profile::all().next().unwrap().version());
        assert_eq!(r.0.last().unwrap().version, Profile::latest().version());
        let v06 = r.get("0.6.4").unwrap();
        assert!(v06.exposes("vllm:gpu_cache_usage_perc"));
        assert!(v06.exposes("vllm:generation_tokens_total"));
        assert!(v06.exposes("vllm:e2e_request_latency_seconds_bucket"));
        assert!(!v06.exposes("vllm:generation_tokens"));
        assert!(!v06.exposes("vllm:kv_cache_usage_perc"));
        let v011 = r.get("0.11.0").unwrap();
        assert!(
            v011.exposes("vllm:request_success_created"),
            "V1 prints _created"
        );
    }

    /// What the report says about the dashboard's metrics is vLLM's own data.
    #[test]
    fn histories_of_the_dashboards_metrics() {
        let r = vllm_releases();
        let life = |s: &str| r.lifetime(s).to_string();
        assert_eq!(
            life("vllm:gpu_cache_usage_perc"),
            "deprecated in 0.9.2, gone in 0.11.0"
        );
        assert_eq!(
            life("vllm:time_per_output_token_seconds_bucket"),
            "deprecated in 0.10.2, gone in 0.12.0"
        );
        assert_eq!(
            life("vllm:avg_generation_throughput_toks_per_s"),
            "gone in 0.7.0"
        );
        assert_eq!(
            life("vllm:kv_cache_usage_perc"),
            format!("added in 0.9.2, still in {}", Profile::latest().version())
        );
    }

    /// Every change the rig knows moves a metric some release had to one some
    /// release has, and its rewrite names only series some release exposes.
    #[test]
    fn the_rigs_changes_match_the_release_data() {
        let r = vllm_releases();
        for c in vllm_sim_rig::drift::CHANGES {
            let old = match c.rewrite {
                vllm_sim_rig::drift::Rewrite::Rename if !r.knows(c.old) => {
                    format!("{}_bucket", c.old)
                }
                _ => c.old.to_owned(),
            };
            let new = c.successor(&old).unwrap();
            assert!(r.knows(&old), "{}: no release has it", c.old);
            assert!(r.knows(&new), "{}: no release has {new}", c.old);
            let old_life = r.lifetime(&old);
            let new_life = r.lifetime(&new);
            assert!(old_life.gone.is_some(), "{}: never gone", c.old);
            // Some release has the successor once (or before) the old one is gone.
            let gone = old_life.gone.unwrap();
            assert!(
                r.0.iter()
                    .skip_while(|rel| rel.version != gone)
                    .any(|rel| rel.exposes(&new)),
                "{}: {new} is not there after {gone} ({new_life})",
                c.old
            );
        }
    }
}
