/**
 * Review round 39: what Stryker's surviving mutants of src/dns.ts changed without a test noticing. Each test was
 * seen failing on the mutants it names (applied by hand) and passing on the code as it is. The DNS servers are real
 * UDP sockets on loopback (src/internal/test-servers.ts); time is a fake clock unless a test says why not.
 */
import dgram from 'node:dgram';
import nodeDns from 'node:dns';
import { type Clock, silentLogger, systemClock } from '@integ/core';
import {
  balancerFor,
  type EndpointLoad,
  p2cLeastLoaded,
  p2cPeakEwma,
  type Snapshot,
  type Source,
  weighted,
} from '@integ/discovery';
import { dnsA, dnsSrv } from '@integ/discovery/dns';
import { createFakeClock, drain } from '@integ/testing';
import packet, { type Answer } from 'dns-packet';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeServers, dnsServer, rawDnsServer, refusal } from './internal/test-servers.js';
import { newOutlierRecord, OutlierDetector, type OutlierRecord, resolveOutlierOptions } from './outlier.js';

afterEach(async () => {
  vi.restoreAllMocks();
  await closeServers();
});

const NAME = '_http._tcp.api.example';
const SERVFAIL = 2;
const NXDOMAIN = 3;

/** Opens `source` as the registry would (with `maxEndpoints` when given) and returns the resolver. */
function open(
  source: Source,
  {
    clock = createFakeClock({ now: 1_000_000 }) as Clock,
    maxEndpoints,
  }: { clock?: Clock; maxEndpoints?: number } = {},
): { resolve: () => Promise<Snapshot> } {
  const resolver = (source.open as NonNullable<Source['open']>)({
    service: 'api',
    clock,
    random: () => 0.25,
    logger: silentLogger,
    signal: new AbortController().signal,
    ...(maxEndpoints === undefined ? {} : { maxEndpoints }),
  });
  return { resolve: () => resolver.resolve(new AbortController().signal) };
}

const urls = (s: Snapshot): string[] => s.endpoints.map((e) => e.url);
const srv = (
  target: string,
  more: Partial<{ priority: number; weight: number; port: number; ttl: number }> = {},
): Answer => ({
  type: 'SRV',
  name: NAME,
  ttl: more.ttl ?? 300,
  data: { priority: more.priority ?? 0, weight: more.weight ?? 1, port: more.port ?? 8080, target },
});
const a = (name: string, data: string, ttl = 60): Answer => ({ type: 'A', name, ttl, data });
const aaaa = (name: string, data: string, ttl = 60): Answer => ({ type: 'AAAA', name, ttl, data });

describe('dnsSrv and dnsA names (RFC 1035 §2.3.4)', () => {
  // 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 characters, the longest name.
  const longest = `${`${'a'.repeat(63)}.`.repeat(3)}${'a'.repeat(61)}`;

  it('refuses a label over 63 characters or an empty one, which dns-packet cannot write (the query asked another name)', () => {
    for (const name of [`${'a'.repeat(64)}.example`, 'a..b.example', '.example', '..'])
      expect(refusal(() => dnsA(name)).message).toBe(
        'Invalid dnsA hostname: expected a DNS name such as _http._tcp.api.example.com, received a string',
      );
    expect(dnsA(`${'a'.repeat(63)}.example`).kind).toBe('dns');
  });

  it('takes a name of 253 characters, also written with its final dot, and refuses 254', () => {
    expect(longest).toHaveLength(253);
    expect(dnsA(longest).description).toBe(`A/AAAA ${longest}:80`);
    expect(dnsA(`${longest}.`).description).toBe(`A/AAAA ${longest}:80`);
    expect(dnsSrv(`${longest}.`).description).toBe(`SRV ${longest}`);
    expect(refusal(() => dnsSrv(`${longest}a`)).argument).toBe('dnsSrv name');
    expect(refusal(() => dnsA(`${longest}a.`)).argument).toBe('dnsA hostname');
  });

  it('refuses a name that is not a string, or holds a character no host name has, with what it takes', () => {
    expect(refusal(() => dnsSrv(42 as never)).message).toBe(
      'Invalid dnsSrv name: expected a DNS name such as _http._tcp.api.example.com, received 42',
    );
    for (const name of ['_http._tcp.a/b.example', 'a b.example', 'user@api.example'])
      expect(refusal(() => dnsSrv(name)).argument).toBe('dnsSrv name');
  });
});

