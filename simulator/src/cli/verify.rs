//! `vllm-sim verify`: check every panel of a dashboard against a Prometheus (or
//! through a Grafana), and a scenario's expectations on top; with `--rules`, evaluate
//! the alerting rules over the window and check the scenario's alerts. The report goes
//! to standard output whatever the outcome (and, with `--html FILE`, as a page to FILE
//! too); the exit status says whether anything failed.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{Args, ValueEnum};

use vllm_sim_rig::report::{AlertCheck, AlertsReport, Outcome};
use vllm_sim_rig::time::{End, parse_time};
use vllm_sim_rig::{
    self, AlertExpectation, Dashboard, Expectation, Format, Grafana, Loki, Prometheus, RuleSet,
    Settings, Sources,
};

/// The dashboard checked when `--dashboard` is not given.
const SHIPPED_DASHBOARD: &str = include_str!("../../../dashboard/llm-platform-overview.json");

/// How long one query may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// Arguments of `verify`, as typed.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).multiple(true).args(["prometheus", "grafana"])))]
pub struct VerifyArgs {
    /// Base URL of the Prometheus behind the dashboard, e.g. http://127.0.0.1:9090.
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// Ask every query through this Grafana's `/api/ds/query` instead, with the
    /// datasources it holds (Loki included), e.g. http://admin:admin@127.0.0.1:3000;
    /// a service-account token may come in VLLM_SIM_GRAFANA_TOKEN.
    #[arg(long, value_name = "URL")]
    pub grafana: Option<String>,
    /// The dashboard JSON (or Grafana's API envelope); the shipped dashboard when omitted.
    #[arg(long, value_name = "FILE")]
    pub dashboard: Option<PathBuf>,
    /// Start of the range: `now-30m`, `now-1d/d`, RFC 3339 or Unix seconds; the
    /// dashboard's own when omitted.
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// End of the range, in the same forms; the dashboard's own when omitted.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// How to print the report.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Also write the report as one self-contained HTML page to FILE, whatever
    /// `--format` prints (e.g. JUnit for CI and the page as an artifact).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// The uid the dashboard's Prometheus targets must use.
    #[arg(long, value_name = "UID", default_value = "prometheus")]
    pub datasource_uid: String,
    /// The Prometheus datasource's scrape interval (`jsonData.timeInterval`), which
    /// drives `$__interval` and `$__rate_interval`.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = humantime::parse_duration)]
    pub scrape_interval: Duration,
    /// Base URL of the Loki the dashboard's logs panels query, as Grafana's Loki
    /// datasource would (e.g. http://127.0.0.1:3100); they are skipped without it.
    /// (`--loki` is the old name.)
    #[arg(long, value_name = "URL", alias = "loki")]
    pub loki_datasource: Option<String>,
    /// A built-in scenario name or a scenario file whose `expect:` entries (and,
    /// with --rules, `alerts:` entries) to check.
    #[arg(long, value_name = "NAME|FILE")]
    pub scenario: Option<String>,
    /// Prometheus rule files whose alerting rules to evaluate over the range, as
    /// Prometheus's rule manager would (e.g. dashboard/rules/*.yaml).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub rules: Vec<PathBuf>,
    /// Evaluate every rule group this often, whatever its own `interval` (default:
    /// the group's, else Prometheus's global 1m).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, requires = "rules")]
    pub rules_interval: Option<Duration>,
}

/// Report formats on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table per panel, for people.
    Table,
    /// One JSON document.
    Json,
    /// JUnit XML, for CI.
    Junit,
    /// One self-contained HTML page drawing each panel, for people.
    Html,
}

impl From<OutputFormat> for Format {
    fn from(f: OutputFormat) -> Format {
        match f {
            OutputFormat::Table => Format::Table,
            OutputFormat::Json => Format::Json,
            OutputFormat::Junit => Format::Junit,
            OutputFormat::Html => Format::Html,
        }
    }
}

/// A validated `verify` configuration.
#[derive(Debug)]
struct VerifyConfig {
    dashboard: Dashboard,
    settings: Settings,
    sources: Sources,
    expectations: Vec<Expectation>,
    alerts: Option<Vec<AlertExpectation>>,
    rules: Option<RuleSet>,
    rules_interval_ms: Option<u64>,
    format: Format,
    /// The scenario as named on the command line.
    scenario: Option<String>,
}

impl TryFrom<VerifyArgs> for VerifyConfig {
    type Error = anyhow::Error;

