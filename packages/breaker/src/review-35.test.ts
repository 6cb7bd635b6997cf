/**
 * Review round 35: found running the packed package on Node as a control of the Bun/Deno checks (runtimes/): a
 * half-open probe whose `fn` waits only on its signal never got its `probeTimeout` on Node. The probe timer was
 * `unref`'d like the breaker's background timers, so with nothing else alive Node exited (code 13, an unsettled
 * top-level await) before the timeout that settles the caller's `await` could fire. A timer that bounds a call
 * somebody is awaiting keeps the process alive, as `retry`'s attempt `timeout` and `AbortSignal.timeout()` users'
 * own timers do; the open -> half-open timer (onStateChange) stays `unref`'d: it only reports.
 */
import type { Clock, TimerHandle } from '@integ/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createBreaker } from '../src/index';

/** Node's own timers behind a clock whose `now` the test moves: each handle is kept with its delay. */
function nodeTimers() {
  let now = 0;
  const armed: { ms: number; handle: NodeJS.Timeout }[] = [];
  const clock: Clock = {
    now: () => now,
    setTimeout: (callback, ms) => {
      const handle = setTimeout(callback, ms);
      armed.push({ ms, handle });
      return handle as TimerHandle;
    },
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  };
  const move = (ms: number): void => {
    now += ms;
  };
  return { clock, armed, move };
}

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const undo of cleanup) undo();
  cleanup = [];
});

describe('a half-open probe’s timeout keeps a Node process alive while the probe runs', () => {
  it('the probe timer is ref’d; the open -> half-open reporting timer is not', async () => {
    const { clock, armed, move } = nodeTimers();
    const breaker = createBreaker({
      failureThreshold: 1,
      openFor: 1_000,
      probeTimeout: 30_000,
      clock,
      onStateChange: () => {},
    });
    cleanup.push(() => {
      breaker.isolate();
      for (const { handle } of armed) clearTimeout(handle);
    });
    await expect(
      breaker.execute(() => {
        throw new Error('down');
      }),
    ).rejects.toThrow('down');
    const reporting = armed.find(({ ms }) => ms === 1_000);
    expect(reporting?.handle.hasRef()).toBe(false);

    move(1_000);
    const probe = breaker.execute(
      ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    probe.catch(() => {});
    expect(breaker.state).toBe('half-open');
    const probeTimer = armed.find(({ ms }) => ms === 30_000);
    expect(probeTimer).toBeDefined();
    expect(probeTimer?.handle.hasRef()).toBe(true);
  });
});