describe('dnsSrv and dnsA options', () => {
  it('refuses each bad option naming it and what it takes', () => {
    const message = (make: () => unknown): string => refusal(make).message;
    expect(message(() => dnsSrv(NAME, { timeout: 0 }))).toBe(
      'Invalid timeout: expected ms in (0, 2147483647], received 0',
    );
    expect(message(() => dnsSrv(NAME, { attempts: 0 }))).toBe(
      'Invalid attempts: expected an integer >= 1, received 0',
    );
    expect(message(() => dnsA('h.example', { attempts: 1.5 }))).toBe(
      'Invalid attempts: expected an integer >= 1, received 1.5',
    );
    for (const protocol of ['1http', 'http://', 'ht tp', 'Http'])
      expect(message(() => dnsSrv(NAME, { protocol }))).toBe(
        "Invalid protocol: expected a URL scheme like 'http', received a string",
      );
    expect(message(() => dnsA('h.example', { family: 5 as never }))).toBe(
      'Invalid family: expected 0, 4 or 6, received 5',
    );
    expect(message(() => dnsSrv(NAME, { servers: [] }))).toBe(
      "Invalid servers: expected a non-empty array like ['127.0.0.1:53'], received an object",
    );
    expect(message(() => dnsSrv(NAME, { servers: 42 as never }))).toBe(
      "Invalid servers: expected a non-empty array like ['127.0.0.1:53'], received 42",
    );
    expect(message(() => dnsSrv(NAME, { servers: [42 as never] }))).toBe(
      "Invalid servers: expected entries like '10.0.0.2' or '127.0.0.1:5353', received 42",
    );
  });

  it('dnsA takes ports 1 to 65535 and refuses 0, 65536 and 1.5', () => {
    for (const port of [0, 65_536, 1.5])
      expect(refusal(() => dnsA('h.example', { port })).message).toBe(
        `Invalid port: expected an integer in [1, 65535], received ${port}`,
      );
    expect(dnsA('h.example', { port: 1 }).description).toBe('A/AAAA h.example:1');
    expect(dnsA('h.example', { port: 65_535 }).description).toBe('A/AAAA h.example:65535');
  });

  it("dnsA's description names the record types asked for and the port, 443 by default for https", () => {
    expect(dnsA('h.example')).toMatchObject({ kind: 'dns', description: 'A/AAAA h.example:80' });
    expect(dnsA('h.example', { family: 4 }).description).toBe('A h.example:80');
    expect(dnsA('h.example', { family: 6 }).description).toBe('AAAA h.example:80');
    expect(dnsA('h.example', { protocol: 'https' }).description).toBe('A/AAAA h.example:443');
    expect(dnsA('h.example', { protocol: 'wss' }).description).toBe('A/AAAA h.example:80');
  });

  it("dnsSrv's description lists the servers given, comma-separated, and none by default", () => {
    expect(dnsSrv(NAME).description).toBe(`SRV ${NAME}`);
    expect(dnsSrv(`${NAME}.`, { servers: ['127.0.0.1', '[::1]:5353'] }).description).toBe(
      `SRV ${NAME} via 127.0.0.1:53, [::1]:5353`,
    );
  });
});

