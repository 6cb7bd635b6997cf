// The CommonJS entry points (dist/index.cjs) through require().
const { retry, constant } = require('@integ/retry');
const { createBreaker, isCircuitOpenError } = require('@integ/breaker');
const { createParser } = require('@integ/sse');
const { sleep } = require('@integ/core');
const { memoryStore, createQueue } = require('@integ/queue');
(async () => {
  let n = 0;
  const v = await retry(
    () => {
      if (++n < 2) throw new Error('x');
      return 'ok';
    },
    { backoff: constant(5) },
  );
  const b = createBreaker({ failureThreshold: 1 });
  await b.execute(() => Promise.reject(new Error('x'))).catch(() => {});
  const open = await b.execute(() => 1).catch((e) => isCircuitOpenError(e));
  const events = [];
  createParser({ onEvent: (e) => events.push(e.data) }).feed('data: a\n\n');
  await sleep(5);
  const q = createQueue({ name: 'jobs', store: memoryStore() });
  await q.push({ a: 1 });
  const stats = await q.stats();
  await q.close();
  console.log(
    JSON.stringify({
      v,
      n,
      open,
      events,
      pending: stats.pending ?? stats,
      runtime: typeof Bun !== 'undefined' ? 'bun' : typeof Deno !== 'undefined' ? 'deno' : 'node',
    }),
  );
})().catch((e) => {
  console.log('FAIL', e);
  process.exitCode = 1;
});
