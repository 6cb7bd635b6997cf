// core: sleep with a signal, IntegError codes; retry: the brief's list. Built packages, real timers.
import {
  createDeadline,
  IntegError,
  InvalidArgumentError,
  isAbortError,
  isIntegError,
  sleep,
  TimeoutError,
} from '@integ/core';
import {
  constant,
  exponential,
  isRetryError,
  parseRetryAfter,
  RetryBudgetError,
  retry,
  retryBudget,
  withRetry,
} from '@integ/retry';
import { assert, check, eq, rejects, serve, summary, wait } from './lib.mjs';

await check('core: sleep(30) waits ~30 ms on real timers', async () => {
  const t0 = performance.now();
  await sleep(30);
  const dt = performance.now() - t0;
  assert(dt >= 25 && dt < 1000, `slept ${dt} ms`);
});
await check('core: sleep aborted mid-wait rejects with the reason and leaves no timer', async () => {
  const ac = new AbortController();
  const reason = new Error('stop');
  setTimeout(() => ac.abort(reason), 10);
  const t0 = performance.now();
  await rejects(sleep(10_000, { signal: ac.signal }), (e) => e === reason, 'sleep');
  assert(performance.now() - t0 < 1000, 'late');
});
await check('core: sleep with AbortSignal.timeout rejects with its TimeoutError DOMException', async () => {
  await rejects(
    sleep(10_000, { signal: AbortSignal.timeout(10) }),
    (e) => e?.name === 'TimeoutError' && isAbortError(e, undefined) !== undefined,
    'sleep',
  );
});
await check(
  'core: sleep with an aborted signal rejects at once; abort() without reason is an AbortError',
  async () => {
    const ac = new AbortController();
    ac.abort();
    const e = await rejects(sleep(10, { signal: ac.signal }), (e) => e?.name === 'AbortError', 'sleep');
    assert(isAbortError(e), 'isAbortError');
  },
);
await check('core: IntegError, TimeoutError, InvalidArgumentError codes, names, brand, cause', async () => {
  const cause = new Error('root');
  const e = new IntegError('ERR_X', 'msg', { cause, retryable: true });
  eq(
    [e.code, e.name, e.message, e.retryable, e.cause === cause, e instanceof Error],
    ['ERR_X', 'IntegError', 'msg', true, true, true],
    'IntegError',
  );
  const t = new TimeoutError(50, 'Call');
  eq(
    [t.code, t.name, t.timeoutMs, t.retryable, isIntegError(t, 'ERR_TIMEOUT'), t instanceof IntegError],
    ['ERR_TIMEOUT', 'TimeoutError', 50, true, true, true],
    'TimeoutError',
  );
  assert(typeof t.stack === 'string' && t.stack.includes('TimeoutError'), `stack ${t.stack}`);
  const i = new InvalidArgumentError('attempts', 'a number', 'x');
  eq(
    [i.code, i.name, i.argument, isIntegError(i), isIntegError({}), isIntegError(new Error('x'))],
    ['ERR_INVALID_ARGUMENT', 'InvalidArgumentError', 'attempts', true, false, false],
    'InvalidArgumentError',
  );
  assert(Object.prototype.toString.call(t) === '[object Error]', 'toString tag');
});
await check('core: createDeadline aborts its signal with a TimeoutError', async () => {
  const d = createDeadline(20);
  await new Promise((r) => d.signal.addEventListener('abort', r));
  assert(isIntegError(d.signal.reason, 'ERR_TIMEOUT'), `reason ${d.signal.reason}`);
  d.dispose?.();
});

