/**
 * Test helpers that tell "settled" from "still pending" without a timed wait. Node runs every queued microtask
 * (and every one those queue) before a `setImmediate` callback, so once a few such turns have passed, a promise
 * that settles through promise callbacks alone (a fake clock, a gate resolved by hand) has settled: a race against a real timer
 * could lose on a loaded machine, and a sleep before asserting that something did NOT happen proves little.
 */

/** Waits `turns` macrotask turns (`setImmediate`): every promise callback queued before, and after, has run. */
export async function drain(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * What `promise` resolved to once the microtasks are drained, or `'pending'` if it still has not settled then.
 * A rejection is rethrown (map it to a value first to assert on it).
 */
export async function settledValue<T>(promise: Promise<T>, turns = 10): Promise<T | 'pending'> {
  let state: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  promise.then(
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
