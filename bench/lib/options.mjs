/**
 * Command-line options of `bench/run.mjs`, with the defaults of each mode.
 */
import { parseArgs } from 'node:util';
import { BUDGET } from './budget.mjs';

/** The contenders of a default run. */
export const CONTENDERS = [
  'no-auth',
  'express-m2m',
  'express-oauth2-jwt-bearer',
  'express-jwt',
  'jose',
  'fast-jwt',
  'minimal-cache',
];
/**
 * Also available with --contenders: express-m2m with `offloadSignatures: false` (signatures
 * checked on the event loop). `express-m2m-50-issuers` (50 trusted issuers) runs in the `issuers`
 * scenario whenever express-m2m does.
 */
export const OPTIONAL_CONTENDERS = ['express-m2m-sync', 'express-m2m-50-issuers'];
export const SCENARIOS = ['same', 'hot', 'distinct', 'badsig', 'dpop', 'issuers', 'cold', 'flood'];

/** Contenders that accept DPoP-bound tokens with proofs (no-auth takes anything: the ceiling). */
const DPOP_CONTENDERS = ['no-auth', 'express-m2m', 'express-oauth2-jwt-bearer', 'express-m2m-sync'];

/** The contenders a scenario runs, in the order given: each scenario compares only what it can. */
export function scenarioContenders(scenario, contenders) {
  // The minimal cached middleware is the floor of the reused-token scenario only.
  const plain = contenders.filter(
    (id) => id !== 'express-m2m-50-issuers' && (id !== 'minimal-cache' || scenario === 'same'),
  );
  switch (scenario) {
    case 'dpop':
      return plain.filter((id) => DPOP_CONTENDERS.includes(id));
    case 'issuers':
      // The single-issuer figure and the 50-issuer one, back to back.
      return contenders.includes('express-m2m') ? ['express-m2m', 'express-m2m-50-issuers'] : [];
    case 'cold':
    case 'flood':
      return plain.filter((id) => id !== 'no-auth');
    default:
      return plain;
  }
}
export const PARTS = ['http', 'micro', 'memory'];

/** The default `cache.max` of express-m2m's verified-token cache. */
export const CACHE_MAX = 10_000;
/** The default `jwks.cooldown` of express-m2m, in seconds. */
export const COOLDOWN = 30;

const CACHE_MAX_DEFAULT = 10_000;

const MODES = {
  full: {
    requests: undefined,
    prefill: CACHE_MAX_DEFAULT,
    rounds: 3,
    duration: 5,
    warmup: 2,
    connections: 50,
    tokens: BUDGET.distinctTokens,
    flood: 2_000,
    cold: 500,
    coldDelay: 200,
    microSeconds: 1,
    microRounds: 3,
    memoryTokens: 1_000_000,
    memoryRsaTokens: 50_000,
    timeout: 30,
    maxOtherCpu: 10,
    maxSlowdown: 15,
    retries: 2,
    quietWait: 30,
  },
  quick: {
    requests: undefined,
    prefill: CACHE_MAX_DEFAULT,
    rounds: 3,
    duration: 2,
    warmup: 1,
    connections: 50,
    tokens: BUDGET.distinctTokens,
    flood: 2_000,
    cold: 500,
    coldDelay: 200,
    microSeconds: 0.5,
    microRounds: 2,
    memoryTokens: 100_000,
    memoryRsaTokens: 25_000,
    timeout: 20,
    maxOtherCpu: 10,
    maxSlowdown: 15,
    retries: 2,
    quietWait: 15,
  },
  smoke: {
    rounds: 1,
    duration: 1,
    // A fixed number of requests per run instead of a duration (autocannon times in whole seconds).
    requests: 300,
    prefill: 300,
    warmup: 0,
    connections: 50,
    tokens: 2_000,
    flood: 200,
    cold: 100,
    coldDelay: 100,
    microSeconds: 0.2,
    microRounds: 1,
    memoryTokens: 25_000,
    memoryRsaTokens: 2_000,
    timeout: 10,
    maxOtherCpu: 100,
    maxSlowdown: 100,
    retries: 0,
    quietWait: 0,
  },
};

