/**
 * Review round 20: 70e1143 read a TTL with the most significant bit set as 0 (RFC 2181 §8) in a response's answer
 * section only; the additional section's A/AAAA records (dnsSrv takes a target's addresses from there) kept 2^31 s
 * or more, so the SRV answer was trusted for its own TTL where the address it used was to be asked again at once.
 */
import { createRegistry, type Snapshot, type Source } from '@integ/discovery';
import { dnsSrv } from '@integ/discovery/dns';
import { createFakeClock } from '@integ/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { closeServers, dnsServer } from './internal/test-servers.js';

afterAll(closeServers);

/** A DNS server answering SRV with one target (TTL 60 s) and that target's A record in the additional section. */
const srvServer = (additionalTtl: number): Promise<string> =>
  dnsServer((question, reply) =>
    question.type === 'SRV'
      ? reply(
          [
            {
              name: question.name,
              type: 'SRV',
              ttl: 60,
              data: { priority: 1, weight: 1, port: 8080, target: 'a.example.test' },
            },
          ],
          0,
          [{ name: 'a.example.test', type: 'A', ttl: additionalTtl, data: '10.0.0.9' }],
        )
      : reply([]),
  );

async function nextRefresh(additionalTtl: number): Promise<number | null> {
  const server = await srvServer(additionalTtl);
  const clock = createFakeClock({ now: 0.3 });
  const registry = createRegistry({
    services: { web: dnsSrv('_web._tcp.example.test', { servers: [server], attempts: 1, family: 4 }) },
    clock,
    jitter: 0,
    minInterval: 1000,
  });
  try {
    await registry.ready();
    expect(registry.endpoints('web').map((e) => e.url)).toEqual(['http://10.0.0.9:8080']);
    const next = registry.inspect('web').nextRefreshAt;
    return next === null ? null : next - 0.3;
  } finally {
    registry.close();
  }
}

describe('dnsSrv: an additional record whose TTL has the most significant bit set', () => {
  it('reads it as 0: the next lookup comes as soon as minInterval allows', async () => {
    expect(await nextRefresh(2 ** 31)).toBe(1000);
    expect(await nextRefresh(2 ** 32 - 1)).toBe(1000);
  });

  it('still takes a normal additional TTL: the SRV record TTL (60 s) rules when it is the lower', async () => {
    expect(await nextRefresh(3600)).toBe(60_000);
  });
});

describe('ready() still takes every real AbortSignal (9281c0e probes removeEventListener)', () => {
  /** An EventTarget-based polyfill: not an AbortSignal instance. */
  class PolyfillSignal extends EventTarget {
    aborted = false;
    reason: unknown;
    abort(reason: unknown): void {
      this.aborted = true;
      this.reason = reason;
      this.dispatchEvent(new Event('abort'));
    }
  }
  const kinds: [string, () => { signal: AbortSignal; abort: (reason: unknown) => void }][] = [
    [
      "Node's",
      () => {
        const c = new AbortController();
        return { signal: c.signal, abort: (r) => c.abort(r) };
      },
    ],
    [
      'AbortSignal.any()',
      () => {
        const c = new AbortController();
        return {
          signal: AbortSignal.any([c.signal, AbortSignal.timeout(3_600_000)]),
          abort: (r) => c.abort(r),
        };
      },
    ],
    [
      'an EventTarget polyfill',
      () => {
        const p = new PolyfillSignal();
        return { signal: p as unknown as AbortSignal, abort: (r) => p.abort(r) };
      },
    ],
  ];
  const held = (): { source: Source; answer: () => void } => {
    let answer = (): void => {};
    const source: Source = {
      kind: 'held',
      description: 'answers when told',
      open: () => ({
        resolve: () =>
          new Promise<Snapshot>((resolve) => {
            answer = () => resolve({ endpoints: [{ url: 'http://10.0.0.1:80' }], ttlMs: 5_000 });
          }),
      }),
    };
    return { source, answer: () => answer() };
  };
  for (const [name, make] of kinds) {
    it(`resolves with ${name} when the source answers, and rejects with its reason on abort`, async () => {
      const clock = createFakeClock({ now: 0 });
      const { source, answer } = held();
      const registry = createRegistry({ services: { s: source, t: held().source }, clock });
      try {
        const a = make();
        const answered = registry.ready('s', { signal: a.signal });
        const b = make();
        const aborted = registry.ready('t', { signal: b.signal });
        await clock.advance(0);
        answer();
        await expect(answered).resolves.toBeUndefined();
        const reason = new Error('gave up');
        b.abort(reason);
        await expect(aborted).rejects.toBe(reason);
      } finally {
        registry.close();
      }
    });
  }

  it("rejects with AbortSignal.timeout()'s TimeoutError when it fires first", async () => {
    const { source } = held();
    const registry = createRegistry({ services: { s: source }, clock: createFakeClock({ now: 0 }) });
    try {
      await expect(registry.ready('s', { signal: AbortSignal.timeout(1) })).rejects.toMatchObject({
        name: 'TimeoutError',
      });
    } finally {
      registry.close();
    }
  });
});
