/**
 * The worker's automatic lease renewal around store failures: a renewal the store refuses for a moment is
 * tried again before the lease runs out, and renewal stops once the handler has settled, even when the
 * ack that follows cannot be written (the lease must then expire so the job is delivered again).
 */
import { isIntegError } from '@integ/core';
import { createQueue, memoryStore, type QueueStore, StoreUnavailableError } from '@integ/queue';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

const settle = async (turns = 20): Promise<void> => {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('worker lease renewal', () => {
  it('tries a renewal the store refused (StoreUnavailableError) again before the lease runs out', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const base = memoryStore();
    let refusals = 1;
    const store: QueueStore = {
      ...base,
      extend: async (id, token, leaseUntil) => {
        if (refusals > 0) {
          refusals--;
          throw new StoreUnavailableError('the store is busy for a moment');
        }
        return base.extend(id, token, leaseUntil);
      },
    };
    const queue = createQueue<string>({ name: 'q', store, clock });
    const { id } = await queue.push('x');
    const errors: unknown[] = [];
    let aborted = false;
    let finish!: () => void;
    const worker = queue.process(
      (_job, { signal }) =>
        new Promise<void>((resolve) => {
          finish = resolve;
          signal.addEventListener('abort', () => {
            aborted = true;
          });
        }),
      { leaseMs: 1000, onError: (e) => errors.push(e) },
    );
    await settle();
    await clock.advance(500); // the first renewal is refused
    await settle();
    expect(errors.some((e) => isIntegError(e, 'ERR_STORE_UNAVAILABLE'))).toBe(true);
    // Before the lease (claimed at +0 for 1000 ms) ends, the worker has renewed it.
    await clock.advance(499);
    await settle();
    const record = await base.get(id);
    expect(record?.leaseUntil).toBeGreaterThan(1_001_000);
    // So another consumer finds nothing to take when the first lease would have ended.
    await clock.advance(1);
    const other = createQueue<string>({ name: 'q', store: base, clock });
    expect(await other.next()).toBeNull();
    expect(aborted).toBe(false);
    finish();
    await settle();
    expect((await queue.stats()).done).toBe(1);
    await worker.close();
  });

  it('stops renewing once the handler settled, so a job whose ack failed is delivered again', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const base = memoryStore();
    let ackFailures = 1;
    const store: QueueStore = {
      ...base,
      // A store that answers a renewal a moment later (a network store, a busy group commit).
      extend: (id, token, leaseUntil) =>
        new Promise((resolve, reject) => {
          clock.setTimeout(() => base.extend(id, token, leaseUntil).then(resolve, reject), 1);
        }),
      ack: async (id, token, now) => {
        if (ackFailures > 0) {
          ackFailures--;
          throw new StoreUnavailableError('the store is down for a moment');
        }
        return base.ack(id, token, now);
      },
    };
    const stalled: string[] = [];
    const queue = createQueue<string>({ name: 'q', store, clock, onStalled: (job) => stalled.push(job.id) });
    const { id } = await queue.push('x');
    const errors: unknown[] = [];
    // The handler finishes while the renewal issued at +500 is in flight.
    const worker = queue.process(
      () =>
        new Promise<void>((resolve) => {
          clock.setTimeout(resolve, 500);
        }),
      { leaseMs: 1000, onError: (e) => errors.push(e) },
    );
    await settle();
    await clock.advance(500);
    await settle();
    expect(errors.some((e) => isIntegError(e, 'ERR_STORE_UNAVAILABLE'))).toBe(true); // the ack was refused
    expect(worker.running).toBe(0);
    await clock.advance(10_000);
    await settle();
    // Nobody holds the job any more: its lease ended and it was delivered again (here to the same worker).
    const record = await base.get(id);
    expect(record?.status).toBe('done');
    expect(record?.attempts).toBe(2);
    expect(stalled).toEqual([id]);
    await worker.close();
  });
});