describe('the system DNS servers (no servers option)', () => {
  it('asks the servers dns.getServers() lists, skipping an entry that does not parse', async () => {
    const server = await dnsServer((q, reply) => reply(q.type === 'A' ? [a(q.name, '10.0.0.1')] : []));
    vi.spyOn(nodeDns, 'getServers').mockReturnValue(['not a server', server]);
    const snapshot = await open(dnsA('h.example', { family: 4, attempts: 1 })).resolve();
    expect(urls(snapshot)).toEqual(['http://10.0.0.1:80']);
  });

  it('fails each lookup saying so when the system lists no server it can use', async () => {
    vi.spyOn(nodeDns, 'getServers').mockReturnValue(['not a server']);
    const error = await open(dnsA('h.example'))
      .resolve()
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe('dns: no DNS servers configured on this system; pass { servers }');
  });
});

/** A DNS server answering each question with `answer(type, name)`: records, or an rcode to fail with. */
async function table(
  answer: (type: string, name: string) => Answer[] | number | { answers: Answer[]; additionals: Answer[] },
): Promise<{ address: string; questions: string[] }> {
  const questions: string[] = [];
  const address = await dnsServer((q, reply) => {
    questions.push(`${q.type} ${q.name}`);
    const out = answer(q.type, q.name);
    if (typeof out === 'number') reply([], out);
    else if (Array.isArray(out)) reply(out);
    else reply(out.answers, 0, out.additionals);
  });
  return { address, questions };
}

describe('dnsA and the records of an answer', () => {
  it('with family 6 asks for AAAA only', async () => {
    const server = await table((type, name) =>
      type === 'AAAA' ? [aaaa(name, '::1')] : [a(name, '10.0.0.1')],
    );
    const snapshot = await open(dnsA('h.example', { servers: server.address, family: 6 })).resolve();
    expect(urls(snapshot)).toEqual(['http://[::1]:80']);
    expect(server.questions).toEqual(['AAAA h.example']);
  });

  it("takes the name's records from the answer section, not another name's", async () => {
    const server = await table((_, name) => [a('other.example', '10.0.0.6'), a(name, '10.0.0.1')]);
    const snapshot = await open(dnsA('h.example', { servers: server.address, family: 4 })).resolve();
    expect(urls(snapshot)).toEqual(['http://10.0.0.1:80']);
  });

  it("takes the name's records from the additional section too", async () => {
    const server = await table((_, name) => ({ answers: [], additionals: [a(name, '10.0.0.2')] }));
    const snapshot = await open(dnsA('h.example', { servers: server.address, family: 4 })).resolve();
    expect(urls(snapshot)).toEqual(['http://10.0.0.2:80']);
  });

  it('follows a CNAME chain to the families asked for, and holds it as long as its shortest record used', async () => {
    // Both questions get the whole chain: the CNAME (300 s), its target's A (60 s) and AAAA (5 s).
    const server = await table((_, name) => [
      { type: 'CNAME', name, ttl: 300, data: 'x.example' },
      a('x.example', '10.0.0.1', 60),
      aaaa('x.example', '::1', 5),
    ]);
    const lookup = (family: 0 | 4 | 6): Promise<Snapshot> =>
      open(dnsA('h.example', { servers: server.address, family })).resolve();
    const four = await lookup(4);
    expect([urls(four), four.ttlMs]).toEqual([['http://10.0.0.1:80'], 60_000]);
    const six = await lookup(6);
    expect([urls(six), six.ttlMs]).toEqual([['http://[::1]:80'], 5000]);
    const both = await lookup(0);
    expect([urls(both), both.ttlMs]).toEqual([['http://10.0.0.1:80', 'http://[::1]:80'], 5000]);
  });
});

