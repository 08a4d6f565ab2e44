// Packaging test: builds and packs express-m2m, installs the tarball into a throw-away
// project, and checks that ESM `import`, CommonJS `require` (Node's require(esm)) and a
// TypeScript consumer (with @types/express 5, then 4) all work for `express-m2m` and
// `express-m2m/testing`. Run by `npm test` (as `npm run test:package`) and by CI.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'express-m2m-pack-'));
const npm = (args, cwd) => execFileSync('npm', args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
const node = (file, cwd) =>
  execFileSync(process.execPath, [file], {
    cwd,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    timeout: 60_000,
  });
const versionOf = (name) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;

let failures = 0;
function check(name, run) {
  try {
    const output = run();
    console.log(`ok - ${name}${output ? `: ${output.trim().split('\n').pop()}` : ''}`);
  } catch (error) {
    failures++;
    console.log(`not ok - ${name}\n${error.stdout ?? ''}${error.message}`);
  }
}

try {
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

  const project = join(work, 'consumer');
  execFileSync('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '1.0.0' }));
  npm(
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      tarball,
      `express@${versionOf('express')}`,
      `typescript@${versionOf('typescript')}`,
      `@types/express@${versionOf('@types/express')}`,
      `@types/node@${versionOf('@types/node')}`,
    ],
    project,
  );

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
  const tsc = join(project, 'node_modules/typescript/bin/tsc');
  check('TypeScript consumer with @types/express 5 (tsc --noEmit)', () => node(tsc, project) || 'no type errors');
  npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '@types/express@4'], project);
  check('TypeScript consumer with @types/express 4 (tsc --noEmit)', () => node(tsc, project) || 'no type errors');
} finally {
  rmSync(work, { recursive: true, force: true });
}

console.log(failures === 0 ? 'packaging: all checks passed' : `packaging: ${failures} check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
