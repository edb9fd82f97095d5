// Asks Grafana's own frontend code, npm's @grafana/data at the version package.json
// pins, what a panel shows, for the rig's differential tests
// (tests/integration/grafana_data.rs):
//
//   node answer.mjs < cases.json > answers.json
//
// stdin is {"kind": K, "cases": [...]}; stdout is one answer per case, in order.
// Numbers that JSON cannot hold travel as strings: "NaN", "+Inf", "-Inf"; answers
// write every number as a string (JavaScript's shortest digits).
//
// - "reduce": {reducer, values} → {value}: reduceField({field, reducers: [reducer]})
//   on a number field whose nulls are JSON nulls, as a stat panel reduces a series.
// - "active": {value, steps} → {color}: getActiveThreshold(value, steps) as it is.
// - "color": {mode, steps, min, max, series, value} → {color, percent}: the series as
//   frames through applyFieldOverrides (the panel's field config defaults: thresholds,
//   min, max; its base step, validation and panel-wide range), then the first field's
//   scale for `value` as its display processor takes it (a null value as -Infinity).
//   `color` is the step's colour name; the display processor's colour must be that
//   name's theme colour, else the answer is {error}.
// - "display": {unit, decimals, value} → {text}: formattedValueToString of
//   getDisplayProcessor({field: {type: number, config: {unit, decimals}}, theme})(value).
// - "theme": {name} → {css}: createTheme().visualization.getColorByName(name), the
//   dark theme's CSS for a colour name; {palette: i} → {name}: the i-th colour of
//   visualization.palette; {path: "background.primary"} → {css}: theme.colors at path.
// - "panel": {fieldConfig, calcs, series: [{name, points: [[seconds, value]]}]} →
//   {values: [{value, text, color, hex}]}: what a stat, gauge or bar gauge panel shows,
//   as its panel code computes it: the series as frames through applyFieldOverrides
//   with the panel's fieldConfig, then getFieldDisplayValues with reduceOptions {calcs,
//   values: false}; one value per series, `value` the reduced number, `text`
//   formattedValueToString of its display, `hex` its display colour and `color` the
//   name of the threshold step whose theme colour that is (null if none is).
//
// Exit status: 0 with answers, 2 when it cannot run (packages missing or not the pinned
// versions: run `npm ci` here).

import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { requirePinned } from '../pinned.mjs';

const here = dirname(fileURLToPath(import.meta.url));

requirePinned(here);

// Node 20 has no `navigator`; @grafana/data's local date formats read its language
// when the value formats are first built. The units checked here do not depend on it.
globalThis.navigator ??= { language: 'en-US', languages: ['en-US'] };
// Its ES module build is for bundlers (it imports CommonJS packages by name); Node
// loads the CommonJS build.
const g = createRequire(import.meta.url)('@grafana/data');

const decode = (v) => (v === 'NaN' ? NaN : v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : v);
const encode = (v) => {
  if (typeof v !== 'number') return v === undefined ? null : v;
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  // As text, which the reader parses exactly (not every JSON parser does).
  return String(v);
};
const steps = (list) => list.map((s) => ({ value: decode(s.value), color: s.color }));

const theme = g.createTheme();

// The field config options applyFieldOverrides copies from the panel's defaults. The
// app registers its standard options (with their editors) at start-up; these are the
// ones the checked values depend on, each taken as it is (a panel's other field
// options change nothing a stat shows).
const registry = new g.FieldConfigOptionsRegistry();
for (const id of ['min', 'max', 'unit', 'decimals', 'thresholds', 'color', 'mappings', 'noValue']) {
  registry.register({ id, path: id, name: id, process: (v) => v, shouldApply: () => true });
}

function reduce({ reducer, values }) {
  const field = { name: 'Value', type: g.FieldType.number, config: {}, values: values.map(decode) };
  return { value: encode(g.reduceField({ field, reducers: [reducer] })[reducer]) };
}

