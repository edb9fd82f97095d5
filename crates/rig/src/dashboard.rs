//! The Grafana dashboard JSON model, reduced to the fields the rig reads.
//!
//! Everything else in the file is ignored, so any classic (schemaVersion) dashboard
//! loads, including the `{"dashboard": …, "meta": …}` envelope that Grafana's
//! `/api/dashboards/uid/…` returns. [`Dashboard::panels`] walks rows the way Grafana
//! lays them out: a collapsed row holds its children in `row.panels`, an expanded
//! row's children follow it at the top level.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

/// A dashboard.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Dashboard {
    /// The dashboard's uid, which names it in reports.
    pub uid: Option<String>,
    /// The dashboard's title.
    pub title: Option<String>,
    /// The default time range, e.g. `now-30m` to `now`.
    pub time: Option<TimeSpan>,
    /// The dashboard variables.
    pub templating: Templating,
    /// The top-level panels, rows included, in file order.
    pub panels: Vec<Panel>,
}

/// A dashboard's default time range, as Grafana writes it (`now-30m`, an ISO date or
/// epoch milliseconds).
#[derive(Clone, Debug, Deserialize)]
pub struct TimeSpan {
    /// Start of the range.
    pub from: String,
    /// End of the range.
    pub to: String,
}

/// The `templating` object.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Templating {
    /// The variables, in order.
    pub list: Vec<Variable>,
}

/// One dashboard variable.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Variable {
    /// Its name, as used in `$name` and `${name}`.
    pub name: String,
    /// `datasource`, `constant`, `custom`, `query`, `interval`, `textbox`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Several values can be selected; they are joined as a regex alternation.
    pub multi: bool,
    /// An "All" option exists; values are then regex-escaped.
    pub include_all: bool,
    /// What "All" (`$__all`) stands for; when unset (or empty), every option's value,
    /// `.*` when there are none.
    pub all_value: Option<String>,
    /// For a datasource variable, the plugin type it lists (e.g. `prometheus`); for a
    /// constant, its value.
    pub query: Value,
    /// The selected value(s).
    pub current: Option<Current>,
    /// The options saved with the dashboard: what "All" stands for when `all_value` is
    /// unset (Grafana uses every option's value).
    pub options: Vec<VariableOption>,
}

/// A variable's selection.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Current {
    /// A string, or an array of strings for multi-value variables.
    pub value: Value,
    /// What the selection shows: a string, or an array of strings (`${var:text}`).
    pub text: Value,
}

/// One of a variable's options.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct VariableOption {
    /// What the option shows.
    pub text: Value,
    /// Its value.
    pub value: Value,
}

/// A variable's selection, or its text, as Grafana holds it: one string, or a list
/// (a multi-value variable's, even of one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// A single value.
    One(String),
    /// A list of values.
    Many(Vec<String>),
}

impl Selection {
    fn of(v: &Value) -> Option<Selection> {
        match v {
            Value::Null => None,
            Value::Array(a) => Some(Selection::Many(a.iter().map(scalar).collect())),
            v => Some(Selection::One(scalar(v))),
        }
    }

    /// Every value, in order.
    pub fn values(&self) -> Vec<String> {
        match self {
            Selection::One(v) => vec![v.clone()],
            Selection::Many(v) => v.clone(),
        }
    }
}

/// A JSON scalar as JavaScript's `String(v)` writes it.
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_owned(),
        Value::Array(a) => a.iter().map(scalar).collect::<Vec<_>>().join(","),
        Value::Object(_) => "[object Object]".to_owned(),
        v => v.to_string(),
    }
}

impl Variable {
    /// The selected values; empty when nothing is selected.
    pub fn values(&self) -> Vec<String> {
        let from_current = self.current.as_ref().map(|c| strings(&c.value));
        match from_current {
            Some(v) if !v.is_empty() => v,
            _ if self.kind == "constant" => strings(&self.query),
            _ => Vec::new(),
        }
    }

    /// The selection as Grafana holds it: the current value (a constant's is its
    /// query), an empty string or list when nothing is selected.
    pub fn selection(&self) -> Selection {
        let current = self.current.as_ref().and_then(|c| Selection::of(&c.value));
        match current {
            Some(s) => s,
            None if self.kind == "constant" => {
                Selection::of(&self.query).unwrap_or(Selection::One(String::new()))
            }
            None if self.multi => Selection::Many(Vec::new()),
            None => Selection::One(String::new()),
        }
    }

