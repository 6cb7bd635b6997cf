/**
 * Review round 13: dnsA/dnsSrv when one family says NXDOMAIN and the other's query fails.
 */
import { createRegistry } from '@integ/discovery';
import { dnsA, dnsSrv } from '@integ/discovery/dns';
import { afterEach, describe, expect, it } from 'vitest';
import { closeServers, dnsServer } from './internal/test-servers.js';

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
