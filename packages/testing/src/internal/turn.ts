/**
 * One macrotask turn that fake timers cannot hold. vi.useFakeTimers() and jest.useFakeTimers() replace the global
 * setImmediate and setTimeout with ones that wait for their fake clock: a turn taken on those would never come, and
 * drain(), settledValue(), the fake clock's advance() and trackUnhandledRejections().settled() would hang. So a turn
 * takes the global timer when it is real, else the one of when @integ/testing loaded.
 */

type Schedule = (callback: () => void, ms?: number) => unknown;
type Name = 'setImmediate' | 'setTimeout';

const loaded = { setImmediate: globalThis.setImmediate, setTimeout: globalThis.setTimeout } as Record<
  Name,
  unknown
>;

// @sinonjs/fake-timers (behind vitest's and Jest's fake timers) marks each function it installs with its `clock`.
const real = (timer: unknown): timer is Schedule =>
  typeof timer === 'function' && (timer as { clock?: unknown }).clock === undefined;

const pick = (name: Name): Schedule | undefined => {
  const now: unknown = globalThis[name];
  return real(now) ? now : real(loaded[name]) ? loaded[name] : undefined;
};

/**
 * Resolves after one macrotask turn: every promise callback, queueMicrotask and process.nextTick callback queued
 * before it (and the ones those queue) has run by then. Browsers have no setImmediate: a 0 ms timer is a macrotask too.
 *
 * @throws {Error} (rejects) when the timers are faked and already were when this module loaded
 */
export function turn(): Promise<void> {
  return new Promise((resolve, reject) => {
    const immediate = pick('setImmediate');
    if (immediate) immediate(resolve);
    else {
      const timeout = pick('setTimeout');
      if (timeout) timeout(resolve, 0);
      else
        reject(
          new Error(
            'setImmediate is faked (vi.useFakeTimers(), jest.useFakeTimers()) and already was when @integ/testing ' +
              'loaded: a turn on it would wait for the fake clock for ever. Import @integ/testing before faking the ' +
              'timers, or leave setImmediate real (toFake in vitest, doNotFake in Jest).',
          ),
        );
    }
  });
}