describe('addresses kept when one family fails (stale on error, decision 0159)', () => {
  /** A server whose answer per type the test sets: records, or an rcode. */
  async function switchable(): Promise<{
    address: string;
    set: (type: 'A' | 'AAAA', out: string[] | number) => void;
  }> {
    const state = new Map<string, string[] | number>();
    const server = await table((type, name) => {
      const out = state.get(type) ?? [];
      if (typeof out === 'number') return out;
      return out.map((data) => (type === 'A' ? a(name, data) : aaaa(name, data)));
    });
    return { address: server.address, set: (type, out) => state.set(type, out) };
  }

  it("dnsA keeps the failed family's last addresses for what is left of their TTL, and only that family's", async () => {
    const server = await switchable();
    const clock = createFakeClock({ now: 1_000_000 });
    const resolver = open(dnsA('h.example', { servers: server.address, attempts: 1 }), { clock });
    server.set('A', ['10.0.0.1', '10.0.0.2']);
    server.set('AAAA', ['::1', '::2']);
    await resolver.resolve();
    await clock.advance(10_000);
    server.set('A', ['10.0.0.1']);
    server.set('AAAA', SERVFAIL);
    // 10.0.0.2 left the A answer: it is gone; the AAAA addresses stay with 50 s of their 60 left.
    const second = await resolver.resolve();
    expect([urls(second), second.ttlMs]).toEqual([
      ['http://10.0.0.1:80', 'http://[::1]:80', 'http://[::2]:80'],
      50_000,
    ]);
    await clock.advance(50_000);
    expect(urls(await resolver.resolve())).toEqual(['http://10.0.0.1:80']);
  });

  it('dnsA keeps the A addresses when A fails and AAAA answers', async () => {
    const server = await switchable();
    const clock = createFakeClock({ now: 1_000_000 });
    const resolver = open(dnsA('h.example', { servers: server.address, attempts: 1 }), { clock });
    server.set('A', ['10.0.0.1', '10.0.0.2']);
    server.set('AAAA', ['::1', '::2']);
    await resolver.resolve();
    await clock.advance(10_000);
    server.set('A', SERVFAIL);
    server.set('AAAA', ['::1']);
    expect(urls(await resolver.resolve())).toEqual([
      'http://[::1]:80',
      'http://10.0.0.1:80',
      'http://10.0.0.2:80',
    ]);
  });

  it("dnsSrv keeps a target's failed family for what is left of its TTL, counted from the last lookup", async () => {
    const state = { aaaa: true };
    const server = await table((type, name) => {
      if (type === 'SRV') return [srv('t.example')];
      if (type === 'A') return [a(name, '10.0.0.1')];
      return state.aaaa ? [aaaa(name, '::1')] : SERVFAIL;
    });
    const clock = createFakeClock({ now: 1_000_000 });
    const resolver = open(dnsSrv(NAME, { servers: server.address, attempts: 1 }), { clock });
    await resolver.resolve();
    await clock.advance(10_000);
    state.aaaa = false;
    const second = await resolver.resolve();
    expect([urls(second), second.ttlMs]).toEqual([['http://10.0.0.1:8080', 'http://[::1]:8080'], 50_000]);
    await clock.advance(50_000);
    expect(urls(await resolver.resolve())).toEqual(['http://10.0.0.1:8080']);
  });
});

