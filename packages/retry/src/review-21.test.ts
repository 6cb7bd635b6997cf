/**
 * Review round 21, reference-derived: the cases of p-retry's test.js, cockatiel's RetryPolicy and backoff tests, the
 * AWS "Exponential Backoff And Jitter" formulas, Finagle's RetryBudget and RFC 9110 (Retry-After §10.2.3, HTTP-date
 * §5.6.7), each translated to this API on a fake clock with seeded randomness. Where our documented semantics differ
 * on purpose (attempts counts every call, the last failure comes wrapped in a RetryError, onRetry is not awaited), the
 * test pins ours and says what the peer does.
 */
import {
  type Backoff,
  constant,
  decorrelated,
  exponential,
  type GiveUpEvent,
  parseRetryAfter,
  RejectedResultError,
  RetryBudgetError,
  RetryError,
  retry,
  retryBudget,
  withRetry,
} from '@integ/retry';
import { createFakeClock, seededRandom } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { run } from './settle.test-support.js';

const fixtureError = new Error('fixture');

describe('retry, as p-retry test.js has it', () => {
  it('retries until the third attempt answers', async () => {
    const clock = createFakeClock();
    let calls = 0;
    const outcome = await run(
      retry(
        async ({ attempt }) => {
          calls++;
          if (attempt === 3) return 'fixture';
          throw fixtureError;
        },
        { clock, random: seededRandom(1) },
      ),
      clock,
    );
    expect(outcome).toEqual({ ok: true, value: 'fixture' });
    expect(calls).toBe(3);
  });

  it('stops at an AbortError-named failure and rejects with it unchanged (p-retry unwraps its AbortError)', async () => {
    const clock = createFakeClock();
    const abort = Object.assign(new Error('stop'), { name: 'AbortError' });
    const reasons: GiveUpEvent['reason'][] = [];
    let calls = 0;
    const outcome = await run(
      retry(
        async ({ attempt }) => {
          calls++;
          throw attempt === 3 ? abort : fixtureError;
        },
        { attempts: 10, backoff: constant(10), clock, onGiveUp: (e) => reasons.push(e.reason) },
      ),
      clock,
    );
    expect(outcome).toEqual({ ok: false, error: abort });
    expect(calls).toBe(3);
    expect(reasons).toEqual(['not-retryable']);
  });

  it('retries a TypeError (p-retry does not, except network errors: fetch fails with one)', async () => {
    const clock = createFakeClock();
    let calls = 0;
    const outcome = await run(
      retry(
        async () => {
          calls++;
          if (calls < 3) throw new TypeError('fetch failed');
          return 1;
        },
        { backoff: constant(5), clock },
      ),
      clock,
    );
    expect(outcome).toEqual({ ok: true, value: 1 });
    expect(calls).toBe(3);
  });

  it('calls onRetry for each retried failure in order and onGiveUp once for the last (p-retry: onFailedAttempt for all)', async () => {
    const clock = createFakeClock();
    const events: string[] = [];
    let calls = 0;
    const outcome = await run(
      retry(
        async () => {
          calls++;
          events.push(`call ${calls}`);
          throw fixtureError;
        },
        {
          attempts: 4,
          backoff: constant(10),
          clock,
          onRetry: ({ attempt, delay, error }) => {
            expect(error).toBe(fixtureError);
            events.push(`retry ${attempt} ${delay}`);
          },
          onGiveUp: ({ attempts, error, reason }) => {
            expect(error).toBe(fixtureError);
            events.push(`give up ${attempts} ${reason}`);
          },
        },
      ),
      clock,
    );
    expect(events).toEqual([
      'call 1',
      'retry 1 10',
      'call 2',
      'retry 2 10',
      'call 3',
      'retry 3 10',
      'call 4',
      'give up 4 attempts',
    ]);
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: RetryError }).error;
    expect(error).toBeInstanceOf(RetryError);
    expect(error.cause).toBe(fixtureError);
    expect(error.errors).toEqual([fixtureError, fixtureError, fixtureError, fixtureError]);
  });

  it('rejects with what onRetry throws, and calls fn no more (p-retry: onFailedAttempt can throw)', async () => {
    const clock = createFakeClock();
    const thrown = new Error('thrown from onRetry');
    let calls = 0;
    const outcome = await run(
      retry(
        () => {
          calls++;
          throw fixtureError;
        },
        {
          clock,
          onRetry: () => {
            throw thrown;
          },
        },
      ),
      clock,
    );
    expect(outcome).toEqual({ ok: false, error: thrown });
    expect(calls).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('does not wait for an async onRetry (decision 0017; p-retry awaits onFailedAttempt)', async () => {
    const clock = createFakeClock();
    let calls = 0;
    const done = retry(
      () => {
        calls++;
        if (calls === 1) throw fixtureError;
        return 'ok';
      },
      { backoff: constant(10), clock, onRetry: () => new Promise<void>(() => {}) },
    );
    await clock.advance(10);
    await expect(done).resolves.toBe('ok');
  });

  it('hands a thrown non-error over unchanged (p-retry wraps it in a TypeError)', async () => {
    const clock = createFakeClock();
    const outcome = await run(
      retry(
        () => {
          throw 'foo';
        },
        { attempts: 2, backoff: constant(1), clock },
      ),
      clock,
    );
    const error = (outcome as { error: RetryError }).error;
    expect(error).toBeInstanceOf(RetryError);
    expect(error.cause).toBe('foo');
  });

  it('rejects with the signal reason when fn aborts it in the third attempt', async () => {
    const clock = createFakeClock();
    const controller = new AbortController();
    let calls = 0;
    const outcome = await run(
      retry(
        async ({ attempt }) => {
          calls++;
          if (attempt === 3) controller.abort();
          throw fixtureError;
        },
        { attempts: 10, backoff: constant(10), clock, signal: controller.signal },
      ),
      clock,
    );
    expect(calls).toBe(3);
    expect((outcome as { error: unknown }).error).toBe(controller.signal.reason);
    expect((outcome as { error: DOMException }).error.name).toBe('AbortError');
  });

  it('preserves the abort reason, also when fn resolves after aborting', async () => {
    const clock = createFakeClock();
    const controller = new AbortController();
    let calls = 0;
    const outcome = await run(
      retry(
        async ({ attempt }) => {
          calls++;
          if (attempt === 3) {
            controller.abort(fixtureError);
            return 'late';
          }
          throw new Error('flaky');
        },
        { attempts: 10, backoff: constant(10), clock, signal: controller.signal },
      ),
      clock,
    );
    expect(outcome).toEqual({ ok: false, error: fixtureError });
    expect(calls).toBe(3);
  });

  it('never calls fn when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(fixtureError);
    let calls = 0;
    await expect(retry(() => calls++, { signal: controller.signal })).rejects.toBe(fixtureError);
    expect(calls).toBe(0);
  });

  it('cancels the wait between attempts at once when the signal aborts, leaving no timer', async () => {
    const clock = createFakeClock();
    const controller = new AbortController();
    const done = retry(
      () => {
        throw fixtureError;
      },
      { backoff: constant(60_000), clock, signal: controller.signal },
    ).catch((e: unknown) => e);
    await clock.advance(1);
    expect(clock.pendingTimers).toBe(1);
    controller.abort(fixtureError);
    expect(await done).toBe(fixtureError);
    expect(clock.pendingTimers).toBe(0);
  });

  it('retries while an async retryIf says yes, and rejects with the first failure it refuses', async () => {
    const clock = createFakeClock();
    const retryable = new Error('should-retry');
    const custom = new Error('custom-error');
    let calls = 0;
    const outcome = await run(
      retry(
        async () => {
          calls++;
          throw calls < 3 ? retryable : custom;
        },
        {
          attempts: 11,
          backoff: constant(10),
          clock,
          retryIf: async (error) => (error as Error).message === retryable.message,
        },
      ),
      clock,
    );
    expect(outcome).toEqual({ ok: false, error: custom });
    expect(calls).toBe(3);
  });

  it('does not ask retryIf about an abort (p-retry: shouldRetry not called for AbortError)', async () => {
    let asked = 0;
    const abort = Object.assign(new Error('x'), { name: 'AbortError' });
    await expect(
      retry(() => Promise.reject(abort), {
        retryIf: () => {
          asked++;
          return true;
        },
      }),
    ).rejects.toBe(abort);
    expect(asked).toBe(0);
  });

  it('retries a frozen error without touching it', async () => {
    const clock = createFakeClock();
    const frozen = Object.freeze(new Error('non-extensible-error'));
    let calls = 0;
    const outcome = await run(
      retry(
        async ({ attempt }) => {
          calls++;
          if (attempt === 3) return 'ok';
          throw frozen;
        },
        { clock, random: seededRandom(2) },
      ),
      clock,
    );
    expect(outcome).toEqual({ ok: true, value: 'ok' });
    expect(calls).toBe(3);
  });

  it('retries forever with attempts: Infinity until a non-retryable failure', async () => {
    const clock = createFakeClock();
    let calls = 0;
    const stop = Object.assign(new Error('stop'), { retryable: false });
    const outcome = await run(
      retry(
        () => {
          calls++;
          throw calls === 15 ? stop : fixtureError;
        },
        { attempts: Number.POSITIVE_INFINITY, backoff: constant(0), clock },
      ),
      clock,
    );
    expect(outcome).toEqual({ ok: false, error: stop });
    expect(calls).toBe(15);
  });

  it('makes one call with attempts: 1 (p-retry retries: 0) and wraps the failure (p-retry rejects with it)', async () => {
    let calls = 0;
    const error = await retry(
      () => {
        calls++;
        throw fixtureError;
      },
      { attempts: 1 },
    ).catch((e: unknown) => e as RetryError);
    expect(calls).toBe(1);
    expect(error).toBeInstanceOf(RetryError);
    expect(error.cause).toBe(fixtureError);
    expect(error.reason).toBe('attempts');
  });

  it('never starts an attempt at or after the deadline (p-retry maxRetryTime waits out the rest, then tries)', async () => {
    const clock = createFakeClock();
    const starts: number[] = [];
    const outcome = await run(
      retry(
        () => {
          starts.push(clock.now());
          throw fixtureError;
        },
        { attempts: 10, backoff: constant(400), deadline: 1000, clock },
      ),
      clock,
    );
    expect(starts).toEqual([0, 400, 800]);
    expect((outcome as { error: RetryError }).error.reason).toBe('deadline');
    // Gave up at 800, not by sleeping to 1000.
    expect(clock.now()).toBe(800);
  });
});