export const USAGE = `Usage: node bench/run.mjs [options]        (npm run bench -- [options])

Modes (defaults differ, explicit options win):
  (none)                 full run: 3 rounds x 5 s, 25,000 rotating tokens, micro 3 rounds x 1 s/case,
                         memory 1,000,000 HS256 + 50,000 RS256 tokens (about 17 minutes)
  --quick                3 rounds x 2 s, shorter micro-bench and memory check (about 3 minutes)
  --smoke                1 round x 300 requests, tiny micro/memory: checks that the harness works (CI);
                         never fails on timing
  --profile              no comparison: run express-m2m (or --contenders) under the same-token and
                         distinct-token load (or --scenarios same,hot,distinct,dpop) with node --cpu-prof
                         and print the top self-time functions

Options:
  --rounds N             interleaved rounds (A B C D E, A B C D E, ...)          [3]
  --duration S           seconds per measured run                               [5]
  --warmup S             seconds of warm-up load per contender and scenario      [2]
  --requests N           a fixed number of requests per measured run instead of
                         --duration (smoke: 300)
  --connections N        autocannon connections                                 [50]
  --tokens N             distinct valid tokens in rotation (scenario 2); keep it
                         above cache.max (10,000) so express-m2m gets no cache hits [25000]
  --flood N              requests with unknown kids (scenario 5)                [2000]
  --cold N               concurrent requests on a cold start (scenario 4)       [500]
  --cold-delay MS        issuer answer delay during the cold start               [200]
  --contenders a,b       subset of: ${CONTENDERS.join(', ')} (the default), and
                         ${OPTIONAL_CONTENDERS.join(', ')} (express-m2m with offloadSignatures: false)
  --scenarios a,b        subset of: ${SCENARIOS.join(', ')}
                         (hot = the same token once the apps have seen 10,000 other tokens;
                         dpop = one DPoP-bound token, a fresh ES256 proof per request;
                         issuers = the same token, express-m2m with 1 and with 50 issuers)
  --parts a,b            subset of: ${PARTS.join(', ')}                     [all]
  --micro-seconds S      seconds per micro-benchmark measurement                [1]
  --micro-rounds N       interleaved rounds of the micro-benchmark (median)      [3]
  --memory-tokens N      HS256 tokens through verify() in the memory check       [1000000]
  --memory-rsa-tokens N  RS256 tokens through verify() in the memory check       [50000]
  --max-other-cpu PCT    a run during which other processes used more than PCT% of the
                         machine is repeated (after waiting for quiet)                 [10]
  --max-slowdown PCT     a run before or after which a CPU probe ran more than PCT% slower
                         than the best probe is repeated too (host contention that /proc
                         cannot see, e.g. a neighbouring VM)                            [15]
  --retries N            repetitions of a disturbed run; the last attempt is kept       [2]
  --quiet-wait S         before each run, wait up to S seconds for the machine to be quiet [30]
  --check                exit 1 when a budget line (docs/BENCHMARKS.md, "Budget") is missed
  --skip-build           do not run tsc before benchmarking (dist/ must be current)
  --write-docs           also replace the results block of docs/BENCHMARKS.md
  --out FILE             Markdown report path                 [bench/results/latest.md]
  --label TEXT           names the code under test in the report (e.g. "before the cache change")
  --timeout MIN          watchdog: abort (exit 3) after MIN minutes              [30]
  --help

Exit codes: 0 fine; 1 a budget missed (--check); 2 harness or sanity failure
(a contender refused valid tokens, a child crashed, ...); 3 watchdog timeout.`;

const num = (value, name, { integer = false, min = 0 } = {}) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n)))
    throw new Error(`--${name}: invalid value ${value}`);
  return n;
};

const list = (value, allowed, name) => {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items)
    if (!allowed.includes(item)) throw new Error(`--${name}: unknown ${item} (allowed: ${allowed.join(', ')})`);
  return allowed.filter((item) => items.includes(item));
};

