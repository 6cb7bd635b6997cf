import { isIP } from 'node:net';
import { isIntegError } from '@integ/core';
import { createRegistry, type Endpoint, type Registry } from '@integ/discovery';
import { dnsSrv } from '@integ/discovery/dns';
import { createFakeClock } from '@integ/testing';
import packet, { type Answer, type DecodedPacket } from 'dns-packet';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServers, dnsServer, rawDnsServer, recordingLogger } from './internal/test-servers.js';

// Property-based fuzzing of the answers sources read from the network (decisions 0053, 0058, 0059): DNS
// packets mutated byte by byte, Consul and etcd JSON of every shape. Whatever arrives, the registry must
// not throw out of a socket callback, must settle ready()/refresh() with a typed error, must hold only
// endpoints whose URL is the address it was given (no userinfo, path or query smuggled in), at most
// maxEndpoints of them, and must keep its last good list when an answer fails (README FAQ).

afterAll(closeServers);

/** ready() or refresh() as a settled value; fails the property if it does not settle. */
async function settle(
  promise: Promise<void>,
  advance: () => Promise<void>,
): Promise<{ ok: true } | { ok: false; error: unknown }> {
  let result: { ok: true } | { ok: false; error: unknown } | undefined;
  promise.then(
    () => {
      result = { ok: true };
    },
    (error: unknown) => {
      result = { ok: false, error };
    },
  );
  // Bounded: 200 rounds of (a few ms of real time for the sockets, then the fake clock moves).
  for (let round = 0; round < 200 && result === undefined; round++) {
    await new Promise((r) => setTimeout(r, 2));
    await advance();
  }
  if (result === undefined) throw new Error('did not settle');
  return result;
}

/** A settled failure must be one of ours, with a code. */
function expectTyped(error: unknown): void {
  expect(isIntegError(error), String(error)).toBe(true);
  expect((error as { code: string }).code).toBe('ERR_DISCOVERY_SOURCE');
}

/** The URL parses, with exactly `host` (as given) and a port, and nothing else: no userinfo, path, query. */
function expectCleanUrl(url: string, protocol: string, host: string, port?: number): void {
  const parsed = new URL(url);
  expect(parsed.protocol).toBe(`${protocol}:`);
  expect([parsed.username, parsed.password, parsed.search, parsed.hash]).toEqual(['', '', '', '']);
  expect(['', '/']).toContain(parsed.pathname);
  const bracketed = host.includes(':') ? `[${host}]` : host;
  expect(parsed.hostname).toBe(new URL(`${protocol}://${bracketed}`).hostname);
  const p = Number(parsed.port || (protocol === 'http' ? 80 : 443));
  expect(p).toBeGreaterThanOrEqual(1);
  expect(p).toBeLessThanOrEqual(65_535);
  if (port !== undefined) expect(p).toBe(port);
}

const authority = (host: string, port: number): string =>
  `${host.includes(':') ? `[${host}]` : host}:${port}`;

const urls = (registry: Registry): string[] => registry.endpoints('api').map((e) => e.url);

// --- DNS --------------------------------------------------------------------------------------------

type Mutation =
  | { kind: 'none' }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'id' }
  | { kind: 'question' }
  | { kind: 'qr' }
  | { kind: 'ancount'; count: number }
  | { kind: 'loop' }
  | { kind: 'random'; bytes: Uint8Array }
  | { kind: 'frame'; length: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.constant({ kind: 'id' as const }),
  fc.constant({ kind: 'question' as const }),
  fc.constant({ kind: 'qr' as const }),
  fc.record({ kind: fc.constant('ancount' as const), count: fc.constantFrom(2, 100, 65_535) }),
  fc.constant({ kind: 'loop' as const }),
  fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ kind: fc.constant('frame' as const), length: fc.integer({ min: 0, max: 65_535 }) }),
);

