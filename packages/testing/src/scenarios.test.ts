import { InvalidArgumentError } from '@integ/core';
import {
  createFakeClock,
  createTestServer,
  flaky,
  rateLimited,
  retryAfter,
  sequence,
  slow,
} from '@integ/testing';
import { HttpResponse, http } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const api = 'https://api.example.test';
const server = createTestServer();
beforeAll(() => server.listen());
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

describe('createTestServer', () => {
  it('fails requests that no handler expects, so nothing reaches the network', async () => {
    await expect(fetch(`${api}/unexpected`)).rejects.toThrow();
  });
});

describe('flaky', () => {
  it('fails with the status n times, then succeeds', async () => {
    const resolver = flaky({ failures: 2, status: 502 });
    server.use(http.get(`${api}/users`, resolver));
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${api}/users`)).status);
    expect(statuses).toEqual([502, 502, 200, 200]);
    expect(resolver.calls).toBe(4);
  });

  it('can fail with a network error instead of a status', async () => {
    server.use(http.get(`${api}/users`, flaky({ failures: 1, status: 'network' })));
    await expect(fetch(`${api}/users`)).rejects.toThrow(TypeError);
    expect(await (await fetch(`${api}/users`)).json()).toEqual({ ok: true });
  });

  it('answers with the given reply once recovered', async () => {
    server.use(http.get(`${api}/users`, flaky({ failures: 0, reply: HttpResponse.json([{ id: 1 }]) })));
    expect(await (await fetch(`${api}/users`)).json()).toEqual([{ id: 1 }]);
    expect(await (await fetch(`${api}/users`)).json()).toEqual([{ id: 1 }]);
  });
});

describe('slow', () => {
  it('answers only after the delay has passed on the given clock', async () => {
    const clock = createFakeClock();
    server.use(http.get(`${api}/slow`, slow(5_000, { clock })));
    let settled = false;
    const pending = fetch(`${api}/slow`).then((r) => {
      settled = true;
      return r;
    });
    await clock.advance(4_999);
    expect(settled).toBe(false);
    await clock.advance(1);
    expect((await pending).status).toBe(200);
  });

  it('stops waiting when the client aborts', async () => {
    const clock = createFakeClock();
    server.use(http.get(`${api}/slow`, slow(5_000, { clock })));
    const controller = new AbortController();
    const pending = fetch(`${api}/slow`, { signal: controller.signal });
    await clock.advance(10);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await clock.advance(0);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('retryAfter', () => {
  it('refuses with Retry-After in seconds, then recovers', async () => {
    server.use(http.get(`${api}/r`, retryAfter(3, { status: 429 })));
    const first = await fetch(`${api}/r`);
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('3');
    expect((await fetch(`${api}/r`)).status).toBe(200);
  });

  it('sends an HTTP-date when given a Date', async () => {
    const when = new Date(Date.UTC(2030, 0, 2, 3, 4, 5));
    server.use(http.get(`${api}/r`, retryAfter(when, { times: 2 })));
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${api}/r`);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('Wed, 02 Jan 2030 03:04:05 GMT');
    }
    expect((await fetch(`${api}/r`)).status).toBe(200);
  });
});

describe('scenarios given a null-body status (204, 205, 304)', () => {
  it('answer with that status and no body, in flaky and retryAfter, without the headers of a JSON body they do not send', async () => {
    // A client that reads JSON when Content-Type says so (or Content-Length > 0) failed on `''`.
    for (const status of [204, 205, 304]) {
      server.use(
        http.get(`${api}/flaky`, flaky({ status })),
        http.get(`${api}/retry`, retryAfter(1, { status })),
      );
      for (const path of ['flaky', 'retry']) {
        const response = await fetch(`${api}/${path}`);
        expect(response.status).toBe(status);
        expect(await response.text()).toBe('');
        expect(response.headers.get('content-type')).toBeNull();
        expect(response.headers.get('content-length')).toBeNull();
        expect((await fetch(`${api}/${path}`)).status).toBe(200);
      }
      server.resetHandlers();
    }
  });

  it('keep Retry-After on a bodiless refusal', async () => {
    server.use(http.get(`${api}/retry`, retryAfter(7, { status: 204 })));
    expect((await fetch(`${api}/retry`)).headers.get('retry-after')).toBe('7');
  });
});

describe('retryAfter with a value no server can send', () => {
  it('refuses a number that is not whole seconds >= 0 and an invalid Date (RFC 9110: delay-seconds = 1*DIGIT)', () => {
    for (const bad of [1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, new Date(Number.NaN)])
      expect(() => retryAfter(bad)).toThrow(InvalidArgumentError);
    expect(() => retryAfter(0)).not.toThrow();
    expect(() => retryAfter('1.5')).not.toThrow(); // a string is sent as is, to test a client against it
  });
});