describe('dnsSrv answers', () => {
  const failure = (p: Promise<unknown>): Promise<{ message: string; source: string }> =>
    p.then(
      () => ({ message: 'resolved', source: '' }),
      (e: { message: string; source: string }) => ({ message: e.message, source: e.source }),
    );

  it('says NXDOMAIN for a name that does not exist, even with SRV records in the answer, and no SRV records for none', async () => {
    for (const answers of [[], [srv('t.example')]]) {
      const nx = await dnsServer((_, reply) => reply(answers, NXDOMAIN));
      expect(await failure(open(dnsSrv(NAME, { servers: nx, resolveTargets: false })).resolve())).toEqual({
        message: `dns-srv: SRV ${NAME}: NXDOMAIN`,
        source: 'dns-srv',
      });
    }
    const empty = await table(() => []);
    expect(await failure(open(dnsSrv(NAME, { servers: empty.address })).resolve())).toEqual({
      message: `dns-srv: SRV ${NAME}: no SRV records`,
      source: 'dns-srv',
    });
  });

  it("says no usable targets when every target is '.', and a '.' record's TTL does not count", async () => {
    const none = await table(() => [srv('.')]);
    expect(await failure(open(dnsSrv(NAME, { servers: none.address })).resolve())).toEqual({
      message: `dns-srv: SRV ${NAME}: no usable targets`,
      source: 'dns-srv',
    });
    const server = await table((type, name) =>
      type === 'SRV'
        ? { answers: [srv('.', { ttl: 5 }), srv('t.example')], additionals: [a('t.example', '10.0.0.1', 60)] }
        : [a(name, '10.0.0.9')],
    );
    const snapshot = await open(dnsSrv(NAME, { servers: server.address })).resolve();
    expect([urls(snapshot), snapshot.ttlMs]).toEqual([['http://10.0.0.1:8080'], 60_000]);
  });

  it('takes from the additional section only the family asked for, and only records of the target (ASCII case-insensitive)', async () => {
    const server = await table((type) =>
      type === 'SRV'
        ? {
            answers: [srv('api.example')],
            additionals: [
              a('API.example', '10.0.0.1'),
              aaaa('api.example', '::1'),
              // Names that match only when compared wrongly: ı upper-cases to I, and 'apie.xample' without its
              // first dot is 'apiexample' too.
              a('apı.example', '10.0.0.6'),
              a('apie.xample', '10.0.0.7'),
            ],
          }
        : [],
    );
    const four = await open(dnsSrv(NAME, { servers: server.address, family: 4 })).resolve();
    expect(urls(four)).toEqual(['http://10.0.0.1:8080']);
    const six = await open(dnsSrv(NAME, { servers: server.address, family: 6 })).resolve();
    expect(urls(six)).toEqual(['http://[::1]:8080']);
  });

  it('reads a target whose last label ends in a dot byte as the name without it', async () => {
    // dns-packet cannot write such a label: '~' is written and then overwritten with '.'.
    const address = await rawDnsServer((query) => {
      const question = query.questions?.[0];
      if (question?.type !== 'SRV')
        return packet.encode({ type: 'response', id: query.id, questions: query.questions });
      const bytes = Buffer.from(
        packet.encode({
          type: 'response',
          id: query.id,
          questions: [question],
          answers: [srv('api.example~')],
          additionals: [a('api.example', '10.0.0.1')],
        }),
      );
      bytes[bytes.indexOf('example~') + 7] = '.'.charCodeAt(0);
      return bytes;
    });
    // The real clock: a mutant that misses the additional record asks for 'api.example.', whose answers echo
    // 'api.example' and are dropped, so it fails after 200 ms instead of hanging on a fake clock.
    const snapshot = await open(dnsSrv(NAME, { servers: address, family: 4, attempts: 1, timeout: 200 }), {
      clock: systemClock,
    }).resolve();
    expect(snapshot.endpoints.map((e) => [e.url, e.hostname])).toEqual([
      ['http://10.0.0.1:8080', 'api.example'],
    ]);
  });
});

describe('dnsSrv and maxEndpoints', () => {
  it('without resolveTargets looks at every record, whatever maxEndpoints (the registry drops names that make no URL)', async () => {
    const server = await table(() => [
      srv('10.0.0.999', { weight: 5 }), // passes the host check, but no URL parser takes it
      srv('b.example', { weight: 7 }),
      srv('c.example', { weight: 9 }),
    ]);
    const snapshot = await open(dnsSrv(NAME, { servers: server.address, resolveTargets: false }), {
      maxEndpoints: 1,
    }).resolve();
    expect(snapshot.endpoints.map((e) => [e.url, e.weight])).toEqual([
      ['http://10.0.0.999:8080', 5],
      ['http://b.example:8080', 7],
      ['http://c.example:8080', 9],
    ]);
  });

  it("splits a target's weight across the addresses the cut keeps, the lowest priorities first", async () => {
    const server = await table((type) =>
      type === 'SRV'
        ? {
            // Answer order: the priority-20 target first.
            answers: [
              srv('x.example', { priority: 20, weight: 10 }),
              srv('y.example', { priority: 10, weight: 10 }),
            ],
            additionals: [a('x.example', '10.0.0.9'), a('y.example', '10.0.0.1'), a('y.example', '10.0.0.2')],
          }
        : [],
    );
    const snapshot = await open(dnsSrv(NAME, { servers: server.address, family: 4 }), {
      maxEndpoints: 2,
    }).resolve();
    expect(snapshot.endpoints.map((e) => [e.url, e.priority, e.weight])).toEqual([
      ['http://10.0.0.9:8080', 20, 0],
      ['http://10.0.0.1:8080', 10, 5],
      ['http://10.0.0.2:8080', 10, 5],
    ]);
  });
});

