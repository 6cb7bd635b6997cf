/**
 * Cross-package seams, round 8: the compositions DESIGN.md promises (retry <- queue, sse; breaker and
 * discovery <- client) put together by hand, as users do until @integ/client exists. Every timer runs on one
 * fake clock; HTTP goes over real loopback sockets (node:http on 127.0.0.1:0), msw only where a third-party
 * API is what is being faked.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CircuitOpenError, createBreaker, createBreakerRegistry, isCircuitOpenError } from '@integ/breaker';
import { IntegError, isIntegError, sleep } from '@integ/core';
import { createRegistry, type Endpoint } from '@integ/discovery';
import { createQueue, memoryStore } from '@integ/queue';
import { constant, exponential, isRetryable, RetryError, retry, retryBudget } from '@integ/retry';
import { connect, createParser, encodeEvent, type SseEvent } from '@integ/sse';
import {
  createFakeClock,
  createTestServer,
  seededRandom,
  sseStream,
  trackedAbortController,
} from '@integ/testing';
import { http } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A loopback server whose behaviour each test sets through `handle`. */
function loopback(): {
  url: (path?: string) => string;
  requests: IncomingMessage[];
  handle: (h: Handler) => void;
} {
  let handler: Handler = (_req, res) => res.end('ok');
  const requests: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  let base = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    url: (path = '/') => `${base}${path}`,
    requests,
    handle: (h) => {
      handler = h;
    },
  };
}

/**
 * Waits in real time (sockets are real) until `check` holds: for the event, polled often, with room for a loaded
 * machine (the limit is real time, not a count of polls that a slow machine stretches or a fast one cuts short).
 */
async function until(check: () => boolean): Promise<void> {
  await vi.waitFor(
    () => {
      if (!check()) throw new Error('condition never held');
    },
    { timeout: 10_000, interval: 2 },
  );
}

