/**
 * Review round 13: dnsA/dnsSrv when one family says NXDOMAIN and the other's query fails, and tcpCheck on
 * ftp://host:21 (the last WHATWG special scheme whose default port the URL parser drops), and what masking
 * covers of a source's error with a secret in a field of its own (decision 0199: messages, not fields).
 */
import { IntegError } from '@integ/core';
import { createRegistry } from '@integ/discovery';
import { dnsA, dnsSrv } from '@integ/discovery/dns';
import { tcpCheck } from '@integ/discovery/health';
import { afterEach, describe, expect, it } from 'vitest';
import { closeServers, dnsServer, recordingLogger } from './internal/test-servers.js';

afterEach(async () => {
  await closeServers();
});

const NXDOMAIN = 3;
const SERVFAIL = 2;

describe('dnsA, given NXDOMAIN for A while the AAAA query fails (family 0)', () => {
  it('names NXDOMAIN, the authoritative answer, not the failure of the other query', async () => {
    const server = await dnsServer((question, reply) =>
      reply([], question.type === 'A' ? NXDOMAIN : SERVFAIL),
    );
    const registry = createRegistry({
      services: { gone: dnsA('gone.example.test', { servers: [server], attempts: 1 }) },
    });
    try {
      // Before: 'AAAA gone.example.test: server 127.0.0.1:... answered SERVFAIL', which sends users to the
      // resolver instead of to a typo or a deleted name.
      await expect(registry.ready('gone')).rejects.toThrow(/^dns: gone\.example\.test: NXDOMAIN$/);
    } finally {
      registry.close();
    }
  });
});

describe('dnsSrv, given a target that is NXDOMAIN for A while its AAAA query fails', () => {
  it('skips that target as one that does not exist, and serves the others', async () => {
    const server = await dnsServer((question, reply) => {
      if (question.type === 'SRV')
        reply([
          {
            type: 'SRV',
            name: question.name,
            ttl: 60,
            data: { priority: 0, weight: 1, port: 80, target: 'gone.example.test' },
          },
          {
            type: 'SRV',
            name: question.name,
            ttl: 60,
            data: { priority: 0, weight: 1, port: 80, target: 'live.example.test' },
          },
        ]);
      else if (question.name === 'live.example.test')
        reply(question.type === 'A' ? [{ name: question.name, type: 'A', ttl: 60, data: '10.0.0.9' }] : []);
      else reply([], question.type === 'A' ? NXDOMAIN : SERVFAIL);
    });
    const registry = createRegistry({
      services: { api: dnsSrv('_x._tcp.example.test', { servers: [server], attempts: 1 }) },
    });
    try {
      // Before: the whole lookup failed with the AAAA SERVFAIL of a target that does not exist.
      await registry.ready('api');
      expect(registry.endpoints('api').map((e) => e.url)).toEqual(['http://10.0.0.9:80']);
    } finally {
      registry.close();
    }
  });
});

describe('tcpCheck, given an ftp:// endpoint on port 21', () => {
  it('connects to port 21, which the URL parser leaves out of ftp://host:21', async () => {
    // new URL('ftp://h:21').port is '' (21 is ftp's default): the check threw "a URL with a port" though
    // the URL names one, so the endpoint stayed unhealthy forever.
    const check = tcpCheck();
    const signal = AbortSignal.timeout(2000);
    for (const url of ['ftp://127.0.0.1:21', 'ftp://127.0.0.1']) {
      const outcome = await check({ url, service: 'ftp', weight: 1, priority: 0 }, { signal }).then(
        () => 'connected',
        (error: { code?: string }) => error.code,
      );
      expect(outcome, url).not.toBe('ERR_INVALID_ARGUMENT');
      expect(['connected', 'ECONNREFUSED'], url).toContain(outcome);
    }
  });
});

describe('a source failing with an IntegError whose message has nothing to mask but a field of its own does', () => {
  it('passes it on as thrown, fields kept (only messages are masked); inspect() and the log show none of them', async () => {
    class FetchFailed extends IntegError {
      readonly url = 'https://user:hunter2@registry.internal/v1?token=s3cr3t';
      constructor() {
        super('ERR_FETCH_FAILED', 'the registry did not answer', { retryable: true });
      }
    }
    const thrown = new FetchFailed();
    const { logger, lines } = recordingLogger();
    const registry = createRegistry({
      services: {
        b: { kind: 'custom', description: 'x', open: () => ({ resolve: () => Promise.reject(thrown) }) },
      },
      logger,
    });
    try {
      // The README (Errors) and decision 0199: the error itself, as thrown, as a masked copy would keep it as cause.
      await expect(registry.ready('b')).rejects.toBe(thrown);
      expect(registry.inspect('b').lastError).toEqual({
        code: 'ERR_FETCH_FAILED',
        message: 'the registry did not answer',
      });
      expect(JSON.stringify([registry.inspect('b'), lines])).not.toMatch(/hunter2|s3cr3t/);
    } finally {
      registry.close();
    }
  });
});
