/**
 * Review round 12: lastError of a failure whose cause chain is made of huge messages (decision 0183).
 */
import { createQueue, memoryStore, StoreCorruptError } from '@integ/queue';
import { describe, expect, it } from 'vitest';

describe('lastError of a cause chain of huge messages', () => {
  it('is stored, cut at 4,096 characters: fail() does not throw a RangeError joining the parts', async () => {
    // 2^27 characters each: four of them joined pass V8's longest string (2^29 - 24), and fail() threw
    // 'Invalid string length', leaving the job processing until its lease expired, its failure lost.
    const huge = 'x'.repeat(2 ** 27);
    let made = 0;
    const link = (): Error => {
      made++;
      return Object.defineProperty(new Error(huge), 'cause', { get: link });
    };
    const queue = createQueue({ name: 'q', store: memoryStore() });
    const { id } = await queue.push('p', { attempts: 1 });
    await (await queue.next())?.fail(link());
    const job = await queue.get(id);
    await queue.close();
    expect(job?.status).toBe('dead');
    // The first part alone passes the cut; the cut drops the word it split: the name is all that is left.
    expect(job?.lastError).toBe('Error: …');
    expect(made).toBeLessThanOrEqual(5);
  });
});

describe("the queue's own errors a handler rethrows (decision 0184)", () => {
  it('still end dead after the last attempt: a handler that always rethrows StoreCorruptError runs attempts times', async () => {
    const dead: string[] = [];
    const queue = createQueue({
      name: 'q',
      store: memoryStore(),
      onDead: (job) => dead.push(job.id),
    });
    const { id } = await queue.push('p', { attempts: 3 });
    for (const code of ['ERR_STORE_CORRUPT', 'ERR_STORE_UNAVAILABLE', 'ERR_STORE_CORRUPT']) {
      const job = await queue.next();
      await job?.fail(Object.assign(new StoreCorruptError('db'), { code }), { delay: 0 });
    }
    expect(await queue.next()).toBeNull();
    expect(await queue.get(id)).toMatchObject({ status: 'dead', attempts: 3 });
    expect(dead).toEqual([id]);
    await queue.close();
  });
});
