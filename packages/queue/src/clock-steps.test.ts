/**
 * Wall-clock steps (NTP, a VM resumed, a manual change). Leases, delays and backoffs are wall-clock instants in
 * the store, the one time several processes share; the queue's own timers (renewal, polling, deadlines) count
 * elapsed time, as `setTimeout` does. These tests pin what a step does to each (README, "Clock steps").
 */
import { createQueue, memoryStore, type QueueStore } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

const HOUR = 3_600_000;

const wallClock = () => createFakeClock({ now: Date.UTC(2030, 0, 1) });

const turns = async (n = 20): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

const stores: [string, () => QueueStore][] = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: ':memory:' })],
];

for (const [name, create] of stores)
  describe(`wall-clock steps (${name})`, () => {
    it('a lease left by a crashed holder expires a step back later, not never', async () => {
      const clock = wallClock();
      const store = create();
      const queue = createQueue({ name: 'q', store, clock });
      await queue.push('x');
      await queue.next({ leaseMs: 1000 }); // the holder crashes: never acked, never renewed
      clock.setWallClock(clock.now() - HOUR);
      await clock.advance(1000);
      expect(await queue.next()).toBe(null);
      await clock.advance(HOUR);
      const again = await queue.next();
      expect([again?.payload, again?.stalled]).toEqual(['x', true]);
      await store.close();
    });

    it('a running worker keeps renewing its lease across a step back, and keeps polling', async () => {
      const clock = wallClock();
      const store = create();
      const queue = createQueue({ name: 'q', store, clock });
      const other = createQueue({ name: 'q', store, clock });
      let finish!: () => void;
      const ran: string[] = [];
      const worker = queue.process(
        (job) => {
          ran.push(job.payload as string);
          return job.payload === 'long' ? new Promise<void>((resolve) => (finish = resolve)) : undefined;
        },
        { leaseMs: 1000, concurrency: 2 },
      );
      await queue.push('long');
      await turns();
      // Back by more than the lease: unless renewals go on, the job is claimable 2.5 s of wall time later.
      clock.setWallClock(clock.now() - 1500);
      for (let i = 0; i < 10; i++) {
        await clock.advance(400);
        await turns();
      }
      expect(await other.next()).toBe(null);
      await other.push('after the step');
      await clock.advance(1000);
      await turns();
      expect(ran).toEqual(['long', 'after the step']);
      finish();
      await turns();
      const stats = await queue.stats();
      expect([stats.done, stats.processing, stats.oldestPendingAgeMs]).toEqual([2, 0, 0]);
      await worker.close();
      await store.close();
    });

    it('a step forward past the lease lets another holder take the job; the first is fenced off', async () => {
      const clock = wallClock();
      const store = create();
      const queue = createQueue({ name: 'q', store, clock });
      await queue.push('x');
      const first = await queue.next({ leaseMs: 30_000 });
      clock.setWallClock(clock.now() + HOUR);
      const second = await queue.next({ leaseMs: 30_000 });
      expect(second?.stalled).toBe(true);
      await expect(first?.ack()).rejects.toMatchObject({ code: 'ERR_LEASE_LOST' });
      await second?.ack();
      expect((await queue.stats()).done).toBe(1);
      await store.close();
    });

    it('does not hand out a job pushed before a step back until its due time comes again', async () => {
      const clock = wallClock();
      const store = create();
      const queue = createQueue({ name: 'q', store, clock });
      await queue.push('before');
      clock.setWallClock(clock.now() - HOUR);
      await queue.push('after');
      // stats() counts 'before' as delayed (README, "Clock steps"), so next() must not claim it either.
      expect((await queue.stats()).delayed).toBe(1);
      const after = await queue.next();
      expect(after?.payload).toBe('after');
      await after?.ack();
      expect(await queue.next()).toBe(null);
      await clock.advance(HOUR);
      expect((await queue.next())?.payload).toBe('before');
      await store.close();
    });

    it('keeps polling at its interval, not every 1 ms, after a step back of 30 days past a delayed job', async () => {
      const clock = wallClock();
      const store = create();
      let claims = 0;
      const claim = store.claim.bind(store);
      store.claim = (...args) => {
        claims++;
        return claim(...args);
      };
      const queue = createQueue({ name: 'q', store, clock });
      const worker = queue.process(() => {}, { pollInterval: 1000 });
      await turns();
      // Due within the poll interval: the worker arms a timer for it, then the clock steps back 30 days, so the
      // timer would next wait past 2^31 - 1 ms (~24.8 days), which a runtime fires after 1 ms.
      await queue.push('x', { delay: 500 });
      clock.setWallClock(clock.now() - 30 * 24 * HOUR);
      claims = 0;
      for (let i = 0; i < 10; i++) {
        await clock.advance(100);
        await turns();
      }
      expect(claims).toBeLessThanOrEqual(3);
      await worker.close();
      await store.close();
    });

    it('reports an oldest pending age of 0, not a negative one, for a job pushed before a step back', async () => {
      const clock = wallClock();
      const store = create();
      const queue = createQueue({ name: 'q', store, clock });
      await queue.push('x');
      clock.setWallClock(clock.now() - HOUR);
      const stats = await queue.stats();
      // The job is not due in the new wall time either: it was stamped an hour "ahead".
      expect([stats.pending, stats.delayed, stats.oldestPendingAgeMs]).toEqual([1, 1, 0]);
      await store.close();
    });
  });
