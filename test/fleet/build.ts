/**
 * The whole package compiled to JavaScript for the API processes of the fleet tests (child
 * processes run without ts-jest). The output directory is named after a hash of the sources,
 * so a stale build is never used, and it is renamed into place once complete, so test files
 * building at the same time never see half a build.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Inside the worktree so that `express`, `redis`, `ioredis` and `jose` resolve from the build. */
const CACHE_DIR = path.join(root, 'node_modules/.cache/express-m2m-fleet-test');
const BUILD_INPUTS = ['tsconfig.json', 'tsconfig.build.json'];

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => {
      const full = path.join(dir, entry.name);
      return entry.isDirectory() ? sourceFiles(full) : Promise.resolve(entry.name.endsWith('.ts') ? [full] : []);
    }),
  );
  return nested.flat().sort();
}

async function sourceHash(): Promise<string> {
  const hash = createHash('sha256');
  const files = [...(await sourceFiles(path.join(root, 'src'))), ...BUILD_INPUTS.map((file) => path.join(root, file))];
  for (const file of files)
    hash
      .update(file)
      .update('\0')
      .update(await readFile(file))
      .update('\0');
  return hash.digest('hex').slice(0, 16);
}

/**
 * Compiles src/ (tsconfig.build.json) unless a build of the current sources exists; returns
 * its directory, holding `index.js`, `redis.js` and `testing/index.js`.
 */
export async function buildPackage(): Promise<string> {
  const target = path.join(CACHE_DIR, await sourceHash());
  const done = await stat(path.join(target, 'index.js')).then(
    () => true,
    () => false,
  );
  if (done) return target;
  const scratch = `${target}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(scratch, { recursive: true });
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  const args = [tsc, '-p', 'tsconfig.build.json', '--outDir', scratch, '--declaration', 'false'];
  await promisify(execFile)(process.execPath, args, { cwd: root, timeout: 180_000 });
  await writeFile(path.join(scratch, 'package.json'), '{"type":"module"}\n');
  try {
    await rename(scratch, target);
  } catch {
    // Another test file finished the same build first: use it.
    await rm(scratch, { recursive: true, force: true });
  }
  await pruneOldBuilds(target);
  return target;
}

/** Builds of earlier sources pile up as the code changes: drop those not touched for an hour. */
async function pruneOldBuilds(keep: string): Promise<void> {
  const cutoff = Date.now() - 3_600_000;
  for (const name of await readdir(CACHE_DIR)) {
    const dir = path.join(CACHE_DIR, name);
    if (dir === keep) continue;
    const modified = await stat(dir).then(
      (info) => info.mtimeMs,
      () => Date.now(),
    );
    if (modified < cutoff) await rm(dir, { recursive: true, force: true });
  }
}