await check('retry: success on the first attempt', async () => {
  let n = 0;
  eq(
    await retry(() => {
      n++;
      return 42;
    }),
    42,
    'value',
  );
  eq(n, 1, 'attempts');
});
await check('retry: fail twice then succeed, with a real 30 ms constant backoff', async () => {
  const delays = [];
  const t0 = performance.now();
  const v = await retry(
    ({ attempt }) => {
      if (attempt < 3) throw new Error(`boom ${attempt}`);
      return attempt;
    },
    {
      backoff: constant(30),
      onRetry: ({ delay }) => delays.push(delay),
    },
  );
  const dt = performance.now() - t0;
  eq([v, delays], [3, [30, 30]], 'value, delays');
  assert(dt >= 55, `elapsed ${dt}`);
});
await check('retry: exponential with jitter keeps delays within bounds', async () => {
  const delays = [];
  await rejects(
    retry(
      () => {
        throw new Error('x');
      },
      {
        attempts: 4,
        backoff: exponential({ initial: 5, max: 20 }),
        onRetry: ({ delay }) => delays.push(delay),
      },
    ),
    isRetryError,
    'exhausted',
  );
  eq(delays.length, 3, 'three waits');
  assert(
    delays.every((d, i) => d >= 0 && d <= Math.min(20, 5 * 2 ** i)),
    `delays ${delays}`,
  );
});
await check(
  'retry: per-attempt timeout aborts the attempt signal with a TimeoutError, then RetryError',
  async () => {
    const reasons = [];
    await rejects(
      retry(
        ({ signal }) =>
          new Promise((_, reject) =>
            signal.addEventListener('abort', () => {
              reasons.push(signal.reason);
              reject(signal.reason);
            }),
          ),
        { attempts: 2, timeout: 20, backoff: constant(1) },
      ),
      (e) => isRetryError(e) && e.code === 'ERR_RETRY_EXHAUSTED' && isIntegError(e.cause, 'ERR_TIMEOUT'),
      'timeout',
    );
    eq(
      reasons.map((r) => r.code),
      ['ERR_TIMEOUT', 'ERR_TIMEOUT'],
      'attempt signals',
    );
  },
);
await check('retry: deadline ends the whole call (reason deadline) within its time', async () => {
  const t0 = performance.now();
  const e = await rejects(
    retry(
      () =>
        wait(10).then(() => {
          throw new Error('x');
        }),
      { attempts: 100, deadline: 80, backoff: constant(25) },
    ),
    isRetryError,
    'deadline',
  );
  const dt = performance.now() - t0;
  assert(['deadline', 'attempts'].includes(e.reason), `reason ${e.reason}`);
  // Without the deadline: 100 attempts of 10 ms + 25 ms waits, 3.5 s. The margin is for a loaded CI machine.
  assert(dt < 2000, `took ${dt}`);
});
await check('retry: caller AbortSignal.timeout rejects with its reason during a wait', async () => {
  await rejects(
    retry(
      () => {
        throw new Error('x');
      },
      { attempts: 10, backoff: constant(5_000), signal: AbortSignal.timeout(20) },
    ),
    (e) => e?.name === 'TimeoutError' && !isRetryError(e),
    'signal',
  );
});
await check(
  'retry: parseRetryAfter reads a real Response: seconds, retry-after-ms, HTTP-dates (3 forms)',
  async () => {
    const now = Date.UTC(1994, 10, 6, 8, 49, 0);
    const h = (v) => new Response(null, { status: 503, headers: { 'retry-after': v } }).headers;
    eq(parseRetryAfter(h('120')), 120_000, 'seconds');
    eq(
      parseRetryAfter(
        new Response(null, { status: 503, headers: { 'retry-after-ms': '150', 'retry-after': '9' } }).headers,
      ),
      150,
      'ms',
    );
    eq(parseRetryAfter(h('Sun, 06 Nov 1994 08:49:37 GMT'), now), 37_000, 'IMF-fixdate');
    eq(parseRetryAfter(h('Sunday, 06-Nov-94 08:49:37 GMT'), now), 37_000, 'rfc850');
    eq(parseRetryAfter(h('Sun Nov  6 08:49:37 1994'), now), 37_000, 'asctime');
    eq(parseRetryAfter(h('Sun, 06 Nov 1994 08:48:59 GMT'), now), 0, 'past date');
    eq(parseRetryAfter(h('Sun, 06 Nov 1994 23:59:60 GMT'), now), Date.UTC(1994, 10, 7) - now, 'leap second');
    eq(parseRetryAfter(h('Nov 24 11:00:30')), undefined, 'not a date');
    eq(parseRetryAfter(h('1994-11-06T08:49:37Z')), undefined, 'ISO is no HTTP-date');
    eq(parseRetryAfter(h('Sun, 06 Nov 0094 08:49:37 GMT'), now), 0, 'year 0094');
    const future = new Date(Date.now() + 3000).toUTCString();
    const d = parseRetryAfter(h(future));
    assert(d > 1000 && d <= 3000, `toUTCString date ${future} -> ${d}`);
  },
);
await check('retry: Retry-After from a loopback server (seconds and HTTP-date) sets the wait', async () => {
  // Each answer is chosen by the attempt number in the URL, not by how many requests arrived: a browser may send a
  // request twice (Chromium re-sends a GET whose reused keep-alive socket closed), which shifted a counted sequence
  // about 1 run in 20 (4 requests seen for 3 attempts).
  const server = await serve((request) => {
    const a = Number(new URL(request.url).searchParams.get('a'));
    if (a === 1) return new Response('busy', { status: 503, headers: { 'retry-after': '0' } });
    if (a === 2)
      return new Response('busy', {
        status: 429,
        headers: { 'retry-after': new Date(Date.now() - 5000).toUTCString() },
      });
    if (a === 3)
      return new Response('busy', {
        status: 503,
        headers: { 'retry-after': new Date(Date.now() + 2000).toUTCString() },
      });
    return new Response(`ok ${a}`);
  });
  try {
    const delays = [];
    const res = await retry(({ attempt, signal }) => fetch(`${server.url}/?a=${attempt}`, { signal }), {
      attempts: 4,
      backoff: constant(5_000),
      maxRetryAfter: 40,
      retryOnResult: (r) => r.status >= 429,
      onRetry: ({ delay }) => delays.push(delay),
    });
    eq([res.status, await res.text()], [200, 'ok 4'], 'final');
    eq(delays, [0, 0, 40], 'server hints (third capped by maxRetryAfter)');
  } finally {
    await server.close();
  }
});
await check('retry: retryBudget refuses a retry with RetryBudgetError once spent', async () => {
  const budget = retryBudget({ ratio: 0, minPerSecond: 0 });
  await rejects(
    retry(
      () => {
        throw new Error('x');
      },
      { budget, backoff: constant(0) },
    ),
    (e) => e instanceof RetryBudgetError && e.code === 'ERR_RETRY_BUDGET_EXHAUSTED' && e.reason === 'budget',
    'budget',
  );
  const b2 = retryBudget({ ratio: 0.5, minPerSecond: 0, ttl: 1000 });
  for (let i = 0; i < 4; i++) b2.recordRequest();
  eq([b2.tryRetry(), b2.tryRetry(), b2.tryRetry()], [true, true, false], 'ratio 0.5 of 4 calls');
});
await check('retry: withRetry keeps the signature and retries', async () => {
  let n = 0;
  const add = withRetry(
    async (a, b) => {
      if (++n < 2) throw new Error('x');
      return a + b;
    },
    { backoff: constant(1) },
  );
  eq([await add(2, 3), n], [5, 2], 'withRetry');
});
summary('core + retry');
