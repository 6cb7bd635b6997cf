/**
 * Review round 25: a cross-review of round 24's fixes (b3ab413 the guarded logger, 068199c a fetch raced with its
 * signal, f22bb88 subscribers after the count, b1d8277 a resolve() throwing synchronously, b023882 / 738db50 the
 * token and Basic value masked in a failing fetch's message), attacking each for the cases next to the probed one.
 */
import { consul, createRegistry, etcd, type Registry, type Source } from '@integ/discovery';
import { createFakeClock, trackUnhandledRejections } from '@integ/testing';
import { afterEach, describe, expect, it } from 'vitest';

const opened: Registry[] = [];
afterEach(() => {
  for (const registry of opened.splice(0)) registry.close();
});

describe('the guarded logger (b3ab413)', () => {
  it("calls a class-based logger's methods on the logger (this kept) with the arguments unchanged", async () => {
    class ClassLogger {
      readonly lines: unknown[][] = [];
      debug(...args: unknown[]): void {
        this.lines.push(['debug', ...args]);
      }
      info(...args: unknown[]): void {
        this.lines.push(['info', ...args]);
      }
      warn(...args: unknown[]): void {
        this.lines.push(['warn', ...args]);
      }
      error(...args: unknown[]): void {
        this.lines.push(['error', ...args]);
      }
    }
    const logger = new ClassLogger();
    const payload = { mine: true };
    const clock = createFakeClock();
    const registry = createRegistry({
      services: {
        s: {
          kind: 'custom',
          description: 'test',
          open: (ctx) => ({
            resolve: async () => {
              ctx.logger.info(payload, 'from the source');
              throw new Error('down');
            },
          }),
        },
      },
      clock,
      logger,
    });
    opened.push(registry);
    await registry.ready('s').catch(() => {});
    expect(logger.lines[0]).toEqual(['info', payload, 'from the source']);
    expect(logger.lines[0]?.[1]).toBe(payload);
    expect(logger.lines[1]).toEqual([
      'warn',
      { service: 's', source: 'custom', code: 'ERR_DISCOVERY_SOURCE', stale: false },
      'discovery source failed; serving the last known endpoints',
    ]);
  });
  it("guards a source's context.logger too: consul's skipped-entries warn that throws fails no lookup", async () => {
    const boom = (): never => {
      throw new Error('logger down');
    };
    const body = [
      { Node: { Node: 'n', Address: '10.0.0.1' }, Service: { ID: 'a', Port: 80 } },
      { Node: { Node: 'n', Address: '' }, Service: { ID: 'b', Port: 0 } },
    ];
    const registry = createRegistry({
      services: {
        s: consul('api', {
          fetch: async () => new Response(JSON.stringify(body), { headers: { 'x-consul-index': '1' } }),
        }),
      },
      clock: createFakeClock(),
      logger: { debug: boom, info: boom, warn: boom, error: boom },
    });
    opened.push(registry);
    await registry.ready('s');
    expect(registry.endpoints('s').map((e) => e.url)).toEqual(['http://10.0.0.1:80']);
  });
});

describe('a response that arrives after its request was given up (068199c)', () => {
  /** A fetch that ignores its signal and answers when the test says, with a body that records its cancel. */
  function lateFetch(body: string) {
    let answer = (): void => {};
    let cancelled = 0;
    const fetchStub = (() =>
      new Promise<Response>((resolve) => {
        answer = () =>
          resolve(
            new Response(
              new ReadableStream<Uint8Array>({
                start(controller) {
                  controller.enqueue(new TextEncoder().encode(body));
                },
                cancel() {
                  cancelled++;
                },
              }),
            ),
          );
      })) as unknown as typeof fetch;
    return { fetch: fetchStub, answer: () => answer(), cancelled: () => cancelled };
  }

  it.each([
    ['consul', (f: typeof fetch) => consul('api', { fetch: f }), 10_000, '[]'],
    ['etcd', (f: typeof fetch) => etcd('/s/', { fetch: f }), 5_000, '{"kvs":[]}'],
  ])('%s: has its body cancelled, not left unread holding the connection', async (_, make, limit, body) => {
    const clock = createFakeClock();
    const late = lateFetch(body);
    const registry = createRegistry({ services: { s: make(late.fetch) }, clock, minInterval: 60_000 });
    opened.push(registry);
    await expect(
      Promise.all([registry.ready('s'), clock.advance(limit)]).then(() => 'resolved'),
    ).rejects.toMatchObject({ code: 'ERR_DISCOVERY_SOURCE' });
    late.answer();
    await clock.advance(0);
    expect(late.cancelled()).toBe(1);
  });
});

describe("a custom source's close() (next to b1d8277)", () => {
  it('that returns a rejected promise (an async close) is no unhandled rejection', async () => {
    const clock = createFakeClock();
    const source: Source = {
      kind: 'custom',
      description: 'test',
      open: () => ({
        resolve: async () => ({ endpoints: [{ url: 'http://a:1' }] }),
        close: (async () => {
          throw new Error('close failed');
        }) as () => void,
      }),
    };
    const registry = createRegistry({ services: { s: source }, clock });
    await registry.ready('s');
    const unhandled = trackUnhandledRejections();
    try {
      registry.close();
      expect(await unhandled.settled()).toEqual([]);
    } finally {
      unhandled.stop();
    }
  });
});

describe('a token read from a file, with its trailing newline (b023882)', () => {
  const TOKEN = 'tok-5ecret-9f2c';
  const quoting = (init?: RequestInit): never => {
    throw new TypeError(`request failed with headers ${JSON.stringify(init?.headers)}`);
  };
  const quotingHeaders = (init?: RequestInit): never => {
    throw new TypeError(`request failed with headers ${JSON.stringify([...new Headers(init?.headers)])}`);
  };
  it.each([
    [
      'consul, quoting its headers as JSON',
      consul('api', { token: `${TOKEN}\n`, fetch: async (_, i) => quoting(i) }),
    ],
    [
      'consul, quoting a Headers',
      consul('api', { token: `${TOKEN}\n`, fetch: async (_, i) => quotingHeaders(i) }),
    ],
    [
      'etcd, quoting its headers as JSON',
      etcd('/s/', { token: `${TOKEN}\n`, fetch: async (_, i) => quoting(i) }),
    ],
    [
      'etcd, quoting a Headers',
      etcd('/s/', { token: ` ${TOKEN}\r\n`, fetch: async (_, i) => quotingHeaders(i) }),
    ],
  ])('is masked in the error of %s', async (_, source) => {
    const clock = createFakeClock();
    const registry = createRegistry({ services: { s: source }, clock });
    opened.push(registry);
    const failure = (await registry.ready('s').catch((error: Error) => error)) as Error;
    const shown = JSON.stringify([failure.message, registry.inspect('s')]);
    expect(shown).toContain('request failed');
    expect(shown).not.toContain(TOKEN);
  });
});
