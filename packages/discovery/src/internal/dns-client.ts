/**
 * A minimal DNS stub client over UDP with TCP fallback on truncation (RFC 1035 4.2, RFC 7766), using
 * dns-packet for the wire format. It exists because node's resolver APIs do not return TTLs for SRV.
 * Node modules and dns-packet are loaded on first use so the main entry has no static `node:` import.
 */
import type { Clock } from '@integ/core';
import type { DecodedPacket, Packet } from 'dns-packet';
import { DiscoverySourceError } from '../errors.js';
import { nodeImport } from './node-import.js';
import { HOST } from './url.js';

type DnsPacket = typeof import('dns-packet');
type Dgram = typeof import('node:dgram');
type Net = typeof import('node:net');

interface Modules {
  readonly packet: DnsPacket;
  readonly dgram: Dgram;
  readonly net: Net;
}

let modules: Promise<Modules> | undefined;

function interop<T>(mod: unknown): T {
  return ((mod as { default?: unknown }).default ?? mod) as T;
}

/** Loads dns-packet, node:dgram and node:net once. */
export function loadModules(): Promise<Modules> {
  modules ??= Promise.all([
    import('dns-packet'),
    nodeImport<Dgram>('node:dgram'),
    nodeImport<Net>('node:net'),
  ]).then(([p, dgram, net]) => ({ packet: interop<DnsPacket>(p), dgram, net }));
  return modules;
}

/** A DNS server address. */
export interface DnsServer {
  readonly host: string;
  readonly port: number;
}

// A port outside 1-65535 made the socket's connect() throw after the socket was opened, where nothing closed
// it: every query left an open UDP socket behind (after close() too), and the process never exited.
const withPort = (host: string, port: number): DnsServer | undefined =>
  port >= 1 && port <= 65_535 ? { host, port } : undefined;

// A host as url.ts's HOST takes it (a name, IPv4 or IPv6 address); an IPv6 one may carry a zone (fe80::1%eth0), as
// dns.getServers() can give it. A malformed entry ('x[::1]:53', '[::1]:53x') was taken whole as a host name: every
// lookup failed instead of the source being refused when it was made.
const isHost = (host: string): boolean =>
  HOST.test(host.includes(':') ? host.replace(/%[\w.-]+$/, '') : host);

/**
 * Parses `1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]:5353`; undefined for anything else.
 */
export function parseServer(value: string): DnsServer | undefined {
  const v = value.trim();
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  // Brackets hold an IPv6 address only.
  if (bracket)
    return bracket[1]!.includes(':') && isHost(bracket[1]!)
      ? withPort(bracket[1]!, bracket[2] ? Number(bracket[2]) : 53)
      : undefined;
  const colons = v.split(':').length - 1;
  if (colons === 1) {
    const [host, port] = v.split(':') as [string, string];
    if (!/^\d+$/.test(port) || !isHost(host)) return undefined;
    return withPort(host, Number(port));
  }
  return isHost(v) ? { host: v, port: 53 } : undefined;
}

/** Options of {@link query}. */
export interface QueryOptions {
  readonly servers: readonly DnsServer[];
  /** Per-attempt timeout in ms. */
  readonly timeout: number;
  /** Rounds over the server list. */
  readonly attempts: number;
  readonly clock: Clock;
  readonly signal: AbortSignal;
  readonly random: () => number;
}

/** The response code dns-packet decodes (missing from its types; always set: `RCODE_<n>` when it has no name). */
export function rcodeOf(response: DecodedPacket): string {
  return (response as { rcode?: string }).rcode as string;
}

/**
 * Sends one question and returns the decoded response, trying each server in turn; a truncated UDP
 * answer is retried over TCP on the same server.
 *
 * @throws DiscoverySourceError when every attempt fails
 */
export async function query(
  name: string,
  type: 'SRV' | 'A' | 'AAAA',
  options: QueryOptions,
): Promise<DecodedPacket> {
  const mods = await loadModules();
  let lastError: unknown;
  for (let round = 0; round < options.attempts; round++) {
    for (const server of options.servers) {
      if (options.signal.aborted) throw options.signal.reason;
      const id = Math.floor(options.random() * 65536);
      const request: Packet = {
        type: 'query',
        id,
        flags: mods.packet.RECURSION_DESIRED,
        questions: [{ type, name, class: 'IN' }],
      };
      try {
        let response = await udpQuery(mods, server, request, options);
        if ((response.flags ?? 0) & mods.packet.TRUNCATED_RESPONSE)
          response = await tcpQuery(mods, server, request, options);
        const rcode = rcodeOf(response);
        if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN')
          throw new DiscoverySourceError(
            'dns',
            `${type} ${name}: server ${server.host}:${server.port} answered ${rcode}`,
          );
        // RFC 2181 §8: a TTL with the most significant bit set is read as if it were 0 (dns-packet reads the 32
        // bits unsigned, and 2^32 - 1 s was then trusted for maxInterval). The additional section's too: dnsSrv
        // takes a target's addresses, and their TTL, from there.
        for (const answer of [...(response.answers ?? []), ...(response.additionals ?? [])] as {
          ttl?: number;
        }[])
          if ((answer.ttl! | 0) < 0) answer.ttl = 0;
        return response;
      } catch (error) {
        if (options.signal.aborted) throw options.signal.reason;
        lastError = error;
      }
    }
  }
  if (lastError instanceof DiscoverySourceError) throw lastError;
  throw new DiscoverySourceError(
    'dns',
    `${type} ${name}: no answer from ${options.servers.map((s) => `${s.host}:${s.port}`).join(', ')} (${lastError instanceof Error ? lastError.message : String(lastError)})`,
    { cause: lastError },
  );
}

