/**
 * A model test of the reconnecting client. `connect()` and `EventSource` run against a scripted server: a
 * stub `fetch` that treats its signal as fetch does (it rejects while the response is awaited and errors the
 * body after), whose bodies are pull streams handed to the client one chunk at a time on the fake clock.
 * Every attempt gets a random script (status, Content-Type, events with ids, `retry:`, comments, multi-line
 * data, CR/LF/CRLF, BOMs, random byte splits and gaps, then a normal end, a network error, silence, or
 * fetch rejecting), the consumer acts at random, and the server replays from the Last-Event-ID it receives,
 * as a real one does. The model then says which events had to arrive, which Last-Event-ID each request had
 * to carry, how long each reconnection had to wait and why, and that no timer, body or listener outlives
 * the iteration.
 */
import { getEventListeners } from 'node:events';
import { type Clock, TimeoutError, type TimerHandle } from '@integ/core';
import { type Backoff, decorrelated, exponential } from '@integ/retry';
import {
  connect,
  EventSource,
  type ReconnectInfo,
  SseConnectionError,
  type SseEvent,
  SseHttpError,
} from '@integ/sse';
import { createFakeClock, seededRandom } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// --- The scenario: the server's log, a script per attempt, the client's options, the consumer ------------

/** One block of the server's log: the fields it writes (in an order picked per connection), then a blank line. */
interface Block {
  readonly id: string | undefined;
  readonly type: string | undefined;
  /** The data lines; undefined: no data field, so the block dispatches nothing (it may still set the id). */
  readonly data: readonly string[] | undefined;
  readonly retry: number | undefined;
  readonly comment: string | undefined;
  /** A line the parser must ignore. */
  readonly junk: string | undefined;
}

/** What the server does on one connection attempt. */
interface Attempt {
  /** `status`: `status` with a right Content-Type; `type`: 200 with `badType`; `noAnswer`: never responds. */
  readonly kind: 'ok' | 'reject' | 'noAnswer' | 'status' | 'type';
  readonly status: 201 | 204 | 404 | 500;
  readonly okType: string;
  readonly badType: string | null;
  readonly responseDelay: number;
  /** How many blocks of the log it sends from the replay point on. */
  readonly blocks: number;
  /** Then a cut-off piece of the next block. */
  readonly partial: boolean;
  readonly bom: 0 | 1 | 2;
  /** After the last chunk: close, a network error, or nothing at all. */
  readonly ending: 'end' | 'error' | 'silence';
  /** Line endings, field order, chunk splits and gaps. */
  readonly seed: number;
  /** The answer comes from {@link REDIRECTED} after a redirect (a balancer sending the client to a node). */
  readonly redirect: boolean;
}

/** What the consumer does after taking an event. */
type Action =
  | { readonly kind: 'next' }
  | { readonly kind: 'slow'; readonly ms: number }
  | { readonly kind: 'break' | 'close' | 'abort' };

/**
 * A close() or abort from outside the loop: at a time, during the n-th fetch, during the n-th reconnection
 * wait, or right after the n-th chunk was handed to a read (before the client has parsed it).
 */
interface Kill {
  readonly on: 'time' | 'fetch' | 'reconnect' | 'chunk';
  readonly index: number;
  readonly frac: number;
  readonly how: 'close' | 'abort';
}

type BackoffKind = 'default' | 'zero' | 'full' | 'decorrelated' | 'broken';

interface Scenario {
  readonly log: readonly Block[];
  readonly attempts: readonly Attempt[];
  /** The `lastEventId` option: '' or the id of one of the log's blocks (resuming). */
  readonly initial: string;
  readonly maxDelay: number;
  readonly idleTimeout: number;
  readonly backoff: BackoffKind;
  readonly plan: readonly Action[];
  readonly kill: Kill | undefined;
  /** EventSource only: close() from the n-th `error` listener call (the `onerror = () => close()` pattern). */
  readonly closeOnError: number | undefined;
  readonly seed: number;
}

/** undefined, or a value of `arbitrary` `weight` times in 10. */
const maybe = <T>(arbitrary: fc.Arbitrary<T>, weight: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 10 - weight }, { arbitrary, weight });

const value = fc.string({
  unit: fc.constantFrom('a', 'b', ' ', ':', 'é', '😀', '\0', '\uFEFF', 'data: '),
  maxLength: 5,
});

const JUNK = [
  'foo: bar',
  'ids: 9',
  'idx',
  'data_5: x',
  'eventful: x',
  'Data: X',
  'DATA',
  ' data: x',
  'id: n\0ull',
  'retry',
  'retry: 12x',
  'retry:  5',
  'retry: -1',
  'retry: 1e3',
];

type IdKind = 'short' | 'ctl' | 'over' | 'overEuro' | 'edge';

/** The id of block `i`: unique in the log, `n` two digits so the byte counts below are exact. */
const idOf = (kind: IdKind, prefix: string, i: number): string => {
  const n = `${i}`.padStart(2, '0');
  switch (kind) {
    case 'short':
      return `${prefix}${i}`;
    case 'ctl':
      return `${prefix}\x01${n}`;
    case 'over':
      return `${'x'.repeat(4095)}${n}`; // 4097 bytes
    case 'overEuro':
      return `${'€'.repeat(1365)}${n}`; // 4097 bytes, 1367 characters
    case 'edge':
      return `${'€'.repeat(1364)}ab${n}`; // 4096 bytes exactly: sent
  }
};

/** Whether an id cannot go out as Last-Event-ID (README: a control character but tab, or over 4096 bytes of UTF-8). */
const unsendable = (id: string): boolean =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is its purpose
  /[\0-\x08\n-\x1f\x7f]/.test(id) || encoder.encode(id).length > 4096;

const logArb: fc.Arbitrary<Block[]> = fc
  .tuple(
    fc.array(
      fc.record({
        hasId: fc.boolean(),
        // Mostly a short id; now and then one no Last-Event-ID may carry (decisions 0141, 0146): a control
        // character, or over 4096 bytes of UTF-8 (ASCII, or `€` past 1365 characters), and one of exactly 4096
        // bytes, which goes.
        idKind: fc.constantFrom(...Array<IdKind>(12).fill('short'), 'ctl', 'over', 'overEuro', 'edge'),
        type: maybe(fc.constantFrom('', 'update', 'x y', 'message'), 4),
        data: maybe(fc.array(value, { minLength: 1, maxLength: 3 }), 8),
        retry: maybe(fc.constantFrom(0, 1, 250, 1000, 5000, 99_999), 2),
        comment: maybe(fc.constantFrom('', 'heartbeat', ' x', ':'), 2),
        junk: maybe(fc.constantFrom(...JUNK), 2),
      }),
      { maxLength: 12 },
    ),
    // Ids go back as a header: UTF-8 bytes, and no leading or trailing space (HTTP strips it from a value).
    fc.constantFrom('', 'é', '€-', '😀', 'x y', 'a:b'),
  )
  .map(([blocks, prefix]) =>
    blocks.map(({ hasId, idKind, ...b }, i) => ({ ...b, id: hasId ? idOf(idKind, prefix, i) : undefined })),
  );

