/**
 * Payload validation: a job's payload must survive a JSON round trip unchanged, because it is stored
 * as JSON text and handed to a worker that may run in another process after a restart.
 */
import { PayloadError, PayloadTooLargeError } from '../errors.js';

/** Default `maxPayloadBytes`: 1 MiB of UTF-8 JSON. */
export const DEFAULT_MAX_PAYLOAD_BYTES: number = 1024 * 1024;

const MAX_DEPTH = 256;
const encoder = new TextEncoder();
const source = Function.prototype.toString;
const OBJECT = source.call(Object);
// Another realm's Object.prototype, once checked: held weakly, so a vm context can still be collected.
const realms = new WeakSet<object>();

/**
 * Validates `value` and returns its JSON text.
 *
 * @throws {PayloadError} for anything JSON cannot represent faithfully
 * @throws {PayloadTooLargeError} when the JSON is over `maxBytes`
 */
export function serializePayload(value: unknown, maxBytes: number): string {
  if (value === undefined) throw new PayloadError('payload', 'is undefined');
  const walk: Walk = { size: 0, stop: 2 * maxBytes, visited: undefined };
  check(value, 'payload', new Set<object>(), 0, walk);
  if (walk.size > walk.stop) throw new PayloadTooLargeError(walk.size, maxBytes);
  const text = JSON.stringify(value);
  // A UTF-8 byte count only when it could matter: a string of n UTF-16 units is at most 3n bytes.
  if (text.length * 3 > maxBytes) {
    const bytes = text.length > maxBytes ? encoder.encode(text).length : utf8Length(text);
    if (bytes > maxBytes) throw new PayloadTooLargeError(bytes, maxBytes);
  }
  return text;
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * `size` is a lower bound of the JSON's UTF-8 size (a value takes at least one byte, a string or key at least
 * its length). Past `stop` the payload is too large and its JSON is never built, so each object is checked
 * once: a shared one (one large string in many entries, 2^n paths through n levels of [x, x]) is not walked
 * again, and JSON.stringify never builds a string V8 cannot hold (RangeError). Below `stop`, the error
 * gets the exact size.
 */
interface Walk {
  size: number;
  readonly stop: number;
  visited: Set<object> | undefined;
}

function check(value: unknown, path: string, seen: Set<object>, depth: number, walk: Walk): void {
  walk.size += typeof value === 'string' ? value.length + 2 : 1;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new PayloadError(path, `is ${value} (JSON has no such number)`);
      return;
    case 'bigint':
      throw new PayloadError(path, 'is a bigint (convert it to a string)');
    case 'function':
      throw new PayloadError(path, 'is a function');
    case 'symbol':
      throw new PayloadError(path, 'is a symbol');
    case 'undefined':
      throw new PayloadError(path, 'is undefined (JSON cannot keep it here)');
    default:
      break;
  }
  if (value === null) return;
  const object = value as object;
  if (depth >= MAX_DEPTH) throw new PayloadError(path, `is nested more than ${MAX_DEPTH} levels deep`);
  if (seen.has(object)) throw new PayloadError(path, 'is a circular reference');
  if (walk.size > walk.stop) {
    walk.visited ??= new Set();
    if (walk.visited.has(object)) return;
    walk.visited.add(object);
  }
  seen.add(object);
  const array = Array.isArray(object);
  if (!array) {
    const proto = Object.getPrototypeOf(object) as { constructor?: unknown } | null;
    // A plain object of another realm (a vm context; Node's fetch().json() under Jest) has that realm's
    // Object.prototype: that realm's native Object (its source reads [native code], which no script's can) is its
    // constructor. Any other prototype (a class's, or a null-prototype object's, even one whose constructor is named
    // Object) may carry keys or getters the holder reads but JSON.stringify drops. This realm's costs nothing, and
    // another's is checked once: String(ctor) on every object cost 200 ns each.
    if (proto !== null && proto !== Object.prototype && !realms.has(proto)) {
      const ctor = proto.constructor as { name?: unknown; prototype?: unknown } | undefined;
      if (!(typeof ctor === 'function' && ctor.prototype === proto && source.call(ctor) === OBJECT)) {
        const name = ctor?.name;
        throw new PayloadError(
          path,
          `is a ${typeof name === 'string' && name !== '' ? name : 'class instance'} (only plain objects and arrays; convert it, e.g. a Date to toISOString())`,
        );
      }
      realms.add(proto);
    }
  }
  // JSON.stringify writes what a toJSON returns (own, even non-enumerable, or an Array subclass's), not the value.
  if (typeof (object as { toJSON?: unknown }).toJSON === 'function')
    throw new PayloadError(`${path}.toJSON`, 'is a function');
  if (array) {
    for (let i = 0; i < object.length; i++) check(object[i], `${path}[${i}]`, seen, depth + 1, walk);
  } else {
    for (const key of Object.keys(object)) {
      const child = (object as Record<string, unknown>)[key];
      // JSON.stringify drops undefined properties; optional fields left undefined are common and harmless.
      if (child === undefined) continue;
      walk.size += key.length + 3;
      check(child, `${path}.${key}`, seen, depth + 1, walk);
    }
  }
  seen.delete(object);
}
