// Parses LogQL with Grafana's own grammar, npm's @grafana/lezer-logql at the version
// package.json pins (the parser Grafana's Loki query editor marks errors with), for
// the dashboard tests (tests/integration/dashboard.rs):
//
//   node logql.mjs < expressions.json > parses.json
//
// stdin is a JSON array of expressions; stdout is one answer per expression, in order:
// {errors: [{at, near}], tree}, where each error is an error node (⚠) of the syntax
// tree, `at` its offset in characters (code points) from the expression's start and
// `near` the text from there (up to 20 characters); `tree` is the whole tree as lezer
// prints it.
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

const { parser } = createRequire(import.meta.url)('@grafana/lezer-logql');

/** Offsets in code points, where lezer counts UTF-16 units. */
const chars = (s) => [...s].length;

function parse(expr) {
  if (typeof expr !== 'string') return { error: `not a string: ${JSON.stringify(expr)}` };
  const tree = parser.parse(expr);
  const errors = [];
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) {
        const at = chars(expr.slice(0, node.from));
        errors.push({ at, near: [...expr.slice(node.from)].slice(0, 20).join('') });
      }
    },
  });
  return { errors, tree: tree.toString() };
}

const input = JSON.parse(readFileSync(0, 'utf8'));
if (!Array.isArray(input)) {
  console.error('stdin must be a JSON array of LogQL expressions');
  process.exit(1);
}
process.stdout.write(JSON.stringify(input.map(parse)));
