import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { REASONS } from '../../src/index.js';
import { createFleetMetrics } from './recipes/fleet.js';
import { createM2MMetrics } from './recipes/prometheus.js';

/**
 * docs/OPERATIONS.md shows the recipes of test/observability/recipes/ as users write them: the
 * same text, importing from 'express-m2m' instead of the sources. Each recipe is exercised by the
 * other tests of this folder; this one keeps the page and the tested code identical.
 */
const DOC = readFileSync(new URL('../../docs/OPERATIONS.md', import.meta.url), 'utf8');
const RECIPES = new URL('./recipes/', import.meta.url);

function asDocumented(source: string): string {
  return source.replaceAll("'../../../src/index.js'", "'express-m2m'").trimEnd();
}

/** The fenced block right after `marker`, without its fences. */
function blockAfter(marker: string): string | undefined {
  const at = DOC.indexOf(marker);
  if (at === -1) return undefined;
  const match = /^\s*```[a-z]*\n([\s\S]*?)\n```/.exec(DOC.slice(at + marker.length));
  return match?.[1];
}

describe('docs/OPERATIONS.md', () => {
  const files = readdirSync(RECIPES).filter((name) => name.endsWith('.ts'));

  it.each(files)('shows recipes/%s word for word', (file) => {
    const block = blockAfter(`<!-- recipe: test/observability/recipes/${file} -->`);
    expect(block).toBeDefined();
    const source = readFileSync(new URL(file, RECIPES), 'utf8');
    expect(block).toBe(`// ${file}\n${asDocumented(source)}`);
  });

  it('shows no recipe that is not tested', () => {
    const marked = [...DOC.matchAll(/<!-- recipe: test\/observability\/recipes\/([\w-]+\.ts) -->/g)].map((m) => m[1]);
    expect(marked.sort()).toEqual([...files].sort());
  });

  it('lists exactly the reasons the package has', () => {
    const section = DOC.slice(DOC.indexOf('Reasons:'), DOC.indexOf('The list is exported'));
    const listed = [...section.matchAll(/`([a-z0-9_]+)`/g)].map((m) => m[1]);
    expect(listed).toEqual([...REASONS]);
  });

  it('alerts only on metrics the recipes export, with label values that exist', () => {
    const rules = blockAfter('<!-- alert-rules -->');
    expect(rules).toBeDefined();
    const registry = new Registry();
    createM2MMetrics(registry).close();
    createFleetMetrics(registry, () => undefined);
    const exported = registry.getMetricsAsArray().map((metric) => metric.name);
    const used = [...(rules as string).matchAll(/\b(express_m2m_[a-z_]+)/g)].map((m) =>
      (m[1] as string).replace(/_(bucket|count|sum)$/, ''),
    );
    expect(used.length).toBeGreaterThan(0);
    for (const name of used) expect(exported).toContain(name);
    const eventTypes = ['fetched', 'fetch_failed', 'serving_stale', 'max_stale_exceeded'];
    for (const [, label, values] of (rules as string).matchAll(/\b(reason|type)=~?"([^"]+)"/g)) {
      for (const value of (values as string).split('|')) {
        expect(label === 'reason' ? (REASONS as readonly string[]) : eventTypes).toContain(value);
      }
    }
  });
});
