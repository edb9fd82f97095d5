//! `vllm-sim migrate`: a dashboard rewritten for a vLLM release. The dashboard goes
//! to standard output (or `--out`), what was changed and what was not to standard
//! error.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use vllm_sim_rig::drift::CHANGES;

/// Arguments of `migrate`, as typed.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The dashboard JSON (or Grafana's API envelope); `-` for standard input.
    #[arg(value_name = "DASHBOARD")]
    pub dashboard: PathBuf,
    /// The vLLM release to move it to: vllm-X.Y.Z, vllm-0.6, vllm-0.11 or latest.
    #[arg(long, value_name = "PROFILE", value_parser = super::parse_profile)]
    pub to: super::ProfileArg,
    /// Where to write the migrated dashboard; standard output when omitted.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub(super) fn execute(args: MigrateArgs) -> anyhow::Result<()> {
    let name = args.dashboard.display().to_string();
    let text = if name == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the dashboard from standard input")?;
        text
    } else {
        std::fs::read_to_string(&args.dashboard).with_context(|| format!("cannot read {name}"))?
    };
    let releases = super::vllm_releases();
    let version = args.to.0.version();
    let to = releases
        .get(version)
        .with_context(|| format!("vLLM {version} is not in the release table"))?;
    let migration = vllm_sim_rig::migrate(&text, to, releases, CHANGES)
        .with_context(|| format!("invalid dashboard {name}"))?;
    match &args.out {
        Some(path) => std::fs::write(path, &migration.text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{}", migration.text),
    }
    eprint!("{name}: {}", migration.summary());
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> Result<super::MigrateArgs, String> {
        let cli = Cli::try_parse_from(["vllm-sim", "migrate"].iter().chain(args))
            .map_err(|e| e.to_string())?;
        match cli.command {
            Some(Command::Migrate(a)) => Ok(a),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn arguments() {
        let a = parse(&["d.json", "--to", "latest"]).unwrap();
        assert_eq!(a.to.0, vllm_sim_core::catalogue::Profile::latest());
        assert_eq!(a.out, None);
        let a = parse(&["d.json", "--to=vllm-0.11", "--out", "new.json"]).unwrap();
        assert_eq!(a.to.0.version(), "0.11.0");
        assert_eq!(a.out.as_deref(), Some(std::path::Path::new("new.json")));
        assert!(parse(&["d.json"]).unwrap_err().contains("--to <PROFILE>"));
    }

    #[test]
    fn unknown_releases_name_the_nearest() {
        let e = parse(&["d.json", "--to", "vllm-0.11.9"]).unwrap_err();
        assert!(e.contains("unknown vLLM profile \"vllm-0.11.9\""), "{e}");
        assert!(e.contains("nearest known are vllm-0.11"), "{e}");
    }

    #[test]
    fn bad_dashboards_are_errors() {
        let dir = std::env::temp_dir().join(format!("vllm-sim-migrate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.json");
        std::fs::write(&bad, "{\"panels\": [").unwrap();
        let a = parse(&[bad.to_str().unwrap(), "--to", "latest"]).unwrap();
        let e = format!("{:#}", super::execute(a).unwrap_err());
        assert!(e.starts_with("invalid dashboard "), "{e}");
        assert!(
            e.contains("not a Grafana dashboard: EOF while parsing"),
            "{e}"
        );
        let a = parse(&[dir.join("none.json").to_str().unwrap(), "--to", "latest"]).unwrap();
        let e = format!("{:#}", super::execute(a).unwrap_err());
        assert!(e.starts_with("cannot read "), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// To every release of the catalogue, the shipped dashboard moves without a metric
    /// left behind; to its own release, 0.6.4, it stays byte for byte as it is.
    #[test]
    fn the_shipped_dashboard_moves_to_every_release() {
        let text = include_str!("../../../dashboard/llm-platform-overview.json");
        let releases = crate::cli::vllm_releases();
        for to in &releases.0 {
            let m = vllm_sim_rig::migrate(text, to, releases, super::CHANGES).unwrap();
            assert!(m.unresolved.is_empty(), "{}", m.summary());
            let d = vllm_sim_rig::dashboard::parse(&m.text).unwrap();
            for p in d.panels() {
                for t in &p.panel.targets {
                    let expr = t.expr.as_deref().unwrap_or_default();
                    for name in expr
                        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                        .filter(|w| w.starts_with("vllm:"))
                    {
                        assert!(to.exposes(name), "{}: {name} in {expr}", to.version);
                    }
                }
            }
            // Until 0.7.0 dropped the throughput gauges, every metric it queries is there.
            assert_eq!(
                m.rewritten.is_empty(),
                to.exposes("vllm:avg_generation_throughput_toks_per_s"),
                "{}: {}",
                to.version,
                m.summary()
            );
            if m.rewritten.is_empty() {
                assert_eq!(m.text, text, "{}: every byte kept", to.version);
            }
        }
        let v011 = releases.get("0.11.0").unwrap();
        let m = vllm_sim_rig::migrate(text, v011, releases, super::CHANGES).unwrap();
        let panels: std::collections::BTreeSet<_> =
            m.rewritten.iter().filter_map(|r| r.target.panel).collect();
        assert_eq!(
            panels.into_iter().collect::<Vec<_>>(),
            [5, 6, 12, 14, 22, 24, 32, 34, 42, 43]
        );
        assert_eq!(
            m.deprecated.len(),
            4,
            "both decode-time panels: {}",
            m.summary()
        );
    }

    /// V0's hit-rate gauge becomes the counters of the release it moves to: `gpu_`
    /// ones in 0.8.x, the renamed ones from 0.9.2.
    #[test]
    fn each_release_gets_the_change_that_fits_it() {
        let releases = crate::cli::vllm_releases();
        let expr = r#"avg(vllm:gpu_prefix_cache_hit_rate{app="a"})"#;
        let to = |v: &str| {
            vllm_sim_rig::migrate::migrate_expr(
                expr,
                releases.get(v).unwrap(),
                releases,
                super::CHANGES,
            )
        };
        assert_eq!(
            to("0.8.0").expr,
            r#"avg((rate(vllm:gpu_prefix_cache_hits_total{app="a"}[$__rate_interval]) / rate(vllm:gpu_prefix_cache_queries_total{app="a"}[$__rate_interval])))"#
        );
        assert_eq!(
            to("0.33.0").expr,
            r#"avg((rate(vllm:prefix_cache_hits_total{app="a"}[$__rate_interval]) / rate(vllm:prefix_cache_queries_total{app="a"}[$__rate_interval])))"#
        );
        assert_eq!(to("0.6.4").expr, expr, "0.6.4 has the gauge");
        let back = vllm_sim_rig::migrate::migrate_expr(
            "rate(vllm:inter_token_latency_seconds_sum[5m])",
            releases.get("0.9.2").unwrap(),
            releases,
            super::CHANGES,
        );
        assert_eq!(
            back.expr,
            "rate(vllm:time_per_output_token_seconds_sum[5m])"
        );
    }

    #[test]
    fn the_shipped_dashboard_on_the_newest_release() {
        let dir = std::env::temp_dir().join(format!("vllm-sim-migrate-ok-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("new.json");
        let shipped = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../dashboard/llm-platform-overview.json"
        );
        let a = parse(&[shipped, "--to", "latest", "--out", out.to_str().unwrap()]).unwrap();
        super::execute(a).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        let d = vllm_sim_rig::dashboard::parse(&text).unwrap();
        let exprs: Vec<&str> = d
            .panels()
            .iter()
            .flat_map(|p| &p.panel.targets)
            .filter_map(|t| t.expr.as_deref())
            .collect();
        assert_eq!(exprs.len(), 63);
        for gone in [
            "vllm:gpu_cache_usage_perc",
            "vllm:avg_generation_throughput_toks_per_s",
            "vllm:time_per_output_token_seconds",
        ] {
            assert!(
                exprs.iter().all(|e| !e.contains(gone)),
                "{gone} is still queried"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
