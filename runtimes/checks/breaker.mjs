// breaker: trip, CircuitOpenError fast path, half-open probe after openFor on real short timers, windows, registry.
import {
  CircuitOpenError,
  createBreaker,
  createBreakerRegistry,
  isCircuitOpenError,
  slidingWindow,
} from '@integ/breaker';
import { assert, check, eq, rejects, summary, wait } from './lib.mjs';

const fail = () => Promise.reject(new Error('down'));
const ok = () => Promise.resolve('up');

await check('breaker: opens after failureThreshold consecutive failures', async () => {
  const changes = [];
  // Long enough that a loaded machine cannot reach half-open before the state is read (50 ms did once, on Deno).
  const b = createBreaker({
    failureThreshold: 3,
    openFor: 60_000,
    onStateChange: (to, from) => changes.push(`${from}>${to}`),
  });
  for (let i = 0; i < 3; i++) await rejects(b.execute(fail), (e) => e.message === 'down', 'fails');
  eq([b.state, changes], ['open', ['closed>open']], 'state');
  b.reset();
});
await check('breaker: open circuit rejects fast with CircuitOpenError without calling fn', async () => {
  const b = createBreaker({ failureThreshold: 1, openFor: 10_000 });
  await rejects(b.execute(fail), () => true, 'trip');
  let called = 0;
  const e = await rejects(
    b.execute(() => {
      called++;
      return ok();
    }),
    isCircuitOpenError,
    'fast path',
  );
  assert(e instanceof CircuitOpenError && e.code === 'ERR_CIRCUIT_OPEN', `code ${e.code}`);
  assert(e.retryAfterMs > 9_000 && e.retryAfterMs <= 10_000, `retryAfterMs ${e.retryAfterMs}`);
  const r = await b.tryExecute(ok);
  eq([called, r.ok, isCircuitOpenError(r.error)], [0, false, true], 'tryExecute');
});
await check(
  'breaker: half-open probe after a real 40 ms openFor closes on success, reopens on failure',
  async () => {
    const changes = [];
    const b = createBreaker({
      failureThreshold: 1,
      openFor: 40,
      onStateChange: (to, from) => changes.push(`${from}>${to}`),
    });
    await rejects(b.execute(fail), () => true, 'trip');
    await wait(60);
    eq(b.state, 'half-open', 'after openFor (hook set: its timer moves it)');
    await rejects(b.execute(fail), (e) => e.message === 'down', 'failed probe');
    eq(b.state, 'open', 'reopened');
    await wait(60);
    eq(await b.execute(ok), 'up', 'probe');
    eq(
      [b.state, changes],
      ['closed', ['closed>open', 'open>half-open', 'half-open>open', 'open>half-open', 'half-open>closed']],
      'path',
    );
  },
);
await check('breaker: without hooks the state moves to half-open when read after openFor', async () => {
  const b = createBreaker({ failureThreshold: 1, openFor: 30 });
  await rejects(b.execute(fail), () => true, 'trip');
  await wait(45);
  eq(await b.execute(ok), 'up', 'probe');
  eq(b.state, 'closed', 'closed');
});
await check('breaker: probeTimeout aborts a hung probe signal', async () => {
  const b = createBreaker({ failureThreshold: 1, openFor: 30, probeTimeout: 20 });
  await rejects(b.execute(fail), () => true, 'trip');
  await wait(45);
  let reason;
  // Nothing else is pending here: the probe's own timer must keep the process alive until it fires (on Node it was
  // unref'd until review 35, and Node exited with code 13 mid-check).
  await rejects(
    b.execute(
      ({ signal }) =>
        new Promise((_, rej) =>
          signal.addEventListener('abort', () => {
            reason = signal.reason;
            rej(signal.reason);
          }),
        ),
    ),
    () => true,
    'probe',
  );
  assert(reason !== undefined, 'aborted');
  eq(b.state, 'open', 'reopened');
  b.reset();
});
await check('breaker: slidingWindow count opens on failure rate', async () => {
  const b = createBreaker({
    failureThreshold: Infinity,
    openFor: 1000,
    window: slidingWindow({ type: 'count', size: 10, failureRateThreshold: 0.5, minimumCalls: 4 }),
  });
  await b.execute(ok);
  await b.execute(ok);
  await rejects(b.execute(fail), () => true, 'f1');
  eq(b.state, 'closed', 'below minimumCalls');
  await rejects(b.execute(fail), () => true, 'f2');
  eq(b.state, 'open', '2 of 4 failed');
  b.reset();
});
await check(
  'breaker: slidingWindow time forgets calls older than its duration (real 300 ms window)',
  async () => {
    const b = createBreaker({
      failureThreshold: Infinity,
      openFor: 1000,
      window: slidingWindow({
        type: 'time',
        duration: 300,
        buckets: 6,
        failureRateThreshold: 0.5,
        minimumCalls: 3,
      }),
    });
    await rejects(b.execute(fail), () => true, 'f1');
    await rejects(b.execute(fail), () => true, 'f2');
    await wait(450);
    await b.execute(ok);
    eq(b.state, 'closed', 'old failures forgotten');
    await rejects(b.execute(fail), () => true, 'f3');
    await rejects(b.execute(fail), () => true, 'f4');
    eq(b.state, 'open', '2 of 3 recent calls failed');
    b.reset();
  },
);
await check('breaker: slow calls count (slowCallDuration, real 30 ms call)', async () => {
  const b = createBreaker({
    failureThreshold: Infinity,
    openFor: 1000,
    slowCallDuration: 10,
    window: slidingWindow({ size: 2, minimumCalls: 2, slowCallRateThreshold: 1 }),
  });
  await b.execute(() => wait(30));
  await b.execute(() => wait(30));
  eq(b.state, 'open', 'slow-call rate');
  b.reset();
});
await check('breaker: registry makes one breaker per key, execute and snapshot', async () => {
  const evicted = [];
  const reg = createBreakerRegistry({
    options: { failureThreshold: 1, openFor: 1000 },
    maxSize: 2,
    onEvict: (k) => evicted.push(k),
  });
  await rejects(reg.execute('a', fail), () => true, 'a fails');
  eq(await reg.execute('b', ok), 'up', 'b');
  eq([reg.get('a').state, reg.get('b').state, reg.size], ['open', 'closed', 2], 'states');
  await rejects(reg.execute('a', ok), isCircuitOpenError, 'a open');
  reg.get('c');
  eq([reg.size, evicted, reg.has('a')], [2, ['b'], true], 'maxSize evicts a closed one');
  const snap = reg.snapshot();
  eq(Object.keys(snap).sort(), ['a', 'c'], 'snapshot keys');
  const restored = createBreaker({ initialState: snap.a });
  eq(restored.state, 'open', 'restored from a snapshot (JSON round trip)');
  const viaJson = createBreaker({ initialState: JSON.parse(JSON.stringify(snap.a)) });
  eq(viaJson.state, 'open', 'JSON');
  reg.clear();
});
summary('breaker');