    /// The selection's text, the value where the dashboard saved none.
    pub fn text(&self) -> Selection {
        self.current
            .as_ref()
            .and_then(|c| Selection::of(&c.text))
            .unwrap_or_else(|| self.selection())
    }

    /// Whether "All" is selected: the value `$__all`, or a list starting with it.
    pub fn is_all(&self) -> bool {
        match self.selection() {
            Selection::One(v) => v == ALL,
            Selection::Many(v) => v.first().is_some_and(|v| v == ALL),
        }
    }

    /// Every option's value, in order.
    pub fn option_values(&self) -> Vec<String> {
        self.options.iter().map(|o| scalar(&o.value)).collect()
    }
}

/// The value Grafana stores for the "All" option.
pub const ALL: &str = "$__all";

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) if !s.is_empty() => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        Value::Number(n) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

/// A panel or a row.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Panel {
    /// The panel's id, unique within the dashboard.
    pub id: Option<u64>,
    /// The plugin: `row`, `stat`, `timeseries`, `table`, `logs`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The title shown on the panel.
    pub title: String,
    /// Where the panel sits on Grafana's 24-column grid; `None` when the file has
    /// no usable `gridPos` (a number that is not one, a missing field is 0).
    #[serde(deserialize_with = "grid_pos")]
    pub grid_pos: Option<GridPos>,
    /// The panel's datasource, which targets without their own use.
    pub datasource: Option<DataSourceRef>,
    /// The queries.
    pub targets: Vec<Target>,
    /// Display settings shared by every field.
    pub field_config: FieldConfig,
    /// Plugin options; only `reduceOptions` is read.
    pub options: PanelOptions,
    /// Points per series Grafana asks for; the panel's width in pixels when unset.
    pub max_data_points: Option<f64>,
    /// The panel's minimum query interval (Query options → Min interval).
    pub interval: Option<String>,
    /// For rows: whether the row is collapsed, and so holds its children in `panels`.
    pub collapsed: bool,
    /// For collapsed rows: the row's children.
    pub panels: Vec<Panel>,
    /// Set on library panels, whose queries live outside the dashboard.
    pub library_panel: Option<Value>,
}

/// `gridPos`: a panel's place on Grafana's grid, 24 columns wide, in grid units
/// (a row unit is 30 px high).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct GridPos {
    /// The first column, 0 to 23.
    pub x: u32,
    /// The first grid row.
    pub y: u32,
    /// Columns wide.
    pub w: u32,
    /// Grid rows high.
    pub h: u32,
}

/// A `gridPos` read leniently: whole grid units, rounded; none for anything that is
/// not an object, so an odd layout never keeps a dashboard from loading.
fn grid_pos<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<GridPos>, D::Error> {
    let value = Value::deserialize(d)?;
    let Value::Object(o) = value else {
        return Ok(None);
    };
    let unit = |k: &str| {
        o.get(k)
            .and_then(Value::as_f64)
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map_or(0, |v| v.round().min(f64::from(u16::MAX)) as u32)
    };
    Ok(Some(GridPos {
        x: unit("x"),
        y: unit("y"),
        w: unit("w"),
        h: unit("h"),
    }))
}

/// A reference to a datasource; Grafana also accepts a bare name or uid string.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "RawDataSource")]
pub struct DataSourceRef {
    /// The plugin type, e.g. `prometheus` or `loki`.
    pub kind: Option<String>,
    /// The datasource uid, or a variable such as `${datasource}`.
    pub uid: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawDataSource {
    Ref {
        #[serde(rename = "type", default)]
        kind: Option<String>,
        #[serde(default)]
        uid: Option<String>,
    },
    Name(String),
}

impl From<RawDataSource> for DataSourceRef {
    fn from(raw: RawDataSource) -> Self {
        match raw {
            RawDataSource::Ref { kind, uid } => DataSourceRef { kind, uid },
            RawDataSource::Name(name) => DataSourceRef {
                kind: None,
                uid: Some(name),
            },
        }
    }
}

impl fmt::Display for DataSourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind.as_deref().unwrap_or("default");
        match &self.uid {
            Some(uid) => write!(f, "{kind} uid '{uid}'"),
            None => write!(f, "{kind} (no uid)"),
        }
    }
}