const attemptArb: fc.Arbitrary<Attempt> = fc.record({
  kind: fc.oneof(
    { arbitrary: fc.constant('ok' as const), weight: 12 },
    { arbitrary: fc.constant('reject' as const), weight: 2 },
    { arbitrary: fc.constant('noAnswer' as const), weight: 1 },
    { arbitrary: fc.constant('status' as const), weight: 1 },
    { arbitrary: fc.constant('type' as const), weight: 1 },
  ),
  status: fc.constantFrom(201 as const, 204 as const, 404 as const, 500 as const),
  okType: fc.constantFrom(
    'text/event-stream',
    'text/event-stream; charset=utf-8',
    'TEXT/Event-Stream;charset=windows-1252',
  ),
  badType: fc.constantFrom(
    'text/plain',
    'application/json',
    null,
    'text/event-streams',
    'text/html; a=text/event-stream',
  ),
  responseDelay: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 400 })),
  blocks: fc.integer({ min: 0, max: 5 }),
  partial: fc.boolean(),
  bom: fc.constantFrom(0 as const, 0 as const, 1 as const, 2 as const),
  ending: fc.constantFrom('end' as const, 'end' as const, 'error' as const, 'silence' as const),
  seed: fc.integer(),
  redirect: fc.oneof(
    { arbitrary: fc.constant(false), weight: 3 },
    { arbitrary: fc.constant(true), weight: 1 },
  ),
});

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'next' as const }), weight: 14 },
  { arbitrary: fc.integer({ min: 1, max: 3000 }).map((ms) => ({ kind: 'slow' as const, ms })), weight: 3 },
  {
    arbitrary: fc
      .constantFrom('break' as const, 'close' as const, 'abort' as const)
      .map((kind) => ({ kind })),
    weight: 2,
  },
);

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    log: logArb,
    attempts: fc.array(attemptArb, { minLength: 1, maxLength: 6 }),
    initialPick: maybe(fc.nat(), 3),
    maxDelay: fc.constantFrom(0, 400, 3000, 30_000),
    idleTimeout: fc.oneof(
      { arbitrary: fc.constant(0), weight: 1 },
      { arbitrary: fc.integer({ min: 50, max: 3000 }), weight: 3 },
    ),
    backoff: fc.constantFrom<BackoffKind>('default', 'zero', 'full', 'decorrelated', 'broken'),
    plan: fc.array(actionArb, { maxLength: 25 }),
    kill: maybe(
      fc.record({
        on: fc.constantFrom('time' as const, 'fetch' as const, 'reconnect' as const, 'chunk' as const),
        index: fc.integer({ min: 0, max: 4 }),
        frac: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        how: fc.constantFrom('close' as const, 'abort' as const),
      }),
      5,
    ),
    closeOnError: maybe(fc.integer({ min: 0, max: 3 }), 3),
    seed: fc.integer(),
  })
  .map(({ initialPick, ...s }) => {
    // Resuming: the first request sends the id of one of the log's blocks.
    const ids = s.log.flatMap((b) => (b.id === undefined || unsendable(b.id) ? [] : [b.id]));
    const initial = initialPick === undefined || ids.length === 0 ? '' : ids[initialPick % ids.length]!;
    return { ...s, initial };
  });

/** After the scripted attempts, the server says stop. */
const FINAL: Attempt = {
  kind: 'status',
  status: 204,
  okType: 'text/event-stream',
  badType: null,
  responseDelay: 0,
  blocks: 0,
  partial: false,
  bom: 0,
  ending: 'end',
  seed: 0,
  redirect: false,
};

const URL_ = 'https://example.test/live?token=s3cret';
/** Where a redirected request was answered. */
const REDIRECTED = 'https://node2.example.test/live?token=s3cret';
/** A URL as errors name it: without its query. */
const bare = (url: string): string => url.replace(/\?.*/, '');

// --- Paths the runs must reach (asserted non-zero across each property) -----------------------------------

const seen = new Map<string, number>();
const count = (name: string): void => {
  seen.set(name, (seen.get(name) ?? 0) + 1);
};

// --- The world: the fake clock, a view of the client's timers, and the server's own agenda ----------------

