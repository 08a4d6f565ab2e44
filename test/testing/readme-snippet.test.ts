/**
 * The README's "Testing your API with `createTestIssuer`" section must run as written: every
 * TypeScript block in it is read from README.md at run time, compiled, and run in-process,
 * with the package's specifiers served from the sources under test.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import * as testing from '../../src/testing/index.js';
import type { TestIssuer, TestIssuerOptions } from '../../src/testing/index.js';
import { express, expressMajor } from '../helpers/express.js';

const SECTION = '## Testing your API with `createTestIssuer`';
const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');

/** The ```ts blocks of the section, in order. */
function snippets(): string[] {
  const start = readme.indexOf(`\n${SECTION}\n`);
  if (start < 0) throw new Error(`README.md has no section "${SECTION}"`);
  const next = readme.indexOf('\n## ', start + SECTION.length + 1);
  const section = readme.slice(start, next < 0 ? undefined : next);
  return [...section.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
}

/** Issuers the snippet created, to check it closed them. */
const started: { issuer: TestIssuer; closed: boolean }[] = [];

const modules: Record<string, () => Promise<Record<string, unknown>>> = {
  'express-m2m': () => import('../../src/index.js'),
  'express-m2m/testing': () =>
    Promise.resolve({
      ...testing,
      async createTestIssuer(options?: TestIssuerOptions) {
        const issuer = await testing.createTestIssuer(options);
        const entry = { issuer, closed: false };
        started.push(entry);
        const close = issuer.close.bind(issuer);
        return Object.assign(Object.create(issuer) as TestIssuer, {
          close: () => close().then(() => void (entry.closed = true)),
        });
      },
    }),
  express: () => Promise.resolve({ default: express }),
  supertest: () => import('supertest'),
  jose: () => import('jose'),
  'node:assert/strict': () => import('node:assert/strict'),
};

/** Turns the import declarations of compiled ESM into awaits of `__import`. */
function rewriteImports(js: string): string {
  return js
    .replace(/^export \{\};?$/gm, '')
    .replace(/^import\s+(.+?)\s+from\s+(['"])([^'"]+)\2;?$/gm, (_all, clause: string, _q, spec: string) => {
      const load = `await __import(${JSON.stringify(spec)})`;
      const named = /^(?:([\w$]+)\s*,\s*)?\{([^}]*)\}$/.exec(clause);
      if (named) {
        const bindings = (named[2] ?? '').replace(/\b([\w$]+)\s+as\s+([\w$]+)/g, '$1: $2');
        const ns = `__ns${Math.random().toString(36).slice(2)}`;
        const defaultBinding = named[1] ? `const ${named[1]} = ${ns}.default ?? ${ns};` : '';
        return `const ${ns} = ${load}; ${defaultBinding} const {${bindings}} = ${ns};`;
      }
      const namespace = /^\*\s+as\s+([\w$]+)$/.exec(clause);
      if (namespace) return `const ${namespace[1]} = ${load};`;
      if (/^[\w$]+$/.test(clause)) return `const ${clause} = ((m) => m.default ?? m)(${load});`;
      throw new Error(`unsupported import in the README snippet: ${clause}`);
    });
}

async function run(snippet: string): Promise<void> {
  const { outputText } = ts.transpileModule(snippet, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  const body = rewriteImports(outputText);
  if (/^\s*import\b/m.test(body)) throw new Error('an import of the README snippet was not rewritten');
  const load = (spec: string) => {
    const loader = modules[spec];
    if (!loader) throw new Error(`the README snippet imports ${spec}, which this test does not provide`);
    return loader();
  };
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
    ...args: string[]
  ) => (importer: typeof load) => Promise<void>;
  await new AsyncFunction('__import', body)(load);
}

describe(`README: Testing your API with createTestIssuer (Express ${expressMajor})`, () => {
  const blocks = snippets();

  // A failing block stops before its own close(): close what it left open so the run ends.
  afterEach(async () => {
    await Promise.all(started.filter((s) => !s.closed).map((s) => s.issuer.close()));
  });

  it('has code to run, and the code checks responses', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(1);
    // Each block checks what it shows: supertest expectations or node:assert.
    for (const block of blocks) expect(block).toMatch(/\.expect\(\d{3}|\bassert\.\w+\(/);
    expect(blocks.some((block) => block.includes('requireM2M('))).toBe(true);
  });

  it.each(blocks.map((block, index) => [index + 1, block] as const))('block %i runs as written', async (_n, block) => {
    started.length = 0;
    await run(block);
    expect(started.length).toBeGreaterThanOrEqual(1);
    for (const { issuer, closed } of started) {
      expect({ closedBySnippet: closed }).toEqual({ closedBySnippet: true });
      // An API in the block really fetched the issuer's keys: verification ran end to end.
      if (block.includes('requireM2M(')) expect(issuer.requestCounts.jwks).toBeGreaterThanOrEqual(1);
    }
  });
});
