/**
 * The dashboard JSON model that Grafana publishes as TypeScript in @grafana/schema
 * (the version pinned in package.json is the Grafana release compose.yaml runs),
 * in the form a dashboard file has. check.mjs type-checks each part of a dashboard
 * file as a declaration, `const part: Type = <that part's JSON>;`, so TypeScript's
 * excess-property check rejects any key the types do not declare, wherever the types
 * are closed.
 *
 * What is checked, and how strictly:
 * - The dashboard, its annotations, templating, time settings and links: the
 *   package's `Dashboard` (its own wrapper over the generated model), closed.
 * - Each panel: the generated `Panel` (gridPos, datasource, links, transformations,
 *   fieldConfig defaults: thresholds, mappings, colour, units...), closed, and its
 *   plugin's own types, picked by `type` from `Panels`, Grafana's core panel plugins:
 *   `options` against the plugin's `Options`, `fieldConfig.defaults.custom` against
 *   its `FieldConfig` where it publishes one (elsewhere `custom` stays the open
 *   object the model declares). A panel type not in `Panels` is an error.
 * - Rows: the generated `RowPanel` (collapsed, panels), closed; a row inside a row is
 *   an error.
 * - Panel targets: the package's `DataQuery` (refId, datasource, hide, queryType,
 *   key), with every other key open. @grafana/schema 13.x ships no Prometheus or
 *   Loki query types: the Prometheus one moved to @grafana/prometheus (which needs
 *   Node 24, and React, @grafana/ui and @grafana/data as peers), and the Loki one was
 *   last published in @grafana/schema 12.4. The repository's tests check a target's
 *   PromQL with promtool and its LogQL with a grammar instead.
 *
 * Required fields: the dashboard model's are required as the package declares them,
 * which is stricter than Grafana's loader (it fills in some, a missing `overrides`
 * list for one). A plugin's options and custom field config are checked with every
 * object property optional (see `Defaulted`): the generated plugin types also mark
 * the fields the plugin defaults as required.
 *
 * Enums: the generated types use TypeScript enums (`ThresholdsMode.Absolute`) where
 * the JSON holds their values (`"absolute"`). `Json<T>` maps every string enum to
 * the union of its values and leaves everything else as declared; numeric enums
 * already accept their members' numbers.
 */
import type * as schema from '@grafana/schema';
import type * as raw from '@grafana/schema/dist/esm/raw/dashboard/x/Dashboard_types.gen';

import type * as annolist from '@grafana/schema/dist/esm/raw/composable/annotationslist/panelcfg/x/AnnotationsListPanelCfg_types.gen';
import type * as barchart from '@grafana/schema/dist/esm/raw/composable/barchart/panelcfg/x/BarChartPanelCfg_types.gen';
import type * as bargauge from '@grafana/schema/dist/esm/raw/composable/bargauge/panelcfg/x/BarGaugePanelCfg_types.gen';
import type * as candlestick from '@grafana/schema/dist/esm/raw/composable/candlestick/panelcfg/x/CandlestickPanelCfg_types.gen';
import type * as canvas from '@grafana/schema/dist/esm/raw/composable/canvas/panelcfg/x/CanvasPanelCfg_types.gen';
import type * as dashlist from '@grafana/schema/dist/esm/raw/composable/dashboardlist/panelcfg/x/DashboardListPanelCfg_types.gen';
import type * as debug from '@grafana/schema/dist/esm/raw/composable/debug/panelcfg/x/DebugPanelCfg_types.gen';
import type * as gauge from '@grafana/schema/dist/esm/raw/composable/gauge/panelcfg/x/GaugePanelCfg_types.gen';
import type * as geomap from '@grafana/schema/dist/esm/raw/composable/geomap/panelcfg/x/GeomapPanelCfg_types.gen';
import type * as heatmap from '@grafana/schema/dist/esm/raw/composable/heatmap/panelcfg/x/HeatmapPanelCfg_types.gen';
import type * as histogram from '@grafana/schema/dist/esm/raw/composable/histogram/panelcfg/x/HistogramPanelCfg_types.gen';
import type * as logs from '@grafana/schema/dist/esm/raw/composable/logs/panelcfg/x/LogsPanelCfg_types.gen';
import type * as news from '@grafana/schema/dist/esm/raw/composable/news/panelcfg/x/NewsPanelCfg_types.gen';
import type * as nodegraph from '@grafana/schema/dist/esm/raw/composable/nodegraph/panelcfg/x/NodeGraphPanelCfg_types.gen';
import type * as piechart from '@grafana/schema/dist/esm/raw/composable/piechart/panelcfg/x/PieChartPanelCfg_types.gen';
import type * as stat from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type * as statetimeline from '@grafana/schema/dist/esm/raw/composable/statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen';
import type * as statushistory from '@grafana/schema/dist/esm/raw/composable/statushistory/panelcfg/x/StatusHistoryPanelCfg_types.gen';
import type * as table from '@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen';
import type * as text from '@grafana/schema/dist/esm/raw/composable/text/panelcfg/x/TextPanelCfg_types.gen';
import type * as timeseries from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';
import type * as trend from '@grafana/schema/dist/esm/raw/composable/trend/panelcfg/x/TrendPanelCfg_types.gen';
import type * as xychart from '@grafana/schema/dist/esm/raw/composable/xychart/panelcfg/x/XYChartPanelCfg_types.gen';