interface Item {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The fake clock plus an agenda for the server and the consumer that is not on the clock, so
 * `pendingTimers` counts the client's timers alone. The client's timers are seen through a wrapper that
 * knows when each falls due, so the driver can jump from one thing to the next.
 */
function createWorld() {
  const fake = createFakeClock();
  const due = new Map<TimerHandle, number>();
  let instant = Number.NaN;
  let armed = 0;
  const clock: Clock = {
    now: () => fake.now(),
    setTimeout(callback, ms) {
      // A timer that re-arms itself for the same instant would spin the fake clock forever: fail instead.
      if (fake.now() !== instant) [instant, armed] = [fake.now(), 0];
      else if (++armed > 1000) throw new Error(`the client arms timers at ${instant} ms forever`);
      const handle: TimerHandle = fake.setTimeout(() => {
        due.delete(handle);
        callback();
      }, ms);
      due.set(handle, fake.now() + (Number.isFinite(ms) ? Math.max(0, ms) : 0));
      return handle;
    },
    clearTimeout(handle) {
      due.delete(handle);
      fake.clearTimeout(handle);
    },
  };
  const items: Item[] = [];
  let seq = 0;
  const at = (time: number, run: () => void): Item => {
    const item = { at: time, seq: seq++, run };
    items.push(item);
    return item;
  };
  const drop = (item: Item): void => {
    const i = items.indexOf(item);
    if (i !== -1) items.splice(i, 1);
  };

  /** Runs the next timer or agenda item; false when nothing is scheduled. */
  const step = async (): Promise<boolean> => {
    let timer = Number.POSITIVE_INFINITY;
    for (const t of due.values()) if (t < timer) timer = t;
    let item: Item | undefined;
    for (const c of items)
      if (item === undefined || c.at < item.at || (c.at === item.at && c.seq < item.seq)) item = c;
    if (timer === Number.POSITIVE_INFINITY && item === undefined) return false;
    // On a tie the client's timer goes first: a watchdog due the instant a chunk comes fires (idle >= limit).
    const target = item === undefined || timer <= item.at ? timer : item.at;
    if (target > fake.now()) await fake.advance(target - fake.now());
    if (fake.now() < target) fake.setNow(target);
    if (item === undefined || timer <= item.at) await fake.advance(0);
    else {
      drop(item);
      item.run();
    }
    await flush();
    return true;
  };

  return {
    fake,
    clock,
    at,
    drop,
    sleep: (ms: number) =>
      new Promise<void>((resolve) => {
        at(fake.now() + ms, resolve);
      }),
    async run(done: () => boolean, stalled: () => void): Promise<void> {
      for (let n = 0; n < 20_000; n++) {
        await flush();
        if (done()) return;
        if (!(await step())) stalled();
      }
      throw new Error('the run did not end');
    },
    /** Runs out whatever is left (nothing should happen). */
    async settle(): Promise<void> {
      for (let n = 0; n < 200 && (await step()); n++);
      await flush();
    },
  };
}

type World = ReturnType<typeof createWorld>;

// --- The server ---------------------------------------------------------------------------------------------

/** Where, in the bytes of a body, a block's blank line or a `retry:` line takes effect. */
interface Mark {
  /** Bytes needed: the first byte of the line's ending included (a CR ends a line by itself). */
  readonly at: number;
  readonly block?: number;
  readonly retry?: number;
}

interface Connection {
  readonly index: number;
  readonly requestAt: number;
  /** Last-Event-ID as the server decodes it (UTF-8), undefined when not sent. */
  readonly header: string | undefined;
  /** The URL asked for, and the one that answered (another after a redirect), as errors name them. */
  readonly asked: string;
  answered: string;
  readonly script: Attempt;
  marks: readonly Mark[];
  /** A 200 text/event-stream response was sent. */
  opened: boolean;
  /** Bytes handed to the client's reads. */
  delivered: number;
  /** When the client last got something: the request, then each chunk. */
  readonly activity: number[];
  response: 'pending' | 'sent' | 'rejected';
  body: 'none' | 'live' | 'closed' | 'errored' | 'cancelled' | 'aborted';
  end:
    | {
        at: number;
        how: 'closed' | 'errored' | 'rejected' | 'aborted' | 'cancelled' | 'fatal';
        reason?: unknown;
      }
    | undefined;
  /** The body had chunks or an end still to come. */
  more: boolean;
}

const encoder = new TextEncoder();

/** The body of a connection replaying the log from `start`, and where each block and retry takes effect. */
function buildBody(
  log: readonly Block[],
  start: number,
  script: Attempt,
  random: () => number,
): { bytes: Uint8Array; marks: Mark[] } {
  const parts: Uint8Array[] = [];
  let size = 0;
  const marks: Mark[] = [];
  let afterCR = false;
  const put = (text: string): void => {
    const bytes = encoder.encode(text);
    parts.push(bytes);
    size += bytes.length;
  };
  const pick = <T>(of: readonly T[]): T => of[Math.floor(random() * of.length)]!;
  const line = (text: string): number => {
    if (text !== '') {
      put(text);
      afterCR = false;
    }
    // A blank line ended by LF right after a line ended by CR would read as that line's CRLF.
    const eol = pick(text === '' && afterCR ? ['\r', '\r\n'] : ['\n', '\r', '\r\n']);
    const at = size + 1;
    put(eol);
    afterCR = eol === '\r';
    return at;
  };
  const sp = (): string => (random() < 0.7 ? ' ' : '');
  const block = (i: number): void => {
    const b = log[i]!;
    const lines: { text: string; retry?: number }[] = (b.data ?? []).map((v) => ({
      text: v === '' && random() < 0.3 ? 'data' : `data:${v.startsWith(' ') ? ' ' : sp()}${v}`,
    }));
    const fields: { text: string; retry?: number }[] = [];
    if (b.comment !== undefined) fields.push({ text: `:${b.comment}` });
    if (b.type !== undefined)
      fields.push({ text: b.type === '' && random() < 0.5 ? 'event' : `event:${sp()}${b.type}` });
    if (b.junk !== undefined) fields.push({ text: b.junk });
    if (b.id !== undefined) fields.push({ text: `id:${sp()}${b.id}` });
    if (b.retry !== undefined) fields.push({ text: `retry:${sp()}${b.retry}`, retry: b.retry });
    // The other fields anywhere among the data lines, which keep their order.
    for (const field of fields) lines.splice(Math.floor(random() * (lines.length + 1)), 0, field);
    for (const { text, retry } of lines) {
      const at = line(text);
      if (retry !== undefined) marks.push({ at, retry });
    }
    marks.push({ at: line(''), block: i });
  };

  if (script.bom > 0) put('\uFEFF');
  // One BOM is stripped; a second one is part of the first line's field name, so that line is ignored.
  if (script.bom === 2) {
    count('bom2');
    line('\uFEFFdata: lost');
    line('');
  }
  const end = Math.min(log.length, start + script.blocks);
  if (end === start && random() < 0.5) line(': keep-alive');
  for (let i = start; i < end; i++) block(i);
  let cut = size;
  if (script.partial) {
    const from = size;
    if (end < log.length) block(end);
    else {
      // An unfinished event with an id: neither dispatched nor its id kept.
      line('id: ghost');
      put('data: half');
    }
    cut = from + Math.floor(random() * (size - from));
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return { bytes: bytes.subarray(0, cut), marks: marks.filter((m) => m.at <= cut) };
}

/** `bytes` in random pieces (a BOM, a UTF-8 character or a CRLF may be split). */
function split(bytes: Uint8Array, random: () => number): Uint8Array[] {
  if (bytes.length === 0) return [];
  const cuts = new Set<number>([0, bytes.length]);
  const n = Math.floor(random() * Math.min(bytes.length, 9));
  for (let k = 0; k < n; k++) cuts.add(1 + Math.floor(random() * (bytes.length - 1)));
  const sorted = [...cuts].sort((a, b) => a - b);
  return sorted.slice(1).map((to, k) => bytes.subarray(sorted[k]!, to));
}

interface Server {
  readonly fetch: typeof fetch;
  readonly conns: Connection[];
  /** The URL requests go to: the one given, or for an EventSource the final URL of its last stream opened. */
  target: string;
  readonly problems: string[];
  onFetch?: (conn: Connection) => void;
  /** Called right after a chunk is handed to the client's read. */
  onChunk?: (n: number) => void;
}

/**
 * The scripted server behind a stub fetch. It treats the request's signal as fetch does: an abort rejects
 * a pending response with the signal's reason, and errors the body of a response already given.
 */
function createServer(s: Scenario, world: World, follow: boolean): Server {
  const conns: Connection[] = [];
  const problems: string[] = [];
  const now = (): number => world.clock.now();
  let chunksSent = 0;
  const server: Server = {
    conns,
    problems,
    target: URL_,
    fetch: (input, init) => {
      const index = conns.length;
      // connect() asks the URL given again, an EventSource the final URL, as browsers do (README).
      if (String(input) !== server.target) problems.push(`request ${index} went to ${String(input)}`);
      const headers = new Headers(init?.headers);
      if (headers.get('accept') !== 'text/event-stream') problems.push(`request ${index} without Accept`);
      if (init?.method !== 'GET' || init.body != null || init.cache !== 'no-store')
        problems.push(`request ${index}: method ${init?.method}, cache ${init?.cache}`);
      const raw = headers.get('last-event-id');
      // A header value is bytes; the client sends the id as UTF-8.
      const header =
        raw === null ? undefined : new TextDecoder().decode(Uint8Array.from(raw, (c) => c.charCodeAt(0)));
      if (header !== undefined && /[^\0-\x7f]/.test(header)) count('utf8 Last-Event-ID');
      let start = 0;
      if (header !== undefined) {
        const found = s.log.findIndex((b) => b.id === header);
        if (found === -1)
          problems.push(`request ${index} sent Last-Event-ID ${JSON.stringify(header)}, never sent`);
        start = found + 1;
      }
      const script = s.attempts[index] ?? FINAL;
      const random = seededRandom(script.seed);
      const conn: Connection = {
        index,
        requestAt: now(),
        header,
        asked: bare(String(input)),
        answered: bare(String(input)),
        script,
        marks: [],
        opened: false,
        delivered: 0,
        activity: [now()],
        response: 'pending',
        body: 'none',
        end: undefined,
        more: false,
      };
      conns.push(conn);
      const signal = init?.signal ?? undefined;
      let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
      return new Promise<Response>((resolve, reject) => {
        let item: Item | undefined;
        const onAbort = (): void => {
          signal?.removeEventListener('abort', onAbort);
          const reason: unknown = signal?.reason;
          if (conn.response === 'pending') {
            if (item !== undefined) world.drop(item);
            conn.response = 'rejected';
            conn.end ??= { at: now(), how: 'aborted', reason };
            reject(reason);
          } else if (conn.body === 'live') {
            conn.body = 'aborted';
            conn.end ??= { at: now(), how: 'aborted', reason };
            controller?.error(reason);
          }
        };
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort);
        server.onFetch?.(conn);
        if (script.kind === 'noAnswer') return;
        item = world.at(now() + script.responseDelay, () => {
          if (script.kind === 'reject') {
            const error = new TypeError('fetch failed');
            conn.response = 'rejected';
            conn.end = { at: now(), how: 'rejected', reason: error };
            signal?.removeEventListener('abort', onAbort);
            reject(error);
            return;
          }
          conn.response = 'sent';
          const fatal = script.kind !== 'ok';
          // What fetch gives after a redirect: redirected set, url the final one (a stub Response has neither).
          const answer = (response: Response): Response => {
            if (!script.redirect) return response;
            count(fatal ? 'redirect: refused' : 'redirect: opened');
            conn.answered = bare(REDIRECTED);
            if (follow && !fatal) server.target = REDIRECTED;
            return Object.defineProperties(response, {
              redirected: { value: true },
              url: { value: REDIRECTED },
            });
          };
          const type = script.kind === 'type' ? script.badType : script.okType;
          const status = script.kind === 'status' ? script.status : 200;
          if (fatal) conn.end = { at: now(), how: 'fatal' };
          else conn.opened = true;
          if (status === 204) {
            signal?.removeEventListener('abort', onAbort);
            return resolve(answer(new Response(null, { status })));
          }
          const { bytes, marks } = buildBody(s.log, start, script, random);
          if (!fatal) conn.marks = marks;
          const chunks = split(bytes, random);
          const idle = s.idleTimeout;
          const gap = (): number => {
            const r = random();
            if (idle === 0) return r < 0.6 ? 0 : random() * 2000;
            // Mostly well inside the watchdog's limit, sometimes past it (a stall mid-body).
            return r < 0.6 ? 0 : r < 0.9 ? random() * idle * 0.6 : idle * (0.8 + random() * 0.6);
          };
          let t = now();
          const available = chunks.map(() => (t += gap()));
          const endAt = t + gap();
          let next = 0;
          conn.body = 'live';
          conn.more = true;
          const body = new ReadableStream<Uint8Array>(
            {
              start(c) {
                controller = c;
              },
              // Called only while the client waits in read() (highWaterMark 0): what is enqueued is read.
              pull: (c) =>
                new Promise<void>((done) => {
                  if (next < chunks.length) {
                    const chunk = chunks[next]!;
                    world.at(Math.max(now(), available[next++]!), () => {
                      if (conn.body === 'live') {
                        c.enqueue(chunk);
                        conn.delivered += chunk.length;
                        conn.activity.push(now());
                        server.onChunk?.(chunksSent++);
                      }
                      done();
                    });
                  } else if (fatal || script.ending === 'silence') conn.more = false;
                  else
                    world.at(Math.max(now(), endAt), () => {
                      conn.more = false;
                      if (conn.body === 'live') {
                        signal?.removeEventListener('abort', onAbort);
                        if (script.ending === 'end') {
                          conn.body = 'closed';
                          conn.end = { at: now(), how: 'closed' };
                          c.close();
                        } else {
                          const error = new TypeError('terminated');
                          conn.body = 'errored';
                          conn.end = { at: now(), how: 'errored', reason: error };
                          c.error(error);
                        }
                      }
                      done();
                    });
                }),
              cancel: () => {
                if (conn.body !== 'live') return;
                conn.body = 'cancelled';
                conn.end ??= { at: now(), how: 'cancelled' };
                signal?.removeEventListener('abort', onAbort);
              },
            },
            { highWaterMark: 0 },
          );
          resolve(
            answer(new Response(body, { status, headers: type === null ? {} : { 'content-type': type } })),
          );
        });
      });
    },
  };
  return server;
}

// --- One run --------------------------------------------------------------------------------------------

type Hook =
  | { readonly kind: 'reconnect'; readonly at: number; readonly info: ReconnectInfo }
  | { readonly kind: 'error'; readonly at: number; readonly error: unknown };

interface Observed {
  readonly world: World;
  readonly server: Server;
  readonly hooks: Hook[];
  readonly calls: { attempt: number; previousDelay: number; result: number }[];
  readonly received: SseEvent[];
  readonly problems: string[];
  kill: { how: string; from: string; at: number; fetches: number; live: Connection[] } | undefined;
  /** Called with each reconnection, after it is recorded. */
  onReconnect?: (hook: { at: number; info: ReconnectInfo }) => void;
  /** The client's pending timers the moment the iteration (or the EventSource) ended. */
  pendingAtEnd: number | undefined;
}

function backoffOf(kind: BackoffKind): Backoff {
  switch (kind) {
    case 'default':
      return exponential({ initial: 1000, factor: 2, max: 30_000, jitter: 'equal' });
    case 'zero':
      return () => 0;
    case 'full':
      return exponential({ initial: 100, factor: 3, max: 5000, jitter: 'full' });
    case 'decorrelated':
      return decorrelated({ initial: 50, max: 4000 });
    case 'broken':
      return ({ attempt }) => (attempt % 2 === 1 ? Number.NaN : -1);
  }
}

/** Sets up the world, the server and the client's options (with hooks and a recording backoff). */
function prepare(s: Scenario, follow = false) {
  const world = createWorld();
  const server = createServer(s, world, follow);
  const obs: Observed = {
    world,
    server,
    hooks: [],
    calls: [],
    received: [],
    problems: server.problems,
    kill: undefined,
    pendingAtEnd: undefined,
  };
  const inner = backoffOf(s.backoff);
  const options = {
    fetch: server.fetch,
    clock: world.clock,
    random: seededRandom(s.seed),
    // 'default' is the client's own default: its bounds are checked from the README, not from a record.
    backoff:
      s.backoff === 'default'
        ? undefined
        : (input: Parameters<Backoff>[0]) => {
            const result = inner(input);
            obs.calls.push({ attempt: input.attempt, previousDelay: input.previousDelay, result });
            return result;
          },
    maxDelay: s.maxDelay,
    idleTimeout: s.idleTimeout,
    lastEventId: s.initial,
    onReconnect: (info: ReconnectInfo) => {
      if (obs.kill !== undefined) obs.problems.push(`onReconnect after ${obs.kill.how}`);
      const hook = { kind: 'reconnect' as const, at: world.clock.now(), info };
      obs.hooks.push(hook);
      obs.onReconnect?.(hook);
    },
    onError: (error: unknown) => {
      if (obs.kill !== undefined) obs.problems.push(`onError after ${obs.kill.how}`);
      obs.hooks.push({ kind: 'error', at: world.clock.now(), error });
    },
  };
  return { world, server, obs, options };
}

/** Where the client was when it was stopped from outside. */
function stateOf(obs: Observed): string {
  const last = obs.server.conns.at(-1);
  const reconnects = obs.hooks.filter((h) => h.kind === 'reconnect').length;
  if (last === undefined) return 'start';
  if (last.response === 'pending') return 'fetch';
  if (last.body === 'live') return 'body';
  if (reconnects === obs.server.conns.length) return 'wait';
  return 'between';
}

const liveBodies = (obs: Observed): Connection[] => obs.server.conns.filter((c) => c.body === 'live');

/** Arms the external kill on its trigger. */
function armKill(s: Scenario, obs: Observed, kill: (how: 'close' | 'abort', from: string) => void): void {
  const k = s.kill;
  if (k === undefined) return;
  const { world } = obs;
  const fire = (): void => kill(k.how, `external in ${stateOf(obs)}`);
  if (k.on === 'time') world.at(k.frac * 20_000, fire);
  else if (k.on === 'chunk')
    obs.server.onChunk = (n) => {
      if (n !== k.index) return;
      count('kill right after a chunk');
      fire();
    };
  else if (k.on === 'fetch')
    obs.server.onFetch = (conn) => {
      // Before the response, which is on the agenda after this (a tie goes to the kill).
      if (conn.index === k.index) world.at(world.clock.now() + k.frac * conn.script.responseDelay, fire);
    };
  else {
    let n = 0;
    obs.onReconnect = ({ at, info }) => {
      if (n++ === k.index) world.at(at + k.frac * info.delay, fire);
    };
  }
}

// --- The model ------------------------------------------------------------------------------------------

/**
 * Replays what the server sent against the standard's rules: the events the client had to dispatch, and
 * the last event id and `retry:` in force after each connection.
 */
function expectations(s: Scenario, obs: Observed) {
  let lastId = s.initial;
  // The id a request sends: the last id that can go as a header (the `lastEventId` option always can).
  let sent = s.initial;
  let retry = 0;
  const events: { event: SseEvent; block: number; conn: number }[] = [];
  const after: { lastId: string; sent: string; retry: number; dispatched: boolean }[] = [];
  for (const conn of obs.server.conns) {
    // Each request carries the last sendable id of a finished block so far, as UTF-8 (none while it is '').
    expect(conn.header, `Last-Event-ID of request ${conn.index}`).toBe(sent === '' ? undefined : sent);
    if (sent !== lastId)
      count(encoder.encode(lastId).length > 4096 ? 'long id kept back' : 'ctl id kept back');
    let dispatched = false;
    if (conn.opened)
      for (const mark of conn.marks) {
        if (mark.at > conn.delivered) {
          count('cut off');
          break;
        }
        if (mark.retry !== undefined) retry = mark.retry;
        if (mark.block === undefined) continue;
        const b = s.log[mark.block]!;
        if (b.id !== undefined) lastId = b.id;
        if (b.data === undefined) continue;
        // The id sent is taken at each event and each reconnection (README): an id-only block's id counts once
        // an event or the reconnection finds it still the last one.
        if (!unsendable(lastId)) sent = lastId;
        if (lastId.length > 1365 && !unsendable(lastId)) count('id of 4096 bytes');
        dispatched = true;
        events.push({
          event: { type: b.type || 'message', data: b.data.join('\n'), lastEventId: lastId },
          block: mark.block,
          conn: conn.index,
        });
      }
    if (!unsendable(lastId)) sent = lastId;
    after.push({ lastId, sent, retry, dispatched });
  }
  return { events, after };
}

/** Checks shared by connect() and EventSource. */
function checkRun(s: Scenario, obs: Observed, lastEventId: string): void {
  const { conns } = obs.server;
  const { world } = obs;
  expect(obs.problems).toEqual([]);
  const { events, after } = expectations(s, obs);
  const expected = events.map((e) => e.event);

  // Events in server order, each once, but for an event without an id that the server replays because no id
  // came after it before the connection dropped; nothing after close/abort (collected as problems above).
  if (obs.kill === undefined) expect(obs.received).toEqual(expected);
  else expect(obs.received).toEqual(expected.slice(0, obs.received.length));
  const firstSeen = new Map<number, number>();
  for (const e of events.slice(0, obs.received.length)) {
    const earlier = firstSeen.get(e.block);
    if (earlier === undefined) {
      firstSeen.set(e.block, e.conn);
      continue;
    }
    // Or one whose id could not be sent: the server replays from the last id that could.
    const id = s.log[e.block]!.id;
    expect(id === undefined || unsendable(id), 'only an event without a sendable id comes twice').toBe(true);
    expect(earlier, 'and only after a reconnection').toBeLessThan(e.conn);
    count('replayed without id');
  }
  expect(lastEventId).toBe(after.at(-1)?.lastId ?? s.initial);
  if (obs.received.length > 0) count('events');

  // Reconnections: one per connection that ended, with what ended it, the model's attempt, and the delay of
  // the README's formula; the next request exactly that much later.
  const reconnects = obs.hooks.flatMap((h) => (h.kind === 'reconnect' ? [h] : []));
  const ended = obs.kill === undefined ? conns.length - 1 : conns.length;
  expect(reconnects.length).toBeGreaterThanOrEqual(conns.length - 1);
  expect(reconnects.length).toBeLessThanOrEqual(ended);
  let attempt = 0;
  let previous = 0;
  for (const [c, { info, at }] of reconnects.entries()) {
    const conn = conns[c]!;
    const end = conn.end;
    if (after[c]!.dispatched) attempt = previous = 0;
    attempt++;
    if (attempt > 1) count('attempt > 1');
    expect(info.attempt, `attempt of reconnection ${c}`).toBe(attempt);
    expect(info.lastEventId, 'onReconnect: the id sent').toBe(after[c]!.sent);
    const retry = after[c]!.retry;
    const { maxDelay } = s;
    const scale = (b: number): number =>
      retry < maxDelay ? retry + (b * (maxDelay - retry)) / maxDelay : maxDelay;
    if (s.backoff === 'default') {
      // Equal jitter on exponential({ initial: 1000, factor: 2, max: min(maxDelay, 30000) }): [base / 2, base).
      const base = Math.min(maxDelay, 30_000, 1000 * 2 ** (attempt - 1));
      expect(info.delay).toBeGreaterThanOrEqual(scale(base / 2));
      // Below the top, also once the backoff reached maxDelay: capped there, not at 30 s, so its jitter is kept
      // (a backoff grown past maxDelay would be cut to exactly maxDelay, a fleet back in lockstep).
      if (retry < maxDelay) {
        expect(info.delay, 'jittered below the cap').toBeLessThan(scale(base));
        if (base === maxDelay && maxDelay < 1000 * 2 ** (attempt - 1)) count('default backoff at maxDelay');
      } else expect(info.delay).toBe(maxDelay);
    } else {
      const call = obs.calls[c]!;
      expect(call.attempt).toBe(attempt);
      expect(call.previousDelay).toBe(previous);
      const b = call.result >= 0 && call.result < maxDelay ? call.result : maxDelay;
      if (!(call.result >= 0)) count('broken backoff waits maxDelay');
      previous = b;
      expect(info.delay, `delay of reconnection ${c}`).toBe(scale(b));
    }
    // The server's retry: is the floor, maxDelay the cap.
    expect(info.delay).toBeGreaterThanOrEqual(Math.min(retry, maxDelay));
    expect(info.delay).toBeLessThanOrEqual(maxDelay);
    if (retry > 0) count(retry < maxDelay ? 'retry: floor' : 'retry: at the cap');
    const next = conns[c + 1];
    if (next !== undefined) expect(next.requestAt - at).toBeCloseTo(info.delay, 6);
    // Why it ended, naming the URL that answered, or before the response the one asked for (README, Errors).
    expect(end, `end of connection ${c}`).toBeDefined();
    const names = (error: unknown, answered: boolean): void => {
      const url = answered ? conn.answered : conn.asked;
      const other = answered ? conn.asked : conn.answered;
      expect((error as Error).message, `the URL error ${c} names`).toContain(`${url} `);
      if (other !== url) {
        count('error after a redirect');
        expect((error as Error).message).not.toContain(`${other} `);
      }
    };
    if (end?.how === 'closed') {
      count('end: normal');
      expect(info.error).toBeUndefined();
    } else if (end?.how === 'errored' || end?.how === 'rejected') {
      count(`end: ${end.how}`);
      expect(info.error).toBeInstanceOf(SseConnectionError);
      expect((info.error as Error).cause).toBe(end.reason);
      expect((info.error as Error).message).not.toContain('s3cret');
      names(info.error, end.how === 'errored');
    } else if (end?.how === 'aborted' && end.reason instanceof TimeoutError) {
      count(
        conn.response === 'rejected'
          ? 'watchdog: no answer'
          : conn.more
            ? 'watchdog: stall mid-body'
            : 'watchdog: silence',
      );
      expect(info.error).toBe(end.reason);
      expect(end.reason.timeoutMs).toBe(s.idleTimeout);
      names(end.reason, conn.response === 'sent');
    } else expect.fail(`connection ${c} ended by ${end?.how} and was reconnected`);
  }
  // onError: each reconnection's error (before it), then the final SseHttpError.
  const errors = obs.hooks.flatMap((h) => (h.kind === 'error' ? [h.error] : []));
  const reasons = reconnects.flatMap(({ info }) => (info.error === undefined ? [] : [info.error]));
  const last = conns.at(-1)!;
  for (const [i, reason] of reasons.entries()) expect(errors[i]).toBe(reason);
  // Then at most one more: the server's stop (always, unless the run was stopped first), or the failure whose
  // reconnection an error listener cancelled with close().
  const extra = errors.slice(reasons.length);
  if (obs.kill === undefined) expect(extra).toHaveLength(1);
  else expect(extra.length).toBeLessThanOrEqual(1);
  if (extra.length > 0 && obs.kill?.from !== 'in onerror') expect(extra[0]).toBeInstanceOf(SseHttpError);
  for (const conn of conns.slice(0, -1)) expect(conn.end?.how).not.toBe('fatal');
  if (obs.kill === undefined) {
    expect(last.end?.how, 'the run ends only on a fatal response').toBe('fatal');
    const error = errors.at(-1) as SseHttpError;
    const { kind, status } = last.script;
    count(kind === 'type' ? 'fatal: content type' : `fatal: ${status}`);
    expect(error.code).toBe(kind === 'type' ? 'ERR_SSE_CONTENT_TYPE' : 'ERR_SSE_STATUS');
    expect(error.status).toBe(kind === 'type' ? 200 : status);
    // The URL that answered: after a redirect, the node's.
    expect(error.url).toBe(last.answered);
    expect(error.message).not.toContain('s3cret');
  }

  // The watchdog fires idleTimeout after the last activity, and never while data keeps coming. On a clock at a
  // fraction of a ms "after" is the clock's own sum, last + idleTimeout, the instant advance(idleTimeout) reaches:
  // the difference back, end - last, may read 999.9999... for 1000 ms (decision 0176).
  for (const conn of conns) {
    const times = [...conn.activity];
    const timedOut = conn.end?.how === 'aborted' && conn.end.reason instanceof TimeoutError;
    if (conn.end !== undefined && !timedOut) times.push(conn.end.at);
    if (s.idleTimeout > 0)
      for (let i = 1; i < times.length; i++)
        expect(times[i]! - times[i - 1]!).toBeLessThan(s.idleTimeout + 1);
    if (timedOut) {
      expect(conn.end!.at).toBe(conn.activity.at(-1)! + s.idleTimeout);
    }
  }

  // Nothing left: no timer when it ended, no fetch after the end, every body closed, errored or cancelled.
  expect(obs.pendingAtEnd, 'timers the moment it ended').toBe(0);
  expect(world.fake.pendingTimers).toBe(0);
  if (obs.kill !== undefined) expect(conns.length, 'no request after the end').toBe(obs.kill.fetches);
  for (const conn of conns) {
    expect(conn.body, `body of connection ${conn.index}`).not.toBe('live');
    expect(conn.response).not.toBe('pending');
    // The client cancels what it stops reading: a refused response's body, and the body being read when it
    // is closed (before fetch's abort would error it).
    if (conn.end?.how === 'fatal' && conn.body !== 'none' && obs.kill === undefined)
      expect(conn.body, 'a refused body').toBe('cancelled');
    if (obs.kill?.live.includes(conn))
      expect(conn.body, 'the body read when it was closed').toBe('cancelled');
    if (conn.body === 'cancelled') count('body cancelled');
  }
}

// --- The properties -------------------------------------------------------------------------------------

const REQUIRED = [
  'events',
  'cut off',
  'replayed without id',
  'attempt > 1',
  'broken backoff waits maxDelay',
  'retry: floor',
  'retry: at the cap',
  'end: normal',
  'end: errored',
  'end: rejected',
  'watchdog: no answer',
  'watchdog: stall mid-body',
  'watchdog: silence',
  'fatal: 201',
  'fatal: 204',
  'fatal: 404',
  'fatal: 500',
  'fatal: content type',
  'utf8 Last-Event-ID',
  'redirect: opened',
  'redirect: refused',
  'error after a redirect',
  'default backoff at maxDelay',
  'long id kept back',
  'ctl id kept back',
  'id of 4096 bytes',
  'bom2',
  'body cancelled',
  'stall (server silent, no watchdog)',
  'kill external in wait',
  'kill external in fetch',
  'kill external in body',
  'kill right after a chunk',
];

describe('connect (model)', () => {
  it('delivers what the server sent, in order, resumes from the last id, waits the documented delays and leaves nothing behind', async () => {
    seen.clear();
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const { world, obs, options } = prepare(s);
        const controller = new AbortController();
        const reason = new Error('user left');
        const stream = connect(URL_, { ...options, signal: controller.signal });
        let done = false;
        const kill = (how: 'break' | 'close' | 'abort', from: string): void => {
          if (done) return;
          if (obs.kill === undefined) {
            obs.kill = {
              how,
              from,
              at: world.clock.now(),
              fetches: obs.server.conns.length,
              live: liveBodies(obs),
            };
            count(`kill ${from}`);
            count(`kill: ${how}`);
            count(`kill: ${how} ${from}`);
          }
          if (how === 'close') stream.close();
          if (how === 'abort') controller.abort(reason);
          // Both free every timer at once.
          if (how !== 'break' && world.fake.pendingTimers !== 0) obs.problems.push(`a timer left by ${how}`);
        };
        armKill(s, obs, kill);
        let outcome: { threw: boolean; error?: unknown } | undefined;
        let listenersAtEnd: number | undefined;
        const consumer = (async () => {
          let i = 0;
          try {
            for await (const event of stream) {
              if (obs.kill !== undefined && obs.kill.how !== 'break')
                obs.problems.push(`an event after ${obs.kill.how}`);
              obs.received.push(event);
              const action = s.plan[i++];
              if (action === undefined || action.kind === 'next') continue;
              if (action.kind === 'slow') {
                count('slow consumer');
                await world.sleep(action.ms);
                continue;
              }
              kill(action.kind, 'in the loop');
              if (action.kind === 'break') break;
            }
            outcome = { threw: false };
          } catch (error) {
            outcome = { threw: true, error };
          }
          obs.pendingAtEnd = world.fake.pendingTimers;
          listenersAtEnd = getEventListeners(controller.signal, 'abort').length;
          done = true;
        })();
        await world.run(
          () => done,
          () => {
            // Only a silent server without a watchdog may leave the client waiting: the user gives up.
            const last = obs.server.conns.at(-1);
            const silent = last !== undefined && (last.body === 'live' || last.response === 'pending');
            if (s.idleTimeout !== 0 || !silent || obs.kill !== undefined) throw new Error('the client hangs');
            count('stall (server silent, no watchdog)');
            kill('close', 'stalled');
          },
        );
        await consumer;
        await world.settle();
        checkRun(s, obs, stream.lastEventId);
        // break and close() end it quietly, an abort with the signal's reason, the server's stop with SseHttpError.
        if (obs.kill?.how === 'abort') expect(outcome).toEqual({ threw: true, error: reason });
        else if (obs.kill !== undefined) expect(outcome).toEqual({ threw: false });
        else {
          const last = obs.hooks.at(-1);
          expect(outcome?.error).toBeInstanceOf(SseHttpError);
          expect(outcome?.error).toBe(last?.kind === 'error' ? last.error : 'the last onError');
        }
        expect(listenersAtEnd, 'listeners on the caller signal when it ended').toBe(0);
        expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      }),
      { seed: 20261124, numRuns: 600 },
    );
    const connectOnly = [
      'kill: break',
      'kill: abort external in wait',
      'kill: abort external in fetch',
      'slow consumer',
    ];
    for (const name of [...REQUIRED, ...connectOnly]) expect(seen.get(name) ?? 0, name).toBeGreaterThan(0);
  });
});

