/**
 * Review round 10: a source whose open() throws (its error reached the caller unmasked), pick() after a failed
 * first lookup (it said to await ready(), which rejects), and dnsA on NXDOMAIN (it said "no address records").
 */
import { runInNewContext } from 'node:vm';
import { isIntegError, TimeoutError } from '@integ/core';
import { createRegistry, type Source } from '@integ/discovery';
import { dnsA } from '@integ/discovery/dns';
import { createFakeClock } from '@integ/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type TestDnsServer } from './internal/test-dns-server.js';

const SECRETS = /hunter2|s3cr3t|user:/;
const leakyUrl = 'https://user:hunter2@registry.internal/v1?token=s3cr3t';

function throwingOpen(thrown: unknown): Source {
  return {
    kind: 'custom',
    description: 'x',
    open: () => {
      throw thrown;
    },
  };
}

function startError(source: Source): unknown {
  try {
    createRegistry({ services: { b: source } }).close();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** What `error` shows: its text, its stack and its own fields (a cause may keep the original, as thrown). */
function shown(error: unknown): string {
  const e = error as Error;
  return JSON.stringify([String(e), e.stack, { ...e, cause: undefined }]);
}

describe('createRegistry, given a source whose open() throws an error quoting a URL with credentials', () => {
  it('throws it masked, keeping the code and retryable of an IntegError, and the original as cause', () => {
    const thrown = new TimeoutError(2000, `GET ${leakyUrl}`);
    const error = startError(throwingOpen(thrown));
    // Before: the TimeoutError itself, 'GET https://user:hunter2@registry.internal/v1?token=s3cr3t timed out ...'.
    expect(isIntegError(error, 'ERR_TIMEOUT')).toBe(true);
    expect((error as Error).message).toBe(
      'GET https://***@registry.internal/v1?*** timed out after 2000 ms; allow more time or make it faster',
    );
    expect((error as TimeoutError).retryable).toBe(true);
    expect((error as Error).cause).toBe(thrown);
    expect(shown(error)).not.toMatch(SECRETS);
  });

  it('wraps a plain Error in a masked DiscoverySourceError, the original as cause', () => {
    const thrown = new Error(`cannot reach ${leakyUrl}`);
    const error = startError(throwingOpen(thrown));
    expect(isIntegError(error, 'ERR_DISCOVERY_SOURCE')).toBe(true);
    expect((error as Error).message).toBe('custom: cannot reach https://***@registry.internal/v1?***');
    expect((error as Error).cause).toBe(thrown);
    expect(shown(error)).not.toMatch(SECRETS);
  });

  it('passes an IntegError with nothing to mask through as thrown', () => {
    const thrown = new TimeoutError(2000, 'GET https://registry.internal/v1');
    expect(startError(throwingOpen(thrown))).toBe(thrown);
  });
});

describe('pick(), after the first lookup of a service failed', () => {
  it('says the lookup failed and is retried, not to await ready() (which rejects)', async () => {
    const clock = createFakeClock();
    let calls = 0;
    const source: Source = {
      kind: 'custom',
      description: 'x',
      open: () => ({
        resolve: () =>
          ++calls === 1
            ? Promise.reject(new Error('down'))
            : Promise.resolve({ endpoints: [{ url: 'http://a:1' }] }),
      }),
    };
    const registry = createRegistry({ services: { api: source }, clock, jitter: 0, minInterval: 1000 });
    try {
      await expect(registry.ready('api')).rejects.toThrow(/down/);
      let error: unknown;
      try {
        registry.pick('api');
      } catch (err) {
        error = err;
      }
      expect(error).toMatchObject({ code: 'ERR_NO_ENDPOINTS', reason: 'pending' });
      // Before: 'its source has not answered yet; await registry.ready() first (last lookup failed: custom: down)'.
      expect((error as Error).message).toBe(
        'No endpoint for service "api": its first lookup failed: custom: down; it retries later',
      );
      await clock.advance(1000);
      expect(registry.url('api')).toBe('http://a:1');
    } finally {
      registry.close();
    }
  });

  it('says the registry was closed after close(), not to await ready()', async () => {
    const source: Source = {
      kind: 'custom',
      description: 'x',
      open: () => ({ resolve: () => new Promise(() => {}) }),
    };
    const registry = createRegistry({ services: { api: source } });
    registry.close();
    await expect(registry.ready('api')).rejects.toThrow(
      /^No endpoint for service "api": the registry was closed$/,
    );
  });
});

describe('dnsA, given NXDOMAIN', () => {
  let dns: TestDnsServer;
  beforeAll(async () => {
    dns = await startDnsServer();
  });
  afterAll(async () => {
    await dns.close();
  });

  it('names NXDOMAIN, as dnsSrv does, and "no address records" only for a name that exists', async () => {
    dns.records.set('empty.example.test', [
      { type: 'SRV', priority: 0, weight: 1, port: 80, target: 'x', ttl: 5 },
    ]);
    dns.rcode = 3; // NXDOMAIN for every question
    const registry = createRegistry({
      services: {
        gone: dnsA('gone.example.test', { servers: dns.address }),
      },
    });
    try {
      // Before: 'dns: gone.example.test: no address records'.
      await expect(registry.ready('gone')).rejects.toThrow('dns: gone.example.test: NXDOMAIN');
      dns.rcode = 0;
      const other = createRegistry({
        services: { empty: dnsA('empty.example.test', { servers: dns.address }) },
      });
      await expect(other.ready('empty')).rejects.toThrow('dns: empty.example.test: no address records');
      other.close();
    } finally {
      dns.rcode = 0;
      registry.close();
    }
  });
});

describe('createRegistry, given a source failing with an IntegError of another realm (a vm context)', () => {
  it('passes it on as thrown when its message has nothing to mask, its message not prefixed with its name', async () => {
    // What an IntegError made in another realm looks like here: branded, but no instanceof Error.
    const thrown = runInNewContext(
      `Object.assign(new Error('quota exceeded'), { name: 'QuotaError', '@@integ/error': true, code: 'ERR_QUOTA', retryable: false })`,
    ) as Error;
    expect(thrown instanceof Error).toBe(false);
    const registry = createRegistry({
      services: {
        b: { kind: 'custom', description: 'x', open: () => ({ resolve: () => Promise.reject(thrown) }) },
      },
    });
    try {
      const error = await registry.ready('b').then(
        () => undefined,
        (err: unknown) => err,
      );
      // Before: a copy with the message 'QuotaError: quota exceeded' (String() of it, not its message).
      expect(error).toBe(thrown);
      expect(registry.inspect('b').lastError).toEqual({ code: 'ERR_QUOTA', message: 'quota exceeded' });
    } finally {
      registry.close();
    }
  });
});
