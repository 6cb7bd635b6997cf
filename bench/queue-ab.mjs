/**
 * A/B of two builds of @integ/queue's sqlite store, interleaved in one process (the machine is shared and noisy, so
 * both sides take turns): `node queue-ab.mjs <dirA> <dirB> [workload...] [--reps=5]`, where a dir holds a build
 * (`index.js` and `sqlite.js`, e.g. a copy of packages/queue/dist from before a change, kept inside a node_modules
 * folder so its `@integ/*` imports resolve). Reports jobs per wall second and per CPU second of the process. Workloads: batch (pushMany of 100), single (1 producer), e2e1
 * (end to end, concurrency 1), concurrent (100 producers); `normal` durability. Prints each side's median and range.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { endToEnd, integ, pushBatch, pushConcurrent, pushSingle } from './queue-scenarios.mjs';

const args = process.argv.slice(2);
const reps = Number(args.find((a) => a.startsWith('--reps='))?.slice(7) ?? 5);
const [dirA, dirB, ...rest] = args.filter((a) => !a.startsWith('--'));
const workloads = rest.length > 0 ? rest : ['batch', 'single', 'e2e1'];

async function side(dir) {
  const base = pathToFileURL(`${resolve(dir)}/`);
  const { createQueue } = await import(new URL('index.js', base).href);
  const { sqliteStore } = await import(new URL('sqlite.js', base).href);
  return (durability) => integ(durability, { createQueue, sqliteStore });
}

const run = {
  batch: (m) => pushBatch(m, 'normal', 50_000),
  single: (m) => pushSingle(m, 'normal', 5000),
  e2e1: (m) => endToEnd(m, 'normal', 10_000, 1),
  concurrent: (m) => pushConcurrent(m, 'normal', 30_000),
};
const sides = { A: await side(dirA), B: await side(dirB) };
const fmt = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${Math.round(s[Math.floor(s.length / 2)])} (${Math.round(s[0])}..${Math.round(s[s.length - 1])})`;
};
console.log(`node ${process.versions.node}, ${reps} alternations; A = ${dirA}, B = ${dirB}`);
for (const w of workloads) {
  const rates = { A: [], B: [] };
  const cpu = { A: [], B: [] };
  for (let r = 0; r < reps; r++)
    for (const name of r % 2 === 0 ? ['A', 'B'] : ['B', 'A']) {
      const before = process.cpuUsage();
      const { ops, ms } = await run[w](sides[name]);
      const used = process.cpuUsage(before);
      rates[name].push((ops / ms) * 1000);
      // Per CPU second of this process (user + system, setup included): less moved by other processes on the machine.
      cpu[name].push((ops / (used.user + used.system)) * 1e6);
    }
  const ratio = (x) => x.B.map((b, i) => (100 * b) / x.A[i]);
  console.log(`${w.padEnd(10)} wall: A ${fmt(rates.A)}  B ${fmt(rates.B)}  B/A ${fmt(ratio(rates))}%`);
  console.log(`${''.padEnd(10)} cpu:  A ${fmt(cpu.A)}  B ${fmt(cpu.B)}  B/A ${fmt(ratio(cpu))}%`);
}
