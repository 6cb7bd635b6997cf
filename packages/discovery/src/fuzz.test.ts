import type { ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { inspect } from 'node:util';
import { isIntegError } from '@integ/core';
import { consul, createRegistry, type Endpoint, etcd, type Registry } from '@integ/discovery';
import { dnsSrv } from '@integ/discovery/dns';
import { createFakeClock } from '@integ/testing';
import packet, { type Answer } from 'dns-packet';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServers, dnsServer, rawDnsServer, recordingLogger, serve } from './internal/test-servers.js';

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

// --- Consul and etcd --------------------------------------------------------------------------------

// A token no answer contains: if it shows up in a log line, an error or inspect(), we printed it.
const TOKEN = 'tok-7f3a9c1e-never-print-me';

/** Fails if the token appears anywhere in what the registry printed or threw. */
function expectNoToken(...values: unknown[]): void {
  for (const value of values) expect(inspect(value, { depth: 10, showHidden: true })).not.toContain(TOKEN);
}

// Any JSON, and the values that break naive code: wrong types, huge numbers, long strings.
const wild = fc.oneof(
  { depthSize: 'small' },
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, true, -1, 0, 1.5, 1e308, -1e308, 2 ** 53 + 1, '', '__proto__', 'x'.repeat(70_000)),
);
const PROTO = '__proto_key__'; // becomes "__proto__" in the JSON text (an object literal cannot carry it)
const hostArb = fc.oneof(
  fc.constantFrom('10.0.0.7', '::1', 'fd00::7', 'db.example', 'user:pass@evil.example', 'evil.example/x?y#z'),
  fc.constantFrom('10.0.0.7:99', '[::1]', ' 10.0.0.7', '', 'a b', '%41', '\u0000'),
  fc.ipV4(),
  fc.string({ maxLength: 20 }),
  wild,
);
const portArb = fc.oneof(
  fc.integer({ min: -70_000, max: 70_000 }),
  fc.constantFrom(0, 1, 65_535, 65_536, -80, 80.5, 1e308, '80'),
  wild,
);
/** `arb` mostly, sometimes a value of the wrong type. */
const maybe = (arb: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 3, arbitrary: arb }, { weight: 1, arbitrary: wild });
const consulEntryArb = fc.record(
  {
    Node: maybe(fc.record({ Node: maybe(fc.string()), Address: hostArb }, { requiredKeys: [] })),
    Service: maybe(
      fc.record(
        {
          ID: maybe(fc.string()),
          Address: hostArb,
          Port: portArb,
          Tags: maybe(fc.array(maybe(fc.string()), { maxLength: 3 })),
          Meta: maybe(fc.dictionary(fc.constantFrom('a', PROTO, 'constructor'), wild, { maxKeys: 3 })),
          Weights: maybe(fc.record({ Passing: portArb }, { requiredKeys: [] })),
          [PROTO]: wild,
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);
/** The body of an answer: structured near-valid entries, any JSON, or text that is not JSON. */
const bodyArb = (entry: fc.Arbitrary<unknown>): fc.Arbitrary<string> =>
  fc
    .oneof(
      { weight: 4, arbitrary: fc.array(fc.oneof({ weight: 4, arbitrary: entry }, wild), { maxLength: 8 }) },
      { weight: 1, arbitrary: wild },
      { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((text) => ({ raw: text })) },
    )
    .map((body) => {
      if (typeof body === 'object' && body !== null && 'raw' in body)
        return String((body as { raw: unknown }).raw);
      return JSON.stringify(body).replaceAll(PROTO, '__proto__');
    });

/** Every string that an answer's JSON holds (at any depth), decoded. */
function stringsIn(text: string): Set<string> {
  const out = new Set<string>();
  const walk = (value: unknown): void => {
    if (typeof value === 'string') out.add(value);
    else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) walk(v);
  };
  try {
    walk(JSON.parse(text));
  } catch {
    // not JSON: no strings
  }
  return out;
}

/** Whether `text` is JSON whose list (`pick(parsed)`) is an empty array or `undefined` (absent). */
function isEmptyList(text: string, pick: (body: unknown) => unknown): boolean {
  try {
    const list = pick(JSON.parse(text));
    return list === undefined || (Array.isArray(list) && list.length === 0);
  } catch {
    return false;
  }
}

/** Runs `fuzz` against a registry that first served `good`, on a fake clock, and checks the invariants. */
async function fuzzSource(options: {
  make: (url: string) => Parameters<typeof createRegistry>[0]['services'][string];
  phase: { fuzz: boolean };
  good: string[];
  maxEndpoints: number;
  check: (endpoint: Endpoint) => void;
  url: string;
  /** Whether the answer may leave no endpoints: only one that lists none (an empty list is an answer). */
  emptyOk: boolean;
  /** Called once the fuzzed refresh settled (an etcd watch starts sending then). */
  after?: () => void;
}): Promise<void> {
  options.phase.fuzz = false;
  const clock = createFakeClock();
  const { logger, lines } = recordingLogger();
  const registry = createRegistry({
    services: { api: options.make(options.url) },
    maxEndpoints: options.maxEndpoints,
    clock,
    logger,
  });
  const advance = (): Promise<void> => clock.advance(2000);
  try {
    await registry.ready();
    const good = urls(registry);
    expect(good).toEqual(options.good);
    options.phase.fuzz = true;
    const result = await settle(registry.refresh('api'), advance);
    if (result.ok) {
      // Entries that are all unusable are a malformed answer, not "no instances": they must not drain the list.
      if (!options.emptyOk) expect(urls(registry)).not.toEqual([]);
      expect(registry.endpoints('api').length).toBeLessThanOrEqual(options.maxEndpoints);
      for (const endpoint of registry.endpoints('api')) options.check(endpoint);
    } else {
      expectTyped(result.error);
      expectNoToken(result.error);
      expect(urls(registry)).toEqual(good);
    }
    // Let the background loop (and an etcd watch) take a few more answers; the invariants still hold.
    options.after?.();
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 2));
      await advance();
    }
    expect(registry.endpoints('api').length).toBeLessThanOrEqual(options.maxEndpoints);
    for (const endpoint of registry.endpoints('api')) options.check(endpoint);
    expectNoToken(lines, registry.inspect('api'));
  } finally {
    registry.close();
  }
}

