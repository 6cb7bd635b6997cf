/**
 * A tiny manual clock for the conformance kit. @integ/testing has the full fake clock, but the kit is
 * published inside @integ/queue, which must not depend on the testing package; this one only needs
 * `advance` with a generous flush, because store commits (SQLite's group commit) settle on the event
 * loop between timers.
 */
import type { Clock, TimerHandle } from '@integ/core';

export interface ManualClock extends Clock {
  advance(ms: number): Promise<void>;
}

/** Lets the event loop run `turns` times (promise callbacks and setImmediate work in between). */
export async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++)
    await new Promise<void>((resolve) =>
      typeof setImmediate === 'function' ? setImmediate(resolve) : globalThis.setTimeout(resolve, 0),
    );
}

/**
 * `flush` runs before, between and after the timers `advance` fires; by default 5 event-loop turns. The kit
 * passes one that also waits for store calls in flight, so a store answering over a network keeps up.
 */
export function manualClock(start: number, flush: () => Promise<void> = () => turns()): ManualClock {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, { at: number; id: number; fn: () => void }>();
  const due = (until: number): { at: number; id: number; fn: () => void } | undefined => {
    let first: { at: number; id: number; fn: () => void } | undefined;
    for (const t of timers.values())
      if (t.at <= until && (first === undefined || t.at < first.at || (t.at === first.at && t.id < first.id)))
        first = t;
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
