/**
 * Reading a job whose stored payload is not JSON (a row edited by hand, a disk error, a faulty custom store):
 * get() and list() reject with a typed error naming the job (decision 0138), and no text of the damaged payload
 * (which often holds tokens) reaches an error, a log line, `lastError` or a `cause`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIntegError, type Logger } from '@integ/core';
import { createQueue, memoryStore, type Queue, type QueueStore } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock } from '@integ/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../test/sqlite-db.js';

const dir = mkdtempSync(join(tmpdir(), 'integ-queue-stored-payload-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TOKEN = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc';
// V8 quotes the start of the text in this error: `Unexpected token 's', "{"apiKey": sk_live_4e"... is not valid JSON`.
const DAMAGED = `{"apiKey": ${TOKEN}}`;

/** Everything a log sink or an error reporter could print of `value`: JSON, and each error's message, stack and causes. */
function exposed(value: unknown, seen = new Set<unknown>()): string {
  if (value === null || typeof value !== 'object' || seen.has(value)) return String(value);
  seen.add(value);
  let text = JSON.stringify(value) ?? '';
  if (value instanceof Error)
    text += ` ${value.name} ${value.message} ${value.stack} ${exposed(value.cause, seen)}`;
  for (const field of Object.values(value)) text += ` ${exposed(field, seen)}`;
  return text;
}

/** A logger that keeps every call, whatever its level. */
function recorder(): { logger: Logger; calls: { details: unknown; message: unknown }[] } {
  const calls: { details: unknown; message: unknown }[] = [];
  const log = ((details: unknown, message: unknown): void => {
    calls.push({ details, message });
  }) as Logger['warn'];
  return { logger: { debug: log, info: log, warn: log, error: log }, calls };
}

const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
};

interface Setup {
  readonly store: QueueStore;
  readonly queue: Queue<unknown>;
  readonly calls: { details: unknown; message: unknown }[];
  /** Stores `text` as the payload (or backoff) of job `id`, as a damaged row would read. */
  damage(id: string, text: string, column?: 'payload' | 'backoff'): void;
}

type Damages = Map<string, { payload?: string; backoff?: string }>;

/** memoryStore behind a wrapper that reads some rows back damaged, as a faulty custom store would. */
function damagingStore(damages: Damages): QueueStore {
  const base = memoryStore();
  const read = <R extends { id: string } | null>(record: R): R =>
    record === null ? record : ({ ...record, ...damages.get(record.id) } as R);
  return {
    ...base,
    enqueue: async (...args) => (await base.enqueue(...args)).map((r) => ({ ...r, job: read(r.job) })),
    get: async (id) => read(await base.get(id)),
    list: async (...args) => (await base.list(...args)).map(read),
    claim: async (...args) => (await base.claim(...args)).map(read),
    reap: async (...args) => (await base.reap(...args)).map(read),
  };
}

const stores: [string, (clock: ReturnType<typeof createFakeClock>) => Setup][] = [
  [
    'memory, a store that reads a row back damaged',
    (clock) => {
      const damages: Damages = new Map();
      const store = damagingStore(damages);
      const { logger, calls } = recorder();
      const queue = createQueue<unknown>({ name: 'q', store, clock, logger });
      return {
        store,
        queue,
        calls,
        damage: (id, text, column = 'payload') => damages.set(id, { ...damages.get(id), [column]: text }),
      };
    },
  ],
  [
    'sqlite, a row damaged by hand',
    (clock) => {
      const path = join(dir, `stored-${++n}.db`);
      const store = sqliteStore({ path });
      const { logger, calls } = recorder();
      const queue = createQueue<unknown>({ name: 'q', store, clock, logger });
      return {
        store,
        queue,
        calls,
        damage: (id, text, column = 'payload') => {
          const db = openTestDatabase(path);
          db.prepare(`UPDATE integ_jobs SET ${column} = ? WHERE id = ?`).run(text, Number(id));
          db.close();
        },
      };
    },
  ],
];

