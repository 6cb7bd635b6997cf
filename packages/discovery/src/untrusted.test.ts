import type { ServerResponse } from 'node:http';
import type { Logger } from '@integ/core';
import { consul, createRegistry, etcd } from '@integ/discovery';
import { seededRandom } from '@integ/testing';
import type { Answer } from 'dns-packet';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeServers, dnsServer, rawDnsServer, recordingLogger, serve } from './internal/test-servers.js';

// Consul and etcd answers are untrusted input: a broken or hostile agent must not take the registry down,
// make it buffer without bound, or drop the good entries next to a bad one.

// Real sockets on a shared machine: give them time, poll often.
const waitFor = <T>(check: () => T | Promise<T>): Promise<T> =>
  vi.waitFor(check, { timeout: 5000, interval: 10 });

afterEach(closeServers);

/** Writes chunks of `x` until the client goes away; returns how many bytes it wrote. */
function endless(res: ServerResponse, wrote: { bytes: number }, prefix = ''): void {
  res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': '2' });
  res.write(prefix);
  const chunk = 'x'.repeat(16 * 1024);
  const pump = (): void => {
    while (!res.destroyed && wrote.bytes < 64 * 1024 * 1024) {
      wrote.bytes += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

const consulEntry = (address: unknown, port: unknown, extra: Record<string, unknown> = {}): unknown => ({
  Node: { Node: 'n', Address: '10.9.9.9' },
  Service: { ID: `id-${String(port)}`, Address: address, Port: port, Tags: [], Meta: {}, ...extra },
});

describe('consul, given a bad answer', () => {
  it('stops reading past maxResponseBytes, keeps the last endpoints and reports ERR_DISCOVERY_SOURCE', async () => {
    const wrote = { bytes: 0 };
    const url = await serve((_req, res, n) => {
      if (n === 0) {
        res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': '1' });
        res.end(JSON.stringify([consulEntry('10.0.0.1', 80)]));
      } else endless(res, wrote, '[');
    });
    const { logger, lines } = recordingLogger();
    const registry = createRegistry({
      services: { api: consul({ service: 'api', address: url, maxResponseBytes: 64 * 1024 }) },
      minInterval: 0,
      logger,
    });
    await registry.ready();
    await waitFor(() => expect(registry.inspect('api').state).toBe('stale'));
    const inspection = registry.inspect('api');
    expect(inspection.lastError?.code).toBe('ERR_DISCOVERY_SOURCE');
    expect(inspection.lastError?.message).toMatch(/maxResponseBytes/);
    expect(registry.endpoints('api').map((e) => e.url)).toEqual(['http://10.0.0.1:80']);
    expect(lines.some(([, msg]) => String(msg).includes('discovery source failed'))).toBe(true);
    registry.close();
    // It hung up instead of reading on: far less than the 64 MiB the server would write.
    expect(wrote.bytes).toBeLessThan(16 * 1024 * 1024);
  });

  it('reports malformed JSON as ERR_DISCOVERY_SOURCE and keeps the last endpoints', async () => {
    const url = await serve((_req, res, n) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': String(n + 1) });
      res.end(n === 0 ? JSON.stringify([consulEntry('10.0.0.1', 80)]) : '[{"Service": {"Port": 80,');
    });
    const registry = createRegistry({
      services: { api: consul({ service: 'api', address: url }) },
      minInterval: 0,
    });
    await registry.ready();
    await waitFor(() => expect(registry.inspect('api').state).toBe('stale'));
    expect(registry.inspect('api').lastError?.code).toBe('ERR_DISCOVERY_SOURCE');
    expect(registry.endpoints('api').map((e) => e.url)).toEqual(['http://10.0.0.1:80']);
    registry.close();
  });

  it('skips entries with a bad host, port, weight, tags or meta and serves the good ones', async () => {
    const good = Array.from({ length: 3000 }, (_, i) =>
      consulEntry(`10.${(i >> 8) & 255}.${i & 255}.1`, 8080, { Weights: { Passing: 2 } }),
    );
    const bad = [
      null,
      'a string',
      {},
      { Service: null },
      consulEntry('10.0.0.1', 0),
      consulEntry('10.0.0.1', 70000),
      consulEntry('10.0.0.1', '80'),
      consulEntry(123, 80),
      consulEntry({ evil: true }, 80),
      consulEntry('evil.example/path#', 80),
      consulEntry('user:pass@evil.example', 80),
      consulEntry('10.0.0.2', 81, { Tags: 'not-a-list' }),
      consulEntry('10.0.0.3', 82, { Meta: 'not-an-object', Weights: { Passing: -5 } }),
      consulEntry('10.0.0.4', 83, { Meta: { ok: 'yes', nested: { no: 1 } }, Weights: { Passing: 'x' } }),
    ];
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': '1' });
      res.end(JSON.stringify([...bad, ...good]));
    });
    const { logger, lines } = recordingLogger();
    const registry = createRegistry({
      services: { api: consul({ service: 'api', address: url }) },
      logger,
    });
    await registry.ready();
    const endpoints = registry.endpoints('api');
    expect(endpoints).toHaveLength(3003);
    const byUrl = new Map(endpoints.map((e) => [e.url, e]));
    // Tags and meta of the wrong type are dropped, the entry kept; a bad weight becomes the default 1.
    expect(byUrl.get('http://10.0.0.2:81')?.meta?.['consul.tags']).toBeUndefined();
    expect(byUrl.get('http://10.0.0.3:82')?.weight).toBe(1);
    expect(byUrl.get('http://10.0.0.4:83')?.meta).toEqual({
      ok: 'yes',
      'consul.id': 'id-83',
      'consul.node': 'n',
    });
    expect(byUrl.get('http://10.0.0.1:8080')?.weight).toBe(2);
    expect([...byUrl.keys()].some((u) => u.includes('evil'))).toBe(false);
    // One warning per answer, not one per bad entry.
    const warnings = lines.filter(([, msg]) => String(msg).includes('consul'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.[0]).toMatchObject({ service: 'api', skipped: 11 });
    registry.close();
  });
});

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const kv = (key: string, value: string): { key: string; value: string } => ({
  key: b64(key),
  value: b64(value),
});

describe('etcd, given a bad answer', () => {
  it('stops reading a range past maxResponseBytes and reports ERR_DISCOVERY_SOURCE', async () => {
    const wrote = { bytes: 0 };
    const url = await serve((_req, res) => endless(res, wrote, '{"kvs":['));
    const registry = createRegistry({
      services: { api: etcd({ prefix: '/a/', endpoints: [url], maxResponseBytes: 64 * 1024 }) },
      minInterval: 0,
    });
    const error = await registry.ready().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toMatchObject({ code: 'ERR_DISCOVERY_SOURCE' });
    expect((error as Error).message).toMatch(/maxResponseBytes/);
    registry.close();
    expect(wrote.bytes).toBeLessThan(16 * 1024 * 1024);
  });

  it('drops a watch whose message grows past maxResponseBytes, re-reads, and keeps serving', async () => {
    const wrote = { bytes: 0 };
    let ranges = 0;
    const url = await serve((req, res) => {
      if (req.url === '/v3/kv/range') {
        ranges++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ header: { revision: '5' }, kvs: [kv('/a/1', 'http://10.0.0.1:80')] }));
      } else endless(res, wrote, '{"result":{"events":[');
    });
    const { logger, lines } = recordingLogger();
    const registry = createRegistry({
      services: { api: etcd({ prefix: '/a/', endpoints: [url], maxResponseBytes: 64 * 1024 }) },
      minInterval: 0,
      logger,
    });
    await registry.ready();
    await waitFor(() => expect(ranges).toBeGreaterThanOrEqual(2));
    const failure = lines.find(([, msg]) => String(msg).includes('discovery source failed'));
    expect(failure?.[0]).toMatchObject({ code: 'ERR_DISCOVERY_SOURCE' });
    expect(registry.endpoints('api').map((e) => e.url)).toEqual(['http://10.0.0.1:80']);
    registry.close();
    expect(wrote.bytes).toBeLessThan(16 * 1024 * 1024);
  });

  it('skips keys and values that are not valid base64 or not URLs and serves the rest', async () => {
    const url = await serve((req, res) => {
      if (req.url === '/v3/kv/range') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            header: { revision: '5' },
            kvs: [
              { key: '%%% not base64', value: b64('http://10.0.0.9:80') },
              { key: b64('/a/bad-value'), value: '%%% not base64' },
              null,
              { key: b64('/a/port'), value: b64('10.0.0.8:99999') },
              kv('/a/1', 'http://10.0.0.1:80'),
              kv('/a/2', '{"url":"http://10.0.0.2:80","weight":-3}'),
            ],
          }),
        );
      } else res.writeHead(200).write(''); // a watch that stays open and quiet
    });
    const registry = createRegistry({
      services: { api: etcd({ prefix: '/a/', endpoints: [url] }) },
      minInterval: 0,
    });
    await registry.ready();
    expect(registry.endpoints('api').map((e) => [e.url, e.weight])).toEqual([
      ['http://10.0.0.1:80', 1],
      ['http://10.0.0.2:80', 1],
    ]);
    registry.close();
  });
});