export function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      requests: { type: 'string' },
      connections: { type: 'string' },
      tokens: { type: 'string' },
      flood: { type: 'string' },
      cold: { type: 'string' },
      'cold-delay': { type: 'string' },
      contenders: { type: 'string' },
      scenarios: { type: 'string' },
      parts: { type: 'string' },
      'micro-seconds': { type: 'string' },
      'micro-rounds': { type: 'string' },
      'memory-tokens': { type: 'string' },
      'memory-rsa-tokens': { type: 'string' },
      check: { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'skip-build': { type: 'boolean', default: false },
      'write-docs': { type: 'boolean', default: false },
      out: { type: 'string' },
      label: { type: 'string' },
      timeout: { type: 'string' },
      'max-other-cpu': { type: 'string' },
      'max-slowdown': { type: 'string' },
      retries: { type: 'string' },
      'quiet-wait': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.smoke && values.quick) throw new Error('--smoke and --quick exclude each other');
  const mode = values.smoke ? 'smoke' : values.quick ? 'quick' : 'full';
  const d = MODES[mode];
  const options = {
    help: values.help,
    mode,
    check: values.check,
    profile: values.profile,
    skipBuild: values['skip-build'],
    writeDocs: values['write-docs'],
    out: values.out,
    label: values.label,
    rounds: values.rounds ? num(values.rounds, 'rounds', { integer: true, min: 1 }) : d.rounds,
    duration: values.duration ? num(values.duration, 'duration', { min: 0.5 }) : values.profile ? 10 : d.duration,
    warmup: values.warmup !== undefined ? num(values.warmup, 'warmup') : d.warmup,
    requests: values.requests ? num(values.requests, 'requests', { integer: true, min: 1 }) : d.requests,
    // Distinct tokens an app sees before the hot token is measured (scenario 1b).
    prefill: d.prefill,
    connections: values.connections ? num(values.connections, 'connections', { integer: true, min: 1 }) : d.connections,
    tokens: values.tokens ? num(values.tokens, 'tokens', { integer: true, min: 1 }) : d.tokens,
    flood: values.flood ? num(values.flood, 'flood', { integer: true, min: 1 }) : d.flood,
    cold: values.cold ? num(values.cold, 'cold', { integer: true, min: 1 }) : d.cold,
    coldDelay: values['cold-delay'] !== undefined ? num(values['cold-delay'], 'cold-delay') : d.coldDelay,
    microSeconds: values['micro-seconds']
      ? num(values['micro-seconds'], 'micro-seconds', { min: 0.05 })
      : d.microSeconds,
    microRounds: values['micro-rounds']
      ? num(values['micro-rounds'], 'micro-rounds', { integer: true, min: 1 })
      : d.microRounds,
    memoryTokens: values['memory-tokens']
      ? num(values['memory-tokens'], 'memory-tokens', { integer: true, min: 1 })
      : d.memoryTokens,
    memoryRsaTokens:
      values['memory-rsa-tokens'] !== undefined
        ? num(values['memory-rsa-tokens'], 'memory-rsa-tokens', { integer: true })
        : d.memoryRsaTokens,
    timeout: values.timeout ? num(values.timeout, 'timeout', { min: 1 }) : d.timeout,
    maxOtherCpu:
      (values['max-other-cpu'] !== undefined ? num(values['max-other-cpu'], 'max-other-cpu') : d.maxOtherCpu) / 100,
    maxSlowdown:
      (values['max-slowdown'] !== undefined ? num(values['max-slowdown'], 'max-slowdown') : d.maxSlowdown) / 100,
    retries: values.retries !== undefined ? num(values.retries, 'retries', { integer: true }) : d.retries,
    quietWait: values['quiet-wait'] !== undefined ? num(values['quiet-wait'], 'quiet-wait') : d.quietWait,
    contenders: values.contenders
      ? list(values.contenders, [...CONTENDERS, ...OPTIONAL_CONTENDERS], 'contenders')
      : values.profile
        ? ['express-m2m']
        : [...CONTENDERS],
    scenarios: values.scenarios
      ? list(values.scenarios, SCENARIOS, 'scenarios')
      : values.profile
        ? ['same', 'distinct']
        : [...SCENARIOS],
    parts: values.parts ? list(values.parts, PARTS, 'parts') : values.profile ? ['http'] : [...PARTS],
  };
  if (options.profile)
    options.scenarios = options.scenarios.filter((s) => ['same', 'hot', 'distinct', 'dpop'].includes(s));
  return options;
}
