/**
 * The event stream parser of the WHATWG HTML standard, "Server-sent events", 9.2.6 "Parsing an event
 * stream" (https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream),
 * followed to the letter and written for speed: it scans the text with indexOf/charCodeAt, keeps only
 * the unfinished last line between chunks (and joins only that line with the next chunk), and dispatches
 * plain objects of one shape.
 */
import { IntegError } from '@integ/core';
import { fail } from './internal/check.js';

/**
 * One dispatched event, shaped like the DOM's `MessageEvent` as far as an event stream defines it.
 */
export interface SseEvent {
  /** The `event:` field, or `'message'` when the event had none (or an empty one). */
  readonly type: string;
  /** The `data:` lines joined with `\n`. */
  readonly data: string;
  /** The stream's last event id when the event was dispatched: it persists until an `id:` field changes it. */
  readonly lastEventId: string;
}

/** Callbacks and limits of {@link createParser}. */
export interface ParserOptions {
  /** Called for every dispatched event, synchronously from `feed()`. */
  readonly onEvent: (event: SseEvent) => void;
  /** Called with the reconnection time in ms of each valid `retry:` field (ASCII digits only). */
  readonly onRetry?: ((ms: number) => void) | undefined;
  /** Called with the text of each comment line (`:` and one following space removed). */
  readonly onComment?: ((comment: string) => void) | undefined;
  /** The last event id the stream starts with (a reconnecting client's). @default '' */
  readonly lastEventId?: string | undefined;
  /**
   * Most characters of one event: its data when it is dispatched (an event larger than this is dropped
   * and `feed()` throws {@link SseParseError}; the rest of the chunk is parsed by the next `feed()`), and,
   * checked after each `feed()`, what is buffered for an unfinished event (its unfinished line plus its data
   * so far, less 6 characters for the line's `data: `, so where the stream is cut never drops an event whose
   * data fits; past it the event is discarded, the parser reset and SseParseError thrown; an `id` the event sent
   * before that point becomes the last event id, so a client reconnects past the event). A number >= 1.
   * @default Infinity
   */
  readonly maxEventSize?: number | undefined;
}

/** A running parser: feed it text in chunks of any size. */
export interface Parser {
  /**
   * Parses the next piece of the stream. Events, retries and comments are reported synchronously.
   *
   * @throws {SseParseError} when an event, dispatched or pending, is larger than `maxEventSize`
   * @throws {InvalidArgumentError} when `text` is not a string (feed bytes to {@link createByteParser})
   */
  feed(text: string): void;
  /**
   * Starts a new stream, as a reconnection does: drops the unfinished line and event, strips the next
   * leading BOM again, and keeps the last event id of the dispatched events.
   */
  reset(): void;
  /** The last event id of the stream so far (set by every finished event, dispatched or not). */
  readonly lastEventId: string;
}

/**
 * The pending event grew larger than `maxEventSize` (`ERR_SSE_EVENT_TOO_LARGE`). Retryable: `connect()` and
 * `EventSource` reconnect after it, past the event when its `id:` came before the overflow (decision 0148).
 *
 * @example
 * ```ts
 * if (isIntegError(error, 'ERR_SSE_EVENT_TOO_LARGE')) console.warn('the server sent a huge event');
 * ```
 */
export class SseParseError extends IntegError {
  static override readonly name: string = 'SseParseError';
  /** The limit that was exceeded, in characters. */
  declare readonly limit: number;

  constructor(limit: number) {
    super('ERR_SSE_EVENT_TOO_LARGE', `SSE event over maxEventSize (${limit} characters)`, {
      retryable: true,
    });
    this.limit = limit;
  }
}

// Character codes are written as literals (10 LF, 32 space, 58 ':'): named constants become module `var`s in
// the bundle, 10 B more gzipped, which pay for the per-chunk size check in lines() (decision 0203).
const DIGITS = /^\d+$/;

/** Whether the line at `i` starts with `data:` (five charCodeAt: startsWith here costs 20 % on large chunks). */
const isData = (s: string, i: number): boolean =>
  s.charCodeAt(i) === 100 &&
  s.charCodeAt(i + 1) === 97 &&
  s.charCodeAt(i + 2) === 116 &&
  s.charCodeAt(i + 3) === 97 &&
  s.charCodeAt(i + 4) === 58;

/**
 * Creates a parser of `text/event-stream` text.
 *
 * @throws {InvalidArgumentError} when `onEvent` is not a function or `maxEventSize` is not a number >= 1
 * @example
 * ```ts
 * const parser = createParser({ onEvent: (event) => console.log(event.type, event.data) });
 * parser.feed('event: greeting\ndata: hello\n\n'); // logs "greeting hello"
 * ```
 */