describe('dnsSrv, given an answer with many targets', () => {
  it('resolves at most 16 targets at a time (32 address queries in flight) and uses them all', async () => {
    const targets = 300;
    let inFlight = 0;
    let most = 0;
    const servers = await dnsServer((question, reply) => {
      if (question.type === 'SRV') {
        reply(
          Array.from({ length: targets }, (_, i) => ({
            type: 'SRV' as const,
            name: question.name,
            ttl: 60,
            data: { priority: 0, weight: 1, port: 8000 + i, target: `t${i}.example` },
          })),
        );
        return;
      }
      inFlight++;
      most = Math.max(most, inFlight);
      setTimeout(() => {
        inFlight--;
        reply(question.type === 'A' ? [{ type: 'A', name: question.name, ttl: 60, data: '10.0.0.1' }] : []);
      }, 2);
    });
    const { dnsSrv } = await import('@integ/discovery/dns');
    const registry = createRegistry({
      services: {
        api: dnsSrv('_http._tcp.api.example', { servers }),
      },
    });
    await registry.ready();
    expect(registry.endpoints('api')).toHaveLength(targets);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(32);
    registry.close();
  });

  it('looks up only the targets maxEndpoints can keep: lowest priority tier first, answer order within it', async () => {
    // 400 targets: 200 backups (priority 20) listed first, then 200 primaries (priority 10). Targets 2k and
    // 2k+1 share a port and an address, so each tier holds 100 distinct URLs.
    const targets = 400;
    const priorityOf = (i: number): number => (i < 200 ? 20 : 10);
    const asked: string[] = [];
    const servers = await dnsServer((question, reply) => {
      if (question.type === 'SRV') {
        reply(
          Array.from({ length: targets }, (_, i) => ({
            type: 'SRV' as const,
            name: question.name,
            ttl: 60,
            data: {
              priority: priorityOf(i),
              weight: 1,
              port: 8000 + Math.floor(i / 2),
              target: `t${i}.example`,
            },
          })),
        );
        return;
      }
      asked.push(question.name);
      // The backups' zone is broken: a lookup of one fails (SERVFAIL, rcode 2) the whole answer.
      const i = Number(question.name.slice(1, question.name.indexOf('.')));
      if (priorityOf(i) === 20) reply([], 2);
      else reply([{ type: 'A', name: question.name, ttl: 60, data: '10.0.0.1' }]);
    });
    const warned: unknown[] = [];
    const logger: Logger = { debug() {}, info() {}, warn: (obj) => void warned.push(obj), error() {} };
    const { dnsSrv } = await import('@integ/discovery/dns');
    const registry = createRegistry({
      services: {
        api: dnsSrv('_http._tcp.api.example', { servers, family: 4 }),
      },
      maxEndpoints: 50,
      logger,
    });
    await registry.ready();
    // The registry's rule (decision 0059): the first 50 distinct URLs of the lowest tier, in answer order.
    expect(registry.endpoints('api').map((e) => [e.url, e.priority, e.hostname])).toEqual(
      Array.from({ length: 50 }, (_, k) => [`http://10.0.0.1:${8100 + k}`, 10, `t${200 + 2 * k}.example`]),
    );
    // 51 distinct URLs (the 51st shows the cut) take targets t200..t300; at most 15 more were in flight.
    expect(asked.length).toBeGreaterThanOrEqual(101);
    expect(asked.length).toBeLessThanOrEqual(101 + 15);
    expect(asked.filter((name) => priorityOf(Number(name.slice(1, name.indexOf('.')))) === 20)).toEqual([]);
    expect(warned).toEqual([expect.objectContaining({ service: 'api', kept: 50 })]);
    registry.close();
  });

  it('gives a target cut by maxEndpoints its whole SRV weight over the addresses kept (RFC 2782 weights are per target)', async () => {
    // b (weight 50, one address) is listed first, then a (weight 50, four addresses); maxEndpoints 3 keeps b
    // and two of a's addresses, which must carry a's 50 between them (25 each), not 2 x 12.5.
    const servers = await dnsServer((question, reply) => {
      if (question.type === 'SRV') {
        reply(
          [
            { weight: 50, target: 'b.example' },
            { weight: 50, target: 'a.example' },
          ].map((data) => ({
            type: 'SRV' as const,
            name: question.name,
            ttl: 60,
            data: { priority: 0, port: 80, ...data },
          })),
        );
        return;
      }
      const addresses =
        question.name === 'b.example' ? ['10.0.0.9'] : ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'];
      reply(addresses.map((data) => ({ type: 'A' as const, name: question.name, ttl: 60, data })));
    });
    const { dnsSrv } = await import('@integ/discovery/dns');
    const registry = createRegistry({
      services: { api: dnsSrv('_http._tcp.api.example', { servers, family: 4 }) },
      maxEndpoints: 3,
    });
    await registry.ready();
    expect(registry.endpoints('api').map((e) => [e.url, e.weight])).toEqual([
      ['http://10.0.0.9:80', 50],
      ['http://10.0.0.1:80', 25],
      ['http://10.0.0.2:80', 25],
    ]);
    registry.close();
  });

  it('keeps what the registry would keep from the whole answer, for random answers and limits', async () => {
    type Rec = { priority: number; port: number; target: string };
    const zone: { srv: Rec[]; addresses: Map<string, string[]> } = { srv: [], addresses: new Map() };
    const servers = await dnsServer((question, reply) => {
      const answers: Answer[] =
        question.type === 'SRV'
          ? zone.srv.map((r) => ({
              type: 'SRV' as const,
              name: question.name,
              ttl: 60,
              data: { priority: r.priority, weight: 1, port: r.port, target: r.target },
            }))
          : (zone.addresses.get(question.name) ?? []).map((data) => ({
              type: 'A' as const,
              name: question.name,
              ttl: 60,
              data,
            }));
      reply(answers);
    });
    const { dnsSrv } = await import('@integ/discovery/dns');
    const random = seededRandom(59);
    const int = (n: number): number => Math.floor(random() * n);
    for (let run = 0; run < 40; run++) {
      // Few ports, targets and addresses, so that URLs repeat across records; some targets have no address.
      const targets = Array.from({ length: 1 + int(12) }, (_, i) => `h${i}.example`);
      zone.addresses = new Map(
        targets.map((t) => [t, Array.from({ length: int(3) }, () => `10.0.0.${1 + int(4)}`)]),
      );
      zone.srv = Array.from({ length: 1 + int(40) }, () => ({
        priority: int(3) * 10,
        port: 8000 + int(4),
        target: targets[int(targets.length)] as string,
      }));
      let maxEndpoints = 1 + int(12);
      if (run === 0) {
        // The first 16 lookups (all at once) find one URL, maxEndpoints of them: the source must look further,
        // or the registry would see no cut and log none.
        zone.addresses = new Map([
          ['h0.example', ['10.0.0.1']],
          ['h1.example', ['10.0.0.2']],
        ]);
        zone.srv = Array.from({ length: 20 }, (_, i) =>
          i < 16
            ? { priority: 0, port: 8000, target: 'h0.example' }
            : { priority: 0, port: 8000 + i, target: 'h1.example' },
        );
        maxEndpoints = 1;
      }
      // The rules applied to the whole answer: every target's addresses in answer order, each URL once, at the
      // first record of its best tier and in that record's place (decision 0157); past maxEndpoints, stably
      // sorted by priority; the first maxEndpoints (the registry's, decision 0059).
      const all = zone.srv.flatMap((r) =>
        [...new Set(zone.addresses.get(r.target))].map((a) => [
          `http://${a}:${r.port}`,
          r.priority,
          r.target,
        ]),
      );
      const best = new Map<unknown, (string | number)[]>();
      for (const e of all) {
        const seen = best.get(e[0]);
        if (seen === undefined || Number(e[1]) < Number(seen[1])) {
          best.delete(e[0]);
          best.set(e[0], e);
        }
      }
      const merged = [...best.values()];
      const ordered =
        merged.length > maxEndpoints ? [...merged].sort((a, b) => Number(a[1]) - Number(b[1])) : merged;
      const expected = ordered.slice(0, maxEndpoints);
      const warned: unknown[] = [];
      const registry = createRegistry({
        services: {
          api: dnsSrv('_http._tcp.api.example', { servers, family: 4 }),
        },
        maxEndpoints,
        logger: { debug() {}, info() {}, warn: (obj) => void warned.push(obj), error() {} },
      });
      if (expected.length === 0) await expect(registry.ready()).rejects.toThrow(/no usable targets/);
      else {
        await registry.ready();
        expect(
          registry.endpoints('api').map((e) => [e.url, e.priority, e.hostname]),
          `run ${run}: ${JSON.stringify({ maxEndpoints, zone: zone.srv })}`,
        ).toEqual(expected);
        // One warn exactly when the whole answer holds more distinct URLs than maxEndpoints.
        expect(warned, `run ${run}`).toEqual(
          new Set(all.map((e) => e[0])).size > maxEndpoints
            ? [expect.objectContaining({ kept: expected.length, invalid: 0 })]
            : [],
        );
      }
      registry.close();
    }
  });

  it('with resolveTargets: false, counts only the target names that make valid URLs (it looks nothing up)', async () => {
    const servers = await dnsServer((question, reply) => {
      // 20 names that are no URL host ('bad name0.example'), then 3 good ones.
      const answers = Array.from({ length: 23 }, (_, i) => ({
        type: 'SRV' as const,
        name: question.name,
        ttl: 60,
        data: {
          priority: 0,
          weight: 1,
          port: 80,
          target: i < 20 ? `bad name${i}.example` : `ok${i}.example`,
        },
      }));
      reply(answers);
    });
    const { dnsSrv } = await import('@integ/discovery/dns');
    const registry = createRegistry({
      services: {
        api: dnsSrv('_http._tcp.api.example', {
          servers,
          resolveTargets: false,
        }),
      },
      maxEndpoints: 3,
    });
    await registry.ready();
    expect(registry.endpoints('api').map((e) => e.url)).toEqual([
      'http://ok20.example:80',
      'http://ok21.example:80',
      'http://ok22.example:80',
    ]);
    registry.close();
  });

  it('skips an SRV target that is no host name (userinfo, a path, another port), with or without resolveTargets', async () => {
    const asked: string[] = [];
    // dns-packet passes any byte through a label, as a hostile or broken server can.
    const targets = ['user@evil.example/x', 'evil.example:1/x', 'ok.example', 'a b.example', 'evil.example#'];
    const servers = await dnsServer((question, reply) => {
      asked.push(`${question.type} ${question.name}`);
      const answers =
        question.type === 'SRV'
          ? targets.map((target) => ({
              type: 'SRV' as const,
              name: question.name,
              ttl: 60,
              data: { priority: 0, weight: 1, port: 80, target },
            }))
          : question.type === 'A'
            ? [{ type: 'A' as const, name: question.name, ttl: 60, data: '127.0.0.9' }]
            : [];
      reply(answers);
    });
    const { dnsSrv } = await import('@integ/discovery/dns');
    for (const resolveTargets of [false, true]) {
      asked.length = 0;
      const registry = createRegistry({
        services: {
          api: dnsSrv('_http._tcp.api.example', {
            servers,
            resolveTargets,
            family: 4,
          }),
        },
      });
      await registry.ready();
      const endpoints = registry.endpoints('api');
      expect(endpoints.map((e) => [e.url, e.hostname])).toEqual([
        [resolveTargets ? 'http://127.0.0.9:80' : 'http://ok.example:80', 'ok.example'],
      ]);
      // Only the good target is looked up.
      expect(asked.filter((q) => !q.startsWith('SRV'))).toEqual(resolveTargets ? ['A ok.example'] : []);
      registry.close();
    }
  });
});

