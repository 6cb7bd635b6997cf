/**
 * Review round 22: a cross-review of round 21's redirect fixes (08a4f45: an `EventSource` reconnection to another
 * origin leaves out Authorization, Cookie and Proxy-Authorization; 338e6da: the final URL is kept for GET and HEAD
 * only) and of its README changes, over real loopback servers. Reconnection waits run on the fake clock.
 */
import { connect, EventSource, type SseEvent } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';
import {
  loopbackEach,
  type RecordedRequest,
  type Reply,
  reconnections,
  type SseTestServer,
  WAIT,
} from './test-server.js';

const { serve, open } = loopbackEach();

const SECRET = ['authorization', 'cookie', 'proxy-authorization'] as const;
/** Path and the three credential headers (and x-trace) as a request carried them ('-': not sent). */
const seen = (request: RecordedRequest): string =>
  [request.path, ...[...SECRET, 'x-trace'].map((name) => request.headers[name] ?? '-')].join(' ');
/** Path and Authorization alone. */
const auth = (request: RecordedRequest): string =>
  `${request.method} ${request.path} ${request.headers.authorization ?? '-'}`;

/** A stream that sends `data: <index>` and ends (so the client reconnects), then hangs from connection `hangFrom`. */
const stream =
  (hangFrom = 1) =>
  ({ index }: RecordedRequest): Reply => ({
    chunks: [`data: ${index}\n\n`],
    ...(index >= hangFrom ? { end: 'hang' as const } : {}),
  });

