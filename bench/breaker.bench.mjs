// @integ/breaker against opossum and cockatiel's breaker, side by side in one run, with a bare await
// as the baseline: the closed-state overhead (every call of a healthy dependency pays it) and the cost
// of an open-circuit rejection (what shedding load costs while a dependency is down).
// opossum runs with `timeout: false`: its default 10 s per-call timer is a feature the others do not
// have, and leaving it on would inflate its closed-state number.
import { createBreaker, isCircuitOpenError } from '@integ/breaker';
import { ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import CircuitBreaker from 'opossum';
import { suite } from './harness.mjs';

const work = async () => 1;
const failure = new Error('down');
const failing = async () => {
  throw failure;
};

// Closed: fresh breakers that never see a failure.
const integClosed = createBreaker();
const opossumClosed = new CircuitBreaker(work, { timeout: false });
const cockatielClosed = circuitBreaker(handleAll, {
  halfOpenAfter: 60_000,
  breaker: new ConsecutiveBreaker(5),
});

// Open: ours tripped the ordinary way (5 failures), the peers forced open as their docs say.
const integOpen = createBreaker({ openFor: 3_600_000 });
for (let i = 0; i < 5; i++) await integOpen.execute(failing).catch(() => {});
const opossumOpen = new CircuitBreaker(work, { timeout: false });
opossumOpen.open();
const cockatielOpen = circuitBreaker(handleAll, {
  halfOpenAfter: 3_600_000,
  breaker: new ConsecutiveBreaker(5),
});
cockatielOpen.isolate();

// Sanity: closed ones resolve with 1, open ones reject without running `work`.
for (const run of [
  () => integClosed.execute(work),
  () => opossumClosed.fire(),
  () => cockatielClosed.execute(work),
])
  if ((await run()) !== 1) throw new Error('closed breaker did not pass the value through');
for (const run of [
  () => integOpen.execute(work),
  () => opossumOpen.fire(),
  () => cockatielOpen.execute(work),
]) {
  const outcome = await run().then(
    () => 'resolved',
    (e) => e,
  );
  if (outcome === 'resolved') throw new Error('open breaker ran the call');
}
if (!isCircuitOpenError(await integOpen.execute(work).catch((e) => e))) throw new Error('wrong rejection');
if ((await integOpen.tryExecute(work)).ok) throw new Error('tryExecute ran the call');

// A longer warm-up than the harness default: on a busy 2-core machine V8 took up to ~0.6 s to finish
// optimising the rejection path, and a suite's first task was sometimes measured before it had.
const warmupTime = 1_000;

await suite('breaker: closed-state overhead', { baseline: 'bare await', warmupTime })
  .add('bare await', async () => {
    await work();
  })
  .add('@integ/breaker execute', async () => {
    await integClosed.execute(work);
  })
  .add('cockatiel execute', async () => {
    await cockatielClosed.execute(work);
  })
  .add('opossum fire', async () => {
    await opossumClosed.fire();
  })
  .run();

// What any rejection costs the caller before a breaker does anything: awaiting an already-rejected promise.
const preRejected = Promise.reject(failure);
preRejected.catch(() => {});

await suite('breaker: open-circuit rejection', { baseline: '@integ/breaker execute (rejects)', warmupTime })
  .add('@integ/breaker execute (rejects)', async () => {
    try {
      await integOpen.execute(work);
    } catch {}
  })
  .add('@integ/breaker tryExecute (result)', async () => {
    await integOpen.tryExecute(work);
  })
  .add('cockatiel execute (rejects)', async () => {
    try {
      await cockatielOpen.execute(work);
    } catch {}
  })
  .add('opossum fire (rejects)', async () => {
    try {
      await opossumOpen.fire();
    } catch {}
  })
  .add('try/await/catch of a pre-rejected promise (floor)', async () => {
    try {
      await preRejected;
    } catch {}
  })
  .run();