export function createParser(options: ParserOptions): Parser {
  // `?? {}`: no options at all is a missing onEvent (InvalidArgumentError), not a destructuring TypeError.
  const { onEvent, onRetry, onComment, maxEventSize = Infinity } = options ?? ({} as ParserOptions);
  if (typeof onEvent !== 'function') fail('onEvent', 'a function', onEvent);
  // NaN would turn the limit off and a negative one would refuse every event: both are mistakes.
  if (typeof maxEventSize !== 'number' || !(maxEventSize >= 1))
    fail('maxEventSize', 'a number >= 1', maxEventSize);
  // The unfinished last line of the previous chunks.
  let tail = '';
  // When > 0, `tail` is the value of a `data:` line whose first this many characters were dropped.
  let tailData = 0;
  // After a throwing callback: the rest of its chunk, parsed first by the next feed().
  let rest = '';
  // Nothing seen yet on this stream: a leading U+FEFF is still to be stripped.
  let atStart = true;
  // The previous chunk ended with CR: an LF starting the next one belongs to that line ending.
  let afterCR = false;
  let data = '';
  let hasData = false;
  let type = '';
  let idBuffer = options.lastEventId ?? '';
  let lastEventId = idBuffer;

  const append = (value: string): void => {
    if (hasData) data = `${data}\n${value}`;
    else {
      data = value;
      hasData = true;
    }
  };

  const dispatch = (): void => {
    lastEventId = idBuffer;
    // A blank line with no `data` field dispatches nothing (and forgets the event type).
    if (hasData) {
      const event: SseEvent = { type: type === '' ? 'message' : type, data, lastEventId };
      data = '';
      hasData = false;
      type = '';
      if (event.data.length > maxEventSize) throw new SseParseError(maxEventSize);
      onEvent(event);
    } else type = '';
  };

  // One line in [start, end) of ls, not empty. Only the four known field names matter and anything else is
  // ignored, so names are matched by character codes: no colon search, no name string. A known name is
  // followed by ':' or by the end of the line (an empty value).
  const line = (ls: string, start: number, end: number): void => {
    const c = ls.charCodeAt(start);
    if (c === 58) {
      onComment?.(ls.slice(ls.charCodeAt(start + 1) === 32 ? start + 2 : start + 1, end));
      return;
    }
    // The first character picks the candidate name, so startsWith runs at most once per line.
    let v =
      c === 100 && ls.startsWith('data', start)
        ? start + 4
        : c === 101 && ls.startsWith('event', start)
          ? start + 5
          : c === 105 && ls.charCodeAt(start + 1) === 100
            ? start + 2
            : c === 114 && ls.startsWith('retry', start)
              ? start + 5
              : -1;
    if (v < end) {
      // "data_5" or "ids:" are other, unknown, field names, and so is any name at v = -1 (charCodeAt(-1) is NaN).
      if (ls.charCodeAt(v) !== 58) return;
      v += ls.charCodeAt(v + 1) === 32 ? 2 : 1;
    }
    // '' when v >= end (the name ended the line).
    const value = ls.slice(v, end);
    if (c === 100) append(value);
    else if (c === 101) type = value;
    // An id containing NULL is ignored (it could not be sent back in a Last-Event-ID header).
    else if (c === 105) {
      if (value.indexOf('\0') === -1) idBuffer = value;
    }
    // Only ASCII digits: "1000x", "-1", " 5" and "1e3" are ignored.
    else if (DIGITS.test(value)) onRetry?.(+value);
  };

  // The lines of a chunk from `pos` on when no CR is left in it (most streams), `lf` the first LF: a tight loop
  // over LF alone, where an event ending in a `data:` line followed by a blank line is dispatched without a
  // pass for the blank line. A function of its own, so that V8 optimizes it apart from the CR path in feed():
  // inside feed(), optimized on large LF chunks first, it made 64-character CRLF chunks 2x slower (0045).
  // Returns where it stopped.
  const lines = (s: string, pos: number, lf: number): number => {
    // An event of one `data:` line dispatched here is shorter than the chunk: when the chunk is within the limit, its
    // size check is skipped (decision 0203). One that joins data buffered before its last line (in earlier chunks,
    // or by a callback that called feed() mid-chunk, 0166) goes through dispatch(), which checks it: a bound taken
    // once per chunk on the data buffered missed data a callback added (review-34.test.ts).
    const check = s.length > maxEventSize;
    try {
      while (lf !== -1) {
        const start = pos;
        pos = lf + 1;
        if (isData(s, start)) {
          const value = s.slice(s.charCodeAt(start + 5) === 32 ? start + 6 : start + 5, lf);
          if (s.charCodeAt(pos) !== 10) append(value);
          else {
            pos++;
            if (hasData) {
              append(value);
              dispatch();
            } else {
              lastEventId = idBuffer;
              const event: SseEvent = { type: type === '' ? 'message' : type, data: value, lastEventId };
              type = '';
              if (check && value.length > maxEventSize) throw new SseParseError(maxEventSize);
              onEvent(event);
            }
          }
        } else {
          // `event:` and `id:` inline too, by character codes: a call to line() per field costs ~8 % on
          // large chunks, and startsWith() (a builtin call, not inlined) another ~8 %. The first character
          // is read only here, past the `data:` test that reads it too: most lines are `data:` lines.
          const c = s.charCodeAt(start);
          if (
            c === 101 &&
            s.charCodeAt(start + 1) === 118 &&
            s.charCodeAt(start + 2) === 101 &&
            s.charCodeAt(start + 3) === 110 &&
            s.charCodeAt(start + 4) === 116 &&
            s.charCodeAt(start + 5) === 58
          )
            type = s.slice(s.charCodeAt(start + 6) === 32 ? start + 7 : start + 6, lf);
          else if (c === 105 && s.charCodeAt(start + 1) === 100 && s.charCodeAt(start + 2) === 58) {
            const value = s.slice(s.charCodeAt(start + 3) === 32 ? start + 4 : start + 3, lf);
            if (value.indexOf('\0') === -1) idBuffer = value;
          }
          // A blank line, rare here (one after a `data:` line is taken with it), is tested past the `data:` test:
          // 6 B smaller gzipped than testing it first, no slower (0203).
          else if (start === lf) dispatch();
          else if (c !== 58 || onComment) line(s, start, lf);
        }
        lf = s.indexOf('\n', pos);
      }
    } catch (error) {
      rest = s.slice(pos);
      throw error;
    }
    return pos;
  };

  const feed = (text: string): void => {
    // Anything else would throw a TypeError from inside the loop, or be glued to a kept rest and misparsed.
    if (typeof text !== 'string') fail('feed(text)', 'a string', text);
    let s = text;
    let pos = 0;
    if (rest !== '') {
      // The unparsed rest of a chunk whose callback threw: it starts at a line start, tail is empty.
      s = rest + s;
      rest = '';
    } else {
      if (!s) return;
      if (atStart) {
        atStart = false;
        // The stream is decoded with UTF-8 decode, which strips exactly one leading BOM.
        if (s.charCodeAt(0) === 0xfeff) pos = 1;
      }
      if (afterCR) {
        afterCR = false;
        if (s.charCodeAt(pos) === 10) pos++;
      }
    }
    const len = s.length;
    let cr = s.indexOf('\r', pos);
    let lf = s.indexOf('\n', pos);
    try {
      // The lines up to the last CR, and a line begun in an earlier chunk; lines() does the rest.
      while (cr !== -1 || (lf !== -1 && tail !== '')) {
        const start = pos;
        let end: number;
        if (lf !== -1 && (cr === -1 || lf < cr)) {
          end = lf;
          pos = lf + 1;
          lf = s.indexOf('\n', pos);
        } else {
          end = cr;
          pos = cr + 1;
          if (lf === pos) {
            pos++;
            lf = s.indexOf('\n', pos);
          } else if (pos === len) afterCR = true;
          cr = s.indexOf('\r', pos);
        }
        if (tail !== '') {
          // The line began in an earlier chunk: only it is joined, the chunk is never copied or re-scanned
          // (a long line fed in small chunks stays linear). A `data:` line cut after its first 6 characters
          // was kept as its value (tailData), so the joined value is never flattened here.
          const head = tail;
          tail = '';
          if (tailData > 0) {
            tailData = 0;
            append(head + s.slice(start, end));
          } else {
            const joined = head + s.slice(start, end);
            line(joined, 0, joined.length);
          }
        } else if (start === end) dispatch();
        // `data:` lines, the most common by far, are handled inline.
        else if (isData(s, start))
          append(s.slice(s.charCodeAt(start + 5) === 32 ? start + 6 : start + 5, end));
        else line(s, start, end);
      }
    } catch (error) {
      // A callback threw: keep the unparsed rest of the chunk for the next feed(), so no other event is lost.
      rest = s.slice(pos);
      throw error;
    }
    // lines() with lf -1 returns pos, and at pos === len the test below fails and tail gets ''.
    pos = lines(s, pos, lf);
    // A `data:` line cut by the chunk keeps only its value, so joining more pieces never flattens it.
    if (tail === '' && len - pos > 6 && isData(s, pos)) {
      tailData = s.charCodeAt(pos + 5) === 32 ? 6 : 5;
      tail = s.slice(pos + tailData);
    } else tail += s.slice(pos);
    // Less 6, the most a field name and its space add ('data: '): an event whose data fits must not be dropped
    // because the stream was cut inside its last line (the check at dispatch counts the data alone).
    if (tail.length + tailData + data.length - 6 > maxEventSize) {
      // The event is dropped, and counts as finished: an id it sent before the overflow becomes the last event
      // id, so a client reconnecting with it resumes after the event instead of being sent it again.
      lastEventId = idBuffer;
      reset();
      throw new SseParseError(maxEventSize);
    }
  };

  const reset = (): void => {
    tail = '';
    tailData = 0;
    rest = '';
    atStart = true;
    afterCR = false;
    data = '';
    hasData = false;
    type = '';
    idBuffer = lastEventId;
  };

  return {
    feed,
    reset,
    get lastEventId() {
      return lastEventId;
    },
  };
}
