import type { Logger } from '@integ/core';
import { consul, createRegistry, etcd, type Source } from '@integ/discovery';
import { tcpCheck } from '@integ/discovery/health';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

const SECRETS = ['hunter2', 's3cr3t-query', 'admin'];

function recordingLogger(): { logger: Logger; lines: unknown[] } {
  const lines: unknown[] = [];
  const log = (obj: unknown, msg?: unknown): void => {
    lines.push([obj, msg]);
  };
  return { logger: { debug: log, info: log, warn: log, error: log }, lines };
}

function expectNoSecret(value: unknown): void {
  const text = JSON.stringify(value);
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

const secretUrl = 'http://admin:hunter2@127.0.0.1:9/?api_key=s3cr3t-query';

describe('credentials in URLs', () => {
  it('never reach the logger, inspect() or a health-check error (userinfo and query are masked)', async () => {
    const clock = createFakeClock();
    const { logger, lines } = recordingLogger();
    const registry = createRegistry({
      clock,
      logger,
      services: {
        hangs: {
          url: secretUrl,
          healthCheck: { check: () => new Promise(() => {}), timeout: 100, unhealthyThreshold: 1 },
        },
        tcp: {
          url: 'tcp://admin:hunter2@localhost',
          healthCheck: { check: tcpCheck(), unhealthyThreshold: 1 },
        },
        ejected: { url: secretUrl, outlierDetection: { consecutive5xx: 1 } },
      },
    });
    registry.report(registry.pick('ejected'), { ok: false, latencyMs: 1, status: 503 });
    await clock.advance(200);
    const inspected = registry.services().map((name) => registry.inspect(name));
    expect(inspected.find((s) => s.service === 'hangs')?.endpoints[0]?.health.status).toBe('unhealthy');
    expect(inspected.find((s) => s.service === 'tcp')?.endpoints[0]?.health.status).toBe('unhealthy');
    expect(inspected.find((s) => s.service === 'ejected')?.endpoints[0]?.ejected).toBe(true);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expectNoSecret(lines);
    expectNoSecret(inspected);
    // Masked, not dropped: the reader still sees that there were credentials and a query.
    expect(inspected[0]?.endpoints[0]?.url).toBe('http://***@127.0.0.1:9/?***');
    // The endpoint itself keeps its real URL: that is what the caller connects to.
    expect(registry.pick('hangs').url).toBe(secretUrl);
    registry.close();
  });

  it('are masked in the error of a source whose failure message quotes a URL', async () => {
    const { logger, lines } = recordingLogger();
    const leaky: Source = {
      kind: 'mine',
      description: 'mine',
      open: () => ({
        resolve: async () => {
          // What undici says for a URL with credentials, for example.
          throw new TypeError(
            `Request cannot be constructed from a URL that includes credentials: ${secretUrl}`,
          );
        },
      }),
    };
    const registry = createRegistry({ logger, services: { api: leaky } });
    const error = await registry.ready('api').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toMatchObject({ code: 'ERR_DISCOVERY_SOURCE' });
    expect((error as Error).message).toContain('http://***@127.0.0.1:9/?***');
    expectNoSecret((error as Error).message);
    expectNoSecret(registry.inspect('api'));
    expectNoSecret(lines);
    let pickError: unknown;
    try {
      registry.pick('api');
    } catch (err) {
      pickError = err;
    }
    expectNoSecret((pickError as Error).message);
    registry.close();
  });

  it("are masked in a foreign error that quotes a URL whose password or query holds a quote, a space or '<'", async () => {
    // fetch() refuses credentials and quotes the URL as given; the password may hold any character
    // (the URL parser percent-encodes it), so the masking cannot stop at the first quote or space.
    const tails = ['tail1quote', 'tail2space', 'tail3dquote', 'tail4lt', 'tail5query', 'tail6backtick'];
    const leaky = [
      "http://admin:x'tail1quote@127.0.0.1:9/",
      'http://admin:x tail2space@127.0.0.1:9/',
      'http://admin:x"tail3dquote@127.0.0.1:9/',
      'http://admin:x<tail4lt@127.0.0.1:9/',
      "http://admin:pw@127.0.0.1:9/?token=x'tail5query",
      'http://admin:x`tail6backtick@127.0.0.1:9/',
    ];
    const clock = createFakeClock();
    const { logger, lines } = recordingLogger();
    const registry = createRegistry({
      clock,
      logger,
      services: {
        api: {
          urls: leaky,
          healthCheck: {
            check: async (endpoint) => (await fetch(endpoint.url)).ok,
            unhealthyThreshold: 1,
          },
        },
      },
    });
    await clock.advance(0);
    const inspected = registry.inspect('api');
    expect(inspected.endpoints.map((e) => e.health.status)).toEqual(leaky.map(() => 'unhealthy'));
    expect(inspected.endpoints[0]?.health.lastError).toMatch(
      /includes credentials: http:\/\/\*\*\*@127\.0\.0\.1:9/,
    );
    const text = JSON.stringify([inspected, lines]);
    for (const tail of tails) expect(text).not.toContain(tail);
    registry.close();
  });

  it('are masked in linear time in a long failure message (a check or source may quote a response body)', async () => {
    // 100,000 letters without '://' took the masking 10-20 s (each letter started a scheme scanned to the end);
    // 200,000 are well past the 20 s test timeout there, and a few ms now.
    const word = 'a'.repeat(200_000);
    const source: Source = {
      kind: 'mine',
      description: 'mine',
      open: () => ({
        resolve: async () => {
          throw new Error(`backend said: ${word} ${word}://${'b'.repeat(100_000)} ${secretUrl}`);
        },
      }),
    };
    const registry = createRegistry({ services: { api: source } });
    const error = await registry.ready('api').then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(error?.message).toContain(word);
    expect(error?.message).toContain('http://***@127.0.0.1:9/?***');
    expectNoSecret(error?.message);
    registry.close();
  });

  it('in a Consul or etcd address are refused at construction, without echoing them', () => {
    for (const make of [
      () => consul({ service: 'api', address: 'http://admin:hunter2@127.0.0.1:8500' }),
      () => consul({ service: 'api', address: 'http://127.0.0.1:8500/?token=s3cr3t-query' }),
      () => etcd({ prefix: '/a/', endpoints: ['http://admin:hunter2@127.0.0.1:2379'] }),
      () => etcd({ prefix: '/a/', endpoints: ['http://127.0.0.1:2379?token=s3cr3t-query'] }),
    ]) {
      let error: unknown;
      try {
        make();
      } catch (err) {
        error = err;
      }
      expect(error).toMatchObject({ code: 'ERR_INVALID_URL' });
      expect((error as Error).message).toMatch(/token/);
      expectNoSecret((error as Error).message);
    }
  });
});
