/**
 * Review round 35, brief R3: does @integ/testing work next to the fake timers of the runners its README names? Run
 * by hand under Jest 30.5 and node:test (Node 20.20) with the built package (report of R3); what can run here is
 * pinned here. node:test's `mock.timers` replaces setImmediate with a bound method (`bound #setImmediate`) that
 * carries no @sinonjs/fake-timers `clock` mark, so turn() took it for the real one: drain(), settledValue(), the fake
 * clock's advance()/runAll() and trackUnhandledRejections().settled() waited for ever (node:test cancels the test
 * when the event loop empties). And timers faked before @integ/testing loaded (Jest's `fakeTimers: { enableGlobally:
 * true }` does so before any test file runs) made them reject, though @sinonjs/fake-timers keeps the real
 * setImmediate on its clock (`clock._setImmediate`, what it puts back on uninstall). And sseStream's
 * `disconnectWith: 'error'` failed its body on the global setImmediate: under Jest's or vitest's fake timers the
 * connection reset waited for the test to move them, so a client reading on stayed pending.
 */
import { mock } from 'node:test';
import { sleep } from '@integ/core';
import {
  createFakeClock,
  createTestServer,
  drain,
  settledValue,
  sseStream,
  trackUnhandledRejections,
} from '@integ/testing';
import { http } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

// Taken before any test fakes the timers: a hang is told by the real turns it outlasted, not by a timeout.
const realSetImmediate = globalThis.setImmediate;

/** `'hangs'` if `promise` has not settled after 200 real setImmediate turns (a drain needs at most 10). */
function within<T>(promise: Promise<T>): Promise<T | 'hangs'> {
  return new Promise((resolve, reject) => {
    let turns = 0;
    const tick = (): void => {
      if (++turns > 200) resolve('hangs');
      else realSetImmediate(tick);
    };
    realSetImmediate(tick);
    promise.then(resolve, reject);
  });
}

afterEach(() => {
  mock.timers.reset();
  vi.useRealTimers();
});

describe("under node:test's mock.timers, enabled after @integ/testing loaded", () => {
  it('drain() and settledValue() end, and settledValue() sees what the mock holds only once it is moved', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] });
    expect(await within(drain())).toBeUndefined();
    const done = new Promise<string>((resolve) => setTimeout(() => resolve('fired'), 1000));
    expect(await within(settledValue(done))).toBe('pending');
    mock.timers.tick(1000);
    expect(await within(settledValue(done))).toBe('fired');
  });

  it("the fake clock's advance() and runAll() end, and the timer fires", async () => {
    mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] });
    const clock = createFakeClock();
    const done = sleep(1000, { clock });
    expect(await within(clock.advance(1000))).toBeUndefined();
    expect(await within(settledValue(done))).toBeUndefined();
    const later = sleep(5, { clock });
    expect(await within(clock.runAll())).toBeUndefined();
    expect(await within(settledValue(later))).toBeUndefined();
  });

  it('trackUnhandledRejections().settled() ends and names the rejection', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] });
    const unhandled = trackUnhandledRejections();
    try {
      const reason = new Error('nobody caught me');
      void Promise.reject(reason);
      expect(await within(unhandled.settled())).toEqual([reason]);
    } finally {
      unhandled.stop();
    }
  });
});

describe('loaded after vi.useFakeTimers() (as under Jest with fakeTimers.enableGlobally)', () => {
  it('drain(), settledValue(), advance(), runAll() and settled() take their turns on the real setImmediate', async () => {
    vi.useFakeTimers();
    vi.resetModules();
    const late = await import('@integ/testing');
    expect(await within(late.drain())).toBeUndefined();
    expect(await within(late.settledValue(Promise.resolve(1)))).toBe(1);
    const held = new Promise<string>((resolve) => setTimeout(() => resolve('fired'), 10));
    expect(await within(late.settledValue(held))).toBe('pending');
    vi.advanceTimersByTime(10);
    expect(await within(late.settledValue(held))).toBe('fired');
    const clock = late.createFakeClock();
    const done = sleep(5, { clock });
    expect(await within(clock.advance(5))).toBeUndefined();
    expect(await within(late.settledValue(done))).toBeUndefined();
    void sleep(5, { clock });
    expect(await within(clock.runAll())).toBeUndefined();
    const unhandled = late.trackUnhandledRejections();
    try {
      expect(await within(unhandled.settled())).toEqual([]);
    } finally {
      unhandled.stop();
    }
    vi.useRealTimers();
    expect(await within(late.drain())).toBeUndefined();
  });
});

describe("loaded after node:test's mock.timers.enable()", () => {
  it('rejects with an error that names node:test instead of hanging, until the timers are real', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] });
    vi.resetModules();
    const late = await import('@integ/testing');
    await expect(within(late.drain())).rejects.toThrow(/mock\.timers/);
    const clock = late.createFakeClock();
    await expect(within(clock.advance(1))).rejects.toThrow(/faked/);
    mock.timers.reset();
    expect(await within(late.drain())).toBeUndefined();
    expect(await within(clock.advance(1))).toBeUndefined();
  });
});

describe("sseStream's disconnectWith: 'error' under vi.useFakeTimers()", () => {
  const server = createTestServer();
  beforeAll(() => server.listen());
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());

  it('fails the body after the events, without the test moving the fake timers', async () => {
    const url = 'https://sse.example.com/reset';
    server.use(http.get(url, sseStream(['a'], { disconnectAfter: 1, disconnectWith: 'error' })));
    vi.useFakeTimers();
    const response = await fetch(url);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = await within(reader.read());
    expect(first === 'hangs' ? 'hangs' : new TextDecoder().decode(first.value)).toBe('data: a\n\n');
    const next = reader.read().then(
      () => 'read',
      (error: unknown) => (error as Error).message,
    );
    expect(await within(next)).toBe('connection reset');
  });
});
