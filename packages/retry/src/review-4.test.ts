/**
 * Fourth review against the issue: feature interactions, the budget on any clock, withRetry's types, the CJS build.
 */
import { constant, decorrelated, RetryError, retry, retryBudget } from '@integ/retry';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('retryBudget on a clock that reads negative or a large epoch', () => {
  it('forgets retries spent at negative clock times once the window has passed (they were kept for good)', () => {
    const clock = createFakeClock({ now: -5_000 });
    const budget = retryBudget({ ratio: 0, minPerSecond: 1, ttl: 10_000, clock });
    let granted = 0;
    while (budget.tryRetry()) granted++;
    expect(granted).toBe(10);
    clock.advanceSync(10_000); // now 5 000: the spent retries are 10 s old
    expect(budget.available()).toBe(10);
    clock.advanceSync(100_000);
    expect(budget.available()).toBe(10);
  });

  it('property: the same calls, retries and steps give the same answers whatever the clock reads at the start', () => {
    const op = fc.oneof(
      fc.constant({ kind: 'call' as const }),
      fc.constant({ kind: 'retry' as const }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 3_000 }) }),
    );
    fc.assert(
      fc.property(
        // Whole windows away from 0, so the buckets line up the same: negative, around 0, a large epoch.
        fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constant(1_800_000_000)),
        fc.array(op, { maxLength: 40 }),
        (windows, ops) => {
          const answers = (start: number): unknown[] => {
            const clock = createFakeClock({ now: start });
            const budget = retryBudget({ ratio: 0.5, minPerSecond: 1, ttl: 2_000, clock });
            return ops.map((o) => {
              if (o.kind === 'call') return budget.recordRequest();
              if (o.kind === 'retry') return budget.tryRetry();
              clock.advanceSync(o.ms);
              return budget.available();
            });
          };
          expect(answers(windows * 2_000)).toEqual(answers(0));
        },
      ),
      { seed: 171, numRuns: 300 },
    );
  });
});

describe('a caller that aborts a call retrying with no wait', () => {
  // A macrotask: what an abort from a timer, a socket or a UI event needs to run at all.
  const macrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it.each([
    ['throws', () => new Error('busy')],
    ['rejects', () => Promise.reject(new Error('busy'))],
  ] as const)(
    'stops it when fn %s at once (attempts: Infinity, constant(0)): the loop gives the event loop a turn',
    async (_, fail) => {
      const clock = createFakeClock();
      const controller = new AbortController();
      let calls = 0;
      const outcome = retry(
        () => {
          // Bounds the test: before the fix the loop never let the abort below run, and this value ended it.
          if (++calls === 1_000) return 'spun 1000 times without letting the caller abort';
          const failure = fail();
          if (failure instanceof Error) throw failure;
          return failure;
        },
        { attempts: Infinity, backoff: constant(0), signal: controller.signal, clock },
      ).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      await macrotask();
      const reason = new Error('caller left');
      controller.abort(reason);
      expect(await outcome).toEqual({ error: reason });
      // From the 64th attempt on, a wait of 0 gives the event loop a turn (earlier ones take no timer, see below).
      expect(calls).toBe(64);
      expect(clock.pendingTimers).toBe(0);
    },
  );
  it('with a deadline and no signal, the loop also gives the event loop a turn while it retries', async () => {
    // The system clock: a fake one runs 0 ms timers at the same instant, so its time would never reach the
    // deadline. Other macrotasks (here a setImmediate chain) must run while retry waits for its deadline.
    let calls = 0;
    let turns = 0;
    let settled = false;
    const tick = (): void => {
      if (settled) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const outcome = await retry(
      () => {
        // Bounds the test: before the fix nothing yielded, and this value ended the call long before 100 ms.
        if (++calls === 5_000) return 'spun 5000 times without a turn for anyone else';
        throw new Error('busy');
      },
      { attempts: Infinity, backoff: constant(0), deadline: 100 },
    ).then(
      (value) => ({ value }),
      (error: unknown) => ({ reason: (error as RetryError).reason }),
    );
    settled = true;
    expect(outcome).toEqual({ reason: 'deadline' });
    expect(turns).toBeGreaterThan(1);
  });

  it('a short zero-wait retry with a signal needs no clock advance (a fake clock nobody moves)', async () => {
    const clock = createFakeClock();
    let calls = 0;
    const value = await retry(
      () => {
        if (++calls < 5) throw new Error('busy');
        return 'done';
      },
      { attempts: 5, backoff: constant(0), signal: new AbortController().signal, clock },
    );
    expect([value, calls, clock.pendingTimers]).toEqual(['done', 5, 0]);
  });
});

describe('attempts: Infinity and a budget (README: a budget limits how often, not for how long)', () => {
  it('a lone call retrying slower than the reserve refills is not stopped by the budget; its signal stops it', async () => {
    const clock = createFakeClock();
    const budget = retryBudget({ clock, ratio: 0, minPerSecond: 1, ttl: 10_000 }); // 10 retries per 10 s
    const controller = new AbortController();
    let calls = 0;
    const outcome = retry(
      () => {
        calls++;
        throw new Error('down');
      },
      { attempts: Infinity, backoff: constant(2_000), budget, clock, signal: controller.signal },
    ).catch((error: unknown) => error);
    await clock.advance(3_600_000);
    expect(calls).toBe(1_801);
    controller.abort('enough');
    expect(await outcome).toBe('enough');
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('checked and found as documented (regression guards)', () => {
  it('one decorrelated() backoff shared by two concurrent calls: each call draws from its own previous delay', async () => {
    const clock = createFakeClock();
    const backoff = decorrelated({ initial: 100, max: 100_000 });
    const waits: number[][] = [[], []];
    const calls = waits.map((seen) =>
      retry(
        () => {
          throw new Error('down');
        },
        { clock, backoff, attempts: 4, random: () => 0.5, onRetry: ({ delay }) => seen.push(delay) },
      ).catch(() => {}),
    );
    await clock.runAll();
    await Promise.all(calls);
    // AWS: sleep = min(cap, random_between(base, sleep * 3)), seeded with base: 100 + 0.5 x (3 x previous - 100).
    expect(waits).toEqual([
      [200, 350, 575],
      [200, 350, 575],
    ]);
  });

  it('a Retry-After past the time left gives up at once with reason deadline, spending no budget and no wait', async () => {
    const clock = createFakeClock();
    const budget = retryBudget({ clock, ratio: 0, minPerSecond: 1, ttl: 1_000 });
    let calls = 0;
    const error = await retry(
      () => {
        calls++;
        throw Object.assign(new Error('busy'), { retryAfterMs: 5_000 });
      },
      { clock, budget, deadline: 3_000, timeout: 100, attempts: Infinity },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryError);
    expect((error as RetryError).reason).toBe('deadline');
    expect(calls).toBe(1);
    expect(clock.now()).toBe(0);
    expect(budget.available()).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });
});
