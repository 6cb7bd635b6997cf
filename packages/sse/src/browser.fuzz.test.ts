/**
 * Chromium's own `EventSource` as an oracle for random event streams: fast-check (fixed seed) generates
 * streams as BYTES from a grammar biased to the hard parts of the standard's parsing rules (field names with
 * and without colon, 0-2 leading spaces, CR/LF/CRLF mixed, BOMs, NULL in ids, non-ASCII and invalid UTF-8,
 * bogus `retry:`, event names `message`/``/`open`/`error`, streams ending mid-event). A loopback server sends
 * each stream in random chunks with tiny pauses (so some boundaries survive TCP) and ends it; the page opens
 * the native class and ours side by side and records what listeners see until the first error, when the
 * stream has ended. Ours must see what the native one sees, and so must `createByteParser` in Node, fed the
 * same bytes whole, at every chunk boundary of the run and one byte at a time. Where the stream's own
 * `retry:` makes it cheap, both reconnect and must send the same Last-Event-ID, the parser's last event id.
 * Two differences of chromium's are kept out, each with the spec step it departs from: see chromiumBomBug
 * (pinned in a test of its own) and emptyRetry (timing only).
 *
 * More runs locally: `SSE_FUZZ_RUNS=500 pnpm vitest run packages/sse/src/browser.fuzz.test.ts` (and
 * `SSE_FUZZ_SEED=<n>` for other streams). A failure names the minimal stream as an escaped byte string.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createByteParser, type SseEvent } from '@integ/sse';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bundleEntry,
  chromiumAvailable,
  launchChromium,
  PAGE_HTML,
  type PageRun,
  type TestBrowser,
} from './browser.test-support.js';

const available = chromiumAvailable('the randomized differential against the native EventSource');
const { SSE_FUZZ_RUNS, SSE_FUZZ_SEED } = process.env;
const runs = Number(SSE_FUZZ_RUNS ?? 200);
const seed = Number(SSE_FUZZ_SEED ?? 20_260_611);

/** One recorded step: `[type, data, lastEventId]` of a MessageEvent, or `['(open)' | '(error)', readyState]`. */
type Step = readonly unknown[];

const encoder = new TextEncoder();
const utf8 = (text: string): Uint8Array => encoder.encode(text);
const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

/** `bytes` as a double-quoted string: printable ASCII as is, `\n \r \0 \\ \"`, any other byte `\xNN`. */
function escapeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) {
    if (byte === 10) out += '\\n';
    else if (byte === 13) out += '\\r';
    else if (byte === 0) out += '\\0';
    else if (byte === 34 || byte === 92) out += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 32 && byte < 127) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `"${out}"`;
}

// Invalid UTF-8 (Encoding standard, UTF-8 decoder): lone continuation bytes, sequences cut short, overlong
// forms, surrogates encoded in UTF-8, code points above U+10FFFF, bytes that never occur in UTF-8.
const INVALID: readonly (readonly number[])[] = [
  [0x80],
  [0xbf],
  [0x80, 0x80],
  [0xc3],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
  [0xc0, 0x80],
  [0xc1, 0xbf],
  [0xe0, 0x80, 0x80],
  [0xe0, 0x9f, 0xbf],
  [0xf0, 0x80, 0x80, 0x80],
  [0xf0, 0x8f, 0xbf, 0xbf],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf5, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xfe],
  [0xff],
];
const BOM = utf8('\uFEFF');

const piece: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('a', 'x y', 'é', '€', '𝄞', '日本', ' ', ':', 'data: x').map(utf8) },
  { weight: 1, arbitrary: fc.constantFrom('\0', '\uFEFF', '\u2028', '\u0085').map(utf8) },
  { weight: 2, arbitrary: fc.constantFrom(...INVALID).map((bytes) => Uint8Array.from(bytes)) },
);
const text = (words: readonly string[]): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...words).map(utf8) },
    { weight: 2, arbitrary: fc.array(piece, { maxLength: 3 }).map(concat) },
  );
const ending = fc.constantFrom('\n', '\r', '\r\n').map(utf8);
// No colon, then 0, 1 and 2 spaces after the colon.
const separator = fc.constantFrom('', ':', ': ', ':  ').map(utf8);

const field = (name: string, words: readonly string[]): fc.Arbitrary<Uint8Array> =>
  fc
    .tuple(separator, text(words), ending)
    // Without a colon the whole line is the name: mostly the bare name (an empty value), sometimes more.
    .map(([sep, value, end]) =>
      concat(sep.length === 0 && value.length % 3 !== 0 ? [utf8(name), end] : [utf8(name), sep, value, end]),
    );

