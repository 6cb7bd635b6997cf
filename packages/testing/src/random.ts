/** Seeded randomness for tests and benchmarks: the same seed gives the same sequence, every run. */

/**
 * A uniform random in [0, 1) from a 32-bit seed (mulberry32): pass it as the `random` option of
 * @integ APIs with jitter or random balancing.
 *
 * @example
 * ```ts
 * await retry(call, { random: seededRandom(42), clock });
 * ```
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
