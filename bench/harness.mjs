/**
 * The benchmark harness every package uses: our code and the named peers run side by side in one
 * process and one run (tinybench), so the ratios are comparable even on a noisy shared machine.
 * Prints a markdown table (ops/s, ns/op, ratio to the baseline) and writes JSON to bench/results/.
 *
 *   import { suite } from './harness.mjs';
 *   await suite('retry: success path', { baseline: 'bare await' })
 *     .add('bare await', async () => { await fn(); })
 *     .add('@integ/retry', async () => { await retry(fn); })
 *     .run();
 *
 * Each sample runs a task `batch` times in a loop (default 100) and ns/op is the median sample divided
 * by the batch: timing single ~100 ns calls would mostly measure the timer. Pass `batch: 1` for slow tasks.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Bench } from 'tinybench';

const resultsDir = new URL('./results/', import.meta.url);

/** Runs `tasks` side by side; `baseline` names the task the ratios divide by. */
export function suite(name, { baseline, time = 1000, warmupTime = 200, iterations, batch = 100 } = {}) {
  const tasks = [];
  const api = {
    add(taskName, fn, options = {}) {
      tasks.push({ name: taskName, fn, options, batch: options.batch ?? batch });
      return api;
    },
    async run() {
      const bench = new Bench({ name, time, warmupTime, ...(iterations ? { iterations } : {}) });
      for (const task of tasks) {
        const { batch: _batch, ...options } = task.options;
        bench.add(task.name, batched(task.fn, task.batch), options);
      }
      await bench.run();
      return report(name, baseline ?? tasks[0]?.name, bench.tasks, tasks);
    },
  };
  return api;
}

function batched(fn, n) {
  if (n === 1) return fn;
  if (fn.constructor.name === 'AsyncFunction') {
    return async () => {
      for (let i = 0; i < n; i++) await fn();
    };
  }
  return () => {
    for (let i = 0; i < n; i++) fn();
  };
}

/** Records measurements made outside tinybench (throughput runs, latency distributions) the same way. */
export function record(name, rows, { columns } = {}) {
  const lines = [`\n### ${name} (node ${process.versions.node})\n`];
  const cols = columns ?? Object.keys(rows[0] ?? {});
  lines.push(`| ${cols.join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`);
  for (const row of rows) lines.push(`| ${cols.map((c) => format(row[c])).join(' | ')} |`);
  console.log(lines.join('\n'));
  save(name, rows);
  return rows;
}

function report(name, baseline, tasks, defs) {
  const rows = tasks.map((task, i) => {
    const r = task.result;
    const latency = r?.latency ?? {};
    const n = defs[i]?.batch ?? 1;
    const nsPerOp = ((latency.p50 ?? Number.NaN) * 1e6) / n;
    return {
      task: task.name,
      opsPerSec: 1e9 / nsPerOp,
      nsPerOp,
      p99Ns: ((latency.p99 ?? Number.NaN) * 1e6) / n,
      rme: latency.rme ?? Number.NaN,
      samples: latency.samplesCount ?? r?.samples?.length ?? 0,
      error: r?.error ? String(r.error) : undefined,
    };
  });
  const base = rows.find((row) => row.task === baseline) ?? rows[0];
  for (const row of rows) row.ratio = row.nsPerOp / base.nsPerOp;
  const table = [
    `\n### ${name} (node ${process.versions.node}, baseline: ${base.task})\n`,
    '| task | ops/s | ns/op (median) | p99 ns | ±% | x baseline |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (row) =>
        `| ${row.task} | ${format(row.opsPerSec)} | ${format(row.nsPerOp)} | ${format(row.p99Ns)} | ${format(row.rme)} | ${row.error ? `error: ${row.error}` : `${row.ratio.toFixed(2)}x`} |`,
    ),
  ];
  console.log(table.join('\n'));
  save(name, rows, base.task);
  return rows;
}

function save(name, rows, baseline) {
  mkdirSync(resultsDir, { recursive: true });
  const file = `${name
    .replace(/[^a-z0-9]+/gi, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase()}.node${process.versions.node.split('.')[0]}.json`;
  const data = { name, node: process.versions.node, date: new Date().toISOString(), baseline, rows };
  writeFileSync(new URL(file, resultsDir), `${JSON.stringify(data, null, 2)}\n`);
}

function format(value) {
  if (typeof value !== 'number') return value ?? '';
  if (!Number.isFinite(value)) return '-';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(2);
}
