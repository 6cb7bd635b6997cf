/**
 * Review round 25: a cross-review of round 24's fix 840ab37 (a trip asks openFor(trips + 1) and reads the failure's
 * retryAfterMs first, then re-checks its generation: a reset() or isolate() made from inside them stands), attacked
 * with the other user code that runs inside a trip. A custom window's record() or a retryAfterMs getter that calls
 * reset() or isolate() (and gives no hint) left the state right, but openFor was still asked for the trip that was
 * then not made: a backoff that counts or logs its trips saw a phantom one.
 */

import { createFakeClock } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';
import { type Breaker, type BreakerWindow, createBreaker } from '../src/index';

const down = new Error('down');
const fail = (): Promise<never> => Promise.reject(down);

describe('user code inside a trip that makes a transition (reset(), isolate())', () => {
  it('a custom window whose record() calls reset() and answers true: closed, and openFor not asked', async () => {
    const clock = createFakeClock();
    const openFor = vi.fn((trip: number) => 100 * trip);
    const seen: string[] = [];
    let b!: Breaker;
    const win = (): BreakerWindow => ({
      record: () => {
        b.reset();
        return true;
      },
      counts: () => ({ calls: 0, failures: 0, slowCalls: 0 }),
      clear: () => {},
    });
    b = createBreaker({
      clock,
      window: win,
      openFor,
      onStateChange: (to, from) => seen.push(`${from}>${to}`),
    });
    await b.tryExecute(fail);
    expect(b.snapshot()).toMatchObject({ state: 'closed', trips: 0 });
    expect(clock.pendingTimers).toBe(0);
    expect(seen).toEqual([]);
    expect(openFor).not.toHaveBeenCalled();
  });

  it.each(['reset', 'isolate'])(
    'a retryAfterMs getter that calls %s() and gives no hint: openFor is not asked for the trip that does not happen',
    async (what) => {
      const clock = createFakeClock();
      const openFor = vi.fn((trip: number) => 100 * trip);
      let b!: Breaker;
      b = createBreaker({ clock, failureThreshold: 1, openFor });
      const error = Object.defineProperty(new Error('down'), 'retryAfterMs', {
        get: () => void (what === 'reset' ? b.reset() : b.isolate()),
      });
      await b.tryExecute(() => Promise.reject(error));
      expect(b.snapshot()).toMatchObject({ trips: 0, isolated: what === 'isolate' });
      expect(openFor).not.toHaveBeenCalled();
    },
  );
});