describe('dnsSrv target lookups after one failed', () => {
  it('starts no more target lookups once one has failed', async () => {
    const targets = Array.from({ length: 20 }, (_, i) => `t${i}.example`);
    const held: (() => void)[] = [];
    const questions: string[] = [];
    const address = await dnsServer((q, reply) => {
      questions.push(q.name);
      if (q.type === 'SRV') reply(targets.map((t) => srv(t)));
      else if (q.name === 't0.example') reply([], SERVFAIL);
      else if (Number(q.name.slice(1, -8)) < 16) held.push(() => reply([a(q.name, '10.0.0.1')]));
      else reply([a(q.name, '10.0.0.2')]);
    });
    let created = 0;
    let closed = 0;
    const create = dgram.createSocket;
    vi.spyOn(dgram, 'createSocket').mockImplementation(((...args: Parameters<typeof create>) => {
      const socket = create.apply(dgram, args);
      created++;
      socket.once('close', () => closed++);
      return socket;
    }) as typeof create);
    const done = open(dnsSrv(NAME, { servers: address, family: 4, attempts: 1 })).resolve();
    await expect(done).rejects.toThrow('t0.example');
    // The 16 lookups started with t0 (one per slot) are answered after the failure: their slots take no more.
    await vi.waitFor(() => expect(held).toHaveLength(15), { timeout: 5000, interval: 5 });
    for (const release of held) release();
    await vi.waitFor(() => expect(closed).toBe(created), { timeout: 5000, interval: 5 });
    await drain();
    expect(new Set(questions)).toEqual(new Set([NAME, ...targets.slice(0, 16)]));
  });
});

/** A candidate as the registry hands it to a balancer: only what the balancers read. */
const load = (url: string, more: { weight?: number; inflight?: number; ewma?: number } = {}): EndpointLoad =>
  ({
    endpoint: { url, service: 's', weight: more.weight ?? 1 },
    inflight: more.inflight ?? 0,
    ewma: more.ewma ?? 0,
    ewmaStamp: 0,
  }) as unknown as EndpointLoad;

/** A random that returns `draws` in turn. */
const draws = (...values: number[]): (() => number) => {
  let i = 0;
  return () => values[i++ % values.length] as number;
};