    fn try_from(args: VerifyArgs) -> anyhow::Result<VerifyConfig> {
        let dashboard = match &args.dashboard {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                vllm_sim_rig::dashboard::parse(&text)
                    .with_context(|| format!("invalid dashboard {}", path.display()))?
            }
            None => vllm_sim_rig::dashboard::parse(SHIPPED_DASHBOARD)
                .context("the shipped dashboard")?,
        };
        let now_ms = i64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .context("the clock is before 1970")?
                .as_millis(),
        )?;
        let span = dashboard.time.as_ref();
        let from = args
            .from
            .as_deref()
            .or(span.map(|t| t.from.as_str()))
            .unwrap_or("now-6h");
        let to = args
            .to
            .as_deref()
            .or(span.map(|t| t.to.as_str()))
            .unwrap_or("now");
        let from_ms = instant(from, now_ms, End::From).context("--from")?;
        let to_ms = instant(to, now_ms, End::To).context("--to")?;
        anyhow::ensure!(from_ms < to_ms, "the range {from} to {to} is empty");
        let scrape_interval_ms = i64::try_from(args.scrape_interval.as_millis())?;
        anyhow::ensure!(
            scrape_interval_ms > 0,
            "--scrape-interval must be longer than 0s"
        );
        let (expectations, alerts) = match &args.scenario {
            Some(name) => {
                let s = super::resolve_scenario(name)?;
                (s.expectations, s.alerts)
            }
            None => (Vec::new(), None),
        };
        let rules = if args.rules.is_empty() {
            None
        } else {
            Some(load_rules(&args.rules)?)
        };
        if let (Some(rules), Some(alerts)) = (&rules, &alerts) {
            let unknown = vllm_sim_rig::run::unknown_alerts(rules, alerts);
            anyhow::ensure!(unknown.is_empty(), "{}", unknown.join("\n"));
        }
        let rules_interval_ms = match args.rules_interval {
            Some(d) => {
                let ms = u64::try_from(d.as_millis())?;
                anyhow::ensure!(ms > 0, "--rules-interval must be longer than 0s");
                Some(ms)
            }
            None => None,
        };
        Ok(VerifyConfig {
            dashboard,
            settings: Settings {
                from_ms,
                to_ms,
                scrape_interval_ms,
                datasource_uid: args.datasource_uid,
            },
            sources: Sources {
                prometheus: args
                    .prometheus
                    .as_deref()
                    .map(|u| Prometheus::new(u, QUERY_TIMEOUT)),
                loki: args
                    .loki_datasource
                    .as_deref()
                    .map(|u| Loki::new(u, QUERY_TIMEOUT)),
                grafana: args
                    .grafana
                    .as_deref()
                    .map(|u| Grafana::new(u, QUERY_TIMEOUT))
                    .transpose()
                    .map_err(anyhow::Error::msg)
                    .context("--grafana")?,
            },
            expectations,
            alerts,
            rules,
            rules_interval_ms,
            format: args.format.into(),
            scenario: args.scenario,
        })
    }
}

/// The rule files, each read and checked; every problem of every file is an error.
fn load_rules(paths: &[PathBuf]) -> anyhow::Result<RuleSet> {
    let mut set = RuleSet::default();
    let mut problems = Vec::new();
    for path in paths {
        let file = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                if let Err(e) = set.add(&text, &file) {
                    problems.extend(e.0);
                }
            }
            Err(e) => problems.push(format!("{file}: cannot read: {e}")),
        }
    }
    anyhow::ensure!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(set)
}

/// Unix milliseconds for a Grafana time expression or an RFC 3339 date.
fn instant(text: &str, now_ms: i64, end: End) -> anyhow::Result<i64> {
    if let Some(ms) = parse_time(text, now_ms, end)? {
        return Ok(ms);
    }
    let t = humantime::parse_rfc3339_weak(text.trim())
        .with_context(|| format!("{text:?} is neither a Grafana time nor an RFC 3339 date"))?;
    let since = t.duration_since(UNIX_EPOCH).context("dates before 1970")?;
    Ok(i64::try_from(since.as_millis())?)
}

/// Runs `verify` as its arguments say and hands back the report (and the format it
/// asks for); an error for arguments, files or a scenario it cannot use.
pub fn verify_report(args: VerifyArgs) -> anyhow::Result<(vllm_sim_rig::Report, Format)> {
    let config = VerifyConfig::try_from(args)?;
    let mut report = vllm_sim_rig::verify(
        &config.dashboard,
        &config.settings,
        &config.sources,
        &config.expectations,
        super::vllm_releases(),
    );
    report.scenario.clone_from(&config.scenario);
    if report.unreachable.is_none() {
        report.alerts = match (&config.rules, &config.alerts) {
            (Some(rules), alerts) => Some(vllm_sim_rig::run::alerts(
                rules,
                &config.settings,
                &config.sources,
                config.rules_interval_ms,
                alerts.as_deref(),
            )),
            (None, Some(alerts)) => Some(AlertsReport {
                start_ms: config.settings.from_ms,
                checks: alerts
                    .iter()
                    .map(|a| AlertCheck {
                        name: a.note.clone(),
                        outcome: Outcome::Skipped,
                        message: "not checked: pass the rule files with --rules".to_owned(),
                    })
                    .collect(),
                ..AlertsReport::default()
            }),
            (None, None) => None,
        };
    }
    Ok((report, config.format))
}

