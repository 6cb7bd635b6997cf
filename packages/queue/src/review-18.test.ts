/**
 * Review round 18: a310162 tells another realm's Object.prototype by its native Object constructor, read with the
 * Function.prototype.toString taken when the module loaded. A script that replaces Function.prototype.toString later
 * cannot make a posing prototype pass; a Proxy or a frozen object of another realm is still a plain object.
 */
import { runInNewContext } from 'node:vm';
import { createQueue, memoryStore } from '@integ/queue';
import { afterEach, describe, expect, it } from 'vitest';

const original = Function.prototype.toString;
afterEach(() => {
  Function.prototype.toString = original;
});

describe('queue.push and another realm', () => {
  it('refuses a posing prototype even when Function.prototype.toString is replaced after load', async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    function Defaults(): void {}
    Object.defineProperty(Defaults, 'name', { value: 'Object' });
    Defaults.prototype = Object.assign(Object.create(null) as object, { constructor: Defaults, retries: 3 });
    const posing = Object.assign(Object.create(Defaults.prototype as object) as object, { subject: 'hi' });
    const native = original.call(Object);
    // A page script (or a test double) that makes every function read as native code.
    Function.prototype.toString = function (this: unknown) {
      return this === Defaults ? native : original.call(this);
    };
    expect(String(Defaults)).toBe(native);
    await expect(queue.push(posing)).rejects.toMatchObject({ code: 'ERR_PAYLOAD_INVALID' });
    Function.prototype.toString = original;
    expect((await queue.stats()).total).toBe(0);
    await queue.close();
  });

  it('takes a Proxy of, and a frozen, plain object of another realm as it stores it', async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    const proxied = new Proxy(runInNewContext('({ a: 1, b: { c: [2] } })') as object, {});
    const frozen = runInNewContext('Object.freeze({ a: 1, b: Object.freeze({ c: [2] }) })') as object;
    const inFrozenRealm = runInNewContext(
      'Object.freeze(Object.prototype); ({ a: 1, b: { c: [2] } })',
    ) as object;
    for (const payload of [proxied, frozen, inFrozenRealm]) {
      const job = await queue.push(payload);
      expect((await queue.get(job.id))?.payload).toEqual({ a: 1, b: { c: [2] } });
    }
    await queue.close();
  });

  it('refuses a Proxy of another realm whose getPrototypeOf poses as a posing prototype', async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    const fake = runInNewContext(
      'const p = Object.create(null); p.retries = 3; p.constructor = { name: "Object", prototype: p }; p',
    ) as object;
    const proxied = new Proxy(runInNewContext('({ subject: "hi" })') as object, {
      getPrototypeOf: () => fake,
    });
    await expect(queue.push(proxied)).rejects.toMatchObject({ code: 'ERR_PAYLOAD_INVALID' });
    await queue.close();
  });
});
