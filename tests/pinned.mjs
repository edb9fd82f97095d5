// Shared by the Node checks under tests/ (grafana-schema, grafana-data): each runs
// only on the npm packages its package.json pins, as `npm ci` installs them there.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Exits with status 2, saying why, when the check in `dir` cannot run. */
export function cannotRun(dir, why) {
  console.error(`cannot run: ${why}; run \`npm ci\` in ${dir}`);
  process.exit(2);
}

/**
 * Exits with status 2 unless every devDependency of `dir`'s package.json is installed
 * in `dir`/node_modules at the pinned version: another node_modules would answer for
 * another Grafana.
 */
export function requirePinned(dir) {
  const pinned = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).devDependencies;
  for (const [name, version] of Object.entries(pinned)) {
    let installed;
    try {
      installed = JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      cannotRun(dir, `${name} is not installed`);
    }
    if (installed !== version) cannotRun(dir, `${name} ${installed} is installed, ${version} is pinned`);
  }
}
