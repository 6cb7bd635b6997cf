/**
 * A server flooding large events to a consumer that stopped taking them, over a real socket on loopback:
 * what the client buffers is bounded in characters, not only in events (written 2026-11-24).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { afterEach, describe, expect, it } from 'vitest';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

const settle = (ms: number): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, ms));

describe('connect: a slow consumer of large events', () => {
  it('stops reading once about 1 MiB of event data waits, not only past 1024 events, and then delivers every event in order', async () => {
    const count = 400;
    const size = 65_536;
    let flushed = 0;
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let i = 0;
      // Writes only as fast as the socket takes it: `flushed` is what left the server.
      const pump = (): void => {
        while (i < count) {
          const event = `id: ${i}\ndata: ${String(i).padEnd(size, 'x')}\n\n`;
          i++;
          const more = res.write(event, () => {
            flushed += event.length;
          });
          if (!more) return void res.once('drain', pump);
        }
      };
      pump();
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const stream = connect(`http://127.0.0.1:${port}/`, { clock: createFakeClock() });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value?.lastEventId).toBe('0');
    // The consumer stalls: let the client read all it will.
    let seen = -1;
    while (seen !== flushed) {
      seen = flushed;
      await settle(100);
    }
    // 1024 events of 64 KiB would be 64 MiB: the whole 25 MiB stream. Bounded, the client holds about 1 MiB
    // and the rest waits in socket buffers (a few MiB on loopback).
    expect(flushed).toBeLessThan(count * size * 0.6);
    for (let i = 1; i < count; i++) {
      const { value } = await it.next();
      expect(value?.lastEventId).toBe(String(i));
      expect(value?.data.length).toBe(size);
    }
    stream.close();
  });
});
