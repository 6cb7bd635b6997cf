// Readings for the memory benchmark (memory.bench.mjs): a settled heap, and the bytes allocated by a loop.
import v8 from 'node:v8';

if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc (node bench/run.mjs memory)');

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Several full GCs, a macrotask turn apart (so finalizers and weak callbacks run), then the reading. */
export async function settled() {
  for (let i = 0; i < 6; i++) {
    globalThis.gc();
    await turn();
  }
  const m = process.memoryUsage();
  // external includes arrayBuffers (Buffers, TextDecoder state, sockets' read buffers).
  return { heap: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

/** `after - before` per unit: heap, off-heap, and their sum. */
export function perUnit(before, after, units) {
  const heap = (after.heap - before.heap) / units;
  const external = (after.external - before.external) / units;
  return { heap, external, total: heap + external };
}

/**
 * Bytes allocated per call of `run` (awaited), GC included in nothing: each batch of `batch` calls runs with
 * the young generation empty (a full GC before it) and a GCProfiler watching; a batch during which any GC ran
 * is discarded (a scavenge would have freed part of what it allocated), and the batch is halved. The child
 * runs with a 64 MiB semi-space so a batch fits. Returns the median over the clean batches.
 */
export async function allocatedPerCall(run, { batches = 10, batch = 10_000, warmup = 20_000 } = {}) {
  for (let i = 0; i < warmup; i++) await run();
  const samples = [];
  let discarded = 0;
  while (samples.length < batches && batch >= 100) {
    await settled();
    const profiler = new v8.GCProfiler();
    profiler.start();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < batch; i++) await run();
    const after = process.memoryUsage().heapUsed;
    const gcs = profiler.stop().statistics.length;
    if (gcs > 0) {
      discarded++;
      if (discarded % 2 === 0) batch = Math.floor(batch / 2);
      continue;
    }
    samples.push((after - before) / batch);
  }
  return { value: median(samples), batches: samples.length, batch, discarded };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const turns = async (n) => {
  for (let i = 0; i < n; i++) await turn();
};

/** Waits until `done()` holds, checking every few ms, for at most `ms`. */
export async function until(done, ms, what) {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
