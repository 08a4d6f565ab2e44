// Packaging test: builds and packs express-m2m, installs the tarball into throw-away projects,
// and checks what a user of the published package relies on: ESM `import`, CommonJS `require`
// (Node's require(esm)) and TypeScript (with @types/express 5, then 4) for `express-m2m` and
// `express-m2m/testing`; the test runners the README documents (ts-jest in a CommonJS
// TypeScript project, Jest's native ESM mode, Vitest); a caller-only service that installs
// neither Express nor its types; and the files the tarball must carry. Run by `npm test` (as
// `npm run test:package`) and by CI.
//
// Time matters (CI runs this on every change): the projects that use Express share one
// `node_modules` in their parent folder, installed once with --prefer-offline; only the
// caller-only project, which must not see Express, has its own.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CALLER_ONLY, JEST_CJS, JEST_ESM, VITEST } from './consumers.mjs';

/** Vitest is no dependency of express-m2m itself; 3.x installs and runs on Node 20.19+. */
const VITEST_VERSION = '^3.2.4';

const started = Date.now();
const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'express-m2m-pack-'));
// The child processes get a clean NODE_OPTIONS: a caller's flags (Jest's, say) must not leak in.
const env = { ...process.env };
delete env.NODE_OPTIONS;
const npm = (args, cwd) =>
  execFileSync('npm', args, { cwd, env, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
const run = (args, cwd, extraEnv = {}) =>
  execFileSync(process.execPath, args, {
    cwd,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: 120_000,
  });
const node = (file, cwd) => run([file], cwd);
const install = (cwd, packages) => npm(['install', '--no-audit', '--no-fund', '--prefer-offline', ...packages], cwd);
const versionOf = (name) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
const pinned = (name) => `${name}@${versionOf(name)}`;

/** Writes a project's files ({ relative path: contents }) into `dir`. */
function writeProject(dir, files) {
  mkdirSync(dir, { recursive: true });
  for (const [path, contents] of Object.entries(files)) writeFileSync(join(dir, path), contents);
  return dir;
}

let failures = 0;
function check(name, body) {
  const t0 = Date.now();
  try {
    const output = body();
    const last = output ? `: ${output.trim().split('\n').pop()}` : '';
    console.log(`ok - ${name}${last} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (error) {
    failures++;
    console.log(`not ok - ${name}\n${error.stdout ?? ''}${error.stderr ?? ''}${error.message}`);
  }
}
const step = (what) => console.log(`# ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)`);

try {
  step('build and pack');
  npm(['run', 'build'], root);
  const tarball = join(work, JSON.parse(npm(['pack', '--json', '--pack-destination', work], root))[0].filename);
  const files = JSON.parse(npm(['pack', '--dry-run', '--json'], root))[0].files.map((f) => f.path);
  check('the tarball holds dist, README, CHANGELOG and LICENSE, and no sources or tests', () => {
    for (const required of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/testing/index.js',
      'dist/testing/index.d.ts',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'package.json',
    ]) {
      if (!files.includes(required)) throw new Error(`missing ${required}`);
    }
    const stray = files.filter((f) => f.startsWith('src/') || f.startsWith('test/'));
    if (stray.length > 0) throw new Error(`unexpected files: ${stray.join(', ')}`);
    return `${files.length} files`;
  });
  check('the tarball carries SECURITY.md, docs/*.md and every document the README links to', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    // Relative links to Markdown files: [text](docs/CLIENT.md#section) and the like.
    const linked = [...readme.matchAll(/\]\((?!https?:|#|mailto:)(?:\.\/)?([^)#\s]+\.md)(?:#[^)]*)?\)/g)].map(
      (m) => m[1],
    );
    const docs = readdirSync(join(root, 'docs'))
      .filter((name) => name.endsWith('.md'))
      .map((name) => `docs/${name}`);
    const missing = [...new Set(['SECURITY.md', ...docs, ...linked])].filter((path) => !files.includes(path));
    if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}`);
    return `${new Set(linked).size} linked documents, ${docs.length} in docs/`;
  });
  check('the packed package.json names its repository', () => {
    const manifest = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }));
    const url = typeof manifest.repository === 'string' ? manifest.repository : manifest.repository?.url;
    if (typeof url !== 'string' || url === '') throw new Error('no "repository" field');
    return url;
  });

  // The projects that use Express share the dependencies installed once in this folder.
  step('install the shared dependencies');
  const shared = writeProject(join(work, 'shared'), {
    'package.json': JSON.stringify({ name: 'shared', private: true }),
  });
  install(shared, [
    tarball,
    pinned('express'),
    pinned('typescript'),
    pinned('@types/express'),
    pinned('@types/node'),
    pinned('jest'),
    pinned('@jest/globals'),
    pinned('@types/jest'),
    pinned('ts-jest'),
    `vitest@${VITEST_VERSION}`,
  ]);
  const bin = (path) => join(shared, 'node_modules', path);
  const project = writeProject(join(shared, 'consumer'), {
    'package.json': JSON.stringify({ name: 'consumer', private: true }),
  });

  // A real round trip through the installed package: start the test issuer, mint, verify over HTTP.
  const scenario = (load) => `
${load}
const issuer = await testing.createTestIssuer();
try {
  const app = express();
  app.use(m2m.requireM2M({ issuerBaseURL: issuer.issuerBaseURL, audience: 'https://api.example.com' }));
  app.get('/orders', m2m.requireScopes('read:orders'), (req, res) => res.json({ caller: req.auth.clientId }));
  app.use(m2m.m2mErrorHandler());
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = 'http://127.0.0.1:' + server.address().port + '/orders';
  const token = await issuer.mint({}, { clientId: 'worker', scope: 'read:orders' });
  const ok = await fetch(url, { headers: { authorization: 'Bearer ' + token } });
  const denied = await fetch(url);
  server.close();
  if (ok.status !== 200 || denied.status !== 401) throw new Error('unexpected statuses ' + ok.status + ' ' + denied.status);
  if (!(new m2m.InvalidTokenError() instanceof m2m.M2MError)) throw new Error('error classes broken');
  console.log('verified caller ' + (await ok.json()).caller);
} finally {
  await issuer.close();
}`;

  writeFileSync(
    join(project, 'esm.mjs'),
    scenario(`
import express from 'express';
import * as m2m from 'express-m2m';
import * as testing from 'express-m2m/testing';`),
  );
  check('ESM import of express-m2m and express-m2m/testing', () => node('esm.mjs', project));

  writeFileSync(
    join(project, 'cjs.cjs'),
    `(async () => {${scenario(`
const express = require('express');
const m2m = require('express-m2m');
const testing = require('express-m2m/testing');`)}
})().catch((error) => { console.error(error); process.exit(1); });`,
  );
  check('CommonJS require of express-m2m and express-m2m/testing (require(esm))', () => node('cjs.cjs', project));

  writeFileSync(
    join(project, 'private.mjs'),
    `
try { await import('express-m2m/dist/verifier.js'); console.log('reachable'); process.exit(1); }
catch (error) { if (error.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw error; console.log('internal modules are not exported'); }`,
  );
  check('the exports map hides internal modules', () => node('private.mjs', project));

  writeFileSync(
    join(project, 'consumer.ts'),
    `
import express, { type Request, type Response } from 'express';
import { requireM2M, requireScopes, m2mErrorHandler, createVerifier, InvalidTokenError, type M2MAuth, type RequireM2MOptions } from 'express-m2m';
import { createTestIssuer, type TestIssuer } from 'express-m2m/testing';

const options: RequireM2MOptions = { issuerBaseURL: 'https://tenant.example.com', audience: 'https://api.example.com', jwks: { cooldown: 10 } };
const app = express();
app.use(requireM2M(options));
app.get('/orders', requireScopes('read:orders'), (req: Request, res: Response) => {
  const auth: M2MAuth | undefined = req.auth;
  const scopes: readonly string[] = auth?.scopes ?? [];
  res.json({ caller: req.auth?.clientId, scopes, org: req.auth?.organization });
});
app.use(m2mErrorHandler());
const verifier = createVerifier(options);
const checked: Promise<M2MAuth> = verifier.verify('token');
const error: number = new InvalidTokenError('token expired').status;
const issuer: Promise<TestIssuer> = createTestIssuer({ clients: [{ clientId: 'a', clientSecret: 'b', grants: { x: ['y'] } }] });
// @ts-expect-error req.auth is read-only typed: clientId is a string
const wrong: number = ({} as Request).auth!.clientId;
void checked; void error; void issuer; void wrong;
`,
  );
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        strict: true,
        noEmit: true,
        types: ['node'],
        skipLibCheck: false,
      },
      files: ['consumer.ts'],
    }),
  );
  const tsc = bin('typescript/bin/tsc');
  check('TypeScript consumer with @types/express 5 (tsc --noEmit)', () => node(tsc, project) || 'no type errors');

  step('test runners');
  const jestBin = bin('jest/bin/jest.js');
  const jestArgs = ['--ci', '--cacheDirectory', join(work, 'jest-cache')];
  const jestCjs = writeProject(join(shared, 'jest-cjs'), JEST_CJS);
  check('Jest 29 + ts-jest, CommonJS TypeScript project (require of express-m2m and express-m2m/testing)', () =>
    run([jestBin, ...jestArgs], jestCjs),
  );
  check('the ts-jest project type-checks (tsc --noEmit)', () => node(tsc, jestCjs) || 'no type errors');
  const jestEsm = writeProject(join(shared, 'jest-esm'), JEST_ESM);
  check('Jest 29 in native ESM mode (NODE_OPTIONS=--experimental-vm-modules, no config)', () =>
    run([jestBin, ...jestArgs], jestEsm, { NODE_OPTIONS: '--experimental-vm-modules' }),
  );
  const vitest = writeProject(join(shared, 'vitest'), VITEST);
  const vitestVersion = JSON.parse(readFileSync(bin('vitest/package.json'), 'utf8')).version;
  check(`Vitest ${vitestVersion}, TypeScript, no config`, () => run([bin('vitest/vitest.mjs'), 'run'], vitest));

  step('@types/express 4');
  install(shared, ['@types/express@4']);
  check('TypeScript consumer with @types/express 4 (tsc --noEmit)', () => node(tsc, project) || 'no type errors');

  // A service that only calls APIs installs express-m2m alone: no Express, no @types/express.
  step('caller-only project');
  const caller = writeProject(join(work, 'caller'), CALLER_ONLY);
  install(caller, [tarball, pinned('typescript'), pinned('@types/node')]);
  check('caller-only: installing express-m2m brings no Express', () => {
    const installed = readdirSync(join(caller, 'node_modules'));
    if (installed.includes('express')) throw new Error('express was installed (a required peer dependency?)');
    return 'no express in node_modules';
  });
  check(
    'caller-only: tsc --noEmit, skipLibCheck false, without @types/express',
    () => node(join(caller, 'node_modules/typescript/bin/tsc'), caller) || 'no type errors',
  );
  check('caller-only: a token request with createTokenClient against createTestIssuer', () =>
    node('caller.mjs', caller),
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}

const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(
  failures === 0
    ? `packaging: all checks passed in ${seconds} s`
    : `packaging: ${failures} check(s) failed (${seconds} s)`,
);
process.exit(failures === 0 ? 0 : 1);
