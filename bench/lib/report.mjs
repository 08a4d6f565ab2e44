/**
 * Markdown rendering of the benchmark results.
 */
import { BUDGET_TABLE, rssRatios } from './budget.mjs';
import { CACHE_MAX, COOLDOWN } from './options.mjs';

const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const ms = (n) => (Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n.toFixed(n >= 10 ? 1 : 2)) : 'n/a');
const ratio = (n) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : '—');
const mib = (bytes) => (Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : 'n/a');
const statusList = (statuses) =>
  Object.entries(statuses)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, n]) => `${code}×${int(n)}`)
    .join(', ') || '—';

const fmtLoad = (values) => (values ?? []).map((v) => v.toFixed(2)).join(' / ');
const pct = (fraction) => (fraction === null || fraction === undefined ? 'n/a' : `${Math.round(fraction * 100)}%`);

function table(header, rows) {
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map((h, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

function environmentSection(env, command, options) {
  const lines = [];
  lines.push('## Machine and versions', '');
  lines.push(
    table(
      ['', ''],
      [
        ['Date', env.date],
        ['CPU', `${env.cpu}, ${env.cores} cores (available parallelism ${env.availableParallelism})`],
        ['Memory', env.memory],
        ['OS', env.os],
        ['Node.js', `${env.node} (V8 ${env.v8})`],
        ['express-m2m commit', `${env.commit ?? 'unknown'}${env.srcDirty ? ' + uncommitted changes in src/' : ''}`],
        ...(options.label ? [['Code under test', options.label]] : []),
        ['Build', env.build],
        [
          'Load average (1/5/15 min)',
          `at start ${fmtLoad(env.loadavgStart)}${env.loadavgEnd ? `; at end ${fmtLoad(env.loadavgEnd)}` : ''}`,
        ],
      ],
    ).replace('| --- | ---: |', '| --- | --- |'),
  );
  lines.push(
    '',
    table(
      ['package', 'version'],
      env.packages.map((p) => [p.name, p.version]),
    ),
  );
  lines.push('', `Command: \`${command}\` (mode: ${options.mode}).`);
  return lines.join('\n');
}

function settingsLine(options) {
  return (
    `${options.rounds} interleaved round(s) × ${options.duration} s per contender and scenario, ` +
    `${options.warmup} s warm-up, ${options.connections} connections, pipelining 1, autocannon in the parent process, ` +
    `each app in its own child process on 127.0.0.1 (a new one for every round), Express 5. Figures are medians over the rounds; ratios are ratios of the medians. ` +
    `Disturbance: "other CPU" is the largest share of the machine used by processes outside the benchmark during a kept run (from /proc); ` +
    `"host speed" is the slowest CPU probe (a fixed loop run just before and after each run) relative to the best probe of the session, ` +
    `which exposes contention /proc cannot see. "App CPU" is the CPU time the app's process was charged per request ` +
    `(median over the rounds), in all its threads and in its main thread (the event loop) alone; ` +
    `work on libuv's thread pool counts only in the first. ` +
    (options.retries > 0
      ? `A run with other CPU above ${Math.round(options.maxOtherCpu * 100)}% or host speed below ${Math.round((1 - options.maxSlowdown) * 100)}% ` +
        `was repeated up to ${options.retries} time(s) (after waiting up to ${options.quietWait} s for quiet); the first undisturbed attempt is kept, or else the least disturbed one.`
      : 'Disturbed runs are not repeated in this mode.')
  );
}

const SCENARIO_NOTES = {
  same: 'Every request carries the same valid token.',
  hot: `Like scenario 1, but each app has first answered ${int(CACHE_MAX)} requests with distinct valid tokens, so express-m2m's token cache is full (the state of a busy API with many callers) when the one hot token is measured.`,
  distinct: (options) =>
    `${int(options.tokens)} distinct valid tokens in rotation (one per request, all connections share the rotation; ` +
    `each contender resumes where its previous run stopped). ${
      options.tokens > CACHE_MAX
        ? `More tokens than express-m2m's cache.max (${int(CACHE_MAX)}), so its LRU cache never hits: every request is a full verification.`
        : `**Fewer tokens than express-m2m's cache.max (${int(CACHE_MAX)}): express-m2m gets cache hits here; this is not the budget's "new token on every request".**`
    }`,
  badsig:
    'Every request carries the same token with a valid kid but a signature made by another key; every auth contender must answer 401 (no-auth answers 200: it is only the ceiling).',
  dpop:
    'Every request carries `Authorization: DPoP <token>` — one token bound to an ES256 key (`cnf.jkt`) — and a `DPoP` header with a proof used once: ' +
    'a unique `jti`, the current `iat`, `htm`/`htu` of the request and `ath` of the token. The proofs are signed with node:crypto before each run ' +
    '(a batch per contender and run, sized from the fastest rate seen), not while it is measured. express-m2m runs with its defaults: `dpop.mode` ' +
    "`'allowed'` and the in-memory replay store, which records every `jti`; express-oauth2-jwt-bearer with `dpop: { enabled: true }` (it keeps no replay store). " +
    'Only contenders that check DPoP run here; no-auth is the ceiling.',
  issuers:
    'The same token on every request, to express-m2m configured with one issuer and to express-m2m configured with 50 (`issuers`: 49 other tenants, each with its own discovery URL, then the real one). Nothing is fetched for an issuer no token names.',
};

function scenarioSection(key, result, summary, options) {
  const note = typeof SCENARIO_NOTES[key] === 'function' ? SCENARIO_NOTES[key](options) : SCENARIO_NOTES[key];
  const expectedLabel = key === 'badsig' ? 'not 401' : 'non-2xx';
  const rows = Object.entries(summary).map(([id, row]) => [
    id === 'express-m2m' ? '**express-m2m**' : id,
    int(row.rps),
    ms(row.p50),
    ms(row.p99),
    `${int(key === 'badsig' && id === 'no-auth' ? 0 : row.unexpected)}${row.errors ? ` (${int(row.errors)} errors)` : ''}`,
    ...(key === 'issuers' ? [ratio(row.vsSingle)] : [ratio(row.vsNoAuth), ratio(row.vsPeer)]),
    row.perRound.map((v) => int(v)).join(' / '),
    Number.isFinite(row.cpuPerRequest) ? `${int(row.cpuPerRequest)} / ${int(row.loopCpuPerRequest)}` : '—',
    `${pct(row.foreignCpu)} / ${pct(row.hostSpeed)}${row.repeated ? ` (${row.repeated} repeated${row.disturbed ? `, ${row.disturbed} still disturbed` : ''})` : ''}`,
  ]);
  const lines = [`### ${result.title}`, '', note, ''];
  lines.push(
    table(
      [
        'contender',
        'req/s',
        'p50 ms',
        'p99 ms',
        expectedLabel,
        ...(key === 'issuers' ? ['× 1 issuer'] : ['× no-auth', '× oauth2-jwt-bearer']),
        'req/s per round',
        'app CPU µs/req (all / event loop)',
        'other CPU / host speed',
      ],
      rows,
    ),
  );
  if (key === 'distinct') {
    const built = Object.entries(summary)
      .map(([id, row]) => `${id} ${int(row.tokensPerRun)}`)
      .join(', ');
    lines.push('', `Tokens built per run (median, one per request): ${built}.`);
  }
  if (key === 'dpop') {
    const proofs = Object.entries(summary)
      .map(([id, row]) => `${id} ${int(row.tokensPerRun)}`)
      .join(', ');
    const onDemand = Object.values(result.runs)
      .flat()
      .reduce((sum, run) => sum + (run.proofsOnDemand ?? 0), 0);
    lines.push(
      '',
      `Proofs sent per run (median, one per request): ${proofs}; minted during a measured run because its batch ran out: ${int(onDemand)}.`,
    );
  }
  return lines.join('\n');
}

function dpopPrecheckSection(result) {
  const rows = Object.entries(result.prechecks).map(([id, { expected, observed }]) => {
    const cell = (k) =>
      observed[k] === expected[k] ? String(observed[k]) : `**${observed[k]}** (expected ${expected[k]})`;
    return [id, cell('valid'), cell('none'), cell('replayed'), cell('bearer')];
  });
  return [
    '### Pre-check of the DPoP scenario',
    '',
    table(['contender', 'token + fresh proof', 'no token', 'the same proof again', 'bound token as Bearer'], rows),
    '',
    'express-oauth2-jwt-bearer accepts a replayed proof: it keeps no record of `jti`s. express-m2m must refuse it.',
  ].join('\n');
}

/** RSS and heap of every app after the timed rounds of each scenario. */
function appMemorySection(scenarios) {
  const rows = [];
  for (const [key, result] of Object.entries(scenarios)) {
    const peer = result.memory?.['express-oauth2-jwt-bearer'];
    for (const [id, m] of Object.entries(result.memory ?? {})) {
      if (m === undefined) continue;
      rows.push([
        key,
        id === 'express-m2m' ? '**express-m2m**' : id,
        mib(m.rss),
        `${mib(m.rssAfterGc)}${m.readings?.length > 1 ? ` (${m.readings.map((v) => (v / 2 ** 20).toFixed(0)).join(' / ')})` : ''}`,
        peer?.rssAfterGc > 0 ? ratio(m.rssAfterGc / peer.rssAfterGc) : '—',
        mib(m.heapUsed),
        mib(m.external),
        mib(m.peakRss),
      ]);
    }
  }
  if (rows.length === 0) return '';
  const worst = rssRatios(scenarios).reduce((a, b) => (a === undefined || b.ratio > a.ratio ? b : a), undefined);
  return [
    '## Memory of the apps after the timed rounds',
    '',
    'Read from each app process after every measured run (outside the measured time): RSS as it was, then RSS and heap after two ' +
      'forced full GCs (the apps run with `--expose-gc`) and external memory (buffers); each figure is the median over the rounds ' +
      '(RSS after the GCs per round in brackets, MiB), and the peak RSS (VmHWM) the largest reading. ' +
      "The memory budget line compares the median RSS after the GCs, express-m2m's with express-oauth2-jwt-bearer's, " +
      `in every scenario both ran in${worst ? `; the worst is ${worst.scenario} (${ratio(worst.ratio)})` : ''}.`,
    '',
    table(
      ['scenario', 'contender', 'RSS', 'RSS after GC', '× oauth2-jwt-bearer', 'heap after GC', 'external', 'peak RSS'],
      rows,
    ),
  ].join('\n');
}

function precheckSection(scenarios) {
  const first = Object.values(scenarios)[0];
  if (!first) return '';
  const rows = Object.entries(first.prechecks).map(([id, { expected, observed }]) => {
    const cell = (k) =>
      observed[k] === expected[k] ? String(observed[k]) : `**${observed[k]}** (expected ${expected[k]})`;
    return [id, cell('valid'), cell('none'), cell('badSignature'), cell('noScope')];
  });
  return [
    '### Pre-check (one request each, before measuring)',
    '',
    table(['contender', 'valid token', 'no token', 'bad signature', 'scope missing'], rows),
  ].join('\n');
}

function coldSection(cold, options) {
  const rows = cold.map((c) => [
    c.id === 'express-m2m' ? '**express-m2m**' : c.id,
    c.id === 'express-jwt' || c.id === 'jose' ? `${c.discovery} (configured jwksUri)` : String(c.discovery),
    String(c.jwks),
    statusList(c.statuses),
    ms(c.firstMs),
    ms(c.wallMs),
  ]);
  return [
    `### 4. Cold start: ${int(options.cold)} concurrent requests`,
    '',
    `A freshly started app receives ${int(options.cold)} concurrent requests (one connection each, distinct valid tokens) while ` +
      `the issuer delays every discovery and JWKS answer by ${options.coldDelay} ms, as a remote issuer would. ` +
      'Fetches counted at the issuer. express-jwt + jwks-rsa and the hand-written jose middleware are configured with the JWKS URL and issuer, so they do no discovery.',
    '',
    table(['contender', 'discovery fetches', 'JWKS fetches', 'statuses', 'first answer ms', 'all answered ms'], rows),
  ].join('\n');
}

function floodSection(flood, options) {
  const rows = flood.map((f) => [
    f.id === 'express-m2m' ? '**express-m2m**' : f.id,
    String(f.jwks),
    String(f.discovery),
    int(f.run.status5xx),
    statusList(f.run.statuses),
    f.run.seconds.toFixed(1),
    String(f.after),
  ]);
  return [
    `### 5. Kid flood: ${int(options.flood)} tokens with unknown kids`,
    '',
    'Each app is started, answers one valid request (its initial discovery/JWKS fetches), then the issuer counters are reset and ' +
      `${int(options.flood)} requests arrive over ${options.connections} connections, each token with a different kid that no JWKS publishes. ` +
      `Budget for express-m2m: at most one JWKS fetch per ${COOLDOWN} s cooldown window, i.e. ≤ 1 + ⌊flood seconds ÷ ${COOLDOWN}⌋ fetches ` +
      `during the flood (≤ 1 for any flood shorter than ${COOLDOWN} s; since the initial fetch happened just before, the cooldown rule alone predicts 0), no 5xx, and a valid token still accepted afterwards.`,
    '',
    table(['contender', 'JWKS fetches', 'discovery fetches', '5xx', 'statuses', 'flood s', 'valid token after'], rows),
  ].join('\n');
}

function microSection(micro) {
  const widths = micro.concurrency;
  const cell = (r, w) => {
    const other = r.foreignCpu?.[w];
    return `${int(r.opsPerSecond[w])}${other !== null && other !== undefined && other > 0.05 ? ` (other CPU ${pct(other)})` : ''}`;
  };
  const rows = micro.results.map((r) => [r.name, ...widths.map((w) => cell(r, w))]);
  return [
    '## Micro-benchmark (in-process)',
    '',
    `One process, RS256 (2048-bit), issuer on 127.0.0.1 in-process (nothing external); the cases run interleaved over ${micro.rounds ?? 1} round(s) ` +
      `of ${micro.seconds} s each (after a warm-up) and each figure is the median of its rounds; ` +
      `distinct tokens: ${int(micro.tokens)} in rotation. "Concurrency N" keeps N verifications in flight. ` +
      'A figure measured while other processes used more than 5% of the machine says so.',
    '',
    table(['case', ...widths.map((w) => `ops/s @ concurrency ${w}`)], rows),
  ].join('\n');
}

function memorySection(memories, verdicts) {
  const lines = ['## Memory: distinct tokens through `verify()` with the default cache', ''];
  lines.push(
    'Each run is its own process started with `--expose-gc`; the heap is read after two `global.gc()` calls. Tokens are minted one at a time, each verified twice (a caller reusing its token: the hit keeps it in the cache, which so fills to cache.max), ' +
      '(node:crypto over a pre-encoded header: HMAC for HS256, RSA for RS256) and dropped after `verify()`, so the heap only holds what the verifier keeps. ' +
      'HS256 (`createVerifier({ secret, issuer, audience })`) makes a million tokens affordable: it takes the same `verify()` and cache path, with a shorter signature. ' +
      'RS256 goes through discovery and the JWKS of an in-process issuer, with realistic token sizes, on fewer tokens (RSA signing costs ~0.3 ms per token).',
    '',
  );
  const rows = memories.map((m, i) => {
    const at = (n) => m.samples.find((s) => s.tokens === n);
    const fill = at(2 * m.cacheMax);
    const last = m.samples.at(-1);
    const v = verdicts[i];
    return [
      m.alg,
      int(m.tokens),
      String(m.tokenLength),
      mib(m.baseline.heapUsed),
      fill ? mib(fill.heapUsed) : 'n/a',
      mib(last?.heapUsed),
      mib((last?.heapUsed ?? NaN) - m.baseline.heapUsed),
      last?.cacheSize === null || last?.cacheSize === undefined ? 'n/a' : int(last.cacheSize),
      fill ? `${int((fill.heapUsed - m.baseline.heapUsed) / (fill.cacheSize ?? m.cacheMax))} B` : 'n/a',
      `${int(m.tokens / (m.durationMs / 1000))}/s`,
      v.evaluated ? (v.pass ? 'bounded' : '**grows**') : `n/a (${v.note})`,
    ];
  });
  lines.push(
    table(
      [
        'alg',
        'tokens',
        'token chars',
        'heap before',
        `heap at 2×cache.max`,
        'heap after',
        'growth',
        'cache entries',
        'bytes per entry',
        'mint+verify rate',
        'verdict',
      ],
      rows,
    ),
  );
  for (const m of memories) {
    lines.push(
      '',
      `<details><summary>${m.alg} heap samples</summary>`,
      '',
      table(
        ['tokens', 'heapUsed', 'rss', 'cache entries'],
        m.samples.map((s) => [
          int(s.tokens),
          mib(s.heapUsed),
          mib(s.rss),
          s.cacheSize === null ? 'n/a' : int(s.cacheSize),
        ]),
      ),
      '',
      '</details>',
    );
  }
  return lines.join('\n');
}

function budgetSection(rows, options) {
  const value = (row) => {
    if (typeof row.value !== 'number') return String(row.value);
    if (row.ratio) return ratio(row.value);
    if (row.name.startsWith('Memory')) return mib(row.value);
    return row.name.includes('÷') ? ratio(row.value) : int(row.value);
  };
  const verdict = (row) =>
    row.info
      ? row.pass === true
        ? 'meets it (not checked)'
        : row.pass === false
          ? '**below** (not checked)'
          : 'not evaluated'
      : row.pass === true
        ? 'pass'
        : row.pass === false
          ? '**MISS**'
          : 'not evaluated';
  return [
    '## Budget',
    '',
    BUDGET_TABLE,
    '',
    '### Verdicts of this run',
    '',
    options.mode === 'smoke'
      ? '_Smoke run: timings are not meaningful; budgets are shown for completeness only._\n'
      : '',
    table(
      ['check', 'measured', 'paired', 'budget', 'verdict'],
      rows.map((r) => [r.name, value(r), r.paired === undefined ? '' : ratio(r.paired), r.target, verdict(r)]),
    ),
    '',
    '"measured" is the ratio of the medians over the rounds; "paired" is the median of the per-round ratios ' +
      '(each round runs the contenders back to back, so a change of host speed between rounds cancels out). ' +
      'A throughput budget passes only when both meet it.',
    rows.some((r) => r.info)
      ? '\nRows marked "not checked" apply the reused-token budget to a state the budget does not name; `--check` ignores them.'
      : '',
  ].join('\n');
}

export function renderReport(data) {
  const { env, options, command, summary, scenarios } = data;
  const parts = [`# express-m2m benchmark`, '', environmentSection(env, command, options), ''];
  if (data.budget?.length) parts.push(budgetSection(data.budget, options), '');
  if (Object.keys(scenarios).length > 0 || data.cold || data.flood) {
    parts.push('## HTTP scenarios', '', settingsLine(options), '');
    for (const key of Object.keys(scenarios))
      parts.push(scenarioSection(key, scenarios[key], summary[key], options), '');
    if (data.cold) parts.push(coldSection(data.cold, options), '');
    if (data.flood) parts.push(floodSection(data.flood, options), '');
    const plain = Object.fromEntries(Object.entries(scenarios).filter(([key]) => key !== 'dpop'));
    if (Object.keys(plain).length > 0) parts.push(precheckSection(plain), '');
    if (scenarios.dpop) parts.push(dpopPrecheckSection(scenarios.dpop), '');
    const memory = appMemorySection(scenarios);
    if (memory) parts.push(memory, '');
  }
  if (data.micro) parts.push(microSection(data.micro), '');
  if (data.memory?.length)
    parts.push(
      memorySection(data.memory, data.memoryVerdicts ?? data.memory.map(() => ({ evaluated: false, note: '' }))),
      '',
    );
  if (data.sanity.length > 0) parts.push('## Sanity failures', '', ...data.sanity.map((s) => `- ${s}`), '');
  parts.push(`_Total run time: ${Math.round(data.elapsedSeconds)} s._`, '');
  return parts.join('\n');
}

export function renderProfileReport({ env, options, profiles, command }) {
  const parts = ['# express-m2m CPU profile', '', environmentSection(env, command, options), ''];
  parts.push(
    `Each contender ran in its own process under \`node --cpu-prof\` for ${options.duration} s (after ${options.warmup} s of warm-up) at ` +
      `${options.connections} connections; self time is time spent in the function itself, total time includes its callees. ` +
      'Percentages are of the non-idle samples; µs/request divides by every request the process served, so profiles of different ' +
      'versions compare directly. Total time of an `async` function only covers its part before the first `await`; what follows ' +
      'runs under `processTicksAndRejections`. Throughput under the profiler is lower than in a normal run.',
    '',
  );
  for (const p of profiles) {
    const s = p.summary;
    const perRequest = (msValue) => ((msValue * 1000) / p.requests).toFixed(1);
    const title = {
      same: 'same token',
      hot: 'same token after 10,000 other tokens',
      distinct: 'new token per request',
      dpop: 'DPoP-bound token, a fresh proof per request',
    }[p.scenario];
    parts.push(`## ${p.id}, ${title}`, '');
    parts.push(
      `${int(p.run.rps)} req/s, p99 ${ms(p.run.p99)} ms, statuses ${statusList(p.run.statuses)}; ` +
        `${(s.totalMs / 1000).toFixed(1)} s busy, ${(s.idleMs / 1000).toFixed(1)} s idle over ${int(p.requests)} requests ` +
        `(pre-check, warm-up and run): **${perRequest(s.totalMs)} µs of CPU per request**; profile: \`${p.file}\`.`,
      '',
    );
    parts.push(
      'Self time by origin:',
      '',
      table(
        ['origin', 'self ms', '%', 'µs/request'],
        s.origins.slice(0, 12).map((o) => [o.origin, int(o.ms), o.pct.toFixed(1), perRequest(o.ms)]),
      ),
      '',
    );
    parts.push(
      'Top functions by self time:',
      '',
      table(
        ['function', 'self %', 'self µs/request', 'total %'],
        s.functions.map((f) => [`\`${f.name}\``, f.selfPct.toFixed(1), perRequest(f.selfMs), f.totalPct.toFixed(1)]),
      ),
      '',
    );
    if (s.ownTotals.length > 0) {
      parts.push(
        'express-m2m functions by total (inclusive) time:',
        '',
        table(
          ['function', 'total %'],
          s.ownTotals.map((f) => [`\`${f.name}\``, f.totalPct.toFixed(1)]),
        ),
        '',
      );
    }
  }
  return parts.join('\n');
}
