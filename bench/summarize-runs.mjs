#!/usr/bin/env node
/**
 * Puts the budget verdicts of several runs side by side, with the run-to-run spread and each
 * line's margin against it: `node bench/summarize-runs.mjs bench/results/run1.json run2.json …`
 * (the `.json` files `bench/run.mjs --out FILE.md` writes next to its report). Prints Markdown.
 *
 * For a ratio line the margin is how far the worst run is from the threshold, in percent of the
 * threshold (negative: missed in at least one run); the spread is (largest − smallest) ÷ median
 * of the runs, the noise a single run carries. A line whose margin is smaller than its spread is
 * not settled by these runs either way.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node bench/summarize-runs.mjs RUN1.json RUN2.json …');
  process.exit(2);
}
const runs = files.map((file) => ({ file: basename(file), data: JSON.parse(readFileSync(file, 'utf8')) }));

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** A budget row's value for the verdict: the lower of the two estimates for a ratio line. */
function effective(row) {
  if (typeof row.value !== 'number') return NaN;
  return typeof row.paired === 'number' && Number.isFinite(row.paired) ? Math.min(row.value, row.paired) : row.value;
}

function threshold(target) {
  const match = /([≥≤=])\s*([\d.]+)/.exec(target ?? '');
  return match ? { sign: match[1], value: Number(match[2]) } : undefined;
}

// Rows are matched by name; a name carrying a scenario list (the RSS line) is matched by its start.
const key = (name) => name.replace(/\s*\(worst of.*\)$/, '').replace(/\(\d[\d,]* (tokens|concurrent)[^)]*\)/, '');
const names = [];
for (const run of runs)
  for (const row of run.data.budget ?? []) if (!row.info && !names.includes(key(row.name))) names.push(key(row.name));

const lines = [];
lines.push(
  `| budget line | ${runs.map((r, i) => `run ${i + 1}`).join(' | ')} | spread | budget | margin of the worst run | verdict |`,
);
lines.push(`| --- | ${runs.map(() => '---:').join(' | ')} | ---: | ---: | ---: | --- |`);
for (const name of names) {
  const rows = runs.map((run) => (run.data.budget ?? []).find((row) => key(row.name) === name));
  const values = rows.map((row) => (row ? effective(row) : NaN));
  const ratio = rows.some((row) => row?.name.includes('÷'));
  const limit = threshold(rows.find(Boolean)?.target);
  const finite = values.filter(Number.isFinite);
  const cell = (v, row) =>
    !Number.isFinite(v)
      ? 'n/a'
      : ratio
        ? `${v.toFixed(2)}×`
        : row?.name.startsWith('Memory (')
          ? `${(v / 2 ** 20).toFixed(1)} MiB`
          : String(v);
  let spread = '';
  let margin = '';
  let verdict = rows.every((row) => row?.pass === true)
    ? 'met in every run'
    : rows.every((row) => row?.pass === false)
      ? '**missed in every run**'
      : `met in ${rows.filter((row) => row?.pass === true).length} of ${rows.length}`;
  if (ratio && finite.length > 0 && limit) {
    const mid = median(finite);
    spread = `${(((Math.max(...finite) - Math.min(...finite)) / mid) * 100).toFixed(0)}%`;
    const worst = limit.sign === '≤' ? Math.max(...finite) : Math.min(...finite);
    const m = limit.sign === '≤' ? (limit.value - worst) / limit.value : (worst - limit.value) / limit.value;
    margin = `${m >= 0 ? '+' : ''}${(m * 100).toFixed(0)}%`;
    const spreadFraction = (Math.max(...finite) - Math.min(...finite)) / mid;
    if (Math.abs(m) < spreadFraction) verdict += ' (margin within the noise)';
  }
  lines.push(
    `| ${name} | ${values.map((v, i) => cell(v, rows[i])).join(' | ')} | ${spread} | ${rows.find(Boolean)?.target ?? ''} | ${margin} | ${verdict} |`,
  );
}
console.log(lines.join('\n'));
console.log(
  `\nRuns: ${runs.map((r, i) => `run ${i + 1} = ${r.file} (${r.data.env?.date ?? '?'}, load at start ${(r.data.env?.loadavgStart ?? []).map((v) => v.toFixed(2)).join('/')})`).join('; ')}. ` +
    'Ratio figures are the lower of the ratio of medians and the paired ratio, as `--check` judges them.',
);
