/**
 * Compiled JavaScript of the stores for child processes (which run without ts-jest): built
 * once into node_modules/.cache, and again only when a source file is newer than the build.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Where the stores are compiled; inside the worktree so that `redis` and `ioredis` resolve. */
export const STORES_BUILD_DIR = path.join(root, 'node_modules/.cache/express-m2m-stores-test');
const ENTRY_FILES = ['src/redis.ts', 'src/stores/replay-store.ts', 'src/stores/revocation-list.ts'];

async function newestSourceTime(): Promise<number> {
  const files = ['src/redis.ts'];
  for (const dir of ['src/stores', 'src/stores/redis']) {
    for (const name of await readdir(path.join(root, dir))) if (name.endsWith('.ts')) files.push(`${dir}/${name}`);
  }
  const times = await Promise.all(files.map(async (file) => (await stat(path.join(root, file))).mtimeMs));
  return Math.max(...times);
}

/** Compiles src/redis.ts and the stores when the build is missing or stale; returns the output directory. */
export async function buildStores(): Promise<string> {
  const stamp = path.join(STORES_BUILD_DIR, '.built');
  const built = await stat(stamp).then(
    (info) => info.mtimeMs,
    () => 0,
  );
  if (built > (await newestSourceTime())) return STORES_BUILD_DIR;
  await mkdir(STORES_BUILD_DIR, { recursive: true });
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  const options = ['--outDir', STORES_BUILD_DIR, '--rootDir', path.join(root, 'src')];
  const settings = ['--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022'];
  const strictness = ['--strict', '--skipLibCheck', '--types', 'node'];
  await promisify(execFile)(process.execPath, [tsc, ...options, ...settings, ...strictness, ...ENTRY_FILES], {
    cwd: root,
    timeout: 120_000,
  });
  await writeFile(path.join(STORES_BUILD_DIR, 'package.json'), '{"type":"module"}\n');
  await writeFile(stamp, new Date().toISOString());
  return STORES_BUILD_DIR;
}
