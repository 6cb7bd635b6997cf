/**
 * Telling "settled" from "still pending" without a timed wait. Node runs every queued microtask (and every one those
 * queue) before a `setImmediate` callback, so once a few such turns have passed, a promise that settles through promise
 * callbacks alone (a fake clock advanced, a gate resolved by hand) has settled. A race against a real timer can lose on
 * a loaded machine, and a sleep before asserting that something did NOT happen proves little. Node only (setImmediate).
 * The turns are taken on real timers, also under vi.useFakeTimers(), jest.useFakeTimers() and node:test's mock.timers
 * (internal/turn.ts).
 */
import { InvalidArgumentError } from '@integ/core';
import { turn } from './internal/turn.js';

const checkTurns = (name: string, turns: unknown): void => {
  if (!Number.isInteger(turns) || (turns as number) < 1 || (turns as number) > 10_000)
    throw new InvalidArgumentError(name, 'a whole number of turns from 1 to 10000', turns);
};

/**
 * Waits `turns` macrotask turns (`setImmediate`, default 10): every promise callback queued before, and the ones
 * those queue, has run by then. Real I/O (sockets, files) may still be in flight: wait for its event instead.
 *
 * @throws {InvalidArgumentError} when `turns` is not a whole number from 1 to 10000
 * @throws {Error} when setImmediate is faked by node:test's mock.timers (or another fake that keeps no handle on the
 * real one) and already was when this package loaded (the turn would never come)
 * @example
 * ```ts
 * const onRetry = vi.fn();
 * startPolling({ clock, onRetry });
 * clock.advanceSync(1000);
 * await drain();
 * expect(onRetry).not.toHaveBeenCalled();
 * ```
 */
export async function drain(turns = 10): Promise<void> {
  checkTurns('drain(turns)', turns);
  for (let i = 0; i < turns; i++) await turn();
}

/**
 * What `promise` resolved to once the microtasks are drained ({@link drain}), or `'pending'` if it has still not
 * settled then. A rejection is rethrown (map it to a value first to assert on it). The promise's rejection is
 * handled here either way, so a `'pending'` promise that rejects later is not reported as unhandled.
 *
 * @throws {InvalidArgumentError} when `promise` is not a thenable, or `turns` is not a whole number from 1 to 10000
 * @throws {Error} when setImmediate is faked and already was when this package loaded (see {@link drain})
 * @example
 * ```ts
 * const clock = createFakeClock();
 * const done = sleep(1000, { clock });
 * expect(await settledValue(done)).toBe('pending');
 * clock.advanceSync(1000);
 * expect(await settledValue(done)).toBeUndefined();
 * ```
 */
export async function settledValue<T>(promise: PromiseLike<T>, turns = 10): Promise<Awaited<T> | 'pending'> {
  if (typeof (promise as { then?: unknown } | null)?.then !== 'function')
    throw new InvalidArgumentError('settledValue(promise)', 'a promise', promise);
  checkTurns('settledValue(turns)', turns);
  let state: { ok: true; value: Awaited<T> } | { ok: false; error: unknown } | undefined;
  Promise.resolve(promise).then(
    (value) => {
      state = { ok: true, value };
    },
    (error: unknown) => {
      state = { ok: false, error };
    },
  );
  await drain(turns);
  if (state === undefined) return 'pending';
  if (!state.ok) throw state.error;
  return state.value;
}
