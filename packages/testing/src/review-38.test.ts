/**
 * Review round 38: what Stryker's surviving mutants of fake-clock.ts, settle.ts, random.ts, server.ts,
 * internal/turn.ts, sse.ts and scenarios.ts changed without a test noticing. Each test was
 * seen failing on the mutant it names (applied by hand) and passing on the code as it is.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createFakeClock,
  createTestServer,
  drain,
  encodeSseEvent,
  flaky,
  rateLimited,
  retryAfter,
  seededRandom,
  sequence,
  settledValue,
  slow,
  sseStream,
} from '@integ/testing';
import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';

describe('createFakeClock: refusals name the argument and what it takes', () => {
  it('createFakeClock({ now }), setNow, setWallClock and runAll', async () => {
    expect(() => createFakeClock({ now: Number.NaN })).toThrow(
      /^Invalid createFakeClock\(\{ now \}\): expected a finite number of ms, received NaN$/,
    );
    const clock = createFakeClock();
    expect(() => clock.setNow(Number.POSITIVE_INFINITY)).toThrow(
      /^Invalid setNow\(now\): expected a finite number of ms, received Infinity$/,
    );
    expect(() => clock.setWallClock(Number.NaN)).toThrow(
      /^Invalid setWallClock\(now\): expected a finite number of ms, received NaN$/,
    );
    await expect(clock.runAll(1.5)).rejects.toThrow(
      /^Invalid runAll\(limit\): expected a whole number of timers >= 0, received 1\.5$/,
    );
  });
});

describe('createFakeClock: timers at one instant', () => {
  // Stryker's #87 (the rebuild's id tie-break made a.id + b.id) is equivalent: the rebuild sorts the map's timers, held
  // in the order they were set, with a stable sort; the tie-break is gone. This pins the order across a rebuild.
  it('fires timers due at the same time in the order they were set, also after clears rebuilt its queue', () => {
    const clock = createFakeClock();
    const fired: number[] = [];
    for (let i = 0; i < 10; i++) clock.setTimeout(() => fired.push(i), 100);
    // Cleared timers outnumbering the pending ones rebuild the queue (more than 2 x 10 + 64 left in it).
    for (let i = 0; i < 100; i++) clock.clearTimeout(clock.setTimeout(() => {}, 50));
    clock.advanceSync(100);
    expect(fired).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('fires 10,001 zero-delay timers set before an advance: only those set during it count as a runaway', () => {
    const clock = createFakeClock();
    let fired = 0;
    for (let i = 0; i < 10_001; i++) clock.setTimeout(() => fired++, 0);
    clock.advanceSync(0);
    expect(fired).toBe(10_001);
  });

  it('fires 10,001 timers of 1 ms set during an advance at one instant: only a 0 ms delay counts as a runaway', async () => {
    const clock = createFakeClock();
    let fired = 0;
    clock.setTimeout(() => {
      for (let i = 0; i < 10_001; i++) clock.setTimeout(() => fired++, 1);
    }, 0);
    await clock.advance(10);
    expect(fired).toBe(10_001);
  });

  it('says which method stopped a runaway, and at what time as now() reads it', async () => {
    const spin = (clock: ReturnType<typeof createFakeClock>): void => {
      const again = (): void => {
        clock.setTimeout(again, 0);
      };
      clock.setTimeout(again, 0);
    };
    const a = createFakeClock();
    a.setWallClock(5000);
    spin(a);
    await expect(a.advance(1)).rejects.toThrow(
      new Error(
        'advance() fired 10000 timers set with a 0 ms delay at 5000 and more remain: is something rescheduling forever?',
      ),
    );
    const b = createFakeClock({ now: 20 });
    spin(b);
    expect(() => b.advanceSync(1)).toThrow(
      new Error(
        'advanceSync() fired 10000 timers set with a 0 ms delay at 20 and more remain: is something rescheduling forever?',
      ),
    );
  });
});

describe('seededRandom', () => {
  it('is mulberry32: seed 42 starts 0.6011037519201636, 0.44829055899754167, 0.8524657934904099', () => {
    const random = seededRandom(42);
    expect([random(), random(), random()]).toEqual([
      0.6011037519201636, 0.44829055899754167, 0.8524657934904099,
    ]);
  });
});

describe('drain and settledValue', () => {
  it('wait exactly the turns asked for, up to 10000', async () => {
    let turns = 0;
    let stop = false;
    const tick = (): void => {
      turns++;
      if (!stop) setImmediate(tick);
    };
    setImmediate(tick);
    await drain(3);
    expect(turns).toBe(3);
    stop = true;
    await expect(drain(10_000)).resolves.toBeUndefined();
  });

  it('refuse what they cannot take, naming it', async () => {
    await expect(drain(10_001)).rejects.toThrow(
      /^Invalid drain\(turns\): expected a whole number of turns from 1 to 10000, received 10001$/,
    );
    await expect(settledValue(Promise.resolve(1), 0)).rejects.toThrow(
      /^Invalid settledValue\(turns\): expected a whole number of turns from 1 to 10000, received 0$/,
    );
    await expect(settledValue(1 as never)).rejects.toThrow(
      /^Invalid settledValue\(promise\): expected a promise, received 1$/,
    );
  });

  it('settledValue rethrows the rejection itself', async () => {
    const error = new Error('no');
    await expect(settledValue(Promise.reject(error))).rejects.toBe(error);
  });
});

describe('createTestServer', () => {
  it('listens with no options, and passes use(), resetHandlers() and close() on to msw', async () => {
    const server = createTestServer();
    server.listen();
    try {
      server.use(http.get('https://api.example.com/x', () => HttpResponse.json({ ok: 1 })));
      expect(await (await fetch('https://api.example.com/x')).json()).toEqual({ ok: 1 });
      server.resetHandlers();
      // Unhandled now: msw's 'error' strategy fails the request.
      await expect(fetch('https://api.example.com/x')).rejects.toThrow();
    } finally {
      server.close();
    }
    // Closed: a request reaches the network again (a loopback server here), unhandled no more.
    const real = createServer((_, res) => res.end('real'));
    await new Promise<void>((r) => real.listen(0, '127.0.0.1', () => r()));
    try {
      const { port } = real.address() as AddressInfo;
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('real');
    } finally {
      real.close();
    }
  });
});

describe('drain on a fake setImmediate whose real timer it cannot reach', () => {
  it('follows at most 8 fakes down (a fake pointing at itself), then takes the timer of when it loaded', async () => {
    const real = globalThis.setImmediate;
    const fake = Object.assign(() => undefined, { clock: {} as Record<string, unknown> });
    (fake.clock as { _setImmediate?: unknown })._setImmediate = fake;
    globalThis.setImmediate = fake as never;
    try {
      await drain(1);
    } finally {
      globalThis.setImmediate = real;
    }
  });
});

describe('encodeSseEvent and sseStream: refusals name the option and what it takes', () => {
  it.each([
    [() => encodeSseEvent({ event: 'a\nb' }), 'Invalid event: expected a string without CR or LF'],
    [() => encodeSseEvent({ id: 'a\0' }), 'Invalid id: expected a string without CR, LF or NULL'],
    [() => encodeSseEvent({ retry: -1 }), 'Invalid retry: expected an integer number of ms >= 0'],
    [
      () => sseStream([], { disconnectAfter: -1 }),
      'Invalid sseStream({ disconnectAfter }): expected a whole number of events >= 0',
    ],
    [
      () => sseStream([], { disconnectWith: 'x' as never }),
      "Invalid sseStream({ disconnectWith }): expected 'close' or 'error'",
    ],
    [
      () => sseStream([], { status: 600 }),
      'Invalid sseStream({ status }): expected an HTTP status from 200 to 599',
    ],
    [
      () => sseStream([], { headers: { 'a b': 'c' } }),
      'Invalid sseStream({ headers }): expected header names and values fetch can send',
    ],
  ])('%#', (make, message) => {
    expect(make).toThrow(message);
  });

  it('takes retry 0 and status 599', () => {
    expect(encodeSseEvent({ retry: 0 })).toBe('retry: 0\n\n');
    expect(() => sseStream([], { status: 599 })).not.toThrow();
  });
});

describe('sseStream responses', () => {
  const read = async (response: Response): Promise<string> => await response.text();

  it('sends cache-control: no-cache', async () => {
    const response = await sseStream(['a'], { disconnectAfter: 1 })({ request: new Request('http://x/') });
    expect(response.headers.get('cache-control')).toBe('no-cache');
  });

  it('starts from the first event for a Last-Event-ID when resume is false', async () => {
    const events = [
      { id: '1', data: 'a' },
      { id: '2', data: 'b' },
    ];
    const request = new Request('http://x/', { headers: { 'last-event-id': '1' } });
    expect(await read(await sseStream(events, { disconnectAfter: 2, resume: false })({ request }))).toBe(
      'id: 1\ndata: a\n\nid: 2\ndata: b\n\n',
    );
  });

  it('errors an open stream at once for a request already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    const response = await sseStream(['a'])({
      request: new Request('http://x/', { signal: controller.signal }),
    });
    await expect((response.body as ReadableStream<Uint8Array>).getReader().read()).rejects.toThrow('gone');
  });

  it("keeps a stream with disconnectWith 'error' but no disconnectAfter open after its events", async () => {
    const response = await sseStream(['a'], { disconnectWith: 'error' })({
      request: new Request('http://x/'),
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: a\n\n');
    expect(await settledValue(reader.read())).toBe('pending');
    await reader.cancel();
  });
});

describe('scenarios: refusals name the option and what it takes', () => {
  it.each([
    [() => flaky({ failures: -1 }), 'Invalid flaky({ failures }): expected a whole number >= 0'],
    [() => flaky({ status: 600 }), 'Invalid flaky({ status }): expected an HTTP status from 200 to 599'],
    [
      () => flaky({ reply: 5 as never }),
      "Invalid flaky({ reply }): expected a Response not yet read, a function returning one, or 'network'",
    ],
    [() => slow(-1), 'Invalid slow(ms): expected a number of ms >= 0 (Infinity never answers)'],
    [() => retryAfter(1, { status: 100 }), 'Invalid retryAfter({ status }): expected an HTTP status'],
    [() => retryAfter(1, { times: -1 }), 'Invalid retryAfter({ times }): expected a whole number >= 0'],
    [
      () => retryAfter(-1),
      'Invalid retryAfter(after): expected whole seconds >= 0, a Date in the years 0000 to 9999 or a string',
    ],
    [
      () => retryAfter('a\nb'),
      'Invalid retryAfter(after): expected a string a header can carry (no CR, LF, NUL or character above U+00FF)',
    ],
    [() => rateLimited({ limit: -1 }), 'Invalid rateLimited({ limit }): expected a whole number >= 0'],
    [
      () => rateLimited({ windowSeconds: 0 }),
      'Invalid rateLimited({ windowSeconds }): expected a whole number >= 1',
    ],
    [() => sequence([]), 'Invalid sequence(replies): expected at least one reply'],
    [
      () => sequence(['network'], { after: 'x' as never }),
      "Invalid sequence({ after }): expected 'last' or 'error'",
    ],
  ])('%#', (make, message) => {
    expect(make).toThrow(message);
  });

  it('takes status 599 and a Date in the year 0', () => {
    expect(() => flaky({ status: 599 })).not.toThrow();
    expect(() => retryAfter(new Date('0000-01-01T00:00:00Z'))).not.toThrow();
  });
});

describe('scenario answers', () => {
  const get = (method = 'GET', signal?: AbortSignal) => ({
    request: new Request('http://x/', { method, ...(signal ? { signal } : {}) }),
  });

  it('say why in their JSON error bodies, and answer { ok: true } by default', async () => {
    expect(await (await flaky()(get())).json()).toEqual({ error: 'flaky' });
    expect(await (await retryAfter(1)(get())).json()).toEqual({ error: 'retry later' });
    const limited = rateLimited({ limit: 0 });
    expect(await (await limited(get())).json()).toEqual({ error: 'rate limited' });
    const once = sequence([new Response('a')], { after: 'error' });
    await once(get());
    expect(await (await once(get())).json()).toEqual({ error: 'sequence exhausted' });
    expect(await (await flaky({ failures: 0 })(get())).json()).toEqual({ ok: true });
  });

  it('answers HEAD with a bodiless refusal (204) as it is', async () => {
    const response = await flaky({ status: 204 })(get('HEAD'));
    expect(response.status).toBe(204);
  });

  it('slow() waits on the clock it is given, and answers a network error to a client that went away', async () => {
    const clock = createFakeClock();
    const answer = slow(1000, { clock })(get());
    await clock.advance(1000);
    expect(await settledValue(answer)).toBeInstanceOf(Response);
    const controller = new AbortController();
    const gone = slow(Number.POSITIVE_INFINITY, { clock })(get('GET', controller.signal));
    controller.abort();
    expect((await gone).type).toBe('error');
  });

  it('rateLimited keeps fixed windows: 15 s after the first request of 10 s windows, the reset is 5 s away', async () => {
    const clock = createFakeClock();
    const limited = rateLimited({ limit: 1, windowSeconds: 10, clock });
    await limited(get());
    await clock.advance(15_000);
    expect((await limited(get())).headers.get('ratelimit-reset')).toBe('5');
  });
});