const line: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 6, arbitrary: field('data', ['', 'a', 'b c', ' lead', '{"json":1}']) },
  { weight: 3, arbitrary: field('event', ['message', '', 'open', 'error', 'greet', 'é']) },
  { weight: 3, arbitrary: field('id', ['1', 'x', '', 'a\0b', '\0', 'é€', ' 2']) },
  { weight: 2, arbitrary: field('retry', ['10', '0', '1x', ' 5', '-1', '0', '', '1e3', '99999999999']) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom(
          'foo',
          'Data',
          'dat',
          'datas',
          'ids',
          'i',
          'eventx',
          'retryy',
          ' data',
          'data ',
          '\uFEFFid',
        ),
        separator,
        text(['x', '1']),
        ending,
      )
      .map(([name, sep, value, end]) => concat([utf8(name), sep, value, end])),
  },
  // A comment.
  {
    weight: 2,
    arbitrary: fc
      .tuple(text(['', ' note', 'x']), ending)
      .map(([value, end]) => concat([utf8(':'), value, end])),
  },
  // A blank line within an event (the events below end with one anyway): dispatches early.
  { weight: 1, arbitrary: ending },
  // Stray bytes: a BOM or invalid UTF-8 mid-stream, glued to whatever line follows.
  { weight: 1, arbitrary: fc.oneof(fc.constant(BOM), piece) },
);

/** Lines, mostly ended by a blank line (which dispatches them); the last event of a stream may stay open. */
const event: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.array(line, { maxLength: 5 }), fc.option(ending, { freq: 6 }))
  .map(([lines, blank]) => concat(blank === null ? lines : [...lines, blank]));

/**
 * Whether chromium misreads the stream. Its EventSourceParser::AddBytes strips a leading BOM with a `continue`
 * that also skips the line-break test of the byte after it, so an LF (or a CR not followed by LF) right after
 * the BOM does not end the first line but joins it to the next: "\xef\xbb\xbf\ndata: 1\n\n" dispatches
 * nothing there. The standard decodes the stream with UTF-8 decode, which removes the BOM and nothing else
 * ("Parsing an event stream"; `stream = [ bom ] *event`), so that LF is a blank line and "1" is dispatched, as
 * ours does. (After a CRLF the CR is read as a line of its own, ignored: the same events.) Kept out of the
 * random comparison, and pinned in its own test below so that a change on either side shows.
 */
const chromiumBomBug = (bytes: Uint8Array): boolean =>
  bytes[0] === 0xef &&
  bytes[1] === 0xbb &&
  bytes[2] === 0xbf &&
  (bytes[3] === 10 || (bytes[3] === 13 && bytes[4] !== 10));

/**
 * A stream: 0-2 BOMs, maybe a `retry:`, then events (some ending mid-event), and the offsets where the server
 * cuts it.
 */
const streamArb = fc
  .tuple(
    fc.constantFrom(0, 0, 0, 1, 1, 2),
    // A short `retry:` first, as servers often send: then the Last-Event-ID of the reconnection is compared.
    fc.constantFrom('', '', '', '', 'retry: 0\n', 'retry:10\r\n').map(utf8),
    fc.array(event, { minLength: 1, maxLength: 6 }),
    fc.array(fc.nat(), { maxLength: 6 }),
  )
  .map(([boms, retry, events, cuts]) => {
    const bytes = concat([...Array.from({ length: boms }, () => BOM), retry, ...events]);
    const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))]
      .filter((point) => point > 0 && point < bytes.length)
      .sort((a, b) => a - b);
    return { bytes, points };
  })
  .filter(({ bytes }) => !chromiumBomBug(bytes));

const splitAt = (bytes: Uint8Array, points: readonly number[]): Uint8Array[] =>
  [0, ...points].map((start, i) => bytes.subarray(start, points[i] ?? bytes.length));

/**
 * Every `event:` value the stream could name, for the page to listen to (a named event reaches only the
 * listeners of its name). A superset is harmless; one missed shows as an event the Node parser has and the
 * page does not.
 */
function eventTypes(bytes: Uint8Array): string[] {
  const types = new Set(['message', 'open', 'error']);
  for (const text of new TextDecoder().decode(bytes).split(/\r\n|\r|\n/)) {
    const name = /^event(?::(.*))?$/s.exec(text);
    if (name) types.add((name[1] ?? '').replace(/^ /, ''));
  }
  return [...types];
}