describe('retry and withRetry, as p-retry test.js (v7) has them', () => {
  it('takes null, false and undefined as answers, not failures', async () => {
    for (const value of [null, false, undefined, 0, '']) {
      let calls = 0;
      await expect(
        retry(() => {
          calls++;
          return value;
        }),
      ).resolves.toBe(value);
      expect(calls).toBe(1);
    }
  });

  it('rejects with what retryIf throws (p-retry: shouldRetry throws)', async () => {
    const thrown = new Error('retryIf failure');
    await expect(
      retry(() => Promise.reject(new Error('operation failed')), {
        retryIf: () => {
          throw thrown;
        },
      }),
    ).rejects.toBe(thrown);
  });

  it("withRetry passes the arguments and this on (p-retry's makeRetriable)", async () => {
    const object = {
      value: 2,
      calls: 0,
      add: withRetry(
        async function (this: { value: number; calls: number }, n: number) {
          this.calls++;
          if (this.calls < 2) throw new Error('fail');
          return this.value + n;
        },
        { backoff: constant(0) },
      ),
    };
    await expect(object.add(3)).resolves.toBe(5);
    expect(object.calls).toBe(2);
  });

  it('caps the wait at max when max is below initial (p-retry maxTimeout below minTimeout)', () => {
    const b = exponential({ initial: 200, max: 50, jitter: 'none' });
    expect([1, 2, 3].map((attempt) => b({ attempt, previousDelay: 0, random: () => 0.5 }))).toEqual([
      50, 50, 50,
    ]);
  });
});