/** Applies `m` to an encoded answer; `undefined` sends nothing. Over TCP, 'frame' lies in the length prefix. */
function mutate(bytes: Buffer, m: Mutation, id: number): Uint8Array | { framed: Uint8Array } {
  const out = Buffer.from(bytes);
  switch (m.kind) {
    case 'none':
      return out;
    case 'flip': {
      const at = m.at % out.length;
      out[at] = (out[at] as number) ^ (1 << m.bit);
      return out;
    }
    case 'truncate':
      return out.subarray(0, m.at % out.length);
    case 'id':
      out.writeUInt16BE((id + 1) & 0xffff, 0);
      return out;
    case 'question':
      // The question echoed with another name of the same length.
      return Buffer.from(out.toString('latin1').replace('api', 'evl'), 'latin1');
    case 'qr':
      out[2] = (out[2] as number) & 0x7f;
      return out;
    case 'ancount':
      out.writeUInt16BE(m.count, 6);
      return out;
    case 'loop':
      // The first answer's name becomes a compression pointer to itself.
      if (out.length >= 14) {
        const q = out.indexOf(0, 12) + 5; // past the question's name, type and class
        if (q + 2 <= out.length) {
          out[q] = 0xc0 | (q >> 8);
          out[q + 1] = q & 0xff;
        }
      }
      return out;
    case 'random': {
      const random = Buffer.concat([Buffer.alloc(4), Buffer.from(m.bytes)]);
      random.writeUInt16BE(id, 0);
      random[2] = (random[2] as number) | 0x80;
      return random;
    }
    case 'frame': {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(m.length);
      return { framed: Buffer.concat([length, out]) };
    }
  }
}

// Targets: good names, RFC 2782's '.', and labels with the bytes a hostile server can put there.
const targetArb = fc.oneof(
  fc.constantFrom('a.example', 'b.example', '.', 'user@evil.example/x', 'evil.example:1', '0x7f.1', 'a..b'),
  fc.string({
    unit: fc.constantFrom(
      'a',
      '.',
      '-',
      '_',
      '@',
      '/',
      ':',
      '#',
      '?',
      ' ',
      '%',
      '[',
      ']',
      '\\',
      '\u0000',
      'é',
    ),
    minLength: 1,
    maxLength: 12,
  }),
);
const ttlArb = fc.constantFrom(0, 1, 60, 2 ** 31 - 1, 2 ** 32 - 1);
const srvArb = fc.record({
  priority: fc.integer({ min: 0, max: 3 }),
  weight: fc.constantFrom(0, 1, 65_535),
  port: fc.oneof(fc.constantFrom(0, 1, 65_535), fc.integer({ min: 1, max: 65_535 })),
  target: targetArb,
  ttl: ttlArb,
});
const dnsCaseArb = fc.record({
  records: fc.array(srvArb, { minLength: 1, maxLength: 8 }),
  v4: fc.array(fc.ipV4(), { maxLength: 3 }),
  v6: fc.array(fc.ipV6(), { maxLength: 2 }),
  addressTtl: ttlArb,
  additionals: fc.boolean(),
  truncated: fc.boolean(), // TC on UDP; the TCP answer is then the mutated one
  mutation: mutationArb,
  fuzzFirst: fc.boolean(),
  resolveTargets: fc.boolean(),
  family: fc.constantFrom(0 as const, 4 as const, 6 as const),
  maxEndpoints: fc.integer({ min: 1, max: 6 }),
});
type DnsCase = typeof dnsCaseArb extends fc.Arbitrary<infer T> ? T : never;

const GOOD = { target: 'good.example', port: 8080, address: '10.0.0.1', v6: 'fd00::1' };

