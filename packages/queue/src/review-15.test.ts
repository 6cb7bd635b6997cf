/**
 * Review round 15: payloads JSON.stringify would not write as they are; plain objects of another realm.
 */
import { runInNewContext } from 'node:vm';
import { createQueue, memoryStore, PayloadError, type QueueStore } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { describe, expect, it } from 'vitest';

const stores: [string, () => QueueStore][] = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: ':memory:' })],
];

/** An array carrying a `toJSON` method, as a data-access layer may hand out its result rows. */
function withToJSON(result: unknown): unknown[] {
  const rows: unknown[] = [1, 2];
  Object.defineProperty(rows, 'toJSON', { value: () => result, enumerable: false });
  return rows;
}

class Rows extends Array<number> {
  toJSON(): unknown {
    return undefined;
  }
}

describe.each(stores)('queue.push of an array with a toJSON method (%s)', (_name, createStore) => {
  it.each([
    ['a string', 'x'],
    ['undefined', undefined],
    ['a function', () => 1],
    ['a BigInt', 10n],
  ])(
    'refuses it with PayloadError naming its path and writes nothing, whatever toJSON returns (%s)',
    async (_what, result) => {
      const store = createStore();
      const queue = createQueue({ name: 'q', store });
      // Before: JSON.stringify called toJSON, so [1, 2] was stored as its result ({ list: [1, 2] } became
      // { list: 'x' } or {}), or push threw a bare TypeError instead of PayloadError.
      for (const [payload, path] of [
        [{ list: withToJSON(result) }, 'payload.list.toJSON'],
        [withToJSON(result), 'payload.toJSON'],
      ] as const) {
        const error = await queue.push(payload).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(PayloadError);
        expect(error).toMatchObject({ code: 'ERR_PAYLOAD_INVALID', path });
        const many = await queue.pushMany(['ok', payload]).catch((e: unknown) => e);
        expect(many).toMatchObject({ code: 'ERR_PAYLOAD_INVALID', index: 1 });
      }
      expect((await queue.stats()).total).toBe(0);
      await queue.close();
      await store.close();
    },
  );

  it('refuses a plain object whose toJSON is not enumerable (Object.keys misses it, JSON.stringify calls it)', async () => {
    const store = createStore();
    const queue = createQueue({ name: 'q', store });
    const user = { id: 7, token: 'secret' };
    Object.defineProperty(user, 'toJSON', { value: () => ({ id: 7 }), enumerable: false });
    // Before: stored as { user: { id: 7 } }, though the handler was pushed { id: 7, token: 'secret' }.
    await expect(queue.push({ user })).rejects.toMatchObject({
      code: 'ERR_PAYLOAD_INVALID',
      path: 'payload.user.toJSON',
    });
    expect((await queue.stats()).total).toBe(0);
    await queue.close();
    await store.close();
  });

  it('refuses an Array subclass whose toJSON is inherited, and still takes plain arrays', async () => {
    const store = createStore();
    const queue = createQueue({ name: 'q', store });
    const rows = Rows.from([1, 2]);
    await expect(queue.push({ rows })).rejects.toMatchObject({
      code: 'ERR_PAYLOAD_INVALID',
      path: 'payload.rows.toJSON',
    });
    const job = await queue.push({ rows: [1, [2, 3]] });
    expect((await queue.get(job.id))?.payload).toEqual({ rows: [1, [2, 3]] });
    expect((await queue.stats()).total).toBe(1);
    await queue.close();
    await store.close();
  });
});

describe.each(stores)('queue.push of plain data made in another realm (%s)', (_name, createStore) => {
  // Another realm's objects: a vm context, or under Jest's node environment what Node's own fetch() parses
  // (`await res.json()`), whose Object.prototype is not this one's.
  it('takes a plain object of another realm and stores it as JSON', async () => {
    const store = createStore();
    const queue = createQueue({ name: 'q', store });
    const payload = runInNewContext('({ to: "a@example.com", tags: ["x"], meta: { n: 1, none: null } })');
    // Before: PayloadError 'payload is a Object (only plain objects and arrays ...)'.
    const job = await queue.push(payload);
    expect((await queue.get(job.id))?.payload).toEqual({
      to: 'a@example.com',
      tags: ['x'],
      meta: { n: 1, none: null },
    });
    await queue.close();
    await store.close();
  });

  it("still refuses another realm's class instances (Date, Map) and writes nothing", async () => {
    const store = createStore();
    const queue = createQueue({ name: 'q', store });
    for (const [source, path] of [
      ['({ at: new Date(0) })', 'payload.at'],
      ['({ m: new Map() })', 'payload.m'],
      [
        '(() => { class Email { constructor() { this.to = "a" } }; return { e: new Email() } })()',
        'payload.e',
      ],
    ] as const)
      await expect(queue.push(runInNewContext(source))).rejects.toMatchObject({
        code: 'ERR_PAYLOAD_INVALID',
        path,
      });
    expect((await queue.stats()).total).toBe(0);
    await queue.close();
    await store.close();
  });
});