describe('retry, as cockatiel RetryPolicy.test.ts has it', () => {
  const sequence =
    (durations: number[]): Backoff =>
    ({ attempt }) =>
      durations[attempt - 1] ?? 0;

  it('waits the given sequence of delays', async () => {
    const clock = createFakeClock();
    const delays: number[] = [];
    let calls = 0;
    const outcome = await run(
      retry(
        () => {
          calls++;
          throw fixtureError;
        },
        { attempts: 4, backoff: sequence([10, 20, 20]), clock, onRetry: ({ delay }) => delays.push(delay) },
      ),
      clock,
    );
    expect(outcome.ok).toBe(false);
    expect(delays).toEqual([10, 20, 20]);
    expect(calls).toBe(4);
    expect(clock.now()).toBe(50);
  });

  it('filters error types: a failure retryIf refuses ends it', async () => {
    class MyErrorA extends Error {}
    class MyErrorB extends Error {}
    const b = new MyErrorB('b');
    let calls = 0;
    await expect(
      retry(
        () => {
          calls++;
          throw calls === 1 ? new MyErrorA('a') : b;
        },
        { attempts: 6, backoff: constant(0), retryIf: (e) => e instanceof MyErrorA },
      ),
    ).rejects.toBe(b);
    expect(calls).toBe(2);
  });

  it('filters returns: retryOnResult retries a value until one is accepted', async () => {
    let calls = 0;
    await expect(
      retry(() => ++calls, { attempts: 6, backoff: constant(0), retryOnResult: (n) => n < 2 }),
    ).resolves.toBe(2);
    expect(calls).toBe(2);
  });

  it('rejects with a RejectedResultError holding the last value when attempts run out (cockatiel returns it)', async () => {
    let calls = 0;
    const error = (await retry(
      () => {
        calls++;
        return 1;
      },
      { attempts: 6, backoff: constant(0), retryOnResult: () => true },
    ).catch((e: unknown) => e)) as RetryError;
    expect(calls).toBe(6);
    expect(error.cause).toBeInstanceOf(RejectedResultError);
    expect((error.cause as RejectedResultError).value).toBe(1);
  });

  it("aborts the attempt's signal at once when the caller aborts, and calls fn once", async () => {
    const parent = new AbortController();
    const reason = new Error('cancelled');
    let calls = 0;
    const seen: boolean[] = [];
    await expect(
      retry(
        ({ signal }) => {
          calls++;
          seen.push(signal.aborted);
          parent.abort(reason);
          seen.push(signal.aborted);
          throw fixtureError;
        },
        { attempts: 3, signal: parent.signal },
      ),
    ).rejects.toBe(reason);
    expect(calls).toBe(1);
    expect(seen).toEqual([false, true]);
  });

  it('gives onRetry the attempt that failed: 1, 2, 3', async () => {
    const attempts: number[] = [];
    await expect(
      retry(() => Promise.reject(fixtureError), {
        attempts: 4,
        backoff: constant(0),
        onRetry: ({ attempt }) => attempts.push(attempt),
      }),
    ).rejects.toBeInstanceOf(RetryError);
    expect(attempts).toEqual([1, 2, 3]);
  });
});

