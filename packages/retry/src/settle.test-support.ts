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
