import { createDeadline, isIntegError, TimeoutError, timeLeft } from '@integ/core';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('createDeadline', () => {
  it('aborts its signal with a TimeoutError when time runs out', async () => {
    const clock = createFakeClock();
    const deadline = createDeadline(500, { clock, what: 'GET /users' });
    expect(deadline.signal.aborted).toBe(false);
    await clock.advance(500);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBeInstanceOf(TimeoutError);
    expect(isIntegError(deadline.signal.reason, 'ERR_TIMEOUT')).toBe(true);
    expect((deadline.signal.reason as Error).message).toContain('GET /users timed out after 500 ms');
    deadline.dispose();
  });

  it("aborts with the caller's reason when the caller aborts first", () => {
    const clock = createFakeClock();
    const caller = new AbortController();
    const deadline = createDeadline(500, { clock, signal: caller.signal });
    caller.abort('user cancelled');
    expect(deadline.signal.reason).toBe('user cancelled');
    deadline.dispose();
    expect(clock.pendingTimers).toBe(0);
  });

  it('dispose() frees the timer', () => {
    const clock = createFakeClock();
    const deadline = createDeadline(500, { clock });
    expect(clock.pendingTimers).toBe(1);
    deadline.dispose();
    expect(clock.pendingTimers).toBe(0);
  });

  it('schedules no timer for an infinite deadline', () => {
    const clock = createFakeClock();
    const deadline = createDeadline(Number.POSITIVE_INFINITY, { clock });
    expect(clock.pendingTimers).toBe(0);
    expect(deadline.remaining()).toBe(Number.POSITIVE_INFINITY);
    expect(deadline.expired()).toBe(false);
  });

  it('rejects a negative or NaN duration with a message that says what to pass', () => {
    expect(() => createDeadline(-1)).toThrow(/expected milliseconds >= 0/);
    expect(() => createDeadline(Number.NaN)).toThrow(TypeError);
  });

  it('property: remaining() + elapsed == ms until expiry, and never negative', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e9 }),
        fc.array(fc.integer({ min: 0, max: 1e8 }), { maxLength: 10 }),
        (ms, steps) => {
          const clock = createFakeClock({ now: 42 });
          const deadline = createDeadline(ms, { clock });
          let elapsed = 0;
          for (const step of steps) {
            clock.advanceSync(step);
            elapsed += step;
            expect(deadline.remaining()).toBe(Math.max(0, ms - elapsed));
            expect(deadline.expired()).toBe(elapsed >= ms);
            expect(deadline.signal.aborted).toBe(elapsed >= ms);
            expect(timeLeft(deadline.expiresAt, clock)).toBe(deadline.remaining());
          }
          deadline.dispose();
          expect(clock.pendingTimers).toBe(0);
        },
      ),
    );
  });
});