describe('the DNS client, given answers it did not ask for (RFC 5452 §9.1)', () => {
  it('takes only an answer from the server asked, to the question asked, and over TCP only a response', async () => {
    const dgram = await import('node:dgram');
    const net = await import('node:net');
    const packet = (await import('dns-packet')).default;
    const a = (name: string, data: string): Answer => ({ type: 'A', name, ttl: 60, data });
    const encode = (id: number | undefined, type: 'A' | 'AAAA', name: string, answers: Answer[], more = {}) =>
      packet.encode({ type: 'response', id, flags: 0, questions: [{ type, name }], answers, ...more });
    const spoofer = dgram.createSocket('udp4');
    await new Promise<void>((r) => spoofer.bind(0, '127.0.0.1', () => r()));
    const onQuery = (
      server: import('node:dgram').Socket,
      message: Buffer,
      peer: { port: number; address: string },
    ) => {
      const query = packet.decode(message);
      const name = query.questions?.[0]?.name ?? '';
      const send = (out: Uint8Array, from = server): void => void from.send(out, peer.port, peer.address);
      if (query.questions?.[0]?.type === 'AAAA') return send(encode(query.id, 'AAAA', name, []));
      // tcp.example: truncated (TC), so the client asks again over TCP.
      if (name === 'tcp.example') return send(encode(query.id, 'A', name, [], { flags: 1 << 9 }));
      // Each with the right id, in this order: a forged answer from another port, the server's answers to
      // another type and to another name, then the real answer, its name in another case (0x20 encoding).
      send(encode(query.id, 'A', name, [a(name, '6.6.6.6')]), spoofer);
      send(encode(query.id, 'AAAA', name, [a(name, '6.6.6.9')]));
      send(encode(query.id, 'A', 'other.example', [a('other.example', '6.6.6.7')]));
      send(encode(query.id, 'A', name.toUpperCase(), [a(name, '10.0.0.1')]));
    };
    // The same port over TCP: an answer with its QR bit clear (a query, not a response).
    const onConnection = (conn: import('node:net').Socket) => {
      conn.on('error', () => {});
      conn.once('data', (chunk: Buffer) => {
        const query = packet.decode(chunk.subarray(2));
        const out = encode(query.id, 'A', 'tcp.example', [a('tcp.example', '6.6.6.8')], { type: 'query' });
        const length = Buffer.alloc(2);
        length.writeUInt16BE(out.length);
        conn.end(Buffer.concat([length, out]));
      });
    };
    // UDP on a free port, then TCP on the same one: another process can hold that TCP port (the other packages'
    // tests run at the same time), so on EADDRINUSE both are opened again on another port (as listenOnOnePort does).
    let server: import('node:dgram').Socket;
    let tcp: import('node:net').Server;
    let port: number;
    for (let attempt = 1; ; attempt++) {
      const udp = dgram.createSocket('udp4');
      udp.on('message', (message, peer) => onQuery(udp, message, peer));
      await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
      const udpPort = (udp.address() as { port: number }).port;
      const stream = net.createServer(onConnection);
      const error = await new Promise<Error | undefined>((resolve) => {
        stream.once('error', resolve);
        stream.listen(udpPort, '127.0.0.1', () => resolve(undefined));
      });
      if (error === undefined) {
        [server, tcp, port] = [udp, stream, udpPort];
        break;
      }
      udp.close();
      if ((error as { code?: unknown }).code !== 'EADDRINUSE' || attempt >= 20) throw error;
    }
    const { dnsA } = await import('@integ/discovery/dns');
    const registry = createRegistry({
      services: {
        web: dnsA('web.example', { servers: `127.0.0.1:${port}`, port: 80 }),
        viaTcp: dnsA('tcp.example', { servers: `127.0.0.1:${port}`, port: 80, timeout: 500, attempts: 1 }),
      },
    });
    try {
      await expect(registry.ready()).rejects.toThrow(/tcp\.example/);
      await waitFor(() =>
        expect(registry.endpoints('web').map((e) => e.url)).toEqual(['http://10.0.0.1:80']),
      );
      expect(registry.endpoints('viaTcp')).toEqual([]);
    } finally {
      registry.close();
      spoofer.close();
      server.close();
      await new Promise<void>((r) => tcp.close(() => r()));
    }
  });
});

