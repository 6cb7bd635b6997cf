/**
 * Review round 38: what Stryker's surviving mutants of the network-facing code (internal/dns-client.ts,
 * internal/body.ts, internal/url.ts) changed without a test noticing. Each test was seen failing on the mutant it
 * names (applied by hand) and passing on the code as it is.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { type Clock, isIntegError, silentLogger, systemClock } from '@integ/core';
import { consul, createRegistry, type Source, staticSource } from '@integ/discovery';
import { dnsSrv } from '@integ/discovery/dns';
import { tcpCheck } from '@integ/discovery/health';
import { createFakeClock, settledValue, trackedAbortController } from '@integ/testing';
import packet, { type Answer, type DecodedPacket } from 'dns-packet';
import { afterEach, describe, expect, it, vi } from 'vitest';

const waitFor = <T>(check: () => T | Promise<T>): Promise<T> =>
  vi.waitFor(check, { timeout: 5000, interval: 5 });

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

const srv = (name: string, target = 'good.example'): Answer => ({
  type: 'SRV',
  name,
  ttl: 30,
  data: { priority: 0, weight: 1, port: 8080, target },
});

/** A UDP DNS server on 127.0.0.1: `reply` gets each query and returns the datagrams to send back. */
async function udpServer(reply: (query: DecodedPacket) => Uint8Array[]): Promise<{
  address: string;
  queries: DecodedPacket[];
}> {
  const queries: DecodedPacket[] = [];
  const socket = dgram.createSocket('udp4');
  socket.on('message', (message, peer) => {
    const query = packet.decode(message);
    queries.push(query);
    for (const out of reply(query)) socket.send(out, peer.port, peer.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  closers.push(() => socket.close());
  return { address: `127.0.0.1:${socket.address().port}`, queries };
}

const answer = (query: DecodedPacket, extra: Partial<DecodedPacket> = {}): Uint8Array =>
  packet.encode({
    type: 'response',
    id: query.id,
    flags: 0,
    questions: query.questions,
    answers: [srv(query.questions?.[0]?.name ?? '')],
    ...extra,
  } as never);

/** Opens `source` as the registry would, and resolves it once with `signal`. */
function resolveOnce(
  source: Source,
  signal: AbortSignal,
  {
    clock = systemClock as Clock,
    random = (): number => 0.25,
  }: { clock?: Clock; random?: () => number } = {},
): Promise<{ endpoints: readonly { url: string }[] }> {
  const resolver = (source.open as NonNullable<Source['open']>)({
    service: 'api',
    clock,
    random,
    logger: silentLogger,
    signal: new AbortController().signal,
  });
  return resolver.resolve(signal);
}

const NAME = '_http._tcp.api.example';
const noFailure = (): Error => new Error('no failure');

describe('the DNS client, given answers to other questions (RFC 5452 §9.1)', () => {
  it('ignores a datagram with another id, and one that echoes no question, and takes the answer', async () => {
    const server = await udpServer((query) => [
      answer(query, { id: ((query.id ?? 0) + 1) % 65_536, answers: [srv(NAME, 'spoofed.example')] }),
      answer(query, { questions: [], answers: [srv(NAME, 'no-question.example')] }),
      answer(query),
    ]);
    const { endpoints } = await resolveOnce(
      dnsSrv(NAME, { servers: server.address, resolveTargets: false, attempts: 1 }),
      new AbortController().signal,
    );
    expect(endpoints.map((e) => e.url)).toEqual(['http://good.example:8080']);
  });

  it('asks with an id drawn from random (0.5 -> 32768) and the question class IN', async () => {
    const server = await udpServer((query) => [answer(query)]);
    const source = dnsSrv(NAME, { servers: server.address, resolveTargets: false });
    await resolveOnce(source, new AbortController().signal, { random: () => 0.5 });
    await resolveOnce(source, new AbortController().signal, { random: () => 0.999 });
    expect(server.queries.map((q) => q.id)).toEqual([32_768, Math.floor(0.999 * 65_536)]);
    expect(server.queries.map((q) => q.questions?.[0]?.class)).toEqual(['IN', 'IN']);
  });
});

describe('the DNS client and its signal', () => {
  it('sends nothing for a signal aborted already, and rejects with its reason', async () => {
    const server = await udpServer((query) => [answer(query)]);
    const reason = new Error('stop');
    await expect(
      resolveOnce(
        dnsSrv(NAME, { servers: server.address, resolveTargets: false }),
        AbortSignal.abort(reason),
      ),
    ).rejects.toBe(reason);
    expect(server.queries).toEqual([]);
  });

  it('rejects a query in flight with the reason when the signal aborts, and leaves no timer or listener', async () => {
    const server = await udpServer(() => []); // never answers
    const clock = createFakeClock();
    const tracked = trackedAbortController();
    const done = resolveOnce(
      dnsSrv(NAME, { servers: server.address, resolveTargets: false, attempts: 1 }),
      tracked.signal,
      { clock },
    );
    done.catch(() => {});
    await waitFor(() => expect(server.queries).toHaveLength(1));
    const reason = new Error('closed');
    tracked.abort(reason);
    await expect(done).rejects.toBe(reason);
    expect(clock.pendingTimers).toBe(0);
    expect(tracked.listeners).toBe(0);
  });

  it('leaves no timer, listener or open UDP socket after an answer', async () => {
    const server = await udpServer((query) => [answer(query)]);
    const clock = createFakeClock();
    const tracked = trackedAbortController();
    const closed: boolean[] = [];
    const create = dgram.createSocket;
    const spy = vi.spyOn(dgram, 'createSocket').mockImplementation(((...args: Parameters<typeof create>) => {
      const socket = create(...args);
      const i = closed.push(false) - 1;
      socket.on('close', () => {
        closed[i] = true;
      });
      return socket;
    }) as typeof create);
    try {
      await resolveOnce(dnsSrv(NAME, { servers: server.address, resolveTargets: false }), tracked.signal, {
        clock,
      });
    } finally {
      spy.mockRestore();
    }
    expect(clock.pendingTimers).toBe(0);
    expect(tracked.listeners).toBe(0);
    await waitFor(() => expect(closed).toEqual([true]));
  });
});

describe('the DNS client, when the servers fail', () => {
  it("passes on the last server's time limit as it is", async () => {
    const a = await udpServer(() => []);
    const b = await udpServer(() => []);
    const clock = createFakeClock();
    const done = resolveOnce(
      dnsSrv(NAME, { servers: [a.address, b.address], resolveTargets: false, attempts: 1, timeout: 2000 }),
      new AbortController().signal,
      { clock },
    );
    done.catch(() => {});
    await waitFor(() => expect(clock.pendingTimers).toBe(1));
    await clock.advance(2000);
    await waitFor(() => expect(b.queries).toHaveLength(1));
    await waitFor(() => expect(clock.pendingTimers).toBe(1));
    await clock.advance(2000);
    const error = await done.then(noFailure, (e: unknown) => e as Error);
    expect(error.message).toBe(`dns: UDP query to ${b.address} timed out after 2000 ms`);
    expect(isIntegError(error, 'ERR_DISCOVERY_SOURCE')).toBe(true);
  });

  it("fails with the socket's error when it cannot connect (a broadcast address: EACCES)", async () => {
    const error = await resolveOnce(
      dnsSrv(NAME, { servers: '255.255.255.255', resolveTargets: false, attempts: 1 }),
      new AbortController().signal,
    ).then(noFailure, (e: unknown) => e as Error);
    expect(error.message).toBe(
      `dns: SRV ${NAME}: no answer from 255.255.255.255:53 (connect EACCES 255.255.255.255:53)`,
    );
  });

  it('passes on a SERVFAIL as it is, and names an rcode it has no name for (NOTIMP) too', async () => {
    let rcode = 2;
    const server = await udpServer((query) => [answer(query, { flags: rcode, answers: [] })]);
    const source = dnsSrv(NAME, { servers: server.address, resolveTargets: false, attempts: 1 });
    const servfail = await resolveOnce(source, new AbortController().signal).then(
      noFailure,
      (e: unknown) => e as Error,
    );
    expect(servfail.message).toBe(`dns: SRV ${NAME}: server ${server.address} answered SERVFAIL`);
    rcode = 4;
    const notimp = await resolveOnce(source, new AbortController().signal).then(
      noFailure,
      (e: unknown) => e as Error,
    );
    expect(notimp.message).toBe(`dns: SRV ${NAME}: server ${server.address} answered NOTIMP`);
  });
});

/**
 * A DNS server whose UDP answers are truncated (TC) and whose TCP side does what `tcp` says with the full answer
 * (framed with its length) and the connection.
 */
async function truncatingServer(
  tcp: (framed: Buffer, conn: net.Socket, query: DecodedPacket) => void,
): Promise<{ address: string; closed: () => number }> {
  let closed = 0;
  const server = net.createServer((conn) => {
    conn.on('error', () => {});
    conn.on('close', () => closed++);
    let buffer = Buffer.alloc(0);
    conn.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length < 2 || buffer.length < 2 + buffer.readUInt16BE(0)) return;
      const query = packet.decode(buffer.subarray(2, 2 + buffer.readUInt16BE(0)));
      const full = Buffer.from(answer(query));
      const length = Buffer.alloc(2);
      length.writeUInt16BE(full.length);
      tcp(Buffer.concat([length, full]), conn, query);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const udp = dgram.createSocket('udp4');
  udp.on('message', (message, peer) => {
    const query = packet.decode(message);
    udp.send(answer(query, { flags: packet.TRUNCATED_RESPONSE, answers: [] }), peer.port, peer.address);
  });
  await new Promise<void>((r) => udp.bind(port, '127.0.0.1', () => r()));
  closers.push(() => {
    udp.close();
    server.close();
  });
  return { address: `127.0.0.1:${port}`, closed: () => closed };
}

describe('the DNS client over TCP (a truncated UDP answer)', () => {
  const lookup = (address: string, clock: Clock = systemClock): Promise<Error> =>
    resolveOnce(
      dnsSrv(NAME, { servers: address, resolveTargets: false, attempts: 1 }),
      new AbortController().signal,
      { clock },
    ).then(
      (result) => Object.assign(new Error('answered'), result),
      (e: unknown) => e as Error,
    );

  it('reads an answer that comes one byte at a time, then closes the connection', async () => {
    const server = await truncatingServer((framed, conn) => {
      let i = 0;
      const next = (): void => {
        if (i < framed.length) conn.write(framed.subarray(i, ++i), () => setTimeout(next, 1));
      };
      next();
    });
    const result = (await lookup(server.address)) as unknown as { endpoints: { url: string }[] };
    expect(result.endpoints.map((e) => e.url)).toEqual(['http://good.example:8080']);
    // The server kept the connection open: the client closed it.
    await waitFor(() => expect(server.closed()).toBe(1));
  });

  it('fails at once, not at the time limit, on an empty or undecodable frame, a closed connection or another id', async () => {
    const clock = createFakeClock(); // never advanced: a lookup waiting for its time limit would not settle
    const empty = await truncatingServer((_, conn) => conn.write(Buffer.from([0, 0])));
    const garbage = await truncatingServer((_, conn) => conn.write(Buffer.from([0, 3, 1, 2, 3])));
    const closed = await truncatingServer((_, conn) => conn.end());
    const other = await truncatingServer((framed, conn) => {
      framed.writeUInt16BE((framed.readUInt16BE(2) + 1) % 65_536, 2); // the id
      conn.write(framed);
    });
    for (const server of [empty, garbage, closed, other]) {
      const error = await lookup(server.address, clock);
      expect(error).toBeInstanceOf(Error);
      expect(error.message).not.toContain('timed out');
    }
    expect((await lookup(closed.address, clock)).message).toContain(
      '(TCP connection closed before a full answer)',
    );
    expect((await lookup(other.address, clock)).message).toContain('(TCP answer to another question)');
  });

  it('says a TCP query that gets no answer timed out', async () => {
    const clock = createFakeClock();
    let asked = false;
    const server = await truncatingServer(() => {
      asked = true; // reads the query, never answers
    });
    const done = lookup(server.address, clock);
    await waitFor(() => expect(asked).toBe(true));
    expect(clock.pendingTimers).toBe(1); // the TCP query's: the UDP one's is cleared
    await clock.advance(2000);
    expect((await done).message).toBe(`dns: TCP query to ${server.address} timed out after 2000 ms`);
  });

  it('fails naming every server when nothing listens on TCP, the connection error as the cause', async () => {
    const truncated = (query: DecodedPacket) => [
      answer(query, { flags: packet.TRUNCATED_RESPONSE, answers: [] }),
    ];
    const a = await udpServer(truncated);
    const b = await udpServer(truncated);
    const error = await resolveOnce(
      dnsSrv(NAME, { servers: [a.address, b.address], resolveTargets: false, attempts: 1 }),
      new AbortController().signal,
    ).then(noFailure, (e: unknown) => e as Error);
    expect(error.message).toBe(
      `dns: SRV ${NAME}: no answer from ${a.address}, ${b.address} (connect ECONNREFUSED ${b.address})`,
    );
    expect(error.cause).toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('DNS server addresses (dnsSrv servers)', () => {
  it('takes an entry with spaces around it, and a bracketed IPv6 address without a port on port 53', () => {
    expect(dnsSrv(NAME, { servers: ' 127.0.0.1:5353 ' }).description).toBe(`SRV ${NAME} via 127.0.0.1:5353`);
    expect(dnsSrv(NAME, { servers: '[::1]' }).description).toBe(`SRV ${NAME} via [::1]:53`);
  });

  it('takes the shapes dns.getServers() gives: IPv4, IPv6 with or without a port or zone, a host name', () => {
    for (const [entry, via] of [
      ['8.8.8.8', '8.8.8.8:53'],
      ['2001:db8::1', '[2001:db8::1]:53'],
      ['[2001:db8::1]:5353', '[2001:db8::1]:5353'],
      ['fe80::1%eth0', '[fe80::1%eth0]:53'],
      ['::ffff:10.0.0.2', '[::ffff:10.0.0.2]:53'],
      ['dns.internal:5353', 'dns.internal:5353'],
    ] as const)
      expect(dnsSrv(NAME, { servers: entry }).description).toBe(`SRV ${NAME} via ${via}`);
  });

  it.each([
    '',
    '  ',
    ':53',
    '127.0.0.1:1e3',
    '127.0.0.1:0x35',
    // Malformed shapes that were taken whole as a host name (every lookup then failed, nothing was refused).
    'x[::1]:53',
    '[::1]:53x',
    '[dns.example]:53',
    'dns example:53',
    '10.0.0.2/24',
    'user@10.0.0.2:53',
    '::g',
  ])('refuses %j with an InvalidArgumentError for servers', (entry) => {
    expect(() => dnsSrv(NAME, { servers: [entry] })).toThrow(
      /^Invalid servers: expected entries like '10\.0\.0\.2' or '127\.0\.0\.1:5353'/,
    );
  });
});

describe('reading a Consul answer (internal/body.ts)', () => {
  const stream = (...chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> =>
    new ReadableStream({
      start(controller) {
        for (const chunk of chunks)
          controller.enqueue(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk);
        controller.close();
      },
    });
  // The snapshot, or the error it failed with.
  const lookup = (
    respond: () => Response | Promise<Response>,
    options: { maxResponseBytes?: number } = {},
  ): Promise<Error & { endpoints?: unknown }> =>
    resolveOnce(
      consul('api', { fetch: async () => respond(), ...options }),
      new AbortController().signal,
    ).catch((e: unknown) => e as Error) as Promise<Error & { endpoints?: unknown }>;
  const entry = (meta: Record<string, string> = {}): string =>
    JSON.stringify({ Node: { Node: 'n', Address: '10.0.0.1' }, Service: { Port: 80, Meta: meta } });

  it('reads an answer of exactly maxResponseBytes, declared or not', async () => {
    const body = `[${entry()}]`.padEnd(1024, ' ');
    const declared = await lookup(
      () =>
        new Response(stream(body.slice(0, 500), body.slice(500)), { headers: { 'content-length': '1024' } }),
      { maxResponseBytes: 1024 },
    );
    expect(declared).toMatchObject({ endpoints: [{ url: 'http://10.0.0.1:80' }] });
    const undeclared = await lookup(() => new Response(stream(body.slice(0, 500), body.slice(500))), {
      maxResponseBytes: 1024,
    });
    expect(undeclared).toMatchObject({ endpoints: [{ url: 'http://10.0.0.1:80' }] });
  });

  it('decodes a character split across two chunks', async () => {
    const bytes = new TextEncoder().encode(`[${entry({ zone: 'é' })}]`);
    const at = bytes.indexOf(0xc3) + 1; // between the two bytes of é
    const result = await lookup(() => new Response(stream(bytes.slice(0, at), bytes.slice(at))));
    expect(result).toMatchObject({ endpoints: [{ meta: { zone: 'é' } }] });
  });

  it('says an answer with no body or malformed JSON is not valid JSON', async () => {
    for (const body of [null, '[{"Service":']) {
      const error = await lookup(() => new Response(body));
      expect(error.message).toBe('consul: api: health API: the answer is not valid JSON');
    }
  });

  it("gives a failed fetch's message when no token is set", async () => {
    const error = await lookup(() => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:8500')));
    expect(error.message).toBe('consul: api: connect ECONNREFUSED 127.0.0.1:8500');
  });

  it.each([1023, 1024.5, '2048', Number.NaN])('refuses maxResponseBytes %j', (value) => {
    expect(() => consul('api', { maxResponseBytes: value as number })).toThrow(
      /^Invalid consul maxResponseBytes: expected an integer number of bytes >= 1024/,
    );
  });

  it('takes maxResponseBytes 1024', () => {
    expect(() => consul('api', { maxResponseBytes: 1024 })).not.toThrow();
  });

  it.each([123, 'ab\ncd', 'é'])('refuses the token %j', (token) => {
    expect(() => consul('api', { token: token as string })).toThrow(
      /^Invalid consul token: expected a string of printable ASCII \(it is sent as a header\)/,
    );
  });
});

describe('URLs (internal/url.ts)', () => {
  it.each([
    [5, 'expected a string, got number'],
    ['', 'it is empty'],
    ['   ', 'it is empty'],
    ['not a url', 'it does not parse as an absolute URL'],
    ['file:///etc/hosts', 'it has no host'],
  ])('refuses the static URL %j: %s', (url, reason) => {
    expect(() => staticSource([{ url: url as string }])).toThrow(
      `Invalid URL in staticSource[0].url: ${reason}. Expected an absolute URL such as http://host:8001`,
    );
  });

  it('trims a static URL', () => {
    expect(staticSource([' http://a.example:1 ']).endpoints).toEqual([{ url: 'http://a.example:1' }]);
  });

  it.each(['http://user@consul:8500', 'http://:secret@consul:8500', 'http://consul:8500#token'])(
    'refuses the Consul address %j (credentials, a fragment)',
    (address) => {
      expect(() => consul('api', { address })).toThrow(/^Invalid URL in consul address: it has credentials/);
    },
  );

  it('drops trailing slashes of the Consul address, and only those', async () => {
    const urls: string[] = [];
    await resolveOnce(
      consul('api', {
        address: 'http://127.0.0.1:8500//',
        fetch: async (url) => {
          urls.push(String(url));
          return new Response('[]');
        },
      }),
      new AbortController().signal,
    );
    expect(urls).toEqual(['http://127.0.0.1:8500/v1/health/service/api?passing']);
  });

  it('inspect() masks credentials, a query and a fragment, each alone', () => {
    const registry = createRegistry({
      services: {
        api: {
          urls: [
            'http://user@a.example:1/',
            'http://:secret@b.example:2/',
            'http://c.example:3/x?token=t',
            'http://d.example:4/#frag',
            'http://e.example:5/',
          ],
        },
      },
    });
    closers.push(() => registry.close());
    expect(registry.inspect('api').endpoints.map((e) => e.url)).toEqual([
      'http://***@a.example:1/',
      'http://***@b.example:2/',
      'http://c.example:3/x?***',
      'http://d.example:4/',
      'http://e.example:5/',
    ]);
  });

  it("masks a URL at the start of a failure's message, a password with a space and a quote in it too", async () => {
    const fail = (message: string) =>
      resolveOnce(
        consul('api', { fetch: () => Promise.reject(new Error(message)) }),
        new AbortController().signal,
      ).catch((e: unknown) => (e as Error).message);
    expect(await fail('http://u:p w"x@h.example:1/x?token=abc failed')).toBe(
      'consul: api: http://***@h.example:1/x?*** failed',
    );
    expect(await fail('http://h.example:1/x?token=abc failed')).toBe(
      'consul: api: http://h.example:1/x?*** failed',
    );
    expect(await fail('connect http://[oops failed')).toBe('consul: api: connect (invalid URL) failed');
  });

  it('tcpCheck connects to a bracketed IPv6 endpoint', async () => {
    const server = net.createServer((conn) => conn.destroy());
    await new Promise<void>((r) => server.listen(0, '::1', () => r()));
    closers.push(() => server.close());
    const { port } = server.address() as net.AddressInfo;
    const healthy = await tcpCheck()(
      { url: `tcp://[::1]:${port}`, service: 'db', weight: 1, priority: 0 },
      { signal: new AbortController().signal },
    );
    expect(healthy).toBe(true);
  });
});

describe('consul(), given entries of the wrong shape (the answer is untrusted)', () => {
  const lookup =
    (body: unknown, logger = silentLogger) =>
    (source: Source = consul('api', { fetch: async () => new Response(JSON.stringify(body)) })) =>
      (source.open as NonNullable<Source['open']>)({
        service: 'api',
        clock: systemClock,
        random: () => 0.5,
        logger,
        signal: new AbortController().signal,
      })
        .resolve(new AbortController().signal)
        .catch((e: unknown) => e as Error) as Promise<Error & { endpoints?: unknown }>;
  const node = { Node: 'n', Address: '10.0.0.1' };

  it('keeps only string meta, string ids and all-string tags, from objects only', async () => {
    const result = await lookup([
      { Node: node, Service: { Port: 1, Meta: 'abc', ID: 5, Tags: ['a', 5] } },
      { Node: { Node: 7, Address: '10.0.0.2' }, Service: { Port: 65_535, Meta: ['x'], Tags: ['a', 'b'] } },
      { Service: { Address: '10.0.0.3', Port: 80, Meta: { k: 'v' } } },
    ])();
    expect(result.endpoints).toEqual([
      { url: 'http://10.0.0.1:1', weight: 1, meta: { 'consul.node': 'n' } },
      { url: 'http://10.0.0.2:65535', weight: 1, meta: { 'consul.tags': 'a,b' } },
      { url: 'http://10.0.0.3:80', weight: 1, meta: { k: 'v' } },
    ]);
  });

  it("takes the node's address for a service address of null", async () => {
    const result = await lookup([{ Node: node, Service: { Address: null, Port: 80 } }])();
    expect(result.endpoints).toMatchObject([{ url: 'http://10.0.0.1:80' }]);
  });

  it('takes Weights.Passing when it is a finite number >= 0, 0 included, else 1', async () => {
    const weights = [0, 2.5, -1, 'x', null, Number.POSITIVE_INFINITY];
    const result = await lookup(
      weights.map((w, i) => ({ Node: node, Service: { Port: 80 + i, Weights: { Passing: w } } })),
    )();
    // JSON turns Infinity into null.
    expect((result.endpoints as { weight: number }[]).map((e) => e.weight)).toEqual([0, 2.5, 1, 1, 1, 1]);
  });

  it('fails an answer that is no array, or whose entries are all unusable, and warns of skipped entries', async () => {
    expect((await lookup({ Service: {} })()).message).toBe(
      'consul: api: expected a JSON array from the health API',
    );
    expect((await lookup([{ Node: node, Service: { Port: 0 } }])()).message).toBe(
      'consul: api: no entry has a valid address and port',
    );
    const warned: unknown[] = [];
    const logger = { ...silentLogger, warn: (obj: unknown) => void warned.push(obj) };
    await lookup(
      [
        { Node: node, Service: { Port: 80 } },
        { Node: node, Service: { Port: -1 } },
      ],
      logger,
    )();
    expect(warned).toEqual([{ service: 'api', source: 'consul', skipped: 1 }]);
  });
});

describe('consul() options and requests', () => {
  it.each([undefined, null, 5, {}, { service: 5 }, { service: '' }])(
    'refuses %j without a service name',
    (options) => {
      expect(() => consul(options as never)).toThrow(
        /^Invalid consul service: expected a Consul service name/,
      );
    },
  );

  it('takes wait from 1000 to 600000 ms', () => {
    expect(() => consul('api', { wait: 1000 })).not.toThrow();
    expect(() => consul('api', { wait: 600_000 })).not.toThrow();
    for (const wait of [999, 600_001])
      expect(() => consul('api', { wait })).toThrow(/^Invalid consul wait: expected ms in \[1000, 600000\]/);
  });

  it('is of kind consul and describes its service, tag and passing filter', () => {
    expect(consul('api').kind).toBe('consul');
    expect(consul('api').description).toBe('consul api (passing) at 127.0.0.1:8500');
    expect(consul('api', { tag: 'v2', passing: false, address: 'http://c:1' }).description).toBe(
      'consul api tag v2 at c:1',
    );
  });

  it('sends no token header without a token, and the query without passing when passing is false', async () => {
    const requests: [string, Record<string, string>][] = [];
    const fetch = async (url: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      requests.push([String(url), init?.headers as Record<string, string>]);
      return new Response('[]');
    };
    await resolveOnce(consul('api', { fetch }), new AbortController().signal);
    await resolveOnce(consul('api', { fetch, passing: false, tag: 'v2' }), new AbortController().signal);
    expect(requests.map(([url, headers]) => [url, Object.entries(headers)])).toEqual([
      ['http://127.0.0.1:8500/v1/health/service/api?passing', [['accept', 'application/json']]],
      ['http://127.0.0.1:8500/v1/health/service/api?tag=v2', [['accept', 'application/json']]],
    ]);
  });

  it('gives a blocking query wait + wait/16 + 5 s before giving up, a first query 10 s', async () => {
    const clock = createFakeClock();
    const starts: number[] = [];
    const resolver = (
      consul('api', {
        wait: 60_000,
        fetch: (_, init) => {
          starts.push(clock.now());
          if (starts.length === 1)
            return Promise.resolve(new Response('[]', { headers: { 'x-consul-index': '5' } }));
          // Gives up on its own when aborted, with an error of its own (a fetch wrapper's)
          return new Promise((_, reject) =>
            init?.signal?.addEventListener('abort', () => reject(new Error('wrapper: aborted'))),
          );
        },
      }).open as NonNullable<Source['open']>
    )({
      service: 'api',
      clock,
      random: () => 0.5,
      logger: silentLogger,
      signal: new AbortController().signal,
    });
    await resolver.resolve(new AbortController().signal);
    const blocking = resolver
      .resolve(new AbortController().signal)
      .then(noFailure, (e: unknown) => e as Error);
    await waitFor(() => expect(starts).toHaveLength(2));
    await clock.advance(68_749);
    expect(await settledValue(blocking)).toBe('pending');
    await clock.advance(1);
    expect((await blocking).message).toBe('consul: no answer within 68750 ms');
  });
});
