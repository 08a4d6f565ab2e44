/**
 * Runs the compiled CLI (dist/cli/main.js) as a child process, as `npx express-m2m` would,
 * with a minimal environment (nothing of the test runner's leaks in) and a bounded run time.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = path.join(root, 'dist/cli/main.js');
const LOCK = path.join(root, 'node_modules/.cache/express-m2m-cli-build.lock');

/** What a run printed and how it ended. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Rebuilds dist/ when the sources are newer (scripts/ensure-dist.mjs), one test file at a
 * time: Jest runs files in parallel workers, and two compilers writing dist/ would race.
 */
export function buildCli(): void {
  mkdirSync(path.dirname(LOCK), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // A lock left by a killed run is older than any build.
      if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 180_000) rmdirSync(LOCK);
      if (Date.now() > deadline) throw new Error('timed out waiting for another test file to build dist/');
      spawnSync(process.execPath, ['-e', 'setTimeout(() => {}, 200)']);
    }
  }
  try {
    const script = "import('./scripts/ensure-dist.mjs').then((m) => m.ensureDist({ stdio: 'inherit' }))";
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      env: withoutNodeOptions(),
      stdio: 'inherit',
      timeout: 170_000,
    });
    if (result.status !== 0) throw new Error('building dist/ failed');
    if (!existsSync(CLI)) throw new Error('dist/cli/main.js is missing after the build');
  } finally {
    rmdirSync(LOCK);
  }
}

function withoutNodeOptions(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

/**
 * Runs `node dist/cli/main.js ...args`. Only PATH is inherited; `env` adds the rest.
 *
 * @param options.input - written to the child's standard input (which is then closed).
 */
export function runCli(
  args: readonly string[],
  options: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...options.env },
      timeout: options.timeoutMs ?? 15_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** The signature part of a compact JWT: it must never appear in the CLI's output. */
export function signatureOf(token: string): string {
  return token.split('.')[2] as string;
}