describe('rateLimited', () => {
  it('allows `limit` requests per window, then answers 429 with RateLimit headers until the window resets', async () => {
    const clock = createFakeClock({ now: 10_000 });
    server.use(http.get(`${api}/rl`, rateLimited({ limit: 2, windowSeconds: 10, clock })));
    const a = await fetch(`${api}/rl`);
    expect(a.status).toBe(200);
    expect(a.headers.get('ratelimit-remaining')).toBe('1');
    expect(a.headers.get('ratelimit-limit')).toBe('2');
    expect((await fetch(`${api}/rl`)).headers.get('ratelimit-remaining')).toBe('0');
    await clock.advance(4_000);
    const limited = await fetch(`${api}/rl`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('6');
    expect(limited.headers.get('ratelimit-reset')).toBe('6');
    expect(limited.headers.get('ratelimit-policy')).toBe('2;w=10');
    await clock.advance(6_000);
    expect((await fetch(`${api}/rl`)).status).toBe(200);
  });
});

describe('rateLimited with a network-error reply', () => {
  it("passes a 'network' reply through as a network error, and still counts it against the limit", async () => {
    const clock = createFakeClock();
    const resolver = rateLimited({ limit: 1, reply: 'network', clock });
    server.use(http.get(`${api}/rl-network`, resolver));
    await expect(fetch(`${api}/rl-network`)).rejects.toThrow(TypeError);
    expect((await fetch(`${api}/rl-network`)).status).toBe(429);
    expect(resolver.calls).toBe(2);
  });
});

describe('sequence', () => {
  it('answers each request with the next reply, then repeats the last', async () => {
    server.use(
      http.get(
        `${api}/seq`,
        sequence([new Response(null, { status: 500 }), 'network', () => HttpResponse.json({ n: 3 })]),
      ),
    );
    expect((await fetch(`${api}/seq`)).status).toBe(500);
    await expect(fetch(`${api}/seq`)).rejects.toThrow(TypeError);
    expect(await (await fetch(`${api}/seq`)).json()).toEqual({ n: 3 });
    expect(await (await fetch(`${api}/seq`)).json()).toEqual({ n: 3 });
  });

  it("answers 500 after the list with after: 'error'", async () => {
    server.use(http.get(`${api}/seq`, sequence([HttpResponse.json({ n: 1 })], { after: 'error' })));
    expect((await fetch(`${api}/seq`)).status).toBe(200);
    expect((await fetch(`${api}/seq`)).status).toBe(500);
  });

  it('refuses an empty list', () => {
    expect(() => sequence([])).toThrow(/at least one reply/);
  });
});

describe('scenario options no server could act on', () => {
  it('are refused with an InvalidArgumentError when the scenario is created, not as a 500 or a NaN header later', () => {
    const bad: [string, () => unknown][] = [
      ['flaky failures NaN', () => flaky({ failures: Number.NaN })],
      ['flaky failures -1', () => flaky({ failures: -1 })],
      ['flaky failures 1.5', () => flaky({ failures: 1.5 })],
      ['flaky status 99', () => flaky({ status: 99 })],
      ['flaky status 600', () => flaky({ status: 600 })],
      ['flaky status "503"', () => flaky({ status: '503' as unknown as number })],
      ['retryAfter status 0', () => retryAfter(1, { status: 0 })],
      ['retryAfter times -1', () => retryAfter(1, { times: -1 })],
      ['rateLimited windowSeconds 0', () => rateLimited({ windowSeconds: 0 })],
      ['rateLimited windowSeconds NaN', () => rateLimited({ windowSeconds: Number.NaN })],
      ['rateLimited windowSeconds 0.5', () => rateLimited({ windowSeconds: 0.5 })],
      ['rateLimited limit -1', () => rateLimited({ limit: -1 })],
      ['rateLimited limit 1.5', () => rateLimited({ limit: 1.5 })],
      ['sequence after "loop"', () => sequence(['network'], { after: 'loop' as 'last' })],
      ['sequence []', () => sequence([])],
    ];
    for (const [label, make] of bad) expect(make, label).toThrow(InvalidArgumentError);
    expect(() => flaky({ failures: 0, status: 200 })).not.toThrow();
    expect(() => rateLimited({ limit: 0, windowSeconds: 3600 })).not.toThrow();
  });
});

describe('retryAfter with a Date an HTTP-date cannot hold', () => {
  it('refuses a Date outside the years 0000 to 9999 (IMF-fixdate has a 4-digit year) and sends the edges in IMF-fixdate', async () => {
    const far = new Date(Date.UTC(2000, 0, 1));
    far.setUTCFullYear(10_000);
    const before = new Date(Date.UTC(2000, 0, 1));
    before.setUTCFullYear(-1);
    for (const bad of [far, before]) expect(() => retryAfter(bad)).toThrow(InvalidArgumentError);
    const last = new Date(Date.UTC(2000, 11, 31, 23, 59, 59));
    last.setUTCFullYear(9999);
    server.use(http.get(`${api}/ra-edge`, retryAfter(last)));
    expect((await fetch(`${api}/ra-edge`)).headers.get('retry-after')).toBe('Fri, 31 Dec 9999 23:59:59 GMT');
  });
});