describe('EventSource reconnecting to another origin (08a4f45): which headers go', () => {
  const forms: [string, HeadersInit][] = [
    [
      'pairs in upper case',
      [
        ['AUTHORIZATION', 'Bearer s'],
        ['COOKIE', 'c=s'],
        ['PROXY-AUTHORIZATION', 'Basic s'],
        ['X-Trace', 't'],
      ],
    ],
    [
      'a record in mixed case',
      { Authorization: 'Bearer s', CooKie: 'c=s', 'Proxy-Authorization': 'Basic s', 'X-TRACE': 't' },
    ],
    [
      'a Headers',
      new Headers({
        authorization: 'Bearer s',
        cookie: 'c=s',
        'proxy-authorization': 'Basic s',
        'x-trace': 't',
      }),
    ],
  ];
  for (const [form, headers] of forms)
    it(`leaves the three out whatever the case of their names (${form}), and keeps the others`, async () => {
      const target = await serve(stream());
      const front = await serve(() => ({ status: 307, headers: { location: target.url } }));
      const clock = createFakeClock();
      const { onReconnect, waitOut } = reconnections(clock);
      const source = open(front.url, { clock, onReconnect, headers });
      const data: string[] = [];
      source.onmessage = (event) => data.push(event.data);
      await waitOut();
      await vi.waitFor(() => expect(data).toEqual(['0', '1']), WAIT);
      expect(front.requests.map(seen)).toEqual(['/events Bearer s c=s Basic s t']);
      expect(target.requests.map(seen)).toEqual(['/events - - - t', '/events - - - t']);
      // The user's Headers object is copied, not emptied.
      if (headers instanceof Headers) expect(headers.get('authorization')).toBe('Bearer s');
    });

  it('an async headers function is called before every attempt; its token reaches the origin given only, also after a redirect back there', async () => {
    // A/events -> 307 B/events (opens, ends); the reconnection asks B directly, which now redirects to A/final
    // (opens, ends); the next reconnection asks A/final, the origin given: with the token again.
    let b!: SseTestServer;
    const a = await serve(({ path, index }) =>
      path === '/events'
        ? { status: 307, headers: { location: b.url } }
        : { chunks: [`data: a${index}\n\n`], ...(index > 1 ? { end: 'hang' as const } : {}) },
    );
    b = await serve(({ index }) =>
      index === 0
        ? { chunks: ['data: b0\n\n'] }
        : { status: 307, headers: { location: new URL('/final', a.url).href } },
    );
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    let calls = 0;
    const headers = async (): Promise<HeadersInit> => {
      await 0;
      calls++;
      return { Authorization: `Bearer ${calls}`, 'X-Trace': `${calls}` };
    };
    const source = open(a.url, { clock, onReconnect, headers });
    const data: string[] = [];
    source.onmessage = (event) => data.push(event.data);
    await waitOut();
    await vi.waitFor(() => expect(data).toEqual(['b0', 'a1']), WAIT);
    await waitOut();
    await vi.waitFor(() => expect(data).toEqual(['b0', 'a1', 'a2']), WAIT);
    expect(calls).toBe(3);
    // fetch dropped the token on each redirect to another origin; the reconnection to B went without it.
    expect(a.requests.map(seen)).toEqual([
      '/events Bearer 1 - - 1',
      '/final - - - 2',
      '/final Bearer 3 - - 3',
    ]);
    expect(b.requests.map(seen)).toEqual(['/events - - - 1', '/events - - - 2']);
  });

  it('a chain A -> B -> A: the reconnection asks the final URL, of the origin given, with the token fetch had dropped at B', async () => {
    let b!: SseTestServer;
    const a = await serve(({ path, index }) =>
      path === '/events'
        ? { status: 307, headers: { location: b.url } }
        : stream(2)({ index } as RecordedRequest),
    );
    b = await serve(() => ({ status: 302, headers: { location: new URL('/final', a.url).href } }));
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const source = open(a.url, { clock, onReconnect, headers: { authorization: 'Bearer s' } });
    const data: string[] = [];
    source.onmessage = (event) => data.push(event.data);
    await waitOut();
    await vi.waitFor(() => expect(data).toEqual(['1', '2']), WAIT);
    expect(a.requests.map(auth)).toEqual(['GET /events Bearer s', 'GET /final -', 'GET /final Bearer s']);
    expect(b.requests.map(auth)).toEqual(['GET /events -']);
    expect(data).toHaveLength(2);
  });

  it('a relative Location: a path is the same origin (token kept), a scheme-relative one to another host is not', async () => {
    const other = await serve(stream());
    const otherPort = new URL(other.url).port;
    const server = await serve(({ path, index }) =>
      path === '/events'
        ? { status: 302, headers: { location: 'sub/../final?x=1' } }
        : path === '/cross'
          ? // localhost is another origin than 127.0.0.1, the same server process behind it.
            { status: 302, headers: { location: `//localhost:${otherPort}/events` } }
          : stream(2)({ index } as RecordedRequest),
    );
    const clock = createFakeClock();
    const same = reconnections(clock);
    const first = open(server.url, {
      clock,
      onReconnect: same.onReconnect,
      headers: { authorization: 'Bearer s' },
    });
    const data: string[] = [];
    first.onmessage = (event) => data.push(event.data);
    await same.waitOut();
    await vi.waitFor(() => expect(data).toEqual(['1', '2']), WAIT);
    expect(server.requests.map(auth)).toEqual([
      'GET /events Bearer s',
      'GET /final?x=1 Bearer s',
      'GET /final?x=1 Bearer s',
    ]);
    const cross = reconnections(clock);
    const second = open(new URL('/cross', server.url).href, {
      clock,
      onReconnect: cross.onReconnect,
      headers: { authorization: 'Bearer s' },
    });
    const crossData: string[] = [];
    second.onmessage = (event) => crossData.push(event.data);
    await cross.waitOut();
    await vi.waitFor(() => expect(crossData).toEqual(['0', '1']), WAIT);
    expect(other.requests.map(auth)).toEqual(['GET /events -', 'GET /events -']);
    expect(other.requests.map((request) => request.headers.host)).toEqual([
      `localhost:${otherPort}`,
      `localhost:${otherPort}`,
    ]);
  });

  it('compares origins, not spellings: a default port written out (:80) and an upper-case host are the same origin', async () => {
    // Port 80 cannot be bound in every test run: a fetch maps http://h.test (port 80) to the loopback server and
    // reports the final URL as a server would spell it, with :80 and in upper case.
    const server = await serve(stream());
    const real = new URL(server.url);
    const asked: string[] = [];
    const mapped = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const url = new URL(String(input));
      asked.push(`${url.href} ${new Headers(init?.headers).get('authorization') ?? '-'}`);
      const response = await fetch(new URL(url.pathname, real), init);
      return Object.defineProperty(response, 'url', { value: 'http://H.TEST:80/final' });
    };
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const source = open('http://h.test/events', {
      clock,
      onReconnect,
      fetch: mapped,
      headers: { authorization: 'Bearer s' },
    });
    const events: MessageEvent[] = [];
    source.onmessage = (event) => events.push(event);
    await waitOut();
    await vi.waitFor(() => expect(events).toHaveLength(2), WAIT);
    expect(asked).toEqual(['http://h.test/events Bearer s', 'http://h.test/final Bearer s']);
    expect(events.map((event) => event.origin)).toEqual(['http://h.test', 'http://h.test']);
  });

  it('a Location with user:password: fetch refuses to follow it (a network error, reconnected), nothing reaches it', async () => {
    const server = await serve(({ path }) =>
      path === '/events'
        ? { status: 307, headers: { location: `http://user:pw@127.0.0.1:${new URL(server.url).port}/final` } }
        : { chunks: ['data: x\n\n'], end: 'hang' },
    );
    const clock = createFakeClock();
    const { onReconnect, waitOut, seen: infos } = reconnections(clock);
    const source = open(server.url, { clock, onReconnect, headers: { authorization: 'Bearer s' } });
    const states: number[] = [];
    source.onerror = () => states.push(source.readyState);
    await waitOut();
    await vi.waitFor(() => expect(infos).toHaveLength(2), WAIT);
    expect(states).toEqual([EventSource.CONNECTING, EventSource.CONNECTING]);
    expect(server.requests.map(auth)).toEqual(['GET /events Bearer s', 'GET /events Bearer s']);
    expect(String(infos[0]?.error)).not.toContain('pw');
  });
});

