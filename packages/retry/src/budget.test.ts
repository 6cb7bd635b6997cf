import { InvalidArgumentError } from '@integ/core';
import { retry, retryBudget } from '@integ/retry';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';

describe('retryBudget', () => {
  it('allows the reserve (minPerSecond x ttl seconds) with no traffic at all', () => {
    const clock = createFakeClock();
    const budget = retryBudget({ ratio: 0.2, minPerSecond: 2, ttl: 5000, clock });
    expect(budget.available()).toBe(10);
    let granted = 0;
    while (budget.tryRetry()) granted++;
    expect(granted).toBe(10);
    expect(budget.available()).toBe(0);
  });

  it('adds ratio x calls on top of the reserve', () => {
    const clock = createFakeClock();
    const budget = retryBudget({ ratio: 0.1, minPerSecond: 0, clock });
    for (let i = 0; i < 100; i++) budget.recordRequest();
    let granted = 0;
    while (budget.tryRetry()) granted++;
    expect(granted).toBe(10);
  });

  it('uses ratio 0.2, 10/s and a 10 s window by default', () => {
    const clock = createFakeClock();
    const budget = retryBudget({ clock });
    expect(budget.available()).toBe(100);
    for (let i = 0; i < 50; i++) budget.recordRequest();
    expect(budget.available()).toBe(110);
  });

  it('forgets calls and retries older than the window', () => {
    const clock = createFakeClock();
    const budget = retryBudget({ ratio: 1, minPerSecond: 0, ttl: 1000, clock });
    for (let i = 0; i < 5; i++) budget.recordRequest();
    for (let i = 0; i < 5; i++) expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
    clock.advanceSync(1000);
    expect(budget.available()).toBe(0);
    budget.recordRequest();
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
  });

  it('ignores a clock that goes backwards', () => {
    const clock = createFakeClock({ now: 50_000 });
    const budget = retryBudget({ ratio: 0, minPerSecond: 1, ttl: 1000, clock });
    expect(budget.tryRetry()).toBe(true);
    clock.setNow(10_000);
    expect(budget.tryRetry()).toBe(false);
  });

  it.each([
    [{ ratio: -1 }],
    [{ ratio: Number.NaN }],
    [{ minPerSecond: -1 }],
    [{ ttl: 0 }],
    [{ ttl: Number.POSITIVE_INFINITY }],
  ])('rejects %j with InvalidArgumentError', (options) => {
    expect(() => retryBudget(options)).toThrow(InvalidArgumentError);
  });

  it('property: with a frozen clock, retries never exceed ratio x calls + minimum', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.integer({ min: 0, max: 20 }),
        fc.array(fc.boolean(), { maxLength: 300 }),
        (ratio, minPerSecond, ops) => {
          const clock = createFakeClock({ now: 123_456 });
          const budget = retryBudget({ ratio, minPerSecond, ttl: 1000, clock });
          let calls = 0;
          let retries = 0;
          for (const isCall of ops) {
            if (isCall) {
              budget.recordRequest();
              calls++;
            } else if (budget.tryRetry()) retries++;
            expect(retries).toBeLessThanOrEqual(ratio * calls + minPerSecond + 1e-6);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: over time, retries in any window never exceed ratio x calls in it + minimum', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 700 })), { maxLength: 300 }),
        (ratio, minPerSecond, ops) => {
          const ttl = 2000;
          const width = ttl / 10;
          const clock = createFakeClock();
          const budget = retryBudget({ ratio, minPerSecond, ttl, clock });
          const calls: number[] = [];
          const retries: number[] = [];
          for (const [isCall, wait] of ops) {
            clock.advanceSync(wait);
            const now = clock.now();
            if (isCall) {
              budget.recordRequest();
              calls.push(now);
            } else if (budget.tryRetry()) {
              retries.push(now);
              // The budget counts whole buckets: it remembers at least the last ttl - width ms and at most ttl ms.
              const recentRetries = retries.filter((t) => t > now - ttl + width).length;
              const windowCalls = calls.filter((t) => t > now - ttl).length;
              expect(recentRetries).toBeLessThanOrEqual(
                ratio * windowCalls + (minPerSecond * ttl) / 1000 + 1e-6,
              );
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('retryBudget and retry() clocks (README: pass the same clock to both)', () => {
  it("a budget made without a clock reads the system clock, not retry()'s fake one; given the same clock, it refills", async () => {
    // The system clock frozen, so the test does not depend on how long it runs.
    const now = vi.spyOn(Date, 'now').mockReturnValue(1e12);
    try {
      for (const shared of [false, true]) {
        const clock = createFakeClock({ now: 1e12 });
        // One retry per 1 s window, no traffic allowance.
        const budget = retryBudget({ ratio: 0, minPerSecond: 1, ttl: 1000, ...(shared && { clock }) });
        const fail = () => Promise.reject(new Error('ECONNRESET'));
        const options = { clock, budget, attempts: 2, backoff: () => 0 };
        const first = retry(fail, options).catch((e: unknown) => e);
        await clock.runAll();
        expect(await first).toMatchObject({ reason: 'attempts' }); // the one retry was granted
        await clock.advance(2000); // past the window, on the fake clock only
        const second = retry(fail, options).catch((e: unknown) => e);
        await clock.runAll();
        expect(await second).toMatchObject({ reason: shared ? 'attempts' : 'budget' });
      }
    } finally {
      now.mockRestore();
    }
  });
});
