/**
 * Review 39 (lead): what Stryker's survivors of sqliteStore's group commit and reads (sqlite.ts, flush() to atomic())
 * showed untested. A read after close() (get, list, stats) ran its statement on the closed handle: the driver's own
 * TypeError ('The database connection is not open', no ERR_* code) instead of the store's StoreUnavailableError.
 */
import { StoreUnavailableError } from '@integ/queue';
import { type SqliteStore, sqliteStore } from '@integ/queue/sqlite';
import { describe, expect, it } from 'vitest';

describe('sqliteStore after close()', () => {
  it.each([
    ['get', (store: SqliteStore) => store.get('1')],
    ['list', (store: SqliteStore) => store.list('q', {})],
    ['stats', (store: SqliteStore) => store.stats('q', 0)],
  ])('%s() rejects with StoreUnavailableError naming the store', async (_, read) => {
    const store = sqliteStore({ path: ':memory:' });
    await store.close();
    const error = await read(store).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error).toMatchObject({
      code: 'ERR_STORE_UNAVAILABLE',
      message: 'SQLite queue store ":memory:" is closed',
    });
  });
});
