import { createDeadline, InvalidArgumentError, sleep } from '@integ/core';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';

describe('createFakeClock', () => {
  it('starts at the given time and only moves when told to', async () => {
    const clock = createFakeClock({ now: 1_000 });
    expect(clock.now()).toBe(1_000);
    await clock.advance(250);
    expect(clock.now()).toBe(1_250);
  });

  it('fires timers in due order, ties in scheduling order', () => {
    const clock = createFakeClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b'), 20);
    clock.setTimeout(() => fired.push('a'), 10);
    clock.setTimeout(() => fired.push('c'), 20);
    clock.advanceSync(20);
    expect(fired).toEqual(['a', 'b', 'c']);
  });

  it('fires timers scheduled by timers when they fall due within the same advance', () => {
    const clock = createFakeClock();
    const times: number[] = [];
    clock.setTimeout(() => {
      times.push(clock.now());
      clock.setTimeout(() => times.push(clock.now()), 5);
    }, 10);
    clock.advanceSync(100);
    expect(times).toEqual([10, 15]);
    expect(clock.now()).toBe(100);
  });

  it('runs promise callbacks between timers, so chained sleeps progress in one advance', async () => {
    const clock = createFakeClock();
    const log: number[] = [];
    const chain = (async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(100, { clock });
        log.push(clock.now());
      }
    })();
    await clock.advance(300);
    await chain;
    expect(log).toEqual([100, 200, 300]);
  });

  it('stops a timer that reschedules itself with 0 ms with a clear error instead of hanging advance() or advanceSync()', async () => {
    const clock = createFakeClock();
    // `fired < 50_000` only stops a clock that never gives up, as this one did.
    let fired = 0;
    let last: unknown;
    const poll = (): void => {
      fired++;
      if (fired < 50_000) last = clock.setTimeout(poll, 0);
    };
    clock.setTimeout(poll, 10);
    expect(() => clock.advanceSync(100)).toThrow(/rescheduling forever/);
    expect(fired).toBe(1 + 10_000); // the first, then 10,000 set with 0 during the step
    expect(clock.now()).toBe(10);
    expect(clock.pendingTimers).toBe(1);

    // The same from promise callbacks between timers: `while (...) await sleep(0)`.
    let turns = 0;
    const loop = (async () => {
      while (turns < 50_000) {
        turns++;
        await sleep(0, { clock });
      }
    })();
    clock.clearTimeout(last);
    await expect(clock.advance(100)).rejects.toThrow(/rescheduling forever/);
    expect(turns).toBeLessThan(10_010);
    turns = 50_000;
    await clock.runAll().catch(() => {});
    await loop;

    // A chain that ends, or many timers due at one time, is not a runaway.
    let chain = 0;
    const next = (): void => {
      if (++chain < 9_000) clock.setTimeout(next, 0);
    };
    clock.setTimeout(next, 5);
    for (let i = 0; i < 12_000; i++) clock.setTimeout(() => {}, 5);
    clock.advanceSync(5);
    expect(chain).toBe(9_000);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fires a timer of more than 2^31-1 ms after 1 ms, as Node and browsers do, so code that forgets to cap fails here too', async () => {
    const clock = createFakeClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('30 days'), 30 * 86_400_000);
    clock.setTimeout(() => fired.push('2^31'), 2 ** 31);
    clock.setTimeout(() => fired.push('2^31-1'), 2 ** 31 - 1);
    await clock.advance(0);
    expect(fired).toEqual([]);
    await clock.advance(1);
    expect(fired).toEqual(['30 days', '2^31']);
    await clock.advance(2 ** 31 - 3);
    expect(fired).toEqual(['30 days', '2^31']);
    await clock.advance(1);
    expect(fired).toEqual(['30 days', '2^31', '2^31-1']);
  });

  it('converts a numeric string delay as Node and browsers do (setTimeout(fn, "100") waits 100 ms); NaN and negatives still count as 0', async () => {
    const clock = createFakeClock();
    const fired: string[] = [];
    const cases: [string, number][] = [
      ['100', 100],
      [' 50 ', 50],
      ['1e3', 1000],
      ['0x10', 16],
      ['3000000000', 1],
      ['', 0],
      ['abc', 0],
      ['-5', 0],
    ];
    for (const [delay] of cases) clock.setTimeout(() => fired.push(delay), delay as unknown as number);
    const due = (ms: number) =>
      cases
        .filter(([, at]) => at <= ms)
        .sort((a, b) => a[1] - b[1])
        .map(([delay]) => delay);
    let at = 0;
    for (const step of [0, 1, 15, 16, 49, 50, 99, 100, 999, 1000]) {
      await clock.advance(step - at);
      at = step;
      expect(fired).toEqual(due(step));
    }
  });

  it('setNow() fires nothing; timers keep their due times, so a jump forward leaves them overdue and a jump back delays them', async () => {
    const clock = createFakeClock({ now: 1_000 });
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.now()), 100);
    clock.setNow(5_000);
    expect(fired).toEqual([]);
    await clock.advance(0);
    expect(fired).toEqual([5_000]);
    clock.setTimeout(() => fired.push(clock.now()), 100);
    clock.setNow(4_000);
    await clock.advance(100);
    expect(fired).toEqual([5_000]);
    await clock.advance(1_000);
    expect(fired).toEqual([5_000, 5_100]);
  });

  it('counts pending timers and forgets cleared ones', () => {
    const clock = createFakeClock();
    const a = clock.setTimeout(() => {}, 10);
    clock.setTimeout(() => {}, 20);
    expect(clock.pendingTimers).toBe(2);
    clock.clearTimeout(a);
    expect(clock.pendingTimers).toBe(1);
    clock.clearTimeout('not a handle');
    expect(clock.pendingTimers).toBe(1);
  });

  it('runAll() fires everything and stops runaway rescheduling with a clear error', async () => {
    const clock = createFakeClock();
    let fired = 0;
    clock.setTimeout(() => fired++, 1e6);
    await clock.runAll();
    expect(fired).toBe(1);
    expect(clock.now()).toBe(1e6);
    const forever = (): void => {
      clock.setTimeout(forever, 1);
    };
    forever();
    await expect(clock.runAll(50)).rejects.toThrow(/rescheduling forever/);
  });

  it('runAll(limit) settles when exactly `limit` timers were left, and runAll(0) when none are', async () => {
    const clock = createFakeClock();
    let fired = 0;
    clock.setTimeout(() => fired++, 1);
    clock.setTimeout(() => fired++, 2);
    await expect(clock.runAll(2)).resolves.toBeUndefined();
    expect(fired).toBe(2);
    await expect(clock.runAll(0)).resolves.toBeUndefined();
    clock.setTimeout(() => fired++, 1);
    await expect(clock.runAll(0)).rejects.toThrow(/rescheduling forever/);
    expect(fired).toBe(2);
  });

  it('drives deadlines with zero real waiting', async () => {
    // No real timer is asked for (a measured duration would be a timed assertion, loose on a loaded machine):
    // the deadline's timer and the waits of advance() are the clock's own and promise turns.
    const realSetTimeout = vi.spyOn(globalThis, 'setTimeout');
    const realSetInterval = vi.spyOn(globalThis, 'setInterval');
    try {
      const clock = createFakeClock();
      const deadline = createDeadline(60_000, { clock });
      await clock.advance(59_999);
      expect(deadline.signal.aborted).toBe(false);
      await clock.advance(1);
      expect(deadline.signal.aborted).toBe(true);
      expect(realSetTimeout).not.toHaveBeenCalled();
      expect(realSetInterval).not.toHaveBeenCalled();
    } finally {
      realSetTimeout.mockRestore();
      realSetInterval.mockRestore();
    }
  });

  it('refuses to move time backwards or by a non-finite amount with an InvalidArgumentError naming the argument', async () => {
    const clock = createFakeClock();
    for (const ms of [-1, Number.NaN, Number.POSITIVE_INFINITY, '5' as unknown as number]) {
      await expect(clock.advance(ms)).rejects.toThrow(InvalidArgumentError);
      await expect(clock.advance(ms)).rejects.toThrow(/advance\(ms\)/);
      expect(() => clock.advanceSync(ms)).toThrow(InvalidArgumentError);
    }
    expect(clock.now()).toBe(0);
  });

  it('refuses a runAll() limit that is not a whole number >= 0, and a start, setNow() or setWallClock() time that is not finite', async () => {
    const clock = createFakeClock();
    clock.setTimeout(() => {}, 1);
    for (const limit of [-1, Number.NaN, 1.5]) {
      await expect(clock.runAll(limit)).rejects.toThrow(InvalidArgumentError);
    }
    expect(clock.pendingTimers).toBe(1);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, undefined as unknown as number]) {
      expect(() => createFakeClock({ now: bad === undefined ? Number.NEGATIVE_INFINITY : bad })).toThrow(
        InvalidArgumentError,
      );
      expect(() => clock.setNow(bad)).toThrow(InvalidArgumentError);
      expect(() => clock.setWallClock(bad)).toThrow(InvalidArgumentError);
    }
    expect(clock.now()).toBe(0);
    expect(createFakeClock({ now: -5 }).now()).toBe(-5);
  });

  it('clearTimeout() ignores a handle from another clock, whose timers keep theirs', async () => {
    const a = createFakeClock();
    const b = createFakeClock();
    const fired: string[] = [];
    const fromA = a.setTimeout(() => fired.push('a'), 10);
    const fromB = b.setTimeout(() => fired.push('b'), 10);
    a.clearTimeout(fromB);
    b.clearTimeout(fromA);
    expect([a.pendingTimers, b.pendingTimers]).toEqual([1, 1]);
    await a.advance(10);
    await b.advance(10);
    expect(fired).toEqual(['a', 'b']);
  });

  it('advanceSync() keeps firing due timers after one throws, ends at the target, then rethrows the first error', () => {
    const clock = createFakeClock();
    const fired: string[] = [];
    const first = new Error('first');
    clock.setTimeout(() => fired.push('a'), 10);
    clock.setTimeout(() => {
      fired.push('b');
      throw first;
    }, 20);
    clock.setTimeout(() => {
      fired.push('c');
      clock.setTimeout(() => fired.push('d'), 5);
      throw new Error('second');
    }, 30);
    clock.setTimeout(() => fired.push('later'), 101);
    expect(() => clock.advanceSync(100)).toThrow(first);
    expect(fired).toEqual(['a', 'b', 'c', 'd']);
    expect(clock.now()).toBe(100);
    expect(clock.pendingTimers).toBe(1);
    // Nothing is left half-done: the next advance starts from the target.
    clock.advanceSync(1);
    expect(fired).toEqual(['a', 'b', 'c', 'd', 'later']);
  });

  it('advance() rethrows the first error only after the remaining timers and their promise callbacks ran', async () => {
    const clock = createFakeClock({ now: 1_000 });
    const log: string[] = [];
    const first = new Error('first');
    clock.setTimeout(() => {
      throw first;
    }, 10);
    clock.setTimeout(() => {
      throw new Error('second');
    }, 20);
    const slept = sleep(50, { clock }).then(() => log.push(`slept @${clock.now()}`));
    await expect(clock.advance(60)).rejects.toBe(first);
    expect(log).toEqual(['slept @1050']);
    expect(clock.now()).toBe(1_060);
    expect(clock.pendingTimers).toBe(0);
    await slept;
  });

  it('runAll() fires every timer even when some throw, then rethrows the first error', async () => {
    const clock = createFakeClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      // A falsy value thrown still counts as the first error.
      throw undefined;
    }, 5);
    clock.setTimeout(() => {
      fired.push(clock.now());
      throw new Error('second');
    }, 7);
    clock.setTimeout(() => fired.push(clock.now()), 1e6);
    let caught: unknown = 'nothing thrown';
    await clock.runAll().catch((error: unknown) => {
      caught = error;
    });
    expect(caught).toBeUndefined();
    expect(fired).toEqual([5, 7, 1e6]);
    expect(clock.now()).toBe(1e6);
    expect(clock.pendingTimers).toBe(0);
  });

  it('runAll() past its limit rethrows the first timer error rather than the runaway error', async () => {
    const clock = createFakeClock();
    const first = new Error('first');
    let calls = 0;
    const forever = (): void => {
      clock.setTimeout(forever, 1);
      if (++calls === 2) throw first;
    };
    forever();
    await expect(clock.runAll(50)).rejects.toBe(first);
    expect(calls).toBe(51);
  });

  it('property: every timer fires exactly once, at its due time, in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 30 }),
        fc.integer({ min: 1, max: 5000 }),
        (delays, step) => {
          const clock = createFakeClock();
          const fired: { at: number; due: number }[] = [];
          for (const delay of delays)
            clock.setTimeout(() => fired.push({ at: clock.now(), due: delay }), delay);
          while (clock.pendingTimers > 0) clock.advanceSync(step);
          expect(fired).toHaveLength(delays.length);
          for (const f of fired) expect(f.at).toBe(f.due);
          for (let i = 1; i < fired.length; i++)
            expect(fired[i]!.at).toBeGreaterThanOrEqual(fired[i - 1]!.at);
        },
      ),
    );
  });
});

describe('setWallClock', () => {
  const DAY = 86_400_000;

  it('moves what now() reads, back or forward, while timers keep running on elapsed time', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.now()), 1_000);
    await clock.advance(400);
    clock.setWallClock(clock.now() - DAY);
    expect(clock.now()).toBe(1_000_400 - DAY);
    await clock.advance(599);
    expect(fired).toEqual([]);
    await clock.advance(1);
    expect(fired).toEqual([1_001_000 - DAY]);
    expect(clock.elapsed).toBe(1_000);

    clock.setWallClock(clock.now() + 2 * DAY);
    clock.setTimeout(() => fired.push(clock.now()), 10);
    await clock.advance(9);
    expect(fired).toHaveLength(1);
    await clock.advance(1);
    expect(fired).toEqual([1_001_000 - DAY, 1_001_010 + DAY]);
    expect(clock.elapsed).toBe(1_010);
  });

  it('leaves setNow reading the time it was given', () => {
    const clock = createFakeClock({ now: 5_000 });
    clock.setWallClock(1_000);
    clock.setNow(9_000);
    expect(clock.now()).toBe(9_000);
  });
});
