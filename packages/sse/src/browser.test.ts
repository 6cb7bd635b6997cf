/**
 * `EventSource` in a real browser, against the browser's own: the main entry is bundled for the browser
 * (esbuild, `platform: 'browser'`), served with a page from a node:http server on loopback, and each
 * scenario runs twice in Debian's chromium, once with the native `window.EventSource` and once with ours,
 * recording what a page script observes (every event's type, data, lastEventId, origin, class and
 * readyState at dispatch, listener order, what the server received). The two records must be equal:
 * for a drop-in, the DOM is the reference. Timing is left out (ours reconnects with `backoff: () => 0`,
 * waiting exactly the server's `retry:` as a browser does), and so is `isTrusted` (no script can make a
 * trusted event). Also runs `connect()` in the page.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bundleEntry,
  CHROMIUM,
  launchChromium,
  PAGE_HTML,
  type PageRun,
  type TestBrowser,
} from './browser.test-support.js';
import { type RecordedRequest, type Reply, type SseTestServer, startSseServer } from './test-server.js';

const available = existsSync(CHROMIUM);
// CI sets INTEG_REQUIRE_SERVICES=1: there a missing chromium fails this file instead of skipping it.
const { INTEG_REQUIRE_SERVICES } = process.env;
if (!available && INTEG_REQUIRE_SERVICES === '1')
  throw new Error(`${CHROMIUM} is missing but INTEG_REQUIRE_SERVICES=1: run .ci/setup.d/chromium.sh`);
if (!available)
  console.warn(
    `\n!!! @integ/sse: ${CHROMIUM} is missing, SKIPPING the browser tests (EventSource against the native one). Install it with \`apt-get install -y chromium\` (CI runs .ci/setup.d/chromium.sh). !!!\n`,
  );

/** Where a request of a run came from, for scenarios whose replies name another URL. */
interface ServeContext {
  /** The page's origin. */
  readonly origin: string;
  /** The cross-origin twin of the page's origin. */
  readonly crossOrigin: string;
  /** This run's path prefix, `/<impl>/<scenario>/`. */
  readonly prefix: string;
}

interface Scenario {
  /** The reply to `path` (below the run's prefix); `nth` counts this run's earlier requests to that path. */
  serve(path: string, nth: number, context: ServeContext): Reply;
  /** Runs in the page (serialized: it may use only `h` and the page's globals); its result is compared. */
  page(h: PageRun): Promise<unknown>;
}

/** The request headers compared: what the class sets, and what the browser adds for a fetch of its kind. */
type RequestHeader =
  | 'accept'
  | 'cache-control'
  | 'pragma'
  | 'last-event-id'
  | 'origin'
  | 'referer'
  | 'cookie'
  | 'sec-fetch-mode'
  | 'sec-fetch-dest'
  | 'sec-fetch-site';

/** What one run observed: all of it is compared between native and ours, but `aside`. */
interface Observed {
  readonly trace: unknown[];
  readonly result: unknown;
  readonly requests: {
    path: string;
    method: string;
    headers: { [name in RequestHeader]: string | undefined };
  }[];
  readonly aside: unknown[];
}

const stream = (chunks: (string | Uint8Array)[], end: Reply['end'] = 'hang'): Reply => ({ chunks, end });

