import type { FakeClock } from '@integ/testing';

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

/** Settles `promise` on the fake clock, or says 'pending' when it is still pending once no timer is left. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown } | 'pending';
export async function settleOrHang<T>(promise: Promise<T>, fake: FakeClock): Promise<Outcome<T>> {
  let outcome = 'pending' as Outcome<T>;
  promise.then(
    (value) => {
      outcome = { ok: true, value };
    },
    (error: unknown) => {
      outcome = { ok: false, error };
    },
  );
  await fake.runAll();
  for (let i = 0; i < 20; i++) await Promise.resolve();
  return outcome;
}
