/**
 * Review round 7: defects the earlier rounds missed, one test each (etcd error bodies, an SRV name behind a
 * CNAME, Consul redirects and its token, tcpCheck on ws/wss default ports).
 */
import { createServer, type Server } from 'node:http';
import { consul, createRegistry, etcd } from '@integ/discovery';
import { dnsSrv } from '@integ/discovery/dns';
import { tcpCheck } from '@integ/discovery/health';
import { createFakeClock } from '@integ/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeServers, dnsServer } from './internal/test-servers.js';

// Real sockets on a shared machine: give them time, poll often.
const waitFor = <T>(check: () => T | Promise<T>): Promise<T> =>
  vi.waitFor(check, { timeout: 5000, interval: 10 });

const servers: Server[] = [];
afterEach(async () => {
  await closeServers();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

/** A loopback HTTP server counting its open connections that carried a request (fetch may open a spare one). */
async function counted(
  handler: Parameters<typeof createServer>[1],
): Promise<{ url: string; open: () => number }> {
  const open = new Set<unknown>();
  const server = createServer((req, res) => {
    const socket = req.socket;
    if (!open.has(socket)) socket.once('close', () => open.delete(socket));
    open.add(socket);
    handler?.(req, res);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, open: () => open.size };
}

describe('etcd, given an error answer whose body does not end', () => {
  it('drops the connection of a range answered with an HTTP error, so retries do not pile up sockets', async () => {
    // A proxy in front of etcd that sends `503` headers and then stalls (or a large error page): the
    // range failed on the status, but the body was never read nor cancelled, so the socket stayed open
    // after the failure and after close(), one more per retry.
    const server = await counted((_req, res) => {
      res.writeHead(503, { 'content-type': 'text/html' });
      res.write('<html>'.repeat(100));
    });
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: etcd({ prefix: '/a/', endpoints: [server.url] }) },
      clock,
    });
    await expect(registry.ready()).rejects.toMatchObject({
      code: 'ERR_DISCOVERY_SOURCE',
      message: expect.stringContaining('HTTP 503'),
    });
    await waitFor(() => expect(server.open()).toBe(0));
    registry.close();
  });
});

describe('dnsSrv, given an SRV name behind a CNAME', () => {
  it('refreshes on the CNAME TTL when it is shorter than the SRV and address records', async () => {
    // _api._tcp.api -> _api._tcp.api-blue (a blue/green switch, 30 s) -> SRV (1 h) -> A (1 h): the answer
    // holds only as long as the CNAME, as dnsA already counts it. Before, the next lookup came after the SRV
    // TTL (capped by maxInterval, 5 min), so a switch to green went unseen for minutes.
    const server = await dnsServer((question, reply) =>
      reply(
        question.type === 'SRV'
          ? [
              { name: '_api._tcp.api.test', type: 'CNAME', ttl: 30, data: '_api._tcp.api-blue.test' },
              {
                name: '_api._tcp.api-blue.test',
                type: 'SRV',
                ttl: 3600,
                data: { priority: 0, weight: 1, port: 8080, target: 'blue.test' },
              },
            ]
          : question.type === 'A'
            ? [{ name: 'blue.test', type: 'A', ttl: 3600, data: '10.0.0.5' }]
            : [],
      ),
    );
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: dnsSrv('_api._tcp.api.test', { servers: [server] }) },
      clock,
      jitter: 0,
    });
    try {
      await registry.ready();
      expect(registry.endpoints('api').map((e) => e.url)).toEqual(['http://10.0.0.5:8080']);
      expect(registry.inspect('api').nextRefreshAt).toBe(30_000);
    } finally {
      registry.close();
    }
  });
});

describe('consul, behind a server that redirects', () => {
  it('does not follow a redirect, so the ACL token never goes to another host', async () => {
    // An auth proxy in front of the agent sends what it does not know to a login page on another host.
    // fetch drops Authorization on a cross-origin redirect, but X-Consul-Token is a header of our own: it
    // went along to that host, and its answer was taken as the service's instances.
    const tokens: (string | undefined)[] = [];
    const other = await counted((req, res) => {
      tokens.push(req.headers['x-consul-token'] as string | undefined);
      res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': '5' });
      res.end('[]');
    });
    const proxy = await counted((req, res) => {
      res.writeHead(307, { location: `${other.url.replace('127.0.0.1', 'localhost')}${req.url}` });
      res.end();
    });
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: consul({ service: 'api', address: proxy.url, token: 'acl-token-s3cr3t' }) },
      clock,
    });
    try {
      await expect(registry.ready()).rejects.toMatchObject({
        code: 'ERR_DISCOVERY_SOURCE',
        message: expect.stringContaining('HTTP 307'),
      });
      expect(tokens).toEqual([]);
    } finally {
      registry.close();
    }
  });
});

describe('tcpCheck, given a ws:// or wss:// endpoint', () => {
  it('connects to the scheme default port (80 / 443), which the URL parser leaves out of ws://host:80', async () => {
    // new URL('ws://h:80').port is '' (80 is ws's default, as 443 is wss's): the check threw "a URL with a
    // port" for every WebSocket endpoint on its default port, so it stayed unhealthy forever.
    const check = tcpCheck();
    const signal = AbortSignal.timeout(2000);
    for (const url of ['ws://127.0.0.1:80', 'wss://127.0.0.1', 'ws://127.0.0.1']) {
      const outcome = await check({ url, service: 'ws', weight: 1, priority: 0 }, { signal }).then(
        () => 'connected',
        (error: { code?: string }) => error.code,
      );
      // Nothing (or something) listens on 127.0.0.1:80 / :443: refused or connected, never a bad argument.
      expect(outcome, url).not.toBe('ERR_INVALID_ARGUMENT');
      expect(['connected', 'ECONNREFUSED'], url).toContain(outcome);
    }
  });
});
