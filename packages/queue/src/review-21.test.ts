/**
 * Review round 21: cases taken from the peers' own tests and documents, translated to our contract (README,
 * DESIGN.md) and run on memoryStore and sqliteStore (a file):
 * - BullMQ tests/stalled_jobs, priority, delay, deduplication, retry with backoff, removeOnComplete (here clean());
 * - pg-boss test/singletonTest, expireTest, retryTest, deadLetterTest (singleton keys, expiration, retry, DLQ);
 * - SQS ChangeMessageVisibility (a new timeout counts from the call), receipt handles (our fencing tokens),
 *   ApproximateReceiveCount (our attempts).
 * Priorities are ours (higher runs first; BullMQ's 1 is its highest), and a taken key returns the existing job
 * (pg-boss answers null).
 */
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createQueue,
  type Job,
  memoryStore,
  type QueueStore,
  StoreCorruptError,
  StoreLockedError,
} from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleQueueSources } from '../test/bundle.js';
import { type Child, forkChild } from '../test/children.js';
import { openTestDatabase } from '../test/sqlite-db.js';

const dir = mkdtempSync(join(tmpdir(), 'integ-queue-review-21-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const stores: [string, () => QueueStore][] = [
  ['memory', () => memoryStore()],
  ['sqlite file', () => sqliteStore({ path: join(dir, `ref-${++n}.db`) })],
];

const T0 = 1_700_000_000_000;

describe.each(stores)('peer-derived cases (%s)', (_name, createStore) => {
  function setup(options: Parameters<typeof createQueue>[0] extends infer O ? Partial<O> : never = {}) {
    const clock = createFakeClock({ now: T0 });
    const store = createStore();
    const events: string[] = [];
    const queue = createQueue<{ n: number } | number | string>({
      name: 'ref',
      store,
      clock,
      onStalled: (job) => events.push(`stalled ${job.id} ${job.status} ${job.attempts}`),
      onDead: (job) => events.push(`dead ${job.id}`),
      ...options,
    });
    const done = async () => {
      await queue.close({ timeout: 0 });
      await store.close();
    };
    return { clock, store, queue, events, done };
  }

  async function drain(queue: ReturnType<typeof setup>['queue']): Promise<unknown[]> {
    const order: unknown[] = [];
    for (let job = await queue.next(); job !== null; job = await queue.next()) {
      order.push(job.payload);
      await job.ack();
    }
    return order;
  }

  describe('priority (BullMQ priority.test, pg-boss priorityTest)', () => {
    it('runs higher priority first and keeps push order (FIFO) within a priority, past nine jobs', async () => {
      const { queue, done } = setup();
      const pushed: [number, number][] = [];
      for (let i = 0; i < 24; i++) pushed.push([i, [0, 5, -3][i % 3] as number]);
      for (const [i, priority] of pushed) await queue.push(i, { priority });
      const expected = [5, 0, -3].flatMap((p) => pushed.filter(([, q]) => q === p).map(([i]) => i));
      expect(await drain(queue)).toEqual(expected);
      await done();
    });

    it('keeps FIFO within a priority for a pushMany batch and for several claims at once', async () => {
      const { queue, done } = setup();
      await queue.pushMany(Array.from({ length: 15 }, (_, i) => i));
      await queue.pushMany([100, 101], { priority: 1 });
      const seen: unknown[] = [];
      const worker = queue.process(
        async (job) => {
          seen.push(job.payload);
        },
        { concurrency: 4 },
      );
      for (let i = 0; i < 20 && seen.length < 17; i++) await new Promise((r) => setImmediate(r));
      await worker.close();
      expect(seen).toEqual([100, 101, ...Array.from({ length: 15 }, (_, i) => i)]);
      await done();
    });
  });

  describe('delayed jobs (BullMQ delay.test)', () => {
    it('does not hand out a delayed job before its delay, and hands it out at once when due', async () => {
      const { queue, clock, done } = setup();
      await queue.push(1, { delay: 1000 });
      expect(await queue.next()).toBeNull();
      expect((await queue.stats()).delayed).toBe(1);
      await clock.advance(999);
      expect(await queue.next()).toBeNull();
      await clock.advance(1);
      expect((await queue.next())?.payload).toBe(1);
      await done();
    });

    it('runs delayed jobs in order of due time, whatever order they were pushed in; same due time in push order', async () => {
      const { queue, clock, done } = setup();
      await queue.push('late', { delay: 3000 });
      await queue.push('early', { delay: 1000 });
      await queue.push('mid-a', { delay: 2000 });
      await queue.push('mid-b', { delay: 2000 });
      await clock.advance(5000);
      expect(await drain(queue)).toEqual(['early', 'mid-a', 'mid-b', 'late']);
      await done();
    });

    it('runs a short-delayed job pushed after a long-delayed one first', async () => {
      const { queue, clock, done } = setup();
      await queue.push('long', { delay: 60_000 });
      await queue.push('short', { delay: 100 });
      await clock.advance(100);
      expect(await drain(queue)).toEqual(['short']);
      await clock.advance(60_000);
      expect(await drain(queue)).toEqual(['long']);
      await done();
    });

    it('puts a due delayed job of higher priority before older due jobs of lower priority', async () => {
      const { queue, clock, done } = setup();
      await queue.push('normal');
      await queue.push('urgent later', { delay: 500, priority: 10 });
      await clock.advance(500);
      expect(await drain(queue)).toEqual(['urgent later', 'normal']);
      await done();
    });

    it('keeps the delay of a job across a restart of the store (a delayed job is stored, not timed)', async () => {
      if (_name === 'memory') return;
      const path = join(dir, `restart-${++n}.db`);
      const clock = createFakeClock({ now: T0 });
      let store = sqliteStore({ path });
      await createQueue({ name: 'ref', store, clock }).push('later', { delay: 10_000 });
      await store.close();
      store = sqliteStore({ path });
      const queue = createQueue({ name: 'ref', store, clock });
      expect(await queue.next()).toBeNull();
      await clock.advance(10_000);
      expect((await queue.next())?.payload).toBe('later');
      await queue.close({ timeout: 0 });
      await store.close();
    });
  });

  describe('stalled jobs (BullMQ stalled_jobs.test, pg-boss expireTest)', () => {
    it('delivers a job again once its lease expired, stalled, with the attempt counted and a new token', async () => {
      const { queue, clock, events, done } = setup({ attempts: 3 });
      const { id } = await queue.push(1);
      const first = await queue.next({ leaseMs: 1000 });
      expect(first).toMatchObject({ attempts: 1, stalled: false, token: 1 });
      await clock.advance(999);
      expect(await queue.next()).toBeNull();
      await clock.advance(1);
      const second = await queue.next({ leaseMs: 1000 });
      expect(second).toMatchObject({ id, attempts: 2, stalled: true, token: 2 });
      expect(events).toEqual([`stalled ${id} processing 2`]);
      await second?.ack();
      expect((await queue.get(id))?.status).toBe('done');
      await done();
    });

    it('dead-letters a job whose last attempt stalled (BullMQ: stalled more than allowable limit)', async () => {
      const { queue, clock, events, done } = setup({ attempts: 2 });
      const { id } = await queue.push(1);
      await queue.next({ leaseMs: 100 });
      await clock.advance(100);
      await queue.next({ leaseMs: 100 });
      await clock.advance(100);
      expect(await queue.next()).toBeNull();
      const job = await queue.get(id);
      expect(job).toMatchObject({ status: 'dead', attempts: 2 });
      expect(job?.lastError).toMatch(/^LeaseExpiredError/);
      expect(events).toEqual([`stalled ${id} processing 2`, `stalled ${id} dead 2`, `dead ${id}`]);
      expect(await queue.stats()).toMatchObject({ processing: 0, dead: 1 });
      await done();
    });

    it('gives a stalled job its place in claim order, not the front (a lower-priority stalled job waits)', async () => {
      const { queue, clock, done } = setup();
      await queue.push('stalls', { priority: 0 });
      await queue.next({ leaseMs: 100 });
      await queue.push('urgent', { priority: 1 });
      await queue.push('normal-later', { priority: 0 });
      await clock.advance(100);
      const order: unknown[] = [];
      for (let job = await queue.next(); job !== null; job = await queue.next()) {
        order.push(`${job.payload}${job.stalled ? ' (stalled)' : ''}`);
        await job.ack();
      }
      expect(order).toEqual(['urgent', 'stalls (stalled)', 'normal-later']);
      await done();
    });

    it('never delivers a job twice while its worker keeps renewing the lease, however long the handler runs', async () => {
      const { queue, store, clock, events, done } = setup();
      const other = createQueue({ name: 'ref', store, clock });
      const { id } = await queue.push(1);
      let finish: () => void = () => {};
      const worker = queue.process(() => new Promise<void>((resolve) => (finish = resolve)), {
        leaseMs: 100,
      });
      const tick = () => new Promise((r) => setImmediate(r));
      for (let i = 0; i < 5; i++) await tick();
      for (let t = 0; t < 2000; t += 10) {
        await clock.advance(10);
        // Real ticks: a SQLite write commits on setImmediate, not on the fake clock.
        await tick();
        await tick();
        expect(await other.next()).toBeNull();
      }
      finish();
      for (let i = 0; i < 10 && (await queue.get(id))?.status !== 'done'; i++) await tick();
      expect(await queue.get(id)).toMatchObject({ status: 'done', attempts: 1 });
      expect(events).toEqual([]);
      await worker.close();
      await other.close();
      await done();
    });
  });

  describe('retry with backoff (BullMQ retry tests, pg-boss retryTest)', () => {
    it('waits the default exponential backoff (1 s, then 2 s) between attempts and is dead after the last, with lastError', async () => {
      const { queue, clock, events, done } = setup();
      const failed: string[] = [];
      const q = createQueue<number>({
        name: 'ref',
        store: queue.store,
        clock,
        onFailed: (job) => failed.push(`${job.status} ${job.runAt}`),
      });
      const { id } = await q.push(1);
      const run = async () => {
        const job = await q.next();
        expect(job?.id).toBe(id);
        await job?.fail(new Error(`boom ${job.attempts}`));
      };
      await run();
      expect(await q.get(id)).toMatchObject({ status: 'pending', attempts: 1, lastError: 'Error: boom 1' });
      await clock.advance(999);
      expect(await q.next()).toBeNull();
      await clock.advance(1);
      await run();
      await clock.advance(1999);
      expect(await q.next()).toBeNull();
      await clock.advance(1);
      await run();
      expect(await q.get(id)).toMatchObject({ status: 'dead', attempts: 3, lastError: 'Error: boom 3' });
      expect(failed).toEqual([
        `pending ${new Date(T0 + 1000).toISOString()}`,
        `pending ${new Date(T0 + 3000).toISOString()}`,
        // A dead job keeps the due time of its last run.
        `dead ${new Date(T0 + 3000).toISOString()}`,
      ]);
      expect(events).toEqual([]);
      await q.close();
      await done();
    });

    it("uses the job's own backoff spec, kept with it (fixed 250 ms)", async () => {
      const { queue, clock, done } = setup();
      const { id } = await queue.push(1, { attempts: 2, backoff: { type: 'constant', delay: 250 } });
      await (await queue.next())?.fail(new Error('x'));
      await clock.advance(249);
      expect(await queue.next()).toBeNull();
      await clock.advance(1);
      expect((await queue.next())?.id).toBe(id);
      await done();
    });

    it('dead-letters at once on an error marked retryable: false (BullMQ UnrecoverableError)', async () => {
      const { queue, events, done } = setup({ attempts: 5 });
      const { id } = await queue.push(1);
      await (await queue.next())?.fail(Object.assign(new Error('bad input'), { retryable: false }));
      expect(await queue.get(id)).toMatchObject({ status: 'dead', attempts: 1 });
      expect(events).toEqual([`dead ${id}`]);
      await done();
    });

    it('runs a failed job again with process() after its backoff, then acks it', async () => {
      const { queue, clock, done } = setup({ backoff: 100 });
      const { id } = await queue.push(1);
      let calls = 0;
      const worker = queue.process(
        async () => {
          calls++;
          if (calls === 1) throw new Error('first try fails');
        },
        { pollInterval: 50 },
      );
      for (let i = 0; i < 10 && calls < 1; i++) await new Promise((r) => setImmediate(r));
      expect(calls).toBe(1);
      await clock.advance(100);
      for (let i = 0; i < 10 && calls < 2; i++) await clock.advance(50);
      for (let i = 0; i < 10 && (await queue.get(id))?.status !== 'done'; i++)
        await new Promise((r) => setImmediate(r));
      expect(await queue.get(id)).toMatchObject({ status: 'done', attempts: 2 });
      await worker.close();
      await done();
    });
  });

  describe('deduplication (BullMQ deduplication.test, pg-boss singletonTest)', () => {
    it('returns the existing job for a key while it is pending, processing, or waiting for a retry', async () => {
      const { queue, done } = setup();
      const first = await queue.push(1, { key: 'k' });
      expect((await queue.push(2, { key: 'k' })).id).toBe(first.id);
      const leased = await queue.next();
      const during = await queue.push(3, { key: 'k' });
      expect(during).toMatchObject({ id: first.id, status: 'processing', payload: 1 });
      await leased?.fail(new Error('retry later'));
      expect(await queue.push(4, { key: 'k' })).toMatchObject({ id: first.id, status: 'pending' });
      expect((await queue.stats()).total).toBe(1);
      await done();
    });

    it('takes a new job with the key once the holder is done or dead', async () => {
      const { queue, done } = setup({ attempts: 1 });
      const first = await queue.push(1, { key: 'k' });
      await (await queue.next())?.ack();
      const second = await queue.push(2, { key: 'k' });
      expect(second.id).not.toBe(first.id);
      await (await queue.next())?.fail(new Error('x'));
      expect((await queue.get(second.id))?.status).toBe('dead');
      const third = await queue.push(3, { key: 'k' });
      expect([first.id, second.id]).not.toContain(third.id);
      expect(third.status).toBe('pending');
      await done();
    });

    it('keys are per queue: the same key in another queue of the store is another job', async () => {
      const { queue, store, clock, done } = setup();
      const other = createQueue({ name: 'other', store, clock });
      const a = await queue.push(1, { key: 'k' });
      const b = await other.push(1, { key: 'k' });
      expect(b.id).not.toBe(a.id);
      await other.close();
      await done();
    });

    it('redrive skips a dead job whose key a live job now holds, and moves it once the key is free', async () => {
      const { queue, done } = setup({ attempts: 1 });
      const dead = await queue.push(1, { key: 'k' });
      await (await queue.next())?.fail(new Error('x'));
      const live = await queue.push(2, { key: 'k' });
      expect(await queue.redrive()).toBe(0);
      const job = await queue.next();
      expect(job?.id).toBe(live.id);
      await job?.ack();
      expect(await queue.redrive()).toBe(1);
      expect(await queue.get(dead.id)).toMatchObject({ status: 'pending', attempts: 0 });
      await done();
    });
  });

  describe('removeOnComplete / removeOnFail (BullMQ), here clean()', () => {
    it('removes only done (or dead) jobs finished longer ago than olderThan, nothing live', async () => {
      const { queue, clock, done } = setup({ attempts: 1 });
      await queue.pushMany([1, 2, 3, 4]);
      await (await queue.next())?.ack();
      await (await queue.next())?.fail(new Error('x'));
      await clock.advance(1000);
      await (await queue.next())?.ack();
      // 4 stays pending; job 3 finished just now.
      expect(await queue.clean({ status: 'done', olderThan: 500 })).toBe(1);
      expect(await queue.clean({ status: 'dead', olderThan: 500 })).toBe(1);
      expect(await queue.clean({ status: 'done', olderThan: 0 })).toBe(0);
      await clock.advance(1);
      expect(await queue.clean({ status: 'done', olderThan: 0 })).toBe(1);
      expect(await queue.stats()).toMatchObject({ pending: 1, done: 0, dead: 0, total: 1 });
      await done();
    });
  });

  describe('visibility timeout and receipt handles (SQS)', () => {
    it('extend(ms) counts from the call, not from the claim (ChangeMessageVisibility)', async () => {
      const { queue, clock, done } = setup();
      await queue.push(1);
      const job = await queue.next({ leaseMs: 60_000 });
      await clock.advance(15_000);
      await job?.extend(10_000);
      expect(job?.leaseUntil).toBe(T0 + 25_000);
      await clock.advance(9_999);
      expect(await queue.next()).toBeNull();
      await clock.advance(1);
      expect(await queue.next()).toMatchObject({ stalled: true, attempts: 2 });
      await done();
    });

    it('gives the next delivery the lease asked at its claim, not an extension of the previous one', async () => {
      const { queue, clock, done } = setup();
      await queue.push(1);
      const first = await queue.next({ leaseMs: 100 });
      await first?.extend(10_000);
      await clock.advance(10_000);
      const second = await queue.next({ leaseMs: 100 });
      expect(second?.leaseUntil).toBe(T0 + 10_100);
      await done();
    });

    it('refuses ack, fail and extend with a stale token (an old receipt handle) and changes nothing', async () => {
      const { queue, clock, done } = setup();
      const { id } = await queue.push(1);
      const stale = await queue.next({ leaseMs: 100 });
      await clock.advance(100);
      const fresh = await queue.next({ leaseMs: 1000 });
      expect(fresh?.token).toBeGreaterThan(stale?.token ?? Infinity);
      await expect(stale?.extend(5000)).rejects.toMatchObject({ code: 'ERR_LEASE_LOST' });
      await expect(stale?.ack()).rejects.toMatchObject({ code: 'ERR_LEASE_LOST' });
      const again = createQueue({ name: 'ref', store: queue.store, clock });
      expect(await again.get(id)).toMatchObject({ status: 'processing', attempts: 2 });
      await fresh?.fail(new Error('x'), { retry: false });
      expect((await queue.get(id))?.status).toBe('dead');
      await again.close();
      await done();
    });

    it('counts every delivery in attempts (ApproximateReceiveCount) and dead-letters past the limit (maxReceiveCount)', async () => {
      const { queue, clock, done } = setup({ attempts: 3 });
      const { id } = await queue.push(1);
      const counts: number[] = [];
      for (let i = 0; i < 3; i++) {
        const job = await queue.next({ leaseMs: 10 });
        counts.push(job?.attempts ?? -1);
        await clock.advance(10);
      }
      expect(counts).toEqual([1, 2, 3]);
      expect(await queue.next()).toBeNull();
      expect((await queue.list({ status: 'dead' })).map((j: Job) => j.id)).toEqual([id]);
      await done();
    });

    it('lets a holder whose lease expired settle while no one took the job over (documented, unlike SQS)', async () => {
      const { queue, clock, done } = setup();
      const { id } = await queue.push(1);
      const job = await queue.next({ leaseMs: 100 });
      await clock.advance(500);
      await job?.ack();
      expect((await queue.get(id))?.status).toBe('done');
      await done();
    });
  });

  describe('dead letters (pg-boss deadLetterTest, SQS redrive)', () => {
    it('lists dead jobs with their last error, and redrive gives them fresh attempts, due now', async () => {
      const { queue, clock, done } = setup({ attempts: 1 });
      const a = await queue.push(1);
      const b = await queue.push(2);
      await (await queue.next())?.fail(new Error('first'));
      await (await queue.next())?.fail(new Error('second'));
      const dead = await queue.list({ status: 'dead' });
      expect(dead.map((j) => [j.id, j.lastError])).toEqual([
        [a.id, 'Error: first'],
        [b.id, 'Error: second'],
      ]);
      await clock.advance(1000);
      expect(await queue.redrive({ ids: [b.id] })).toBe(1);
      const job = await queue.next();
      expect(job).toMatchObject({ id: b.id, attempts: 1, runAt: new Date(T0 + 1000).toISOString() });
      await done();
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Crash safety on SQLite, beyond test/crash.test.ts: several processes on one file at once, a worker killed around
// its ack, a file another connection keeps locked, a damaged file. The children run a bundle of the sources (0031).

const children = new Set<ChildProcess>();
let bundle = '';
const run = (script: Record<string, string>): Child =>
  forkChild(children, 'review-21.mjs', { QUEUE_BUNDLE: bundle, ...script });

describe('sqlite crash safety (child processes on one file)', () => {
  beforeAll(async () => {
    bundle = await bundleQueueSources('review-21-test');
  }, 60_000);
  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
  });

  it('with a producer and two workers at once: loses no push, runs a job again only after its lease expired, fences the late holder', async () => {
    const path = join(dir, `pool-${++n}.db`);
    await sqliteStore({ path }).close();
    const lease = 100;
    const logs = [0, 1].map((w) => join(dir, `pool-worker-${w}.log`));
    const pushed = join(dir, 'pool-pushed.log');
    const workers = [0, 1].map((w) =>
      run({
        ROLE: 'worker',
        DB_PATH: path,
        LOG: logs[w] as string,
        LEASE_MS: String(lease),
        SEED: String(2100 + w),
      }),
    );
    await Promise.all(workers.map((w) => w.ready));
    const producer = run({ ROLE: 'producer', DB_PATH: path, LOG: pushed, COUNT: '400', NAME: 'p' });
    expect(await producer.exited).toBe(0);
    for (const w of workers) w.child.send('finish');
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0]);

    const acked = readFileSync(pushed, 'utf8').split('\n').filter(Boolean);
    const db = openTestDatabase(path, { readonly: true });
    const rows = db
      .prepare("SELECT id, payload, status, token, attempts FROM integ_jobs WHERE queue = 'pool'")
      .all() as {
      id: number;
      payload: string;
      status: string;
      token: number;
      attempts: number;
    }[];
    db.close();
    const byName = new Map(rows.map((r) => [(JSON.parse(r.payload) as { name: string }).name, r]));
    expect(acked.length).toBe(400);
    expect(rows.length).toBe(400);
    expect(acked.filter((name) => byName.get(name)?.status !== 'done')).toEqual([]);

    const runs = new Map<string, { token: number; stalled: boolean }[]>();
    const applied = new Map<string, number[]>();
    const errors: string[] = [];
    for (const log of logs)
      for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
        const [kind, a, b, token, stalled] = line.split(' ') as string[];
        if (kind === 'run')
          runs.set(a as string, [
            ...(runs.get(a as string) ?? []),
            { token: Number(token), stalled: stalled === '1' },
          ]);
        else if (kind === 'acked') applied.set(a as string, [...(applied.get(a as string) ?? []), Number(b)]);
        else errors.push(line);
      }
    const problems: string[] = [];
    let takenOver = 0;
    for (const [name, row] of byName) {
      const list = (runs.get(name) ?? []).sort((x, y) => x.token - y.token);
      // Every claim of the job started one run, each with its own token, in order; the ack that applied was the
      // last holder's (the row keeps its token); a run after the first is a delivery after an expired lease.
      if (list.map((r) => r.token).join() !== Array.from({ length: list.length }, (_, i) => i + 1).join())
        problems.push(`${name}: tokens ${list.map((r) => r.token).join()}`);
      if (row.token !== list.length || row.attempts !== list.length)
        problems.push(`${name}: row token ${row.token}, attempts ${row.attempts}, runs ${list.length}`);
      if (list.slice(1).some((r) => !r.stalled)) problems.push(`${name}: ran again without an expired lease`);
      // One ack applied, the last holder's: a late holder's ack was fenced off.
      if ((applied.get(name) ?? []).join() !== String(list.length))
        problems.push(`${name}: acks applied for claims [${applied.get(name)?.join()}] of ${list.length}`);
      if (list.length > 1) takenOver++;
    }
    expect(problems).toEqual([]);
    // Each late holder was told, with LeaseLostError naming the job and its stale token; nothing else went wrong.
    expect(errors.filter((line) => !/^error ERR_LEASE_LOST \d+ \d+$/.test(line))).toEqual([]);
    const lostHolders = new Set(errors.map((line) => line.split(' ').slice(2).join(' ')));
    expect(lostHolders.size).toBe([...runs.values()].reduce((sum, list) => sum + list.length - 1, 0));
    // Only a test of takeovers if some happened.
    expect(takenOver).toBeGreaterThan(0);
  }, 30_000);

  describe('a worker killed around its ack', () => {
    async function killed(kill: 'before' | 'inside' | 'after') {
      const path = join(dir, `ackkill-${kill}-${++n}.db`);
      const lease = 300;
      const clockless = createQueue({ name: 'q', store: sqliteStore({ path }) });
      await clockless.pushMany(Array.from({ length: 200 }, (_, i) => i));
      await clockless.close();
      await clockless.store.close();
      const log = join(dir, `ackkill-${kill}-${n}.log`);
      const child = run({
        ROLE: 'ackkill',
        DB_PATH: path,
        LOG: log,
        LEASE_MS: String(lease),
        COUNT: '200',
        KILL: kill,
        KILL_AT: '100',
      });
      expect(await child.exited).toBe(null);
      const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
      expect(lines[0]?.split(' ')).toHaveLength(200);
      const db = openTestDatabase(path, { readonly: true });
      expect(db.prepare('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
      const counts = db
        .prepare('SELECT status, COUNT(*) AS n, MAX(token) AS token FROM integ_jobs GROUP BY status')
        .all();
      const { leaseEnd, lastLeaseEnd } = db
        .prepare('SELECT MIN(lease_until) AS leaseEnd, MAX(lease_until) AS lastLeaseEnd FROM integ_jobs')
        .get() as { leaseEnd: number | null; lastLeaseEnd: number | null };
      db.close();
      return { path, lease, lines, counts, leaseEnd, lastLeaseEnd };
    }

    it.each(['before', 'inside'] as const)(
      'killed %s the commit of its acks: no ack applied; every job comes back once its lease ran out, stalled',
      async (kill) => {
        const { path, lines, counts, leaseEnd, lastLeaseEnd } = await killed(kill);
        expect(lines).toHaveLength(1);
        expect(counts).toEqual([{ status: 'processing', n: 200, token: 1 }]);
        // The child leased on the real clock; here a fake one stands just before its first lease ends, then at its last.
        const clock = createFakeClock({ now: (leaseEnd as number) - 1 });
        const store = sqliteStore({ path });
        const queue = createQueue({ name: 'q', store, clock });
        // Not before the lease ends (the dead worker's leases still hold): only a claim after it takes them.
        expect(await queue.next()).toBeNull();
        await clock.advance((lastLeaseEnd as number) - (leaseEnd as number) + 1);
        const again = await Promise.all(Array.from({ length: 200 }, () => queue.next()));
        expect(again.every((job) => job?.stalled === true && job.token === 2 && job.attempts === 2)).toBe(
          true,
        );
        await Promise.all(again.map((job) => job?.ack()));
        expect(await queue.stats()).toMatchObject({ done: 200, processing: 0, pending: 0 });
        await queue.close();
        await store.close();
      },
    );

    it('killed once its acks resolved: every job is done and never delivered again', async () => {
      const { path, lease, lines, counts } = await killed('after');
      expect(lines[1]).toBe('acked');
      expect(counts).toEqual([{ status: 'done', n: 200, token: 1 }]);
      // Long after its leases would have ended (a fake clock: no real wait).
      const clock = createFakeClock({ now: Date.now() + 100 * lease });
      const store = sqliteStore({ path });
      const queue = createQueue({ name: 'q', store, clock });
      expect(await queue.next()).toBeNull();
      await queue.close();
      await store.close();
    });
  });

  it('killed in the middle of a group commit of pushes: none of them is stored, and the file is intact', async () => {
    const path = join(dir, `pushkill-${++n}.db`);
    const store = sqliteStore({ path });
    await createQueue({ name: 'q', store }).push('before');
    await store.close();
    const child = run({ ROLE: 'pushkill', DB_PATH: path, COUNT: '100', KILL_AT: '60' });
    expect(await child.exited).toBe(null);
    const db = openTestDatabase(path, { readonly: true });
    expect(db.prepare('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
    expect(db.prepare('SELECT payload FROM integ_jobs').all()).toEqual([{ payload: '"before"' }]);
    db.close();
  });

  describe('a file another connection holds a write transaction on', () => {
    it('waits for the lock when it is released within busyTimeout, and both writes are kept', async () => {
      const path = join(dir, `wait-lock-${++n}.db`);
      const store = sqliteStore({ path, busyTimeout: 5000 });
      const queue = createQueue({ name: 'q', store });
      await queue.push('before');
      const locker = run({ ROLE: 'locker', DB_PATH: path, HOLD_MS: '150', END: 'commit' });
      await locker.ready;
      const during = await queue.push('during');
      expect(during.status).toBe('pending');
      expect(await locker.exited).toBe(0);
      expect((await queue.list()).map((job) => job.payload)).toEqual(['before', 'from the locker', 'during']);
      await queue.close();
      await store.close();
    });

    it('refuses a push, a pushMany and a claim past busyTimeout with StoreLockedError naming the file, writing nothing', async () => {
      const path = join(dir, `held-lock-${++n}.db`);
      const store = sqliteStore({ path, busyTimeout: 50 });
      const queue = createQueue({ name: 'q', store });
      await queue.push('before');
      const locker = run({ ROLE: 'locker', DB_PATH: path, HOLD_MS: '400', END: 'rollback' });
      await locker.ready;
      const errors = await Promise.all(
        [queue.push('one'), queue.pushMany(['a', 'b', 'c']), queue.next()].map((p) =>
          (p as Promise<unknown>).then(
            () => undefined,
            (e: unknown) => e,
          ),
        ),
      );
      // Reads do not wait: WAL readers see the last commit.
      expect(await queue.stats()).toMatchObject({ pending: 1, processing: 0, total: 1 });
      for (const error of errors) {
        expect(error).toBeInstanceOf(StoreLockedError);
        expect(error).toMatchObject({ code: 'ERR_STORE_LOCKED', retryable: true });
        expect((error as Error).message).toContain(path);
      }
      expect(await locker.exited).toBe(0);
      // The locker rolled back: nothing of it, nothing of the refused calls, and the job was never leased.
      const jobs = await queue.list();
      expect(jobs.map((job) => [job.payload, job.status, job.attempts])).toEqual([['before', 'pending', 0]]);
      const job = await queue.next();
      expect(job?.token).toBe(1);
      await job?.ack();
      await queue.close();
      await store.close();
    });

    it('refuses to open past busyTimeout while another connection holds the file exclusively, naming it', () => {
      const path = join(dir, `exclusive-${++n}.db`);
      void sqliteStore({ path }).close();
      const other = openTestDatabase(path);
      other.exec('PRAGMA locking_mode = EXCLUSIVE');
      other.exec('BEGIN EXCLUSIVE');
      other.exec('UPDATE integ_jobs SET priority = 1');
      try {
        let error: unknown;
        try {
          sqliteStore({ path, busyTimeout: 50 });
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(StoreLockedError);
        expect((error as Error).message).toContain(path);
      } finally {
        other.exec('ROLLBACK');
        other.close();
      }
    });
  });

  describe('a damaged file', () => {
    async function filled(name: string): Promise<string> {
      const path = join(dir, `${name}-${++n}.db`);
      const store = sqliteStore({ path });
      await createQueue({ name: 'q', store }).pushMany(
        Array.from({ length: 3000 }, (_, i) => ({ i, pad: 'x'.repeat(100) })),
      );
      await store.close();
      const db = openTestDatabase(path);
      db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      db.close();
      return path;
    }

    it.each([
      ['to half its pages', (size: number) => Math.floor(size / 2 / 4096) * 4096],
      ['mid-page', () => 3 * 4096 + 17],
      ['inside its header', () => 60],
    ])(
      'refuses a file truncated %s with StoreCorruptError naming the path, at sqliteStore()',
      async (_how, cut) => {
        const path = await filled('truncated');
        truncateSync(path, cut(statSync(path).size));
        let error: unknown;
        try {
          sqliteStore({ path });
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(StoreCorruptError);
        expect((error as Error).message).toContain(path);
      },
    );

    it('keeps every commit before a write-ahead log torn mid-frame, and no part of the torn one', async () => {
      const path = join(dir, `torn-${++n}.db`);
      const copy = join(dir, `torn-copy-${n}.db`);
      const store = sqliteStore({ path });
      const queue = createQueue({ name: 'q', store });
      await queue.pushMany(Array.from({ length: 50 }, (_, i) => i));
      const walBefore = statSync(`${path}-wal`).size;
      await queue.pushMany(Array.from({ length: 500 }, (_, i) => ({ i, pad: 'y'.repeat(200) })));
      // The file as a crash in the middle of appending the second commit leaves it.
      copyFileSync(path, copy);
      copyFileSync(`${path}-wal`, `${copy}-wal`);
      const walAfter = statSync(`${copy}-wal`).size;
      expect(walAfter).toBeGreaterThan(walBefore + 8192);
      truncateSync(`${copy}-wal`, walAfter - 2000);
      await queue.close();
      await store.close();
      const reopened = sqliteStore({ path: copy });
      const q = createQueue({ name: 'q', store: reopened });
      expect((await q.list({ limit: 1000 })).map((job) => job.payload)).toEqual(
        Array.from({ length: 50 }, (_, i) => i),
      );
      await q.close();
      await reopened.close();
    });
  });
});

describe.each(stores)('worker wake-ups for delayed jobs and retries (%s)', (_name, createStore) => {
  // BullMQ's delay.test: delayed jobs run in due order, each within a small margin of its delay. A worker learns the
  // due time of a push or a retry on its own queue object; it must wake then, not at its next poll.
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  };

  it('runs a job pushed with a delay longer than pollInterval when it falls due, not at a later poll', async () => {
    const clock = createFakeClock({ now: T0 });
    const store = createStore();
    const queue = createQueue<string>({ name: 'wake', store, clock });
    const ran: string[] = [];
    const worker = queue.process(
      async (job) => {
        ran.push(`${job.payload}@${clock.now() - T0}`);
      },
      { pollInterval: 1000 },
    );
    await settle();
    await queue.push('a', { delay: 1500 });
    await queue.push('b', { delay: 2300 });
    for (let t = 0; t < 3000; t += 50) {
      await clock.advance(50);
      await settle();
    }
    expect(ran).toEqual(['a@1500', 'b@2300']);
    await worker.close();
    await queue.close();
    await store.close();
  });

  it('runs a retry whose backoff is longer than pollInterval when it falls due', async () => {
    const clock = createFakeClock({ now: T0 });
    const store = createStore();
    const queue = createQueue<string>({ name: 'wake', store, clock, backoff: 90_000 });
    const ran: number[] = [];
    const worker = queue.process(
      async (job) => {
        ran.push(clock.now() - T0);
        if (job.attempts === 1) throw new Error('once');
      },
      { pollInterval: 60_000 },
    );
    await settle();
    await queue.push('flaky');
    await settle();
    for (let t = 0; t < 180_000; t += 1000) {
      await clock.advance(1000);
      await settle();
    }
    expect(ran).toEqual([0, 90_000]);
    await worker.close();
    await queue.close();
    await store.close();
  });
});

describe('worker wake-ups, property', () => {
  it('starts every job pushed through its queue object at its due time, whatever the delays and pollInterval', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 200_000 }), { minLength: 1, maxLength: 30 }),
        // From 20 ms: the clock fires every poll of the 200 s advanced, and 1 ms polls (200,000 of them, fast-check's
        // bias picks small values often) made this one test take 12-14 s of its 20 s timeout in a loaded CI run. A
        // poll that short finds each job at its due time by itself; the wake-up timer matters for the long ones.
        fc.integer({ min: 20, max: 100_000 }),
        async (delays, pollInterval) => {
          const clock = createFakeClock({ now: T0 });
          const queue = createQueue<number>({ name: 'p', store: memoryStore(), clock });
          const started: [number, number][] = [];
          const worker = queue.process(
            async (job) => {
              started.push([job.payload, clock.now() - T0]);
            },
            { pollInterval, concurrency: delays.length },
          );
          for (const [i, delay] of delays.entries()) await queue.push(i, { delay });
          await clock.advance(200_001);
          expect(started.sort((a, b) => a[0] - b[0])).toEqual(delays.map((delay, i) => [i, delay]));
          await worker.close();
          await queue.close();
        },
      ),
      { seed: 2121, numRuns: 100 },
    );
  });
});
