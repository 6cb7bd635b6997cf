/**
 * Review round 16: objects whose prototype only looks like an Object.prototype; a lastError holding a NUL or a
 * lone surrogate, which SQLite cannot keep as given.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { InvalidArgumentError } from '@integ/core';
import { createQueue, memoryStore, type QueueStore } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

// node:sqlite (Node >= 22.13) joins the list where it exists: it is the driver that read a NUL as the end of text.
const hasNodeSqlite =
  (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule?.('node:sqlite') !== undefined;
const stores: [string, () => QueueStore][] = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: ':memory:' })],
  ...(hasNodeSqlite
    ? [
        ['node:sqlite', () => sqliteStore({ path: ':memory:', driver: 'node:sqlite' })] as [
          string,
          () => QueueStore,
        ],
      ]
    : []),
];

describe.each(stores)(
  'queue.push of an object whose prototype is not an Object.prototype (%s)',
  (_name, createStore) => {
    it('refuses one inheriting data from a null-prototype object (JSON.stringify drops inherited keys) and writes nothing', async () => {
      const store = createStore();
      const queue = createQueue({ name: 'q', store });
      const defaults = Object.freeze(
        Object.assign(Object.create(null) as object, { retries: 3, to: 'ops@example.com' }),
      );
      const email = Object.create(defaults) as { subject?: string; retries?: number };
      email.subject = 'hi';
      expect(email.retries).toBe(3);
      const totals = Object.create(
        Object.create(null, { total: { get: () => 5, enumerable: true } }) as object,
      ) as object;
      // Before: both were taken and stored as { subject: 'hi' } and {}: what the holder read (retries, to, total)
      // was gone, as it was refused before round 15 took any object whose prototype has a null prototype.
      for (const [payload, path] of [
        [email, 'payload'],
        [{ totals }, 'payload.totals'],
        [Object.create(Object.create(null) as object) as object, 'payload'],
      ] as const) {
        await expect(queue.push(payload)).rejects.toMatchObject({ code: 'ERR_PAYLOAD_INVALID', path });
        await expect(queue.pushMany([1, payload])).rejects.toMatchObject({
          code: 'ERR_PAYLOAD_INVALID',
          index: 1,
        });
      }
      expect((await queue.stats()).total).toBe(0);
      await queue.close();
      await store.close();
    });

    it('still takes plain objects of this realm and another, and null-prototype ones', async () => {
      const store = createStore();
      const queue = createQueue({ name: 'q', store });
      const bare = Object.assign(Object.create(null) as object, { a: 1 });
      const payloads = [
        { a: 1 },
        runInNewContext('({ a: 1, b: { c: [1] } })'),
        bare,
        Object.create(Object.prototype),
      ];
      for (const payload of payloads) {
        const job = await queue.push(payload);
        expect((await queue.get(job.id))?.payload).toEqual(JSON.parse(JSON.stringify(payload)));
      }
      await queue.close();
      await store.close();
    });
  },
);
describe.each(stores)(
  'lastError of a failure whose text SQLite cannot keep as given (%s)',
  (_name, createStore) => {
    // node:sqlite reads text only up to a NUL ('a\0b' came back 'a'); better-sqlite3 and SQLite itself write a lone
    // surrogate as U+FFFD, which the memory store kept as is. Every store now holds the same text.
    const expected = 'Error: before \\0 after \uFFFD end; cause: Error: x\\0y';

    it('is stored the same by every store: a NUL as \\0, a lone surrogate as U+FFFD (job.fail and a worker)', async () => {
      const store = createStore();
      const queue = createQueue({ name: 'q', store });
      const error = (): Error => new Error('before \0 after \uD800 end', { cause: new Error('x\0y') });
      const pushed = await queue.push('a', { attempts: 1 });
      const job = await queue.next();
      if (job === null) throw new Error('no job');
      await job.fail(error());
      expect(job.lastError).toBe(expected);
      // Before: node:sqlite answered 'Error: before ' and memory 'Error: before \0 after \uD800 end; ...'.
      expect((await queue.get(pushed.id))?.lastError).toBe(expected);

      const second = await queue.push('b', { attempts: 1 });
      let resolveDone!: () => void;
      const done = new Promise<void>((resolve) => {
        resolveDone = resolve;
      });
      const queue2 = createQueue({ name: 'q', store, onDead: () => resolveDone() });
      const worker = queue2.process(() => {
        throw error();
      });
      await done;
      await worker.close();
      expect((await queue.get(second.id))?.lastError).toBe(expected);
      await queue2.close();
      await queue.close();
      await store.close();
    });

    it('stays within 4,096 characters and the cut mark when the escapes lengthen it', async () => {
      const store = createStore();
      const queue = createQueue({ name: 'q', store });
      const pushed = await queue.push('a', { attempts: 1 });
      const job = await queue.next();
      if (job === null) throw new Error('no job');
      await job.fail(new Error('\0 '.repeat(3000)));
      const stored = (await queue.get(pushed.id))?.lastError ?? '';
      expect(stored).toBe(job.lastError);
      expect(stored.length).toBeLessThanOrEqual(4097);
      expect(stored.startsWith('Error: \\0 \\0 ')).toBe(true);
      expect(stored.endsWith('\\0 …')).toBe(true);
      await queue.close();
      await store.close();
    });
  },
);

describe('sqliteStore({ path }) with a NUL in the path', () => {
  it('refuses it with InvalidArgumentError and creates no file (better-sqlite3 opened the path cut at the NUL)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'integ-queue-r16-'));
    try {
      // Before: with better-sqlite3 the store opened (and created) `${dir}/jobs`, another file than the one given;
      // node:sqlite threw a bare TypeError.
      expect(() => sqliteStore({ path: join(dir, 'jobs\0.db') })).toThrow(InvalidArgumentError);
      expect(() => sqliteStore({ path: join(dir, 'jobs\0.db'), driver: 'better-sqlite3' })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', name: 'InvalidArgumentError' }),
      );
      expect(existsSync(join(dir, 'jobs'))).toBe(false);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a handler whose promise never settles (a throw from its timer swallowed by an uncaughtException listener)', () => {
  const settle = async (turns = 20): Promise<void> => {
    for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  };

  it('keeps its job processing, lease renewed, until timeout fails the attempt (README FAQ)', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const store = memoryStore();
    const queue = createQueue<string>({ name: 'q', store, clock });
    const { id } = await queue.push('x', { attempts: 2 });
    const hung = queue.process(() => new Promise<void>(() => {}), { leaseMs: 1000 });
    await settle();
    for (let i = 0; i < 20; i++) {
      await clock.advance(500);
      await settle();
    }
    // Ten leases later: still this worker's, never delivered again.
    expect((await queue.get(id))?.status).toBe('processing');
    expect(await createQueue<string>({ name: 'q', store, clock }).next()).toBeNull();
    const closing = hung.close({ timeout: 0 });
    await settle();
    await closing;

    // With timeout, the attempt fails when it passes (here the last: dead, TimeoutError).
    const other = createQueue<string>({ name: 'r', store, clock });
    const { id: second } = await other.push('y', { attempts: 1 });
    const bounded = other.process(() => new Promise<void>(() => {}), { leaseMs: 1000, timeout: 3000 });
    await settle();
    for (let i = 0; i < 8; i++) {
      await clock.advance(500);
      await settle();
    }
    expect((await other.get(second))?.status).toBe('dead');
    expect((await other.get(second))?.lastError).toMatch(/^TimeoutError/);
    await bounded.close({ timeout: 0 });
    await other.close({ timeout: 0 });
    await queue.close({ timeout: 0 });
    await store.close();
  });
});
