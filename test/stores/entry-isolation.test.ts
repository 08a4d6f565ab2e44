/**
 * The package entry and the in-memory stores must never load Redis code: an application
 * without `redis` or `ioredis` installed imports `express-m2m` and must not fail.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
const REDIS_PACKAGES = /^(redis|ioredis|@redis\/.*)$/;

/** Specifiers a module loads at run time (type-only imports and exports are erased). */
function runtimeImports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const found: string[] = [];
  const statement = /^\s*(?:import|export)\s+(type\s+)?[^'";]*?\bfrom\s+['"]([^'"]+)['"]/gm;
  for (const match of source.matchAll(statement)) if (match[1] === undefined) found.push(match[2] as string);
  for (const match of source.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) found.push(match[1] as string);
  for (const match of source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(match[1] as string);
  return found;
}

/** Every source file reachable from `entry`, and every package it loads. */
function reach(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const specifier of runtimeImports(file)) {
      if (specifier.startsWith('.')) visit(path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.ts')));
      else packages.add(specifier);
    }
  };
  visit(path.join(SRC, entry));
  return { files, packages };
}

describe('Redis code stays behind express-m2m/redis', () => {
  it.each(['index.ts', 'stores/revocation-list.ts', 'stores/replay-store.ts'])(
    '%s reaches no Redis module and no Redis client package',
    (entry) => {
      const { files, packages } = reach(entry);
      const redisFiles = [...files].filter((file) => file.startsWith(path.join(SRC, 'stores/redis')));
      expect(redisFiles).toEqual([]);
      expect([...packages].filter((name) => REDIS_PACKAGES.test(name))).toEqual([]);
    },
  );

  it('express-m2m/redis loads the stores but never imports a Redis client package itself', () => {
    const { files, packages } = reach('redis.ts');
    expect(files).toContain(path.join(SRC, 'stores/redis/revocation-list.ts'));
    expect([...packages].filter((name) => REDIS_PACKAGES.test(name))).toEqual([]);
  });

  it('the import scanner sees value imports and skips type-only ones', () => {
    // Guards the guard: a scanner that found nothing would pass every test above.
    const { packages } = reach('stores/redis/client.ts');
    expect(packages).toContain('node:events');
    expect(runtimeImports(path.join(SRC, 'stores/redis/replay-store.ts'))).not.toContain('../replay-store.js');
  });
});
