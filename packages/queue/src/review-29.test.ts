/**
 * Review round 29: defects noticed and left by earlier rounds. URL userinfo in a sqlite `path` reaching errors and
 * logs; a throwing custom backoff or random making fail() reject; close() waiting for next() jobs another process
 * took over; a store release() that never settles.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { createQueue } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../test/sqlite-db.js';

/** Everything a user may see of an error: its message, its `cause` chain and its inspect output. */
const seen = (error: unknown): string =>
  `${String((error as Error)?.message)}\n${inspect(error, { depth: 10 })}`;

describe('sqliteStore() errors and logs name the path without URL userinfo', () => {
  let dir: string;
  let cwd: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'queue-review-29-'));
    cwd = process.cwd();
  });
  afterEach(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['a file: URL with an authority', (d: string) => `file://alice:S3CRET@localhost${d}/jobs.db`],
    ['a file: URI without one', (d: string) => `file:alice:S3CRET@${d}/missing/jobs.db`],
    ['an https-shaped path', () => 'https://alice:S3CRET@example.com/missing/jobs.db'],
    ['a password holding a slash', (d: string) => `file://alice:S3/CRET@localhost${d}/jobs.db?mode=rwc`],
  ])('when the file cannot be opened: %s', (_, make) => {
    let error: unknown;
    try {
      sqliteStore({ path: make(dir) });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    const text = seen(error);
    expect(text).toContain('jobs.db');
    expect(text).not.toMatch(/alice|S3|CRET/);
  });

  it('still names a plain path holding an @ in full, and a Windows drive path', async () => {
    const plain = join(dir, 'missing', 'team@corp', 'jobs.db');
    expect(() => sqliteStore({ path: plain })).toThrow(
      expect.objectContaining({ message: expect.stringContaining(JSON.stringify(plain)) }),
    );
    // A file name on POSIX, made in the test's directory.
    process.chdir(dir);
    const drive = 'C:\\team@corp\\jobs.db';
    const store = sqliteStore({ path: drive });
    await store.close();
    await expect(store.ready()).rejects.toThrow(JSON.stringify(drive));
  });

  it('when the store is closed, locked, and in the worker log line', async () => {
    // Relative paths that open: better-sqlite3 reads a file: URI as a file name (no SQLITE_USE_URI), so these are
    // directories under the working directory.
    process.chdir(dir);
    mkdirSync(join(dir, 'file:alice:S3CRET@db'));
    mkdirSync(join(dir, 'https:', 'alice:S3CRET@example.com'), { recursive: true });
    for (const [path, file] of [
      ['file:alice:S3CRET@db/jobs.db', 'file:alice:S3CRET@db/jobs.db'],
      ['https://alice:S3CRET@example.com/jobs.db', 'https:/alice:S3CRET@example.com/jobs.db'],
    ] as const) {
      const texts: string[] = [];
      // Locked: another connection holds the write lock and busyTimeout is 0.
      const store = sqliteStore({ path, busyTimeout: 0 });
      const other = openTestDatabase(join(dir, file));
      other.exec('BEGIN IMMEDIATE');
      const queue = createQueue({
        name: 'q',
        store,
        logger: {
          debug() {},
          info() {},
          error() {},
          warn: (details: unknown, message: string) =>
            texts.push(`${message} ${inspect(details, { depth: 10 })}`),
        },
      });
      const locked = await queue.push(1).catch((e: unknown) => e);
      expect(locked).toMatchObject({ code: 'ERR_STORE_LOCKED' });
      texts.push(seen(locked));
      other.exec('COMMIT');
      other.close();
      await store.close();
      // Closed: ready(), a push, and the worker's log line about its failed claim.
      texts.push(seen(await store.ready().catch((e: unknown) => e)));
      texts.push(seen(await queue.push(2).catch((e: unknown) => e)));
      const worker = queue.process(() => {});
      await new Promise((resolve) => setTimeout(resolve, 5));
      await worker.close();
      expect(texts.some((text) => text.startsWith('queue worker could not claim jobs'))).toBe(true);
      for (const text of texts) {
        expect(text).toContain('jobs.db');
        expect(text).not.toMatch(/alice|S3CRET/);
      }
    }
  });
});