/** Lets every promise callback, and a few turns of the event loop, run: for data already in memory. */
async function drain(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('retry around a breaker around fetch: the hint, the guards and aborts', () => {
  const srv = loopback();
  const failing: Handler = (_req, res) => {
    res.statusCode = 503;
    res.end('down');
  };
  const fetchOk = async (url: string, signal: AbortSignal): Promise<string> => {
    const res = await fetch(url, { signal });
    if (!res.ok) {
      await res.body?.cancel();
      throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
    }
    return res.text();
  };

  it("waits the open breaker's retryAfterMs, capped by maxRetryAfter", async () => {
    srv.handle(failing);
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 10_000 });
    const delays: number[] = [];
    const before = srv.requests.length;
    const done = retry(
      ({ signal }) => breaker.execute(({ signal: s }) => fetchOk(srv.url('/a'), s), { signal }),
      {
        clock,
        attempts: 3,
        backoff: constant(0),
        maxRetryAfter: 3_000,
        onRetry: ({ delay }) => delays.push(delay),
      },
    ).catch((e: unknown) => e);
    // The 503 opened the breaker; the 2nd attempt was refused by it and its hint (10 s) was capped to 3 s.
    await until(() => delays.length === 2);
    expect(delays).toEqual([0, 3_000]);
    expect(srv.requests.length - before).toBe(1);
    await clock.advance(3_000);
    const error = (await done) as RetryError;
    expect(error).toBeInstanceOf(RetryError);
    expect(isCircuitOpenError(error.cause)).toBe(true);
    expect((error.cause as CircuitOpenError).retryAfterMs).toBe(7_000);
    expect(srv.requests.length - before).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it("gives up at once when the breaker's hint reaches the deadline", async () => {
    srv.handle(failing);
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 10_000 });
    const reasons: string[] = [];
    const done = retry(
      ({ signal }) => breaker.execute(({ signal: s }) => fetchOk(srv.url('/b'), s), { signal }),
      {
        clock,
        attempts: 5,
        deadline: 5_000,
        backoff: constant(0),
        onGiveUp: ({ reason }) => reasons.push(reason),
      },
    ).catch((e: unknown) => e);
    const error = (await done) as RetryError;
    expect(error).toBeInstanceOf(RetryError);
    expect(error.reason).toBe('deadline');
    expect(isCircuitOpenError(error.cause)).toBe(true);
    expect(reasons).toEqual(['deadline']);
    expect(clock.now()).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('treats an open circuit as retryable and an isolated one as final (isRetryable, isIntegError)', () => {
    const open = new CircuitOpenError(1_000);
    const isolated = new CircuitOpenError(Number.POSITIVE_INFINITY, true);
    expect(isRetryable(open)).toBe(true);
    expect(isRetryable(isolated)).toBe(false);
    expect(isIntegError(open, 'ERR_CIRCUIT_OPEN')).toBe(true);
    expect(isIntegError(isolated, 'ERR_CIRCUIT_OPEN')).toBe(true);
  });

  it('stops retrying with the isolated CircuitOpenError itself when isolate() comes during a backoff wait', async () => {
    srv.handle(failing);
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 10 });
    let calls = 0;
    const done = retry(
      ({ signal }) =>
        breaker.execute(
          ({ signal: s }) => {
            calls++;
            return fetchOk(srv.url('/c'), s);
          },
          { signal },
        ),
      { clock, attempts: 5, backoff: constant(1_000) },
    ).catch((e: unknown) => e);
    await until(() => clock.pendingTimers === 1); // the first 503 came back, retry waits 1 s
    const release = breaker.isolate();
    await clock.advance(1_000);
    const error = await done;
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect((error as CircuitOpenError).isolated).toBe(true);
    expect((error as CircuitOpenError).retryable).toBe(false);
    expect(calls).toBe(1);
    expect(clock.pendingTimers).toBe(0);
    release();
  });

  it('aborts the request in flight and stops retrying when isolate() comes during an attempt', async () => {
    const held: ServerResponse[] = [];
    srv.handle((_req, res) => held.push(res));
    const clock = createFakeClock();
    const breaker = createBreaker({ clock });
    const before = srv.requests.length;
    const done = retry(
      ({ signal }) => breaker.execute(({ signal: s }) => fetchOk(srv.url('/d'), s), { signal }),
      {
        clock,
        attempts: 5,
        timeout: 10_000,
        backoff: constant(0),
      },
    ).catch((e: unknown) => e);
    await until(() => held.length === 1);
    breaker.isolate();
    const error = await done;
    expect(isCircuitOpenError(error)).toBe(true);
    expect((error as CircuitOpenError).isolated).toBe(true);
    expect(srv.requests.length - before).toBe(1);
    const req = srv.requests[srv.requests.length - 1] as IncomingMessage;
    await until(() => req.destroyed);
    expect(clock.pendingTimers).toBe(0);
    for (const res of held) res.destroy();
  });

  for (const where of ['request in flight', 'backoff wait', 'open-circuit wait'] as const) {
    it(`rejects with the caller's reason and leaves no timer or listener when aborted during the ${where}`, async () => {
      const held: ServerResponse[] = [];
      srv.handle(where === 'request in flight' ? (_req, res) => held.push(res) : failing);
      const clock = createFakeClock();
      const breaker = createBreaker({
        clock,
        failureThreshold: where === 'open-circuit wait' ? 1 : 10,
        openFor: 30_000,
      });
      const caller = trackedAbortController();
      const before = srv.requests.length;
      const delays: number[] = [];
      const done = retry(
        ({ signal }) => breaker.execute(({ signal: s }) => fetchOk(srv.url('/e'), s), { signal }),
        {
          clock,
          attempts: 5,
          timeout: 60_000,
          backoff: constant(1_000),
          signal: caller.signal,
          onRetry: ({ delay }) => delays.push(delay),
        },
      ).catch((e: unknown) => e);
      if (where === 'request in flight') await until(() => held.length === 1);
      else await until(() => delays.length === 1); // the 503 came back, retry waits 1 s
      if (where === 'open-circuit wait') {
        expect(breaker.state).toBe('open');
        await clock.advance(1_000); // the 2nd attempt is refused by the open breaker, retry waits its hint
        expect(delays).toEqual([1_000, 29_000]);
      }
      if (where !== 'request in flight') expect(clock.pendingTimers).toBe(1); // only the wait's timer
      const reason = new Error('caller gave up');
      caller.abort(reason);
      expect(await done).toBe(reason);
      if (where === 'request in flight') {
        const req = srv.requests[srv.requests.length - 1] as IncomingMessage;
        await until(() => req.destroyed);
      }
      expect(clock.pendingTimers).toBe(0);
      expect(caller.listeners).toBe(0);
      expect(srv.requests.length - before).toBe(1);
      for (const res of held) res.destroy();
    });
  }
});