describe('dnsSrv, given mutated answers (property)', () => {
  let servers = '';
  let current: { phase: 'good' | 'fuzz'; c: DnsCase | undefined; encodeFailures: number } = {
    phase: 'good',
    c: undefined,
    encodeFailures: 0,
  };
  beforeAll(async () => {
    servers = await rawDnsServer((query, transport) => {
      const question = query.questions?.[0];
      if (question === undefined) return undefined;
      const id = query.id ?? 0;
      const c = current.c;
      const answers: Answer[] = [];
      const additionals: Answer[] = [];
      const addresses = (name: string, into: Answer[], type?: string): void => {
        if (current.phase === 'good') {
          if (c?.family === 6) into.push({ type: 'AAAA', name, ttl: 60, data: GOOD.v6 });
          else into.push({ type: 'A', name, ttl: 60, data: GOOD.address });
          return;
        }
        const ttl = c?.addressTtl ?? 0;
        if (type !== 'AAAA') for (const data of c?.v4 ?? []) into.push({ type: 'A', name, ttl, data });
        if (type !== 'A') for (const data of c?.v6 ?? []) into.push({ type: 'AAAA', name, ttl, data });
      };
      if (question.type === 'SRV') {
        const records =
          current.phase === 'good'
            ? [{ priority: 0, weight: 1, port: GOOD.port, target: GOOD.target, ttl: 60 }]
            : (c?.records ?? []);
        for (const { ttl, ...data } of records) answers.push({ type: 'SRV', name: question.name, ttl, data });
        if (current.phase === 'good' || c?.additionals)
          for (const target of new Set(records.map((r) => r.target))) addresses(target, additionals);
      } else addresses(question.name, answers, question.type);
      let bytes: Buffer;
      try {
        bytes = packet.encode({
          type: 'response',
          id,
          flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE,
          questions: [question],
          answers,
          additionals,
        });
      } catch {
        current.encodeFailures++; // a target dns-packet cannot write: send a bit of it
        bytes = packet.encode({ type: 'response', id, questions: [question] });
      }
      if (current.phase === 'good' || c === undefined) return bytes;
      if (c.truncated && transport === 'udp') {
        bytes[2] = (bytes[2] as number) | 0x02; // TC: ask again over TCP
        return bytes;
      }
      const out = mutate(bytes, c.mutation, id);
      return transport === 'udp' && 'framed' in out ? bytes : out;
    });
  });

  function expectValid(endpoints: readonly Endpoint[], c: DnsCase): void {
    expect(endpoints.length).toBeLessThanOrEqual(c.maxEndpoints);
    for (const e of endpoints) {
      const parsed = new URL(e.url);
      const host = parsed.hostname.replace(/^\[|\]$/g, '');
      if (c.resolveTargets) expect(isIP(host), e.url).not.toBe(0);
      else expect(parsed.hostname).toBe(new URL(`http://${authority(e.hostname ?? '', 1)}`).hostname);
      expectCleanUrl(e.url, 'http', host);
    }
  }

  it('settles with a typed error or clean endpoints, and a failed refresh keeps the last good list', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(dnsCaseArb, async (c) => {
        runs++;
        current = { phase: c.fuzzFirst ? 'fuzz' : 'good', c, encodeFailures: current.encodeFailures };
        const clock = createFakeClock();
        const { logger } = recordingLogger();
        const registry = createRegistry({
          services: {
            api: dnsSrv('_http._tcp.api.example', {
              servers,
              attempts: 1,
              resolveTargets: c.resolveTargets,
              family: c.family,
            }),
          },
          maxEndpoints: c.maxEndpoints,
          clock,
          logger,
        });
        const advance = (): Promise<void> => clock.advance(2000);
        try {
          if (c.fuzzFirst) {
            const first = await settle(registry.ready(), advance);
            if (first.ok) expectValid(registry.endpoints('api'), c);
            else {
              expectTyped(first.error);
              expect(urls(registry)).toEqual([]);
            }
            return;
          }
          // The good answer first, on a clock that does not move: no timeout can cut it short.
          await registry.ready();
          const good = urls(registry);
          expect(good).toEqual([
            c.resolveTargets
              ? `http://${c.family === 6 ? `[${GOOD.v6}]` : GOOD.address}:${GOOD.port}`
              : `http://${GOOD.target}:${GOOD.port}`,
          ]);
          current.phase = 'fuzz';
          const second = await settle(registry.refresh('api'), advance);
          if (second.ok) expectValid(registry.endpoints('api'), c);
          else {
            expectTyped(second.error);
            expect(urls(registry)).toEqual(good);
            expect(registry.inspect('api').state).toBe('stale');
          }
        } finally {
          registry.close();
        }
      }),
      { seed: 53, numRuns: 300 },
    );
    expect(runs).toBe(300);
  });

  // The property's first counterexample, shrunk: an SRV record on port 0 became `http://a.example:0`.
  it('skips an SRV record on port 0 (nothing listens there), with or without resolveTargets', async () => {
    const servers = await dnsServer((question, reply) =>
      reply(
        question.type === 'SRV'
          ? [0, 1].map((port) => ({
              type: 'SRV' as const,
              name: question.name,
              ttl: 60,
              data: { priority: 0, weight: 0, port, target: 'a.example' },
            }))
          : question.type === 'A'
            ? [{ type: 'A' as const, name: question.name, ttl: 60, data: '10.0.0.1' }]
            : [],
      ),
    );
    for (const resolveTargets of [false, true]) {
      const registry = createRegistry({
        services: { api: dnsSrv('_http._tcp.api.example', { servers, resolveTargets, family: 4 }) },
      });
      await registry.ready();
      expect(urls(registry)).toEqual([resolveTargets ? 'http://10.0.0.1:1' : 'http://a.example:1']);
      registry.close();
    }
  });
});