pub(super) fn execute(args: VerifyArgs) -> anyhow::Result<()> {
    let html = args.html.clone();
    let (report, format) = verify_report(args)?;
    print!("{}", report.render(format));
    if let Some(path) = html {
        std::fs::write(&path, report.render(Format::Html))
            .with_context(|| format!("cannot write the HTML report to {}", path.display()))?;
    }
    let summary = report.summary();
    anyhow::ensure!(
        summary.failed == 0,
        "{} of {} checks failed",
        summary.failed,
        summary.total()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> VerifyArgs {
        let cli = Cli::try_parse_from(["vllm-sim", "verify"].iter().chain(args)).unwrap();
        match cli.command {
            Some(Command::Verify(a)) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let a = parse(&["--prometheus", "http://127.0.0.1:9090"]);
        assert_eq!(a.format, OutputFormat::Table);
        assert_eq!(a.datasource_uid, "prometheus");
        assert_eq!(a.scrape_interval, Duration::from_secs(15));
        let c = VerifyConfig::try_from(a).unwrap();
        assert_eq!(c.dashboard.uid.as_deref(), Some("llm-platform-overview"));
        assert_eq!(
            c.settings.to_ms - c.settings.from_ms,
            30 * 60 * 1000,
            "the dashboard's now-30m"
        );
        assert!(c.expectations.is_empty());
        assert!(c.sources.loki.is_none());
    }

    #[test]
    fn explicit_range_and_scenario() {
        let a = parse(&[
            "--prometheus=http://p:9090",
            "--from=2023-11-14T22:13:20Z",
            "--to=1700003600",
            "--format=junit",
            "--scenario=healthy",
            "--loki-datasource=http://l:3100",
            "--scrape-interval=5s",
        ]);
        let c = VerifyConfig::try_from(a).unwrap();
        assert_eq!(
            (c.settings.from_ms, c.settings.to_ms),
            (1_700_000_000_000, 1_700_003_600_000)
        );
        assert_eq!(c.settings.scrape_interval_ms, 5_000);
        assert_eq!(c.format, Format::Junit);
        assert_eq!(c.scenario.as_deref(), Some("healthy"));
        assert!(!c.expectations.is_empty());
        assert!(c.sources.loki.is_some());
    }

    #[test]
    fn the_loki_to_query_is_loki_datasource_and_loki_url_is_not_a_verify_flag() {
        for flag in ["--loki-datasource", "--loki"] {
            let c = VerifyConfig::try_from(parse(&[
                "--prometheus=http://p:9090",
                flag,
                "http://l:3100",
            ]))
            .unwrap();
            assert!(c.sources.loki.is_some(), "{flag}");
        }
        // Shipping verify's own log lines would mean nothing: it logs none.
        let err = Cli::try_parse_from([
            "vllm-sim",
            "verify",
            "--prometheus=x",
            "--loki-url=http://l:3100",
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("unexpected argument '--loki-url'"), "{err}");
    }

    #[test]
    fn prometheus_or_grafana_or_both() {
        let err = Cli::try_parse_from(["vllm-sim", "verify"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--prometheus <URL>") && err.contains("--grafana <URL>"),
            "{err}"
        );
        let c = VerifyConfig::try_from(parse(&["--grafana", "http://admin:admin@g:3000"])).unwrap();
        assert!(c.sources.prometheus.is_none());
        assert_eq!(
            c.sources.grafana.as_ref().map(Grafana::base_url),
            Some("http://g:3000")
        );
        let e = VerifyConfig::try_from(parse(&["--grafana", "g:3000"])).unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            "--grafana: \"g:3000\" is not an http:// or https:// URL"
        );
        let e = VerifyConfig::try_from(parse(&["--grafana", "ftp://admin:secret@g:3000"]));
        assert_eq!(
            format!("{:#}", e.unwrap_err()),
            "--grafana: \"ftp://***@g:3000\" is not an http:// or https:// URL"
        );
        let both = parse(&["--prometheus=http://p:9090", "--grafana=http://g:3000"]);
        let c = VerifyConfig::try_from(both).unwrap();
        assert!(c.sources.prometheus.is_some() && c.sources.grafana.is_some());
    }

    #[test]
    fn html_as_the_format_or_beside_it() {
        let a = parse(&["--prometheus=x", "--format=html"]);
        assert_eq!(Format::from(a.format), Format::Html);
        let a = parse(&[
            "--prometheus=x",
            "--format=junit",
            "--html",
            "out/report.html",
        ]);
        assert_eq!(a.html, Some(PathBuf::from("out/report.html")));
        assert_eq!(Format::from(a.format), Format::Junit);
    }

    #[test]
    fn bad_ranges() {
        let e = VerifyConfig::try_from(parse(&["--prometheus=x", "--from=now", "--to=now-1h"]))
            .unwrap_err();
        assert_eq!(e.to_string(), "the range now to now-1h is empty");
        let e = VerifyConfig::try_from(parse(&["--prometheus=x", "--from=yesterday"])).unwrap_err();
        let e = format!("{e:#}");
        assert!(
            e.starts_with("--from: \"yesterday\" is neither a Grafana time nor an RFC 3339 date"),
            "{e}"
        );
    }
}