describe.each(stores)('a stored payload that is not JSON (%s)', (_, setup) => {
  const T0 = Date.UTC(2030, 0, 1);

  it('get() rejects with ERR_STORE_CORRUPT naming the job, without the payload', async () => {
    const { store, queue, damage } = setup(createFakeClock({ now: T0 }));
    const [a, b] = await queue.pushMany(['a', 'b']);
    damage(b?.id as string, DAMAGED);
    expect((await queue.get(a?.id as string))?.payload).toBe('a');
    const error = await rejection(queue.get(b?.id as string));
    // Before: a bare SyntaxError, `Unexpected token 's', "{"apiKey": sk_live_4e"... is not valid JSON`.
    expect(isIntegError(error, 'ERR_STORE_CORRUPT')).toBe(true);
    expect((error as Error).name).toBe('StoreCorruptError');
    expect((error as Error).message).toContain(`job ${b?.id}`);
    expect((error as Error).message).toContain('not valid JSON');
    expect((error as Error).cause).toBe(undefined);
    expect(exposed(error)).not.toContain('sk_live');
    await store.close();
  });

  it('list() rejects as a whole with the same error when its page holds the job; other pages still list', async () => {
    const { store, queue, damage } = setup(createFakeClock({ now: T0 }));
    const [, b] = await queue.pushMany(['a', 'b', 'c']);
    damage(b?.id as string, DAMAGED);
    const error = await rejection(queue.list());
    expect(isIntegError(error, 'ERR_STORE_CORRUPT')).toBe(true);
    expect((error as Error).message).toContain(`job ${b?.id}`);
    expect(exposed(error)).not.toContain('sk_live');
    expect((await queue.list({ limit: 1 })).map((job) => job.payload)).toEqual(['a']);
    expect((await queue.list({ offset: 2 })).map((job) => job.payload)).toEqual(['c']);
    await store.close();
  });

  it('push() of a key held by a damaged job rejects with the same error', async () => {
    const { store, queue, damage } = setup(createFakeClock({ now: T0 }));
    const a = await queue.push('a', { key: 'k' });
    damage(a.id, DAMAGED);
    const error = await rejection(queue.push('again', { key: 'k' }));
    expect(isIntegError(error, 'ERR_STORE_CORRUPT')).toBe(true);
    expect(exposed(error)).not.toContain('sk_live');
    await store.close();
  });

  it('a claim dead-letters the job, and nothing of its payload reaches a log, lastError or an error', async () => {
    const { store, queue, calls, damage } = setup(createFakeClock({ now: T0 }));
    const [a, b] = await queue.pushMany(['a', 'b']);
    damage(a?.id as string, DAMAGED);
    expect((await queue.next())?.id).toBe(b?.id);
    const stored = await store.get(a?.id as string);
    expect(stored?.status).toBe('dead');
    expect(stored?.lastError).toBe('StoreCorruptError: the stored payload is not JSON');
    expect(calls.map((call) => call.message)).toEqual(['StoreCorruptError: the stored payload is not JSON']);
    expect(calls[0]?.details).toMatchObject({ queue: 'q', jobId: a?.id });
    // Before: details.err was V8's SyntaxError, whose message quotes `{"apiKey": sk_live_4e`.
    expect(exposed(calls)).not.toContain('sk_live');
    await store.close();
  });

  it('a reaped last attempt whose payload was damaged meanwhile is logged without its payload', async () => {
    const clock = createFakeClock({ now: T0 });
    const { store, queue, calls, damage } = setup(clock);
    const dead: string[] = [];
    const a = await queue.push('a', { attempts: 1 });
    await queue.next({ leaseMs: 100 });
    await clock.advance(100);
    damage(a.id, DAMAGED);
    expect(await queue.next()).toBe(null);
    expect((await store.get(a.id))?.status).toBe('dead');
    expect(dead).toEqual([]);
    expect(calls.map((call) => call.message)).toEqual(['StoreCorruptError: the stored payload is not JSON']);
    expect(calls[0]?.details).toMatchObject({ queue: 'q', jobId: a.id });
    expect(exposed(calls)).not.toContain('sk_live');
    await store.close();
  });

  it("a stored backoff that is not JSON is logged without its text, and the queue's default applies", async () => {
    const { store, queue, calls, damage } = setup(createFakeClock({ now: T0 }));
    const a = await queue.push('a', { backoff: 5 });
    damage(a.id, `{"type": "constant", "delay": ${TOKEN}}`, 'backoff');
    const job = await queue.next();
    expect(job?.id).toBe(a.id);
    await job?.fail(new Error('boom'));
    expect(calls.map((call) => call.message)).toEqual(['stored backoff is invalid; using the queue default']);
    // Before: details.err quoted `{"type": "constant", "delay": sk_live_4eC39`.
    expect(exposed(calls)).not.toContain('sk_live');
    // The queue's default backoff: 1 s after the first failure.
    expect((await queue.get(a.id))?.runAt).toBe(new Date(T0 + 1000).toISOString());
    await store.close();
  });

  it('a stored backoff with a field named like a secret is logged without it', async () => {
    const { store, queue, calls, damage } = setup(createFakeClock({ now: T0 }));
    const a = await queue.push('a', { backoff: 5 });
    damage(a.id, JSON.stringify({ type: 'constant', delay: 5, [TOKEN]: 1 }), 'backoff');
    await (await queue.next())?.fail(new Error('boom'));
    expect(calls.map((call) => call.message)).toEqual(['stored backoff is invalid; using the queue default']);
    // Before: details.err was InvalidArgumentError 'Invalid backoff.sk_live_...: no such field ...'.
    expect(exposed(calls)).not.toContain('sk_live');
    await store.close();
  });
});
