/**
 * A black-box reading of the queue's spec: every sentence of issue 5's Features and DESIGN.md's
 * @integ/queue contract, checked through the public entry points (`@integ/queue`, `@integ/queue/sqlite`)
 * on both stores, as an outside suite would. Written from the issue, DESIGN.md and the README only.
 * Time runs on a fake clock; only SQLite's own locking and a killed child process use real time.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, isIntegError, TimeoutError } from '@integ/core';
import {
  createQueue,
  JOB_STATUSES,
  JobSettledError,
  LeaseLostError,
  memoryStore,
  PayloadError,
  PayloadTooLargeError,
  type Queue,
  QueueClosedError,
  type QueueOptions,
  type QueueStore,
  StoreCorruptError,
  StoreLockedError,
  StoreUnavailableError,
} from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { queueConformance } from '@integ/queue/testing';
import { exponential } from '@integ/retry';
import { createFakeClock, type FakeClock } from '@integ/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openTestDatabase, testDriver } from '../test/sqlite-db.js';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

// Lets queued promise callbacks and SQLite's group commits (one event-loop turn) run.
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await turn();
  }
  throw new Error(`never happened: ${what}`);
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'integ-queue-blackbox-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Backend {
  readonly name: string;
  create(): QueueStore;
}

const backends: Backend[] = [
  { name: 'memoryStore()', create: () => memoryStore() },
  { name: 'sqliteStore({ path })', create: () => sqliteStore({ path: join(tempDir(), 'jobs.db') }) },
];

describe.each(backends)('@integ/queue on $name', (backend) => {
  let clock: FakeClock;
  let store: QueueStore;
  let open: Queue<unknown>[];

  beforeEach(() => {
    clock = createFakeClock({ now: T0 });
    store = backend.create();
    open = [];
  });

  afterEach(async () => {
    for (const queue of open) {
      const closing = queue.close({ timeout: 0 });
      await clock.advance(1);
      await closing;
    }
    await store.close();
  });

  function makeQueue<T = unknown>(options: Partial<QueueOptions<T>> = {}): Queue<T> {
    const queue = createQueue<T>({ name: 'q', store, clock, ...options } as QueueOptions<T>);
    open.push(queue as Queue<unknown>);
    return queue;
  }

  describe('createQueue({ name, store })', () => {
    it('returns a queue with push, pushMany, next, process, stats and close', () => {
      const queue = makeQueue();
      for (const method of ['push', 'pushMany', 'next', 'process', 'stats', 'close'] as const)
        expect(typeof queue[method]).toBe('function');
    });

    it('partitions one store by name: a queue never sees the jobs of another', async () => {
      const a = makeQueue({ name: 'a' });
      const b = makeQueue({ name: 'b' });
      await a.push('for a');
      expect(await b.next()).toBeNull();
      expect((await b.stats()).pending).toBe(0);
      expect((await a.next())?.payload).toBe('for a');
    });

    it('refuses a missing name or store with InvalidArgumentError', () => {
      expect(() => createQueue({ name: '', store } as QueueOptions)).toThrow(InvalidArgumentError);
      expect(() => createQueue({ name: 'q' } as QueueOptions)).toThrow(InvalidArgumentError);
    });
  });

  describe('push(payload, options)', () => {
    it('resolves with a job shaped { id, timestamp, payload, status: "pending", attempts: 0 }', async () => {
      const queue = makeQueue<{ to: string }>();
      const job = await queue.push({ to: 'a@example.com' });
      expect(typeof job.id).toBe('string');
      expect(job.id.length).toBeGreaterThan(0);
      expect(job.timestamp).toMatch(ISO_8601);
      expect(Date.parse(job.timestamp)).toBe(T0);
      expect(job.payload).toEqual({ to: 'a@example.com' });
      expect(job.status).toBe('pending');
      expect(job.attempts).toBe(0);
    });

    it('gives every job its own id', async () => {
      const queue = makeQueue();
      const jobs = await Promise.all(Array.from({ length: 50 }, (_, i) => queue.push(i)));
      expect(new Set(jobs.map((job) => job.id)).size).toBe(50);
    });

    it('stores the job: get(id) returns the same shape, payload round-tripped through JSON', async () => {
      const queue = makeQueue();
      const payload = { s: 'é\u{1F600}', n: 1.5, b: true, z: null, a: [1, 'x', { d: [] }] };
      const job = await queue.push(payload);
      const read = await queue.get(job.id);
      expect(read).toMatchObject({ id: job.id, timestamp: job.timestamp, status: 'pending', attempts: 0 });
      expect(read?.payload).toEqual(payload);
    });

    it('stores a copy: changing the object after push, or a delivered payload, changes no stored job', async () => {
      const queue = makeQueue<{ list: number[] }>();
      const payload = { list: [1] };
      const job = await queue.push(payload);
      payload.list.push(2);
      const delivered = await queue.next();
      expect(delivered?.payload).toEqual({ list: [1] });
      delivered?.payload.list.push(3);
      expect((await queue.get(job.id))?.payload).toEqual({ list: [1] });
      await delivered?.fail(new Error('again'), { delay: 0 });
      expect((await queue.next())?.payload).toEqual({ list: [1] });
    });

    it('refuses options out of range with InvalidArgumentError and stores nothing', async () => {
      const queue = makeQueue();
      const bad = [
        { delay: -1 },
        { delay: Number.NaN },
        { priority: 1.5 },
        { attempts: 0 },
        { attempts: 1001 },
        { key: 42 },
        { backoff: { type: 'exponential', delay: 10, maxDelay: 5 } },
        { backoff: () => 10 },
      ];
      for (const options of bad)
        await expect(queue.push('x', options as never), JSON.stringify(options)).rejects.toBeInstanceOf(
          InvalidArgumentError,
        );
      expect((await queue.stats()).total).toBe(0);
    });
  });

  describe('pushMany(payloads, options)', () => {
    it('stores all jobs in order, with the same options', async () => {
      const queue = makeQueue();
      const jobs = await queue.pushMany(['a', 'b', 'c'], { priority: 3 });
      expect(jobs.map((job) => job.payload)).toEqual(['a', 'b', 'c']);
      const taken = [await queue.next(), await queue.next(), await queue.next()];
      expect(taken.map((job) => job?.payload)).toEqual(['a', 'b', 'c']);
      expect(taken.map((job) => job?.priority)).toEqual([3, 3, 3]);
    });

    it('is all or none: one bad payload stores nothing and the error names its index', async () => {
      const queue = makeQueue();
      const error = await queue.pushMany(['ok', 'ok', 10n as unknown, 'ok']).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PayloadError);
      expect((error as { index?: number }).index).toBe(2);
      expect((await queue.stats()).total).toBe(0);
    });

    it('a payload over maxPayloadBytes refuses the whole batch with PayloadTooLargeError naming its index', async () => {
      const queue = makeQueue({ maxPayloadBytes: 10 });
      const error = await queue.pushMany(['ok', 'x'.repeat(20)]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PayloadTooLargeError);
      expect((error as { index?: number }).index).toBe(1);
      expect((await queue.stats()).total).toBe(0);
    });

    it('accepts 10,000 payloads and refuses 10,001 with InvalidArgumentError', async () => {
      const queue = makeQueue();
      await expect(queue.pushMany(Array.from({ length: 10_001 }, (_, i) => i))).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
      expect((await queue.stats()).total).toBe(0);
      expect(await queue.pushMany(Array.from({ length: 10_000 }, (_, i) => i))).toHaveLength(10_000);
      expect((await queue.stats()).pending).toBe(10_000);
    });
  });

  describe('next({ leaseMs })', () => {
    it('returns null when no job is due', async () => {
      const queue = makeQueue();
      expect(await queue.next({ leaseMs: 1000 })).toBeNull();
    });

    it('returns a leased job: processing, one attempt started, a token and leaseUntil = now + leaseMs', async () => {
      const queue = makeQueue();
      const pushed = await queue.push({ n: 1 });
      const job = await queue.next({ leaseMs: 5000 });
      expect(job).not.toBeNull();
      expect(job).toMatchObject({ id: pushed.id, timestamp: pushed.timestamp, payload: { n: 1 } });
      expect(job?.status).toBe('processing');
      expect(job?.attempts).toBe(1);
      expect(typeof job?.token).toBe('number');
      expect(job?.leaseUntil).toBe(T0 + 5000);
      expect(job?.stalled).toBe(false);
      expect((await queue.get(pushed.id))?.status).toBe('processing');
    });

    it('leases a job to one caller only', async () => {
      const queue = makeQueue();
      await queue.push('only');
      const claims = await Promise.all([queue.next(), queue.next(), queue.next()]);
      expect(claims.filter((job) => job !== null)).toHaveLength(1);
    });

    it('uses the queue leaseMs (default 30 000) when none is given', async () => {
      const queue = makeQueue();
      await queue.push(1);
      expect((await queue.next())?.leaseUntil).toBe(T0 + 30_000);
      const other = makeQueue({ name: 'other', leaseMs: 700 });
      await other.push(1);
      expect((await other.next())?.leaseUntil).toBe(T0 + 700);
    });

    it('ack() marks the job done', async () => {
      const queue = makeQueue();
      await queue.push('x');
      const job = await queue.next();
      await job?.ack();
      expect((await queue.get(job?.id ?? ''))?.status).toBe('done');
      expect(await queue.next()).toBeNull();
    });

    it('a second ack() or fail() on one leased job throws JobSettledError', async () => {
      const queue = makeQueue();
      await queue.push('x');
      const job = await queue.next();
      await job?.ack();
      await expect(job?.ack()).rejects.toBeInstanceOf(JobSettledError);
      await expect(job?.fail(new Error('late'))).rejects.toBeInstanceOf(JobSettledError);
      await expect(job?.extend(1000)).rejects.toBeInstanceOf(JobSettledError);
      expect((await queue.get(job?.id ?? ''))?.status).toBe('done');
    });

    it('extend(ms) pushes the lease out so the job is not delivered again', async () => {
      const queue = makeQueue();
      await queue.push('x');
      const job = await queue.next({ leaseMs: 1000 });
      await clock.advance(900);
      await job?.extend(1000);
      expect(job?.leaseUntil).toBe(T0 + 1900);
      await clock.advance(500); // past the first lease, within the extension
      expect(await queue.next()).toBeNull();
      await job?.ack();
      expect((await queue.get(job?.id ?? ''))?.status).toBe('done');
    });

    it('a call refused with InvalidArgumentError settles nothing: the lease stays with its holder', async () => {
      const queue = makeQueue();
      await queue.push('x');
      const job = await queue.next({ leaseMs: 1000 });
      await expect(job?.extend(-1)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(job?.fail(new Error('x'), { delay: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
      expect((await queue.get(job?.id ?? ''))?.status).toBe('processing');
      await job?.ack();
      expect((await queue.get(job?.id ?? ''))?.status).toBe('done');
    });

    it('rounds fractional ms up: a lease is never shorter than asked, a job never runs early', async () => {
      const queue = makeQueue();
      await queue.push('late', { delay: 1.2 });
      await clock.advance(1);
      expect(await queue.next()).toBeNull();
      await clock.advance(1);
      const job = await queue.next({ leaseMs: 10.1 });
      expect(job?.leaseUntil).toBe(T0 + 2 + 11);
    });

    it('rounds a fractional backoff up: a retry never runs before the backoff it asked for', async () => {
      const queue = makeQueue({ backoff: { type: 'linear', delay: 100.4, step: 0.1 } });
      await queue.push('x');
      await (await queue.next())?.fail(new Error('first'));
      await clock.advance(100);
      expect(await queue.next()).toBeNull(); // 100 < 100.4
      await clock.advance(1);
      const second = await queue.next();
      expect(second?.runAt).toBe(new Date(T0 + 101).toISOString());
      await second?.fail(new Error('second')); // backoff 100.5 from T0 + 101
      await clock.advance(100);
      expect(await queue.next()).toBeNull();
      await clock.advance(1);
      expect((await queue.next())?.attempts).toBe(3);
    });

    it('refuses a leaseMs that is not a positive number of ms with InvalidArgumentError', async () => {
      const queue = makeQueue();
      await queue.push('x');
      for (const leaseMs of [0, -5, Number.NaN, Number.POSITIVE_INFINITY])
        await expect(queue.next({ leaseMs })).rejects.toBeInstanceOf(InvalidArgumentError);
      expect((await queue.stats()).pending).toBe(1);
    });
  });

  describe('leases and at-least-once delivery', () => {
    it('delivers a job again when its lease expires: stalled === true, attempts counts both runs, onStalled fires', async () => {
      const stalled: string[] = [];
      const queue = makeQueue({ onStalled: (job) => stalled.push(job.id) });
      const pushed = await queue.push('x');
      const first = await queue.next({ leaseMs: 1000 });
      await clock.advance(999);
      expect(await queue.next()).toBeNull();
      await clock.advance(1);
      const second = await queue.next({ leaseMs: 1000 });
      expect(second?.id).toBe(pushed.id);
      expect(second?.stalled).toBe(true);
      expect(second?.attempts).toBe(2);
      expect(second?.token).toBeGreaterThan(first?.token ?? Number.POSITIVE_INFINITY);
      expect(stalled).toEqual([pushed.id]);
    });

    it('an expired lease on the last attempt makes the job dead: onStalled, then onDead', async () => {
      const events: string[] = [];
      const queue = makeQueue({
        attempts: 1,
        onStalled: (job) => events.push(`stalled:${job.status}:${job.attempts}`),
        onDead: (job, error) => events.push(`dead:${job.status}:${error instanceof Error}`),
      });
      const pushed = await queue.push('x');
      await queue.next({ leaseMs: 1000 });
      await clock.advance(1000);
      expect(await queue.next()).toBeNull();
      const job = await queue.get(pushed.id);
      expect(job?.status).toBe('dead');
      expect(job?.lastError).toEqual(expect.any(String));
      expect(events).toEqual(['stalled:dead:1', 'dead:dead:true']);
    });

    it('a stalled job takes its place in priority order again', async () => {
      const queue = makeQueue();
      const high = await queue.push('high', { priority: 1 });
      await queue.next({ leaseMs: 100 });
      await queue.push('low', { priority: 0 });
      await clock.advance(100);
      expect((await queue.next())?.id).toBe(high.id);
    });

    it('runs a job again in a worker when the first handler lost its lease (at-least-once)', async () => {
      const queue = makeQueue();
      const runs: number[] = [];
      const pushed = await queue.push('x');
      const first = await queue.next({ leaseMs: 1000 }); // a worker that then dies
      expect(first).not.toBeNull();
      await clock.advance(1000);
      const worker = queue.process(async (job) => void runs.push(job.attempts), { pollInterval: 100 });
      await clock.advance(100);
      await until(async () => (await queue.get(pushed.id))?.status === 'done', 'the job to be done');
      expect(runs).toEqual([2]);
      await worker.close();
    });
  });

  describe('fencing', () => {
    it('a holder whose lease was taken over gets LeaseLostError on ack, fail and extend, and changes nothing', async () => {
      const queue = makeQueue({ attempts: 5 });
      await queue.push('x');
      const stale = await queue.next({ leaseMs: 1000 });
      await clock.advance(1000);
      const current = await queue.next({ leaseMs: 10_000 });
      expect(current?.id).toBe(stale?.id);
      await expect(stale?.ack()).rejects.toBeInstanceOf(LeaseLostError);
      // Its ack was refused, so it stays settled for this holder (README: JobSettledError after LeaseLostError).
      await expect(stale?.fail(new Error('late'))).rejects.toBeInstanceOf(JobSettledError);
      await expect(stale?.extend(5000)).rejects.toBeInstanceOf(JobSettledError);
      const now = await queue.get(current?.id ?? '');
      expect(now?.status).toBe('processing');
      expect(now?.attempts).toBe(2);
      await current?.ack();
      expect((await queue.get(current?.id ?? ''))?.status).toBe('done');
    });

    it('each settle call of a stale holder throws LeaseLostError with code ERR_LEASE_LOST', async () => {
      const queue = makeQueue({ attempts: 5 });
      await queue.push('x');
      const staleA = await queue.next({ leaseMs: 1000 });
      await clock.advance(1000);
      const staleB = await queue.next({ leaseMs: 1000 });
      await clock.advance(1000);
      const staleC = await queue.next({ leaseMs: 1000 });
      await clock.advance(1000);
      const current = await queue.next({ leaseMs: 10_000 });
      const errors = await Promise.all([
        staleA?.ack().catch((e: unknown) => e),
        staleB?.fail(new Error('boom')).catch((e: unknown) => e),
        staleC?.extend(1000).catch((e: unknown) => e),
      ]);
      for (const error of errors) {
        expect(error).toBeInstanceOf(LeaseLostError);
        expect(isIntegError(error, 'ERR_LEASE_LOST')).toBe(true);
      }
      const job = await queue.get(current?.id ?? '');
      expect(job?.status).toBe('processing');
      expect(job?.lastError).toBeNull();
    });

    it('a holder whose lease expired but was not taken over yet may still ack', async () => {
      const queue = makeQueue();
      await queue.push('x');
      const job = await queue.next({ leaseMs: 1000 });
      await clock.advance(5000);
      await job?.ack();
      expect((await queue.get(job?.id ?? ''))?.status).toBe('done');
    });
  });

  describe('retries, backoff and dead letters', () => {
    it('a failed attempt with attempts left goes back to pending, due after its backoff', async () => {
      const failed: [string, string][] = [];
      const queue = makeQueue({
        attempts: 3,
        backoff: 1000,
        onFailed: (job, error) => failed.push([job.status, (error as Error).message]),
      });
      await queue.push('x');
      const job = await queue.next();
      await job?.fail(new Error('first'));
      const read = await queue.get(job?.id ?? '');
      expect(read?.status).toBe('pending');
      expect(read?.attempts).toBe(1);
      expect(read?.lastError).toContain('first');
      expect(Date.parse(read?.runAt ?? '')).toBe(T0 + 1000);
      expect(failed).toEqual([['pending', 'first']]);
      await clock.advance(999);
      expect(await queue.next()).toBeNull();
      await clock.advance(1);
      expect((await queue.next())?.attempts).toBe(2);
    });

    it('after the last attempt the job is dead with its last error; onFailed and onDead fire', async () => {
      const seen: string[] = [];
      const queue = makeQueue({
        attempts: 2,
        backoff: 10,
        onFailed: (job, error) => seen.push(`failed:${job.status}:${(error as Error).message}`),
        onDead: (job, error) => seen.push(`dead:${job.status}:${(error as Error).message}`),
      });
      const pushed = await queue.push('x');
      await (await queue.next())?.fail(new Error('one'));
      await clock.advance(10);
      await (await queue.next())?.fail(new Error('two'));
      const dead = await queue.get(pushed.id);
      expect(dead?.status).toBe('dead');
      expect(dead?.attempts).toBe(2);
      expect(dead?.lastError).toBe('Error: two');
      expect(seen).toEqual(['failed:pending:one', 'failed:dead:two', 'dead:dead:two']);
      await clock.advance(1_000_000);
      expect(await queue.next()).toBeNull();
      expect((await queue.list({ status: 'dead' })).map((job) => job.id)).toEqual([pushed.id]);
    });

    it('uses a per-push attempts and backoff over the queue defaults', async () => {
      const queue = makeQueue({ attempts: 10, backoff: 1 });
      const pushed = await queue.push('x', { attempts: 1 });
      await (await queue.next())?.fail(new Error('once'));
      expect((await queue.get(pushed.id))?.status).toBe('dead');

      const spaced = await queue.push('y', { backoff: { type: 'constant', delay: 5000 } });
      await (await queue.next())?.fail(new Error('again'));
      expect(Date.parse((await queue.get(spaced.id))?.runAt ?? '')).toBe(T0 + 5000);
    });

    // @integ/retry's exponential() jitters in full by default; without jitter the waits are exact.
    it('follows an exponential backoff from @integ/retry: 1000, 2000, 4000 ms', async () => {
      const queue = makeQueue({
        attempts: 4,
        backoff: exponential({ initial: 1000, factor: 2, jitter: 'none' }),
      });
      const pushed = await queue.push('x');
      const waits: number[] = [];
      for (let i = 0; i < 3; i++) {
        const start = clock.now();
        await (await queue.next())?.fail(new Error(`n${i}`));
        waits.push(Date.parse((await queue.get(pushed.id))?.runAt ?? '') - start);
        await clock.advance(waits[i] ?? 0);
      }
      expect(waits).toEqual([1000, 2000, 4000]);
    });

    it('the default backoff is exponential from 1 s and the default attempts is 3', async () => {
      const queue = makeQueue();
      const pushed = await queue.push('x');
      expect((await queue.get(pushed.id))?.maxAttempts).toBe(3);
      await (await queue.next())?.fail(new Error('a'));
      expect(Date.parse((await queue.get(pushed.id))?.runAt ?? '')).toBe(T0 + 1000);
      await clock.advance(1000);
      await (await queue.next())?.fail(new Error('b'));
      expect(Date.parse((await queue.get(pushed.id))?.runAt ?? '')).toBe(T0 + 1000 + 2000);
    });

    it('fail(err, { retry: false }) dead-letters at once; fail(err, { delay }) sets the wait', async () => {
      const queue = makeQueue({ attempts: 5 });
      const a = await queue.push('a');
      await (await queue.next())?.fail(new Error('poison'), { retry: false });
      expect((await queue.get(a.id))?.status).toBe('dead');
      const b = await queue.push('b');
      await (await queue.next())?.fail(new Error('later'), { delay: 42 });
      expect(Date.parse((await queue.get(b.id))?.runAt ?? '')).toBe(T0 + 42);
    });

    it('lastError keeps name: message, no stack, and redacts credentials', async () => {
      const queue = makeQueue({ attempts: 1 });
      const pushed = await queue.push('x');
      const error = new TypeError(
        'GET https://alice:hunter2@api.example.com/v1?token=abc123 failed; Authorization: Bearer sk_live_zzz',
      );
      await (await queue.next())?.fail(error);
      const lastError = (await queue.get(pushed.id))?.lastError ?? '';
      expect(lastError.startsWith('TypeError: GET ')).toBe(true);
      for (const secret of ['hunter2', 'abc123', 'sk_live_zzz']) expect(lastError).not.toContain(secret);
      expect(lastError).not.toContain('    at ');
    });
  });

  describe('redrive()', () => {
    async function deadJob(queue: Queue<unknown>, payload: unknown, key?: string): Promise<string> {
      const job = await queue.push(payload, { attempts: 1, ...(key === undefined ? {} : { key }) });
      const taken = await queue.next();
      expect(taken?.id).toBe(job.id);
      await taken?.fail(new Error('dead'));
      return job.id;
    }

    it('sends dead jobs back to pending in push order with fresh attempts, due now, and returns the count', async () => {
      const queue = makeQueue();
      const a = await deadJob(queue, 'a');
      const b = await deadJob(queue, 'b');
      await clock.advance(5000);
      expect(await queue.redrive()).toBe(2);
      for (const id of [a, b]) {
        const job = await queue.get(id);
        expect(job?.status).toBe('pending');
        expect(job?.attempts).toBe(0);
        expect(Date.parse(job?.runAt ?? '')).toBe(T0 + 5000);
      }
      expect((await queue.next())?.id).toBe(a);
      expect((await queue.next())?.id).toBe(b);
      expect(await queue.redrive()).toBe(0);
    });

    it('redrives only the ids given, and at most limit jobs', async () => {
      const queue = makeQueue();
      const a = await deadJob(queue, 'a');
      const b = await deadJob(queue, 'b');
      const c = await deadJob(queue, 'c');
      expect(await queue.redrive({ ids: [b] })).toBe(1);
      expect((await queue.get(a))?.status).toBe('dead');
      expect((await queue.get(b))?.status).toBe('pending');
      expect(await queue.redrive({ limit: 1 })).toBe(1);
      expect((await queue.get(a))?.status).toBe('pending');
      expect((await queue.get(c))?.status).toBe('dead');
    });

    it('skips a dead job whose key an active job holds', async () => {
      const queue = makeQueue();
      const old = await deadJob(queue, 'old', 'k');
      const fresh = await queue.push('fresh', { key: 'k' });
      expect(fresh.id).not.toBe(old);
      expect(await queue.redrive()).toBe(0);
      expect((await queue.get(old))?.status).toBe('dead');
    });

    it('finds a job by its exact id only: get and redrive ignore another spelling of the number', async () => {
      const queue = makeQueue();
      const id = await deadJob(queue, 'a');
      for (const other of [`0${id}`, `${id}.0`, ` ${id}`, `+${id}`, `${id}e0`, `0x${id}`]) {
        expect(await queue.get(other)).toBeNull();
        expect(await queue.redrive({ ids: [other] })).toBe(0);
      }
      expect((await queue.get(id))?.status).toBe('dead');
      expect(await queue.redrive({ ids: [id] })).toBe(1);
    });

    it('accepts 10,000 ids and refuses more with InvalidArgumentError, like pushMany', async () => {
      const queue = makeQueue();
      const id = await deadJob(queue, 'a');
      const many = Array.from({ length: 10_000 }, (_, i) => (i === 0 ? id : `no-such-${i}`));
      expect(await queue.redrive({ ids: many })).toBe(1);
      await (await queue.next())?.fail(new Error('dead again'), { retry: false });
      const tooMany = Array.from({ length: 10_001 }, () => id);
      await expect(queue.redrive({ ids: tooMany })).rejects.toBeInstanceOf(InvalidArgumentError);
      expect((await queue.get(id))?.status).toBe('dead');
    });
  });

  describe('delayed jobs', () => {
    it('a job pushed with delay is not delivered before it is due', async () => {
      const queue = makeQueue();
      await queue.push('later', { delay: 5000 });
      expect(await queue.next()).toBeNull();
      expect(await queue.stats()).toMatchObject({ pending: 1, delayed: 1 });
      await clock.advance(4999);
      expect(await queue.next()).toBeNull();
      await clock.advance(1);
      expect((await queue.stats()).delayed).toBe(0);
      expect((await queue.next())?.payload).toBe('later');
    });

    it('a worker runs a delayed job when it becomes due', async () => {
      const queue = makeQueue();
      const ran: number[] = [];
      const worker = queue.process(() => void ran.push(clock.now()), { pollInterval: 1000 });
      await queue.push('later', { delay: 2500 });
      await clock.advance(2000);
      expect(ran).toEqual([]);
      await clock.advance(1000);
      await until(() => ran.length === 1, 'the delayed job to run');
      expect(ran[0]).toBeGreaterThanOrEqual(T0 + 2500);
      await worker.close();
    });
  });

  describe('priorities', () => {
    it('higher priority runs first, then push order', async () => {
      const queue = makeQueue();
      await queue.push('a', { priority: 0 });
      await queue.push('b', { priority: 5 });
      await queue.push('c', { priority: 0 });
      await queue.push('d', { priority: -1 });
      await queue.push('e', { priority: 5 });
      const order: unknown[] = [];
      for (let job = await queue.next(); job; job = await queue.next()) order.push(job.payload);
      expect(order).toEqual(['b', 'e', 'a', 'c', 'd']);
    });

    it('a higher-priority job that is not due yet does not hold back a due one', async () => {
      const queue = makeQueue();
      await queue.push('high, later', { priority: 10, delay: 1000 });
      await queue.push('low, now', { priority: -10 });
      expect((await queue.next())?.payload).toBe('low, now');
      expect(await queue.next()).toBeNull();
    });

    it('within one priority an earlier due time runs first', async () => {
      const queue = makeQueue();
      await queue.push('late', { delay: 200 });
      await queue.push('early', { delay: 100 });
      await clock.advance(300);
      expect((await queue.next())?.payload).toBe('early');
      expect((await queue.next())?.payload).toBe('late');
    });
  });

  describe('key (deduplication)', () => {
    it('pushing a key held by a pending job returns the existing job', async () => {
      const queue = makeQueue();
      const first = await queue.push({ v: 1 }, { key: 'welcome:a' });
      const second = await queue.push({ v: 2 }, { key: 'welcome:a' });
      expect(second.id).toBe(first.id);
      expect(second.payload).toEqual({ v: 1 });
      expect((await queue.stats()).total).toBe(1);
    });

    it('a key held by a processing job is still taken; once done it is free again', async () => {
      const queue = makeQueue();
      const first = await queue.push('x', { key: 'k' });
      const job = await queue.next();
      expect((await queue.push('y', { key: 'k' })).id).toBe(first.id);
      await job?.ack();
      const again = await queue.push('z', { key: 'k' });
      expect(again.id).not.toBe(first.id);
      expect(again.payload).toBe('z');
    });

    it('keys are per queue, and concurrent pushes of one key store one job', async () => {
      const queue = makeQueue();
      const other = makeQueue({ name: 'other' });
      const jobs = await Promise.all(Array.from({ length: 20 }, () => queue.push('x', { key: 'same' })));
      expect(new Set(jobs.map((job) => job.id)).size).toBe(1);
      expect((await other.push('x', { key: 'same' })).id).not.toBe(jobs[0]?.id);
      expect((await queue.stats()).total).toBe(1);
    });

    it('pushMany returns the existing job for a key that is already taken', async () => {
      const queue = makeQueue();
      const taken = await queue.push('old', { key: 'k' });
      const jobs = await queue.pushMany(['new'], { key: 'k' });
      expect(jobs[0]?.id).toBe(taken.id);
      expect(jobs[0]?.payload).toBe('old');
    });

    it('pushMany with one key twice stores one job', async () => {
      const queue = makeQueue();
      const jobs = await queue.pushMany(['a', 'b'], { key: 'k' });
      expect(jobs[0]?.id).toBe(jobs[1]?.id);
      expect((await queue.stats()).total).toBe(1);
    });
  });

  describe('process(handler, { concurrency, leaseMs })', () => {
    it('runs pushed jobs and acks them when the handler resolves; onCompleted fires', async () => {
      const completed: string[] = [];
      const queue = makeQueue<number>({ onCompleted: (job) => completed.push(job.id) });
      const seen: number[] = [];
      const worker = queue.process(async (job, { signal }) => {
        expect(signal).toBeInstanceOf(AbortSignal);
        expect(job.signal).toBe(signal);
        expect(job.status).toBe('processing');
        seen.push(job.payload);
      });
      const jobs = await queue.pushMany([1, 2, 3]);
      await until(() => completed.length === 3, 'three jobs completed');
      expect(seen).toEqual([1, 2, 3]);
      expect(completed).toEqual(jobs.map((job) => job.id));
      expect(await queue.stats()).toMatchObject({ pending: 0, processing: 0, done: 3 });
      await worker.close();
      expect(worker.closed).toBe(true);
    });

    it('a handler that throws fails the attempt', async () => {
      const failed: unknown[] = [];
      const queue = makeQueue({ attempts: 1, onFailed: (_job, error) => failed.push(error) });
      const boom = new Error('boom');
      const worker = queue.process(() => {
        throw boom;
      });
      const pushed = await queue.push('x');
      await until(() => failed.length === 1, 'the failure');
      expect(failed[0]).toBe(boom);
      expect((await queue.get(pushed.id))?.status).toBe('dead');
      await worker.close();
    });

    it('never runs more than concurrency handlers at once, and uses all of them', async () => {
      const queue = makeQueue();
      const gates: Deferred[] = [];
      let running = 0;
      let peak = 0;
      const worker = queue.process(
        async () => {
          running++;
          peak = Math.max(peak, running);
          const gate = deferred();
          gates.push(gate);
          await gate.promise;
          running--;
        },
        { concurrency: 3 },
      );
      await queue.pushMany([1, 2, 3, 4, 5, 6, 7]);
      await until(() => running === 3, 'three handlers running');
      for (let i = 0; i < 20; i++) await turn();
      expect(running).toBe(3);
      expect(worker.running).toBe(3);
      while ((await queue.stats()).done < 7) {
        gates.shift()?.resolve();
        await turn();
      }
      expect(peak).toBe(3);
      await worker.close();
    });

    it('renews the lease while the handler runs, so a slow job is not delivered again', async () => {
      const queue = makeQueue();
      const gate = deferred();
      let runs = 0;
      const worker = queue.process(
        async () => {
          runs++;
          await gate.promise;
        },
        { leaseMs: 1000 },
      );
      const pushed = await queue.push('slow');
      await until(() => runs === 1, 'the handler to start');
      for (let i = 0; i < 10; i++) {
        await clock.advance(400);
        for (let j = 0; j < 5; j++) await turn();
      }
      // 4 s into a 1 s lease: another consumer still cannot take the job.
      const thief = makeQueue();
      expect(await thief.next()).toBeNull();
      gate.resolve();
      await until(async () => (await queue.get(pushed.id))?.status === 'done', 'the job to be done');
      expect(runs).toBe(1);
      await worker.close();
    });

    it('aborting the signal option closes the worker', async () => {
      const queue = makeQueue();
      const controller = new AbortController();
      let runs = 0;
      const worker = queue.process(() => void runs++, { signal: controller.signal });
      controller.abort();
      await until(() => worker.closed, 'the worker to close');
      await queue.push('x');
      for (let i = 0; i < 20; i++) await turn();
      expect(runs).toBe(0);
    });

    it('an idle worker finds jobs pushed through another queue object (another process) at its next poll', async () => {
      const queue = makeQueue();
      const producer = makeQueue();
      const ran: number[] = [];
      const worker = queue.process(() => void ran.push(clock.now()), { pollInterval: 1000 });
      await turn();
      await producer.push('from elsewhere');
      for (let i = 0; i < 20; i++) await turn();
      expect(ran).toEqual([]);
      await clock.advance(1000);
      await until(() => ran.length === 1, 'the next poll to find the job');
      await worker.close();
    });

    it('refuses bad options with InvalidArgumentError', () => {
      const queue = makeQueue();
      for (const options of [{ concurrency: 0 }, { concurrency: 1.5 }, { leaseMs: -1 }, { timeout: -1 }])
        expect(() => queue.process(() => undefined, options), JSON.stringify(options)).toThrow(
          InvalidArgumentError,
        );
      expect(() => queue.process('nope' as never)).toThrow(InvalidArgumentError);
    });
  });

  describe('per-job deadline (process timeout)', () => {
    it('aborts the signal with TimeoutError, fails the attempt and frees the slot of a hung handler', async () => {
      const failed: unknown[] = [];
      const queue = makeQueue({
        attempts: 2,
        backoff: 60_000,
        onFailed: (_job, error) => failed.push(error),
      });
      const signals: AbortSignal[] = [];
      const started: unknown[] = [];
      const worker = queue.process(
        (job, { signal }) => {
          signals.push(signal);
          started.push(job.payload);
          return new Promise(() => undefined); // hangs and ignores its signal
        },
        { concurrency: 1, timeout: 5000 },
      );
      const hung = await queue.push('hung');
      await queue.push('next');
      await until(() => started.length === 1, 'the first handler');
      await clock.advance(4999);
      expect(signals[0]?.aborted).toBe(false);
      await clock.advance(1);
      expect(signals[0]?.aborted).toBe(true);
      expect(signals[0]?.reason).toBeInstanceOf(TimeoutError);
      await until(() => started.length === 2, 'the freed slot to take the next job');
      expect(started).toEqual(['hung', 'next']);
      expect(failed[0]).toBeInstanceOf(TimeoutError);
      const job = await queue.get(hung.id);
      expect(job?.status).toBe('pending');
      expect(job?.attempts).toBe(1);
      expect(job?.lastError).toMatch(/TimeoutError/);
      await worker.close({ timeout: 0 });
    });

    it('a timed-out handler that settles later changes nothing, and close() does not wait for it', async () => {
      const completed: string[] = [];
      const queue = makeQueue({ attempts: 2, backoff: 60_000, onCompleted: (job) => completed.push(job.id) });
      const gate = deferred();
      let started = 0;
      const worker = queue.process(
        async () => {
          started++;
          await gate.promise; // ignores its signal
        },
        { timeout: 1000 },
      );
      const pushed = await queue.push('x');
      await until(() => started === 1, 'start');
      await clock.advance(1000);
      await until(async () => (await queue.get(pushed.id))?.status === 'pending', 'the attempt to fail');
      let closed = false;
      const closing = worker.close({ timeout: 10_000 }).then(() => {
        closed = true;
      });
      await until(() => closed, 'close() to resolve without waiting for the abandoned handler');
      await closing;
      gate.resolve();
      for (let i = 0; i < 20; i++) await turn();
      expect(completed).toEqual([]);
      const job = await queue.get(pushed.id);
      expect(job?.status).toBe('pending');
      expect(job?.attempts).toBe(1);
    });

    it('a handler that finishes in time is not aborted', async () => {
      const queue = makeQueue();
      let signal: AbortSignal | undefined;
      const worker = queue.process(
        async (_job, context) => {
          signal = context.signal;
        },
        { timeout: 5000 },
      );
      const pushed = await queue.push('quick');
      await until(async () => (await queue.get(pushed.id))?.status === 'done', 'done');
      await clock.advance(10_000);
      expect(signal?.aborted).toBe(false);
      await worker.close();
    });
  });

  describe('graceful close()', () => {
    it('worker.close() waits for a running handler that finishes within the timeout', async () => {
      const queue = makeQueue();
      const gate = deferred();
      let started = false;
      const worker = queue.process(async () => {
        started = true;
        await gate.promise;
      });
      const pushed = await queue.push('x');
      await until(() => started, 'start');
      let closed = false;
      const closing = worker.close({ timeout: 10_000 }).then(() => {
        closed = true;
      });
      await clock.advance(5000);
      expect(closed).toBe(false);
      gate.resolve();
      await closing;
      expect((await queue.get(pushed.id))?.status).toBe('done');
    });

    it('worker.close() stops claiming: jobs pushed after it stay pending', async () => {
      const queue = makeQueue();
      let runs = 0;
      const worker = queue.process(() => void runs++);
      await worker.close();
      await queue.push('x');
      await clock.advance(10_000);
      for (let i = 0; i < 20; i++) await turn();
      expect(runs).toBe(0);
      expect((await queue.stats()).pending).toBe(1);
    });

    it('after the timeout it aborts running handlers and returns their jobs to pending without using up the attempt', async () => {
      const queue = makeQueue();
      let signal: AbortSignal | undefined;
      const worker = queue.process((_job, context) => {
        signal = context.signal;
        return new Promise(() => undefined);
      });
      const pushed = await queue.push('x');
      await until(() => signal !== undefined, 'start');
      const closing = worker.close({ timeout: 1000 });
      await clock.advance(1000);
      await closing;
      expect(signal?.aborted).toBe(true);
      const job = await queue.get(pushed.id);
      expect(job?.status).toBe('pending');
      expect(job?.attempts).toBe(0);
      expect((await queue.next())?.id).toBe(pushed.id);
    });

    it('a handler that rejects because close() aborted it does not fail the job: it goes back to pending unused', async () => {
      const failed: unknown[] = [];
      const queue = makeQueue({ onFailed: (_job, error) => failed.push(error) });
      let started = false;
      const worker = queue.process(
        (_job, { signal }) =>
          new Promise((_resolve, reject) => {
            started = true;
            signal.addEventListener('abort', () => reject(signal.reason));
          }),
      );
      const pushed = await queue.push('x');
      await until(() => started, 'start');
      const closing = worker.close({ timeout: 1000 });
      await clock.advance(1000);
      await closing;
      for (let i = 0; i < 20; i++) await turn();
      const job = await queue.get(pushed.id);
      expect(job?.status).toBe('pending');
      expect(job?.attempts).toBe(0);
      expect(job?.lastError).toBeNull();
      expect(failed).toEqual([]);
    });

    it('queue.close() also returns jobs taken with next() to pending, and waits for those settled in time', async () => {
      const queue = makeQueue();
      const a = await queue.push('a');
      const b = await queue.push('b');
      const ja = await queue.next();
      const jb = await queue.next();
      const closing = queue.close({ timeout: 1000 });
      await ja?.ack();
      await clock.advance(1000);
      await closing;
      expect((await queue.get(a.id))?.status).toBe('done');
      const back = await queue.get(b.id);
      expect(back?.status).toBe('pending');
      expect(back?.attempts).toBe(0);
      await expect(jb?.ack()).rejects.toSatisfy(
        (e) => e instanceof LeaseLostError || e instanceof JobSettledError,
      );
    });

    it('after close(), push, pushMany, next and process throw QueueClosedError', async () => {
      const queue = makeQueue();
      await queue.close();
      await expect(queue.push('x')).rejects.toBeInstanceOf(QueueClosedError);
      await expect(queue.pushMany(['x'])).rejects.toBeInstanceOf(QueueClosedError);
      await expect(queue.next()).rejects.toBeInstanceOf(QueueClosedError);
      expect(() => queue.process(() => undefined)).toThrow(QueueClosedError);
      expect((await queue.stats()).total).toBe(0);
    });

    it('close() does not close the store: another queue on it keeps working', async () => {
      const queue = makeQueue();
      await queue.push('x');
      await queue.close();
      const again = makeQueue();
      expect((await again.next())?.payload).toBe('x');
    });
  });

  describe('payloads are JSON', () => {
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    const refused: [string, unknown][] = [
      ['a function', () => 1],
      ['a symbol', Symbol('s')],
      ['a BigInt', 1n],
      ['a cycle', cyclic],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['a Date', new Date(0)],
      ['a Map', new Map()],
      [
        'a class instance',
        new (class Point {
          x = 1;
        })(),
      ],
      ['top-level undefined', undefined],
      ['a nested function', { a: { b: [1, () => 2] } }],
    ];

    for (const [what, payload] of refused)
      it(`refuses ${what} at push with PayloadError (ERR_PAYLOAD_INVALID) and stores nothing`, async () => {
        const queue = makeQueue();
        const error = await queue.push(payload).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(PayloadError);
        expect(isIntegError(error, 'ERR_PAYLOAD_INVALID')).toBe(true);
        expect((await queue.stats()).total).toBe(0);
      });

    it('says where the bad value is (error.path)', async () => {
      const queue = makeQueue();
      const error = (await queue.push({ a: { b: [1, () => 2] } }).catch((e: unknown) => e)) as PayloadError;
      expect(String((error as { path?: unknown }).path)).toMatch(/a.*b.*1/);
      expect(error.message).toMatch(/function/i);
    });

    it('refuses undefined or a hole inside an array (JSON would turn it into null)', async () => {
      const queue = makeQueue();
      const holey = [1];
      holey[2] = 3; // index 1 is a hole
      for (const payload of [[undefined, 1], holey]) {
        const error = await queue.push(payload).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(PayloadError);
      }
      expect((await queue.stats()).total).toBe(0);
    });

    it('accepts 256 levels of nesting and refuses 257 with PayloadError (no stack overflow)', async () => {
      const queue = makeQueue();
      const nest = (levels: number): unknown => {
        let value: unknown = 1;
        for (let i = 0; i < levels; i++) value = i % 2 === 0 ? [value] : { v: value };
        return value;
      };
      await expect(queue.push(nest(256))).resolves.toMatchObject({ status: 'pending' });
      for (const levels of [257, 100_000]) {
        const error = await queue.push(nest(levels)).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(PayloadError);
        expect((error as Error).message).toMatch(/256 levels/);
      }
    });

    it('drops undefined properties as JSON.stringify does', async () => {
      const queue = makeQueue();
      const job = await queue.push({ a: 1, b: undefined });
      expect((await queue.get(job.id))?.payload).toEqual({ a: 1 });
      expect(Object.keys((await queue.next())?.payload as object)).toEqual(['a']);
    });

    it('refuses a payload larger than maxPayloadBytes (UTF-8 bytes of its JSON) with PayloadTooLargeError', async () => {
      const queue = makeQueue({ maxPayloadBytes: 100 });
      // 'é' is 2 bytes: 49 of them plus the quotes is exactly 100 bytes.
      await expect(queue.push('é'.repeat(49))).resolves.toMatchObject({ status: 'pending' });
      const error = await queue.push('é'.repeat(50)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PayloadTooLargeError);
      expect(isIntegError(error, 'ERR_PAYLOAD_TOO_LARGE')).toBe(true);
      expect((await queue.stats()).total).toBe(1);
    });

    it('the default limit is 1 MiB', async () => {
      const queue = makeQueue();
      await expect(queue.push('x'.repeat(1024 * 1024 - 2))).resolves.toMatchObject({ status: 'pending' });
      await expect(queue.push('x'.repeat(1024 * 1024 - 1))).rejects.toBeInstanceOf(PayloadTooLargeError);
    });
  });

  describe('stats()', () => {
    it('counts jobs by status and gives the age of the oldest due pending job', async () => {
      const queue = makeQueue({ attempts: 1 });
      expect(await queue.stats()).toEqual({
        pending: 0,
        processing: 0,
        done: 0,
        dead: 0,
        delayed: 0,
        total: 0,
        oldestPendingAgeMs: 0,
      });
      await queue.pushMany(['done', 'dead', 'processing']);
      await clock.advance(1000);
      await queue.push('pending');
      await queue.push('delayed', { delay: 60_000 });
      await (await queue.next())?.ack();
      await (await queue.next())?.fail(new Error('x'));
      await queue.next();
      await clock.advance(2000);
      expect(await queue.stats()).toEqual({
        pending: 2,
        processing: 1,
        done: 1,
        dead: 1,
        delayed: 1,
        total: 5,
        oldestPendingAgeMs: 2000,
      });
    });

    it('oldestPendingAgeMs of a delayed job that became due counts from its push (timestamp)', async () => {
      const queue = makeQueue();
      await queue.push('x', { delay: 1000 });
      await clock.advance(3000);
      expect((await queue.stats()).oldestPendingAgeMs).toBe(3000);
    });

    it('oldestPendingAgeMs is 0 when only delayed jobs are pending', async () => {
      const queue = makeQueue();
      await queue.push('x', { delay: 10_000 });
      await clock.advance(5000);
      expect((await queue.stats()).oldestPendingAgeMs).toBe(0);
    });
  });

  describe('list() and clean()', () => {
    it('pages jobs by status', async () => {
      const queue = makeQueue();
      const jobs = await queue.pushMany(['a', 'b', 'c', 'd']);
      await (await queue.next())?.ack();
      const pending = await queue.list({ status: 'pending', limit: 2, offset: 1 });
      expect(pending.map((job) => job.id)).toEqual([jobs[2]?.id, jobs[3]?.id]);
      expect((await queue.list({ status: 'done' })).map((job) => job.id)).toEqual([jobs[0]?.id]);
      expect(await queue.list()).toHaveLength(4);
      await expect(queue.list({ limit: 10_001 })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(queue.list({ status: 'nope' as never })).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it('clean() deletes done jobs finished more than olderThan ms ago', async () => {
      const queue = makeQueue();
      const old = await queue.push('old');
      await (await queue.next())?.ack();
      await clock.advance(10_000);
      const recent = await queue.push('recent');
      await (await queue.next())?.ack();
      expect(await queue.clean({ status: 'done', olderThan: 5000 })).toBe(1);
      expect(await queue.get(old.id)).toBeNull();
      expect((await queue.get(recent.id))?.status).toBe('done');
    });
  });

  describe('hooks', () => {
    it('each hook sees the job in the state it reports', async () => {
      const seen: string[] = [];
      const queue = makeQueue({
        attempts: 2,
        backoff: 0,
        onCompleted: (job) => seen.push(`completed:${job.status}:${job.attempts}`),
        onFailed: (job) => seen.push(`failed:${job.status}:${job.attempts}`),
        onDead: (job) => seen.push(`dead:${job.status}:${job.attempts}`),
        onStalled: (job) => seen.push(`stalled:${job.status}:${job.attempts}`),
      });
      await queue.push('a');
      await (await queue.next({ leaseMs: 10 }))?.fail(new Error('x'));
      await (await queue.next({ leaseMs: 10 }))?.ack();
      await queue.push('b');
      await queue.next({ leaseMs: 10 });
      await clock.advance(10);
      await (await queue.next({ leaseMs: 10 }))?.fail(new Error('y'));
      expect(seen).toEqual([
        'failed:pending:1',
        'completed:done:2',
        'stalled:processing:2', // the job as delivered again: its new run counts
        'failed:dead:2',
        'dead:dead:2',
      ]);
    });

    it('a hook that throws does not break the queue; the error goes to the logger', async () => {
      const logged: unknown[] = [];
      const log = (...args: unknown[]) => void logged.push(args);
      const queue = makeQueue({
        onCompleted: () => {
          throw new Error('hook bug');
        },
        logger: { debug: log, info: log, warn: log, error: log },
      });
      const pushed = await queue.push('x');
      await (await queue.next())?.ack();
      expect((await queue.get(pushed.id))?.status).toBe('done');
      expect(logged.length).toBeGreaterThan(0);
    });
  });
});

describe('sqliteStore({ path }) from @integ/queue/sqlite', () => {
  it('is durable: jobs pushed through one store are there when the file is opened again', async () => {
    const path = join(tempDir(), 'durable.db');
    const first = sqliteStore({ path });
    const q1 = createQueue({ name: 'q', store: first });
    const pushed = await q1.pushMany([{ n: 1 }, { n: 2 }]);
    const taken = await q1.next();
    await taken?.ack();
    await q1.close();
    await first.close();

    const second = sqliteStore({ path });
    const q2 = createQueue({ name: 'q', store: second });
    expect((await q2.get(pushed[0]?.id ?? ''))?.status).toBe('done');
    const left = await q2.next();
    expect(left?.payload).toEqual({ n: 2 });
    await left?.ack();
    await q2.close();
    await second.close();
  });

  it('two stores on one file (two connections) never lease one job twice', async () => {
    const path = join(tempDir(), 'shared.db');
    const stores = [sqliteStore({ path }), sqliteStore({ path })];
    const queues = stores.map((store) => createQueue<number>({ name: 'q', store }));
    await queues[0]?.pushMany(Array.from({ length: 300 }, (_, i) => i));
    const seen: number[] = [];
    await Promise.all(
      queues.flatMap((queue) =>
        Array.from({ length: 4 }, async () => {
          for (let job = await queue.next(); job; job = await queue.next()) {
            seen.push(job.payload);
            await job.ack();
          }
        }),
      ),
    );
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    for (const queue of queues) await queue.close();
    for (const store of stores) await store.close();
  });

  it('a push issued just before store.close() is either committed or rejected, never acknowledged and lost', async () => {
    const path = join(tempDir(), 'closing.db');
    const store = sqliteStore({ path });
    const queue = createQueue({ name: 'q', store });
    const pushes = Array.from({ length: 10 }, (_, i) => queue.push(i));
    await store.close();
    const settled = await Promise.allSettled(pushes);
    const reopened = sqliteStore({ path });
    const again = createQueue({ name: 'q', store: reopened });
    for (const result of settled)
      if (result.status === 'fulfilled') expect((await again.get(result.value.id))?.status).toBe('pending');
      else expect(result.reason).toBeInstanceOf(StoreUnavailableError);
    await reopened.close();
  });

  it('uses WAL journaling', async () => {
    const path = join(tempDir(), 'wal.db');
    const store = sqliteStore({ path });
    await createQueue({ name: 'q', store }).push(1);
    const db = openTestDatabase(path, { readonly: true });
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    db.close();
    await store.close();
  });

  it('group commit: 200 concurrent pushes and their acks all commit and are visible to another connection', async () => {
    const path = join(tempDir(), 'group.db');
    const store = sqliteStore({ path });
    const queue = createQueue({ name: 'q', store });
    const jobs = await Promise.all(Array.from({ length: 200 }, (_, i) => queue.push(i)));
    const db = openTestDatabase(path, { readonly: true });
    const tables = db.prepare("select name from sqlite_master where type = 'table'").all() as {
      name: string;
    }[];
    expect(tables.map((t) => t.name)).toContain('integ_jobs');
    expect((db.prepare('select count(*) as n from integ_jobs').get() as { n: number }).n).toBe(200);
    const leased = await Promise.all(jobs.map(() => queue.next()));
    await Promise.all(leased.map((job) => job?.ack()));
    expect(
      (db.prepare("select count(*) as n from integ_jobs where status = 'done'").get() as { n: number }).n,
    ).toBe(200);
    db.close();
    await queue.close();
    await store.close();
  });

  it('group commit: pushes and acks issued in one tick share one transaction (WAL frames, not one commit each)', async () => {
    const path = join(tempDir(), 'frames.db');
    const store = sqliteStore({ path });
    const queue = createQueue({ name: 'q', store });
    await queue.push('warm-up');
    const reader = openTestDatabase(path, { readonly: true });
    const frameBytes = 24 + (reader.prepare('PRAGMA page_size').get() as { page_size: number }).page_size;
    reader.close();
    const frames = (): number => Math.round((statSync(`${path}-wal`).size - 32) / frameBytes);

    let before = frames();
    await Promise.all(Array.from({ length: 200 }, (_, i) => queue.push(i)));
    const concurrentPushes = frames() - before;
    before = frames();
    for (let i = 0; i < 20; i++) await queue.push(i);
    const sequentialPushes = frames() - before;
    before = frames();
    const leased = await Promise.all(Array.from({ length: 200 }, () => queue.next()));
    await Promise.all(leased.map((job) => job?.ack()));
    const concurrentAcks = frames() - before;

    // A commit writes at least one frame: 20 sequential pushes take 20 or more (60 when measured), 200 in one
    // tick far fewer (9 when measured).
    expect(sequentialPushes).toBeGreaterThanOrEqual(20);
    expect(concurrentPushes).toBeLessThan(20);
    expect(concurrentAcks).toBeLessThan(60); // 200 claims and 200 acks: 15 frames when measured
    await queue.close();
    await store.close();
  });

  it("accepts durability 'normal' and 'full' and refuses anything else with InvalidArgumentError", async () => {
    for (const durability of ['normal', 'full'] as const) {
      const store = sqliteStore({ path: join(tempDir(), `${durability}.db`), durability });
      const queue = createQueue({ name: 'q', store });
      await queue.push(durability);
      expect((await queue.stats()).pending).toBe(1);
      await store.close();
    }
    expect(() => sqliteStore({ path: join(tempDir(), 'x.db'), durability: 'off' as never })).toThrow(
      InvalidArgumentError,
    );
  });

  it('refuses a bad table name or busyTimeout with InvalidArgumentError', () => {
    const path = join(tempDir(), 'x.db');
    expect(() => sqliteStore({ path, table: 'jobs; drop table x' })).toThrow(InvalidArgumentError);
    expect(() => sqliteStore({ path, busyTimeout: -1 })).toThrow(InvalidArgumentError);
    expect(() => sqliteStore({ path: '' })).toThrow(InvalidArgumentError);
  });

  it('a file that is not a database throws StoreCorruptError at open', () => {
    const path = join(tempDir(), 'garbage.db');
    writeFileSync(path, Buffer.alloc(8192, 0x5a));
    expect(() => sqliteStore({ path })).toThrow(StoreCorruptError);
    try {
      sqliteStore({ path });
    } catch (error) {
      expect(isIntegError(error, 'ERR_STORE_CORRUPT')).toBe(true);
      expect((error as Error).message).toContain('garbage.db');
    }
  });

  it('a damaged database file throws StoreCorruptError, at open or on first use', async () => {
    const path = join(tempDir(), 'damaged.db');
    const seed = openTestDatabase(path);
    seed.exec('create table filler (x text)');
    const insert = seed.prepare('insert into filler values (?)');
    for (let i = 0; i < 200; i++) insert.run('x'.repeat(500));
    seed.close();
    // Keep the 100-byte header (so it still looks like SQLite) and trash the schema page and beyond.
    const bytes = readFileSync(path);
    bytes.fill(0xa5, 100);
    writeFileSync(path, bytes);
    let error: unknown;
    let store: QueueStore | undefined;
    try {
      store = sqliteStore({ path });
      error = await createQueue({ name: 'q', store })
        .stats()
        .catch((e: unknown) => e);
    } catch (e) {
      error = e;
    }
    await store?.close();
    expect(error).toBeInstanceOf(StoreCorruptError);
  });

  it('a file locked by another connection gives StoreLockedError (retryable) past busyTimeout, and works once free', async () => {
    const path = join(tempDir(), 'locked.db');
    const setup = sqliteStore({ path });
    await setup.close();
    const holder = openTestDatabase(path);
    holder.exec('begin exclusive');
    let error: unknown;
    let store: QueueStore | undefined;
    try {
      store = sqliteStore({ path, busyTimeout: 50 });
      error = await createQueue({ name: 'q', store })
        .push('x')
        .catch((e: unknown) => e);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StoreLockedError);
    expect(isIntegError(error, 'ERR_STORE_LOCKED')).toBe(true);
    expect((error as { retryable?: boolean }).retryable).toBe(true);
    holder.exec('commit');
    holder.close();
    store ??= sqliteStore({ path, busyTimeout: 50 });
    const queue = createQueue({ name: 'q', store });
    await queue.push('x');
    expect((await queue.stats()).pending).toBe(1);
    await store.close();
  });

  it('a path that cannot be opened for writing throws StoreUnavailableError', () => {
    const path = join(tempDir(), 'no-such-dir', 'deeper', 'jobs.db');
    expect(() => sqliteStore({ path })).toThrow(StoreUnavailableError);
  });

  it('a closed store refuses work with StoreUnavailableError', async () => {
    const store = sqliteStore({ path: join(tempDir(), 'closed.db') });
    const queue = createQueue({ name: 'q', store });
    await store.close();
    await expect(queue.push('x')).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it("durability 'normal': every push that resolved survives the process being killed (SIGKILL)", async () => {
    const path = join(tempDir(), 'killed.db');
    const ids = await runKilledProducer(path);
    expect(ids.length).toBeGreaterThan(0);
    const store = sqliteStore({ path });
    const queue = createQueue({ name: 'q', store });
    for (const id of ids) expect((await queue.get(id))?.status, id).toBe('pending');
    await store.close();
  });
});

// A child process pushes one job after another and prints each id once push() resolved; the parent
// kills it with SIGKILL mid-stream. The child runs a bundle of the public entry points.
let bundle: string | undefined;
beforeAll(async () => {
  const { build } = await import('tsup');
  const here = fileURLToPath(new URL('.', import.meta.url));
  const outDir = join(here, '..', 'node_modules', '.cache', 'blackbox-test');
  const entry = join(outDir, 'producer.ts');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    entry,
    [
      "import { createQueue } from '@integ/queue';",
      "import { sqliteStore } from '@integ/queue/sqlite';",
      "const queue = createQueue({ name: 'q', store: sqliteStore({ path: process.argv[2] }) });",
      'for (let i = 0; ; i++) {',
      '  const job = await queue.push({ i });',
      "  process.stdout.write(job.id + '\\n');",
      '}',
    ].join('\n'),
  );
  const src = join(here);
  await build({
    entry: { producer: entry },
    outDir,
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    silent: true,
    config: false,
    dts: false,
    external: ['better-sqlite3'],
    noExternal: [/^@integ\//],
    esbuildOptions(options) {
      options.alias = {
        '@integ/queue/sqlite': join(src, 'sqlite.ts'),
        '@integ/queue': join(src, 'index.ts'),
        '@integ/core': join(here, '..', '..', 'core', 'src', 'index.ts'),
        '@integ/retry': join(here, '..', '..', 'retry', 'src', 'index.ts'),
      };
    },
  });
  bundle = join(outDir, 'producer.js');
}, 60_000);

function runKilledProducer(path: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    if (bundle === undefined) return reject(new Error('no bundle'));
    const child = spawn(process.execPath, [bundle, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    const ids: string[] = [];
    let buffered = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      ids.push(...lines);
      if (ids.length >= 300 && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', (_code, signal) =>
      signal === 'SIGKILL' ? resolve(ids) : reject(new Error(`producer exited without SIGKILL: ${stderr}`)),
    );
  });
}

describe('the job contract (DESIGN.md)', () => {
  it('statuses are pending | processing | done | dead, in life-cycle order', () => {
    expect([...JOB_STATUSES]).toEqual(['pending', 'processing', 'done', 'dead']);
  });
});

describe('package.json', () => {
  it('better-sqlite3 ^12 is an optional peer dependency, and ./sqlite and ./testing are entry points', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      peerDependencies?: Record<string, string>;
      peerDependenciesMeta?: Record<string, { optional?: boolean }>;
      dependencies?: Record<string, string>;
      exports?: Record<string, unknown>;
    };
    expect(pkg.peerDependencies?.['better-sqlite3']).toMatch(/^\^12\./);
    expect(pkg.peerDependenciesMeta?.['better-sqlite3']?.optional).toBe(true);
    expect(Object.keys(pkg.dependencies ?? {})).not.toContain('better-sqlite3');
    expect(Object.keys(pkg.exports ?? {})).toEqual(expect.arrayContaining(['.', './sqlite', './testing']));
  });
});

describe('sqliteStore drivers', () => {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const hasNodeSqlite = major > 22 || (major === 22 && minor >= 13);

  // Like the node:sqlite test below, one test for both cases: the addon in node_modules is built for one Node ABI.
  it("driver 'better-sqlite3' (the optional peer) opens the file, reports itself, and ready() rejects once closed; an addon built for another Node gives StoreUnavailableError saying to rebuild it", async () => {
    const open = () => sqliteStore({ path: join(tempDir(), 'peer.db'), driver: 'better-sqlite3' });
    if (testDriver !== 'better-sqlite3') {
      expect(open).toThrow(StoreUnavailableError);
      expect(open).toThrow(/npm rebuild better-sqlite3/);
      return;
    }
    const store = open();
    expect(store.driver).toBe('better-sqlite3');
    await store.ready();
    await store.close();
    await expect(store.ready()).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  // One test for both cases, so neither is reported as skipped on the Node that runs it.
  it("driver 'node:sqlite' works on Node >= 22.13, and elsewhere throws StoreUnavailableError naming it", async () => {
    const open = () => sqliteStore({ path: join(tempDir(), 'n.db'), driver: 'node:sqlite' });
    if (!hasNodeSqlite) {
      expect(open).toThrow(StoreUnavailableError);
      expect(open).toThrow(/node:sqlite/);
      return;
    }
    const store = open();
    expect(store.driver).toBe('node:sqlite');
    await createQueue({ name: 'q', store }).push(1);
    await store.close();
  });
});

describe('sqliteStore with 100,000 jobs', () => {
  it('stats() counts every status exactly and list() pages stay correct at any offset', async () => {
    const clock = createFakeClock({ now: T0 });
    const store = sqliteStore({ path: join(tempDir(), 'big.db') });
    const queue = createQueue<{ n: number }>({ name: 'big', store, clock, attempts: 1 });
    const other = createQueue({ name: 'other', store, clock });
    await other.pushMany(Array.from({ length: 1000 }, (_, n) => ({ n })));
    const ids: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const payloads = Array.from({ length: 10_000 }, (_, i) => ({ n: batch * 10_000 + i }));
      const jobs = await queue.pushMany(payloads, batch % 2 === 1 ? { delay: 60_000 } : {});
      ids.push(...jobs.map((job) => job.id));
      await clock.advance(1);
    }
    // The first 3,000 due jobs: 1,000 done, 1,000 dead, 1,000 processing.
    for (let round = 0; round < 3; round++) {
      const leased = await Promise.all(Array.from({ length: 1000 }, () => queue.next({ leaseMs: 600_000 })));
      if (round === 0) await Promise.all(leased.map((job) => job?.ack()));
      if (round === 1) await Promise.all(leased.map((job) => job?.fail(new Error('x'))));
    }
    await clock.advance(1000);
    expect(await queue.stats()).toEqual({
      pending: 97_000,
      processing: 1000,
      done: 1000,
      dead: 1000,
      delayed: 50_000,
      total: 100_000,
      oldestPendingAgeMs: 1010, // pushed at T0 + 0, now T0 + 10 + 1000
    });
    expect((await queue.list()).map((job) => job.id)).toEqual(ids.slice(0, 100));
    expect((await queue.list({ offset: 99_950 })).map((job) => job.id)).toEqual(ids.slice(99_950));
    expect((await queue.list({ limit: 10_000, offset: 45_000 })).map((job) => job.id)).toEqual(
      ids.slice(45_000, 55_000),
    );
    expect((await queue.list({ status: 'dead', offset: 990 })).map((job) => job.id)).toEqual(
      ids.slice(1990, 2000),
    );
    expect((await queue.list({ status: 'pending', limit: 3, offset: 96_997 })).map((job) => job.id)).toEqual(
      ids.slice(99_997),
    );
    await queue.close({ timeout: 0 });
    await other.close();
    await store.close();
  }, 60_000);
});

describe('queueConformance from @integ/queue/testing', () => {
  // A minimal runner, so the kit's verdict on a store can be read as data.
  async function runKit(createStore: () => QueueStore): Promise<{ passed: string[]; failed: string[] }> {
    type Hook = () => Promise<void> | void;
    interface Scope {
      readonly name: string;
      readonly before: Hook[];
      readonly after: Hook[];
    }
    const stack: Scope[] = [{ name: '', before: [], after: [] }];
    const tests: { name: string; scopes: Scope[]; fn: () => Promise<void> }[] = [];
    const top = (): Scope => stack[stack.length - 1] as Scope;
    queueConformance(
      {
        describe(name, fn) {
          stack.push({ name, before: [], after: [] });
          fn();
          stack.pop();
        },
        it(name, fn) {
          tests.push({ name: [...stack.map((s) => s.name), name].join(' > '), scopes: [...stack], fn });
        },
        expect: (actual) => expect(actual),
        beforeEach: (fn) => void top().before.push(fn),
        afterEach: (fn) => void top().after.push(fn),
      },
      { name: 'under test', createStore },
    );
    const passed: string[] = [];
    const failed: string[] = [];
    for (const test of tests) {
      let ok = true;
      try {
        for (const scope of test.scopes) for (const hook of scope.before) await hook();
        await test.fn();
      } catch {
        ok = false;
      }
      for (const scope of [...test.scopes].reverse())
        for (const hook of scope.after) await Promise.resolve(hook()).catch(() => undefined);
      (ok ? passed : failed).push(test.name);
    }
    return { passed, failed };
  }

  function tamper(inner: QueueStore, overrides: Partial<QueueStore>): QueueStore {
    return new Proxy(inner, {
      get(target, property) {
        if (property in overrides) return overrides[property as keyof QueueStore];
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  it('passes a correct store (memoryStore) on every test', async () => {
    const { passed, failed } = await runKit(() => memoryStore());
    expect(failed).toEqual([]);
    expect(passed.length).toBeGreaterThan(10);
  });

  it('fails a store whose ack ignores the fencing token', async () => {
    const { failed } = await runKit(() => {
      const inner = memoryStore();
      return tamper(inner, {
        async ack(id, token, now) {
          const current = (await inner.get(id)) as { token?: number } | null;
          return inner.ack(id, current?.token ?? token, now);
        },
      });
    });
    expect(failed.some((name) => /stale holder/.test(name))).toBe(true);
  });

  it('fails a store that drops deduplication keys', async () => {
    const { failed } = await runKit(() => {
      const inner = memoryStore();
      return tamper(inner, {
        enqueue: (queue, jobs, now) =>
          inner.enqueue(
            queue,
            jobs.map((job) => ({ ...job, key: null })),
            now,
          ),
      });
    });
    expect(failed.some((name) => /deduplicates by key/.test(name))).toBe(true);
  });
});
