/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time and total (inclusive)
 * time per function, and self time per origin (express-m2m, jose, express, node internals,
 * GC, …).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

function shortUrl(url) {
  if (!url) return '';
  let path = url;
  if (path.startsWith('file://')) {
    try {
      path = relative(root, fileURLToPath(path));
    } catch {
      // keep the URL
    }
  }
  // A symlinked node_modules resolves outside the root: keep the part from node_modules/ on.
  const modules = path.indexOf('node_modules/');
  return modules > 0 ? path.slice(modules) : path;
}

/** Which part of the stack a frame belongs to. */
export function originOf(url, functionName) {
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'native/program';
    return 'native/builtin';
  }
  const path = shortUrl(url);
  if (path.startsWith('dist/')) return 'express-m2m (dist)';
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/g;
  let last;
  for (let m = match.exec(path); m !== null; m = match.exec(path)) last = m[1];
  if (last !== undefined) return last;
  if (path.startsWith('node:')) return 'node internals';
  if (path.startsWith('bench/')) return 'bench app';
  return path;
}

/** Reads a profile and returns `{ totalMs, idleMs, functions: [...], origins: [...] }`. */
export function summarizeProfile(file, { top = 25 } = {}) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map();
  const parent = new Map();
  for (const node of profile.nodes) {
    nodes.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const keyOf = (node) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    const where = shortUrl(url);
    return where ? `${name} ${where}:${lineNumber + 1}` : name;
  };
  const self = new Map();
  const total = new Map();
  const origins = new Map();
  let totalMs = 0;
  let idleMs = 0;
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time elapsed before sample i; attribute the next delta to it.
    const ms = (timeDeltas[i + 1] ?? timeDeltas[i] ?? 0) / 1000;
    const node = nodes.get(samples[i]);
    if (node === undefined) continue;
    const origin = originOf(node.callFrame.url, node.callFrame.functionName);
    if (origin === 'idle') {
      idleMs += ms;
      continue;
    }
    totalMs += ms;
    const key = keyOf(node);
    self.set(key, (self.get(key) ?? 0) + ms);
    origins.set(origin, (origins.get(origin) ?? 0) + ms);
    const seen = new Set();
    for (let id = samples[i]; id !== undefined; id = parent.get(id)) {
      const frame = nodes.get(id);
      const frameKey = keyOf(frame);
      if (frame.callFrame.functionName === '(root)' || seen.has(frameKey)) continue;
      seen.add(frameKey);
      total.set(frameKey, (total.get(frameKey) ?? 0) + ms);
    }
  }
  const functions = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, ms]) => ({
      name,
      selfMs: ms,
      selfPct: (100 * ms) / totalMs,
      totalPct: (100 * (total.get(name) ?? ms)) / totalMs,
    }));
  const originRows = [...origins.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([origin, ms]) => ({ origin, ms, pct: (100 * ms) / totalMs }));
  // The heaviest express-m2m functions by inclusive time, to see where verify() spends it.
  const ownTotals = [...total.entries()]
    .filter(([name]) => / dist\//.test(name))
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([name, ms]) => ({ name, totalMs: ms, totalPct: (100 * ms) / totalMs }));
  return { totalMs, idleMs, functions, origins: originRows, ownTotals };
}