describe('EventSource (model)', () => {
  it('fires what the server sent, open before each stream, error before each reconnection and at the end, nothing after close()', async () => {
    seen.clear();
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const { world, obs, options } = prepare(s, true);
        const source = new EventSource(URL_, options);
        const fired: { type: string; readyState: number }[] = [];
        const kill = (how: string, from: string): void => {
          if (source.readyState === EventSource.CLOSED) return;
          obs.kill = {
            how: 'close',
            from,
            at: world.clock.now(),
            fetches: obs.server.conns.length,
            live: liveBodies(obs),
          };
          count(`kill ${from}`);
          source.close();
          if (world.fake.pendingTimers !== 0) obs.problems.push(`a timer left by close() (${how})`);
          obs.pendingAtEnd = world.fake.pendingTimers;
        };
        armKill(s, obs, kill);
        const record = (event: Event): void => {
          if (obs.kill !== undefined) obs.problems.push(`${event.type} fired after close()`);
          fired.push({
            type: event.type === 'open' || event.type === 'error' ? event.type : 'message',
            readyState: source.readyState,
          });
        };
        let messages = 0;
        let errors = 0;
        let closedInOnerror = false;
        const onMessage = (event: MessageEvent): void => {
          record(event);
          // The origin of the stream's final URL.
          expect(event.origin).toBe(new URL(obs.server.target).origin);
          obs.received.push({ type: event.type, data: event.data, lastEventId: event.lastEventId });
          const action = s.plan[messages++];
          if (action !== undefined && action.kind !== 'next' && action.kind !== 'slow')
            kill(action.kind, 'in a listener');
        };
        for (const type of ['message', 'update', 'x y'])
          source.addEventListener(type, onMessage as EventListener);
        source.onopen = record;
        source.onerror = (event) => {
          record(event);
          if (source.readyState === EventSource.CLOSED) {
            obs.pendingAtEnd = world.fake.pendingTimers;
            return;
          }
          if (s.closeOnError === errors++) {
            closedInOnerror = obs.kill === undefined;
            kill('close', 'in onerror');
          }
        };
        await world.run(
          () => source.readyState === EventSource.CLOSED,
          () => {
            const last = obs.server.conns.at(-1);
            const silent = last !== undefined && (last.body === 'live' || last.response === 'pending');
            if (s.idleTimeout !== 0 || !silent) throw new Error('the client hangs');
            count('stall (server silent, no watchdog)');
            kill('close', 'stalled');
          },
        );
        await world.settle();
        checkRun(s, obs, source.lastEventId);
        // open (OPEN) before each stream's events, error (CONNECTING) before each reconnection, one error
        // (CLOSED) on the server's stop.
        const { conns } = obs.server;
        const reconnects = obs.hooks.filter((h) => h.kind === 'reconnect').length;
        const expectedFired: { type: string; readyState: number }[] = [];
        const { events } = expectations(s, obs);
        let next = 0;
        // onReconnect is not called when the error listener closed the source.
        const errorEvents = reconnects + (closedInOnerror ? 1 : 0);
        for (const conn of conns) {
          if (conn.opened) expectedFired.push({ type: 'open', readyState: 1 });
          for (; events[next]?.conn === conn.index; next++)
            expectedFired.push({ type: 'message', readyState: 1 });
          if (conn.index < errorEvents) expectedFired.push({ type: 'error', readyState: 0 });
        }
        if (obs.kill === undefined) expectedFired.push({ type: 'error', readyState: 2 });
        if (obs.kill === undefined) expect(fired).toEqual(expectedFired);
        else expect(fired).toEqual(expectedFired.slice(0, fired.length));
      }),
      { seed: 20261125, numRuns: 400 },
    );
    for (const name of [...REQUIRED, 'kill in onerror', 'kill in a listener'])
      expect(seen.get(name) ?? 0, name).toBeGreaterThan(0);
  });
});

