// One answer to "is dist/ current?" for every script that runs the compiled package (the
// example, the benchmark, the soak): Node 20 cannot import the TypeScript sources, and a
// stale dist/ would silently exercise old code.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = resolve(import.meta.dirname, '..');

/** Files whose change requires a rebuild, besides everything under src/. */
const BUILD_INPUTS = ['package.json', 'tsconfig.json', 'tsconfig.build.json'];

/**
 * The compiled files the package's entry points resolve to (the `default` targets of the
 * `exports` map that live in dist/), so a new entry point is covered without touching this file.
 */
function entryOutputs(root) {
  const { exports: map = {} } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const targets = Object.values(map).flatMap((target) =>
    typeof target === 'string' ? [target] : [target.default, target.import, target.require].filter(Boolean),
  );
  const outputs = [...new Set(targets.filter((target) => target.startsWith('./dist/')))];
  return (outputs.length > 0 ? outputs : ['./dist/index.js']).map((target) => join(root, target));
}

function newestMtime(dir) {
  return readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
    const path = join(dir, entry.name);
    return Math.max(latest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }, 0);
}

/**
 * Why dist/ must be rebuilt, or `undefined` when it is current: an entry point's compiled file
 * is missing, or a file under src/ (or package.json, a tsconfig) is newer than one of them.
 */
export function distStaleness(root = ROOT) {
  const outputs = entryOutputs(root);
  const missing = outputs.find((file) => !existsSync(file));
  if (missing !== undefined) return `${missing.slice(root.length + 1)} is missing`;
  const inputs = BUILD_INPUTS.map((file) => join(root, file)).filter((file) => existsSync(file));
  const newestInput = Math.max(newestMtime(join(root, 'src')), ...inputs.map((file) => statSync(file).mtimeMs));
  const oldestOutput = Math.min(...outputs.map((file) => statSync(file).mtimeMs));
  return newestInput > oldestOutput ? 'the sources changed since the last build' : undefined;
}

/**
 * Rebuilds dist/ with `tsc -p tsconfig.build.json` when it is missing or older than the sources.
 * Throws when the compiler fails (its output went to `stdio`); callers decide whether that ends
 * the run.
 *
 * @example
 * ```js
 * import { ensureDist } from '../scripts/ensure-dist.mjs';
 * const { built } = ensureDist({ log: (line) => console.error('[bench]', line) });
 * const { requireM2M } = await import('../dist/index.js'); // only after the build
 * ```
 * @param options.root the package root (default: this repository)
 * @param options.log receives one line before a build (default: console.error)
 * @param options.stdio where the compiler's output goes (default: inherited)
 * @returns `built` (whether tsc ran), `reason` (why, or undefined), `seconds` (build time)
 */
export function ensureDist({ root = ROOT, log = (line) => console.error(line), stdio = 'inherit' } = {}) {
  const reason = distStaleness(root);
  if (reason === undefined) return { built: false, reason, seconds: 0 };
  log(`building dist/ with tsc -p tsconfig.build.json (${reason})`);
  const started = performance.now();
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio });
  if (result.status !== 0) {
    throw new Error(`tsc -p tsconfig.build.json failed (exit ${result.status ?? result.signal}); see its output`);
  }
  return { built: true, reason, seconds: (performance.now() - started) / 1000 };
}