/// One query of a panel.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Target {
    /// The query's letter, `A`, `B`, …
    pub ref_id: String,
    /// PromQL or LogQL.
    pub expr: Option<String>,
    /// The series name template, e.g. `{{pod}}`; `__auto` or empty for the label set.
    pub legend_format: Option<String>,
    /// Run as an instant query.
    pub instant: Option<bool>,
    /// Run as a range query (also the default when neither is set).
    pub range: Option<bool>,
    /// `time_series`, `table` or `heatmap`.
    pub format: Option<String>,
    /// Hidden targets are not run.
    pub hide: Option<bool>,
    /// The query's minimum step (Prometheus "Min step").
    pub interval: Option<String>,
    /// Overrides the panel's datasource.
    pub datasource: Option<DataSourceRef>,
    /// Loki: `range` or `instant`.
    pub query_type: Option<String>,
    /// Loki: line limit.
    pub max_lines: Option<u64>,
    /// Loki: `backward` or `forward`.
    pub direction: Option<String>,
}

/// `fieldConfig`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct FieldConfig {
    /// Settings for every field; per-field `overrides` are not read.
    pub defaults: FieldDefaults,
}

/// `fieldConfig.defaults`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct FieldDefaults {
    /// Threshold steps that colour values.
    pub thresholds: Option<Thresholds>,
    /// The scale's minimum, for percentage thresholds.
    pub min: Option<f64>,
    /// The scale's maximum, for percentage thresholds.
    pub max: Option<f64>,
    /// Grafana's unit id, e.g. `s`, `percent`, `reqps`, `suffix:tok/s`.
    pub unit: Option<String>,
    /// Decimals to display.
    pub decimals: Option<f64>,
    /// The plugin's own field settings; only `thresholdsStyle` is read.
    pub custom: Option<Custom>,
}

/// `fieldConfig.defaults.custom`, as far as the rig reads it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Custom {
    /// How a time series shows its thresholds.
    pub thresholds_style: Option<ThresholdsStyle>,
}

/// `fieldConfig.defaults.custom.thresholdsStyle`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ThresholdsStyle {
    /// `off`, `line`, `dashed`, `area`, `line+area` or `dashed+area`.
    pub mode: String,
}

/// `fieldConfig.defaults.thresholds`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// How step values are compared.
    pub mode: ThresholdMode,
    /// The steps, lowest first; the first is the base step.
    pub steps: Vec<Step>,
}

/// Whether step values are values or percentages of the min..max scale.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdMode {
    /// Steps compare with the value itself.
    #[default]
    Absolute,
    /// Steps (0-100) compare with the value's position between min and max.
    Percentage,
}

/// One threshold step.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Step {
    /// A colour name (`green`) or CSS colour.
    pub color: String,
    /// Where the step starts; `null` (the base step) is -Infinity.
    pub value: Option<f64>,
}

/// `options`, as far as the rig reads it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PanelOptions {
    /// How a stat, gauge or bar gauge reduces each series.
    pub reduce_options: Option<ReduceOptions>,
}

/// `options.reduceOptions`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReduceOptions {
    /// Reducer ids; the first is shown.
    pub calcs: Vec<String>,
    /// A field regex; empty for every numeric field.
    pub fields: Option<String>,
    /// Show every row instead of a reduction.
    pub values: Option<bool>,
}

impl Panel {
    /// Whether this is a row.
    pub fn is_row(&self) -> bool {
        self.kind == "row"
    }

    /// The reducer a stat shows: `calcs[0]`, `last` when `calcs` is empty, and the
    /// editor's default `lastNotNull` when there are no reduce options.
    pub fn reducer(&self) -> &str {
        match &self.options.reduce_options {
            Some(r) => r.calcs.first().map_or("last", String::as_str),
            None => "lastNotNull",
        }
    }

    /// `panel 3 "Title"`, for messages.
    pub fn label(&self) -> String {
        match self.id {
            Some(id) => format!("panel {id} {:?}", self.title),
            None => format!("panel {:?}", self.title),
        }
    }
}

