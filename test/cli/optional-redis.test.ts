/**
 * `redis` is an optional peer dependency: without it installed, the Redis commands end with one
 * line that says how to install it, and `inspect` still runs. The compiled package is copied
 * into a directory whose node_modules holds everything but `redis`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCli } from './run-cli.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;

beforeAll(() => {
  buildCli();
  dir = mkdtempSync(path.join(tmpdir(), 'express-m2m-cli-'));
  cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n');
  mkdirSync(path.join(dir, 'node_modules'));
  for (const name of readdirSync(path.join(root, 'node_modules'))) {
    if (name === 'redis' || name === '@redis' || name.startsWith('.')) continue;
    symlinkSync(path.join(root, 'node_modules', name), path.join(dir, 'node_modules', name));
  }
}, 200_000);

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]) {
  return spawnSync(process.execPath, [path.join(dir, 'dist/cli/main.js'), ...args], {
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
    timeout: 15_000,
  });
}

describe('without the redis package', () => {
  it('revoke ends with one line naming the package to install (exit 2)', () => {
    const result = run(['revoke', 'client', 'billing', '--redis', 'redis://127.0.0.1:6379']);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('express-m2m: the "redis" package is not installed: npm install redis\n');
  });

  it('inspect still runs', () => {
    const result = run(['inspect', 'a.b.c']);
    expect(result.status).toBe(2);
    expect(result.stdout).toContain('Not verified: no issuer configured');
  });
});
