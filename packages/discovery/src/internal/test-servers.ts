/**
 * Test helpers shared by the untrusted-answer tests: loopback HTTP and DNS servers (closed by
 * `closeServers()`, which a test file calls in `afterEach`), a recording logger, and a source whose SourceContext
 * a test can see (with a count of the abort listeners on its signal), and `refusal()`. Not exported.
 */
import { getEventListeners } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { InvalidArgumentError, type Logger } from '@integ/core';
import type { Source, SourceContext } from '@integ/discovery';
import type { Answer, DecodedPacket } from 'dns-packet';
import { expect } from 'vitest';

/** The InvalidArgumentError `make()` throws. */
export function refusal(make: () => unknown): InvalidArgumentError {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    return error as InvalidArgumentError;
  }
  throw new Error('not refused');
}

const closers: (() => Promise<void>)[] = [];

/** Closes every server started since the last call. */
export async function closeServers(): Promise<void> {
  await Promise.all(closers.splice(0).map((close) => close()));
}

export type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

/** A loopback HTTP server; `n` counts the requests to the same path. Returns its base URL. */
export async function serve(handler: Handler): Promise<string> {
  const counts = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const n = counts.get(path) ?? 0;
    counts.set(path, n + 1);
    handler(req, res, n);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/**
 * A DNS server on 127.0.0.1, UDP and TCP on one port, that sends whatever bytes `respond` returns for a
 * decoded query (nothing for `undefined`). Over TCP the 2-byte length prefix is added unless `respond`
 * returns `{ framed }` (bytes sent as they are). Returns its `host:port`.
 */
export async function rawDnsServer(
  respond: (
    query: DecodedPacket,
    transport: 'udp' | 'tcp',
  ) => Uint8Array | { framed: Uint8Array } | undefined,
): Promise<string> {
  const dgram = await import('node:dgram');
  const net = await import('node:net');
  const packet = (await import('dns-packet')).default;
  const tcp = net.createServer((conn) => {
    let buffer = Buffer.alloc(0);
    conn.on('error', () => {});
    conn.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length < 2 || buffer.length < 2 + buffer.readUInt16BE(0)) return;
      const out = respond(packet.decode(buffer.subarray(2, 2 + buffer.readUInt16BE(0))), 'tcp');
      buffer = Buffer.alloc(0);
      if (out === undefined) return;
      if ('framed' in out) conn.end(out.framed);
      else {
        const length = Buffer.alloc(2);
        length.writeUInt16BE(out.length);
        conn.end(Buffer.concat([length, out]));
      }
    });
  });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
  const port = (tcp.address() as { port: number }).port;
  const socket = dgram.createSocket('udp4');
  socket.on('message', (message, peer) => {
    const out = respond(packet.decode(message), 'udp');
    if (out !== undefined && !('framed' in out)) socket.send(out, peer.port, peer.address);
  });
  await new Promise<void>((r) => socket.bind(port, '127.0.0.1', () => r()));
  closers.push(async () => {
    socket.close();
    await new Promise<void>((r) => tcp.close(() => r()));
  });
  return `127.0.0.1:${port}`;
}

/**
 * A DNS server (see {@link rawDnsServer}): `answer` gets each question and a `reply(answers, flags, additionals)`
 * (the header's flags, whose low 4 bits are the rcode; the additional section) to call at once or later. Returns
 * its `host:port`.
 */
export async function dnsServer(
  answer: (
    question: { type: string; name: string },
    reply: (answers: Answer[], flags?: number, additionals?: Answer[]) => void,
  ) => void,
): Promise<string> {
  const dgram = await import('node:dgram');
  const packet = (await import('dns-packet')).default;
  const socket = dgram.createSocket('udp4');
  socket.on('message', (message, peer) => {
    const query = packet.decode(message);
    const question = query.questions?.[0];
    if (question === undefined) return;
    answer(question, (answers, flags = 0, additionals = []) => {
      socket.send(
        packet.encode({ type: 'response', id: query.id, flags, questions: [question], answers, additionals }),
        peer.port,
        peer.address,
      );
    });
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  closers.push(async () => {
    socket.close();
  });
  return `127.0.0.1:${socket.address().port}`;
}

/** What {@link listenOnOnePort} needs of a dns2 server. */
interface TwoTransportServer {
  listen(options: {
    udp: { port: number; address: string };
    tcp: { port: number; address: string };
  }): Promise<unknown>;
  close(): Promise<unknown>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * Starts a dns2 server (from `make()`) on 127.0.0.1 with UDP and TCP on one port. The port is probed free
 * first, but another process (other packages' tests run at the same time) can take it before the server
 * binds: dns2 then emitted an 'error' nobody listened to, an uncaught EADDRINUSE that failed a random test
 * of the file. Now a fresh server tries another port, up to 20 times.
 */
export async function listenOnOnePort<S extends TwoTransportServer>(
  make: () => S,
): Promise<{ server: S; port: number }> {
  const net = await import('node:net');
  for (let attempt = 1; ; attempt++) {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const server = make();
    const failed = new Promise<Error>((resolve) => server.on('error', resolve));
    const address = '127.0.0.1';
    const error = await Promise.race([
      server.listen({ udp: { port, address }, tcp: { port, address } }).then(() => undefined),
      failed,
    ]);
    if (error === undefined) return { server, port };
    try {
      // The transport that did bind is released; the other was never open (close may throw for it).
      server.close().catch(() => {});
    } catch {
      // nothing was open
    }
    if ((error as { code?: unknown }).code !== 'EADDRINUSE' || attempt >= 20) throw error;
  }
}

/** A pino-shaped logger that records `[obj, msg]` of every call. */
export function recordingLogger(): { logger: Logger; lines: unknown[][] } {
  const lines: unknown[][] = [];
  const log = (obj: unknown, msg?: unknown): void => {
    lines.push([obj, msg]);
  };
  return { logger: { debug: log, info: log, warn: log, error: log }, lines };
}

/** `source`, with the SourceContext the registry opens it with kept for the test (its signal is the registry's). */
export function opening(source: Source): { source: Source; context: () => SourceContext } {
  let context: SourceContext | undefined;
  const open = source.open as NonNullable<Source['open']>;
  return {
    source: {
      ...source,
      open: (ctx) => {
        context = ctx;
        return open(ctx);
      },
    },
    context: () => context as SourceContext,
  };
}

/** The abort listeners on `signal`. */
export const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;
