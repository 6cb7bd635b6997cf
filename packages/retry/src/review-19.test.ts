/**
 * Review round 19: input the breaker refuses since its eighteenth review (40edb5b, b8d13d2, f0361d2).
 * - A `signal` that is not signal-shaped (a stub without removeEventListener) ended Node with an uncaught TypeError
 *   as the attempt settled; it is now refused before `fn` runs. Every real signal is still taken, and a stub whose
 *   addEventListener or removeEventListener throws rejects the call with its error, leaving no timer.
 * - Options that are not an object (`retry(fn, 5)`, ported from `call_with_retry(func, max_attempts=3)`) silently
 *   ran the defaults; they are now refused with InvalidArgumentError('options'), by withRetry, retryBudget and the
 *   backoff factories (`exponential(200)`) too.
 */
import { InvalidArgumentError } from '@integ/core';
import { decorrelated, exponential, linear, retry, retryBudget, withRetry } from '@integ/retry';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

const reasonOf = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => error,
  );

describe('retry with a signal that is not signal-shaped', () => {
  const stubs: [string, unknown][] = [
    ['no removeEventListener', { aborted: false, addEventListener() {} }],
    ['no addEventListener', { aborted: false, removeEventListener() {} }],
    ['no aborted', { addEventListener() {}, removeEventListener() {} }],
    ['aborted not a boolean', { aborted: 'no', addEventListener() {}, removeEventListener() {} }],
    ['a plain object', {}],
    ['a number', 1],
    ['a string', 'signal'],
  ];
  for (const [name, signal] of stubs)
    it(`refuses ${name} with InvalidArgumentError (signal) before fn runs`, async () => {
      let calls = 0;
      const fn = () => ++calls;
      const error = await reasonOf(retry(fn, { signal: signal as AbortSignal }));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe('signal');
      const wrapped = await reasonOf(withRetry(fn, { signal: signal as AbortSignal })());
      expect((wrapped as InvalidArgumentError).argument).toBe('signal');
      expect(calls).toBe(0);
    });

  it('takes every real signal and follows it to its abort', async () => {
    class PolyfillSignal extends EventTarget {
      aborted = false;
      reason: unknown;
      abort(reason: unknown): void {
        this.aborted = true;
        this.reason = reason;
        this.dispatchEvent(new Event('abort'));
      }
    }
    const cases: [string, () => [AbortSignal, (reason: unknown) => void]][] = [
      [
        'Node',
        () => {
          const c = new AbortController();
          return [c.signal, (r) => c.abort(r)];
        },
      ],
      [
        'AbortSignal.any',
        () => {
          const c = new AbortController();
          return [AbortSignal.any([c.signal]), (r) => c.abort(r)];
        },
      ],
      [
        'a Proxy of a signal',
        () => {
          const c = new AbortController();
          return [new Proxy(c.signal, {}), (r) => c.abort(r)];
        },
      ],
      [
        'an EventTarget polyfill',
        () => {
          const s = new PolyfillSignal();
          return [s as unknown as AbortSignal, (r) => s.abort(r)];
        },
      ],
    ];
    for (const [name, make] of cases) {
      const [signal] = make();
      expect(await retry(() => name, { signal }), name).toBe(name);
      const [cut, abort] = make();
      const reason = new Error(`stop ${name}`);
      const pending = reasonOf(
        retry(
          ({ signal: s }) => new Promise((_, reject) => s.addEventListener('abort', () => reject(s.reason))),
          { signal: cut },
        ),
      );
      await Promise.resolve();
      abort(reason);
      expect(await pending, name).toBe(reason);
    }
    expect(await retry(() => 'timeout', { signal: AbortSignal.timeout(60_000) })).toBe('timeout');
  });

  it('rejects with the error of a stub whose addEventListener throws, before fn runs, leaving no timer', async () => {
    const clock = createFakeClock({ now: 0 });
    const thrown = new Error('add');
    const signal = {
      aborted: false,
      addEventListener() {
        throw thrown;
      },
      removeEventListener() {},
    };
    let calls = 0;
    const error = await reasonOf(
      retry(() => ++calls, {
        signal: signal as unknown as AbortSignal,
        timeout: 1000,
        deadline: 5000,
        clock,
      }),
    );
    expect(error).toBe(thrown);
    expect(calls).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects with the error of a stub whose removeEventListener throws, leaving no timer', async () => {
    const clock = createFakeClock({ now: 0 });
    const thrown = new Error('remove');
    const signal = {
      aborted: false,
      addEventListener() {},
      removeEventListener() {
        throw thrown;
      },
    };
    for (const options of [{}, { timeout: 1000, deadline: 5000 }]) {
      let calls = 0;
      const error = await reasonOf(
        retry(() => ++calls, { signal: signal as unknown as AbortSignal, clock, ...options }),
      );
      // Before: an uncaught TypeError-like rejection from the attempt's `then`, and retry pending for good.
      expect(error).toBe(thrown);
      expect(calls).toBe(1);
      expect(clock.pendingTimers).toBe(0);
    }
  });
});

describe('options that are not an object', () => {
  // Made in each test: a Promise that rejects, made at collection, is unhandled until the test runs.
  const bad: [string, () => unknown][] = [
    ['a number (attempts ported from call_with_retry)', () => 5],
    ['0', () => 0],
    ['false', () => false],
    ['a JSON string not parsed', () => '{"attempts":5}'],
    ['an empty string', () => ''],
    ['a function not called', () => () => ({ attempts: 5 })],
    ['a Promise not awaited', () => Promise.resolve({ attempts: 5 })],
    ['a Promise that rejects', () => Promise.reject(new Error('config'))],
  ];
  for (const [name, make] of bad)
    it(`refuses ${name} with InvalidArgumentError (options)`, async () => {
      const options = make();
      let calls = 0;
      const fn = () => {
        calls++;
        throw new Error('down');
      };
      const error = await reasonOf(retry(fn, options as never));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe('options');
      expect((error as Error).message).toContain('{ attempts: 5 }');
      expect(calls).toBe(0);
      expect(() => withRetry(fn, options as never)).toThrow(InvalidArgumentError);
      expect(() => retryBudget(options as never)).toThrow(InvalidArgumentError);
      for (const backoff of [linear, exponential, decorrelated]) {
        let thrown: unknown;
        try {
          backoff(options as never);
        } catch (e) {
          thrown = e;
        }
        expect(thrown, backoff.name).toBeInstanceOf(InvalidArgumentError);
        expect((thrown as InvalidArgumentError).argument).toBe('options');
      }
      expect(calls).toBe(0);
    });

  it('still takes null and undefined as no options', async () => {
    for (const options of [null, undefined]) {
      expect(await retry(() => 1, options as never)).toBe(1);
      expect(await withRetry(() => 2, options as never)()).toBe(2);
      expect(retryBudget(options as never).tryRetry()).toBe(true);
      for (const backoff of [linear, exponential, decorrelated])
        expect(
          backoff(options as never)({ attempt: 1, previousDelay: 0, random: () => 0.5 }),
        ).toBeGreaterThan(0);
    }
  });
});
