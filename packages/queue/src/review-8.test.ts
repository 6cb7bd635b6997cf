/**
 * Review round 8 (security sweep): lastError redaction, its cost and what it leaves of a password.
 */
import { createQueue, memoryStore } from '@integ/queue';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

const lastErrorOf = async (error: unknown): Promise<{ stored: string; ms: number }> => {
  const store = memoryStore();
  const queue = createQueue({ name: 'q', store, clock: createFakeClock({ now: 1e12 }), attempts: 1 });
  const { id } = await queue.push('x');
  const job = await queue.next();
  const started = performance.now();
  await job?.fail(error);
  const ms = performance.now() - started;
  const stored = (await queue.get(id))?.lastError ?? '';
  await store.close();
  return { stored, ms };
};

describe('lastError redaction, given a message an upstream service wrote', () => {
  it('takes linear time on words joined by dashes that each hold a credential name', async () => {
    // 'token-token-...': every word boundary inside the run started a credential-name match that backtracked
    // over the whole run: ~0.8 s per pattern (two patterns) for 4 KB, on every failed attempt of every job.
    for (const word of ['token-', 'password-', 'tokentoken-']) {
      const error = new Error(word.repeat(Math.floor(4000 / word.length)));
      // The best of three runs, under a bound far from both sides (~2 ms now, ~1.6 s before), so a busy
      // machine's pause in one run cannot fail it.
      const runs = [await lastErrorOf(error), await lastErrorOf(error), await lastErrorOf(error)];
      expect(runs[0]?.stored.startsWith(`Error: ${word}`)).toBe(true);
      expect(Math.min(...runs.map((run) => run.ms)), word).toBeLessThan(400);
    }
  });

  it('still redacts credential names inside a dashed header name, quoted values included', async () => {
    const { stored } = await lastErrorOf(
      new Error(
        [
          'X-Authorization: "Basic dXNlcjpwYXNz more"',
          'sent x-my-api-key: k-123 and -token=abc',
          '{"refresh-token":"r t"}',
        ].join('\n'),
      ),
    );
    for (const secret of ['dXNlcjpwYXNz', 'more', 'k-123', 'abc', 'r t'])
      expect(stored, secret).not.toContain(secret);
    expect(stored).toContain('X-Authorization: "[redacted]"');
    expect(stored).toContain('x-my-api-key: [redacted]');
  });
});

describe('lastError redaction, given a connection string whose password holds an @', () => {
  it('redacts the userinfo up to the last @ of the authority, as a URL parser reads it', async () => {
    // WHATWG URL (and so pg, ioredis, amqplib) read 'admin:P@ssw0rd' as the userinfo: it ends at the last '@'
    // before the path. Cut at the first '@', 'ssw0rd' stayed in lastError.
    const { stored } = await lastErrorOf(
      new Error('connect postgres://admin:P@ssw0rd@db:5432/app failed; redis://:s3cr@t@cache:6379 refused'),
    );
    for (const secret of ['ssw0rd', 't@cache']) expect(stored, secret).not.toContain(secret);
    expect(stored).toBe(
      'Error: connect postgres://[redacted]@db:5432/app failed; redis://[redacted]@cache:6379 refused',
    );
    // An @ after the path is not userinfo, and a mail address is left alone.
    expect((await lastErrorOf(new Error('see https://host/x@y and mail me@x.com'))).stored).toBe(
      'Error: see https://host/x@y and mail me@x.com',
    );
  });
});

describe('lastError redaction, given the other common names of a secret', () => {
  it('redacts private keys, passphrases, credentials and ODBC Pwd values', async () => {
    const { stored } = await lastErrorOf(
      new Error(
        [
          // A Google service account's JSON, echoed by a config check.
          'bad config {"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\\nMIIEvQIB"}',
          'Server=db;Uid=sa;Pwd=Hunter2!;Database=app',
          'ssh passphrase=correct-horse',
          'client_credentials: dGhlLWNyZWRz',
        ].join('\n'),
      ),
    );
    for (const secret of ['MIIEvQIB', 'BEGIN PRIVATE', 'Hunter2', 'correct-horse', 'dGhlLWNyZWRz'])
      expect(stored, secret).not.toContain(secret);
    expect(stored).toContain('"private_key":"[redacted]"');
    expect(stored).toContain('Uid=sa;Pwd=[redacted];Database=app');
  });
});