describe('which URL a reconnection asks, by method (338e6da)', () => {
  const log = (request: RecordedRequest): string => `${request.method} ${request.path} ${request.body}`;

  it('HEAD behind a 301 stays HEAD: the reconnection asks the final URL with HEAD', async () => {
    const server = await serve(({ path }) =>
      path === '/events' ? { status: 301, headers: { location: '/final' } } : {},
    );
    const clock = createFakeClock();
    const { onReconnect, waitOut, seen: infos } = reconnections(clock);
    const source = open(server.url, { clock, onReconnect, method: 'HEAD' });
    const opened: string[] = [];
    source.onopen = () => opened.push('open');
    await waitOut();
    await vi.waitFor(() => expect(infos).toHaveLength(2), WAIT);
    expect(opened).toEqual(['open', 'open']);
    expect(server.requests.map(log)).toEqual(['HEAD /events ', 'HEAD /final ', 'HEAD /final ']);
  });

  for (const [method, status] of [
    ['post', 303],
    ['post', 301],
    ['Post', 302],
  ] as const)
    it(`'${method}' behind a ${status} (fetch follows it with a GET): the reconnection asks the URL given with POST`, async () => {
      const server = await serve(({ path, method: asked, index }) =>
        path === '/events'
          ? { status, headers: { location: '/final' } }
          : asked !== 'GET'
            ? { status: 405 }
            : stream(3)({ index } as RecordedRequest),
      );
      const clock = createFakeClock();
      const { onReconnect, waitOut } = reconnections(clock);
      const source = open(server.url, { clock, onReconnect, method, body: 'q' });
      const data: string[] = [];
      source.onmessage = (event) => data.push(event.data);
      await waitOut();
      await vi.waitFor(() => expect(data).toEqual(['1', '3']), WAIT);
      expect(server.requests.map(log)).toEqual([
        'POST /events q',
        'GET /final ',
        'POST /events q',
        'GET /final ',
      ]);
    });

  it("lower-case 'get' behind a 302 keeps the final URL, as GET does", async () => {
    const server = await serve(({ path, index }) =>
      path === '/events'
        ? { status: 302, headers: { location: '/final' } }
        : stream(2)({ index } as RecordedRequest),
    );
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const source = open(server.url, { clock, onReconnect, method: 'get' });
    const data: string[] = [];
    source.onmessage = (event) => data.push(event.data);
    await waitOut();
    await vi.waitFor(() => expect(data).toEqual(['1', '2']), WAIT);
    expect(server.requests.map(log)).toEqual(['GET /events ', 'GET /final ', 'GET /final ']);
  });

  it('a POST behind a 307 to another origin: asks the URL given again, and fetch drops the token on each redirect', async () => {
    const target = await serve(stream());
    const front = await serve(() => ({ status: 307, headers: { location: target.url } }));
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const source = open(front.url, {
      clock,
      onReconnect,
      method: 'POST',
      body: 'q',
      headers: { authorization: 'Bearer s' },
    });
    const data: string[] = [];
    source.onmessage = (event) => data.push(event.data);
    await waitOut();
    await vi.waitFor(() => expect(data).toEqual(['0', '1']), WAIT);
    expect(front.requests.map(auth)).toEqual(['POST /events Bearer s', 'POST /events Bearer s']);
    expect(target.requests.map(auth)).toEqual(['POST /events -', 'POST /events -']);
  });
});