function withTimeout<T>(
  options: QueryOptions,
  what: string,
  start: (resolve: (value: T) => void, reject: (error: unknown) => void) => () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let cleanup: () => void = () => {};
    let done = false;
    const finish = (): void => {
      done = true;
      options.clock.clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      cleanup();
    };
    const onAbort = (): void => {
      if (done) return;
      finish();
      reject(options.signal.reason);
    };
    const timer = options.clock.setTimeout(() => {
      if (done) return;
      finish();
      reject(new DiscoverySourceError('dns', `${what} timed out after ${options.timeout} ms`));
    }, options.timeout);
    options.signal.addEventListener('abort', onAbort, { once: true });
    cleanup = start(
      (value) => {
        if (done) return;
        finish();
        resolve(value);
      },
      (error) => {
        if (done) return;
        finish();
        reject(error);
      },
    );
  });
}

/**
 * Whether `decoded` answers `request` (RFC 5452 §9.1): a response with its id and its question, the name
 * compared without case (a server may echo it in another case).
 */
function answers(decoded: DecodedPacket, request: Packet): boolean {
  const asked = request.questions?.[0];
  const echoed = decoded.questions?.[0];
  return (
    decoded.id === request.id &&
    decoded.type === 'response' &&
    echoed?.type === asked?.type &&
    echoed?.name.toLowerCase() === asked?.name.toLowerCase()
  );
}

function udpQuery(
  mods: Modules,
  server: DnsServer,
  request: Packet,
  options: QueryOptions,
): Promise<DecodedPacket> {
  return withTimeout(options, `UDP query to ${server.host}:${server.port}`, (resolve, reject) => {
    const socket = mods.dgram.createSocket(server.host.includes(':') ? 'udp6' : 'udp4');
    socket.on('message', (message) => {
      let decoded: DecodedPacket;
      try {
        // RFC 2181 §9: a reply with TC set is ignored and asked again over TCP, so a server may cut it
        // anywhere (RFC 1035 §4.2.1, at 512 bytes mid-record): of such a reply only the header and the
        // question are read (the other sections' counts zeroed in a copy).
        decoded = mods.packet.decode(
          (message[2] as number) & 2 ? Buffer.from(message).fill(0, 6, 12) : message,
        );
      } catch {
        return; // not a DNS answer: keep waiting
      }
      if (answers(decoded, request)) resolve(decoded);
    });
    socket.on('error', reject);
    // RFC 5452 §9.1: an answer only from the server asked. A connected socket gets datagrams from that
    // address and port alone, whether the server is an IPv4 or IPv6 literal or a host name (the address
    // check by hand covered dotted quads only: a dual-stack udp6 socket took one from ::ffff:127.0.0.1).
    socket.connect(server.port, server.host, (error?: Error) => {
      if (error) reject(error);
      else
        socket.send(mods.packet.encode(request), (error) => {
          if (error) reject(error);
        });
    });
    return () => {
      try {
        socket.close();
      } catch {
        // already closed
      }
    };
  });
}

function tcpQuery(
  mods: Modules,
  server: DnsServer,
  request: Packet,
  options: QueryOptions,
): Promise<DecodedPacket> {
  return withTimeout(options, `TCP query to ${server.host}:${server.port}`, (resolve, reject) => {
    const socket = mods.net.connect({ host: server.host, port: server.port });
    let buffer = Buffer.alloc(0);
    socket.on('connect', () => socket.write(mods.packet.streamEncode(request)));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length < 2) return;
      const length = buffer.readUInt16BE(0);
      if (buffer.length < length + 2) return;
      try {
        const decoded = mods.packet.decode(buffer.subarray(2, 2 + length));
        if (answers(decoded, request)) resolve(decoded);
        else reject(new Error('TCP answer to another question'));
      } catch (error) {
        reject(error);
      }
    });
    socket.on('error', reject);
    socket.on('end', () => reject(new Error('TCP connection closed before a full answer')));
    return () => socket.destroy();
  });
}
