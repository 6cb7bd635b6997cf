import { InvalidArgumentError } from '@integ/core';
import {
  type ConnectOptions,
  connect,
  EventSource,
  type EventSourceInit,
  type ReconnectInfo,
} from '@integ/sse';
import { createFakeClock, drain } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';

const WAIT = { timeout: 10_000, interval: 2 };
const URL_ = 'https://example.test/live';

/** A fetch that records its calls and answers `body` as an event stream that ends (so the client reconnects). */
function stubFetch(body = ''): { fetch: typeof fetch; calls: RequestInit[] } {
  const calls: RequestInit[] = [];
  return {
    calls,
    fetch: async (_input, init) => {
      calls.push(init ?? {});
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    },
  };
}

/** Options that connect() and EventSource both take, each with a value they must refuse and a hint of why. */
const refused: readonly (readonly [option: string, value: unknown, expected: string])[] = [
  ['maxDelay', Number.NaN, 'ms from 0 to 2^31-1'],
  ['maxDelay', -1, 'ms from 0 to 2^31-1'],
  ['maxDelay', Number.POSITIVE_INFINITY, 'ms from 0 to 2^31-1'],
  // setTimeout fires at once above 2^31-1 ms.
  ['maxDelay', 2 ** 31, 'ms from 0 to 2^31-1'],
  ['maxDelay', '1000', 'ms from 0 to 2^31-1'],
  ['idleTimeout', Number.NaN, 'ms from 0 (off) to 2^31-1'],
  ['idleTimeout', -5000, 'ms from 0 (off) to 2^31-1'],
  ['idleTimeout', Number.POSITIVE_INFINITY, 'ms from 0 (off) to 2^31-1'],
  ['idleTimeout', '45000', 'ms from 0 (off) to 2^31-1'],
  ['maxEventSize', Number.NaN, 'a number >= 1'],
  ['maxEventSize', 0, 'a number >= 1'],
  ['maxEventSize', -1, 'a number >= 1'],
  ['maxEventSize', '1024', 'a number >= 1'],
  ['backoff', 1000, 'a function'],
  ['backoff', { initial: 1000 }, 'a function'],
  ['fetch', 'fetch', 'a function'],
  ['random', 0.5, 'a function'],
  ['onOpen', true, 'a function'],
  ['onReconnect', {}, 'a function'],
  ['onError', 'log', 'a function'],
  ['method', 'GET /live', "an HTTP method such as 'GET' or 'POST'"],
  ['method', '', "an HTTP method such as 'GET' or 'POST'"],
  ['method', 42, "an HTTP method such as 'GET' or 'POST'"],
  ['method', 'CONNECT', "an HTTP method such as 'GET' or 'POST'"],
  ['method', 'trace', "an HTTP method such as 'GET' or 'POST'"],
  ['headers', 'authorization: x', 'a HeadersInit or a function returning one'],
  ['headers', null, 'a HeadersInit or a function returning one'],
  ['clock', {}, 'a Clock'],
  ['clock', null, 'a Clock'],
  ['lastEventId', 42, 'a string without control characters'],
  ['lastEventId', 'a\nb', 'a string without control characters'],
  ['lastEventId', 'a\0b', 'a string without control characters'],
  ['lastEventId', 'a\x01b', 'a string without control characters'],
  ['headers', { 'x-trace': 'a\x1fb' }, 'a HeadersInit or a function returning one'],
];

/** Runs `open` and returns what it threw, checking that nothing was fetched. */
async function refusal(open: (fetchStub: typeof fetch) => unknown): Promise<unknown> {
  const { fetch: fetchStub, calls } = stubFetch();
  let thrown: unknown;
  try {
    open(fetchStub);
  } catch (error) {
    thrown = error;
  }
  await drain();
  expect(calls).toEqual([]);
  return thrown;
}

function expectInvalid(thrown: unknown, argument: string, expected: string): void {
  expect(thrown).toBeInstanceOf(InvalidArgumentError);
  expect(thrown).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument, retryable: false });
  expect((thrown as Error).message).toContain(`Invalid ${argument}: expected ${expected}`);
}

