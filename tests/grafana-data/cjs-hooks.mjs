// Module hooks for interpolate.mjs. The ES module builds of @grafana/scenes and
// @grafana/prometheus import CommonJS packages by name (as bundlers allow and Node does
// not), so every package imported from a package is loaded from its CommonJS build, by
// a module that re-exports its names; @grafana/runtime, which needs a browser to load,
// is replaced by runtime-stand-in.mjs.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const PREFIX = 'cjs-package:';
const standIn = new URL('./runtime-stand-in.mjs', import.meta.url).href;

export async function resolve(specifier, context, next) {
  const fromPackage = context.parentURL?.includes('/node_modules/');
  if (fromPackage && specifier === '@grafana/runtime') return { url: standIn, shortCircuit: true };
  if (fromPackage && /^[@a-z]/.test(specifier) && !specifier.startsWith('node:')) {
    const path = createRequire(context.parentURL).resolve(specifier);
    return { url: PREFIX + path, shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith(PREFIX)) return next(url, context);
  const path = url.slice(PREFIX.length);
  const require = createRequire(pathToFileURL(path));
  const names = Object.keys(require(path)).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k) && k !== 'default');
  const source = [
    `import { createRequire } from 'node:module';`,
    `const m = createRequire(${JSON.stringify(pathToFileURL(path).href)})(${JSON.stringify(path)});`,
    `export default m;`,
    names.length ? `export const { ${names.join(', ')} } = m;` : '',
  ].join('\n');
  return { format: 'module', source, shortCircuit: true };
}
