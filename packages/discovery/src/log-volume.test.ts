/**
 * A source is untrusted input (decision 0058): one answer must not become one log line per bad entry. The
 * registry and consul() log one line per answer with a count; so must etcd().
 */
import { createRegistry } from '@integ/discovery';
import { etcd } from '@integ/discovery/etcd';
import { describe, expect, it } from 'vitest';
import { recordingLogger } from './internal/test-servers.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const json = (body: unknown): Response =>
  new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });

describe('etcd(), given many unusable keys', () => {
  it('logs one warn per range answer and per watch message, not one per key', async () => {
    const bad = (n: number, from = 0) =>
      Array.from({ length: n }, (_, i) => ({ key: b64(`/a/bad-${from + i}`), value: b64('not a url') }));
    let watchSend: ((line: string) => void) | undefined;
    const fetch = async (url: string | URL | Request): Promise<Response> => {
      if (String(url).endsWith('/v3/kv/range'))
        return json({
          header: { revision: '5' },
          kvs: [
            ...bad(5_000),
            { key: '%%%', value: '%%%' },
            { key: b64('/a/1'), value: b64('http://10.0.0.1:80') },
          ],
        });
      const encoder = new TextEncoder();
      return new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            watchSend = (line) => controller.enqueue(encoder.encode(`${line}\n`));
          },
        }),
      );
    };
    const { logger, lines } = recordingLogger();
    const registry = createRegistry({
      services: { api: etcd({ prefix: '/a/', endpoints: ['http://127.0.0.1:2379'], fetch }) },
      logger,
    });
    await registry.ready();
    expect(registry.endpoints('api').map((e) => e.url)).toEqual(['http://10.0.0.1:80']);
    expect(lines.length).toBeLessThanOrEqual(2);
    const before = lines.length;
    for (let i = 0; i < 100 && watchSend === undefined; i++) await new Promise((r) => setImmediate(r));
    watchSend?.(
      JSON.stringify({
        result: {
          header: { revision: '6' },
          events: bad(5_000, 10_000).map((kv) => ({ type: 'PUT', kv })),
        },
      }),
    );
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(watchSend).toBeDefined();
    expect(lines.length - before).toBeLessThanOrEqual(1);
    expect(JSON.stringify(lines)).toContain('5000');
    registry.close();
  });
});
