/**
 * A logger is a user callback: a `warn` that throws (or returns a rejected promise) must neither surface as an
 * unhandled rejection, which ends a Node process by default, nor stop a worker.
 */
import { type Logger, silentLogger } from '@integ/core';
import { createQueue, memoryStore, type QueueStore, StoreUnavailableError } from '@integ/queue';
import { createFakeClock } from '@integ/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const settle = async (turns = 20): Promise<void> => {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

let unhandled: unknown[] = [];
const count = (reason: unknown): void => {
  unhandled.push(reason);
};
// Vitest's own listener would fail the run with "Unhandled Rejection" and hide the count: ours replaces it here.
let others: NodeJS.UnhandledRejectionListener[] = [];
beforeEach(() => {
  unhandled = [];
  others = process.listeners('unhandledRejection');
  process.removeAllListeners('unhandledRejection');
  process.on('unhandledRejection', count);
});
afterEach(() => {
  process.off('unhandledRejection', count);
  for (const listener of others) process.on('unhandledRejection', listener);
});

const throwing: Logger = {
  ...silentLogger,
  warn: () => {
    throw new Error('logger is broken');
  },
};
const rejecting: Logger = {
  ...silentLogger,
  warn: (() => Promise.reject(new Error('async logger is broken'))) as Logger['warn'],
};

describe('a logger whose warn fails', () => {
  for (const [kind, logger] of [
    ['throws', throwing],
    ['rejects', rejecting],
  ] as const) {
    it(`keeps the worker running and leaves no unhandled rejection when warn ${kind}`, async () => {
      const clock = createFakeClock({ now: 1_000_000 });
      const base = memoryStore();
      let refusals = 1;
      const store: QueueStore = {
        ...base,
        // One claim the store refuses: the worker logs it and must try again.
        claim: async (queue, options) => {
          if (refusals > 0) {
            refusals--;
            throw new StoreUnavailableError('the store is down for a moment');
          }
          return base.claim(queue, options);
        },
      };
      const queue = createQueue<number>({
        name: 'q',
        store,
        clock,
        logger,
        // Every completion and failure makes the queue log a hook error.
        onCompleted: () => {
          throw new Error('hook');
        },
        onFailed: () => {
          throw new Error('hook');
        },
      });
      await queue.pushMany([1, 2, 3, 4, 5, 6]);
      const ran: number[] = [];
      const worker = queue.process(
        (job) => {
          ran.push(job.payload);
          if (job.payload % 2 === 0 && job.attempts === 1) throw new Error('even, first try');
        },
        { pollInterval: 100 },
      );
      await settle();
      for (let i = 0; i < 40; i++) {
        await clock.advance(1000);
        await settle();
      }
      expect((await queue.stats()).done).toBe(6);
      expect(ran.length).toBe(9);
      await worker.close();
      await settle();
      expect(unhandled).toEqual([]);
    });
  }
});