/**
 * `T` as JSON holds it: string enums become the union of their values. With
 * `Optional`, every object property is optional too, at every depth but inside arrays.
 */
type AsJson<T, Optional extends boolean> = unknown extends T
  ? T
  : T extends string
    ? `${T}`
    : T extends number | boolean | null | undefined
      ? T
      : T extends ReadonlyArray<infer U>
        ? Array<AsJson<U, false>>
        : T extends object
          ? Optional extends true
            ? { [K in keyof T]?: AsJson<T[K], true> }
            : { [K in keyof T]: AsJson<T[K], false> }
          : T;

/** `T` as JSON holds it. */
export type Json<T> = AsJson<T, false>;

/**
 * A plugin's options or custom field config as a file may hold them: as `Json<T>`,
 * but every object property optional, at every depth but inside arrays. The
 * generated plugin types mark a field required even when the plugin gives it a
 * default, and Grafana merges those defaults into the panel on load (objects deeply,
 * arrays whole), so only a field's type, and whether it exists, can be checked.
 */
export type Defaulted<T> = AsJson<T, true>;

/** A panel target: the common query fields checked, the datasource's own open. */
export type Target = Json<schema.DataQuery> & Record<string, unknown>;

/** A panel of plugin `Type`, with its options and custom field config. */
type PanelOf<Type extends string, Options, Custom = Record<string, unknown>> = Omit<
  Json<raw.Panel>,
  'type' | 'options' | 'fieldConfig' | 'targets'
> & {
  type: Type;
  options?: Defaulted<Options>;
  fieldConfig?: Omit<Json<raw.FieldConfigSource>, 'defaults'> & {
    defaults: Omit<Json<raw.FieldConfig>, 'custom'> & { custom?: Defaulted<Custom> };
  };
  targets?: Target[];
};

/** Grafana's core panel plugins by id, each with the types it publishes. */
export interface Panels {
  annolist: PanelOf<'annolist', annolist.Options>;
  barchart: PanelOf<'barchart', barchart.Options, barchart.FieldConfig>;
  bargauge: PanelOf<'bargauge', bargauge.Options>;
  candlestick: PanelOf<'candlestick', candlestick.Options, candlestick.FieldConfig>;
  canvas: PanelOf<'canvas', canvas.Options>;
  dashlist: PanelOf<'dashlist', dashlist.Options>;
  debug: PanelOf<'debug', debug.Options>;
  gauge: PanelOf<'gauge', gauge.Options>;
  geomap: PanelOf<'geomap', geomap.Options>;
  heatmap: PanelOf<'heatmap', heatmap.Options, heatmap.FieldConfig>;
  histogram: PanelOf<'histogram', histogram.Options, histogram.FieldConfig>;
  logs: PanelOf<'logs', logs.Options>;
  news: PanelOf<'news', news.Options>;
  nodeGraph: PanelOf<'nodeGraph', nodegraph.Options>;
  piechart: PanelOf<'piechart', piechart.Options, piechart.FieldConfig>;
  stat: PanelOf<'stat', stat.Options>;
  'state-timeline': PanelOf<'state-timeline', statetimeline.Options, statetimeline.FieldConfig>;
  'status-history': PanelOf<'status-history', statushistory.Options, statushistory.FieldConfig>;
  table: PanelOf<'table', table.Options, table.FieldConfig>;
  text: PanelOf<'text', text.Options>;
  timeseries: PanelOf<'timeseries', timeseries.Options, timeseries.FieldConfig>;
  trend: PanelOf<'trend', trend.Options, trend.FieldConfig>;
  xychart: PanelOf<'xychart', xychart.Options, xychart.FieldConfig>;
}

/** Any panel that is not a row. */
export type Panel = Panels[keyof Panels];

/**
 * The type a panel of plugin `K` is checked against. TypeScript does not narrow a
 * union this large by `type` reliably (a table's options were checked against every
 * plugin's), so check.mjs names each panel's own type. A type this check has no
 * types for gets the common panel model with `type` limited to the known ids: its
 * error says which ids those are.
 */
export type PanelOfType<K> = [K] extends [keyof Panels]
  ? Panels[K]
  : Omit<PanelOf<string, Record<string, unknown>>, 'type'> & { type: keyof Panels };

/** A row, holding its panels while collapsed. */
export type RowPanel = Omit<Json<raw.RowPanel>, 'panels'> & { panels: Panel[] };

/** A dashboard file. */
export type Dashboard = Omit<Json<schema.Dashboard>, 'panels'> & {
  panels?: Array<Panel | RowPanel>;
};