describe('connect() after a redirect to another origin (unaffected by 08a4f45 and 338e6da)', () => {
  it('asks the URL given with the token on every reconnection; the other origin never gets it', async () => {
    const target = await serve(stream());
    const front = await serve(() => ({ status: 307, headers: { location: target.url } }));
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const stream_ = connect(front.url, {
      clock,
      onReconnect,
      headers: { authorization: 'Bearer s', cookie: 'c=s' },
    });
    const events: SseEvent[] = [];
    const reading = (async () => {
      for await (const event of stream_) {
        events.push(event);
        if (events.length === 2) break;
      }
    })();
    await waitOut();
    await reading;
    expect(events.map((event) => event.data)).toEqual(['0', '1']);
    expect(front.requests.map(seen)).toEqual(['/events Bearer s c=s - -', '/events Bearer s c=s - -']);
    expect(target.requests.map(seen)).toEqual(['/events - - - -', '/events - - - -']);
  });
});

describe('a fetch wrapper that adds a token (the README fetch row, a381805)', () => {
  it('is handed the final URL of a redirect to another origin on reconnection: the token it adds goes there, unlike one in headers', async () => {
    // What the README's fetch row must say: only the headers option's credentials are left out for another origin.
    const target = await serve(stream());
    const front = await serve(() => ({ status: 307, headers: { location: target.url } }));
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const inputs: string[] = [];
    const wrapper = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      inputs.push(String(input));
      const headers = new Headers(init?.headers);
      headers.set('authorization', 'Bearer s');
      return fetch(input, { ...init, headers });
    };
    const source = open(front.url, { clock, onReconnect, fetch: wrapper });
    const data: string[] = [];
    source.onmessage = (event) => data.push(event.data);
    await waitOut();
    await vi.waitFor(() => expect(data).toEqual(['0', '1']), WAIT);
    expect(inputs).toEqual([front.url, target.url]);
    expect(front.requests.map(auth)).toEqual(['GET /events Bearer s']);
    expect(target.requests.map(auth)).toEqual(['GET /events -', 'GET /events Bearer s']);
  });
});

describe('what a redirect does to a method other than GET and HEAD (the README connection rules, 338e6da)', () => {
  for (const [status, after] of [
    [301, 'PUT'],
    [302, 'PUT'],
    [303, 'GET'],
    [307, 'PUT'],
  ] as const)
    it(`a PUT behind a ${status} reaches the final URL with ${after}; the reconnection asks the URL given`, async () => {
      const server = await serve(({ path, index }) =>
        path === '/events'
          ? { status, headers: { location: '/final' } }
          : stream(3)({ index } as RecordedRequest),
      );
      const clock = createFakeClock();
      const { onReconnect, waitOut } = reconnections(clock);
      const source = open(server.url, { clock, onReconnect, method: 'PUT', body: 'q' });
      const data: string[] = [];
      source.onmessage = (event) => data.push(event.data);
      await waitOut();
      await vi.waitFor(() => expect(data).toEqual(['1', '3']), WAIT);
      const body = after === 'PUT' ? 'q' : '';
      expect(server.requests.map((request) => `${request.method} ${request.path} ${request.body}`)).toEqual([
        'PUT /events q',
        `${after} /final ${body}`,
        'PUT /events q',
        `${after} /final ${body}`,
      ]);
    });
});

describe('an init signal (the README EventSource section, 1234ca1 and 062e8d4)', () => {
  it('aborted during the wait before a reconnection: CLOSED, no second error event, no request', async () => {
    const server = await serve(() => ({ chunks: ['data: a\n\n'] }));
    const controller = new AbortController();
    const clock = createFakeClock();
    const { seen: infos, onReconnect } = reconnections(clock);
    const source = open(server.url, { clock, onReconnect, signal: controller.signal } as never);
    const log: string[] = [];
    source.onerror = () => log.push(`error ${source.readyState}`);
    await vi.waitFor(() => expect(infos).toHaveLength(1), WAIT);
    controller.abort();
    await vi.waitFor(() => expect(source.readyState).toBe(EventSource.CLOSED), WAIT);
    await clock.runAll();
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(['error 0']);
    expect(server.requests).toHaveLength(1);
  });

  it('aborted while an async headers function is pending: CLOSED, no error event, nothing fetched', async () => {
    const server = await serve(() => ({ chunks: ['data: a\n\n'], end: 'hang' }));
    const controller = new AbortController();
    let called = 0;
    const headers = (): Promise<HeadersInit> => {
      called++;
      return new Promise(() => {});
    };
    const source = open(server.url, {
      clock: createFakeClock(),
      headers,
      signal: controller.signal,
    } as never);
    const log: string[] = [];
    source.onerror = () => log.push(`error ${source.readyState}`);
    await vi.waitFor(() => expect(called).toBe(1), WAIT);
    controller.abort();
    await vi.waitFor(() => expect(source.readyState).toBe(EventSource.CLOSED), WAIT);
    expect(log).toEqual([]);
    expect(server.requests).toHaveLength(0);
  });
});