function active({ value, steps: list }) {
  return { color: g.getActiveThreshold(decode(value), steps(list)).color };
}

function color({ mode, steps: list, min, max, series, value }) {
  const data = series.map((values) =>
    g.toDataFrame({
      fields: [
        { name: 'Time', type: g.FieldType.time, values: values.map((_, i) => i * 1000) },
        { name: 'Value', type: g.FieldType.number, values: values.map(decode) },
      ],
    })
  );
  const defaults = { thresholds: { mode, steps: steps(list) } };
  if (min !== null) defaults.min = decode(min);
  if (max !== null) defaults.max = decode(max);
  const frames = g.applyFieldOverrides({
    data,
    fieldConfig: { defaults, overrides: [] },
    theme,
    replaceVariables: (s) => s,
    fieldConfigRegistry: registry,
  });
  const field = frames[0].fields[1];
  const v = decode(value);
  const display = field.display(v);
  // What the display processor hands its scale: the number, or -Infinity for null/NaN.
  const numeric = v === null ? NaN : v;
  const scaled = g.getScaleCalculator(field, theme)(Number.isNaN(numeric) ? -Infinity : numeric);
  const name = scaled.threshold.color;
  if (display.color !== theme.visualization.getColorByName(name)) {
    return { error: `display colour ${display.color} is not step ${name}'s ${theme.visualization.getColorByName(name)}` };
  }
  return { color: name, percent: encode(scaled.percent) };
}

const processors = new Map();
function display({ unit, decimals, value }) {
  const key = JSON.stringify([unit, decimals]);
  if (!processors.has(key)) {
    const config = {};
    if (unit !== null) config.unit = unit;
    if (decimals !== null) config.decimals = decimals;
    processors.set(key, g.getDisplayProcessor({ field: { type: g.FieldType.number, config }, theme }));
  }
  return { text: g.formattedValueToString(processors.get(key)(decode(value))) };
}

function themeColor({ name, palette, path }) {
  if (name !== undefined) return { css: theme.visualization.getColorByName(name) };
  if (palette !== undefined) return { name: theme.visualization.palette[palette] ?? null };
  return { css: path.split('.').reduce((o, k) => (o == null ? o : o[k]), theme.colors) ?? null };
}

function panel({ fieldConfig, calcs, series }) {
  const data = series.map(({ name, points }) =>
    g.toDataFrame({
      name,
      fields: [
        { name: 'Time', type: g.FieldType.time, values: points.map(([t]) => t * 1000) },
        { name, type: g.FieldType.number, values: points.map(([, v]) => decode(v)) },
      ],
    })
  );
  const config = { defaults: fieldConfig.defaults ?? {}, overrides: fieldConfig.overrides ?? [] };
  const replaceVariables = (s) => s;
  const frames = g.applyFieldOverrides({ data, fieldConfig: config, theme, replaceVariables, fieldConfigRegistry: registry });
  const shown = g.getFieldDisplayValues({
    fieldConfig: config,
    reduceOptions: { calcs, values: false },
    replaceVariables,
    theme,
    data: frames,
    timeZone: 'utc',
  });
  const names = (config.defaults.thresholds?.steps ?? []).map((s) => s.color);
  return {
    values: shown.map(({ display }) => ({
      value: encode(display.numeric),
      text: g.formattedValueToString(display),
      hex: display.color ?? null,
      color: names.find((n) => theme.visualization.getColorByName(n) === display.color) ?? null,
    })),
  };
}

const kinds = { reduce, active, color, display, theme: themeColor, panel };
const input = JSON.parse(readFileSync(0, 'utf8'));
const answer = kinds[input.kind];
if (!answer) {
  console.error(`unknown kind ${JSON.stringify(input.kind)} (known: ${Object.keys(kinds).join(', ')})`);
  process.exit(1);
}
process.stdout.write(JSON.stringify(input.cases.map(answer)));