describe('connect: options are checked up front', () => {
  for (const [option, value, expected] of refused)
    it(`refuses ${option}: ${typeof value === 'string' ? JSON.stringify(value) : String(value)}, before any fetch`, async () => {
      const thrown = await refusal((fetchStub) =>
        connect(URL_, { fetch: fetchStub, [option]: value } as ConnectOptions),
      );
      expectInvalid(thrown, option, expected);
    });

  for (const [value, expected] of [
    ['include ', "'omit', 'same-origin' or 'include'"],
    [true, "'omit', 'same-origin' or 'include'"],
  ] as const)
    it(`refuses credentials: ${JSON.stringify(value)}`, async () => {
      const thrown = await refusal((fetchStub) =>
        connect(URL_, { fetch: fetchStub, credentials: value as RequestCredentials }),
      );
      expectInvalid(thrown, 'credentials', expected);
    });

  it('refuses a signal that is not an AbortSignal', async () => {
    for (const signal of [{}, 'abort', null]) {
      const thrown = await refusal((fetchStub) =>
        connect(URL_, { fetch: fetchStub, signal: signal as unknown as AbortSignal }),
      );
      expectInvalid(thrown, 'signal', 'an AbortSignal');
    }
  });

  it('refuses a body with GET or HEAD, which fetch would reject on every reconnect', async () => {
    for (const method of [undefined, 'get', 'HEAD']) {
      const thrown = await refusal((fetchStub) => connect(URL_, { fetch: fetchStub, method, body: 'x' }));
      expectInvalid(thrown, 'body', "none with GET or HEAD: set method: 'POST'");
    }
  });

  it('refuses options that are not an object', async () => {
    const thrown = await refusal(() => connect(URL_, null as unknown as ConnectOptions));
    expectInvalid(thrown, 'options', 'an object');
  });

  it('refuses a url that is not a string or URL, or cannot be parsed, without echoing its query', async () => {
    for (const url of [42, undefined, {}]) {
      const thrown = await refusal((fetchStub) => connect(url as string, { fetch: fetchStub }));
      expectInvalid(thrown, 'url', 'a URL string or a URL');
    }
    for (const url of ['/relative/without/page', 'http://[::1/live?token=secret']) {
      const thrown = await refusal((fetchStub) => connect(url, { fetch: fetchStub }));
      expectInvalid(thrown, 'url', 'an absolute URL');
      expect((thrown as Error).message).not.toContain('secret');
    }
  });

  it('accepts the edges of every range and any HTTP token as method', async () => {
    const { fetch: fetchStub, calls } = stubFetch('data: x\n\n');
    const clock = createFakeClock();
    const streams = [
      connect(new URL(URL_), { fetch: fetchStub, clock, maxDelay: 0, idleTimeout: 0, maxEventSize: 1 }),
      connect(URL_, {
        fetch: fetchStub,
        clock,
        maxDelay: 2 ** 31 - 1,
        idleTimeout: 2 ** 31 - 1,
        maxEventSize: Number.POSITIVE_INFINITY,
        method: 'PROPFIND',
        body: 'x',
        headers: [['x-a', '1']],
        credentials: 'omit',
        lastEventId: 'é€',
      }),
    ];
    await vi.waitFor(() => expect(calls.length).toBeGreaterThanOrEqual(2), WAIT);
    expect(calls[1]?.method).toBe('PROPFIND');
    for (const stream of streams) stream.close();
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('EventSource: options are checked up front', () => {
  for (const [option, value, expected] of refused)
    it(`refuses ${option}: ${typeof value === 'string' ? JSON.stringify(value) : String(value)}, before any fetch`, async () => {
      const thrown = await refusal(
        (fetchStub) => new EventSource(URL_, { fetch: fetchStub, [option]: value }),
      );
      expectInvalid(thrown, option, expected);
    });

  it('takes a null init as an empty one, as the DOM class does', async () => {
    const source = new EventSource(URL_, null as unknown as EventSourceInit);
    expect(source.withCredentials).toBe(false);
    source.close();
  });

  it('stringifies its url as the DOM does (WPT eventsource-constructor-stringify): SyntaxError when it cannot be parsed', async () => {
    const { fetch: fetchStub, calls } = stubFetch();
    const source = new EventSource({ toString: () => URL_ } as unknown as string, { fetch: fetchStub });
    expect(source.url).toBe(URL_);
    await vi.waitFor(() => expect(calls).toHaveLength(1), WAIT);
    source.close();
    // No document here to resolve them against: "42", "null" and "undefined" are relative URLs.
    for (const url of [42, null, undefined, 'http://[::1/live']) {
      const syntax = await refusal((stub) => new EventSource(url as string, { fetch: stub }));
      expect(syntax).toBeInstanceOf(DOMException);
      expect(syntax).toMatchObject({ name: 'SyntaxError' });
    }
    // WebIDL's USVString conversion throws a TypeError for a Symbol.
    const symbol = await refusal(
      (stub) => new EventSource(Symbol('x') as unknown as string, { fetch: stub }),
    );
    expect(symbol).toBeInstanceOf(TypeError);
  });
});

/** The first reconnection delay connect() reports (and, with `wait`, really waits before fetching again). */
async function firstDelay(
  options: Pick<ConnectOptions, 'maxDelay' | 'random' | 'backoff'>,
  serverRetry?: number,
  wait = true,
): Promise<number> {
  const { fetch: fetchStub, calls } = stubFetch(serverRetry === undefined ? '' : `retry: ${serverRetry}\n\n`);
  const clock = createFakeClock();
  const reconnects: ReconnectInfo[] = [];
  const stream = connect(URL_, {
    ...options,
    fetch: fetchStub,
    clock,
    onReconnect: (info) => reconnects.push(info),
  });
  await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
  const delay = reconnects[0]?.delay ?? -1;
  if (wait) {
    // The client really waits that long: no fetch before, one right after.
    await clock.advance(delay - 1);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    await vi.waitFor(() => expect(calls).toHaveLength(2), WAIT);
  }
  stream.close();
  expect(clock.pendingTimers).toBe(0);
  return delay;
}

describe('connect: the reconnection delay is clamped', () => {
  for (const wanted of [Number.NaN, -1, Number.NEGATIVE_INFINITY, undefined, '12'])
    it(`waits maxDelay, not 0 ms, when the backoff returns ${String(wanted)}`, async () => {
      const delay = await firstDelay({ maxDelay: 5000, backoff: () => wanted as number });
      expect(delay).toBe(wanted === '12' ? 12 : 5000);
    });

  it('waits maxDelay when random returns NaN (the default backoff then computes NaN)', async () => {
    expect(await firstDelay({ maxDelay: 5000, random: () => Number.NaN })).toBe(5000);
  });

  it('keeps a huge backoff and a huge server retry under maxDelay, and adds the backoff to the server retry', async () => {
    expect(await firstDelay({ maxDelay: 5000, backoff: () => Number.POSITIVE_INFINITY })).toBe(5000);
    expect(await firstDelay({ maxDelay: 5000, backoff: () => 10 }, 99_999_999)).toBe(5000);
    expect(await firstDelay({ maxDelay: 5000, backoff: () => 1234 })).toBe(1234);
    // The backoff is scaled into the 4700 ms between the floor and the cap: 1000 -> 940, 5000 -> 4700.
    expect(await firstDelay({ maxDelay: 5000, backoff: () => 1000 }, 300)).toBe(1240);
    expect(await firstDelay({ maxDelay: 5000, backoff: () => 4900 }, 300)).toBe(300 + 4606);
    expect(await firstDelay({ maxDelay: 5000, backoff: () => 9000 }, 300)).toBe(5000);
    expect(await firstDelay({ maxDelay: 5000, backoff: () => Number.NaN }, 300)).toBe(5000);
  });

  it('property: whatever the backoff returns, the delay is the floor plus the backoff scaled below the cap, or the cap', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.double(), fc.integer({ min: 0, max: 70_000 })),
        fc.option(fc.nat({ max: 100_000 }), { nil: undefined }),
        fc.integer({ min: 1, max: 60_000 }),
        async (wanted, serverRetry, maxDelay) => {
          const delay = await firstDelay({ maxDelay, backoff: () => wanted }, serverRetry, false);
          expect(delay).toBeGreaterThanOrEqual(Math.min(serverRetry ?? 0, maxDelay));
          expect(delay).toBeLessThanOrEqual(maxDelay);
          // The documented formula: retry + min(backoff, max) * (max - retry) / max, the cap when retry >= it.
          const floor = serverRetry ?? 0;
          const b = wanted >= 0 ? Math.min(wanted, maxDelay) : maxDelay;
          expect(delay).toBe(floor < maxDelay ? floor + (b * (maxDelay - floor)) / maxDelay : maxDelay);
          if (floor === 0 && wanted >= 0) expect(delay).toBe(Math.min(wanted, maxDelay));
        },
      ),
      { numRuns: 60, seed: 6 },
    );
  });
});