/** Every string an error shows (message, stack, String(), its cause chain and `.errors`), to look for secrets in. */
function everythingShown(error: unknown, seen = new Set<unknown>()): string {
  if (error === null || typeof error !== 'object' || seen.has(error)) return String(error);
  seen.add(error);
  const e = error as { message?: unknown; stack?: unknown; cause?: unknown; errors?: unknown };
  const parts = [String(error), String(e.message), String(e.stack), JSON.stringify(error)];
  if (e.cause !== undefined) parts.push(everythingShown(e.cause, seen));
  if (Array.isArray(e.errors)) for (const inner of e.errors) parts.push(everythingShown(inner, seen));
  return parts.join('\n');
}

describe('discovery + a breaker per endpoint + retry, one endpoint dead', () => {
  const healthy = loopback();
  healthy.handle((_req, res) => res.end('from healthy'));
  const secret = 's3cr3t-t0ken';
  let deadUrl = '';
  beforeAll(async () => {
    // A port that was just closed: connections to it are refused.
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const { port } = gone.address() as AddressInfo;
    await new Promise((resolve) => gone.close(resolve));
    deadUrl = `http://127.0.0.1:${port}/v1?token=${secret}`;
  });

  /** One call: pick() per attempt, a breaker per endpoint url, report() of each attempt's outcome. */
  function setup() {
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: { urls: [healthy.url(`/v1?token=${secret}`), deadUrl] } },
      clock,
      random: seededRandom(7),
    });
    const breakers = createBreakerRegistry({ clock, options: { failureThreshold: 2, openFor: 30_000 } });
    const picked: string[] = [];
    const attempt = async ({ signal }: { signal: AbortSignal }): Promise<string> => {
      const endpoint: Endpoint = registry.pick('api');
      picked.push(endpoint.url);
      const started = clock.now();
      try {
        const res = await breakers.execute(
          endpoint.url,
          ({ signal: s }) => fetch(endpoint.url, { signal: s }),
          {
            signal,
          },
        );
        registry.report(endpoint, { ok: res.ok, latencyMs: clock.now() - started, status: res.status });
        return await res.text();
      } catch (error) {
        // A breaker's refusal says this endpoint is down: report it as a failure with no response, and drop
        // its retryAfterMs (it is about this endpoint, not the service: another may answer now).
        registry.report(endpoint, { ok: false, latencyMs: clock.now() - started });
        if (isCircuitOpenError(error)) throw new Error('endpoint refused by its breaker', { cause: error });
        throw error;
      }
    };
    const call = (): Promise<string> => retry(attempt, { clock, attempts: 3, backoff: constant(0) });
    return { clock, registry, breakers, picked, call };
  }

  it("lands retries on the healthy endpoint, opens the dead one's breaker and ejects it", async () => {
    const { registry, breakers, picked, call } = setup();
    for (let i = 0; i < 10; i++) expect(await call()).toBe('from healthy');
    const dead = picked.filter((url) => url === deadUrl).length;
    // Round-robin: the dead endpoint gets every other attempt until outlier detection ejects it (5 failures
    // in a row: 2 refused connections, then 3 refusals of its open breaker); then no attempt goes there.
    expect(dead).toBe(5);
    expect(picked.slice(-5).every((url) => url !== deadUrl)).toBe(true);
    expect(breakers.get(deadUrl).state).toBe('open');
    expect(breakers.get(healthy.url(`/v1?token=${secret}`)).state).toBe('closed');
    const inspection = registry.inspect('api');
    const deadEntry = inspection.endpoints.find((e) => !e.eligible);
    expect(deadEntry?.ejected).toBe(true);
    expect(deadEntry?.outlier.ejectedUntil).toBe(30_000); // baseEjectionTime, the first ejection
    expect(inspection.endpoints.map((e) => e.load.inflight)).toEqual([0, 0]); // every pick was reported
    expect(JSON.stringify(inspection)).not.toContain(secret);
    registry.close();
  });

  it("keeps the endpoint URLs' secrets out of what the caller is thrown", async () => {
    const clock = createFakeClock();
    // Only the dead endpoint: every attempt fails, so the caller sees the whole chain.
    const registry = createRegistry({ services: { api: { urls: [deadUrl] } }, clock });
    const breakers = createBreakerRegistry({ clock, options: { failureThreshold: 2, openFor: 30_000 } });
    const error = await retry(
      async ({ signal }) => {
        const endpoint = registry.pick('api');
        try {
          return await breakers.execute(endpoint.url, ({ signal: s }) => fetch(endpoint.url, { signal: s }), {
            signal,
          });
        } finally {
          registry.report(endpoint, { ok: false, latencyMs: 1 });
        }
      },
      { clock, attempts: 3, backoff: constant(0), maxRetryAfter: 0 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryError);
    expect((error as RetryError).errors).toHaveLength(3);
    expect(isCircuitOpenError((error as RetryError).cause)).toBe(true);
    expect(everythingShown(error)).not.toContain(secret);
    registry.close();
  });
});