describe('balancers (review 39, Stryker survivors of balancers.ts)', () => {
  it('balancerFor names each balancer as asked', () => {
    for (const name of ['round-robin', 'random', 'weighted', 'least-loaded', 'peak-ewma'] as const)
      expect(balancerFor(name).name).toBe(name);
  });

  it('balancerFor takes an object with pick() as it is, and refuses null, an object without pick() and a function', () => {
    const own = { name: 'own', pick: (c: readonly EndpointLoad[]) => c[0] as EndpointLoad };
    expect(balancerFor(own)).toBe(own);
    const pickingFunction = Object.assign(() => {}, { pick: own.pick });
    for (const value of [null, {}, pickingFunction, 'fastest'])
      expect(refusal(() => balancerFor(value as never)).message).toMatch(
        /^Invalid balancer: expected 'round-robin' \| 'random' \| 'weighted' \| 'least-loaded' \| 'peak-ewma' or a Balancer, received /,
      );
  });

  it('weighted takes the next candidate when the draw falls on a boundary (each share is [start, end))', () => {
    // Shares 1 and 1 of a total 2: a draw of 0.5 is 1, the start of the second share.
    const [first, second] = [load('http://a:1'), load('http://b:1')];
    expect(weighted().pick([first, second] as EndpointLoad[], () => 0.5, 0)).toBe(second);
    expect(weighted().pick([first, second] as EndpointLoad[], () => 0.4999, 0)).toBe(first);
  });

  it('least-loaded and peak-ewma answer the only candidate', () => {
    const only = load('http://a:1', { inflight: 3 });
    expect(p2cLeastLoaded().pick([only], () => 0.9, 0)).toBe(only);
    expect(p2cPeakEwma().pick([only], () => 0.9, 0)).toBe(only);
  });

  it('least-loaded keeps the first sampled candidate on a tie', () => {
    const [a, b] = [load('http://a:1', { inflight: 2 }), load('http://b:1', { inflight: 2 })];
    // Draws 0, 0: the first sample is index 0, the second index 1.
    expect(p2cLeastLoaded().pick([a, b] as EndpointLoad[], draws(0, 0), 0)).toBe(a);
    // Draws 0.9, 0: the first sample is index 1, the second index 0.
    expect(p2cLeastLoaded().pick([a, b] as EndpointLoad[], draws(0.9, 0), 0)).toBe(b);
  });

  it('peak-ewma prefers, of two endpoints never measured, the one with fewer requests in flight', () => {
    const [one, three] = [load('http://a:1', { inflight: 1 }), load('http://b:1', { inflight: 3 })];
    const balancer = p2cPeakEwma();
    expect(balancer.pick([one, three] as EndpointLoad[], draws(0, 0), 0)).toBe(one);
    expect(balancer.pick([three, one] as EndpointLoad[], draws(0, 0), 0)).toBe(one);
  });

  it('peak-ewma leaves its estimate exactly as it was after a latency equal to it', () => {
    const balancer = p2cPeakEwma({ decayMs: 1000 });
    const measured = load('http://a:1');
    (balancer.observe as NonNullable<typeof balancer.observe>)(measured, { ok: true, latencyMs: 123.456 }, 0);
    // Blended in, 123.456 x w + 123.456 x (1 - w) is 123.45600000000002 for w = e^-0.5.
    (balancer.observe as NonNullable<typeof balancer.observe>)(
      measured,
      { ok: true, latencyMs: 123.456 },
      500,
    );
    expect(measured.ewma).toBe(123.456);
  });

  it('peak-ewma refuses a negative, NaN or infinite errorPenaltyMs naming it, takes 0, and names what decayMs takes', () => {
    for (const errorPenaltyMs of [-1, Number.NaN, Number.POSITIVE_INFINITY])
      expect(refusal(() => p2cPeakEwma({ errorPenaltyMs })).message).toBe(
        `Invalid errorPenaltyMs: expected a finite number >= 0, received ${errorPenaltyMs}`,
      );
    expect(p2cPeakEwma({ errorPenaltyMs: 0 }).name).toBe('peak-ewma');
    expect(refusal(() => p2cPeakEwma({ decayMs: 0 })).message).toBe(
      'Invalid decayMs: expected a finite number > 0, received 0',
    );
  });
});

