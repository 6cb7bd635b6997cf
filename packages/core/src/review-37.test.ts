/**
 * Review round 37: triage of StrykerJS's surviving mutants of @integ/core (run at 965fde0, core's own project).
 * These pin what the TSDoc of each export promises and only other packages' tests held, if any: the optional
 * arguments really are optional, `isAbortError` does not take any error for an abort once a signal has aborted,
 * `null` is no abort and no IntegError, an IntegError built without a cause has no `cause` property, the default
 * label of a TimeoutError, the AbortError made for a signal that keeps no reason, `unrefTimer` on every handle
 * shape, and a deadline without a timer never calls `clearTimeout`.
 */
import {
  abortReason,
  type Clock,
  createDeadline,
  IntegError,
  isAbortError,
  isIntegError,
  sleep,
  TimeoutError,
  throwIfAborted,
  timeLeft,
  unrefTimer,
} from '@integ/core';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

describe('optional arguments are optional', () => {
  it('sleep(ms) without options resolves on the system clock', async () => {
    await expect(sleep(0)).resolves.toBeUndefined();
  });

  it('createDeadline(ms) without options runs on the system clock and labels its TimeoutError "Operation"', () => {
    const deadline = createDeadline(0);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBeInstanceOf(TimeoutError);
    expect((deadline.signal.reason as Error).message).toMatch(/^Operation timed out after 0 ms/);
    const live = createDeadline(60_000);
    expect(live.remaining()).toBeGreaterThan(0);
    live.dispose();
  });

  it('throwIfAborted(undefined) and a signal not aborted do not throw', () => {
    expect(() => throwIfAborted(undefined)).not.toThrow();
    expect(() => throwIfAborted(new AbortController().signal)).not.toThrow();
  });

  it('timeLeft(undefined) is Infinity: no deadline', () => {
    expect(timeLeft(undefined)).toBe(Number.POSITIVE_INFINITY);
    expect(timeLeft(undefined, createFakeClock())).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('isAbortError', () => {
  it('an aborted signal makes its own reason an abort, not every error', () => {
    const controller = new AbortController();
    const reason = new Error('the caller left');
    controller.abort(reason);
    expect(isAbortError(reason, controller.signal)).toBe(true);
    expect(isAbortError(new Error('boom'), controller.signal)).toBe(false);
  });

  it('null, undefined, strings and a class named AbortError are no abort; an instance is', () => {
    class AbortError extends Error {
      override name = 'AbortError';
    }
    expect(isAbortError(null)).toBe(false);
    expect(isAbortError(undefined)).toBe(false);
    expect(isAbortError('AbortError')).toBe(false);
    expect(isAbortError(AbortError)).toBe(false);
    expect(isAbortError(new AbortError())).toBe(true);
    expect(isAbortError(new DOMException('stop', 'AbortError'))).toBe(true);
  });
});

describe('errors', () => {
  it('an IntegError built without a cause has no cause property; with one it has', () => {
    const plain = new IntegError('ERR_X', 'no cause');
    expect(Object.hasOwn(plain, 'cause')).toBe(false);
    expect('cause' in plain).toBe(false);
    const root = new Error('root');
    expect(new IntegError('ERR_X', 'caused', { cause: root }).cause).toBe(root);
  });

  it('a TimeoutError without a label says "Operation"', () => {
    expect(new TimeoutError(250).message).toBe(
      'Operation timed out after 250 ms; allow more time or make it faster',
    );
  });

  it('isIntegError takes objects only: a function carrying the brand is none', () => {
    const branded = Object.assign(() => {}, { '@@integ/error': true, code: 'ERR_X' });
    expect(isIntegError(branded)).toBe(false);
    expect(isIntegError(null)).toBe(false);
    expect(isIntegError(new IntegError('ERR_X', 'x'))).toBe(true);
  });
});

describe('abortReason', () => {
  it('a signal that keeps no reason (an old runtime) gives a DOMException AbortError with the standard message', () => {
    const reason = abortReason({ aborted: true, reason: undefined } as AbortSignal) as DOMException;
    expect(reason).toBeInstanceOf(DOMException);
    expect(reason.name).toBe('AbortError');
    expect(reason.message).toBe('This operation was aborted');
  });
});

describe('unrefTimer', () => {
  it('unrefs a Node timer, so it no longer holds the process', () => {
    const handle = setTimeout(() => {}, 60_000);
    try {
      expect(handle.hasRef()).toBe(true);
      unrefTimer(handle);
      expect(handle.hasRef()).toBe(false);
    } finally {
      clearTimeout(handle);
    }
  });

  it('leaves alone a handle without unref: a number, null, undefined, a plain object', () => {
    for (const handle of [7, null, undefined, {}]) expect(() => unrefTimer(handle as never)).not.toThrow();
  });
});

describe('createDeadline', () => {
  it('a deadline without a timer (Infinity, or already expired) never calls clearTimeout on dispose', () => {
    const fake = createFakeClock();
    const cleared: unknown[] = [];
    const clock: Clock = {
      now: () => fake.now(),
      setTimeout: (fn, ms) => fake.setTimeout(fn, ms),
      clearTimeout: (handle) => {
        // A clock that throws on a handle it does not know (review 31's): undefined is one.
        if (handle === undefined) throw new Error('clearTimeout(undefined)');
        cleared.push(handle);
        fake.clearTimeout(handle);
      },
    };
    const forever = createDeadline(Number.POSITIVE_INFINITY, { clock });
    expect(() => forever.dispose()).not.toThrow();
    const expired = createDeadline(0, { clock });
    expect(() => expired.dispose()).not.toThrow();
    const timed = createDeadline(100, { clock });
    timed.dispose();
    expect(cleared).toHaveLength(1);
  });
});
