/**
 * The event stream parser of the WHATWG HTML standard, "Server-sent events", 9.2.6 "Parsing an event
 * stream" (https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream),
 * followed to the letter and written for speed: it scans the text with indexOf/charCodeAt, keeps only
 * the unfinished last line between chunks, and dispatches plain objects.
 */
import { IntegError } from '@integ/core';

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
   * Most characters buffered for one event (its unfinished line plus its data so far), checked after each
   * `feed()`. Exceeding it discards the event and throws {@link SseParseError}. @default Infinity
   */
  readonly maxEventSize?: number | undefined;
}

/** A running parser: feed it text in chunks of any size. */
export interface Parser {
  /**
   * Parses the next piece of the stream. Events, retries and comments are reported synchronously.
   *
   * @throws {SseParseError} when the pending event grows past `maxEventSize`
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
 * The pending event grew larger than `maxEventSize` (`ERR_SSE_EVENT_TOO_LARGE`).
 *
 * @example
 * ```ts
 * if (isIntegError(error, 'ERR_SSE_EVENT_TOO_LARGE')) console.warn('the server sent a huge event');
 * ```
 */
export class SseParseError extends IntegError {
  /** The limit that was exceeded, in characters. */
  readonly limit: number;

  constructor(limit: number) {
    super(
      'ERR_SSE_EVENT_TOO_LARGE',
      `An event stream event exceeded ${limit} characters; raise maxEventSize or fix the server`,
      { retryable: false },
    );
    this.limit = limit;
  }
}

const LF = 10;
const SPACE = 32;
const COLON = 58;

/**
 * Creates a parser of `text/event-stream` text.
 *
 * @throws {TypeError} when `onEvent` is not a function
 * @example
 * ```ts
 * const parser = createParser({ onEvent: (event) => console.log(event.type, event.data) });
 * parser.feed('event: greeting\ndata: hello\n\n'); // logs "greeting hello"
 * ```
 */
export function createParser(options: ParserOptions): Parser {
  const { onEvent, onRetry, onComment } = options;
  if (typeof onEvent !== 'function') throw new TypeError('createParser needs an onEvent callback');
  const maxEventSize = options.maxEventSize ?? Number.POSITIVE_INFINITY;
  // The unfinished last line of the previous chunk: the only text carried between chunks.
  let tail = '';
  // Nothing seen yet on this stream: a leading U+FEFF is still to be stripped.
  let atStart = true;
  // The previous chunk ended with CR: an LF starting the next one belongs to that line ending.
  let afterCR = false;
  // A callback threw and `tail` holds the rest of that chunk, whole lines included.
  let resumed = false;
  let data = '';
  let hasData = false;
  let type = '';
  let idBuffer = options.lastEventId ?? '';
  let lastEventId = idBuffer;

  // Calls a callback; when it throws, the unparsed rest of the chunk (s from `next`) is kept for the next
  // feed() before the error propagates, so a failing listener loses no other event.
  const call = <T>(fn: (arg: T) => void, arg: T, s: string, next: number): void => {
    try {
      fn(arg);
    } catch (error) {
      if (next < s.length) {
        tail = s.slice(next);
        resumed = true;
      }
      throw error;
    }
  };

  const dispatch = (s: string, next: number): void => {
    lastEventId = idBuffer;
    // A blank line with no `data` field dispatches nothing (and forgets the event type).
    if (hasData) {
      const event: SseEvent = { type: type === '' ? 'message' : type, data, lastEventId };
      data = '';
      hasData = false;
      type = '';
      call(onEvent, event, s, next);
    } else type = '';
  };

  // One line in [start, end) of ls, not empty; the chunk resumes at `next` of s.
  const line = (ls: string, start: number, end: number, s: string, next: number): void => {
    const c = ls.charCodeAt(start);
    // Only the four known field names matter; anything else is ignored, so there is no need to find the
    // colon of an unknown line. A known name is followed by ':' or by the end of the line (empty value).
    let v = -1;
    if (c === 100) {
      // data
      if (
        ls.charCodeAt(start + 1) === 97 &&
        ls.charCodeAt(start + 2) === 116 &&
        ls.charCodeAt(start + 3) === 97
      ) {
        v = start + 4;
        if (v !== end) {
          if (ls.charCodeAt(v) !== COLON) return;
          v += ls.charCodeAt(v + 1) === SPACE ? 2 : 1;
        }
        const value = v >= end ? '' : ls.slice(v, end);
        if (hasData) data = `${data}\n${value}`;
        else {
          data = value;
          hasData = true;
        }
      }
      return;
    }
    if (c === COLON) {
      if (onComment !== undefined)
        call(onComment, ls.slice(ls.charCodeAt(start + 1) === SPACE ? start + 2 : start + 1, end), s, next);
      return;
    }
    if (c === 101) {
      // event
      if (
        ls.charCodeAt(start + 1) === 118 &&
        ls.charCodeAt(start + 2) === 101 &&
        ls.charCodeAt(start + 3) === 110 &&
        ls.charCodeAt(start + 4) === 116
      ) {
        v = start + 5;
        if (v !== end) {
          if (ls.charCodeAt(v) !== COLON) return;
          v += ls.charCodeAt(v + 1) === SPACE ? 2 : 1;
        }
        type = v >= end ? '' : ls.slice(v, end);
      }
      return;
    }
    if (c === 105) {
      // id
      if (ls.charCodeAt(start + 1) === 100) {
        v = start + 2;
        if (v !== end) {
          if (ls.charCodeAt(v) !== COLON) return;
          v += ls.charCodeAt(v + 1) === SPACE ? 2 : 1;
        }
        const value = v >= end ? '' : ls.slice(v, end);
        // An id containing NULL is ignored (it could not be sent back in a Last-Event-ID header).
        if (value.indexOf('\0') === -1) idBuffer = value;
      }
      return;
    }
    if (c === 114) {
      // retry
      if (
        ls.charCodeAt(start + 1) === 101 &&
        ls.charCodeAt(start + 2) === 116 &&
        ls.charCodeAt(start + 3) === 114 &&
        ls.charCodeAt(start + 4) === 121
      ) {
        v = start + 5;
        if (v === end || ls.charCodeAt(v) !== COLON) return;
        v += ls.charCodeAt(v + 1) === SPACE ? 2 : 1;
        if (v >= end) return;
        // Only ASCII digits: "1000x", "-1", " 5" and "1e3" are ignored.
        let ms = 0;
        for (let i = v; i < end; i++) {
          const d = ls.charCodeAt(i) - 48;
          if (d < 0 || d > 9) return;
          ms = ms * 10 + d;
        }
        if (onRetry !== undefined) call(onRetry, ms, s, next);
      }
    }
  };

  const feed = (text: string): void => {
    const s = text;
    const len = s.length;
    let pos = 0;
    if (resumed) {
      // The previous feed() stopped at a throwing callback: parse the rest of that chunk first.
      resumed = false;
      const rest = tail;
      tail = '';
      feed(rest);
    }
    if (len === 0) return;
    if (atStart) {
      atStart = false;
      // The stream is decoded with UTF-8 decode, which strips exactly one leading BOM.
      if (s.charCodeAt(0) === 0xfeff) pos = 1;
    }
    if (afterCR) {
      afterCR = false;
      if (s.charCodeAt(pos) === LF) pos++;
    }
    let cr = s.indexOf('\r', pos);
    let lf = s.indexOf('\n', pos);
    if (tail !== '') {
      if (cr === -1 && lf === -1) {
        tail += pos === 0 ? s : s.slice(pos);
        if (tail.length + data.length > maxEventSize) overflow();
        return;
      }
      // Only the first line needs the carried tail: join that line alone rather than the whole chunk.
      let end: number;
      if (lf !== -1 && (cr === -1 || lf < cr)) {
        end = lf;
        pos = lf + 1;
      } else {
        end = cr;
        pos = cr + 1;
        if (s.charCodeAt(pos) === LF) pos++;
        else if (pos === len) afterCR = true;
      }
      const first = tail + s.slice(0, end);
      tail = '';
      line(first, 0, first.length, s, pos);
      if (cr !== -1 && cr < pos) cr = s.indexOf('\r', pos);
      if (lf !== -1 && lf < pos) lf = s.indexOf('\n', pos);
    }
    if (cr === -1) {
      // No CR in this chunk: every line ends with LF. The common lines are handled inline.
      while (lf !== -1) {
        const start = pos;
        pos = lf + 1;
        if (start === lf) dispatch(s, pos);
        else if (
          s.charCodeAt(start) === 100 &&
          s.charCodeAt(start + 1) === 97 &&
          s.charCodeAt(start + 2) === 116 &&
          s.charCodeAt(start + 3) === 97 &&
          s.charCodeAt(start + 4) === COLON
        ) {
          const value = s.slice(s.charCodeAt(start + 5) === SPACE ? start + 6 : start + 5, lf);
          if (hasData) data = `${data}\n${value}`;
          else if (s.charCodeAt(pos) === LF) {
            // `data: x` and the blank line: dispatch without touching the data buffer.
            pos++;
            lastEventId = idBuffer;
            const t = type;
            type = '';
            call(onEvent, { type: t === '' ? 'message' : t, data: value, lastEventId }, s, pos);
          } else {
            data = value;
            hasData = true;
          }
        } else line(s, start, lf, s, pos);
        lf = s.indexOf('\n', pos);
      }
    } else {
      while (cr !== -1 || lf !== -1) {
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
        if (start === end) dispatch(s, pos);
        else line(s, start, end, s, pos);
      }
    }
    if (pos < len) tail = pos === 0 ? s : s.slice(pos);
    if (tail.length + data.length > maxEventSize) overflow();
  };

  const overflow = (): never => {
    reset();
    throw new SseParseError(maxEventSize);
  };

  const reset = (): void => {
    tail = '';
    atStart = true;
    afterCR = false;
    resumed = false;
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
