// The throw-away consumer projects of the packaging test, as { relative path: contents }.
// Each one is what a user of the published package would write; the configurations here are
// the ones the README documents ("Testing with Jest and Vitest"), so keep the two in step.

/** An Express app guarded by express-m2m, in TypeScript (imports compile to `require` under CommonJS). */
const APP_TS = `import express from 'express';
import { requireM2M, requireScopes, m2mErrorHandler } from 'express-m2m';

export function createApp(issuerBaseURL: string) {
  const app = express();
  app.use(requireM2M({ issuerBaseURL, audience: 'https://api.example.com' }));
  app.get('/orders', requireScopes('read:orders'), (req, res) => {
    res.json({ caller: req.auth?.clientId });
  });
  app.use(m2mErrorHandler());
  return app;
}
`;

/**
 * One test, shared by every runner: a minted token with the scope is let through, no token is
 * 401, and the error classes keep their identity. `head` supplies the imports of each flavour.
 */
const appTest = ({ head, typed }) => `${head}
let issuer${typed ? ': TestIssuer' : ''};
beforeAll(async () => {
  issuer = await createTestIssuer();
});
afterAll(() => issuer.close());

test('a token with the scope gets through, no token is 401', async () => {
  const server = createApp(issuer.issuerBaseURL).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const url = 'http://127.0.0.1:' + (server.address()${typed ? ' as AddressInfo' : ''}).port + '/orders';
    const token = await issuer.mint({}, { clientId: 'worker', scope: 'read:orders' });
    const ok = await fetch(url, { headers: { authorization: 'Bearer ' + token } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ caller: 'worker' });
    expect((await fetch(url)).status).toBe(401);
    expect(new InvalidTokenError()).toBeInstanceOf(M2MError);
  } finally {
    server.close();
  }
});
`;

/** CommonJS TypeScript project tested with ts-jest (Jest 29): no "type" field, so .ts files compile to CommonJS. */
export const JEST_CJS = {
  'package.json': JSON.stringify({ name: 'jest-cjs', private: true }),
  // ts-jest also transforms the ESM JavaScript of express-m2m and jose (Jest's CommonJS runtime
  // cannot load ESM); every other package in node_modules stays untransformed.
  'jest.config.js': `module.exports = {
  preset: 'ts-jest/presets/js-with-ts',
  transformIgnorePatterns: ['/node_modules/(?!(express-m2m|jose)/)'],
};
`,
  // nodenext: TypeScript (5.8+) resolves the package's exports map and allows require() of its ESM;
  // isolatedModules: ts-jest compiles each file on its own, as that module kind requires.
  'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'nodenext', isolatedModules: true, strict: true } }),
  'app.ts': APP_TS,
  'app.test.ts': appTest({
    typed: true,
    head: `import type { AddressInfo } from 'node:net';
import { createTestIssuer, type TestIssuer } from 'express-m2m/testing';
import { createApp } from './app';
// A plain require() of the package, as CommonJS code may also write it.
const { InvalidTokenError, M2MError } = require('express-m2m') as typeof import('express-m2m');
`,
  }),
};

/** ESM project on Jest's native ESM mode: "type": "module" and NODE_OPTIONS=--experimental-vm-modules, no config. */
export const JEST_ESM = {
  'package.json': JSON.stringify({ name: 'jest-esm', private: true, type: 'module' }),
  'app.js': `import express from 'express';
import { requireM2M, requireScopes, m2mErrorHandler } from 'express-m2m';

export function createApp(issuerBaseURL) {
  const app = express();
  app.use(requireM2M({ issuerBaseURL, audience: 'https://api.example.com' }));
  app.get('/orders', requireScopes('read:orders'), (req, res) => res.json({ caller: req.auth.clientId }));
  app.use(m2mErrorHandler());
  return app;
}
`,
  'app.test.js': appTest({
    typed: false,
    head: `import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { InvalidTokenError, M2MError } from 'express-m2m';
import { createTestIssuer } from 'express-m2m/testing';
import { createApp } from './app.js';
`,
  }),
};

/** Vitest project, TypeScript, no configuration at all. */
export const VITEST = {
  'package.json': JSON.stringify({ name: 'vitest-consumer', private: true, type: 'module' }),
  'app.ts': APP_TS,
  'app.test.ts': appTest({
    typed: true,
    head: `import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { InvalidTokenError, M2MError } from 'express-m2m';
import { createTestIssuer, type TestIssuer } from 'express-m2m/testing';
import { createApp } from './app.js';
`,
  }),
};

/** The token request of the caller-only project, in TypeScript (type-checked) and as the JavaScript that runs. */
const callerSource = (typed) => `import { createTokenClient${typed ? ', type TokenClient' : ''} } from 'express-m2m';
import { createTestIssuer } from 'express-m2m/testing';

const issuer = await createTestIssuer({
  clients: [{ clientId: 'worker', clientSecret: 'worker-secret', grants: { 'https://api.example.com': ['read:orders'] } }],
});
try {
  const client${typed ? ': TokenClient' : ''} = createTokenClient({
    issuerBaseURL: issuer.issuerBaseURL,
    clientId: 'worker',
    clientSecret: 'worker-secret',
    audience: 'https://api.example.com',
    scope: 'read:orders',
  });
  const token${typed ? ': string' : ''} = await client.getToken();
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
  if (claims.scope !== 'read:orders') throw new Error('unexpected scope ' + claims.scope);
  console.log('token issued for ' + claims.aud);
} finally {
  await issuer.close();
}
`;

/** A service that only calls APIs: express-m2m alone (no express, no @types/express). */
export const CALLER_ONLY = {
  'package.json': JSON.stringify({ name: 'caller-only', private: true, type: 'module' }),
  'tsconfig.json': JSON.stringify({
    compilerOptions: {
      module: 'nodenext',
      target: 'es2022',
      strict: true,
      noEmit: true,
      types: ['node'],
      skipLibCheck: false,
    },
    files: ['caller.ts'],
  }),
  'caller.ts': callerSource(true),
  'caller.mjs': callerSource(false),
};