describe.skipIf(!available)('EventSource in chromium, against the native one', () => {
  let browser: TestBrowser | undefined;
  let server: SseTestServer;
  let bundle = '';
  let origin = '';
  let crossOrigin = '';
  const scenarios = new Map<string, Scenario>();

  const route = (request: RecordedRequest): Reply => {
    if (request.path === '/')
      return { headers: { 'content-type': 'text/html; charset=utf-8' }, chunks: [PAGE_HTML] };
    if (request.path === '/bundle.js')
      return { headers: { 'content-type': 'text/javascript; charset=utf-8' }, chunks: [bundle] };
    const [, impl, name = '', path = ''] = /^\/(native|ours)\/([\w-]+)\/(.*)$/.exec(request.path) ?? [];
    const scenario = scenarios.get(name);
    if (scenario === undefined || (impl !== 'native' && impl !== 'ours'))
      return { status: 404, headers: { 'content-type': 'text/plain' } };
    const prefix = `/${impl}/${name}/`;
    const nth = server.requests.filter(
      (seen) => seen.index < request.index && seen.path === request.path,
    ).length;
    return scenario.serve(path, nth, { origin, crossOrigin, prefix });
  };

  beforeAll(async () => {
    // The bundle failing (a `node:` import, say) fails the file: the entry must build for browsers.
    bundle = await bundleEntry();
    server = await startSseServer(route);
    origin = new URL(server.url).origin;
    crossOrigin = origin.replace('127.0.0.1', 'localhost');
    browser = await launchChromium();
    await browser.page.goto(`${origin}/`);
    await browser.page.waitForFunction(() => (globalThis as { ready?: boolean }).ready === true);
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** Runs `scenario` with `impl` in the page and collects what the page and the server saw. */
  async function observe(impl: 'native' | 'ours', name: string, scenario: Scenario): Promise<Observed> {
    const page = (browser as TestBrowser).page;
    const seen = await page.evaluate(`(async () => {
      const h = makeRun(${JSON.stringify(impl)}, ${JSON.stringify(name)}, ${JSON.stringify(crossOrigin)});
      try {
        const result = await (${scenario.page.toString()})(h);
        return { trace: h.trace, result, aside: h.aside };
      } finally {
        h.closeAll();
      }
    })()`);
    const prefix = `/${impl}/${name}/`;
    // URLs in what the page saw name the run's namespace: the same for both once it is replaced.
    const { trace, result, aside } = JSON.parse(JSON.stringify(seen).replaceAll(prefix, '/IMPL/')) as Omit<
      Observed,
      'requests'
    >;
    const mine = server.requests.filter((request) => request.path.startsWith(prefix));
    // Every connection of the run is closed by the page's close() (or the server): nothing left open.
    await Promise.all(mine.map((request) => server.closed(request.index)));
    const requests = mine.map((request) => ({
      path: request.path.slice(prefix.length),
      method: request.method,
      headers: {
        accept: request.headers.accept,
        'cache-control': request.headers['cache-control'],
        pragma: request.headers.pragma,
        'last-event-id': request.lastEventId,
        origin: request.headers.origin,
        referer: request.headers.referer,
        cookie: request.headers.cookie,
        'sec-fetch-mode': request.headers['sec-fetch-mode'],
        'sec-fetch-dest': request.headers['sec-fetch-dest'],
        'sec-fetch-site': request.headers['sec-fetch-site'],
      },
    }));
    return { trace, result, requests, aside };
  }

  /** Runs `scenario` with both classes, one after the other, and expects the same observations. */
  async function differential(name: string, scenario: Scenario): Promise<[native: Observed, ours: Observed]> {
    scenarios.set(name, scenario);
    const native = await observe('native', name, scenario);
    const ours = await observe('ours', name, scenario);
    // A page that waited in vain recorded `{ timeout }`: the scenario did not run as written.
    expect(native.trace).not.toContainEqual({ timeout: expect.any(String) });
    expect(ours.trace).toEqual(native.trace);
    expect(ours.result).toEqual(native.result);
    expect(ours.requests).toEqual(native.requests);
    return [native, ours];
  }

  it('parses a stream as the browser does: ids, named events, multi-line data, comments, BOM, CRLF and CR, retry', async () => {
    const utf8 = new TextEncoder().encode('data: 2 €uro\n\n');
    const [native, ours] = await differential('format', {
      serve: () =>
        stream([
          '\uFEFF: a comment\nretry: 40\nid: 1\ndata: first\n\n',
          'event: greet\r\ndata: line 1\r\ndata: line 2\r\n\r\n',
          'id: 3\rdata:  two spaces\r\r',
          'data\n\n',
          'unknown: field\nretry: 1x\nevent: greet\ndata: named again\ndata\n\n',
          'data:\uFEFFkept\n\n',
          'event:\ndata: empty name is message\n\n',
          'event: open\ndata: named open\n\n',
          'event: error\ndata: named error\n\n',
          'data: split CR\r',
          '\ndata: same event\n\n',
          utf8.slice(0, 10),
          utf8.slice(10),
          new Uint8Array([0x64, 0x61, 0x74, 0x61, 0x3a, 0x20, 0xff, 0x0a, 0x0a]),
          'data: last\n\n',
        ]),
      page: async (h) => {
        const source = h.open(h.url('stream'));
        h.watch(source, 'listener', ['greet']);
        await h.until(() => h.seen('last'), 'last event');
        source.close();
        return { readyState: source.readyState, url: source.url };
      },
    });
    const messages = native.trace.filter((entry) => (entry as { message: boolean }).message);
    expect(messages.map((entry) => (entry as { data: string }).data)).toEqual([
      'first',
      'line 1\nline 2',
      ' two spaces',
      '',
      'named again\n',
      '\uFEFFkept',
      'empty name is message',
      'named open',
      'named error',
      'split CR\nsame event',
      '2 €uro',
      '\uFFFD',
      'last',
    ]);
    // Not compared: no script can make a trusted event (README, EventSource: "its events have `isTrusted`
    // false").
    expect(native.aside).toHaveLength(messages.length + 1);
    expect(native.aside.every((entry) => String(entry).endsWith('isTrusted:true'))).toBe(true);
    expect(ours.aside.every((entry) => String(entry).endsWith('isTrusted:false'))).toBe(true);
  });

  it('reconnects after the server ends the stream or the socket drops, sending Last-Event-ID, until close()', async () => {
    const [native] = await differential('reconnect', {
      serve: (path, nth, { prefix }) => {
        // The second connection's socket is destroyed once the page has seen its event: in Chromium a fetch body
        // drops what it has not handed to the page when the socket goes (README FAQ), so a reset on a timer made
        // ours miss 'two' on a loaded machine where the native class did not (2 of 5 runs once, review 39).
        if (path === 'drop') {
          const second = server.requests.filter((request) => request.path === `${prefix}stream`)[1];
          server.responses.get(second?.index ?? -1)?.socket?.destroy();
          return { headers: { 'content-type': 'text/plain' } };
        }
        return (
          [
            stream(['retry: 20\nid: 1\ndata: one\n\n'], 'close'),
            stream(['id: 2\ndata: two\n\n']),
            stream(['data: three\n\n']),
          ][nth] ?? { status: 500 }
        );
      },
      page: async (h) => {
        const source = h.open(h.url('stream'));
        h.watch(source, 'listener');
        await h.until(() => h.seen('two'), 'second event');
        await fetch(h.url('drop'));
        await h.until(() => h.seen('three'), 'third event');
        source.close();
        const after = source.readyState;
        await h.sleep(100);
        return { after, url: source.url };
      },
    });
    expect(
      native.requests
        .filter((request) => request.path === 'stream')
        .map((request) => request.headers['last-event-id']),
    ).toEqual([undefined, '1', '2']);
  });

  // Review 39: in Chromium (156) a fetch body that errors drops the bytes it has not handed to the page yet, also to
  // a read() already waiting, when the page's main thread was busy as they and the reset came: 8 and 7 of 20 kept
  // in a probe against the native class's 20 and 20 (undici, Node 20 and 24: 20 of 20). No script can read faster than
  // the page runs, so connect() and our EventSource lose such an event there; what they keep is the contract that
  // makes it harmless: Last-Event-ID names the last event dispatched, so a server that replays from it sends the lost
  // event again. Each round: 'one', then, while a listener holds the main thread, 'two' and a reset; the reconnection
  // gets what follows the id it names. Both classes must see one, two, three once each. Ours lost 'two' in 4, 1 and 2
  // of the 8 rounds in three runs here, the native class in none (not asserted: it is the browser's timing).
  it("loses an event that came just before a reset to a busy page (Chromium's fetch), and gets it again by Last-Event-ID", async () => {
    const rounds = 8;
    const scenario: Scenario = {
      serve: () => {
        const request = server.requests.at(-1) as RecordedRequest;
        if (request.lastEventId === undefined) {
          // 'two' and the reset come while the page's listener of 'one' holds the main thread (300 ms).
          setTimeout(() => {
            const response = server.responses.get(request.index);
            response?.write('id: 2\ndata: two\n\n', () => setTimeout(() => response.socket?.destroy(), 10));
          }, 50);
          return stream(['retry: 20\nid: 1\ndata: one\n\n']);
        }
        return stream([
          ...(request.lastEventId === '1' ? ['id: 2\ndata: two\n\n'] : []),
          'id: 3\ndata: three\n\n',
        ]);
      },
      page: async (h) => {
        const seen: string[][] = [];
        for (let round = 0; round < 8; round++) {
          // 8: `rounds` (the page function is serialized and sees nothing outside it).
          const data: string[] = [];
          const source = h.open(h.url(`round-${round}`));
          source.addEventListener('message', (event) => {
            data.push(event.data);
            const end = performance.now() + (event.data === 'one' ? 300 : 0);
            while (performance.now() < end);
          });
          await h.until(() => data.includes('three'), `round ${round}`);
          source.close();
          seen.push(data);
        }
        return seen;
      },
    };
    scenarios.set('busy-reset', scenario);
    for (const impl of ['native', 'ours'] as const) {
      const { result, trace, requests } = await observe(impl, 'busy-reset', scenario);
      expect(trace).toEqual([]);
      expect(result).toEqual(Array.from({ length: rounds }, () => ['one', 'two', 'three']));
      const resumedFrom = requests
        .filter((request) => request.headers['last-event-id'] !== undefined)
        .map((request) => request.headers['last-event-id']);
      // Each reconnection names the last event its page was given: '1' where 'two' was lost, '2' where not.
      expect(resumedFrom).toHaveLength(rounds);
      expect(resumedFrom.every((id) => id === '1' || id === '2')).toBe(true);
    }
  });

  it('fails for good on 204, 404, 500, a 3xx without Location and a wrong Content-Type: error, CLOSED, no reconnect', async () => {
    const failures: Record<string, Reply> = {
      s204: { status: 204 },
      s404: { status: 404, chunks: ['retry: 0\ndata: not shown\n\n'] },
      s500: { status: 500, chunks: ['retry: 0\ndata: not shown\n\n'] },
      'no-location': { status: 302, chunks: ['retry: 0\ndata: not shown\n\n'] },
      'text-plain': { headers: { 'content-type': 'text/plain' }, chunks: ['retry: 0\ndata: not shown\n\n'] },
    };
    const [native] = await differential('fatal', {
      serve: (path) => failures[path] ?? { status: 500 },
      page: async (h) => {
        const states: unknown[] = [];
        for (const path of ['s204', 's404', 's500', 'no-location', 'text-plain']) {
          const source = h.open(h.url(path));
          h.watch(source, path);
          await h.until(() => source.readyState === 2, path);
          // Enough for ours (backoff: () => 0, retry: 0) to have reconnected if it were going to.
          await h.sleep(100);
          states.push([path, source.readyState]);
        }
        return states;
      },
    });
    expect(native.requests.map((request) => request.path)).toEqual([
      's204',
      's404',
      's500',
      'no-location',
      'text-plain',
    ]);
  });

  it('ignores an id with NULL, resets on an empty id, and sends no Last-Event-ID after a reset', async () => {
    const [native] = await differential('ids', {
      serve: (_path, nth) =>
        [
          stream(
            [
              'retry: 20\nid: x\ndata: 1\n\n',
              'id: a\0b\ndata: 2\n\n',
              'id:\ndata: 3\n\n',
              'id: y\ndata: 4\n\n',
              'id\ndata: 5\n\n',
            ],
            'close',
          ),
          stream(['id: é€\ndata: 6\n\n'], 'close'),
          stream(['data: 7\n\n']),
        ][nth] ?? { status: 500 },
      page: async (h) => {
        const source = h.open(h.url('stream'));
        h.watch(source, 'listener');
        await h.until(() => h.seen('7'), 'event 7');
        return source.readyState;
      },
    });
    expect(native.trace.filter((entry) => (entry as { message: boolean }).message)).toMatchObject(
      ['x', 'x', '', 'y', '', 'é€', 'é€'].map((lastEventId) => ({ lastEventId })),
    );
    // Last-Event-ID is the id's UTF-8 bytes (node:http reads header bytes as latin1).
    expect(native.requests.map((request) => request.headers['last-event-id'])).toEqual([
      undefined,
      undefined,
      Buffer.from('é€').toString('latin1'),
    ]);
  });

  it('does not dispatch an event without data, and discards a half event at the end of the stream', async () => {
    const [native] = await differential('discard', {
      serve: (_path, nth) =>
        [
          stream(
            ['retry: 20\nid: 1\ndata: a\n\n', 'id: 2\n\n', 'event: nodata\n\n', 'id: 3\ndata: half\n'],
            'close',
          ),
          stream(['data: b\n\n', 'data: half again'], 'close'),
          stream(['data: c\n\n']),
        ][nth] ?? { status: 500 },
      page: async (h) => {
        const source = h.open(h.url('stream'));
        h.watch(source, 'listener', ['nodata']);
        await h.until(() => h.seen('c'), 'event c');
        return source.readyState;
      },
    });
    expect(native.trace.filter((entry) => (entry as { message: boolean }).message).length).toBe(3);
    // An event with an id and no data is not dispatched, but its id becomes the last event id; the half
    // event's complete `id: 3` line is dropped with it.
    expect(native.requests.map((request) => request.headers['last-event-id'])).toEqual([undefined, '2', '2']);
  });

  it('stops dispatching when onmessage calls close(), even for events of the same chunk', async () => {
    await differential('close-in-handler', {
      serve: () => stream(['retry: 20\ndata: 1\n\ndata: 2\n\n']),
      page: async (h) => {
        const source = h.open(h.url('stream'));
        h.watch(source, 'before');
        source.onmessage = (event) => {
          h.trace.push({ at: 'onmessage', data: event.data });
          source.close();
          h.trace.push({ at: 'closed', readyState: source.readyState });
        };
        source.addEventListener('message', (event) =>
          h.trace.push({ at: 'after', data: event.data, readyState: source.readyState }),
        );
        await h.until(() => source.readyState === 2, 'closed');
        await h.sleep(150);
        return source.readyState;
      },
    });
  });

  it('keeps url after a redirect while events carry the final origin, and reconnects to the final URL', async () => {
    const [native] = await differential('redirect', {
      serve: (path, nth, { crossOrigin, prefix }) => {
        if (path === 'start') return { status: 302, headers: { location: 'final' } };
        if (path === 'final')
          return nth === 0 ? stream(['retry: 20\ndata: same\n\n'], 'close') : stream(['data: again\n\n']);
        if (path === 'cross') return { status: 307, headers: { location: `${crossOrigin}${prefix}remote` } };
        return { headers: { 'access-control-allow-origin': '*' }, chunks: ['data: remote\n\n'], end: 'hang' };
      },
      page: async (h) => {
        const same = h.open(h.url('start'));
        h.watch(same, 'same');
        await h.until(() => h.seen('again'), 'again');
        same.close();
        const cross = h.open(h.url('cross'));
        h.watch(cross, 'cross');
        await h.until(() => h.seen('remote'), 'remote');
        cross.close();
        return [same.url, cross.url].map((url) => url.replace(h.origin, 'ORIGIN'));
      },
    });
    // A redirect changes the request's URL list, and the standard fetches that request again (whatwg/html#503).
    expect(native.requests.map((request) => request.path)).toEqual([
      'start',
      'final',
      'final',
      'cross',
      'remote',
    ]);
  });

  it('accepts text/event-stream in any case and with parameters, and decodes UTF-8', async () => {
    const types = ['Text/Event-Stream', 'text/event-stream; charset=utf-8', 'text/event-stream;foo=bar'];
    const [native] = await differential('content-type', {
      serve: (path) => ({
        headers: { 'content-type': types[Number(path)] ?? 'text/event-stream' },
        chunks: ['data: é\n\n'],
        end: 'hang',
      }),
      page: async (h) => {
        for (const path of ['0', '1', '2']) {
          const source = h.open(h.url(path));
          h.watch(source, path);
          await h.until(() => h.trace.length === 2 * (Number(path) + 1), path);
          source.close();
        }
        return h.trace.length;
      },
    });
    expect(native.trace.filter((entry) => (entry as { data?: string }).data === 'é')).toHaveLength(3);
  });

  it('differs on purpose for a charset other than UTF-8: chromium fails the connection, ours reads UTF-8', async () => {
    // Not compared: the standard checks the MIME type's essence and always decodes UTF-8, and ours does so
    // (README, isEventStream: "`text/event-stream;charset=windows-1252` is one: the stream is always UTF-8");
    // chromium 156 fails a stream whose charset is not UTF-8. Recorded here so a change on either side shows.
    const run: Scenario = {
      serve: () => ({
        headers: { 'content-type': 'text/event-stream; charset=windows-1252' },
        chunks: ['data: é\n\n'],
        end: 'hang',
      }),
      page: async (h) => {
        const source = h.open(h.url('stream'));
        h.watch(source, 'listener');
        await h.until(() => source.readyState === 2 || h.seen('é'), 'an error or the event');
        return h.trace.map((entry) => {
          const {
            type,
            readyState,
            data = '',
          } = entry as { type: string; readyState: number; data?: string };
          return `${type} ${readyState} ${data}`.trim();
        });
      },
    };
    scenarios.set('charset', run);
    expect((await observe('native', 'charset', run)).result).toEqual(['error 2']);
    expect((await observe('ours', 'charset', run)).result).toEqual(['open 1', 'message 1 é']);
  });

  it('differs where fetch cannot tell: a cross-origin stream without CORS fails in chromium, ours reconnects', async () => {
    // Not compared: chromium fails the connection when the CORS check fails (WPT eventsource-cross-origin's
    // failCORS expects CLOSED), but fetch rejects a CORS failure with the same TypeError as a network error, which
    // the standard reconnects after: ours cannot tell them apart (README, EventSource). Also after a redirect.
    const run: Scenario = {
      serve: (path, _nth, context) =>
        path === 'redirect'
          ? { status: 302, headers: { location: `${context.crossOrigin}${context.prefix}stream` } }
          : stream(['data: x\n\n'], 'close'),
      page: async (h) => {
        const result: string[][] = [];
        for (const url of [h.url('stream', h.crossOrigin), h.url('redirect')]) {
          const source = h.open(url);
          const seen: string[] = [];
          source.onerror = () => seen.push(`error ${source.readyState}`);
          source.onmessage = () => seen.push('message');
          await h.until(() => source.readyState === 2 || seen.length >= 3, 'closed or three errors');
          source.close();
          result.push(seen.slice(0, 3));
        }
        return result;
      },
    };
    scenarios.set('no-cors', run);
    expect((await observe('native', 'no-cors', run)).result).toEqual([['error 2'], ['error 2']]);
    const reconnecting = ['error 0', 'error 0', 'error 0'];
    expect((await observe('ours', 'no-cors', run)).result).toEqual([reconnecting, reconnecting]);
  });

  it('has the DOM attributes, constants and prototype, withCredentials converted to a boolean', async () => {
    const [native] = await differential('attributes', {
      serve: (path, _nth, { origin }) => ({
        headers: {
          'access-control-allow-origin': path === 'cred' ? origin : '*',
          ...(path === 'cred' ? { 'access-control-allow-credentials': 'true' } : {}),
        },
        chunks: [`data: ${path.replace(/\?.*/, '')}\n\n`],
        end: 'hang',
      }),
      page: async (h) => {
        const ES = h.ES;
        const opened: [string, unknown, (Record<string, unknown> | null)?][] = [
          ['plain', h.url('plain')],
          ['true', h.url('true'), { withCredentials: true }],
          ['yes', h.url('yes'), { withCredentials: 'yes' }],
          ['zero', h.url('zero'), { withCredentials: 0 }],
          ['null', h.url('null'), null],
          ['relative', `${h.impl}/attributes/relative?q=1`],
          ['object', { toString: () => h.url('object') }],
          ['cred', h.url('cred', h.crossOrigin), { withCredentials: true }],
          ['anonymous', h.url('anonymous', h.crossOrigin)],
        ];
        // One at a time: chromium opens at most 6 connections per host.
        const sources: EventSource[] = [];
        const initial: number[] = [];
        const states: number[] = [];
        for (const [label, url, init] of opened) {
          const source = h.open(url as string, init);
          sources.push(source);
          initial.push(source.readyState);
          h.watch(source, label);
          await h.until(() => h.seen(label), label);
          states.push(source.readyState);
          source.close();
        }
        const plain = sources[0] as EventSource;
        const descriptor = (on: object, name: string | symbol) => {
          const found = Object.getOwnPropertyDescriptor(on, name);
          return (
            found && { ...found, get: typeof found.get, set: typeof found.set, value: typeof found.value }
          );
        };
        const handlers: unknown[] = [plain.onopen, plain.onmessage, plain.onerror];
        const handler = () => {};
        plain.onmessage = handler;
        handlers.push(plain.onmessage === handler);
        plain.onmessage = 'a string' as unknown as null;
        handlers.push(plain.onmessage);
        plain.onmessage = 5 as unknown as null;
        handlers.push(plain.onmessage);
        const listener = { handleEvent() {} };
        plain.onmessage = listener as unknown as null;
        handlers.push(plain.onmessage === listener);
        return {
          initial,
          states,
          withCredentials: sources.map((source) => source.withCredentials),
          urls: sources.map((source) =>
            source.url.replace(h.origin, 'ORIGIN').replace(h.crossOrigin, 'CROSS'),
          ),
          constants: [ES.CONNECTING, ES.OPEN, ES.CLOSED, plain.CONNECTING, plain.OPEN, plain.CLOSED],
          keys: Object.keys(plain),
          string: String(plain),
          tag: Object.prototype.toString.call(ES.prototype),
          class: [
            ES.name,
            ES.length,
            Object.getPrototypeOf(ES) === EventTarget,
            plain instanceof EventTarget,
          ],
          statics: Object.getOwnPropertyNames(ES).sort(),
          // `lastEventId` is ours only: README, EventSource: "plus a `lastEventId` getter".
          prototype: Object.getOwnPropertyNames(ES.prototype)
            .filter((name) => name !== 'lastEventId')
            .sort()
            .map((name) => [name, descriptor(ES.prototype, name)]),
          toStringTag: descriptor(ES.prototype, Symbol.toStringTag),
          handlers,
        };
      },
    });
    expect(native.result).toMatchObject({
      withCredentials: [false, true, true, false, false, false, false, true, false],
      constants: [0, 1, 2, 0, 1, 2],
    });
    expect(native.requests.map((request) => [request.path, request.headers.cookie])).toContainEqual([
      'plain',
      'session=1',
    ]);
  });

  it('runs onmessage, onopen and onerror for a dispatchEvent() of a synthetic event, as listeners in place', async () => {
    await differential('dispatch', {
      serve: () => stream(['retry: 20\n\n']),
      page: async (h) => {
        const source = h.open(h.url('stream'));
        await h.until(() => source.readyState === 1, 'open');
        h.watch(source, 'listener', ['custom']);
        const log = (label: string) =>
          function (this: unknown, event: Event) {
            h.trace.push({ at: label, self: this === source, ...h.describe(event, source) });
          };
        source.onmessage = log('onmessage');
        source.onopen = log('onopen');
        source.onerror = log('onerror');
        const dispatched = [
          source.dispatchEvent(
            new MessageEvent('message', { data: 'synthetic', lastEventId: 'L', origin: 'O' }),
          ),
          source.dispatchEvent(new Event('open')),
          source.dispatchEvent(new Event('error')),
          source.dispatchEvent(new MessageEvent('custom', { data: 'named' })),
        ];
        // An event handler returning false cancels the event (HTML "event handler processing algorithm").
        source.onmessage = () => false;
        const cancelable = new MessageEvent('message', { data: 'cancel me', cancelable: true });
        dispatched.push(source.dispatchEvent(cancelable), cancelable.defaultPrevented);
        source.onmessage = () => true;
        const kept = new MessageEvent('message', { data: 'keep me', cancelable: true });
        dispatched.push(source.dispatchEvent(kept), kept.defaultPrevented);
        return { dispatched, readyState: source.readyState };
      },
    });
  });

  it('runs onmessage among addEventListener listeners in the order it was first set, as the DOM does', async () => {
    await differential('listener-order', {
      serve: () => stream(['retry: 20\ndata: 1\n\ndata: 2\n\n']),
      page: async (h) => {
        const source = h.open(h.url('stream'));
        const log = (label: string) => (event: Event) =>
          h.trace.push(`${label} ${(event as MessageEvent).data}`);
        source.addEventListener('message', log('A'));
        source.onmessage = log('B');
        source.addEventListener('message', log('C'));
        // Replaced: keeps B's place.
        source.onmessage = log('B2');
        source.addEventListener('message', (event) => {
          h.trace.push(`D ${event.data}`);
          if (event.data !== '1') return;
          // Removed and set again: moves to the end, from the next event on.
          source.onmessage = null;
          source.onmessage = log('B3');
        });
        source.addEventListener('message', { handleEvent: log('E') });
        source.addEventListener('message', log('once'), { once: true });
        await h.until(() => h.trace.includes('B3 2'), 'second event');
        return source.readyState;
      },
    });
  });

  it('throws what the DOM throws for constructor arguments', async () => {
    const [native] = await differential('constructor', {
      serve: () => stream(['retry: 20\n\n']),
      page: async (h) => {
        const url = h.url('stream');
        const cases: [string, unknown[]][] = [
          ['no arguments', []],
          ['init 5', [url, 5]],
          ['init a string', [url, 'yes']],
          ['init true', [url, true]],
          ['init null', [url, null]],
          ['init undefined', [url, undefined]],
          ['init a function', [url, () => {}]],
          ['withCredentials yes', [url, { withCredentials: 'yes' }]],
          [
            'a throwing getter',
            [
              url,
              {
                get withCredentials(): boolean {
                  throw new RangeError('from the getter');
                },
              },
            ],
          ],
          [
            'an unparsable url and a throwing getter',
            [
              'http://[bad',
              {
                get withCredentials(): boolean {
                  throw new RangeError('from the getter');
                },
              },
            ],
          ],
          ['an unparsable url and init 5', ['http://[bad', 5]],
          ['a symbol url', [Symbol('url')]],
          ['an unparsable url', ['http://[bad']],
          ['a URL object', [new URL(url)]],
          ['undefined url', [undefined]],
        ];
        const outcomes: unknown[] = [];
        for (const [name, args] of cases) {
          try {
            const created = Reflect.construct(h.ES, args) as EventSource;
            created.close();
            outcomes.push([
              name,
              'created',
              created.url.replace(h.origin, 'ORIGIN'),
              created.withCredentials,
            ]);
          } catch (error) {
            const { name: errorName, message } = error as Error;
            outcomes.push([
              name,
              'threw',
              (error as Error).constructor.name,
              errorName,
              error instanceof TypeError,
            ]);
            h.aside.push(`${name}: ${message}`);
          }
        }
        return outcomes;
      },
    });
    expect(native.result).toContainEqual(['no arguments', 'threw', 'TypeError', 'TypeError', true]);
  });

  it('sends no request for a source closed in the task that created it', async () => {
    const [native] = await differential('closed-at-once', {
      serve: (path) => stream([`data: ${path}\n\n`]),
      page: async (h) => {
        // React's StrictMode runs an effect, its cleanup, then the effect again: only the last one connects.
        h.open(h.url('first')).close();
        const kept = h.open(h.url('second'));
        h.watch(kept, 'kept');
        await h.until(() => h.seen('second'), 'second');
        return kept.readyState;
      },
    });
    expect(native.requests.map((request) => request.path)).toEqual(['second']);
  });

  it('fails for good, with one error at CLOSED, on a URL fetch cannot get', async () => {
    await differential('schemes', {
      serve: () => ({ status: 404 }),
      page: async (h) => {
        const outcomes: unknown[] = [];
        for (const url of ['ftp://127.0.0.1/x', 'about:blank', 'mailto:someone@example.com']) {
          const source = h.open(url);
          h.watch(source, url);
          await h.until(() => source.readyState === 2, url);
          await h.sleep(50);
          outcomes.push([url, source.url, source.readyState]);
        }
        return outcomes;
      },
    });
  });

  it("resolves a relative URL against the document's base URL (<base href>), not location.href", async () => {
    await differential('base-href', {
      serve: (path) => (path === 'dir/stream' ? stream(['data: based\n\n']) : { status: 404 }),
      page: async (h) => {
        // The page is at `/`: without the <base>, 'stream' would be /stream, a 404 outside the run's prefix.
        const base = document.createElement('base');
        base.href = h.url('dir/page.html');
        document.head.append(base);
        try {
          // Closed in the task that created it: no request, only its url.
          const empty = h.open('');
          empty.close();
          const source = h.open('stream');
          h.watch(source, 'relative');
          await h.until(() => h.seen('based'), 'event');
          // connect() is ours alone; the native run reads the same URL with the native class.
          const events: string[] = [];
          if (h.impl === 'ours') {
            for await (const event of h.sse.connect('stream')) {
              events.push(event.data);
              break;
            }
          } else {
            const again = h.open('stream');
            await new Promise((resolve) => {
              again.onmessage = (event) => resolve(events.push(event.data));
            });
            again.close();
          }
          return { url: source.url, empty: empty.url, events };
        } finally {
          base.remove();
        }
      },
    });
  });

  it('runs connect() in the page: async iteration with Last-Event-ID, break, close(), and a typed error on 404', async () => {
    // Only its server side: the page script below is ours alone, nothing to compare.
    scenarios.set('connect', {
      serve: (path, nth) => {
        if (path === 'missing') return { status: 404 };
        if (path === 'stream')
          return nth === 0 ? stream(['retry: 20\nid: 1\ndata: one\n\n'], 'close') : stream(['data: two\n\n']);
        return stream(['data: hang\n\n']);
      },
      page: async () => undefined,
    });
    const result = await (browser as TestBrowser).page.evaluate(`(async () => {
      const { connect } = window.makeRun('ours', 'connect', '').sse;
      const url = (path) => location.origin + '/ours/connect/' + path;
      const events = [];
      for await (const event of connect(url('stream'), { backoff: () => 0 })) {
        events.push({ ...event });
        if (events.length === 2) break;
      }
      const open = connect(url('hang'));
      const held = [];
      setTimeout(() => open.close(), 100);
      for await (const event of open) held.push(event.data);
      let failure;
      try {
        for await (const event of connect(url('missing'))) held.push(event.data);
      } catch (error) {
        failure = { name: error.name, code: error.code, status: error.status, message: error.message };
      }
      return { events, held, failure };
    })()`);
    expect(result).toEqual({
      events: [
        { type: 'message', data: 'one', lastEventId: '1' },
        { type: 'message', data: 'two', lastEventId: '1' },
      ],
      held: ['hang'],
      failure: expect.objectContaining({ name: 'SseHttpError', code: 'ERR_SSE_STATUS', status: 404 }),
    });
    const requests = server.requests.filter((request) => request.path.startsWith('/ours/connect/'));
    expect(requests.map((request) => [request.path, request.lastEventId, request.headers.accept])).toEqual([
      ['/ours/connect/stream', undefined, 'text/event-stream'],
      ['/ours/connect/stream', '1', 'text/event-stream'],
      ['/ours/connect/hang', undefined, 'text/event-stream'],
      ['/ours/connect/missing', undefined, 'text/event-stream'],
    ]);
    // break and close() closed their connections.
    await Promise.all(requests.map((request) => server.closed(request.index)));
  });

  // second review, 2026-11-24: the readyState sequence and error events of reconnections that fail, close()
  // from open, error and named-event listeners, and what a listener's microtasks see between two events.
  it('fires error at CONNECTING for each failed reconnection, then error at CLOSED when a reconnection gets a fatal status', async () => {
    const [native] = await differential('reconnect-then-fatal', {
      serve: (_path, nth) =>
        [
          stream(['retry: 20\nid: 1\ndata: one\n\n'], 'close'),
          { drop: true },
          stream([], 'close'),
          { status: 500, chunks: ['data: not shown\n\n'] },
        ][nth] ?? { status: 404 },
      page: async (h) => {
        const source = h.open(h.url('stream'));
        h.watch(source, 'listener');
        await h.until(() => source.readyState === 2, 'closed');
        await h.sleep(100);
        return source.readyState;
      },
    });
    expect(native.requests.map((request) => request.headers['last-event-id'])).toEqual([
      undefined,
      '1',
      '1',
      '1',
    ]);
  });

  it('stops when an open, error or named-event listener calls close(), with nothing dispatched after it', async () => {
    await differential('close-in-listeners', {
      serve: (path) =>
        path === 'in-error'
          ? stream(['retry: 20\ndata: 1\n\n'], 'close')
          : stream(['retry: 20\nevent: stop\ndata: 1\n\ndata: 2\n\n']),
      page: async (h) => {
        const states: unknown[] = [];
        for (const [path, type] of [
          ['in-open', 'open'],
          ['in-error', 'error'],
          ['in-named', 'stop'],
        ] as const) {
          const source = h.open(h.url(path));
          h.watch(source, `${path} before`, ['stop']);
          source.addEventListener(type, () => {
            source.close();
            h.trace.push({ at: `${path} closed`, readyState: source.readyState });
          });
          h.watch(source, `${path} after`, ['stop']);
          await h.until(() => source.readyState === 2, path);
          await h.sleep(100);
          states.push([path, source.readyState]);
        }
        return states;
      },
    });
  });

  it('runs the microtasks a listener queues before the next event of the same chunk is dispatched', async () => {
    await differential('microtasks', {
      serve: () => stream(['retry: 20\ndata: 1\n\ndata: 2\n\nevent: x\ndata: 3\n\n']),
      page: async (h) => {
        const source = h.open(h.url('stream'));
        const log = (event: Event) => {
          const { data } = event as MessageEvent;
          h.trace.push(`event ${data}`);
          queueMicrotask(() => h.trace.push(`microtask ${data}`));
          if (data === '2') Promise.resolve().then(() => source.close());
        };
        source.addEventListener('message', log);
        source.addEventListener('x', log);
        await h.until(() => source.readyState === 2, 'closed');
        await h.sleep(100);
        return source.readyState;
      },
    });
  });
});
