/**
 * Review round 8 (security sweep): untrusted input that cost more than its size, and keys an answer may use.
 */
import { consul, createRegistry, etcd } from '@integ/discovery';
import { createFakeClock, drain } from '@integ/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { b64, etcdFetch } from './internal/test-etcd-fetch.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('etcd watch, given a message with no newline in many chunks', () => {
  it('parses the message once, not the whole buffer again after every chunk ending in }', async () => {
    // 400 events, one chunk each, every chunk ending in '}': the gateway's newline never comes.
    const chunks = Array.from(
      { length: 400 },
      (_, i) =>
        `${i === 0 ? '{"result":{"header":{"revision":"2"},"events":[' : ','}{"type":"PUT","kv":{"key":"${b64(`/s/k${i}`)}","value":"${b64(`http://10.1.${i >> 8}.${i & 255}:80`)}"}}${i === 399 ? ']}}' : ''}`,
    );
    const message = chunks.join('');
    // First a message whose string holds '}' and an escaped quote, cut right after the backslash.
    chunks.unshift('{"result":{"header":{"revision":"2"}},"note":"a \\', '"} in a string"}');
    const parse = JSON.parse;
    let parsedChars = 0;
    vi.spyOn(JSON, 'parse').mockImplementation((text: string, reviver?: Parameters<typeof parse>[1]) => {
      if (typeof text === 'string' && text.startsWith('{"result"')) parsedChars += text.length;
      return parse(text, reviver);
    });
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: etcd({ prefix: '/s/', endpoints: ['http://etcd:2379'], fetch: etcdFetch(chunks) }) },
      clock,
      minInterval: 0,
    });
    try {
      await registry.ready();
      // The loop's next lookup is due at once (minInterval 0) and waits on the watch, which reads its chunks on
      // promise callbacks alone (a fake fetch): one step of the clock, then no more time.
      await clock.advance(0);
      await drain();
      expect(registry.endpoints('api')).toHaveLength(401);
      // Before: every chunk ending in '}' re-parsed the buffer so far: 400 parses, ~200 times the message.
      expect(parsedChars).toBeLessThanOrEqual(2 * message.length);
    } finally {
      registry.close();
    }
  });
});

describe('consul, given service meta keyed __proto__, constructor or toString', () => {
  it('keeps every string meta as an own property, __proto__ included', async () => {
    // Consul accepts any meta key of letters, digits, '-' and '_': '__proto__' is one.
    const body = `[{"Node":{"Node":"n1","Address":"10.0.0.1"},"Service":{"ID":"a","Port":80,"Meta":{"__proto__":"x","constructor":"y","toString":"z","zone":"eu"}}}]`;
    const fetchConsul = (async () =>
      new Response(body, { headers: { 'x-consul-index': '1' } })) as unknown as typeof fetch;
    const registry = createRegistry({
      services: { api: consul({ service: 'api', fetch: fetchConsul, wait: 600_000 }) },
    });
    try {
      await registry.ready();
      const meta = registry.pick('api').meta ?? {};
      // Before: meta['__proto__'] = 'x' set no property (a string is no prototype), so the key was lost.
      expect(Object.keys(meta).sort()).toEqual([
        '__proto__',
        'constructor',
        'consul.id',
        'consul.node',
        'toString',
        'zone',
      ]);
      expect(Object.getOwnPropertyDescriptor(meta, '__proto__')?.value).toBe('x');
      expect(Object.getPrototypeOf(meta)).toBe(Object.prototype);
      expect(meta['constructor']).toBe('y');
    } finally {
      registry.close();
    }
  });
});

describe('createRegistry, given a source that fails with a value that cannot be turned into text', () => {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  it.each([
    ['an object with no prototype', Object.create(null) as unknown],
    ['a revoked Proxy', proxy as unknown],
    [
      'an object whose toString throws',
      {
        toString: () => {
          throw new Error('no');
        },
      } as unknown,
    ],
  ])('rejects ready() with ERR_DISCOVERY_SOURCE for %s, and counts the failure', async (_name, thrown) => {
    const warned: unknown[] = [];
    const registry = createRegistry({
      services: {
        api: {
          kind: 'custom',
          description: 'custom',
          open: () => ({ resolve: () => Promise.reject(thrown) }),
        },
      },
      logger: { debug() {}, info() {}, warn: (details: unknown) => warned.push(details), error() {} },
    });
    try {
      // Before: String(value) threw inside the failure handling, so ready() never settled and inspect() said
      // 'pending' with no error, every retry alike.
      await expect(registry.ready('api', { signal: AbortSignal.timeout(2000) })).rejects.toMatchObject({
        code: 'ERR_DISCOVERY_SOURCE',
      });
      const inspection = registry.inspect('api');
      expect(inspection.state).toBe('failed');
      expect(inspection.consecutiveErrors).toBe(1);
      expect(inspection.lastError?.code).toBe('ERR_DISCOVERY_SOURCE');
      expect(warned).toHaveLength(1);
    } finally {
      registry.close();
    }
  });
});