describe('what the model found', () => {
  const events = { 'content-type': 'text/event-stream' };

  it('the watchdog times out on a clock with fractions of a ms instead of re-arming at the same instant forever', async () => {
    // A chunk at 236.138 ms: at 1236.138 the idle time reads 999.9999999999999 ms, and the 1e-13 ms left is
    // lost in the addition, so the timer was set again for the very same instant, over and over.
    const clock = createFakeClock();
    let body!: ReadableStreamDefaultController<Uint8Array>;
    let calls = 0;
    const errors: unknown[] = [];
    const stream = connect('https://example.test/live', {
      clock,
      idleTimeout: 1000,
      fetch: async (_input, init) => {
        if (calls++ > 0) return new Response(null, { status: 204 });
        const signal = init?.signal;
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            body = controller;
            signal?.addEventListener('abort', () => controller.error(signal.reason));
          },
        });
        return new Response(stream, { headers: events });
      },
      onError: (error) => errors.push(error),
    });
    const end = stream[Symbol.asyncIterator]()
      .next()
      .catch((error: unknown) => error);
    await clock.advance(236.138);
    body.enqueue(new TextEncoder().encode(': ping\n'));
    await clock.runAll(50);
    expect(errors[0]).toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(await end).toMatchObject({ code: 'ERR_SSE_STATUS', status: 204 });
    expect(calls).toBe(2);
    expect(clock.pendingTimers).toBe(0);
  });

  it('onReconnect is not called for a reconnection an error listener cancelled with close()', async () => {
    const clock = createFakeClock();
    const reconnects: ReconnectInfo[] = [];
    const source = new EventSource('https://example.test/live', {
      clock,
      fetch: async () => new Response('data: a\n\n', { headers: events }),
      onReconnect: (info) => reconnects.push(info),
    });
    const seen: string[] = [];
    source.onmessage = (event) => seen.push(event.data);
    source.onerror = () => source.close();
    await clock.runAll();
    expect(seen).toEqual(['a']);
    expect(source.readyState).toBe(EventSource.CLOSED);
    expect(reconnects).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('onReconnect is not called for a reconnection onError cancelled with close()', async () => {
    const clock = createFakeClock();
    const reconnects: ReconnectInfo[] = [];
    const errors: unknown[] = [];
    const stream = connect('https://example.test/live', {
      clock,
      fetch: () => Promise.reject(new TypeError('fetch failed')),
      onError: (error) => {
        errors.push(error);
        stream.close();
      },
      onReconnect: (info) => reconnects.push(info),
    });
    expect(await stream[Symbol.asyncIterator]().next()).toEqual({ done: true, value: undefined });
    expect(errors).toHaveLength(1);
    expect(reconnects).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });
});
