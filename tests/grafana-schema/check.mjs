// Type-checks Grafana dashboard files against the dashboard model in @grafana/schema
// (see model.ts for what is checked, and how strictly).
//
//   node check.mjs [--json] FILE...
//
// Each file becomes TypeScript in memory, one declaration per part so that each panel
// is checked against its own plugin's types:
//
//   const dashboard: Dashboard = {...the file, panels: []};
//   const panel_0: RowPanel = {...panels[0], panels: []};
//   const panel_0_1: PanelOfType<"table"> = {...panels[0].panels[1]};
//
// and every error is printed with the panel's id and title and the JSON path where
// TypeScript reports it. Exit status: 0 without errors, 1 with errors, 2 when the
// check cannot run (packages missing or not the pinned versions: run `npm ci` here).
// With --json, stdout is one JSON array of {file, errors: [string]}.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { cannotRun as stop, requirePinned } from '../pinned.mjs';

const here = dirname(fileURLToPath(import.meta.url));

const cannotRun = (why) => stop(here, why);

requirePinned(here);
const { default: ts } = await import('typescript');

const args = process.argv.slice(2);
const json = args[0] === '--json';
const files = json ? args.slice(1) : args;
if (files.length === 0) {
  console.error('usage: node check.mjs [--json] FILE...');
  process.exit(2);
}

/** TypeScript for one dashboard, and the JSON path and panel of each declaration. */
function source(dashboard) {
  const parts = [];
  // `wrapped`: the value is declared as `[value]`, its path one `[0]` shorter.
  const declare = (type, value, path, panel, wrapped = false) => {
    parts.push({ name: `part_${parts.length}`, type, value: wrapped ? [value] : value, path, panel, wrapped });
  };
  const panelType = (p) =>
    typeof p.type === 'string' ? `PanelOfType<${JSON.stringify(p.type)}>` : 'PanelOfType<null>';
  const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
  const top = isObject(dashboard) && Array.isArray(dashboard.panels) ? dashboard.panels : [];
  declare('Dashboard', top.length ? { ...dashboard, panels: [] } : dashboard, '', null);
  top.forEach((p, i) => {
    const path = `panels[${i}]`;
    if (!isObject(p)) return declare('Dashboard["panels"]', p, path, null, true);
    if (p.type !== 'row') return declare(panelType(p), p, path, p);
    const children = Array.isArray(p.panels) ? p.panels : [];
    declare('RowPanel', children.length ? { ...p, panels: [] } : p, path, p);
    children.forEach((c, j) => {
      if (!isObject(c)) return declare('RowPanel["panels"]', c, `${path}.panels[${j}]`, p, true);
      declare(panelType(c), c, `${path}.panels[${j}]`, c);
    });
  });
  const text =
    "import type { Dashboard, RowPanel, PanelOfType } from './model.js';\n" +
    parts.map((d) => `export const ${d.name}: ${d.type} = ${JSON.stringify(d.value, null, 1)};\n`).join('');
  return { text, parts };
}

/** The JSON path of the node at `pos` below the declaration's initializer. */
function pathAt(sourceFile, init, pos) {
  let node = init;
  const chain = [];
  for (;;) {
    const child = node.getChildren(sourceFile).find((c) => c.getStart(sourceFile) <= pos && pos < c.getEnd());
    if (!child) break;
    chain.push(child);
    node = child;
  }
  let path = '';
  for (let i = 0; i < chain.length; i++) {
    const n = chain[i];
    if (ts.isPropertyAssignment(n)) {
      const key = n.name.text;
      path += /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
    } else if (ts.isArrayLiteralExpression(n)) {
      const element = chain.slice(i + 1).find((c) => n.elements.includes(c));
      if (element) path += `[${n.elements.indexOf(element)}]`;
    }
  }
  return path;
}

function label(panel) {
  if (!panel) return 'dashboard';
  return `panel ${JSON.stringify(panel.id ?? null)} ${JSON.stringify(panel.title ?? '')}`;
}

/** A diagnostic's message on one line: the first and the innermost reason. */
function message(d) {
  const lines = ts.flattenDiagnosticMessageText(d.messageText, '\n').split('\n').map((l) => l.trim());
  return lines.length > 1 ? `${lines[0]} (${lines[lines.length - 1]})` : lines[0];
}

const config = ts.readConfigFile(join(here, 'tsconfig.json'), ts.sys.readFile);
const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, here);
const results = files.map((file) => ({ file, errors: [] }));
const virtual = new Map();
results.forEach((r, i) => {
  let dashboard;
  try {
    dashboard = JSON.parse(readFileSync(r.file, 'utf8'));
  } catch (e) {
    r.errors.push(`not a JSON file: ${e.message}`);
    return;
  }
  r.name = join(here, `.check-${i}.ts`);
  r.generated = source(dashboard);
  virtual.set(r.name, r.generated.text);
});

const host = ts.createCompilerHost(options);
const getSourceFile = host.getSourceFile;
host.getSourceFile = (name, language, ...rest) =>
  virtual.has(name) ? ts.createSourceFile(name, virtual.get(name), language, true) : getSourceFile(name, language, ...rest);
const fileExists = host.fileExists;
host.fileExists = (name) => virtual.has(name) || fileExists(name);
const readFile = host.readFile;
host.readFile = (name) => virtual.get(name) ?? readFile(name);

const program = ts.createProgram({
  rootNames: [join(here, 'model.ts'), ...virtual.keys()],
  options,
  host,
});
const setup = [...program.getOptionsDiagnostics(), ...program.getSemanticDiagnostics(program.getSourceFile(join(here, 'model.ts')))];
if (setup.length) cannotRun(`model.ts does not compile: ${setup.map(message).join('; ')}`);

for (const r of results.filter((r) => r.name)) {
  const sf = program.getSourceFile(r.name);
  const declarations = sf.statements.filter(ts.isVariableStatement);
  for (const d of [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]) {
    const at = declarations.findIndex((s) => s.getStart(sf) <= d.start && d.start < s.getEnd());
    const part = r.generated.parts[at];
    if (!part) {
      r.errors.push(message(d));
      continue;
    }
    const init = declarations[at].declarationList.declarations[0].initializer;
    let inner = d.start >= init.getStart(sf) ? pathAt(sf, init, d.start) : '';
    if (part.wrapped) inner = inner.replace(/^\[0\]/, '');
    const path = `${part.path}${inner}`.replace(/^\./, '') || '(root)';
    r.errors.push(`${label(part.panel)} at ${path}: ${message(d)}`);
  }
}

if (json) {
  console.log(JSON.stringify(results.map(({ file, errors }) => ({ file, errors }))));
} else {
  for (const { file, errors } of results) for (const e of errors) console.log(`${file}: ${e}`);
}
process.exit(results.some((r) => r.errors.length) ? 1 : 0);
