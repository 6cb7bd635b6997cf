/**
 * Review round 16: objects whose prototype only looks like an Object.prototype; a lastError holding a NUL or a
 * lone surrogate, which SQLite cannot keep as given.
 */
import { runInNewContext } from 'node:vm';
import { createQueue, memoryStore, type QueueStore } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
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
