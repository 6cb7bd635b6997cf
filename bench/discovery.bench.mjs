/**
 * @integ/discovery: balancing policies under a fixed-rate open-loop load against 10 loopback backends
 * (one 10x slower; then one failing fast with 503), and the cost of `pick()`.
 * Goals: peak-EWMA p99 <= 2x the all-healthy p99; <= 1% of traffic to the failing backend; pick() <= 200 ns.
 */
import { fork } from 'node:child_process';
import { createRegistry } from '@integ/discovery';
import { closeAgent, runLoad, summarize } from './discovery-load.mjs';
import { record, suite } from './harness.mjs';

const RATE = Number(process.env.DISCOVERY_BENCH_RATE ?? 1000);
const DURATION = Number(process.env.DISCOVERY_BENCH_MS ?? 3000);
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

async function measure(policy, special, extra = {}, warmupMs = WARMUP) {
  const registry = createRegistry({ services: { svc: { urls } }, balancer: policy, ...extra });
  const samples = await runLoad(registry, 'svc', { rate: RATE, durationMs: DURATION, warmupMs });
  registry.close();
  return summarize(samples, special);
}

const fmt = (n) => Number(n.toFixed(2));

// 1. All healthy: the reference p99.
await configure(healthy());
const reference = await measure('round-robin', undefined);
const healthyRows = [
  {
    scenario: 'all healthy',
    policy: 'round-robin',
    p50ms: fmt(reference.p50),
    p99ms: fmt(reference.p99),
    p999ms: fmt(reference.p999),
  },
];
const ewmaHealthy = await measure('peak-ewma', undefined);
healthyRows.push({
  scenario: 'all healthy',
  policy: 'peak-ewma',
  p50ms: fmt(ewmaHealthy.p50),
  p99ms: fmt(ewmaHealthy.p99),
  p999ms: fmt(ewmaHealthy.p999),
});
record(`discovery: 10 healthy backends (${FAST_MS} ms), ${RATE} req/s open loop`, healthyRows);

// 2. One backend 10x slower.
const slowSet = healthy();
slowSet[0] = { delayMs: SLOW_MS, status: 200 };
await configure(slowSet);
const slowRows = [];
for (const policy of POLICIES) {
  const r = await measure(policy, urls[0]);
  slowRows.push({
    policy,
    p50ms: fmt(r.p50),
    p99ms: fmt(r.p99),
    p999ms: fmt(r.p999),
    slowSharePct: fmt(r.share),
    p99VsHealthy: `${(r.p99 / reference.p99).toFixed(2)}x`,
  });
}
record(`discovery: one of 10 backends 10x slower (${SLOW_MS} ms vs ${FAST_MS} ms), ${RATE} req/s`, slowRows);

// 3. One backend failing fast with 503. No warm-up here: the requests it takes to notice the failing
// backend (consecutive 5xx, error penalty) are counted.
const failSet = healthy();
failSet[0] = { delayMs: 0, status: 503 };
await configure(failSet);
const failRows = [];
for (const policy of POLICIES) {
  const r = await measure(policy, urls[0], {}, 0);
  failRows.push({
    policy,
    outlierDetection: 'default',
    failingSharePct: fmt(r.share),
    errorPct: fmt(r.errors),
    p50ms: fmt(r.p50),
    p99ms: fmt(r.p99),
  });
}
for (const policy of ['round-robin', 'peak-ewma']) {
  const r = await measure(policy, urls[0], { outlierDetection: false }, 0);
  failRows.push({
    policy,
    outlierDetection: 'off',
    failingSharePct: fmt(r.share),
    errorPct: fmt(r.errors),
    p50ms: fmt(r.p50),
    p99ms: fmt(r.p99),
  });
}
record(`discovery: one of 10 backends failing fast with 503, ${RATE} req/s`, failRows);

backends.send({ exit: true });
closeAgent();

// 4. The cost of pick().
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
