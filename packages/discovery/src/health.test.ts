import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { createRegistry } from '@integ/discovery';
import { httpCheck, tcpCheck } from '@integ/discovery/health';
import { createFakeClock } from '@integ/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';

// Real sockets on a shared machine: give them time, poll often.
const waitFor = <T>(check: () => T | Promise<T>): Promise<T> =>
  vi.waitFor(check, { timeout: 5000, interval: 10 });

const servers: { close(cb: () => void): void }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

async function listen(server: Server | ReturnType<typeof createNetServer>): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as { port: number }).port;
}

describe('httpCheck', () => {
  it('GETs the path and treats 2xx as healthy, anything else as a failure', async () => {
    let status = 200;
    const paths: string[] = [];
    const port = await listen(
      createHttpServer((req, res) => {
        paths.push(req.url ?? '');
        res.writeHead(status).end('body is ignored');
      }),
    );
    const check = httpCheck({ path: '/healthz' });
    const endpoint = { url: `http://127.0.0.1:${port}`, service: 'a', weight: 1, priority: 0 };
    const signal = new AbortController().signal;
    await expect(check(endpoint, { signal })).resolves.toBe(true);
    status = 503;
    await expect(check(endpoint, { signal })).resolves.toBe(false);
    expect(paths).toEqual(['/healthz', '/healthz']);
    expect(() => httpCheck({ path: 'healthz' })).toThrow(/path/);
  });

  it('takes an endpoint out after unhealthyThreshold failed checks and brings it back', async () => {
    let healthy = true;
    const bad = await listen(createHttpServer((_req, res) => res.writeHead(healthy ? 204 : 500).end()));
    const good = await listen(createHttpServer((_req, res) => res.writeHead(200).end()));
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: { urls: [`http://127.0.0.1:${bad}`, `http://127.0.0.1:${good}`], panicThreshold: 0 } },
      clock,
      random: () => 0,
      healthCheck: { check: httpCheck(), interval: 1000, unhealthyThreshold: 2, healthyThreshold: 1 },
    });
    const status = () => registry.inspect('api').endpoints[0]?.health.status;
    await clock.advance(0);
    await waitFor(() => expect(status()).toBe('healthy'));
    healthy = false;
    for (let i = 1; i <= 2; i++) {
      await clock.advance(1000);
      await waitFor(() => expect(registry.inspect('api').endpoints[0]?.health.consecutiveFailures).toBe(i));
    }
    expect(status()).toBe('unhealthy');
    expect(new Set(Array.from({ length: 4 }, () => registry.url('api')))).toEqual(
      new Set([`http://127.0.0.1:${good}`]),
    );
    healthy = true;
    await clock.advance(1000);
    await waitFor(() => expect(status()).toBe('healthy'));
    registry.close();
  });
});

describe('tcpCheck', () => {
  it('is healthy when a TCP connection opens, and fails when nothing listens', async () => {
    const port = await listen(createNetServer((socket) => socket.destroy()));
    const check = tcpCheck();
    const signal = new AbortController().signal;
    await expect(
      check({ url: `tcp://127.0.0.1:${port}`, service: 'db', weight: 1, priority: 0 }, { signal }),
    ).resolves.toBe(true);
    const closed = createNetServer();
    const closedPort = await new Promise<number>((r) =>
      closed.listen(0, '127.0.0.1', () => {
        const p = (closed.address() as { port: number }).port;
        closed.close(() => r(p));
      }),
    );
    await expect(
      check({ url: `tcp://127.0.0.1:${closedPort}`, service: 'db', weight: 1, priority: 0 }, { signal }),
    ).rejects.toThrow(/ECONNREFUSED/);
  });
});