describe('consul, given random answers (property)', () => {
  it('settles with a typed error or clean endpoints, keeps the last good list on a failure, never prints the token', async () => {
    const phase = { fuzz: false };
    let body = '';
    let index = '1';
    const url = await serve((_req, res) => {
      if (!phase.fuzz) {
        res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': '1' });
        res.end(JSON.stringify([{ Node: { Node: 'n', Address: '10.0.0.1' }, Service: { Port: 8080 } }]));
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': index });
        res.end(body);
      }
    });
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        bodyArb(consulEntryArb),
        fc.constantFrom('2', '0', '-1', '1e30', 'abc', '99999999999999999999', ''),
        fc.integer({ min: 1, max: 6 }),
        async (text, consulIndex, maxEndpoints) => {
          runs++;
          body = text;
          index = consulIndex;
          const hosts = stringsIn(text);
          await fuzzSource({
            url,
            phase,
            maxEndpoints,
            good: ['http://10.0.0.1:8080'],
            emptyOk: isEmptyList(text, (body) => body),
            make: (address) => consul({ service: 'api', address, token: TOKEN }),
            check: (endpoint) => {
              const match = /^http:\/\/(\[[^\]]*\]|[^/?#@[\]]*?):(\d+)$/.exec(endpoint.url);
              expect(match, endpoint.url).not.toBeNull();
              const host = (match?.[1] ?? '').replace(/^\[|\]$/g, '');
              // The host is an Address string of the answer, as it was given (or the good answer's).
              expect(hosts.has(host) || host === '10.0.0.1', endpoint.url).toBe(true);
              expectCleanUrl(endpoint.url, 'http', host, Number(match?.[2]));
            },
          });
        },
      ),
      { seed: 58, numRuns: 150 },
    );
    expect(runs).toBe(150);
    // Loopback sockets and CPU: the limit only catches a hang (each lookup has its own, on the fake clock). Up to
    // 12.9 s of the default 20 s with two busy loops on the 2 shared cores.
  }, 120_000);
});

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('etcd, given random answers (property)', () => {
  it('settles with a typed error or valid endpoints, keeps the last good list on a failure, never prints the token', async () => {
    const phase = { fuzz: false };
    let range = '';
    let watch: string[] = [];
    const watching = new Set<ServerResponse>();
    const url = await serve((req, res) => {
      if (req.url === '/v3/kv/range') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          phase.fuzz
            ? range
            : JSON.stringify({
                header: { revision: '5' },
                kvs: [{ key: b64('/a/1'), value: b64('http://10.0.0.1:8080') }],
              }),
        );
      } else {
        // Watches stay quiet until the fuzzed range settled, then each gets the fuzzed messages.
        res.writeHead(200, { 'content-type': 'application/json' }).write('');
        watching.add(res);
      }
    });
    const value = fc.oneof(
      fc.constantFrom(
        'http://10.0.0.2:80',
        '10.0.0.3:81',
        'db.example:82',
        'http://u:p@h.example/x',
        'not a url',
        '',
      ),
      fc.constantFrom(
        '{"url":"http://10.0.0.4:83","weight":-1,"priority":1e308}',
        '{"url":5}',
        '{',
        '{"__proto__":{"url":"http://x:1"}}',
      ),
      fc.string({ maxLength: 20 }),
    );
    const kvArb = fc.record(
      {
        key: maybe(
          fc.oneof(
            fc.string({ maxLength: 8 }).map((k) => b64(`/a/${k}`)),
            fc.constant('%%% not base64'),
          ),
        ),
        value: maybe(fc.oneof(value.map(b64), fc.constant('%%%'))),
        [PROTO]: wild,
      },
      { requiredKeys: [] },
    );
    const rangeArb = fc.oneof(
      {
        weight: 3,
        arbitrary: fc
          .record(
            {
              header: maybe(fc.record({ revision: maybe(fc.constantFrom('6', '-1', '1e400', 'x')) })),
              kvs: maybe(fc.array(fc.oneof(kvArb, wild), { maxLength: 6 })),
            },
            { requiredKeys: [] },
          )
          .map((b) => JSON.stringify(b).replaceAll(PROTO, '__proto__')),
      },
      { weight: 1, arbitrary: bodyArb(kvArb) },
    );
    const eventArb = fc.record(
      { type: maybe(fc.constantFrom('PUT', 'DELETE')), kv: maybe(kvArb) },
      { requiredKeys: [] },
    );
    const watchArb = fc.array(
      fc.oneof(
        fc
          .record(
            {
              result: maybe(
                fc.record(
                  {
                    header: maybe(fc.record({ revision: maybe(fc.constantFrom('7', 'x')) })),
                    events: maybe(fc.array(maybe(eventArb), { maxLength: 3 })),
                    canceled: maybe(fc.boolean()),
                    compact_revision: maybe(fc.constantFrom('0', '3')),
                  },
                  { requiredKeys: [] },
                ),
              ),
              error: maybe(fc.constant({ message: 'boom' })),
            },
            { requiredKeys: [] },
          )
          .map((m) => JSON.stringify(m).replaceAll(PROTO, '__proto__')),
        fc.string({ maxLength: 20 }),
      ),
      { maxLength: 3 },
    );
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        rangeArb,
        watchArb,
        fc.integer({ min: 1, max: 6 }),
        async (rangeText, lines, maxEndpoints) => {
          runs++;
          range = rangeText;
          watch = lines;
          await fuzzSource({
            url,
            phase,
            maxEndpoints,
            good: ['http://10.0.0.1:8080'],
            emptyOk: isEmptyList(rangeText, (body) =>
              typeof body === 'object' && body !== null && !Array.isArray(body)
                ? ((body as { kvs?: unknown }).kvs ?? undefined) // absent or null: an empty prefix
                : null,
            ),
            after: () => {
              for (const res of watching) for (const line of watch) res.write(`${line}\n`);
            },
            make: (endpoint) =>
              etcd({ prefix: '/a/', endpoints: [endpoint], token: TOKEN, resyncInterval: 1000 }),
            check: (endpoint) => {
              // A value is a whole URL (credentials and a path are the operator's to give): it must parse,
              // with a host, and be one of the answer's values as written (or host:port with the scheme).
              const parsed = new URL(endpoint.url);
              expect(parsed.hostname).not.toBe('');
              const key = endpoint.meta?.['etcd.key'];
              expect(typeof key).toBe('string');
            },
          });
        },
      ),
      { seed: 59, numRuns: 150 },
    );
    expect(runs).toBe(150);
    // Loopback sockets and CPU: the limit only catches a hang (each lookup has its own, on the fake clock). Up to
    // 15.0 s of the default 20 s with two busy loops on the 2 shared cores.
  }, 120_000);
});

