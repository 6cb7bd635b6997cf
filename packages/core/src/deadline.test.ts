import { getEventListeners } from 'node:events';
import { createDeadline, InvalidArgumentError, isIntegError, TimeoutError, timeLeft } from '@integ/core';
import { createFakeClock, trackedAbortController } from '@integ/testing';
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

  it('frees its timer and listener as soon as the caller aborts, without waiting for dispose()', () => {
    const clock = createFakeClock();
    const caller = trackedAbortController();
    const deadline = createDeadline(3_600_000, { clock, signal: caller.signal });
    expect(clock.pendingTimers).toBe(1);
    expect(caller.listeners).toBe(1);
    caller.abort(new Error('client disconnected'));
    expect(deadline.signal.aborted).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    expect(caller.listeners).toBe(0);
    // dispose() afterwards is still safe, twice, and leaves no listener anywhere.
    deadline.dispose();
    deadline.dispose();
    expect(clock.pendingTimers).toBe(0);
    expect(caller.listeners).toBe(0);
    expect(getEventListeners(deadline.signal, 'abort')).toHaveLength(0);
    expect(deadline.expired()).toBe(false);
    expect(deadline.remaining()).toBe(3_600_000);
  });

  it('frees its timer at once for a caller signal that is already aborted', () => {
    const clock = createFakeClock();
    const caller = trackedAbortController();
    caller.abort('gone');
    const deadline = createDeadline(500, { clock, signal: caller.signal });
    expect(deadline.signal.reason).toBe('gone');
    expect(clock.pendingTimers).toBe(0);
    expect(caller.listeners).toBe(0);
  });

  it('is expired and aborted with a TimeoutError the moment it is created with 0 ms, without a timer', () => {
    const clock = createFakeClock({ now: 1_000 });
    const caller = trackedAbortController();
    const deadline = createDeadline(0, { clock, signal: caller.signal, what: 'GET /users' });
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBeInstanceOf(TimeoutError);
    expect((deadline.signal.reason as TimeoutError).timeoutMs).toBe(0);
    expect((deadline.signal.reason as Error).message).toContain('GET /users timed out after 0 ms');
    expect(deadline.expired()).toBe(true);
    expect(deadline.remaining()).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    expect(caller.listeners).toBe(0);
    deadline.dispose();
    expect(deadline.signal.reason).toBeInstanceOf(TimeoutError);
  });

  it('is aborted at creation when the time is already up because ms is lost in the clock value', () => {
    // 1e-6 ms added to a 2023 timestamp rounds back to the same number: expiresAt === now.
    const clock = createFakeClock({ now: 1_700_000_000_000 });
    const deadline = createDeadline(1e-6, { clock });
    expect(deadline.expiresAt).toBe(clock.now());
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.expired()).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it("prefers the caller's reason over the TimeoutError when both hold at creation", () => {
    const clock = createFakeClock();
    const caller = new AbortController();
    caller.abort('gone');
    const deadline = createDeadline(0, { clock, signal: caller.signal });
    expect(deadline.signal.reason).toBe('gone');
    expect(deadline.expired()).toBe(true);
    expect(deadline.signal.reason).toBe('gone');
  });

  it('aborts its signal when expired() or remaining() finds the time up before the timer has fired', () => {
    // setNow moves time without firing timers: the moment a real timer is due but not yet run.
    const clock = createFakeClock();
    const deadline = createDeadline(100, { clock });
    const seen: unknown[] = [];
    deadline.signal.addEventListener('abort', () => seen.push(deadline.signal.reason));
    clock.setNow(100);
    expect(deadline.signal.aborted).toBe(false);
    expect(deadline.expired()).toBe(true);
    expect(deadline.signal.aborted).toBe(true);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(TimeoutError);
    expect(clock.pendingTimers).toBe(0);
    clock.advanceSync(1_000);
    expect(seen).toHaveLength(1);

    const other = createDeadline(100, { clock });
    clock.setNow(clock.now() + 250);
    expect(other.remaining()).toBe(0);
    expect(other.signal.aborted).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('stays expired once its TimeoutError fired, even if the clock then reads earlier', async () => {
    const clock = createFakeClock();
    const deadline = createDeadline(100, { clock });
    await clock.advance(100);
    expect(deadline.signal.aborted).toBe(true);
    clock.setNow(50); // a wall clock stepped back (NTP)
    expect(deadline.expired()).toBe(true);
    expect(deadline.remaining()).toBe(0);
  });

  it('times out when its timer fires even if the clock still reads a moment before expiresAt', () => {
    // Real timers and Date.now() run on different clocks: a timer may fire while now() < expiresAt.
    let now = 0;
    let fire: (() => void) | undefined;
    const clock = {
      now: () => now,
      setTimeout: (callback: () => void) => {
        fire = callback;
        return 1;
      },
      clearTimeout: () => {},
    };
    const deadline = createDeadline(100, { clock });
    now = 99;
    fire?.();
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBeInstanceOf(TimeoutError);
    expect(deadline.expired()).toBe(true);
    expect(deadline.remaining()).toBe(0);
  });

  it('never aborts after dispose(), even when read past its time', () => {
    const clock = createFakeClock();
    const deadline = createDeadline(100, { clock });
    deadline.dispose();
    clock.setNow(500);
    expect(deadline.expired()).toBe(true);
    expect(deadline.remaining()).toBe(0);
    expect(deadline.signal.aborted).toBe(false);
  });

  it('dispose() frees the timer', () => {
    const clock = createFakeClock();
    const deadline = createDeadline(500, { clock });
    expect(clock.pendingTimers).toBe(1);
    deadline.dispose();
    expect(clock.pendingTimers).toBe(0);
  });

  it("throws the clock's error and leaves no listener on the caller's signal when the clock cannot set a timer", () => {
    // window.setTimeout passed as a clock method throws 'Illegal invocation' in a browser.
    const illegal = new TypeError('Illegal invocation');
    const clock = {
      now: () => 0,
      setTimeout: (): never => {
        throw illegal;
      },
      clearTimeout: () => {},
    };
    const caller = trackedAbortController();
    expect(() => createDeadline(500, { clock, signal: caller.signal })).toThrow(illegal);
    expect(caller.listeners).toBe(0);
  });

  it('schedules no timer for an infinite deadline', () => {
    const clock = createFakeClock();
    const deadline = createDeadline(Number.POSITIVE_INFINITY, { clock });
    expect(clock.pendingTimers).toBe(0);
    expect(deadline.remaining()).toBe(Number.POSITIVE_INFINITY);
    expect(deadline.expired()).toBe(false);
  });

  it('rejects a duration that is not a number of ms from 0 to 2^31-1 or Infinity with an InvalidArgumentError', () => {
    const clock = createFakeClock();
    const bad: unknown[] = [
      -1,
      -0.5,
      Number.NaN,
      Number.NEGATIVE_INFINITY,
      2 ** 31,
      '100',
      undefined,
      null,
      {},
    ];
    for (const ms of bad) {
      let error: unknown;
      try {
        createDeadline(ms as number, { clock });
      } catch (caught) {
        error = caught;
      }
      expect(error, String(ms)).toBeInstanceOf(InvalidArgumentError);
      expect(isIntegError(error, 'ERR_INVALID_ARGUMENT')).toBe(true);
      expect((error as InvalidArgumentError).argument).toBe('createDeadline(ms)');
      expect((error as Error).message).toMatch(
        /^Invalid createDeadline\(ms\): expected a number of ms from 0 to/,
      );
    }
    expect(() => createDeadline('100' as unknown as number)).toThrow('received a string');
    expect(clock.pendingTimers).toBe(0);
    for (const ms of [0, 0.5, 2 ** 31 - 1, Number.POSITIVE_INFINITY]) createDeadline(ms, { clock }).dispose();
    expect(clock.pendingTimers).toBe(0);
  });

  it('property: remaining() + elapsed == ms until expiry, never negative, and expired() and signal agree from creation', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1e9 })),
        fc.array(fc.integer({ min: 0, max: 1e8 }), { maxLength: 10 }),
        (ms, steps) => {
          const clock = createFakeClock({ now: 42 });
          const deadline = createDeadline(ms, { clock });
          expect(deadline.remaining()).toBe(ms);
          expect(deadline.signal.aborted).toBe(ms === 0);
          expect(deadline.expired()).toBe(ms === 0);
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
