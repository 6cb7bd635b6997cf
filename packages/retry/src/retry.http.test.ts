/**
 * retry() over real HTTP. First against a third-party API mocked with msw (the @integ/testing scenarios): real
 * fetch, real Response headers, fake clock for the waits. Then against a node:http server on loopback, where
 * the server counts the sockets: server hints, a hanging server cut by the per-attempt timeout and by the total
 * deadline, the caller aborting mid-attempt and mid-wait, and a shared budget failing fast. The waits run on a
 * fake clock; the test moves it only once the server has seen the request it expects.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { isIntegError, TimeoutError } from '@integ/core';
import { constant, isRetryError, type RetryError, retry, retryBudget } from '@integ/retry';
import {
  createFakeClock,
  createTestServer,
  type FakeClock,
  flaky,
  retryAfter,
  trackedAbortController,
} from '@integ/testing';
import { HttpResponse, http } from 'msw';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const url = 'https://api.example.com/users';
const server = createTestServer();

/** Advances the fake clock until `promise` settles (fetch needs real I/O turns between timers). */
async function drive<T>(promise: Promise<T>, clock: ReturnType<typeof createFakeClock>): Promise<T> {
  let done = false;
  const settled = promise.finally(() => {
    done = true;
  });
  for (let i = 0; i < 200 && !done; i++) await clock.advance(250);
  return settled;
}

describe('retry over HTTP (msw)', () => {
  beforeAll(() => server.listen());
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());

  it('honours Retry-After from a 503 returned as a result', async () => {
    const scenario = retryAfter(3, { status: 503, times: 2 });
    server.use(http.get(url, scenario));
    const clock = createFakeClock();
    const delays: number[] = [];
    const response = await drive(
      retry(({ signal }) => fetch(url, { signal }), {
        clock,
        signal: new AbortController().signal,
        retryOnResult: (r) => r.status === 503,
        onRetry: ({ delay }) => delays.push(delay),
      }),
      clock,
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    expect(scenario.calls).toBe(3);
    expect(delays).toEqual([3000, 3000]);
  });

  it('retries network errors (fetch rejects with a TypeError) until the service recovers', async () => {
    const scenario = flaky({ failures: 2, status: 'network' });
    server.use(http.get(url, scenario));
    const clock = createFakeClock();
    const response = await drive(
      retry(() => fetch(url), { clock, random: () => 0.5 }),
      clock,
    );
    expect(response.status).toBe(200);
    expect(scenario.calls).toBe(3);
  });

  it('reads Retry-After from error.response when the caller throws on non-2xx', async () => {
    server.use(
      http.get(url, () =>
        HttpResponse.json({ error: 'slow down' }, { status: 429, headers: { 'Retry-After': '1' } }),
      ),
    );
    const clock = createFakeClock();
    const delays: number[] = [];
    const error = await drive(
      retry(
        async () => {
          const response = await fetch(url);
          if (!response.ok) throw Object.assign(new Error(`HTTP ${response.status}`), { response });
          return response;
        },
        { clock, attempts: 2, onRetry: ({ delay }) => delays.push(delay) },
      ).catch((e: unknown) => e),
      clock,
    );
    expect((error as { code?: string }).code).toBe('ERR_RETRY_EXHAUSTED');
    expect(delays).toEqual([1000]);
  });
});

/**
 * A node:http server on 127.0.0.1 that hands each request to the test and tracks every socket that carried one.
 * Replies carry `connection: close`, so a socket still open at the end is one nobody cut. (An aborted fetch can
 * also make undici open a spare connection that never carries a request; Node 20's undici 6 closes it after its
 * 4 s keep-alive timeout, Node 24's at once. That one is undici's, not retry's, and is not counted.)
 */
