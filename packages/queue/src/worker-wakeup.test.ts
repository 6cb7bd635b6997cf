/**
 * A worker whose handlers settle at once (a synchronous throw, a plain return value, an async function that
 * awaits nothing) must keep taking jobs: a slot freed while the worker was finishing a claim round asks for
 * another round, and that request must not be dropped (the worker then sat idle for good with due jobs
 * pending and no poll scheduled; the async case passed before and guards the fix).
 */
import { createQueue, memoryStore } from '@integ/queue';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

const settle = async (turns = 20): Promise<void> => {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('worker with handlers that settle synchronously', () => {
  for (const [name, handler] of [
    [
      'throw',
      () => {
        throw new Error('sync failure');
      },
    ],
    ['return a value synchronously', () => 42],
    ['return undefined synchronously', () => undefined],
    ['resolve (an async function with no await)', async () => {}],
  ] as const) {
    for (const concurrency of [1, 2, 4])
      it(`runs every due job when handlers ${name} at once (concurrency ${concurrency})`, async () => {
        const clock = createFakeClock({ now: 1_000_000 });
        const queue = createQueue<number>({ name: 'q', store: memoryStore(), clock, attempts: 1 });
        await queue.pushMany([1, 2, 3, 4, 5, 6]);
        const seen: number[] = [];
        const worker = queue.process(
          (job) => {
            seen.push(job.payload);
            return (handler as () => never)();
          },
          { concurrency },
        );
        await settle();
        // Well past the poll interval too: the worker must not have stopped looking.
        await clock.advance(5000);
        await settle();
        expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6]);
        const stats = await queue.stats();
        expect(stats.pending).toBe(0);
        expect(stats.processing).toBe(0);
        await worker.close();
      });
  }
});
