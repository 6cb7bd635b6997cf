/**
 * The writing side of the event stream format: the rules a server must follow so that every conforming
 * parser (ours included) reads back exactly what was sent. The server side of @integ/sse reuses it.
 */
import { InvalidArgumentError } from '@integ/core';

/** One event to write. Every field is optional (but `event` needs `data`); an object with none writes only the blank line. */
export interface EncodeEventInit {
  /** The payload. Split on CR, LF and CRLF into `data:` lines; a parser joins them back with `\n`. */
  readonly data?: string | undefined;
  /** The event type (`event:`); must not contain CR or LF, and needs `data` (`''` for none). */
  readonly event?: string | undefined;
  /** The event id (`id:`); must not contain CR, LF or NULL (a parser ignores an id with NULL). */
  readonly id?: string | undefined;
  /** The reconnection time in ms (`retry:`); a non-negative integer. */
  readonly retry?: number | undefined;
  /** A comment (`: text`), split into one comment line per line; parsers ignore it (a keep-alive). */
  readonly comment?: string | undefined;
}

const NEWLINE = /\r\n|\r|\n/;
const BAD_NAME = /[\r\n]/;
const BAD_ID = /[\r\n\0]/;

/**
 * Encodes one event in the `text/event-stream` format, ending with the blank line that dispatches it.
 * Fields are written comment, event, id, retry, data, each as `name: value`.
 *
 * @throws {InvalidArgumentError} when `init` is not an object, `event` contains CR/LF or comes without
 *   `data`, `id` contains CR/LF/NULL, or `retry` is not a non-negative safe integer
 * @example
 * ```ts
 * encodeEvent({ event: 'update', id: '7', data: 'line 1\nline 2' });
 * // 'event: update\nid: 7\ndata: line 1\ndata: line 2\n\n'
 * ```
 */
export function encodeEvent(init: EncodeEventInit): string {
  // null would throw a TypeError from the destructuring below, and a string or number would silently
  // write an empty event: `encodeEvent('hi')` is a mistake for `encodeEvent({ data: 'hi' })`.
  if (typeof init !== 'object' || init === null)
    // A string there is the payload, which may carry a token: shown by kind only.
    throw new InvalidArgumentError('encodeEvent(init)', "an object such as { data: 'text' }", init);
  let out = '';
  const { data, event, id, retry, comment } = init;
  if (comment !== undefined) {
    if (typeof comment !== 'string') throw new InvalidArgumentError('comment', 'a string', comment);
    for (const part of comment.split(NEWLINE)) out += `: ${part}\n`;
  }
  if (event !== undefined) {
    if (typeof event !== 'string' || BAD_NAME.test(event))
      throw new InvalidArgumentError('event', 'a string without CR or LF', event);
    // A parser dispatches nothing without a `data` field, so `event: ping` alone would never reach a listener.
    if (data === undefined)
      throw new InvalidArgumentError('data', "a string with event ('' for an event without payload)", data);
    out += `event: ${event}\n`;
  }
  if (id !== undefined) {
    if (typeof id !== 'string' || BAD_ID.test(id))
      throw new InvalidArgumentError('id', 'a string without CR, LF or NULL', id);
    out += `id: ${id}\n`;
  }
  if (retry !== undefined) {
    if (!Number.isSafeInteger(retry) || retry < 0)
      throw new InvalidArgumentError('retry', 'an integer number of ms >= 0', retry);
    out += `retry: ${retry}\n`;
  }
  if (data !== undefined) {
    if (typeof data !== 'string') throw new InvalidArgumentError('data', 'a string', data);
    // Fast path: most payloads (JSON.stringify output) have no line break at all.
    if (data.indexOf('\n') === -1 && data.indexOf('\r') === -1) out += `data: ${data}\n`;
    else for (const part of data.split(NEWLINE)) out += `data: ${part}\n`;
  }
  return `${out}\n`;
}