async function loopback() {
  const waiting: ((exchange: Exchange) => void)[] = [];
  const queued: Exchange[] = [];
  const carried = new Map<Socket, Promise<unknown>>();
  let requests = 0;
  const http = createServer((req, res) => {
    requests++;
    const socket = req.socket;
    if (!carried.has(socket))
      carried.set(socket, socket.destroyed ? Promise.resolve() : once(socket, 'close'));
    const exchange = { req, res };
    const next = waiting.shift();
    if (next) next(exchange);
    else queued.push(exchange);
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const { port } = http.address() as { port: number };
  const open = (): number => [...carried.keys()].filter((socket) => !socket.destroyed).length;
  return {
    url: `http://127.0.0.1:${port}/orders`,
    /** How many requests arrived. */
    get requests(): number {
      return requests;
    },
    /** The next request (already arrived or still to come). */
    next(): Promise<Exchange> {
      const ready = queued.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
    },
    /** Resolves once every socket that carried a request has closed. */
    allClosed: (): Promise<unknown> =>
      soon(Promise.all(carried.values()), () => `${open()} socket(s) left open`),
    close(): Promise<unknown> {
      http.closeAllConnections();
      http.close();
      return once(http, 'close');
    },
  };
}
/**
 * `promise`, or a failure after 10 s of real time: sockets close on real I/O (slow on a loaded machine), and a
 * socket nobody cut would otherwise stall the test until vitest's own timeout with no word of what was left.
 */
async function soon<T>(promise: Promise<T>, what: () => string): Promise<T> {
  let guard: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        guard = setTimeout(() => reject(new Error(what())), 10_000);
      }),
    ]);
  } finally {
    clearTimeout(guard);
  }
}

type Exchange = { req: IncomingMessage; res: ServerResponse };
type Loopback = Awaited<ReturnType<typeof loopback>>;

const reply = (res: ServerResponse, status: number, headers: Record<string, string> = {}, body = '') =>
  res.writeHead(status, { connection: 'close', ...headers }).end(body);

/** Everything retry may hold is gone: no timer on the clock, no listener on the caller's signal. */
function expectNothingLeft(clock: FakeClock, caller?: { listeners: number }): void {
  expect(clock.pendingTimers).toBe(0);
  if (caller) expect(caller.listeners).toBe(0);
}

