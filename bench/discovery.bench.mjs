/**
 * @integ/discovery: balancing policies under a fixed-rate open-loop load against 10 loopback backends
 * (one 10x slower; then one failing fast with 503), and the cost of `pick()`.
 * Goals: peak-EWMA p99 <= 2x the all-healthy p99; <= 1% of traffic to the failing backend; pick() <= 200 ns.
 *
 * The machine is shared, so each scenario runs in ROUNDS interleaved rounds (all-healthy reference, then
 * every policy) and the tables show the median over rounds: a noisy second hits the reference and the
 * policies alike instead of one policy alone.
 */
import { fork } from 'node:child_process';
import { createRegistry } from '@integ/discovery';
import { closeAgent, runLoad, summarize } from './discovery-load.mjs';
import { record, suite } from './harness.mjs';

const RATE = Number(process.env.DISCOVERY_BENCH_RATE ?? 1000);
const DURATION = Number(process.env.DISCOVERY_BENCH_MS ?? 2000);
const ROUNDS = Number(process.env.DISCOVERY_BENCH_ROUNDS ?? 3);
const WARMUP = 500;
const FAST_MS = 2;
const SLOW_MS = 20;
const POLICIES = ['round-robin', 'random', 'weighted', 'least-loaded', 'peak-ewma'];

const backends = fork(new URL('./discovery-backends.mjs', import.meta.url), ['10'], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const ports = await new Promise((resolve) => backends.once('message', (m) => resolve(m.ports)));
const urls = ports.map((p) => `http://127.0.0.1:${p}`);
const configure = (set) =>
  new Promise((resolve) => {
    backends.once('message', resolve);
    backends.send({ set });
  });
const healthy = () => urls.map(() => ({ delayMs: FAST_MS, status: 200 }));
const slowSet = healthy();
slowSet[0] = { delayMs: SLOW_MS, status: 200 };
const failSet = healthy();
failSet[0] = { delayMs: 0, status: 503 };

async function measure(policy, special, extra = {}, warmupMs = WARMUP) {
  const registry = createRegistry({ services: { svc: { urls } }, balancer: policy, ...extra });
  const samples = await runLoad(registry, 'svc', { rate: RATE, durationMs: DURATION, warmupMs });
  registry.close();
  return summarize(samples, special);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};
const fmt = (n) => Number(n.toFixed(2));
const collect = () => new Map();
const add = (map, key, r) => {
  if (!map.has(key)) map.set(key, []);
  map.get(key).push(r);
};
const med = (runs, field) => median(runs.map((r) => r[field]));

const healthyRuns = collect();
const slowRuns = collect();
const failRuns = collect();
for (let round = 0; round < ROUNDS; round++) {
  await configure(healthy());
  add(healthyRuns, 'round-robin', await measure('round-robin', undefined));
  add(healthyRuns, 'peak-ewma', await measure('peak-ewma', undefined));
  await configure(slowSet);
  for (const policy of POLICIES) add(slowRuns, policy, await measure(policy, urls[0]));
  // No warm-up with the failing backend: the requests it takes to notice it are counted.
  await configure(failSet);
  for (const policy of POLICIES) add(failRuns, `${policy}|default`, await measure(policy, urls[0], {}, 0));
  for (const policy of ['round-robin', 'peak-ewma'])
    add(failRuns, `${policy}|off`, await measure(policy, urls[0], { outlierDetection: false }, 0));
}
backends.send({ exit: true });
closeAgent();

const referenceP99 = med(healthyRuns.get('round-robin'), 'p99');
record(
  `discovery: 10 healthy backends (${FAST_MS} ms), ${RATE} req/s open loop, median of ${ROUNDS} rounds`,
  [...healthyRuns].map(([policy, runs]) => ({
    policy,
    p50ms: fmt(med(runs, 'p50')),
    p99ms: fmt(med(runs, 'p99')),
    p999ms: fmt(med(runs, 'p999')),
  })),
);
record(
  `discovery: one of 10 backends 10x slower (${SLOW_MS} ms vs ${FAST_MS} ms), ${RATE} req/s, median of ${ROUNDS} rounds`,
  [...slowRuns].map(([policy, runs]) => ({
    policy,
    p50ms: fmt(med(runs, 'p50')),
    p99ms: fmt(med(runs, 'p99')),
    p999ms: fmt(med(runs, 'p999')),
    slowSharePct: fmt(med(runs, 'share')),
    p99VsAllHealthy: `${(med(runs, 'p99') / referenceP99).toFixed(2)}x`,
  })),
);
record(
  `discovery: one of 10 backends failing fast with 503, ${RATE} req/s, median of ${ROUNDS} rounds`,
  [...failRuns].map(([key, runs]) => {
    const [policy, outlierDetection] = key.split('|');
    return {
      policy,
      outlierDetection,
      failingSharePct: fmt(med(runs, 'share')),
      worstRoundSharePct: fmt(Math.max(...runs.map((r) => r.share))),
      p50ms: fmt(med(runs, 'p50')),
      p99ms: fmt(med(runs, 'p99')),
    };
  }),
);

// The cost of pick().
const many = Array.from({ length: 10 }, (_, i) => `http://10.0.0.${i}:80`);
const registries = Object.fromEntries(
  POLICIES.map((policy) => [policy, createRegistry({ services: { svc: { urls: many } }, balancer: policy })]),
);
const ewma = registries['peak-ewma'];
const ll = registries['least-loaded'];
const outcome = { ok: true, latencyMs: 2 };
await suite('discovery: pick() over 10 endpoints', { baseline: 'round-robin pick()' })
  .add('round-robin pick()', () => {
    registries['round-robin'].pick('svc');
  })
  .add('random pick()', () => {
    registries.random.pick('svc');
  })
  .add('weighted pick()', () => {
    registries.weighted.pick('svc');
  })
  .add('least-loaded pick() + report()', () => {
    ll.report(ll.pick('svc'), outcome);
  })
  .add('peak-ewma pick()', () => {
    ewma.pick('svc');
  })
  .add('peak-ewma pick() + report()', () => {
    ewma.report(ewma.pick('svc'), outcome);
  })
  .add('url() (the seed get_service_url)', () => {
    registries['round-robin'].url('svc');
  })
  .run();
for (const r of Object.values(registries)) r.close();
