/**
 * Review round 24: re-entrancy and throwing user code at every callback point (the parser's callbacks, connect()'s
 * hooks, `headers`, a custom `fetch`, the iterator, EventSource's listeners), long runs of reconnections on the fake
 * clock (listeners on the caller's signal, pending timers), and secrets in the errors the client builds.
 */
import { getEventListeners } from 'node:events';
import { InvalidArgumentError, TimeoutError } from '@integ/core';
import { connect, createByteParserStream, EventSource, type SseEvent } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';
import { settle } from './test-server.js';

const stream = (text: string): Response =>
  new Response(text, { headers: { 'content-type': 'text/event-stream' } });

describe('connect() with a custom fetch that resolves to no new Response', () => {
  // Both failed every attempt alike with a TypeError, taken for a network error: the client reconnected for ever
  // (onError got an SseConnectionError per attempt, the iteration never ended).
  const mocks: [string, () => typeof globalThis.fetch][] = [
    // mockResolvedValueOnce() resolves to undefined from the second call on: reading `.type` of it threw.
    ['undefined', () => vi.fn<typeof globalThis.fetch>().mockResolvedValueOnce(stream('data: a\n\n'))],
    // mockResolvedValue(response) hands the same Response to every call: from the second on its body is locked.
    [
      'the same Response every time',
      () => vi.fn<typeof globalThis.fetch>().mockResolvedValue(stream('data: a\n\n')),
    ],
  ];
  it.each(mocks)(
    '%s: ends the iteration with an InvalidArgumentError for fetch, without reconnecting',
    async (_, mock) => {
      const clock = createFakeClock();
      const fetch = mock();
      const onError = vi.fn();
      const events: SseEvent[] = [];
      let outcome: unknown = 'pending';
      (async () => {
        for await (const event of connect('http://h/x', { clock, fetch, onError })) events.push(event);
      })().then(
        () => (outcome = 'ended'),
        (error: unknown) => (outcome = error),
      );
      for (let i = 0; i < 5 && outcome === 'pending'; i++) {
        await settle(2);
        await clock.advance(30_000);
      }
      expect(events.map((event) => event.data)).toEqual(['a']);
      expect(outcome).toBeInstanceOf(InvalidArgumentError);
      expect(outcome).toMatchObject({ argument: 'fetch' });
      expect(fetch).toHaveBeenCalledTimes(2);
      expect(onError).not.toHaveBeenCalled();
      expect(clock.pendingTimers).toBe(0);
    },
  );

  it('undefined: closes an EventSource (error at CLOSED)', async () => {
    const clock = createFakeClock();
    const fetch = vi.fn<typeof globalThis.fetch>().mockResolvedValue(undefined as never);
    const source = new EventSource('http://h/x', { clock, fetch });
    const states: number[] = [];
    source.onerror = () => states.push(source.readyState);
    await settle(2);
    await clock.advance(30_000);
    await settle(2);
    expect(states).toEqual([EventSource.CLOSED]);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('EventSource: a listener that calls close()', () => {
  // An open listener (or onopen) that closed the source was followed by the onOpen hook all the same, reporting a
  // connection the user had already closed: onReconnect is not called after an error listener closed it, and neither
  // is onOpen now.
  it('on open: the onOpen hook is not called, nothing is read, no timer is left', async () => {
    const clock = createFakeClock();
    const onOpen = vi.fn();
    const source = new EventSource('http://h/x', { clock, onOpen, fetch: async () => stream('data: a\n\n') });
    const seen: string[] = [];
    source.onopen = () => {
      seen.push('open');
      source.close();
    };
    source.onmessage = (event) => seen.push(event.data);
    await settle(5);
    expect(seen).toEqual(['open']);
    expect(onOpen).not.toHaveBeenCalled();
    expect(source.readyState).toBe(EventSource.CLOSED);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('connect(): 10,000 reconnections on the fake clock', () => {
  // Every other connection sends an event and ends (a normal end), the others stay silent until the watchdog ends them:
  // at each request the caller's signal holds one listener and at most one timer is pending (the watchdog of this
  // attempt), none are left at the end, and the iteration keeps up with the last id.
  it('keep one listener on the caller signal and at most one timer, and leave none', async () => {
    const clock = createFakeClock();
    const controller = new AbortController();
    const listeners = new Set<number>();
    const timers = new Set<number>();
    let requests = 0;
    const fetch = async (): Promise<Response> => {
      requests++;
      listeners.add(getEventListeners(controller.signal, 'abort').length);
      timers.add(clock.pendingTimers);
      if (requests % 2) return stream(`id: ${requests}\ndata: ${requests}\nretry: 5\n\n`);
      const silent = new ReadableStream<Uint8Array>({ pull: () => new Promise<void>(() => {}) });
      return new Response(silent, { headers: { 'content-type': 'text/event-stream' } });
    };
    const errors = new Set<unknown>();
    const connection = connect('http://h/x', {
      clock,
      fetch,
      signal: controller.signal,
      idleTimeout: 100,
      backoff: () => 0,
      onError: (error) => errors.add((error as Error).constructor),
    });
    const iterator = connection[Symbol.asyncIterator]();
    for (let cycle = 1; cycle <= 5_000; cycle++) {
      expect((await iterator.next()).value?.data).toBe(`${2 * cycle - 1}`);
      await clock.advance(5); // the reconnection after the normal end
      await settle(1);
      await clock.advance(100); // the watchdog of the silent one
      await settle(1);
      await clock.advance(5);
    }
    // The last wait opened connection 10,001, whose event is read (its id taken) but not consumed.
    expect(requests).toBe(10_001);
    expect([...listeners]).toEqual([1]);
    expect(Math.max(...timers)).toBeLessThanOrEqual(1);
    expect([...errors]).toEqual([TimeoutError]);
    expect(connection.lastEventId).toBe('10001');
    await iterator.return?.();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(clock.pendingTimers).toBe(0);
  }, 60_000);
});

describe('EventSource: a listener that throws', () => {
  // As the DOM reports a listener's exception (reportError) and goes on: Node's EventTarget makes it an uncaught
  // exception, and the other listeners, the later events of the chunk and the reconnection still happen.
  it('is reported as an uncaught exception; the other listeners, the next events and the reconnection go on', async () => {
    const reported: unknown[] = [];
    const report = (error: unknown): number => reported.push(error);
    process.on('uncaughtException', report);
    try {
      const clock = createFakeClock();
      const source = new EventSource('http://h/x', {
        clock,
        fetch: async () => stream('data: a\n\ndata: b\n\n'),
      });
      const seen: string[] = [];
      source.addEventListener('message', (event) => {
        throw new Error(`listener ${event.data}`);
      });
      source.onmessage = (event) => seen.push(event.data);
      source.onerror = () => seen.push(`error ${source.readyState}`);
      await settle(10);
      expect(seen).toEqual(['a', 'b', `error ${EventSource.CONNECTING}`]);
      expect(reported.map((error) => (error as Error).message)).toEqual(['listener a', 'listener b']);
      source.close();
    } finally {
      process.off('uncaughtException', report);
    }
  });
});

describe('connect(): a custom fetch that aborts the caller signal', () => {
  // The race that gives up on a fetch ignoring the signal listened for the abort only after fetch was called: an abort
  // from inside the call was never heard, so the iteration waited for ever instead of throwing the signal's reason,
  // and the watchdog, freed by the abort, could not end it either.
  it('from inside the call, and never settles: the iteration throws the reason', async () => {
    const clock = createFakeClock();
    const controller = new AbortController();
    const reason = new Error('stop');
    const fetch = (): Promise<Response> => {
      controller.abort(reason);
      return new Promise<Response>(() => {});
    };
    const connection = connect('http://h/x', { clock, fetch, signal: controller.signal, idleTimeout: 100 });
    let outcome: unknown = 'pending';
    connection[Symbol.asyncIterator]()
      .next()
      .then(
        () => (outcome = 'ended'),
        (error: unknown) => (outcome = error),
      );
    await settle(5);
    await clock.advance(100);
    await settle(5);
    expect(outcome).toBe(reason);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('a backoff or random that throws', () => {
  // The README said what a throwing hook does, not a throwing backoff or random (called before each reconnection wait):
  // they end the stream alike, so that a broken jitter source cannot turn into a reconnect loop or a hang.
  for (const option of ['backoff', 'random'] as const)
    it(`${option}: connect() throws its error from the iteration, EventSource fires error at CLOSED`, async () => {
      const boom = new Error(option);
      const init = {
        clock: createFakeClock(),
        fetch: async () => stream('data: a\n\n'),
        [option]: () => {
          throw boom;
        },
      };
      const seen: unknown[] = [];
      try {
        for await (const event of connect('http://h/x', init)) seen.push(event.data);
      } catch (error) {
        seen.push(error);
      }
      expect(seen).toEqual(['a', boom]);
      const source = new EventSource('http://h/x', init);
      const fired: unknown[] = [];
      source.onmessage = (event) => fired.push(event.data);
      source.onerror = () => fired.push(source.readyState);
      await settle(10);
      expect(fired).toEqual(['a', EventSource.CLOSED]);
      expect(init.clock.pendingTimers).toBe(0);
    });
});

describe('createByteParserStream(): a callback that throws', () => {
  // The stream forms have no feed() for the error to come out of: it errors the stream, after the events before it.
  for (const callback of ['onRetry', 'onComment'] as const)
    it(`${callback}: the events before it are read, then the read throws its error`, async () => {
      const boom = new Error(callback);
      const body = new Response('data: a\n\nretry: 5\n: hi\n\ndata: b\n\n')
        .body as ReadableStream<Uint8Array>;
      const throwing = () => {
        throw boom;
      };
      const reader = body.pipeThrough(createByteParserStream({ [callback]: throwing })).getReader();
      const seen: unknown[] = [];
      try {
        for (let read = await reader.read(); !read.done; read = await reader.read())
          seen.push(read.value.data);
      } catch (error) {
        seen.push(error);
      }
      expect(seen).toEqual(['a', boom]);
    });
});
