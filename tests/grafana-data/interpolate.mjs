// Interpolates template variables into a query as a Grafana 13 dashboard does for a
// Prometheus target, with Grafana's own code, for the rig's differential tests
// (tests/integration/interpolation.rs):
//
//   node interpolate.mjs < cases.json > answers.json
//
// stdin is an array of cases {expr, variables: [{name, multi, includeAll, allValue,
// options: [{text, value}], current: {text, value}}]}; stdout is one answer per case,
// in order: {text, errors}, `errors` being what Grafana logged (an unknown format).
//
// Grafana's path, each step its code at the version package.json pins:
// - @grafana/scenes' sceneInterpolator finds `$var`, `${var}`, `${var:format}` and
//   `[[var]]` (its VARIABLE_REGEX), looks each name up (lookupVariable), takes the
//   variable's value (MultiValueVariable.getValue: the selection, every option's value
//   for "All", or the custom all value) and formats it: with the format the reference
//   names (formatRegistry), else with the datasource's;
// - the Prometheus datasource's format is @grafana/prometheus' interpolateQueryExpr,
//   as its applyTemplateVariables passes it to templateSrv.replace.
// A dashboard's custom and query variables are MultiValueVariables that differ only
// in where their options come from; here the options are given, so the variable is a
// MultiValueVariable whose options are the case's.
//
// The packages' ES module builds are loaded file by file, through cjs-hooks.mjs (which
// loads the packages they import from their CommonJS builds, and @grafana/runtime's
// stand-in): the packages' entry points import @grafana/ui, which needs a browser.
//
// Exit status: 0 with answers, 2 when it cannot run (packages missing or not the pinned
// versions: run `npm ci` here).

import { readFileSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { requirePinned } from '../pinned.mjs';

const here = dirname(fileURLToPath(import.meta.url));

requirePinned(here);

// @grafana/data reads the browser's language when its formats are first built.
globalThis.navigator ??= { language: 'en-US', languages: ['en-US'] };
register('./cjs-hooks.mjs', import.meta.url);
const dist = (pkg, file) => import(pathToFileURL(join(here, 'node_modules', pkg, 'dist/esm', file)).href);
const { sceneInterpolator } = await dist('@grafana/scenes', 'variables/interpolation/sceneInterpolator.js');
const { MultiValueVariable } = await dist('@grafana/scenes', 'variables/variants/MultiValueVariable.js');
const { interpolateQueryExpr } = await dist('@grafana/prometheus', 'escaping.mjs');
const { of } = await import('rxjs');

class DashboardVariable extends MultiValueVariable {
  getValueOptions() {
    return of(this.state.options);
  }
}

function interpolate({ expr, variables }) {
  const byName = new Map(
    variables.map((v) => [
      v.name,
      new DashboardVariable({
        name: v.name,
        type: 'custom',
        isMulti: v.multi,
        includeAll: v.includeAll,
        allValue: v.allValue ?? undefined,
        options: v.options.map((o) => ({ label: o.text, value: o.value })),
        value: v.current.value,
        text: v.current.text,
      }),
    ])
  );
  // The scene the variables are looked up in: a dashboard's variable set.
  const scene = { state: { $variables: { getByName: (name) => byName.get(name) } } };
  const errors = [];
  const consoleError = console.error;
  console.error = (...args) => errors.push(args.join(' '));
  try {
    return { text: sceneInterpolator(scene, expr, {}, interpolateQueryExpr), errors };
  } finally {
    console.error = consoleError;
  }
}

const input = JSON.parse(readFileSync(0, 'utf8'));
if (!Array.isArray(input)) {
  console.error('stdin must be a JSON array of cases');
  process.exit(1);
}
process.stdout.write(JSON.stringify(input.map(interpolate)));
