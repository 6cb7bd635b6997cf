/**
 * Review 39 (lead): what Stryker's survivors of sqliteStore's group commit and reads (sqlite.ts, flush() to atomic())
 * showed untested. A read after close() (get, list, stats) ran its statement on the closed handle: the driver's own
 * TypeError ('The database connection is not open', no ERR_* code) instead of the store's StoreUnavailableError.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreUnavailableError } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'integ-queue-review-39-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sqliteStore after close()', () => {
  it.each([
    ['get', (store: ReturnType<typeof sqliteStore>) => store.get('1')],
    ['list', (store: ReturnType<typeof sqliteStore>) => store.list('q', {})],
    ['stats', (store: ReturnType<typeof sqliteStore>) => store.stats('q', 0)],
  ])('%s() rejects with StoreUnavailableError naming the store', async (_, read) => {
    const path = join(dir, 'jobs.db');
    const store = sqliteStore({ path });
    await store.enqueue(
      'q',
      [{ payload: '1', priority: 0, key: null, maxAttempts: 1, backoff: null, runAt: 0 }],
      0,
    );
    await store.close();
    const error = await read(store).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error).toMatchObject({
      code: 'ERR_STORE_UNAVAILABLE',
      message: `SQLite queue store ${JSON.stringify(path)} is closed`,
    });
  });
});