describe('backoffs, as AWS "Exponential Backoff And Jitter" and cockatiel\'s generator tests have them', () => {
  it('exponential without jitter: min(cap, base * 2 ** (attempt - 1))', () => {
    const b = exponential({ initial: 128, max: 30_000, jitter: 'none' });
    const delays = Array.from({ length: 12 }, (_, i) =>
      b({ attempt: i + 1, previousDelay: 0, random: () => 0.5 }),
    );
    expect(delays).toEqual([128, 256, 512, 1024, 2048, 4096, 8192, 16384, 30000, 30000, 30000, 30000]);
  });

  it('full and equal jitter stay within [0, ceiling) and [ceiling / 2, ceiling] for 99 attempts (cockatiel "is sane")', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 99 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, r) => {
          const ceiling = Math.min(30_000, 128 * 2 ** (attempt - 1));
          const full = exponential({ initial: 128, jitter: 'full' })({
            attempt,
            previousDelay: 0,
            random: () => r,
          });
          const equal = exponential({ initial: 128, jitter: 'equal' })({
            attempt,
            previousDelay: 0,
            random: () => r,
          });
          expect(full).toBeGreaterThanOrEqual(0);
          expect(full).toBeLessThanOrEqual(ceiling);
          expect(equal).toBeGreaterThanOrEqual(ceiling / 2);
          expect(equal).toBeLessThanOrEqual(ceiling);
        },
      ),
      { seed: 21, numRuns: 500 },
    );
  });

  it('decorrelated: sleep = min(cap, random_between(base, sleep * 3)), the first from base', () => {
    const b = decorrelated({ initial: 100, max: 10_000 });
    expect(b({ attempt: 1, previousDelay: 0, random: () => 0 })).toBe(100);
    expect(b({ attempt: 1, previousDelay: 0, random: () => 0.5 })).toBe(200);
    expect(b({ attempt: 2, previousDelay: 200, random: () => 0.5 })).toBe(350);
    expect(b({ attempt: 5, previousDelay: 9_000, random: () => 0.99 })).toBe(10_000);
  });

  it('decorrelated under retry: each wait is drawn from the one before, within [base, min(cap, 3 x previous)]', async () => {
    fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
        const clock = createFakeClock();
        const delays: number[] = [];
        await run(
          retry(() => Promise.reject(fixtureError), {
            attempts: 12,
            backoff: decorrelated({ initial: 50, max: 5_000 }),
            random: seededRandom(seed),
            clock,
            onRetry: ({ delay }) => delays.push(delay),
          }),
          clock,
        );
        expect(delays).toHaveLength(11);
        let previous = 50;
        for (const delay of delays) {
          expect(delay).toBeGreaterThanOrEqual(50);
          expect(delay).toBeLessThanOrEqual(Math.min(5_000, previous * 3));
          previous = delay;
        }
        // 3000 attempts of cockatiel's issue #86: never NaN, never negative.
        const b = decorrelated({ initial: 45_000, max: 15 * 60_000 });
        const random = seededRandom(seed);
        let prev = 0;
        for (let attempt = 1; attempt < 3000; attempt++) {
          prev = b({ attempt, previousDelay: prev, random });
          expect(prev).toBeGreaterThanOrEqual(45_000);
          expect(prev).toBeLessThanOrEqual(15 * 60_000);
        }
      }),
      { seed: 21, numRuns: 20 },
    );
  });
});

