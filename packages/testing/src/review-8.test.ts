/**
 * Review round 8 of @integ/testing: what users hit that earlier rounds missed. The fake clock when time is
 * moved from inside a timer callback or by an advance that was not awaited; options no server could act on
 * (`slow` delays, `retryAfter` strings and `sseStream` headers a header cannot carry, replies that are not
 * replies), refused when created instead of as msw 500s; HEAD requests, which a real server answers without
 * content; `rateLimited` on a clock stepped back; `sseStream` given a Last-Event-ID it does not know.
 */
import { InvalidArgumentError } from '@integ/core';
import {
  createFakeClock,
  createTestServer,
  flaky,
  rateLimited,
  retryAfter,
  sequence,
  slow,
  sseStream,
} from '@integ/testing';
import fc from 'fast-check';
import { HttpResponse, http } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const api = 'https://api.example.test';
const server = createTestServer();
beforeAll(() => server.listen());
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

describe('createFakeClock when time moves during an advance', () => {
  it('never sends time back when a timer callback advances the clock itself, and fires what falls in the shifted target', () => {
    const clock = createFakeClock();
    const seen: string[] = [];
    clock.setTimeout(() => {
      seen.push(`a@${clock.now()}`);
      clock.advanceSync(50); // fires b at 30, ends at 60
      seen.push(`a-after@${clock.now()}`);
    }, 10);
    clock.setTimeout(() => seen.push(`b@${clock.now()}`), 30);
    clock.setTimeout(() => seen.push(`c@${clock.now()}`), 80);
    clock.advanceSync(40);
    // As in tick of @sinonjs/fake-timers: the outer step keeps its own 40 ms on top of the inner 50.
    expect(seen).toEqual(['a@10', 'b@30', 'a-after@60', 'c@80']);
    expect(clock.now()).toBe(90);
    expect(clock.pendingTimers).toBe(0);
  });

  it('keeps a setNow() made by a timer callback instead of undoing it at the end of the advance', async () => {
    for (const method of ['advance', 'advanceSync'] as const) {
      const clock = createFakeClock();
      clock.setTimeout(() => clock.setNow(10_000), 10);
      await clock[method](100);
      expect(clock.now(), method).toBe(10_090);
    }
  });

  it('adds up an advance that was not awaited and a later advanceSync(), so now() never steps back', async () => {
    const clock = createFakeClock();
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.now()), 550);
    const pending = clock.advance(100); // not awaited: a common slip
    clock.advanceSync(500);
    const after = clock.now();
    await pending;
    expect(after).toBe(500);
    expect(clock.now()).toBe(600);
    expect(fired).toEqual([550]);
  });

  it('adds up two advances running at once past a periodic timer, each firing its share, time only moving forward', async () => {
    const clock = createFakeClock();
    const ticks: number[] = [];
    const tick = (): void => {
      ticks.push(clock.now());
      clock.setTimeout(tick, 5);
    };
    clock.setTimeout(tick, 5);
    const first = clock.advance(100);
    await clock.advance(50);
    await first;
    expect(clock.now()).toBe(150);
    expect(ticks).toEqual(Array.from({ length: 30 }, (_, i) => 5 * (i + 1)));
  });
});

