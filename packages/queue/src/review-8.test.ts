/**
 * Review round 8 (security sweep): lastError redaction must cost time linear in the text it is given.
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
      const { stored, ms } = await lastErrorOf(new Error(word.repeat(Math.floor(4000 / word.length))));
      expect(stored.startsWith(`Error: ${word}`)).toBe(true);
      expect(ms, word).toBeLessThan(150);
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
