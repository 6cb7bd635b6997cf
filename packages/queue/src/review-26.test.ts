/**
 * Review round 26: a cross-review of round 25's fixes (3703461 and d981468): a release that close() tried and the
 * store refused (another queue object took the lapsed job over) no longer marks the lease lost, so its holder's
 * own ack()/fail() gets LeaseLostError. Angle: the same holder calling while that release is still in flight.
 */
import { createQueue, memoryStore, type QueueStore } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

const outcome = (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => 'ok',
    (error: unknown) => (error as { code?: string }).code ?? String(error),
  );

const stores: [string, () => QueueStore][] = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: ':memory:' })],
];

describe.each(stores)(
  'a job taken with next() while close() is returning it (%s store)',
  (_name, createStore) => {
    /**
     * A queue whose store holds close()'s release until `answer()`; its job taken with next() lapsed, and `other`
     * (another queue object on the store) took it over when `takenOver`.
     */
    async function releasing(takenOver: boolean) {
      const clock = createFakeClock({ now: 1_000_000 });
      const base = createStore();
      let answer: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        answer = resolve;
      });
      const store: QueueStore = Object.assign(Object.create(base) as QueueStore, {
        release: async (id: string, token: number, now: number) => {
          await held;
          return base.release(id, token, now);
        },
      });
      const queue = createQueue<string>({ name: 'q', store, clock });
      const other = createQueue<string>({ name: 'q', store, clock });
      await queue.push('a');
      const old = await queue.next({ leaseMs: 500 });
      if (old === null) throw new Error('no job');
      // Taken over while close() waits, so close() still holds it and returns it at its timeout (round 29: one taken
      // over before close() is no longer returned at all, decision 0206).
      const closing = queue.close({ timeout: 1000 });
      await clock.advance(500);
      if (takenOver) await other.next();
      await clock.advance(500);
      for (let i = 0; i < 5; i++) await null;
      return { clock, base, queue, old, closing, answer };
    }

    it.each([
      ['ack', (job: { ack(): Promise<void> }) => job.ack()],
      ['fail', (job: { fail(e: unknown): Promise<void> }) => job.fail(new Error('x'))],
      ['extend', (job: { extend(ms: number): Promise<void> }) => job.extend(1000)],
    ])(
      "taken over: its holder's %s() during the refused release says LeaseLostError, as after it",
      async (_, call) => {
        const { clock, base, old, closing, answer } = await releasing(true);
        const first = outcome(call(old));
        answer();
        await closing;
        expect(clock.pendingTimers).toBe(0);
        // Before: the holder's call found the lease marked settled by the release in flight ('this lease was already
        // settled', ERR_JOB_SETTLED), and its next call, once the refusal unmarked it, said LeaseLostError.
        expect(await first).toBe('ERR_LEASE_LOST');
        await base.close();
      },
    );

    it("not taken over: its holder's ack() during the release says JobSettledError naming close()", async () => {
      const { base, queue, old, closing, answer } = await releasing(false);
      const first = old.ack().catch((error: Error) => error.message);
      answer();
      await closing;
      expect(await first).toMatch(/close\(\) returned it to pending/);
      expect((await queue.get(old.id))?.status).toBe('pending');
      await base.close();
    });
  },
);