describe('the DNS client asking an IPv6 server (RFC 5452 §9.1)', () => {
  it('takes no answer from another address on the server’s port ([::1] asked, 127.0.0.1 forges)', async () => {
    const dgram = await import('node:dgram');
    const packet = (await import('dns-packet')).default;
    const encode = (id: number | undefined, name: string, data: string) =>
      packet.encode({
        type: 'response',
        id,
        flags: 0,
        questions: [{ type: 'A', name }],
        answers: [{ type: 'A', name, ttl: 60, data }],
      });
    // Same port, another address: the client's udp6 socket is dual-stack, so the spoofer reaches it as
    // ::ffff:127.0.0.1, with the server's port and the query's id. Another process can hold that port on
    // 127.0.0.1: then both are opened again on another port, up to 20 times.
    const bind = (socket: import('node:dgram').Socket, port: number, address: string) =>
      new Promise<Error | undefined>((resolve) => {
        socket.once('error', resolve);
        socket.bind(port, address, () => resolve(undefined));
      });
    let server: import('node:dgram').Socket;
    let spoofer: import('node:dgram').Socket;
    let port: number;
    for (let attempt = 1; ; attempt++) {
      const udp6 = dgram.createSocket('udp6');
      const bound = await bind(udp6, 0, '::1');
      if (bound !== undefined) throw bound;
      const udp6Port = (udp6.address() as { port: number }).port;
      const udp4 = dgram.createSocket('udp4');
      const error = await bind(udp4, udp6Port, '127.0.0.1');
      if (error === undefined) {
        [server, spoofer, port] = [udp6, udp4, udp6Port];
        break;
      }
      udp6.close();
      if ((error as { code?: unknown }).code !== 'EADDRINUSE' || attempt >= 20) throw error;
    }
    server.on('message', (message, peer) => {
      const query = packet.decode(message);
      const name = query.questions?.[0]?.name ?? '';
      if (query.questions?.[0]?.type !== 'A')
        return void server.send(
          packet.encode({ type: 'response', id: query.id, questions: query.questions }),
          peer.port,
          peer.address,
        );
      spoofer.send(encode(query.id, name, '6.6.6.6'), peer.port, '127.0.0.1', () =>
        server.send(encode(query.id, name, '10.0.0.1'), peer.port, peer.address),
      );
    });
    const { dnsA } = await import('@integ/discovery/dns');
    const registry = createRegistry({
      services: { web: dnsA('web.example', { servers: `[::1]:${port}`, port: 80, family: 4 }) },
    });
    try {
      await registry.ready();
      expect(registry.endpoints('web').map((e) => e.url)).toEqual(['http://10.0.0.1:80']);
    } finally {
      registry.close();
      spoofer.close();
      server.close();
    }
  });
});