/**
 * Whether the stream has a `retry` field with an empty value. Chromium sets its reconnection time back to its
 * default (3 s) on one (EventSourceParser::ParseLine, `kDefaultReconnectDelay`); the standard ("If the field
 * value consists of only ASCII digits ... Otherwise, ignore the field") and ours ignore it. Only the timing of a
 * reconnection differs, which is not compared: such streams are not reconnected (a superset is harmless).
 */
const emptyRetry = (bytes: Uint8Array): boolean =>
  /(^|[\r\n])retry(: ?)?($|[\r\n])/.test(new TextDecoder().decode(bytes));

/** What createByteParser does with the stream in these pieces. */
function parseInNode(pieces: readonly Uint8Array[]): { steps: Step[]; retry: number; lastEventId: string } {
  const steps: Step[] = [];
  let retry = Number.POSITIVE_INFINITY;
  const parser = createByteParser({
    onEvent: ({ type, data, lastEventId }: SseEvent) => steps.push([type, data, lastEventId]),
    onRetry: (ms) => {
      retry = ms;
    },
  });
  for (const each of pieces) parser.feed(each);
  return { steps, retry, lastEventId: parser.lastEventId };
}

/**
 * Runs in the page (serialized): both classes on their URLs at once, each recorded until its first error,
 * when the stream has ended. With `reconnect`, until the error of the reconnection instead (the server
 * answers it 204, which fails the source for good), to compare the Last-Event-ID each one sends.
 */
async function inPage(args: {
  base: string;
  types: readonly string[];
  reconnect: boolean;
}): Promise<Step[][]> {
  const run = (impl: 'native' | 'ours'): Promise<Step[]> =>
    new Promise((resolve) => {
      const h = (globalThis as unknown as { makeRun: (...args: string[]) => PageRun }).makeRun(
        impl,
        'fuzz',
        '',
      );
      const steps: Step[] = [];
      const source = h.open(`${args.base}/${impl}`);
      const timer = setTimeout(() => {
        h.closeAll();
        steps.push(['(timeout)', source.readyState]);
        resolve(steps);
      }, 5000);
      const record = (event: Event): void => {
        if (event instanceof MessageEvent) steps.push([event.type, event.data, event.lastEventId]);
        else if (event.type === 'open') steps.push(['(open)', source.readyState]);
        else if (event.type === 'error') {
          steps.push(['(error)', source.readyState]);
          if (args.reconnect && source.readyState !== 2) return;
          h.closeAll();
          clearTimeout(timer);
          resolve(steps);
        }
      };
      for (const type of args.types) source.addEventListener(type, record);
    });
  return Promise.all([run('native'), run('ours')]);
}