/// A panel found by [`Dashboard::panels`], with the row it sits in.
#[derive(Clone, Copy, Debug)]
pub struct Placed<'a> {
    /// The panel.
    pub panel: &'a Panel,
    /// The title of its row, if any.
    pub row: Option<&'a str>,
}

impl Dashboard {
    /// Every panel that is not a row, in display order; the index in this list is the
    /// panel's position used by the rest of the rig.
    pub fn panels(&self) -> Vec<Placed<'_>> {
        let mut out = Vec::new();
        let mut row = None;
        for p in &self.panels {
            if p.is_row() {
                row = Some(p.title.as_str());
                // An expanded row keeps `panels: []`; Grafana shows nothing from it.
                if p.collapsed {
                    out.extend(
                        p.panels
                            .iter()
                            .filter(|c| !c.is_row())
                            .map(|c| Placed { panel: c, row }),
                    );
                }
            } else {
                out.push(Placed { panel: p, row });
            }
        }
        out
    }

    /// The dashboard's name in reports: its uid, else its title.
    pub fn name(&self) -> &str {
        self.uid
            .as_deref()
            .or(self.title.as_deref())
            .unwrap_or("dashboard")
    }

    /// The variable called `name`.
    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.templating.list.iter().find(|v| v.name == name)
    }
}

/// A dashboard file that is not JSON or does not have the dashboard's shape.
#[derive(Debug)]
pub struct DashboardError(serde_json::Error);

impl fmt::Display for DashboardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a Grafana dashboard: {}", self.0)
    }
}

