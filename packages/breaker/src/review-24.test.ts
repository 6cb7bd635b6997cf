/**
 * Review round 24: re-entrancy and throwing user code at every callback point (angle A), long runs (B) and
 * secrets (C). Found by a fast-check fuzz of hooks that call back into the breaker (reset(), isolate(),
 * execute(), snapshot()): an `openFor` backoff, or a failure's `retryAfterMs` getter, that calls reset() or
 * isolate() while the breaker trips was overruled by the trip that called it.
 */
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';
import { type Breaker, createBreaker } from '../src/index';

const down = new Error('down');
const fail = (): Promise<never> => Promise.reject(down);

describe('a transition made by openFor, or by a failure hint, while the breaker trips', () => {
  it.each(['openFor', 'retryAfterMs'])(
    'reset() from %s leaves the breaker closed, as reset() says',
    async (where) => {
      const clock = createFakeClock();
      const seen: string[] = [];
      let b!: Breaker;
      const resetting = () => {
        b.reset();
        return 100;
      };
      b = createBreaker({
        clock,
        failureThreshold: 1,
        ...(where === 'openFor' && { openFor: resetting }),
        onStateChange: (to, from) => seen.push(`${from}>${to}`),
      });
      const error = Object.defineProperty(new Error('down'), 'retryAfterMs', { get: resetting });
      await b.tryExecute(() => Promise.reject(where === 'openFor' ? down : error));
      // It was open with trips 0 (and its timer armed), though reset() was the last thing called.
      expect(b.snapshot()).toMatchObject({ state: 'closed', trips: 0 });
      expect(clock.pendingTimers).toBe(0);
      expect(seen).toEqual([]);
    },
  );

  it('isolate() from openFor leaves it isolated with the trips it had, and its release closes it', async () => {
    const clock = createFakeClock();
    let release!: () => void;
    const b: Breaker = createBreaker({
      clock,
      failureThreshold: 1,
      openFor: () => {
        release = b.isolate();
        return 100;
      },
    });
    await b.tryExecute(fail);
    expect(b.snapshot()).toMatchObject({ state: 'open', isolated: true, trips: 0 });
    release();
    expect(b.state).toBe('closed');
  });
});