describe.skipIf(!available)('the parser against chromium on random event streams', () => {
  let browser: TestBrowser | undefined;
  let server: Server;
  const sockets = new Set<Socket>();
  let bundle = '';
  let origin = '';
  // The chunks of each run, by run number; a second request to a run (a reconnection) gets 204.
  const streams = new Map<string, Uint8Array[]>();
  const served = new Set<string>();
  // The Last-Event-ID header of each reconnection, by path.
  const lastEventIds = new Map<string, string | undefined>();
  let count = 0;

  beforeAll(async () => {
    bundle = await bundleEntry();
    server = createServer((request, response) => {
      const path = request.url ?? '/';
      if (path === '/' || path === '/bundle.js') {
        response.writeHead(200, {
          'content-type': `text/${path === '/' ? 'html' : 'javascript'}; charset=utf-8`,
        });
        response.end(path === '/' ? PAGE_HTML : bundle);
        return;
      }
      const chunks = streams.get(path.replace(/\/(native|ours)$/, ''));
      if (chunks === undefined || served.has(path)) {
        // A reconnection: fails the source for good, after telling which Last-Event-ID it sent.
        if (chunks !== undefined)
          lastEventIds.set(path, request.headers['last-event-id'] as string | undefined);
        response.writeHead(chunks === undefined ? 404 : 204).end();
        return;
      }
      served.add(path);
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      response.flushHeaders();
      void (async () => {
        for (const chunk of chunks) {
          response.write(chunk);
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        response.end();
      })();
    });
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    await browser.page.goto(`${origin}/`);
    await browser.page.waitForFunction(() => (globalThis as { ready?: boolean }).ready === true);
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server?.close(resolve));
  });

  /**
   * Serves `bytes` cut at `points` to the native class and to ours in the page, which record until the
   * end of the stream (with `reconnect`, until the reconnection fails), and the Last-Event-ID each sent.
   */
  async function observe(bytes: Uint8Array, points: readonly number[], reconnect = false) {
    const name = `/fuzz/${count++}`;
    streams.set(name, splitAt(bytes, points));
    const [native = [], ours = []] = await (browser as TestBrowser).page.evaluate(inPage, {
      base: origin + name,
      types: eventTypes(bytes),
      reconnect,
    });
    streams.delete(name);
    const sent = (impl: string): string | undefined => lastEventIds.get(`${name}/${impl}`);
    return { native, ours, sentByNative: sent('native'), sentByOurs: sent('ours') };
  }

  it(`dispatches what chromium's EventSource dispatches (${runs} streams, seed ${seed})`, async () => {
    let reconnected = 0;
    await fc.assert(
      fc.asyncProperty(streamArb, async ({ bytes, points }) => {
        const node = parseInNode([bytes]);
        // Reconnecting costs the stream's own `retry:` (chromium's default is seconds): only when it is short.
        const reconnect = node.retry <= 20 && !emptyRetry(bytes);
        const { native, ours, sentByNative, sentByOurs } = await observe(bytes, points, reconnect);
        const shown = `stream ${escapeBytes(bytes)} cut at [${points.join(', ')}]`;
        expect(native.at(-1), `the native class ended with an error: ${shown}`).toEqual([
          '(error)',
          reconnect ? 2 : 0,
        ]);
        expect(ours, `ours in chromium, ${shown}`).toEqual(native);
        const events = native.filter((step) => !String(step[0]).startsWith('('));
        expect(node.steps, `createByteParser, whole: ${shown}`).toEqual(events);
        const chunks = splitAt(bytes, points);
        expect(parseInNode(chunks).steps, `createByteParser, at the cuts: ${shown}`).toEqual(events);
        const single = Array.from(bytes, (byte) => Uint8Array.of(byte));
        expect(parseInNode(single).steps, `createByteParser, byte by byte: ${shown}`).toEqual(events);
        if (reconnect) {
          expect(sentByOurs, `Last-Event-ID of ours, ${shown}`).toBe(sentByNative);
          // Header values are bytes (node reads them as latin1): the id goes out as UTF-8, none when empty;
          // node also trims the value's leading and trailing spaces and tabs (RFC 9110 5.5, OWS).
          const id = Buffer.from(node.lastEventId, 'utf8').toString('latin1');
          expect(sentByNative, `Last-Event-ID against createByteParser, ${shown}`).toBe(
            id === '' ? undefined : id.replace(/^[ \t]+|[ \t]+$/g, ''),
          );
          reconnected++;
        }
      }),
      { seed, numRuns: runs },
    );
    // The Last-Event-ID comparison ran for some streams (those whose `retry:` was short).
    expect(reconnected).toBeGreaterThan(0);
  }, 120_000);

  it('differs on purpose after a leading BOM: chromium joins an LF or lone CR right after it to the next line', async () => {
    const messages = (steps: Step[]): unknown[] =>
      steps.filter((step) => !String(step[0]).startsWith('(')).map((step) => step[1]);
    const seen: unknown[] = [];
    for (const text of ['\uFEFF\ndata: 1\n\ndata: 2\n\n', '\uFEFF\rdata: 1\r\rdata: 2\r\r']) {
      const bytes = utf8(text);
      expect(chromiumBomBug(bytes)).toBe(true);
      // The standard's events, whole and in pieces.
      expect(
        parseInNode(Array.from(bytes, (byte) => Uint8Array.of(byte))).steps.map((step) => step[1]),
      ).toEqual(['1', '2']);
      const { native, ours } = await observe(bytes, [2, 4]);
      seen.push([messages(native), messages(ours)]);
    }
    expect(seen).toEqual([
      [['2'], ['1', '2']],
      [['2'], ['1', '2']],
    ]);
    // A CRLF after the BOM: chromium reads its CR as a line of its own (an unknown field), the same events.
    const crlf = utf8('\uFEFF\r\ndata: 1\r\n\r\n');
    expect(chromiumBomBug(crlf)).toBe(false);
    const { native, ours } = await observe(crlf, [4]);
    expect([messages(native), messages(ours)]).toEqual([['1'], ['1']]);
  });
});
