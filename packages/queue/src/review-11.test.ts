/**
 * Review round 11: a dead job's lastError names the failure behind a wrapper (its `cause` chain, bounded and
 * redacted; decision 0183), and the queue's own errors a handler rethrows (a closed store, another job's lost
 * lease) are not final although marked `retryable: false` (decision 0184).
 */
import { IntegError } from '@integ/core';
import { createQueue, memoryStore, type QueueStore, StoreCorruptError } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { retry } from '@integ/retry';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

/** The lastError a job is left with after `job.fail(error)` on its last attempt. */
const lastErrorOf = async (error: unknown): Promise<string | null | undefined> => {
  const queue = createQueue({ name: 'q', store: memoryStore() });
  const { id } = await queue.push('x', { attempts: 1 });
  await (await queue.next())?.fail(error);
  const stored = (await queue.get(id))?.lastError;
  await queue.close();
  return stored;
};

describe('lastError of a failure with a cause', () => {
  it('names the failure a RetryError gave up on, not only "see .cause"', async () => {
    let calls = 0;
    const error = await retry(
      () => {
        calls++;
        throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      },
      { attempts: 2, backoff: () => 0 },
    ).catch((e: unknown) => e);
    expect(calls).toBe(2);
    expect(await lastErrorOf(error)).toBe(
      'RetryError: Retry gave up after 2 attempt(s) (attempts); see .cause and .errors; cause: Error: read ECONNRESET',
    );
  });

  it('follows any Error cause a few levels deep, and says when it stopped', async () => {
    const root = new Error('getaddrinfo ENOTFOUND db');
    const fetchFailed = new TypeError('fetch failed', { cause: root });
    const wrapper = new IntegError('ERR_SYNC', 'sync of account 7 failed', { cause: fetchFailed });
    expect(await lastErrorOf(wrapper)).toBe(
      'IntegError: sync of account 7 failed; cause: TypeError: fetch failed; cause: Error: getaddrinfo ENOTFOUND db',
    );
    let deep: Error = new Error('level 0');
    for (let i = 1; i <= 10; i++) deep = new Error(`level ${i}`, { cause: deep });
    expect(await lastErrorOf(deep)).toBe(
      'Error: level 10; cause: Error: level 9; cause: Error: level 8; cause: Error: level 7; cause: …',
    );
  });

  it('redacts a secret inside a cause, as in the error itself', async () => {
    const cause = new Error('GET https://admin:hunter2@api.test/v1?token=s3cr3t failed: password=p4ss');
    const stored = await lastErrorOf(new Error('upload failed', { cause }));
    expect(stored).toBe(
      'Error: upload failed; cause: Error: GET https://[redacted]@api.test/v1?[redacted] failed: password=[redacted]',
    );
    expect(stored).not.toMatch(/hunter2|s3cr3t|p4ss/);
  });

  it('is bounded on a cyclic cause chain, each error named once', async () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    Object.assign(a, { cause: b });
    expect(await lastErrorOf(a)).toBe('Error: a; cause: Error: b');
    const self = new Error('self');
    Object.assign(self, { cause: self });
    expect(await lastErrorOf(self)).toBe('Error: self');
  });

  it('keeps a non-Error cause by kind, a string cause as is, and stops at a cause that cannot be read', async () => {
    expect(await lastErrorOf(new Error('x', { cause: { headers: { authorization: 'Bearer t0k' } } }))).toBe(
      'Error: x; cause: a non-Error object (its fields are not kept, they may hold secrets; fail with an Error)',
    );
    expect(await lastErrorOf(new Error('x', { cause: 'disk full' }))).toBe('Error: x; cause: disk full');
    const throwing = new Error('x');
    Object.defineProperty(throwing, 'cause', {
      get() {
        throw new Error('no');
      },
    });
    expect(await lastErrorOf(throwing)).toBe('Error: x');
  });

  it('stays within 4,096 characters (and the ellipsis) whatever the causes say', async () => {
    const long = 'word '.repeat(600).trim();
    const stored = await lastErrorOf(new Error(long, { cause: new Error(long, { cause: new Error(long) }) }));
    expect(stored?.length).toBeLessThanOrEqual(4097);
    expect(stored).toMatch(/; cause: Error: (word )+…$/);
  });
});

const stores: [string, () => QueueStore][] = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: ':memory:' })],
];

const settle = async (turns = 30): Promise<void> => {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe.each(stores)("the queue's own errors a handler rethrows (%s)", (_name, createStore) => {
  /** Runs one job whose handler throws what `thrower` gives; returns the job after that one attempt. */
  const runOnce = async (thrower: () => Promise<unknown>) => {
    const clock = createFakeClock({ now: Date.UTC(2030, 0, 1) });
    const store = createStore();
    const dead: unknown[] = [];
    const queue = createQueue({
      name: 'q',
      store,
      clock,
      backoff: 1000,
      onDead: (_job, error) => dead.push(error),
    });
    const { id } = await queue.push('x', { attempts: 3 });
    const worker = queue.process(async () => {
      throw await thrower();
    });
    await settle();
    const job = await queue.get(id);
    await worker.close();
    await queue.close();
    await store.close();
    return { job, dead };
  };

  it('retries a job whose handler pushed to another queue whose store was closed (StoreUnavailableError)', async () => {
    const { job, dead } = await runOnce(async () => {
      const other = createStore();
      await other.close();
      return createQueue({ name: 'audit', store: other })
        .push({ n: 1 })
        .catch((e: unknown) => e);
    });
    expect(job).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: expect.stringMatching(/^StoreUnavailableError: /),
    });
    expect(dead).toEqual([]);
  });

  it("retries a job whose handler rethrew another job's LeaseLostError or JobSettledError", async () => {
    const lost = await runOnce(async () => {
      const clock = createFakeClock({ now: Date.UTC(2030, 0, 1) });
      const other = createQueue({ name: 'other', store: memoryStore(), clock });
      await other.push('y');
      const stale = await other.next({ leaseMs: 1000 });
      await clock.advance(2000);
      await other.next({ leaseMs: 1000 });
      return stale?.ack().catch((e: unknown) => e);
    });
    expect(lost.job).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: expect.stringMatching(/^LeaseLostError: /),
    });
    expect(lost.dead).toEqual([]);
    const settled = await runOnce(async () => {
      const other = createQueue({ name: 'other', store: memoryStore() });
      await other.push('y');
      const held = await other.next();
      await held?.ack();
      return held?.ack().catch((e: unknown) => e);
    });
    expect(settled.job).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: expect.stringMatching(/^JobSettledError: /),
    });
    expect(settled.dead).toEqual([]);
  });

  it('retries a job whose handler rethrew a StoreCorruptError of another store (it needs a restore, not the job)', async () => {
    const { job, dead } = await runOnce(
      async () => new StoreCorruptError('SQLite queue database "audit.db"'),
    );
    expect(job).toMatchObject({ status: 'pending', attempts: 1 });
    expect(dead).toEqual([]);
  });

  it('still dead-letters a payload error (the data the handler made from the job) and a user error with a queue-like code', async () => {
    const payload = await runOnce(async () =>
      createQueue({ name: 'audit', store: memoryStore() })
        .push({ n: 1n })
        .catch((e: unknown) => e),
    );
    expect(payload.job).toMatchObject({ status: 'dead', attempts: 1 });
    const own = await runOnce(
      async () => new IntegError('ERR_JOB_INVALID', 'job 7 has no owner', { retryable: false }),
    );
    expect(own.job).toMatchObject({ status: 'dead', attempts: 1 });
  });
});
