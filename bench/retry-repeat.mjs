/**
 * Runs retry.bench.mjs several times (each in a fresh process) and prints, per task, the median of the
 * per-run medians and ratios: on a shared, noisy machine one run can be off by 30 %.
 *   node bench/retry-repeat.mjs [runs=5]
 *   npx -p node@24 node bench/retry-repeat.mjs 5
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const runs = Number(process.argv[2] ?? 5);
const major = process.versions.node.split('.')[0];
const samples = new Map();

for (let run = 0; run < runs; run++) {
  const result = spawnSync(process.execPath, ['--expose-gc', 'retry.bench.mjs'], {
    cwd: dir,
    stdio: 'ignore',
  });
  if (result.status !== 0) throw new Error(`run ${run} failed`);
  for (const file of readdirSync(new URL('./results/', import.meta.url))) {
    if (!file.startsWith('retry-') || !file.endsWith(`.node${major}.json`)) continue;
    const data = JSON.parse(readFileSync(new URL(`./results/${file}`, import.meta.url), 'utf8'));
    for (const row of data.rows) {
      const key = `${data.name}\u0000${row.task}`;
      if (!samples.has(key)) samples.set(key, { ns: [], ratio: [] });
      samples.get(key).ns.push(row.nsPerOp);
      samples.get(key).ratio.push(row.ratio);
    }
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
let current = '';
for (const [key, { ns, ratio }] of samples) {
  const [name, task] = key.split('\u0000');
  if (name !== current) {
    current = name;
    console.log(`\n### ${name} (node ${process.versions.node}, median of ${runs} runs)\n`);
    console.log('| task | ns/op | x baseline | ratio range |');
    console.log('|---|---:|---:|---:|');
  }
  const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
  console.log(
    `| ${task} | ${fmt(median(ns))} | ${median(ratio).toFixed(2)}x | ${Math.min(...ratio).toFixed(2)}-${Math.max(...ratio).toFixed(2)}x |`,
  );
}
