/**
 * Third, spec-first reading of the client (2026-11-25): each test here failed before the fix it names.
 */
import { connect } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';

/** A fetch whose every response is an open event stream that never ends (until aborted). */
const hangingFetch = () =>
  vi.fn(
    async (_url: string | URL | Request, init?: RequestInit) =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('data: a\n\n'));
            init?.signal?.addEventListener('abort', () => controller.error(init.signal?.reason));
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      ),
  );

/** Lets the client's promises and a few macrotasks run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('connect: return() and throw() on the iterator', () => {
  it('return() before the first next() closes the connection: nothing fetched, no timer, the iteration is done', async () => {
    const clock = createFakeClock();
    const fetch = hangingFetch();
    const stream = connect('http://sse.test/live', { fetch, clock, idleTimeout: 1000 });
    const iterator = stream[Symbol.asyncIterator]();
    expect(await iterator.return?.()).toEqual({ done: true, value: undefined });
    await settle();
    expect(fetch).not.toHaveBeenCalled();
    expect(clock.pendingTimers).toBe(0);
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('throw() before the first next() closes the connection too, and rejects with its error', async () => {
    const clock = createFakeClock();
    const fetch = hangingFetch();
    const stream = connect('http://sse.test/live', { fetch, clock, idleTimeout: 1000 });
    const iterator = stream[Symbol.asyncIterator]();
    const error = new Error('consumer gave up');
    await expect(iterator.throw?.(error)).rejects.toBe(error);
    await settle();
    expect(fetch).not.toHaveBeenCalled();
    expect(clock.pendingTimers).toBe(0);
  });

  it('return() while a next() waits for an event ends that wait and the connection at once', async () => {
    const clock = createFakeClock();
    const fetch = hangingFetch();
    const stream = connect('http://sse.test/live', { fetch, clock, idleTimeout: 1000 });
    const iterator = stream[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.data).toBe('a');
    const pending = iterator.next();
    await settle();
    const signal = fetch.mock.calls[0]?.[1]?.signal;
    await iterator.return?.();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(signal?.aborted).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    expect(fetch).toHaveBeenCalledTimes(1);
  });
});
