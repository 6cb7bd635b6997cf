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
    // '//healthz' or '/\\healthz' would resolve against the endpoint's URL as another host (http://healthz/),
    // so the check would GET a different server than the endpoint: refused like a path without '/'.
    for (const path of ['//healthz', '/\\healthz', '//127.0.0.1:1/health'])
      expect(() => httpCheck({ path }), path).toThrow(/path/);
  });

  it('does not follow a redirect: a 3xx is unhealthy (as Envoy’s checker) unless expectedStatus takes it; the path replaces the URL’s own path', async () => {
    const elsewhere: string[] = [];
    const other = await listen(
      createHttpServer((req, res) => {
        elsewhere.push(req.url ?? '');
        res.writeHead(200).end();
      }),
    );
    const paths: string[] = [];
    const port = await listen(
      createHttpServer((req, res) => {
        paths.push(req.url ?? '');
        res.writeHead(302, { location: `http://127.0.0.1:${other}/health` }).end();
      }),
    );
    const endpoint = { url: `http://127.0.0.1:${port}/svc?x=1`, service: 'a', weight: 1, priority: 0 };
    const signal = new AbortController().signal;
    await expect(httpCheck()(endpoint, { signal })).resolves.toBe(false);
    await expect(httpCheck({ expectedStatus: (s) => s < 400 })(endpoint, { signal })).resolves.toBe(true);
    expect(paths).toEqual(['/health', '/health']);
    expect(elsewhere).toEqual([]);
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

describe('httpCheck, on an endpoint whose URL carries credentials', () => {
  // fetch refuses a URL with user:password@; httpCheck sends them as Basic auth instead (RFC 7617).
  type Seen = { auth: string | undefined; url: string | undefined; host: string | undefined };
  async function recordingServer(status = 200): Promise<{ port: number; seen: Seen[] }> {
    const seen: Seen[] = [];
    const port = await listen(
      createHttpServer((req, res) => {
        seen.push({ auth: req.headers.authorization, url: req.url, host: req.headers.host });
        res.writeHead(status).end();
      }),
    );
    return { port, seen };
  }
  const endpointAt = (url: string) => ({ url, service: 'a', weight: 1, priority: 0 });
  const basic = (userPass: string): string => `Basic ${Buffer.from(userPass, 'utf8').toString('base64')}`;
  const signal = new AbortController().signal;

  it('is healthy, sending the percent-decoded user and password as Basic auth to the URL without them', async () => {
    const { port, seen } = await recordingServer();
    const check = httpCheck();
    await expect(check(endpointAt(`http://user:p%40ss@127.0.0.1:${port}`), { signal })).resolves.toBe(true);
    // A non-ASCII password (typed raw or percent-encoded) goes out as UTF-8 bytes, as curl sends it.
    await expect(
      check(endpointAt(`http://us%C3%A9r:p\u00e4ss%3A1@127.0.0.1:${port}/base`), { signal }),
    ).resolves.toBe(true);
    await expect(check(endpointAt(`http://only-user@127.0.0.1:${port}`), { signal })).resolves.toBe(true);
    expect(seen).toEqual([
      { auth: basic('user:p@ss'), url: '/health', host: `127.0.0.1:${port}` },
      { auth: basic('us\u00e9r:p\u00e4ss:1'), url: '/health', host: `127.0.0.1:${port}` },
      { auth: basic('only-user:'), url: '/health', host: `127.0.0.1:${port}` },
    ]);
  });

  it("lets the caller's own authorization header (any case) win over the URL's credentials", async () => {
    const { port, seen } = await recordingServer();
    const url = `http://user:secret@127.0.0.1:${port}`;
    await expect(
      httpCheck({ headers: { Authorization: 'Bearer t1' } })(endpointAt(url), { signal }),
    ).resolves.toBe(true);
    await expect(
      httpCheck({ headers: { aUtHoRiZaTiOn: 'Bearer t2' } })(endpointAt(url), { signal }),
    ).resolves.toBe(true);
    // Other headers are kept next to the Basic auth.
    await expect(httpCheck({ headers: { 'x-probe': '1' } })(endpointAt(url), { signal })).resolves.toBe(true);
    expect(seen.map((s) => s.auth)).toEqual(['Bearer t1', 'Bearer t2', basic('user:secret')]);
  });

  it('reads a 401 from the server as unhealthy', async () => {
    const { port, seen } = await recordingServer(401);
    await expect(httpCheck()(endpointAt(`http://user:wrong@127.0.0.1:${port}`), { signal })).resolves.toBe(
      false,
    );
    expect(seen.map((s) => s.auth)).toEqual([basic('user:wrong')]);
  });

  it('keeps the password out of the log and inspect() when the check fails (nothing listens; a % that starts no escape too)', async () => {
    const closed = createNetServer();
    const closedPort = await new Promise<number>((r) =>
      closed.listen(0, '127.0.0.1', () => {
        const p = (closed.address() as { port: number }).port;
        closed.close(() => r(p));
      }),
    );
    const lines: unknown[] = [];
    const log = (...args: unknown[]): void => {
      lines.push(args);
    };
    const clock = createFakeClock();
    const registry = createRegistry({
      services: {
        api: { url: `http://admin:hunter2@127.0.0.1:${closedPort}/?key=s3cr3t` },
        // A '%' that starts no escape is sent as written (review-9): this check fails only as nothing listens.
        stray: { url: `http://admin:hunter2%@127.0.0.1:${closedPort}` },
      },
      clock,
      logger: { debug: log, info: log, warn: log, error: log },
      healthCheck: { check: httpCheck(), unhealthyThreshold: 1 },
    });
    await clock.advance(0);
    for (const name of ['api', 'stray'])
      await waitFor(() => expect(registry.inspect(name).endpoints[0]?.health.status).toBe('unhealthy'));
    expect(registry.inspect('stray').endpoints[0]?.health.lastError).toBe(
      registry.inspect('api').endpoints[0]?.health.lastError,
    );
    const text = JSON.stringify([lines, registry.inspect('api'), registry.inspect('stray')]);
    expect(text).toContain('***@127.0.0.1');
    expect(text).not.toMatch(/hunter2|s3cr3t|admin/);
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
