/**
 * Review round 19: the signal option of connect() (and EventSource, which passes its init on). A signal was checked
 * only by `typeof signal.aborted === 'boolean'`, so a hand-made stub without addEventListener/removeEventListener,
 * or with ones that throw, got past the check: connect() threw a bare TypeError (or the stub's error), or took the
 * stub and then failed at close()/the end of the stream, where core's linkSignals calls removeEventListener. Such a
 * signal is now refused with InvalidArgumentError ('signal') before anything starts; every real signal still works.
 */
import { InvalidArgumentError } from '@integ/core';
import { connect, EventSource, type SseEvent } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await tick();
};

const boom = new Error('stub');
const stubs: [string, () => unknown][] = [
  ['{ aborted: false }', () => ({ aborted: false })],
  ['{ aborted: true }', () => ({ aborted: true, reason: boom })],
  ['no removeEventListener', () => ({ aborted: false, addEventListener() {} })],
  ['no addEventListener', () => ({ aborted: false, removeEventListener() {} })],
  [
    'methods that are not functions',
    () => ({ aborted: false, addEventListener: 1, removeEventListener: 'x' }),
  ],
  [
    'an addEventListener that throws',
    () => ({
      aborted: false,
      addEventListener() {
        throw boom;
      },
      removeEventListener() {},
    }),
  ],
  [
    'a removeEventListener that throws',
    () => ({
      aborted: false,
      addEventListener() {},
      removeEventListener() {
        throw boom;
      },
    }),
  ],
];

function world() {
  const clock = createFakeClock({ now: 1_000 });
  let fetched = 0;
  const fetch = async (): Promise<Response> => {
    fetched++;
    return new Response('data: hi\n\n', { headers: { 'content-type': 'text/event-stream' } });
  };
  return { clock, fetch, fetched: () => fetched };
}

describe('connect() refuses a signal that is not signal-shaped', () => {
  for (const [name, make] of stubs) {
    it(`refuses ${name} with InvalidArgumentError (signal), starting nothing`, async () => {
      const { clock, fetch, fetched } = world();
      const signal = make() as AbortSignal;
      let error: unknown;
      try {
        connect('http://sse.test/', { clock, fetch, signal });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe('signal');
      await settle();
      await clock.advance(60_000);
      expect(fetched()).toBe(0);
      expect(clock.pendingTimers).toBe(0);
    });

    it(`new EventSource refuses ${name} in its init the same way`, async () => {
      const { clock, fetch, fetched } = world();
      const signal = make();
      expect(() => new EventSource('http://sse.test/', { clock, fetch, signal } as never)).toThrow(
        InvalidArgumentError,
      );
      await settle();
      expect(fetched()).toBe(0);
      expect(clock.pendingTimers).toBe(0);
    });
  }
});

/** An AbortSignal polyfill that is not an EventTarget: listeners kept in a Set, as some older polyfills do. */
class PolyfillSignal {
  aborted = false;
  reason: unknown;
  #listeners = new Set<(this: unknown) => void>();
  addEventListener(_type: string, listener: (this: unknown) => void): void {
    this.#listeners.add(listener);
  }
  removeEventListener(_type: string, listener: (this: unknown) => void): void {
    this.#listeners.delete(listener);
  }
  abort(reason: unknown): void {
    this.aborted = true;
    this.reason = reason;
    for (const listener of [...this.#listeners]) listener.call(this);
  }
}

/** A polyfill built on EventTarget, not an AbortSignal instance. */
class TargetSignal extends EventTarget {
  aborted = false;
  reason: unknown;
  abort(reason: unknown): void {
    this.aborted = true;
    this.reason = reason;
    this.dispatchEvent(new Event('abort'));
  }
}

describe('connect() takes every real signal and follows it to its abort', () => {
  const reason = new Error('stop');
  const signals: [string, () => { signal: AbortSignal; abort: () => void }][] = [
    [
      "Node's AbortSignal",
      () => {
        const controller = new AbortController();
        return { signal: controller.signal, abort: () => controller.abort(reason) };
      },
    ],
    [
      'AbortSignal.any()',
      () => {
        const controller = new AbortController();
        return { signal: AbortSignal.any([controller.signal]), abort: () => controller.abort(reason) };
      },
    ],
    [
      'an EventTarget-based polyfill',
      () => {
        const signal = new TargetSignal();
        return { signal: signal as unknown as AbortSignal, abort: () => signal.abort(reason) };
      },
    ],
    [
      'a plain polyfill',
      () => {
        const signal = new PolyfillSignal();
        return { signal: signal as unknown as AbortSignal, abort: () => signal.abort(reason) };
      },
    ],
    [
      'a Proxy of a plain polyfill',
      () => {
        const signal = new PolyfillSignal();
        const proxy = new Proxy(signal, {
          get: (target, key) => {
            const value = Reflect.get(target, key, target);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
        return { signal: proxy as unknown as AbortSignal, abort: () => signal.abort(reason) };
      },
    ],
  ];
  for (const [name, make] of signals) {
    it(`takes ${name}`, async () => {
      const { clock, fetch, fetched } = world();
      const { signal, abort } = make();
      const stream = connect('http://sse.test/', { clock, fetch, signal });
      const iterator = stream[Symbol.asyncIterator]();
      const first = await iterator.next();
      expect((first.value as SseEvent).data).toBe('hi');
      expect(fetched()).toBe(1);
      abort();
      await expect(iterator.next()).rejects.toBe(reason);
      await settle();
      expect(clock.pendingTimers).toBe(0);
    });
  }

  it('takes AbortSignal.timeout() and ends when it fires', async () => {
    const { clock, fetch } = world();
    const signal = AbortSignal.timeout(10);
    const stream = connect('http://sse.test/', { clock, fetch, signal });
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const event of stream) seen.push(event.data);
      })(),
    ).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(seen[0]).toBe('hi');
  });
});

describe('connect() refuses a clock without now or clearTimeout', () => {
  // The same class: a clock was checked only by typeof setTimeout. Without clearTimeout, close() of a stream with an
  // idleTimeout threw 'clock.clearTimeout is not a function' from the abort listener (an uncaught exception in Node);
  // without now, the iteration threw a bare TypeError after the first attempt.
  const timers = { setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout };
  const clocks: [string, unknown][] = [
    ['no clearTimeout', { now: () => 0, setTimeout: timers.setTimeout }],
    ['no now', timers],
    ['a now that is not a function', { ...timers, now: 5 }],
  ];
  for (const [name, clock] of clocks) {
    it(`refuses ${name} with InvalidArgumentError (clock), fetching nothing`, async () => {
      const { fetch, fetched } = world();
      let error: unknown;
      try {
        connect('http://sse.test/', { clock: clock as never, fetch, idleTimeout: 1_000 });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe('clock');
      expect(() => new EventSource('http://sse.test/', { clock: clock as never, fetch })).toThrow(
        InvalidArgumentError,
      );
      await settle();
      expect(fetched()).toBe(0);
    });
  }
});