impl std::error::Error for DashboardError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Reads a dashboard from JSON text: the dashboard itself, or Grafana's API envelope
/// `{"dashboard": {...}, "meta": {...}}`.
pub fn parse(text: &str) -> Result<Dashboard, DashboardError> {
    let mut value: Value = serde_json::from_str(text).map_err(DashboardError)?;
    if value.get("panels").is_none()
        && let Some(inner) = value.get_mut("dashboard").filter(|d| d.is_object())
    {
        value = inner.take();
    }
    serde_json::from_value(value).map_err(DashboardError)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROWS: &str = r#"{
      "uid": "d", "time": {"from": "now-30m", "to": "now"},
      "panels": [
        {"type": "row", "id": 1, "title": "Open", "collapsed": false, "panels": []},
        {"type": "stat", "id": 2, "title": "A"},
        {"type": "timeseries", "id": 3, "title": "B"},
        {"type": "row", "id": 4, "title": "Shut", "collapsed": true, "panels": [
          {"type": "table", "id": 5, "title": "C"},
          {"type": "logs", "id": 6, "title": "D"}
        ]},
        {"type": "row", "id": 7, "title": "Empty", "collapsed": false, "panels": []}
      ]}"#;

    #[test]
    fn walks_expanded_and_collapsed_rows() {
        let d = parse(ROWS).unwrap();
        let seen: Vec<_> = d
            .panels()
            .iter()
            .map(|p| (p.panel.id.unwrap(), p.row.unwrap()))
            .collect();
        assert_eq!(
            seen,
            [(2, "Open"), (3, "Open"), (5, "Shut"), (6, "Shut")],
            "rows themselves are not panels; children keep their row"
        );
    }

    #[test]
    fn grid_positions_and_threshold_styles() {
        let d = parse(
            r#"{"panels": [
              {"type": "timeseries", "gridPos": {"x": 8, "y": 6, "w": 8, "h": 7.6},
               "fieldConfig": {"defaults": {"custom": {"thresholdsStyle": {"mode": "dashed"}, "lineWidth": 1}}}},
              {"type": "stat", "gridPos": {"x": -1, "w": "wide"}},
              {"type": "stat", "gridPos": null, "fieldConfig": {"defaults": {"custom": null}}}]}"#,
        )
        .unwrap();
        let p = d.panels();
        assert_eq!(
            p[0].panel.grid_pos,
            Some(GridPos {
                x: 8,
                y: 6,
                w: 8,
                h: 8
            })
        );
        let style = p[0].panel.field_config.defaults.custom.as_ref();
        assert_eq!(
            style
                .and_then(|c| c.thresholds_style.as_ref())
                .map(|s| s.mode.as_str()),
            Some("dashed")
        );
        assert_eq!(p[1].panel.grid_pos, Some(GridPos::default()));
        assert_eq!(p[2].panel.grid_pos, None);
        assert!(p[2].panel.field_config.defaults.custom.is_none());
    }

    #[test]
    fn panels_before_any_row_have_none() {
        let d = parse(r#"{"panels": [{"type": "stat", "id": 9}]}"#).unwrap();
        assert_eq!(d.panels()[0].row, None);
    }

    #[test]
    fn unwraps_the_api_envelope() {
        let d = parse(&format!(r#"{{"meta": {{}}, "dashboard": {ROWS}}}"#)).unwrap();
        assert_eq!(d.uid.as_deref(), Some("d"));
        assert_eq!(d.panels().len(), 4);
    }

    #[test]
    fn datasource_as_object_string_or_null() {
        let d = parse(
            r#"{"panels": [
              {"type": "stat", "datasource": {"type": "prometheus", "uid": "${ds}"}},
              {"type": "stat", "datasource": "Prometheus"},
              {"type": "stat", "datasource": null}]}"#,
        )
        .unwrap();
        let ds: Vec<_> = d
            .panels()
            .iter()
            .map(|p| p.panel.datasource.clone())
            .collect();
        assert_eq!(ds[0].as_ref().unwrap().uid.as_deref(), Some("${ds}"));
        assert_eq!(ds[0].as_ref().unwrap().kind.as_deref(), Some("prometheus"));
        assert_eq!(ds[1].as_ref().unwrap().uid.as_deref(), Some("Prometheus"));
        assert_eq!(ds[2], None);
    }

    #[test]
    fn thresholds_and_reducer() {
        let d = parse(
            r#"{"panels": [{"type": "stat",
              "fieldConfig": {"defaults": {"thresholds": {"mode": "percentage",
                "steps": [{"color": "green", "value": null}, {"color": "red"}, {"color": "blue", "value": 80}]}}},
              "options": {"reduceOptions": {"calcs": ["mean"], "fields": "", "values": false}}},
              {"type": "stat", "options": {"reduceOptions": {"calcs": []}}},
              {"type": "stat"}]}"#,
        )
        .unwrap();
        let p = d.panels();
        let t = p[0]
            .panel
            .field_config
            .defaults
            .thresholds
            .as_ref()
            .unwrap();
        assert_eq!(t.mode, ThresholdMode::Percentage);
        assert_eq!(t.steps[1].value, None, "a step without `value` is accepted");
        assert_eq!(t.steps[2].value, Some(80.0));
        assert_eq!(p[0].panel.reducer(), "mean");
        assert_eq!(p[1].panel.reducer(), "last");
        assert_eq!(p[2].panel.reducer(), "lastNotNull");
    }

    #[test]
    fn variable_values() {
        let d = parse(
            r#"{"templating": {"list": [
              {"name": "ds", "type": "datasource", "query": "prometheus", "current": {"value": "prom"}},
              {"name": "c", "type": "constant", "query": "k"},
              {"name": "m", "type": "custom", "current": {"value": ["a", "b"]}}]}}"#,
        )
        .unwrap();
        assert_eq!(d.variable("ds").unwrap().values(), ["prom"]);
        assert_eq!(d.variable("c").unwrap().values(), ["k"]);
        assert_eq!(d.variable("m").unwrap().values(), ["a", "b"]);
        assert!(d.variable("x").is_none());
    }

    #[test]
    fn reports_bad_json() {
        let e = parse("{").unwrap_err().to_string();
        assert!(e.starts_with("not a Grafana dashboard: "), "{e}");
        let e = parse(r#"{"panels": 3}"#).unwrap_err().to_string();
        assert!(e.contains("invalid type"), "{e}");
    }

    #[test]
    fn reads_the_shipped_dashboard() {
        let d = parse(include_str!(
            "../../../dashboard/llm-platform-overview.json"
        ))
        .unwrap();
        let panels = d.panels();
        assert!(panels.len() > 30, "{}", panels.len());
        assert!(panels.iter().all(|p| !p.panel.is_row()));
        assert!(panels.iter().any(|p| p.panel.kind == "logs"));
    }
}
