import { type FakeClock, settledValue } from '@integ/testing';

/** Settles `promise` while running the fake clock to the end, without an unhandled rejection. */
export async function run<T>(
  promise: Promise<T>,
  clock: FakeClock,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  const settled = promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  await clock.runAll();
  return settled;
}

/**
 * Settles `promise` on the fake clock, or says 'pending' when it is still pending once no timer is left and every
 * promise callback has run (drained setImmediate turns, not a count of microtasks a longer chain could outrun).
 */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown } | 'pending';
export async function settleOrHang<T>(promise: Promise<T>, fake: FakeClock): Promise<Outcome<T>> {
  const observed = promise.then(
    (value): Outcome<T> => ({ ok: true, value }),
    (error: unknown): Outcome<T> => ({ ok: false, error }),
  );
  await fake.runAll();
  return settledValue(observed);
}