describe('slow(ms) given a delay no server could wait', () => {
  it('refuses a negative or NaN ms with an InvalidArgumentError naming slow(ms), and still takes 0 and Infinity', () => {
    for (const ms of [-1, Number.NaN, '100' as unknown as number]) {
      expect(() => slow(ms), String(ms)).toThrow(InvalidArgumentError);
      expect(() => slow(ms), String(ms)).toThrow(/slow\(ms\)/);
    }
    expect(() => slow(0)).not.toThrow();
    expect(() => slow(Number.POSITIVE_INFINITY)).not.toThrow();
  });

  it('with Infinity never answers until the client aborts, and leaves no timer behind', async () => {
    const clock = createFakeClock();
    server.use(http.get(`${api}/hang`, slow(Number.POSITIVE_INFINITY, { clock })));
    const controller = new AbortController();
    const pending = fetch(`${api}/hang`, { signal: controller.signal });
    await clock.advance(3_600_000);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('retryAfter given a string no header can carry', () => {
  it('refuses CR, LF, NUL or a character above U+00FF when created, with an InvalidArgumentError, instead of an msw 500 at the request', () => {
    for (const bad of ['1\r\nX-Injected: yes', '1\n', '\0', 'in 5 \u0142']) {
      expect(() => retryAfter(bad), JSON.stringify(bad)).toThrow(InvalidArgumentError);
    }
    // Malformed but sendable (Latin-1 too): kept for client tests.
    for (const odd of ['soon', ' 5 ', 'in 5 \u00e9']) expect(() => retryAfter(odd), odd).not.toThrow();
  });
});

describe('scenarios answering a HEAD request', () => {
  it('send the status and headers of the GET answer with no content, as a real server does', async () => {
    const clock = createFakeClock();
    server.use(
      http.head(`${api}/flaky`, flaky({ failures: 1 })),
      http.head(`${api}/ra`, retryAfter(2)),
      http.head(`${api}/rl`, rateLimited({ limit: 1, clock })),
      http.head(`${api}/seq`, sequence([HttpResponse.text('hello')])),
      http.head(`${api}/slow`, slow(0, { clock })),
    );
    const expected: [string, number, string | null][] = [
      ['flaky', 503, 'application/json'],
      ['flaky', 200, 'application/json'],
      ['ra', 503, 'application/json'],
      ['rl', 200, 'application/json'],
      ['rl', 429, 'application/json'],
      ['seq', 200, 'text/plain'],
    ];
    for (const [path, status, type] of expected) {
      const response = await fetch(`${api}/${path}`, { method: 'HEAD' });
      expect(response.status, path).toBe(status);
      expect(response.headers.get('content-type'), path).toContain(type);
      expect(await response.text(), path).toBe('');
    }
    const slowHead = fetch(`${api}/slow`, { method: 'HEAD' });
    await clock.advance(0);
    expect(await (await slowHead).text()).toBe('');
  });

  it('sseStream answers HEAD with its headers and no stream left open', async () => {
    server.use(http.head(`${api}/live`, sseStream([{ id: '1', data: 'a' }])));
    const response = await fetch(`${api}/live`, { method: 'HEAD' });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(await response.text()).toBe('');
  });

  it('still answers GET with the body', async () => {
    server.use(http.get(`${api}/flaky`, flaky({ failures: 0 })));
    expect(await (await fetch(`${api}/flaky`)).json()).toEqual({ ok: true });
  });
});

describe('rateLimited on a wall clock that steps', () => {
  it('starts a new window when the clock steps back, instead of refusing with Retry-After: 86460 for a day', async () => {
    const clock = createFakeClock({ now: 1_700_000_000_000 });
    server.use(http.get(`${api}/rl`, rateLimited({ limit: 1, windowSeconds: 60, clock })));
    expect((await fetch(`${api}/rl`)).status).toBe(200);
    clock.setWallClock(clock.now() - 86_400_000);
    const after = await fetch(`${api}/rl`);
    expect(after.status).toBe(200);
    expect(after.headers.get('ratelimit-reset')).toBe('60');
    const refused = await fetch(`${api}/rl`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('60');
  });

  it('property: Reset and Retry-After stay within 1..windowSeconds and Remaining within 0..limit, whatever the steps', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: 120 }),
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('request' as const) }),
            fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 200_000 }) }),
            fc.record({
              op: fc.constant('step' as const),
              ms: fc.integer({ min: -172_800_000, max: 172_800_000 }),
            }),
          ),
          { minLength: 1, maxLength: 12 },
        ),
        async (limit, windowSeconds, ops) => {
          const clock = createFakeClock({ now: 1_700_000_000_000 });
          server.use(http.get(`${api}/rl-prop`, rateLimited({ limit, windowSeconds, clock })));
          for (const o of ops) {
            if (o.op === 'advance') await clock.advance(o.ms);
            else if (o.op === 'step') clock.setWallClock(clock.now() + o.ms);
            else {
              const response = await fetch(`${api}/rl-prop`);
              const reset = Number(response.headers.get('ratelimit-reset'));
              const remaining = Number(response.headers.get('ratelimit-remaining'));
              expect(reset).toBeGreaterThanOrEqual(1);
              expect(reset).toBeLessThanOrEqual(windowSeconds);
              expect(remaining).toBeGreaterThanOrEqual(0);
              expect(remaining).toBeLessThanOrEqual(limit);
              if (response.status === 429) expect(response.headers.get('retry-after')).toBe(String(reset));
            }
          }
        },
      ),
      { numRuns: 60, seed: 8 },
    );
  });
});

describe('sseStream given a Last-Event-ID it does not know', () => {
  it('starts again from the first event, and resumes after a known id', async () => {
    const events = [{ id: '1', data: 'a' }, { id: '2', data: 'b' }, 'c'];
    server.use(http.get(`${api}/ids`, sseStream(events, { disconnectAfter: 2 })));
    const read = async (lastEventId: string) =>
      (await fetch(`${api}/ids`, { headers: { 'last-event-id': lastEventId } })).text();
    expect(await read('gone')).toBe('id: 1\ndata: a\n\nid: 2\ndata: b\n\n');
    expect(await read('1')).toBe('id: 2\ndata: b\n\ndata: c\n\n');
  });
});

describe('scenarios given a reply that is not one', () => {
  it('refuse a status, a plain object or a Response already read when created, naming the option', async () => {
    const read = new Response('x');
    await read.text();
    const bad: [RegExp, () => unknown][] = [
      [/sequence\(replies\[0\]\)/, () => sequence([503 as unknown as Response, 'network'])],
      [/sequence\(replies\[1\]\)/, () => sequence(['network', { status: 200 } as unknown as Response])],
      [/flaky\(\{ reply \}\)/, () => flaky({ reply: 'error' as 'network' })],
      [/slow\(\{ reply \}\)/, () => slow(1, { reply: null as unknown as Response })],
      [/retryAfter\(\{ reply \}\)/, () => retryAfter(1, { reply: read })],
      [/rateLimited\(\{ reply \}\)/, () => rateLimited({ reply: 200 as unknown as Response })],
    ];
    for (const [name, make] of bad) {
      expect(make, String(name)).toThrow(InvalidArgumentError);
      expect(make, String(name)).toThrow(name);
    }
    expect(() =>
      sequence([HttpResponse.text('a'), () => new Response('b'), 'network', Response.error()]),
    ).not.toThrow();
  });
});

describe('sseStream given headers fetch cannot send', () => {
  it('refuses them when created with an InvalidArgumentError, instead of an msw 500 at each connection', () => {
    for (const headers of [{ 'x-trace': 'a\r\nb' }, { 'bad name': 'x' }, { 'x-name': 'Zo\u0142' }])
      expect(() => sseStream([], { headers }), JSON.stringify(headers)).toThrow(InvalidArgumentError);
    expect(() => sseStream([], { headers: { 'Content-Type': 'text/html' } })).not.toThrow();
  });
});