// The properties' counterexamples, shrunk: an answer whose entries were all unusable (or that was no list at
// all) was served as "no endpoints", draining a service that had good ones.
describe('an answer with nothing usable in it', () => {
  it('from consul fails (ERR_DISCOVERY_SOURCE) and keeps the last endpoints; an empty list still empties', async () => {
    let body = JSON.stringify([{ Node: { Node: 'n', Address: '10.0.0.1' }, Service: { Port: 8080 } }]);
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': '1' });
      res.end(body);
    });
    const registry = createRegistry({ services: { api: consul({ service: 'api', address: url }) } });
    await registry.ready();
    for (const bad of ['[{}]', '[null, 5, {"Service": {"Port": 0}}]']) {
      body = bad;
      await expect(registry.refresh('api')).rejects.toMatchObject({ code: 'ERR_DISCOVERY_SOURCE' });
      expect(urls(registry)).toEqual(['http://10.0.0.1:8080']);
    }
    body = '[]'; // Consul's answer when no instance passes: that is an answer
    await registry.refresh('api');
    expect(urls(registry)).toEqual([]);
    registry.close();
  });

  it('from an etcd range fails (ERR_DISCOVERY_SOURCE) and keeps the last endpoints; an empty prefix still empties', async () => {
    let body = JSON.stringify({
      header: { revision: '5' },
      kvs: [{ key: b64('/a/1'), value: b64('10.0.0.1:80') }],
    });
    const url = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url === '/v3/kv/range') res.end(body);
      else res.end('{"result":{"canceled":true}}\n'); // each watch ends at once: the next resolve() re-reads
    });
    const registry = createRegistry({
      services: { api: etcd({ prefix: '/a/', endpoints: [url] }) },
      minInterval: 60_000, // no background lookup while this test drives them
    });
    await registry.ready();
    for (const bad of [
      'null',
      '[]',
      '{"kvs":"x"}',
      `{"kvs":[{"key":"${b64('/a/2')}","value":"${b64('not a url')}"}]}`,
    ]) {
      body = bad;
      await expect(registry.refresh('api'), bad).rejects.toMatchObject({ code: 'ERR_DISCOVERY_SOURCE' });
      expect(urls(registry)).toEqual(['http://10.0.0.1:80']);
    }
    body = '{"header":{"revision":"9"}}'; // the gateway omits kvs when the prefix holds no key
    await registry.refresh('api');
    expect(urls(registry)).toEqual([]);
    registry.close();
  });
});

