/**
 * Review round 17: a prototype that only looks like a realm's Object.prototype (a constructor named Object whose
 * prototype it is, with a null prototype) carries keys JSON drops; 40faef8 took it, 8687af5 refused it.
 */
import { runInNewContext } from 'node:vm';
import { createQueue, memoryStore } from '@integ/queue';
import { describe, expect, it } from 'vitest';

describe('queue.push of an object whose prototype poses as an Object.prototype', () => {
  it('refuses it when the constructor named Object is not a native Object, and writes nothing', async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    // A function (or a class extending null) named Object, whose prototype has a null prototype and data.
    function Defaults(): void {}
    Object.defineProperty(Defaults, 'name', { value: 'Object' });
    Defaults.prototype = Object.assign(Object.create(null) as object, { constructor: Defaults, retries: 3 });
    const fromFunction = Object.assign(Object.create(Defaults.prototype as object) as object, {
      subject: 'hi',
    });
    const defaults = Object.create(null) as { constructor?: unknown; retries?: number };
    defaults.retries = 3;
    defaults.constructor = { name: 'Object', prototype: defaults };
    const fromObject = Object.assign(Object.create(defaults) as object, { subject: 'hi' });
    expect([
      (fromFunction as { retries?: number }).retries,
      (fromObject as { retries?: number }).retries,
    ]).toEqual([3, 3]);
    for (const payload of [fromFunction, fromObject, { nested: [fromObject] }]) {
      // Before: taken and stored as { subject: 'hi' }, without the retries the holder read.
      await expect(queue.push(payload)).rejects.toMatchObject({ code: 'ERR_PAYLOAD_INVALID' });
    }
    expect((await queue.stats()).total).toBe(0);
    await queue.close();
  });

  it('still takes plain objects of this realm, of another realm, and null-prototype ones', async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    const other = runInNewContext('({ a: 1, b: [{ c: 2 }], d: Object.create(null) })');
    for (const payload of [{ a: 1 }, other, [other, other], Object.create(null) as object]) {
      const job = await queue.push(payload);
      expect((await queue.get(job.id))?.payload).toEqual(JSON.parse(JSON.stringify(payload)));
    }
    await queue.close();
  });
});
