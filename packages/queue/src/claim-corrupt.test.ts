/**
 * What a claim does with what it cannot hand out: a stored payload that is not JSON (a damaged row, a custom
 * store's bug) and a store that refuses the whole claim. The claim committed before the payload is read, so
 * throwing there leased the whole batch to nobody.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@integ/core';
import { createQueue, memoryStore, type QueueStore, StoreUnavailableError } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock } from '@integ/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../test/sqlite-db.js';

const dir = mkdtempSync(join(tmpdir(), 'integ-queue-corrupt-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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

describe('claim of a job whose stored payload is not JSON', () => {
  it('dead-letters that job with a StoreCorruptError and hands out the next one (sqlite, a row damaged by hand)', async () => {
    const clock = createFakeClock({ now: Date.UTC(2030, 0, 1) });
    const path = join(dir, `claim-${++n}.db`);
    const store = sqliteStore({ path });
    const { logger, warnings } = recorder();
    const dead: string[] = [];
    const queue = createQueue<string>({
      name: 'q',
      store,
      clock,
      logger,
      onDead: (job) => dead.push(job.id),
    });
    const [a, b, c] = await queue.pushMany(['a', 'b', 'c']);
    if (a === undefined || b === undefined || c === undefined) throw new Error('expected three jobs');
    const db = openTestDatabase(path);
    db.prepare('UPDATE integ_jobs SET payload = ? WHERE id = ?').run('{"to": "b@exa', Number(b.id));
    db.close();
    expect((await queue.next())?.payload).toBe('a');
    // Before: next() rejected with a SyntaxError after the claim committed: b leased to nobody, an attempt spent.
    expect((await queue.next())?.payload).toBe('c');
    const stored = await store.get(b.id);
    expect(stored?.status).toBe('dead');
    expect(stored?.attempts).toBe(1);
    expect(stored?.lastError).toBe('StoreCorruptError: the stored payload is not JSON');
    expect(warnings).toEqual([
      // The job's StoreCorruptError, not V8's SyntaxError, which quotes the payload (stored-payload.test.ts).
      'StoreCorruptError: the stored payload is not JSON: ERR_STORE_CORRUPT',
    ]);
    expect(await queue.next()).toBe(null);
    expect(dead).toEqual([]);
    await store.close();
  });

  it('hands out the other jobs of a worker batch and runs them once (memory, a store that returns a damaged payload)', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const base = memoryStore();
    const store: QueueStore = {
      ...base,
      claim: async (queue, options) =>
        (await base.claim(queue, options)).map((r) => (r.payload === '"b"' ? { ...r, payload: '"b' } : r)),
    };
    const { logger, warnings } = recorder();
    const queue = createQueue<string>({ name: 'q', store, clock, logger, attempts: 3, leaseMs: 1000 });
    await queue.pushMany(['a', 'b', 'c']);
    const ran: string[] = [];
    const worker = queue.process((job) => void ran.push(job.payload), { concurrency: 3, pollInterval: 100 });
    for (let i = 0; i < 50; i++) {
      await settle(5);
      await clock.advance(100);
    }
    await worker.close();
    // Before: every claim threw, a and c ran only after their leases expired, b looped through its attempts.
    expect(ran.sort()).toEqual(['a', 'c']);
    expect(await queue.stats()).toMatchObject({ done: 2, dead: 1, pending: 0, processing: 0 });
    expect(warnings).toEqual([
      // The job's StoreCorruptError, not V8's SyntaxError, which quotes the payload (stored-payload.test.ts).
      'StoreCorruptError: the stored payload is not JSON: ERR_STORE_CORRUPT',
    ]);
  });
});

describe('reap of an expired last attempt whose stored payload is not JSON', () => {
  it('still hands out the job the claim took, and logs the job it cannot show to onDead (sqlite)', async () => {
    const clock = createFakeClock({ now: Date.UTC(2030, 0, 1) });
    const path = join(dir, `reap-${++n}.db`);
    const store = sqliteStore({ path });
    const { logger, warnings } = recorder();
    const dead: string[] = [];
    const queue = createQueue<string>({
      name: 'q',
      store,
      clock,
      logger,
      onDead: (job) => dead.push(job.id),
    });
    const a = await queue.push('a', { attempts: 1 });
    await queue.next({ leaseMs: 100 });
    await clock.advance(100); // a's last lease expired: the next claim's reap dead-letters it
    const db = openTestDatabase(path);
    db.prepare('UPDATE integ_jobs SET payload = ? WHERE id = ?').run('{', Number(a.id));
    db.close();
    await queue.push('b');
    // Before: next() rejected with a SyntaxError from the reaped job, with b claimed and held by nobody.
    expect((await queue.next())?.payload).toBe('b');
    expect((await store.get(a.id))?.status).toBe('dead');
    expect(dead).toEqual([]);
    expect(warnings).toEqual([
      // The job's StoreCorruptError, not V8's SyntaxError, which quotes the payload (stored-payload.test.ts).
      'StoreCorruptError: the stored payload is not JSON: ERR_STORE_CORRUPT',
    ]);
    await store.close();
  });
});

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