describe('a queue worker whose handler retries with @integ/retry', () => {
  const srv = loopback();
  const flaky = (failures: number): Handler => {
    let n = 0;
    return (_req, res) => {
      res.statusCode = ++n <= failures ? 503 : 200;
      res.end(res.statusCode === 200 ? 'sent' : 'busy');
    };
  };
  const send = async (signal: AbortSignal): Promise<string> => {
    const res = await fetch(srv.url('/send'), { signal });
    const text = await res.text();
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return text;
  };

  it("retries inside the job's lease with the job's signal, and the job is done once", async () => {
    srv.handle(flaky(2));
    const clock = createFakeClock();
    const queue = createQueue<{ to: string }>({ name: 'mail', store: memoryStore(), clock, leaseMs: 10_000 });
    const results: string[] = [];
    const before = srv.requests.length;
    const job = await queue.push({ to: 'a' });
    let waits = 0;
    const worker = queue.process(
      async (_job, { signal }) => {
        const sent = await retry(({ signal: s }) => send(s), {
          clock,
          signal,
          attempts: 3,
          backoff: constant(4_000),
          onRetry: () => void waits++,
        });
        results.push(sent);
      },
      { pollInterval: 60_000 },
    );
    // Two 4 s waits, 8 s in all: longer than half the lease, so the worker renews it meanwhile.
    for (let i = 1; i <= 2; i++) {
      await until(() => waits === i);
      await clock.advance(4_000);
    }
    await until(() => results.length === 1);
    expect(results).toEqual(['sent']);
    await until(() => worker.running === 0);
    const stored = await queue.get(job.id);
    expect(stored?.status).toBe('done');
    expect(stored?.attempts).toBe(1);
    expect(srv.requests.length - before).toBe(3);
    await worker.close();
    await queue.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('close() during a retry wait aborts it through the job signal and returns the job unspent', async () => {
    srv.handle(flaky(Number.POSITIVE_INFINITY));
    const clock = createFakeClock();
    const queue = createQueue<{ to: string }>({ name: 'mail', store: memoryStore(), clock });
    const job = await queue.push({ to: 'b' });
    const outcomes: unknown[] = [];
    let waits = 0;
    const worker = queue.process(
      async (_job, { signal }) => {
        try {
          await retry(({ signal: s }) => send(s), {
            clock,
            signal,
            attempts: 5,
            backoff: constant(60_000),
            onRetry: () => void waits++,
          });
        } catch (error) {
          outcomes.push(error);
          throw error;
        }
      },
      { pollInterval: 60_000 },
    );
    await until(() => waits === 1); // the 503 is read, retry waits its 60 s
    const before = srv.requests.length;
    const closed = worker.close({ timeout: 1_000 });
    await clock.advance(1_000);
    await closed;
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).not.toBeInstanceOf(RetryError); // the abort's reason, not a give-up
    expect(isIntegError(outcomes[0], 'ERR_QUEUE_CLOSED')).toBe(true);
    const stored = await queue.get(job.id);
    expect(stored?.status).toBe('pending');
    expect(stored?.attempts).toBe(0);
    expect(srv.requests.length).toBe(before);
    await queue.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it("with next(), a RetryError's retryAfterMs hint can be handed to fail({ delay })", async () => {
    const clock = createFakeClock();
    const queue = createQueue<{ to: string }>({ name: 'mail', store: memoryStore(), clock });
    await queue.push({ to: 'c' });
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 120_000 });
    await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    const job = await queue.next();
    if (job === null) throw new Error('no job');
    const error = await retry(() => breaker.execute(() => 'sent'), { clock, deadline: 5_000 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RetryError);
    const hint = ((error as RetryError).cause as CircuitOpenError).retryAfterMs;
    expect(hint).toBe(120_000);
    await job.fail(error, { delay: hint });
    expect(await queue.next()).toBeNull();
    clock.setNow(clock.now() + 119_999);
    expect(await queue.next()).toBeNull();
    clock.setNow(clock.now() + 1);
    expect((await queue.next())?.attempts).toBe(2);
    await queue.close({ timeout: 0 });
  });
});

describe('sse connect() with an @integ/retry backoff, on a fake clock', () => {
  const events = [
    { id: '1', data: 'one', retry: 1_000 },
    { id: '2', data: 'two' },
    { id: '3', data: 'three' },
    { id: '4', data: 'four' },
  ];

  /** Reads `count` events, advancing the fake clock through each reconnection wait as it is announced. */
  async function read(
    stream: AsyncIterable<SseEvent>,
    count: number,
    clock: ReturnType<typeof createFakeClock>,
    waits: number[],
  ): Promise<SseEvent[]> {
    const got: SseEvent[] = [];
    const iterator = stream[Symbol.asyncIterator]();
    let waited = 0;
    while (got.length < count) {
      const next = iterator.next();
      let settled = false;
      void next.then(() => {
        settled = true;
      });
      for (;;) {
        await until(() => settled || waits.length > waited);
        // The client reads ahead and may announce the next wait before a buffered event is handed over:
        // a few turns of the event loop let that event through before the clock moves.
        await drain();
        if (settled) break;
        await clock.advance(waits[waited++] as number);
      }
      const result = await next;
      if (result.done) break;
      got.push(result.value);
    }
    return got;
  }

  describe('under msw, from sseStream()', () => {
    const server = createTestServer();
    beforeAll(() => server.listen());
    afterEach(() => server.resetHandlers());
    afterAll(() => server.close());

    it('reconnects after retry: plus a constant() backoff scaled below maxDelay, resuming by Last-Event-ID', async () => {
      server.use(http.get('https://feed.example.com/events', sseStream(events, { disconnectAfter: 2 })));
      const clock = createFakeClock();
      const waits: number[] = [];
      const lastIds: string[] = [];
      const stream = connect('https://feed.example.com/events', {
        clock,
        random: seededRandom(3),
        backoff: constant(500),
        maxDelay: 10_000,
        onReconnect: ({ delay, lastEventId }) => {
          waits.push(delay);
          lastIds.push(lastEventId);
        },
      });
      const got = await read(stream, 4, clock, waits);
      expect(got.map((e) => [e.lastEventId, e.data])).toEqual([
        ['1', 'one'],
        ['2', 'two'],
        ['3', 'three'],
        ['4', 'four'],
      ]);
      // retry: 1000 is the floor, the backoff's 500 is scaled into the 9000 ms left below maxDelay.
      // (The client reads ahead: the wait after the second connection may already be announced, unused.)
      expect(waits.slice(0, 1)).toEqual([1_000 + (500 * 9_000) / 10_000]);
      expect(lastIds.slice(0, 1)).toEqual(['2']);
      stream.close();
      expect(clock.pendingTimers).toBe(0);
    });
  });

  describe('against a loopback server', () => {
    const srv = loopback();
    const lastEventIds: (string | undefined)[] = [];
    srv.handle((req, res) => {
      const header = req.headers['last-event-id'];
      lastEventIds.push(typeof header === 'string' ? header : undefined);
      const from = events.findIndex((e) => e.id === header) + 1;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // One event per connection, then a normal end: the client must reconnect for each of the others.
      const event = events[from];
      res.end(event === undefined ? '' : encodeEvent(event));
    });

    it('paces reconnections with an exponential() backoff (seeded), resumes and leaves nothing behind', async () => {
      const clock = createFakeClock();
      const waits: number[] = [];
      const caller = trackedAbortController();
      const stream = connect(srv.url('/events'), {
        clock,
        random: seededRandom(11),
        backoff: exponential({ initial: 2_000, factor: 2, max: 8_000, jitter: 'full' }),
        maxDelay: 20_000,
        signal: caller.signal,
        onReconnect: ({ delay }) => waits.push(delay),
      });
      const got = await read(stream, 4, clock, waits);
      expect(got.map((e) => e.data)).toEqual(['one', 'two', 'three', 'four']);
      expect(lastEventIds.slice(0, 4)).toEqual([undefined, '1', '2', '3']);
      // Each connection delivered an event, so every wait is a first attempt: retry: 1000 plus a full-jitter
      // draw of the backoff's 2000, scaled into the 19000 ms left below maxDelay.
      expect(waits.length).toBeGreaterThanOrEqual(3); // the client reads ahead: a 4th may be announced
      for (const wait of waits) {
        expect(wait).toBeGreaterThanOrEqual(1_000);
        expect(wait).toBeLessThanOrEqual(1_000 + (2_000 * 19_000) / 20_000);
      }
      caller.abort(new Error('done'));
      await expect(stream[Symbol.asyncIterator]().next()).rejects.toThrow('done');
      expect(clock.pendingTimers).toBe(0);
      expect(caller.listeners).toBe(0);
    });
  });
});

describe('error guards across packages', () => {
  const srv = loopback();

  /** Runs `make` and returns what it threw or rejected with. */
  const caught = async (make: () => unknown): Promise<unknown> => {
    try {
      await make();
    } catch (error) {
      return error;
    }
    throw new Error('nothing was thrown');
  };
  const drain = async (stream: AsyncIterable<unknown>): Promise<void> => {
    for await (const _ of stream);
  };

  /** [package, the code documented, how a user meets it] for every error a package throws at its caller. */
  const cases: [string, string, () => Promise<unknown>][] = [
    ['core', 'ERR_INVALID_ARGUMENT', () => caught(() => retry(() => 1, { attempts: 0 }))],
    [
      'core',
      'ERR_TIMEOUT',
      async () => {
        const clock = createFakeClock();
        const done = retry(({ signal }) => sleep(5_000, { clock, signal }), {
          clock,
          attempts: 1,
          timeout: 10,
        });
        const error = caught(() => done);
        await clock.advance(10);
        return ((await error) as RetryError).cause;
      },
    ],
    [
      'retry',
      'ERR_RETRY_EXHAUSTED',
      () => caught(() => retry(() => Promise.reject(new Error('x')), { attempts: 1 })),
    ],
    [
      'retry',
      'ERR_RETRY_BUDGET_EXHAUSTED',
      () =>
        caught(() =>
          retry(() => Promise.reject(new Error('x')), {
            budget: retryBudget({ minPerSecond: 0, ratio: 0 }),
            backoff: constant(0),
          }),
        ),
    ],
    [
      'retry',
      'ERR_RETRY_RESULT_REJECTED',
      async () =>
        ((await caught(() => retry(() => 1, { attempts: 1, retryOnResult: () => true }))) as RetryError)
          .cause,
    ],
    [
      'breaker',
      'ERR_CIRCUIT_OPEN',
      () => {
        const breaker = createBreaker();
        breaker.isolate();
        return caught(() => breaker.execute(() => 1));
      },
    ],
    [
      'queue',
      'ERR_QUEUE_CLOSED',
      async () => {
        const queue = createQueue({ name: 'q', store: memoryStore() });
        await queue.close();
        return caught(() => queue.push(1));
      },
    ],
    [
      'queue',
      'ERR_PAYLOAD_INVALID',
      () => caught(() => createQueue({ name: 'q', store: memoryStore() }).push(() => 1)),
    ],
    [
      'queue',
      'ERR_PAYLOAD_TOO_LARGE',
      () =>
        caught(() =>
          createQueue({ name: 'q', store: memoryStore(), maxPayloadBytes: 8 }).push('x'.repeat(64)),
        ),
    ],
    [
      'queue',
      'ERR_JOB_SETTLED',
      async () => {
        const queue = createQueue({ name: 'q', store: memoryStore() });
        await queue.push(1);
        const job = await queue.next();
        await job?.ack();
        return caught(() => job?.ack());
      },
    ],
    [
      'queue',
      'ERR_LEASE_LOST',
      async () => {
        const clock = createFakeClock();
        const queue = createQueue({ name: 'q', store: memoryStore(), clock });
        await queue.push(1);
        const first = await queue.next({ leaseMs: 1_000 });
        clock.setNow(2_000);
        await queue.next({ leaseMs: 1_000 }); // the same job, delivered again
        return caught(() => first?.ack());
      },
    ],
    [
      'queue',
      'ERR_STORE_UNAVAILABLE',
      async () => {
        const store = memoryStore();
        const queue = createQueue({ name: 'q', store });
        await store.close();
        return caught(() => queue.push(1));
      },
    ],
    [
      'sse',
      'ERR_SSE_STATUS',
      () => {
        srv.handle((_req, res) => {
          res.statusCode = 500;
          res.end();
        });
        return caught(() => drain(connect(srv.url('/sse?token=s3cr3t'))));
      },
    ],
    [
      'sse',
      'ERR_SSE_CONTENT_TYPE',
      () => {
        srv.handle((_req, res) => res.end('<html>'));
        return caught(() => drain(connect(srv.url('/sse?token=s3cr3t'))));
      },
    ],
    [
      'sse',
      'ERR_SSE_CONNECTION',
      async () => {
        const errors: unknown[] = [];
        srv.handle((req) => req.socket.destroy());
        const stream = connect(srv.url('/sse?token=s3cr3t'), { onError: (error) => errors.push(error) });
        const reading = drain(stream).catch(() => undefined);
        await until(() => errors.length > 0);
        stream.close();
        await reading;
        return errors[0];
      },
    ],
    [
      'sse',
      'ERR_SSE_EVENT_TOO_LARGE',
      () =>
        caught(() =>
          createParser({ onEvent: () => undefined, maxEventSize: 4 }).feed('data: 0123456789\n\n'),
        ),
    ],
    [
      'discovery',
      'ERR_UNKNOWN_SERVICE',
      () => {
        const registry = createRegistry({ services: { api: 'http://10.0.0.1' } });
        return caught(() => registry.pick('nope')).finally(() => registry.close());
      },
    ],
    [
      'discovery',
      'ERR_INVALID_URL',
      () => caught(() => createRegistry({ services: { api: { urls: ['not a url?token=s3cr3t'] } } })),
    ],
    [
      'discovery',
      'ERR_NO_ENDPOINTS',
      async () => {
        const empty = {
          kind: 'custom',
          description: 'no instance',
          open: () => ({ resolve: async () => ({ endpoints: [] }) }),
        };
        const registry = createRegistry({ services: { api: empty } });
        await registry.ready('api');
        return caught(() => registry.pick('api')).finally(() => registry.close());
      },
    ],
    [
      'discovery',
      'ERR_DISCOVERY_SOURCE',
      () => {
        const failing = {
          kind: 'custom',
          description: 'always fails',
          open: () => ({ resolve: () => Promise.reject(new Error('lookup failed')) }),
        };
        const registry = createRegistry({ services: { api: failing } });
        return caught(() => registry.ready('api')).finally(() => registry.close());
      },
    ],
  ];

  for (const [pkg, code, make] of cases) {
    it(`${pkg}: isIntegError(err, '${code}') recognises it, and no other code does`, async () => {
      const error = await make();
      expect(isIntegError(error, code)).toBe(true);
      expect(isIntegError(error)).toBe(true);
      expect(error).toBeInstanceOf(IntegError);
      expect((error as Error).name).toMatch(/Error$/);
      for (const [, other] of cases) if (other !== code) expect(isIntegError(error, other)).toBe(false);
      expect(everythingShown(error)).not.toContain('s3cr3t');
    });
  }

  it("gives every code one meaning: no two packages use one ERR_ code, but core's ERR_TIMEOUT that breaker reads", () => {
    const root = fileURLToPath(new URL('../../../packages/', import.meta.url));
    const owners = new Map<string, Set<string>>();
    for (const pkg of readdirSync(root)) {
      const src = join(root, pkg, 'src');
      if (!existsSync(src)) continue;
      for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' })) {
        if (!file.endsWith('.ts') || /\.test(-support)?\.ts$|test-server|(^|\/)testing\.ts$/.test(file))
          continue;
        const code = readFileSync(join(src, file), 'utf8')
          .replace(/\/\*[\s\S]*?\*\//g, '')
          .replace(/(^|\s)\/\/.*$/gm, '');
        for (const [, found] of code.matchAll(/'(ERR_[A-Z0-9_]+)'/g))
          owners.set(found as string, (owners.get(found as string) ?? new Set()).add(pkg));
      }
    }
    // Every code the cases above meet is found in its package's sources, so the scan sees what is thrown.
    for (const [pkg, code] of cases) expect([code, owners.get(code)?.has(pkg)]).toEqual([code, true]);
    // Node's own codes, read by queue's driver loader, are not ours.
    const shared = [...owners].filter(
      ([code, pkgs]) => pkgs.size > 1 && !/^ERR_(MODULE_NOT_FOUND|DLOPEN_FAILED)$/.test(code),
    );
    expect(shared.map(([code, pkgs]) => [code, [...pkgs].sort()])).toEqual([
      ['ERR_TIMEOUT', ['breaker', 'core']],
    ]);
  });
});
