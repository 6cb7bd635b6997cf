/**
 * Review round 7: what a worker keeps of a handler's failure.
 */
import { createQueue, memoryStore } from '@integ/queue';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

const settle = async (turns = 20): Promise<void> => {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('queue.process', () => {
  it("stores a thrown non-Error object as the queue's own note, not redacted as if it held a secret", async () => {
    const clock = createFakeClock({ now: 1e12 });
    const dead: unknown[] = [];
    const queue = createQueue({
      name: 'q',
      store: memoryStore(),
      clock,
      attempts: 1,
      onDead: (_job, error) => dead.push(error),
    });
    const response = { status: 503, headers: { 'retry-after': '5' } };
    const { id } = await queue.push('x');
    const worker = queue.process(async () => {
      throw response;
    });
    await settle();
    const job = await queue.get(id);
    expect(job?.status).toBe('dead');
    // The note says why nothing of the object is kept; nothing of the caller's was in it to redact.
    expect(job?.lastError).toBe(
      'a non-Error object (its fields are not kept, they may hold secrets; fail with an Error)',
    );
    expect(dead).toEqual([response]);
    await worker.close();
    await queue.close();
  });
});
