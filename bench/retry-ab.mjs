/**
 * A/B of two builds of @integ/retry, interleaved in one process: the success path and the fail-twice path of
 * retry.bench.mjs, each against its bare baseline, every round running every task once (the order reversed on odd
 * rounds). Times are CPU time of the process (user + system), not wall time: on the shared 2-core machine wall
 * time also counted the slices other jobs held the core (per-round ratios of two builds ran 0.06-38x, and 0.88-1.35x
 * for one build against itself), CPU time kept per-round ratios within about +-5-10 %. Prints medians and the range over rounds, and each build's ratio to the first.
 *
 *   corepack pnpm build --filter @integ/retry --force && cp -r packages/retry/dist packages/retry/tmp/a
 *   (change, build again)
 *   node --expose-gc bench/retry-ab.mjs packages/retry/tmp/a packages/retry/dist [rounds=16] [ms=100]
 *   npx -y -p node@24 node --expose-gc bench/retry-ab.mjs ...
 *
 * A copy must sit where `@integ/core` resolves (under packages/retry; tmp/ is git-ignored).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dirs = process.argv.slice(2).filter((arg) => !/^\d+$/.test(arg));
const [rounds = 16, ms = 100] = process.argv
  .slice(2)
  .filter((arg) => /^\d+$/.test(arg))
  .map(Number);
if (dirs.length < 2) throw new Error('usage: node bench/retry-ab.mjs <distA> <distB> [...] [rounds] [ms]');
const builds = [];
for (const dir of dirs) builds.push(await import(pathToFileURL(resolve(dir, 'index.js')).href));

const failure = new Error('transient');
let calls = 0;
const flaky = async () => {
  if (++calls < 3) throw failure;
  return 1;
};
const ok = async () => 1;
async function bare(fn) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

const tasks = {
  'bare await': async () => {
    await ok();
  },
  'bare loop': async () => {
    calls = 0;
    await bare(flaky);
  },
};
builds.forEach(({ retry, constant }, i) => {
  const options = { attempts: 3, backoff: constant(0) };
  tasks[`success ${i}`] = async () => {
    await retry(ok, options);
  };
  tasks[`fail2 ${i}`] = async () => {
    calls = 0;
    await retry(flaky, options);
  };
});

const cpu = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
};
async function time(fn) {
  let n = 0;
  const start = cpu();
  let now = start;
  while (now < start + ms * 1e6) {
    for (let i = 0; i < 100; i++) await fn();
    n += 100;
    now = cpu();
  }
  return (now - start) / n;
}

for (const fn of Object.values(tasks)) {
  const end = Date.now() + 300;
  while (Date.now() < end) await fn();
}
const names = Object.keys(tasks);
const samples = Object.fromEntries(names.map((name) => [name, []]));
for (let round = 0; round < rounds; round++) {
  for (const name of round % 2 ? [...names].reverse() : names) {
    globalThis.gc?.();
    samples[name].push(await time(tasks[name]));
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const range = (values) => `${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)}`;
const ratio = (a, b) => samples[a].map((x, i) => x / samples[b][i]);
const show = (values) => `${median(values).toFixed(3)}x (${range(values)})`;
console.log(`node ${process.versions.node}, ${rounds} rounds of ${ms} ms CPU time per task`);
console.log(
  `bare await ${median(samples['bare await']).toFixed(1)} ns, bare loop ${median(samples['bare loop']).toFixed(0)} ns`,
);
dirs.forEach((dir, i) => {
  let line = `${i} ${dir}: success ${median(samples[`success ${i}`]).toFixed(1)} ns ${show(ratio(`success ${i}`, 'bare await'))}, fail twice ${median(samples[`fail2 ${i}`]).toFixed(0)} ns ${show(ratio(`fail2 ${i}`, 'bare loop'))}`;
  if (i)
    line += `; against 0: success ${show(ratio(`success ${i}`, 'success 0'))}, fail twice ${show(ratio(`fail2 ${i}`, 'fail2 0'))}`;
  console.log(line);
});