describe('retryBudget, as Finagle RetryBudget has it (ttl, minRetriesPerSec, percentCanRetry)', () => {
  it('allows ratio x requests + minPerSecond x ttl seconds retries in the window, then refuses', () => {
    const clock = createFakeClock();
    const budget = retryBudget({ ratio: 0.1, minPerSecond: 1, ttl: 10_000, clock });
    // The reserve alone: 1/s over 10 s.
    expect(budget.available()).toBe(10);
    for (let i = 0; i < 100; i++) budget.recordRequest();
    expect(budget.available()).toBe(20);
    let granted = 0;
    while (budget.tryRetry()) granted++;
    expect(granted).toBe(20);
    expect(budget.available()).toBe(0);
  });

  it('forgets requests and retries after ttl, keeping the reserve', async () => {
    const clock = createFakeClock();
    const budget = retryBudget({ ratio: 0.5, minPerSecond: 0, ttl: 1_000, clock });
    for (let i = 0; i < 10; i++) budget.recordRequest();
    expect(budget.available()).toBe(5);
    while (budget.tryRetry());
    await clock.advance(1_000);
    expect(budget.available()).toBe(0);
    budget.recordRequest();
    budget.recordRequest();
    expect(budget.available()).toBe(1);
  });

  it('with ratio 0 and minPerSecond 0 never retries (Finagle: percentCanRetry 0, no reserve)', async () => {
    const clock = createFakeClock();
    const budget = retryBudget({ ratio: 0, minPerSecond: 0, clock });
    let calls = 0;
    const outcome = await run(
      retry(
        () => {
          calls++;
          throw fixtureError;
        },
        { budget, clock, backoff: constant(1) },
      ),
      clock,
    );
    expect((outcome as { error: unknown }).error).toBeInstanceOf(RetryBudgetError);
    expect(calls).toBe(1);
  });

  it('deposits once per call, not per retry (Finagle RetryFilter deposits per request)', async () => {
    const clock = createFakeClock();
    const budget = retryBudget({ ratio: 1, minPerSecond: 0, ttl: 10_000, clock });
    let calls = 0;
    const outcome = await run(
      retry(
        () => {
          calls++;
          throw fixtureError;
        },
        { attempts: 5, budget, clock, backoff: constant(1) },
      ),
      clock,
    );
    // One deposit (ratio 1) pays for one retry: the third call is refused.
    expect(calls).toBe(2);
    expect((outcome as { error: RetryBudgetError }).error.reason).toBe('budget');
  });
});

