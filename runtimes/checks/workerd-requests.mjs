// workerd only (runtimes/hosted.ts): a breaker kept at module scope, as a Worker keeps one across requests. Each
// INTEG_SELF.fetch() is a request of its own (a service binding to this worker), handled by fetch() below.
import { createBreaker, createBreakerRegistry } from '@integ/breaker';
import { constant, retry, retryBudget } from '@integ/retry';
import { check, eq, summary, wait } from './lib.mjs';

const changes = [];
// Module scope: workerd refuses timers, I/O and random values here, so creating these must use none of them.
const breaker = createBreaker({
  failureThreshold: 1,
  openFor: 40,
  onStateChange: (to, from) => changes.push(`${from}>${to}`),
});
const registry = createBreakerRegistry({ options: { failureThreshold: 1, openFor: 40 } });
const budget = retryBudget({ ratio: 0, minPerSecond: 0.1 });
const down = () => Promise.reject(new Error('down'));
const up = async () => 'up';

export async function fetch(request) {
  const path = new URL(request.url).pathname;
  if (path === '/trip') {
    await breaker.execute(down).catch(() => {});
    await registry.execute('api', down).catch(() => {});
  } else if (path === '/probe') {
    await breaker.execute(up);
    await registry.execute('api', up);
  } else if (path === '/retry') {
    // One retry per 10 s window (minPerSecond: 0.1, ttl 10 s) across requests: the second request's is refused.
    const reason = await retry(down, { attempts: 2, budget, backoff: constant(1) }).catch((e) => e.reason);
    return Response.json({ reason });
  }
  return Response.json({ states: [breaker.state, registry.get('api').state], changes: [...changes] });
}
const get = async (path) => (await globalThis.INTEG_SELF.fetch(`http://worker${path}`)).json();

await check('breaker: created at module scope, tripped in one request, probed in a later one', async () => {
  eq(await get('/trip'), { states: ['open', 'open'], changes: ['closed>open'] }, 'trip');
  await wait(100);
  // The open -> half-open timer was set in the /trip request and did not outlive it.
  eq(changes, ['closed>open'], 'no onStateChange at openFor');
  eq(
    await get('/probe'),
    { states: ['closed', 'closed'], changes: ['closed>open', 'open>half-open', 'half-open>closed'] },
    'moved to half-open when next used, then closed by the probe',
  );
});
await check('retry: a retryBudget at module scope counts retries across requests', async () => {
  eq([await get('/retry'), await get('/retry')], [{ reason: 'attempts' }, { reason: 'budget' }], 'reasons');
});
summary('workerd requests');
