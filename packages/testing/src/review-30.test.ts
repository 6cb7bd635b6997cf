/**
 * Review round 30: cross-review of 55eece3 (the fake clock's binary heap with lazy deletion). What the heap keeps
 * of fired and cleared timers stays in proportion to the pending ones; clearTimeout of a fired, foreign or bogus
 * handle is a no-op; timers set during a firing at the current time keep their order; pendingTimers stays exact.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { TimerHandle } from '@integ/core';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

// `gc()` for this file only: a callback the clock still references (its heap's leftovers) survives a collection.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// A callback whose reachability is watched through a WeakRef to an object only it holds.
function watched(refs: WeakRef<object>[], body: () => void = () => {}): () => void {
  const token = {};
  refs.push(new WeakRef(token));
  return () => {
    void token;
    body();
  };
}
// After a turn: a WeakRef keeps its target alive until the end of the job that made or read it.
const alive = async (refs: WeakRef<object>[]): Promise<number> => {
  await new Promise((resolve) => setTimeout(resolve, 0));
  gc();
  gc();
  return refs.filter((ref) => ref.deref() !== undefined).length;
};

describe('createFakeClock: what the heap keeps', () => {
  it('keeps O(pending) callbacks over 100,000 set/clear cycles (a watchdog re-armed per event)', async () => {
    const clock = createFakeClock();
    const refs: WeakRef<object>[] = [];
    const steady = Array.from({ length: 10 }, () => clock.setTimeout(() => {}, 1e9));
    let watchdog: TimerHandle | undefined;
    for (let i = 0; i < 100_000; i++) {
      if (watchdog !== undefined) clock.clearTimeout(watchdog);
      watchdog = clock.setTimeout(watched(refs), 30_000);
    }
    expect(clock.pendingTimers).toBe(11);
    // The rebuild bound: leftovers up to 2 x pending + 64 (here at most 86 of the 100,000).
    expect(await alive(refs)).toBeLessThanOrEqual(2 * 11 + 64 + 1);
    for (const handle of steady) clock.clearTimeout(handle);
  });

  it('keeps no fired callback once the next due timer is looked for (100,000 fired, one at a time)', async () => {
    const clock = createFakeClock();
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < 100_000; i++) {
      clock.setTimeout(watched(refs), 1);
      clock.advanceSync(1);
    }
    expect(clock.pendingTimers).toBe(0);
    expect(await alive(refs)).toBeLessThanOrEqual(1);
  });

  it('keeps O(pending) callbacks when timers are cleared from inside callbacks during an advance', async () => {
    const clock = createFakeClock();
    const refs: WeakRef<object>[] = [];
    // Each firing clears the 50 timers set after it and sets 50 more: most cleared timers never reach the root.
    let batch: TimerHandle[] = [];
    const arm = (): void => {
      for (const handle of batch) clock.clearTimeout(handle);
      batch = Array.from({ length: 50 }, (_, i) => clock.setTimeout(watched(refs), 10 + i));
      clock.setTimeout(watched(refs, arm), 5);
    };
    arm();
    await clock.advance(5 * 2_000);
    expect(clock.pendingTimers).toBe(51);
    expect(await alive(refs)).toBeLessThanOrEqual(2 * 51 + 64 + 2);
  });
});

describe('createFakeClock: fired timers left in the heap below a timer set earlier in time', () => {
  it('keeps O(pending) callbacks when callbacks set the time back and re-arm (100,000 firings)', async () => {
    const clock = createFakeClock({ now: 1e9 });
    const refs: WeakRef<object>[] = [];
    // Each firing steps the time line back and sets the next timer before its own due time: the fired timer is no
    // longer the heap's root, and was never popped (no clearTimeout ever rebuilt the heap).
    let left = 100_000;
    const rearm = (): void => {
      clock.setNow(clock.now() - 10);
      // The last one is due after this advance: it stays pending, below every fired timer.
      clock.setTimeout(watched(refs, rearm), --left === 0 ? 5 : 0);
    };
    clock.setTimeout(watched(refs, rearm), 1);
    clock.advanceSync(1);
    expect(left).toBe(0);
    expect(clock.pendingTimers).toBe(1);
    expect(await alive(refs)).toBeLessThanOrEqual(2 * 1 + 64 + 2);
  });
});

describe('createFakeClock: clearTimeout of a handle it does not hold', () => {
  it('is a no-op for a fired, a twice-cleared, a foreign or a bogus handle: pendingTimers and order kept', () => {
    const clock = createFakeClock();
    const other = createFakeClock();
    const order: string[] = [];
    const fired = clock.setTimeout(() => order.push('fired'), 1);
    clock.advanceSync(1);
    const cleared = clock.setTimeout(() => order.push('cleared'), 2);
    clock.clearTimeout(cleared);
    for (const name of ['a', 'b', 'c']) clock.setTimeout(() => order.push(name), 5);
    const foreign = other.setTimeout(() => order.push('foreign'), 5);
    for (const handle of [
      fired,
      cleared,
      cleared,
      foreign,
      {} as TimerHandle,
      1 as never,
      undefined as never,
    ])
      clock.clearTimeout(handle);
    expect(clock.pendingTimers).toBe(3);
    expect(other.pendingTimers).toBe(1);
    clock.advanceSync(10);
    expect(order).toEqual(['fired', 'a', 'b', 'c']);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('createFakeClock: timers set by a callback at the current time', () => {
  it('fire in the same advance, after the timers already due then, first set first', async () => {
    for (const mode of ['advance', 'advanceSync'] as const) {
      const clock = createFakeClock();
      const order: string[] = [];
      clock.setTimeout(() => {
        order.push('a@10');
        clock.setTimeout(() => order.push('c@10 (set by a, 0 ms)'), 0);
        clock.setTimeout(() => order.push('e@11 (set by a, 1 ms)'), 1);
      }, 10);
      clock.setTimeout(() => {
        order.push('b@10');
        clock.setTimeout(() => order.push('d@10 (set by b, 0 ms)'), 0);
      }, 10);
      clock.setTimeout(() => order.push('f@11'), 11);
      if (mode === 'advance') await clock.advance(11);
      else clock.advanceSync(11);
      expect(order).toEqual([
        'a@10',
        'b@10',
        'c@10 (set by a, 0 ms)',
        'd@10 (set by b, 0 ms)',
        'f@11',
        'e@11 (set by a, 1 ms)',
      ]);
      expect(clock.pendingTimers).toBe(0);
    }
  });
});

describe('createFakeClock: pendingTimers after lazy deletion', () => {
  it('counts exactly the timers not fired or cleared, through clears that rebuild the heap', () => {
    const clock = createFakeClock();
    const handles: TimerHandle[] = [];
    let fired = 0;
    for (let i = 0; i < 1_000; i++) handles.push(clock.setTimeout(() => fired++, 1 + (i % 100)));
    // Clear every other one (enough leftovers to rebuild the heap more than once), then some twice.
    for (let i = 0; i < 1_000; i += 2) clock.clearTimeout(handles[i] as TimerHandle);
    for (let i = 0; i < 100; i += 2) clock.clearTimeout(handles[i] as TimerHandle);
    expect(clock.pendingTimers).toBe(500);
    clock.advanceSync(50);
    // Odd i with 1 + (i % 100) <= 50: i % 100 in 1, 3, ..., 49: 25 per hundred.
    expect(fired).toBe(250);
    expect(clock.pendingTimers).toBe(250);
    clock.advanceSync(50);
    expect(fired).toBe(500);
    expect(clock.pendingTimers).toBe(0);
  });
});