describe('retryBudget against an exact window (Finagle WindowedAdder: 10 slices of ttl / 10)', () => {
  // A grant never exceeds what the exact window allows (retries in the last 0.9 x ttl against calls in the last
  // ttl), and a refusal always has a reason in it (retries in the last ttl against calls in the last 0.9 x ttl).
  it('grants and refuses as the window between 0.9 x ttl and ttl allows, from any start', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 10, max: 5000 }),
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: -100_000, max: 100_000 }),
        fc.array(fc.tuple(fc.constantFrom('call', 'retry', 'wait'), fc.integer({ min: 0, max: 12_000 })), {
          maxLength: 300,
        }),
        (ttl, ratio, minPerSecond, start, ops) => {
          const clock = createFakeClock({ now: start });
          const budget = retryBudget({ ttl, ratio, minPerSecond, clock });
          const calls: number[] = [];
          const retries: number[] = [];
          const limit = (c: number): number => Math.floor(ratio * c + (minPerSecond * ttl) / 1000 + 1e-9);
          const since = (list: number[], t: number, span: number): number =>
            list.filter((x) => x > t - span).length;
          for (const [op, n] of ops) {
            const t = clock.now();
            if (op === 'wait') clock.advanceSync(n % (2 * ttl));
            else if (op === 'call') {
              budget.recordRequest();
              calls.push(t);
            } else if (budget.tryRetry()) {
              retries.push(t);
              expect(since(retries, t, 0.9 * ttl)).toBeLessThanOrEqual(limit(since(calls, t, ttl)));
            } else expect(since(retries, t, ttl) + 1).toBeGreaterThan(limit(since(calls, t, 0.9 * ttl)));
          }
        },
      ),
      { seed: 21, numRuns: 1000 },
    );
  });
});

describe('parseRetryAfter, as RFC 9110 §10.2.3 and §5.6.7 have it', () => {
  const now = Date.parse('2026-12-31T23:59:00Z');

  it('reads delay-seconds (1*DIGIT) and refuses signs, exponents and other digits', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('0000120', now)).toBe(120_000);
    for (const bad of ['-1', '+1', '1e3', '0x10', '１２', '120abc', '', '1,5', '12 0', '120, 120'])
      expect(parseRetryAfter(bad, now)).toBeUndefined();
  });

  it('reads the three HTTP-date forms alike', () => {
    expect(parseRetryAfter('Thu, 31 Dec 2026 23:59:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thursday, 31-Dec-26 23:59:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thu Dec 31 23:59:30 2026', now)).toBe(30_000);
  });

  // time-of-day = hour ":" minute ":" second ; 00:00:00 - 23:59:60 (leap second). V8's Date.parse reads a second of
  // 60 as 00 of the same minute (a minute early), and in the asctime form as a two-digit year (1960: at once).
  it('reads a leap second (23:59:60) in each form as the second after 23:59:59', () => {
    expect(parseRetryAfter('Thu, 31 Dec 2026 23:59:60 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Thursday, 31-Dec-26 23:59:60 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Thu Dec 31 23:59:60 2026', now)).toBe(60_000);
  });

  it("makes retry wait for a 503's leap-second Retry-After, not retry at once", async () => {
    const clock = createFakeClock({ now });
    const starts: number[] = [];
    const outcome = await run(
      retry(
        () => {
          starts.push(clock.now());
          return starts.length < 2
            ? new Response(null, { status: 503, headers: { 'retry-after': 'Thu Dec 31 23:59:60 2026' } })
            : new Response('ok');
        },
        { clock, retryOnResult: (res) => res.status === 503 },
      ),
      clock,
    );
    expect(outcome.ok).toBe(true);
    expect(starts).toEqual([now, now + 60_000]);
  });

  // Not in the grammar's range; counted on from the minute as the leap second is, as Date.parse counts on past a
  // month's last day. Before: a minute early, or (asctime) 1960, so no wait at all.
  it('counts a second past 60 on from its minute', () => {
    expect(parseRetryAfter('Thu, 31 Dec 2026 23:59:61 GMT', now)).toBe(61_000);
    expect(parseRetryAfter('Thursday, 31-Dec-26 23:59:99 GMT', now)).toBe(99_000);
    expect(parseRetryAfter('Thu Dec 31 23:59:75 2026', now)).toBe(75_000);
  });

  it('keeps every other second as it was, in each form', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), (minute, second) => {
        const time = `23:${String(minute).padStart(2, '0')}:${String(second).padStart(2, '0')}`;
        const expected = Math.max(0, (minute - 59) * 60_000 + second * 1000);
        expect(parseRetryAfter(`Thu, 31 Dec 2026 ${time} GMT`, now)).toBe(expected);
        expect(parseRetryAfter(`Thursday, 31-Dec-26 ${time} GMT`, now)).toBe(expected);
        expect(parseRetryAfter(`Thu Dec 31 ${time} 2026`, now)).toBe(expected);
      }),
      { seed: 21, numRuns: 200 },
    );
  });
});
