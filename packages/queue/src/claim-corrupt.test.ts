/**
 * What a claim does with what it cannot hand out: a stored payload that is not JSON (a damaged row, a custom
 * store's bug) and a store that refuses the whole claim. The claim committed before the payload is read, so
 * throwing there leased the whole batch to nobody.
 */
import type { Logger } from '@integ/core';
import { createQueue, memoryStore, type QueueStore, StoreUnavailableError } from '@integ/queue';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

const settle = async (turns = 20): Promise<void> => {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

/** A logger that keeps each warning as `message: err` (the error's code when it has one). */
function recorder(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const warn = ((details: { err?: { code?: unknown } }, message: string): void => {
    const err = details.err;
    warnings.push(`${message}: ${typeof err?.code === 'string' ? err.code : String(err)}`);
  }) as Logger['warn'];
  const noop = (): void => {};
  return { logger: { debug: noop, info: noop, warn, error: noop }, warnings };
}

describe('a claim the store refuses as a whole', () => {
  it('is reported once per worker round, not once more for its reap', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const base = memoryStore();
    let down = true;
    const refuse = (): never => {
      throw new StoreUnavailableError('the store is down');
    };
    const store: QueueStore = {
      ...base,
      reap: async (...args) => (down ? refuse() : base.reap(...args)),
      claim: async (...args) => (down ? refuse() : base.claim(...args)),
    };
    const { logger, warnings } = recorder();
    const queue = createQueue<number>({ name: 'q', store, clock, logger });
    await queue.push(1);
    // Before: two warnings, 'could not reap expired jobs' and the worker's claim error, for one refusal.
    await expect(queue.next()).rejects.toThrow('the store is down');
    expect(warnings).toEqual([]);
    const errors: unknown[] = [];
    const worker = queue.process(() => {}, { onError: (error) => errors.push(error) });
    await settle();
    expect(warnings).toEqual(['queue worker could not claim jobs; retrying: ERR_STORE_UNAVAILABLE']);
    expect(errors).toHaveLength(1);
    down = false;
    await clock.advance(1000);
    await settle();
    expect((await queue.stats()).done).toBe(1);
    await worker.close();
  });
});
