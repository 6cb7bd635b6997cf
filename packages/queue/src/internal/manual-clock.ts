/**
 * A tiny manual clock for the conformance kit. @integ/testing has the full fake clock, but the kit is
 * published inside @integ/queue, which must not depend on the testing package; this one only needs
 * `advance` with a generous flush, because store commits (SQLite's group commit) settle on the event
 * loop between timers.
 */
import type { Clock, TimerHandle } from '@integ/core';

export interface ManualClock extends Clock {
  advance(ms: number): Promise<void>;
  /** When the earliest timer set is due, or undefined when none is. */
  next(): number | undefined;
}

// The kit runs on its own clock, so the runner's fake timers (vi.useFakeTimers(), jest.useFakeTimers(), node:test's
// mock.timers) must not hold its event-loop turns or its store-call timeouts: it takes the real timers (decision
// 0219; @integ/testing's internal/turn.ts does the same, and the queue must not depend on it). The global when it is
// not a fake, else the real one @sinonjs/fake-timers (vitest's, Jest's) keeps on its clock as `_<name>` to put back on
// uninstall, else the one of when this module loaded. @sinonjs/fake-timers marks what it installs with its `clock`;
// node:test installs bound private methods (`bound #setImmediate`); Jest's legacy fakes pass setImmediate on to the
// real one.
type TimerName = 'setImmediate' | 'setTimeout' | 'clearTimeout';
const loadedTimers: Record<TimerName, unknown> = {
  setImmediate: globalThis.setImmediate,
  setTimeout: globalThis.setTimeout,
  clearTimeout: globalThis.clearTimeout,
};
const clockOf = (timer: unknown): Record<string, unknown> | undefined =>
  (timer as { clock?: Record<string, unknown> }).clock;
const unwrap = (timer: unknown, name: TimerName): unknown => {
  for (let depth = 0; depth < 8 && typeof timer === 'function'; depth++) {
    if (clockOf(timer) === undefined && !(timer as () => void).name.startsWith('bound #')) return timer;
    timer = clockOf(timer)?.[`_${name}`];
  }
  return undefined;
};
/** The real `name` timer, or undefined when it is faked out of reach (node:test's mock.timers enabled before load). */
export const realTimer = (name: TimerName): unknown =>
  unwrap(globalThis[name], name) ?? unwrap(loadedTimers[name], name);

/** Lets the event loop run `n` times (promise callbacks and setImmediate work in between), on the real timers. */
export async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++)
    await new Promise<void>((resolve, reject) => {
      const immediate = realTimer('setImmediate') as ((fn: () => void) => unknown) | undefined;
      const timeout = realTimer('setTimeout') as ((fn: () => void, ms: number) => unknown) | undefined;
      if (immediate !== undefined) immediate(resolve);
      else if (timeout !== undefined) timeout(resolve, 0);
      else
        reject(
          new Error(
            "conformance: setImmediate is faked (node:test's mock.timers, or fake timers that keep no handle on the " +
              'real one) and already was when @integ/queue/testing loaded: the kit needs real event-loop turns. ' +
              'Import it before faking the timers, or leave setImmediate real.',
          ),
        );
    });
}

/**
 * `flush` runs before, between and after the timers `advance` fires. The kit passes one that waits for store calls in
 * flight and then a few event-loop turns, so a store answering over a network keeps up.
 */
export function manualClock(start: number, flush: () => Promise<void>): ManualClock {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, { at: number; id: number; fn: () => void }>();
  const due = (until: number): { at: number; id: number; fn: () => void } | undefined => {
    let first: { at: number; id: number; fn: () => void } | undefined;
    // A Map iterates in insertion order, which is id order: a strict `<` keeps the first set of timers due at once.
    for (const t of timers.values()) if (t.at <= until && (first === undefined || t.at < first.at)) first = t;
    return first;
  };
  return {
    now: () => now,
    setTimeout(fn: () => void, ms: number): TimerHandle {
      const id = nextId++;
      timers.set(id, { id, at: now + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(handle: TimerHandle): void {
      timers.delete(handle as number);
    },
    next: () => due(Number.POSITIVE_INFINITY)?.at,
    async advance(ms: number): Promise<void> {
      const until = now + ms;
      await flush();
      for (let t = due(until); t !== undefined; t = due(until)) {
        timers.delete(t.id);
        now = Math.max(now, t.at);
        t.fn();
        await flush();
      }
      now = until;
      await flush();
    },
  };
}