describe('the DNS client, given a UDP answer cut anywhere with TC set (RFC 2181 §9)', () => {
  // 40 SRV records are ~1.8 kB; over UDP the server sends the first 512 bytes with TC set, cut mid-record
  // (RFC 1035 §4.2.1 "truncated"): the client is to ignore that reply and ask again over TCP, so only its
  // header and question need to parse. Before, the cut reply failed to decode and was dropped: the lookup
  // timed out on every attempt and never tried TCP.
  it('asks again over TCP, and still takes the TC reply only for the question asked', async () => {
    const packet = (await import('dns-packet')).default;
    const { dnsSrv } = await import('@integ/discovery/dns');
    const transports: string[] = [];
    const server = await rawDnsServer((query, transport) => {
      transports.push(transport);
      const question = query.questions?.[0];
      if (question === undefined) return undefined;
      const answers: Answer[] = Array.from({ length: 40 }, (_, i) => ({
        type: 'SRV',
        name: question.name,
        ttl: 30,
        data: { priority: 1, weight: 1, port: 1000 + i, target: `host-${i}.big.example` },
      }));
      const echoed = question.name.startsWith('_other') ? { ...question, name: 'x.example' } : question;
      const full = packet.encode({ type: 'response', id: query.id, flags: 0, questions: [echoed], answers });
      if (transport === 'tcp') return full;
      const cut = Buffer.from(full.subarray(0, 512));
      cut[2] = (cut[2] as number) | 0x02; // TC
      return cut;
    });
    const registry = createRegistry({
      services: {
        big: dnsSrv('_big._tcp.example', { servers: [server], resolveTargets: false, attempts: 1 }),
      },
    });
    try {
      await registry.ready();
      expect(registry.endpoints('big')).toHaveLength(40);
      expect(registry.endpoints('big')[39]?.url).toBe('http://host-39.big.example:1039');
      expect(transports).toEqual(['udp', 'tcp']);
    } finally {
      registry.close();
    }
    // A cut TC reply that echoes another question is not taken (RFC 5452 §9.1): no TCP, a timeout.
    transports.length = 0;
    const other = createRegistry({
      services: {
        other: dnsSrv('_other._tcp.example', {
          servers: [server],
          resolveTargets: false,
          attempts: 1,
          timeout: 300,
        }),
      },
    });
    try {
      await expect(other.ready()).rejects.toThrow(/timed out/);
      expect(transports).toEqual(['udp']);
    } finally {
      other.close();
    }
  });
});