describe('retry over HTTP (node:http on loopback)', () => {
  let api: Loopback;
  beforeEach(async () => {
    api = await loopback();
  });
  afterEach(() => api.close());

  /**
   * Runs one retry(fetch) whose 503/429 replies carry `headers`, and returns the waits it chose. The clock
   * moves only after onRetry has announced the wait.
   */
  async function hinted(
    headers: Record<string, string>,
    options: { clock?: FakeClock; maxRetryAfter?: number; status?: number } = {},
  ) {
    const clock = options.clock ?? createFakeClock();
    const caller = trackedAbortController();
    const delays: number[] = [];
    let announced: () => void = () => {};
    const done = retry(({ signal }) => fetch(api.url, { signal }), {
      clock,
      signal: caller.signal,
      timeout: 5000,
      ...(options.maxRetryAfter === undefined ? {} : { maxRetryAfter: options.maxRetryAfter }),
      retryOnResult: (r) => r.status === 429 || r.status >= 500,
      onRetry: ({ delay }) => {
        delays.push(delay);
        announced();
      },
    });
    const waiting = new Promise<void>((resolve) => {
      announced = resolve;
    });
    reply((await api.next()).res, options.status ?? 503, headers);
    await waiting;
    // The wait is on the fake clock: nothing was asked again before it passes.
    await clock.advance((delays[0] as number) - 1);
    expect(api.requests).toBe(1);
    const second = api.next();
    await clock.advance(1);
    reply((await second).res, 200, { 'content-type': 'text/plain' }, 'ok');
    const response = await done;
    expect(await response.text()).toBe('ok');
    await api.allClosed();
    expectNothingLeft(clock, caller);
    return delays;
  }

  it('waits the seconds of a 503 Retry-After, then succeeds', async () => {
    expect(await hinted({ 'retry-after': '2' })).toEqual([2000]);
  });

  it('waits until the HTTP-date of a 503 Retry-After', async () => {
    const clock = createFakeClock({ now: Date.UTC(2026, 10, 24, 12, 0, 0) });
    const at = new Date(clock.now() + 3000).toUTCString();
    expect(await hinted({ 'retry-after': at }, { clock })).toEqual([3000]);
  });

  it('waits the retry-after-ms of a 429, which wins over Retry-After', async () => {
    expect(await hinted({ 'retry-after-ms': '1500', 'retry-after': '9' }, { status: 429 })).toEqual([1500]);
  });

  it('reads the hint of a node:http response whose server sent a header named get', async () => {
    // got and hand-written node:http clients hand over `res.headers`, whose names the server chose.
    const clock = createFakeClock();
    const delays: number[] = [];
    const call = () =>
      new Promise<number>((resolve, reject) => {
        request(api.url, (res) => {
          res.resume();
          if (res.statusCode === 200) resolve(200);
          else reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { response: res }));
        }).end();
      });
    let settled = false;
    const done = retry(call, { clock, onRetry: ({ delay }) => delays.push(delay) }).finally(() => {
      settled = true;
    });
    reply((await api.next()).res, 503, { get: 'x', 'retry-after': '2' });
    const second = api.next();
    while (delays.length === 0 && !settled) await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false); // it did not give up on the header
    await clock.advance(2000);
    reply((await second).res, 200);
    expect(await done).toBe(200);
    expect(delays).toEqual([2000]);
    await api.allClosed();
    expectNothingLeft(clock);
  });

  it('caps a server hint at maxRetryAfter', async () => {
    expect(await hinted({ 'retry-after': '120' }, { maxRetryAfter: 5000 })).toEqual([5000]);
  });

  it('gives up at once when the hint reaches past the deadline, without sleeping', async () => {
    const clock = createFakeClock();
    const caller = trackedAbortController();
    const done = retry(({ signal }) => fetch(api.url, { signal }), {
      clock,
      signal: caller.signal,
      deadline: 10_000,
      retryOnResult: (r) => r.status === 503,
    });
    reply((await api.next()).res, 503, { 'retry-after': '30' });
    const error = (await done.catch((e: unknown) => e)) as RetryError;
    expect(isRetryError(error)).toBe(true);
    expect(error.reason).toBe('deadline');
    expect(error.attempts).toBe(1);
    expect(clock.now()).toBe(0);
    expect(api.requests).toBe(1);
    await api.allClosed();
    expectNothingLeft(clock, caller);
  });

  it('cuts a hanging attempt and its socket at the per-attempt timeout, then tries again', async () => {
    const clock = createFakeClock();
    const caller = trackedAbortController();
    const done = retry(({ signal }) => fetch(api.url, { signal }), {
      clock,
      signal: caller.signal,
      timeout: 1000,
      attempts: 2,
      backoff: constant(0),
    });
    const settled = done.catch((e: unknown) => e);
    const first = await api.next(); // never answered
    const firstClosed = once(first.req.socket, 'close');
    const second = api.next();
    await clock.advance(1000);
    await soon(firstClosed, () => 'the timeout left the socket open'); // not only the promise
    await clock.advance(999);
    expect((await second).req.socket.destroyed).toBe(false);
    await clock.advance(1);
    const error = (await settled) as RetryError;
    expect(error.reason).toBe('attempts');
    expect(error.errors).toHaveLength(2);
    for (const e of error.errors) {
      expect(e).toBeInstanceOf(TimeoutError);
      expect((e as TimeoutError).timeoutMs).toBe(1000);
    }
    await api.allClosed();
    expectNothingLeft(clock, caller);
  });

  it('cuts a hanging attempt at the total deadline, before its own timeout', async () => {
    const clock = createFakeClock();
    const done = retry(({ signal }) => fetch(api.url, { signal }), {
      clock,
      timeout: 1000,
      deadline: 1500,
      attempts: 5,
      backoff: constant(0),
    });
    const settled = done.catch((e: unknown) => e);
    await api.next();
    const second = api.next();
    await clock.advance(1000);
    await second;
    await clock.advance(500);
    const error = (await settled) as RetryError;
    expect(clock.now()).toBe(1500);
    expect(error.reason).toBe('deadline');
    expect(error.attempts).toBe(2);
    const last = error.errors[1] as TimeoutError;
    expect(isIntegError(last, 'ERR_TIMEOUT')).toBe(true);
    expect(last.timeoutMs).toBe(1500);
    expect(last.message).toMatch(/^Retry deadline/);
    await api.allClosed();
    expectNothingLeft(clock);
  });

  it('rejects at once with the reason when the caller aborts mid-attempt, and closes the socket', async () => {
    const clock = createFakeClock();
    const caller = trackedAbortController();
    const done = retry(({ signal }) => fetch(api.url, { signal }), {
      clock,
      signal: caller.signal,
      timeout: 5000,
      deadline: 60_000,
    });
    const settled = done.catch((e: unknown) => e);
    await api.next();
    expect(caller.listeners).toBe(1);
    const reason = new Error('the client went away');
    caller.abort(reason);
    expect(await settled).toBe(reason);
    expect(clock.now()).toBe(0);
    await api.allClosed();
    expectNothingLeft(clock, caller);
  });

  it('rejects at once with the reason when the caller aborts mid-wait, and asks no more', async () => {
    const clock = createFakeClock();
    const caller = trackedAbortController();
    let waiting: () => void = () => {};
    const announced = new Promise<void>((resolve) => {
      waiting = resolve;
    });
    const done = retry(({ signal }) => fetch(api.url, { signal }), {
      clock,
      signal: caller.signal,
      retryOnResult: (r) => r.status === 503,
      onRetry: () => waiting(),
    });
    const settled = done.catch((e: unknown) => e);
    reply((await api.next()).res, 503, { 'retry-after': '10' });
    await announced;
    expect(clock.pendingTimers).toBe(1);
    caller.abort('shutting down');
    expect(await settled).toBe('shutting down');
    await clock.advance(60_000);
    expect(api.requests).toBe(1);
    await api.allClosed();
    expectNothingLeft(clock, caller);
  });

  it('fails fast with RetryBudgetError once the shared budget is spent, without waiting', async () => {
    const clock = createFakeClock();
    // 10 calls may add 1 retry (ratio 0.1, no floor).
    const budget = retryBudget({ ratio: 0.1, minPerSecond: 0, clock });
    const calls = Array.from({ length: 10 }, () =>
      retry(({ signal }) => fetch(api.url, { signal }), {
        clock,
        budget,
        timeout: 5000,
        backoff: constant(100),
        retryOnResult: (r) => r.status === 503,
      }).catch((e: unknown) => e),
    );
    for (let i = 0; i < 10; i++) reply((await api.next()).res, 503);
    const retried = api.next();
    await clock.advance(100);
    reply((await retried).res, 200, {}, 'ok');
    const outcomes = await Promise.all(calls);
    const refused = outcomes.filter((e) => isIntegError(e, 'ERR_RETRY_BUDGET_EXHAUSTED')) as RetryError[];
    expect(refused).toHaveLength(9);
    for (const e of refused) {
      expect(e.attempts).toBe(1);
      expect(e.reason).toBe('budget');
      expect(e.message).toMatch(/budget/);
    }
    expect(outcomes.filter((r) => r instanceof Response)).toHaveLength(1);
    expect(api.requests).toBe(11);
    await api.allClosed();
    expectNothingLeft(clock);
  });

  it('frees the socket of a streaming 502 whose retryOnResult threw, then retries', async () => {
    const clock = createFakeClock();
    const done = retry(({ signal }) => fetch(api.url, { signal }), {
      clock,
      timeout: 5000,
      backoff: constant(0),
      // A predicate that throws (a proxy's error page it cannot read): counted as the attempt's failure.
      retryOnResult: (r) => {
        if (r.status === 502) throw new Error('proxy error page');
        return false;
      },
    });
    const first = (await api.next()).res;
    first.writeHead(502, { 'content-type': 'text/html' }).write('<html>bad gateway'); // never ends
    reply((await api.next()).res, 200, {}, 'ok');
    expect(await (await done).text()).toBe('ok');
    expect(api.requests).toBe(2);
    // Left unread, the 502's body would hold its socket open: retry cancelled it.
    await api.allClosed();
    expectNothingLeft(clock);
  });
});
