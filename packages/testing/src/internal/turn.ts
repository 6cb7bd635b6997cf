/**
 * One macrotask turn that fake timers cannot hold. vi.useFakeTimers(), jest.useFakeTimers() and node:test's
 * mock.timers replace the global setImmediate and setTimeout with ones that wait for their fake clock: a turn taken on
 * those would never come, and drain(), settledValue(), the fake clock's advance() and
 * trackUnhandledRejections().settled() would hang. So a turn takes the global timer when it is real, else the real one
 * behind the fake (@sinonjs/fake-timers keeps it), else the one of when @integ/testing loaded.
 */

type Schedule = (callback: () => void, ms?: number) => unknown;
type Name = 'setImmediate' | 'setTimeout';

const loaded = { setImmediate: globalThis.setImmediate, setTimeout: globalThis.setTimeout } as Record<
  Name,
  unknown
>;

// @sinonjs/fake-timers (behind vitest's and Jest's modern fake timers) marks each function it installs with its
// `clock`; node:test's mock.timers installs its private methods bound (`bound #setImmediate`). Jest's legacy fakes
// pass setImmediate on to the real one, so they need no telling.
const clockOf = (timer: unknown): Record<string, unknown> | undefined =>
  (timer as { clock?: Record<string, unknown> }).clock;
const fake = (timer: Schedule): boolean => clockOf(timer) !== undefined || timer.name.startsWith('bound #');

/**
 * The real timer `timer` is or stands for: a @sinonjs/fake-timers clock keeps the one it replaced as `_<name>`, to put
 * back on uninstall (a fake over a fake is followed down). undefined for a fake whose real timer is out of reach.
 */
const unwrap = (timer: unknown, name: Name): Schedule | undefined => {
  for (let depth = 0; depth < 8 && typeof timer === 'function'; depth++) {
    if (!fake(timer as Schedule)) return timer as Schedule;
    timer = clockOf(timer)?.[`_${name}`];
  }
  return undefined;
};

const pick = (name: Name): Schedule | undefined =>
  unwrap(globalThis[name], name) ?? unwrap(loaded[name], name);

/**
 * Resolves after one macrotask turn: every promise callback, queueMicrotask and process.nextTick callback queued
 * before it (and the ones those queue) has run by then. Browsers have no setImmediate: a 0 ms timer is a macrotask too.
 *
 * @throws {Error} (rejects) when the timers are faked, already were when this module loaded, and the fake keeps no
 * handle on the real one (node:test's mock.timers)
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
            "setImmediate is faked (node:test's mock.timers, or fake timers that keep no handle on the real one) and " +
              'already was when @integ/testing loaded: a turn on it would wait for the fake clock for ever. Import ' +
              '@integ/testing before faking the timers, or leave setImmediate real (apis in mock.timers.enable()).',
          ),
        );
    }
  });
}