describe('outlier detection (review 39, Stryker survivors of outlier.ts; the detector is tested on its own)', () => {
  it('refuses each bad option naming it and the range it takes: a string, NaN and Infinity too', () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ interval: 0 }, 'interval', '[1, Infinity]'],
      [{ interval: '5' }, 'interval', '[1, Infinity]'],
      [{ interval: Number.NaN }, 'interval', '[1, Infinity]'],
      [{ interval: Number.POSITIVE_INFINITY }, 'interval', '[1, Infinity]'],
      [{ baseEjectionTime: -1 }, 'baseEjectionTime', '[0, Infinity]'],
      [{ maxEjectionTime: -1 }, 'maxEjectionTime', '[0, Infinity]'],
      [{ maxEjectionPercent: 101 }, 'maxEjectionPercent', '[0, 100]'],
      [{ consecutive5xx: 0 }, 'consecutive5xx', '[1, Infinity]'],
      [{ enforcingConsecutive5xx: 101 }, 'enforcingConsecutive5xx', '[0, 100]'],
      [{ successRateEjection: { stdevFactor: -1 } }, 'successRateEjection.stdevFactor', '[0, Infinity]'],
      [
        { successRateEjection: { enforcementPercentage: 101 } },
        'successRateEjection.enforcementPercentage',
        '[0, 100]',
      ],
      [{ successRateEjection: { minimumHosts: -1 } }, 'successRateEjection.minimumHosts', '[0, Infinity]'],
      [{ successRateEjection: { requestVolume: -1 } }, 'successRateEjection.requestVolume', '[0, Infinity]'],
      [{ failurePercentageEjection: { threshold: 101 } }, 'failurePercentageEjection.threshold', '[0, 100]'],
      [
        { failurePercentageEjection: { enforcementPercentage: 101 } },
        'failurePercentageEjection.enforcementPercentage',
        '[0, 100]',
      ],
      [
        { failurePercentageEjection: { minimumHosts: -1 } },
        'failurePercentageEjection.minimumHosts',
        '[0, Infinity]',
      ],
      [
        { failurePercentageEjection: { requestVolume: -1 } },
        'failurePercentageEjection.requestVolume',
        '[0, Infinity]',
      ],
    ];
    for (const [options, name, range] of cases) {
      const value = Object.values(options)[0] as unknown;
      const received = typeof value === 'object' ? (Object.values(value as object)[0] as unknown) : value;
      expect(refusal(() => resolveOutlierOptions(options as never)).message).toBe(
        `Invalid outlierDetection.${name}: expected a number in ${range}, received ${typeof received === 'string' ? 'a string' : received}`,
      );
    }
  });

  it('failurePercentageEjection: false turns it off, as leaving it out does', () => {
    expect(resolveOutlierOptions({ failurePercentageEjection: false }).failurePercentage).toBeNull();
    expect(resolveOutlierOptions({}).failurePercentage).toBeNull();
    expect(resolveOutlierOptions({ failurePercentageEjection: {} }).failurePercentage).toEqual({
      threshold: 85,
      enforcementPercentage: 100,
      minimumHosts: 5,
      requestVolume: 50,
    });
  });

  const detector = (options: Parameters<typeof resolveOutlierOptions>[0] = {}): OutlierDetector =>
    new OutlierDetector(resolveOutlierOptions(options), () => 0.5);
  const failure = { ok: false, latencyMs: 1, status: 500 };

  it('a sweep that changes no ejection answers false', () => {
    const records = [newOutlierRecord(), newOutlierRecord()];
    expect(detector().sweep(records, 1000)).toBe(false);
  });

  it('a consecutive-5xx run the maxEjectionPercent cap refuses answers false and ejects nothing', () => {
    const d = detector({ consecutive5xx: 1, maxEjectionPercent: 10 });
    const records: OutlierRecord[] = [newOutlierRecord(), newOutlierRecord()];
    expect(d.record(records[0] as OutlierRecord, failure, records, 0)).toBe(true);
    // One of two is ejected: a second would be 100 % > 10 %.
    expect(d.record(records[1] as OutlierRecord, failure, records, 0)).toBe(false);
    expect(records.map((r) => r.ejectedAt)).toEqual([0, null]);
  });

  it('an ejection ends at a sweep 1 µs before its end, exactly', () => {
    const rec = newOutlierRecord();
    rec.ejectedAt = 0;
    rec.ejectedUntil = 1 + 1e-3;
    expect(detector().sweep([rec], 1)).toBe(true);
    expect([rec.ejectedAt, rec.ejectedUntil]).toEqual([null, null]);
  });
});
