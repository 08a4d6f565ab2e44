/**
 * From measured runs to verdicts: per-scenario summaries (medians over the rounds, ratios of
 * medians and paired per-round ratios) and the budget rows `--check` applies.
 */
import { BUDGET, rssRatios } from './budget.mjs';
import { COOLDOWN } from './options.mjs';

export const median = (values) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

export function summarizeScenario(result) {
  const rows = {};
  for (const [id, runs] of Object.entries(result.runs)) {
    const statuses = {};
    for (const run of runs)
      for (const [code, n] of Object.entries(run.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
    rows[id] = {
      rps: median(runs.map((r) => r.rps)),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      perRound: runs.map((r) => r.rps),
      non2xx: runs.reduce((sum, r) => sum + r.non2xx, 0),
      unexpected: runs.reduce((sum, r) => sum + r.unexpected, 0),
      errors: runs.reduce((sum, r) => sum + r.errors + r.timeouts, 0),
      total: runs.reduce((sum, r) => sum + r.total, 0),
      tokensPerRun: median(runs.map((r) => r.built)),
      cpuPerRequest: median(runs.map((r) => r.cpuPerRequest ?? NaN)),
      loopCpuPerRequest: median(runs.map((r) => r.loopCpuPerRequest ?? NaN)),
      foreignCpu: runs.some((r) => r.foreignCpu !== null) ? Math.max(...runs.map((r) => r.foreignCpu ?? 0)) : null,
      repeated: runs.reduce((sum, r) => sum + (r.attempts ?? 1) - 1, 0),
      disturbed: runs.filter((r) => r.disturbed).length,
      hostSpeed: runs.some((r) => r.hostSpeed !== undefined) ? Math.min(...runs.map((r) => r.hostSpeed ?? 1)) : null,
      statuses,
    };
  }
  const base = rows['no-auth'];
  const peer = rows['express-oauth2-jwt-bearer'];
  const jose = rows.jose;
  const single = rows['express-m2m'];
  // Paired ratios: round i of a contender against round i of the reference, run back to back,
  // so a change of the host's speed between rounds cancels out; the median of those is robust
  // to one disturbed round.
  const paired = (row, reference) => median(row.perRound.map((rps, i) => rps / reference.perRound[i]));
  for (const row of Object.values(rows)) {
    row.vsNoAuth = base ? row.rps / base.rps : NaN;
    row.vsPeer = peer ? row.rps / peer.rps : NaN;
    row.pairedVsNoAuth = base ? paired(row, base) : NaN;
    row.pairedVsPeer = peer ? paired(row, peer) : NaN;
    row.vsJose = jose ? row.rps / jose.rps : NaN;
    row.pairedVsJose = jose ? paired(row, jose) : NaN;
    row.vsSingle = single ? row.rps / single.rps : NaN;
    row.pairedVsSingle = single ? paired(row, single) : NaN;
  }
  return rows;
}

export function memoryVerdict(memory) {
  const at = (n) => memory.samples.find((s) => s.tokens === n);
  const fill = at(2 * memory.cacheMax);
  const last = memory.samples.at(-1);
  if (fill === undefined || last === undefined || last.tokens < 3 * memory.cacheMax) {
    return { evaluated: false, note: `needs at least ${3 * memory.cacheMax} tokens` };
  }
  const fillGrowth = fill.heapUsed - memory.baseline.heapUsed;
  const finalGrowth = last.heapUsed - memory.baseline.heapUsed;
  const limit = 1.25 * fillGrowth + 4 * 2 ** 20;
  const cacheOk = last.cacheSize === null || last.cacheSize <= memory.cacheMax;
  return { evaluated: true, fillGrowth, finalGrowth, limit, pass: finalGrowth <= limit && cacheOk, cacheOk };
}

export function budget(summary, cold, flood, memories, scenarios = {}) {
  const rows = [];
  const add = (name, value, target, pass) => rows.push({ name, value, target, pass });
  // A throughput ratio passes only when both estimates meet it: the ratio of the medians and
  // the median of the per-round (paired) ratios. Under host noise they differ by a few percent;
  // a budget met by one and missed by the other is within the noise and counts as missed.
  const ratioRow = (scenario, key, name, minimum, info = false, id = 'express-m2m') => {
    const row = scenario?.[id];
    if (row === undefined) return;
    const value = row[key];
    const paired = row[`paired${key[0].toUpperCase()}${key.slice(1)}`];
    const lowest = Math.min(value, paired);
    const pass = Number.isFinite(lowest) ? lowest >= minimum : undefined;
    rows.push({
      name,
      value,
      paired,
      target: info ? `(≥ ${minimum.toFixed(2)})` : `≥ ${minimum.toFixed(2)}`,
      pass,
      info,
    });
  };
  ratioRow(summary.same, 'vsNoAuth', 'Same token: express-m2m ÷ no-auth', BUDGET.sameVsNoAuth);
  ratioRow(summary.same, 'vsPeer', 'Same token: express-m2m ÷ express-oauth2-jwt-bearer', BUDGET.sameVsPeer);
  // Not a budget line: how close to no-auth the least possible cached check gets, in the same run.
  ratioRow(
    summary.same,
    'vsNoAuth',
    'Same token: minimal cached middleware ÷ no-auth (the floor)',
    BUDGET.sameVsNoAuth,
    true,
    'minimal-cache',
  );
  // Not a budget line, but the same "reused token" promise in a busier state.
  ratioRow(summary.hot, 'vsNoAuth', 'Same token, cache full: express-m2m ÷ no-auth', BUDGET.sameVsNoAuth, true);
  ratioRow(
    summary.hot,
    'vsPeer',
    'Same token, cache full: express-m2m ÷ express-oauth2-jwt-bearer',
    BUDGET.sameVsPeer,
    true,
  );
  ratioRow(
    summary.distinct,
    'vsPeer',
    'New token per request: express-m2m ÷ express-oauth2-jwt-bearer',
    BUDGET.distinctVsPeer,
  );
  ratioRow(summary.distinct, 'vsJose', 'New token per request: express-m2m ÷ hand-written jose', BUDGET.distinctVsJose);
  ratioRow(summary.badsig, 'vsPeer', 'Bad signature: express-m2m ÷ express-oauth2-jwt-bearer', BUDGET.badsigVsPeer);
  ratioRow(
    summary.dpop,
    'vsPeer',
    'DPoP, fresh proof per request: express-m2m ÷ express-oauth2-jwt-bearer',
    BUDGET.dpopVsPeer,
  );
  const fifty = summary.issuers?.['express-m2m-50-issuers'];
  if (fifty !== undefined) {
    const lowest = Math.min(fifty.vsSingle, fifty.pairedVsSingle);
    rows.push({
      name: '50 issuers, same token: express-m2m (50 issuers) ÷ express-m2m (1 issuer)',
      value: fifty.vsSingle,
      paired: fifty.pairedVsSingle,
      target: `≥ ${BUDGET.issuersVsSingle.toFixed(2)}`,
      pass: Number.isFinite(lowest) ? lowest >= BUDGET.issuersVsSingle : undefined,
    });
  }
  const rss = rssRatios(scenarios);
  if (rss.length > 0) {
    const worst = rss.reduce((a, b) => (b.ratio > a.ratio ? b : a));
    rows.push({
      name: `Memory: RSS after the timed rounds, express-m2m ÷ express-oauth2-jwt-bearer (worst of ${rss.length} scenario(s): ${worst.scenario})`,
      value: worst.ratio,
      target: `≤ ${BUDGET.rssVsPeer.toFixed(2)}`,
      pass: worst.ratio <= BUDGET.rssVsPeer,
      ratio: true,
    });
  }
  const coldM2M = cold?.find((c) => c.id === 'express-m2m');
  if (coldM2M) {
    add(
      `Cold start (${coldM2M.requests} concurrent): discovery fetches`,
      coldM2M.discovery,
      '= 1',
      coldM2M.discovery === 1,
    );
    add(`Cold start (${coldM2M.requests} concurrent): JWKS fetches`, coldM2M.jwks, '= 1', coldM2M.jwks === 1);
    const ok = coldM2M.statuses[200] ?? 0;
    add('Cold start: requests answered 200', ok, `= ${coldM2M.requests}`, ok === coldM2M.requests);
  }
  const floodM2M = flood?.find((f) => f.id === 'express-m2m');
  if (floodM2M) {
    add(
      `Kid flood (${floodM2M.requests} tokens, ${floodM2M.run.seconds.toFixed(1)} s): JWKS fetches`,
      floodM2M.jwks,
      `≤ ${floodM2M.allowed} (1 per ${COOLDOWN} s cooldown window)`,
      floodM2M.jwks <= floodM2M.allowed,
    );
    add('Kid flood: 5xx answers', floodM2M.run.status5xx, '= 0', floodM2M.run.status5xx === 0);
    add('Kid flood: a valid token right after the flood', floodM2M.after, '= 200', floodM2M.after === 200);
  }
  for (const memory of memories ?? []) {
    const verdict = memoryVerdict(memory);
    if (!verdict.evaluated) continue;
    add(
      `Memory (${memory.alg}, ${memory.tokens.toLocaleString('en-US')} tokens): heap growth`,
      verdict.finalGrowth,
      `≤ 1.25 × growth at ${(2 * memory.cacheMax).toLocaleString('en-US')} tokens + 4 MiB = ${(verdict.limit / 2 ** 20).toFixed(1)} MiB`,
      verdict.pass,
    );
  }
  return rows;
}