describe('consul and etcd, given a token of any characters (property)', () => {
  // The shrunk counterexample: fetch refuses a header value holding a line break with an error that quotes
  // it ('Headers.append: "abc\nSECRET" is an invalid header value.'), and that message became the source's
  // error, ready()'s rejection and inspect().lastError.
  it('refuse it at construction without echoing it, or never print it', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(500).end();
    });
    const tokenArb = fc
      .tuple(
        fc.string({
          unit: fc.constantFrom('a', ' ', '\t', '\n', '\r', '\u0000', '\u007f', 'é', '€'),
          maxLength: 4,
        }),
        fc.string({ unit: fc.constantFrom('a', '\n', '\u0000', '€'), maxLength: 4 }),
      )
      .map(([a, b]) => `${a}tok-SECRET-${b}`);
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(tokenArb, fc.boolean(), async (token, useEtcd) => {
        runs++;
        let source: ReturnType<typeof consul>;
        try {
          source = useEtcd
            ? etcd({ prefix: '/a/', endpoints: [url], token })
            : consul({ service: 'api', address: url, token });
        } catch (error) {
          expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
          expect(inspect(error, { showHidden: true })).not.toContain(token);
          return;
        }
        const { logger, lines } = recordingLogger();
        const registry = createRegistry({ services: { api: source }, logger });
        const error = await registry.ready().then(
          () => undefined,
          (err: unknown) => err,
        );
        expectTyped(error);
        for (const value of [error, lines, registry.inspect('api')])
          expect(inspect(value, { depth: 10, showHidden: true })).not.toContain(token);
        registry.close();
      }),
      { seed: 27, numRuns: 100 },
    );
    expect(runs).toBe(100);
  });
  it('refuses a token with a line break inside at construction (InvalidArgumentError, token not echoed); a trailing one is fine', () => {
    for (const [make, name] of [
      [(token: string) => consul({ service: 'api', token }), 'consul token'],
      [(token: string) => etcd({ prefix: '/a/', token }), 'etcd token'],
    ] as const) {
      let error: unknown;
      try {
        make('abc\nSECRET-token');
      } catch (err) {
        error = err;
      }
      expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: name });
      expect(String((error as Error).message)).not.toContain('SECRET');
      expect(() => make('abc-token\n')).not.toThrow(); // read from a file: fetch trims it
    }
  });
});
