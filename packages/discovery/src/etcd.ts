/**
 * An etcd v3 source through its JSON gateway (`POST /v3/kv/range`, streaming `POST /v3/watch`), using
 * `fetch` only. Every key under `prefix` is one endpoint; its value is a URL, `host:port`, or JSON
 * `{ "url": ..., "weight"?: n, "priority"?: n }`. A full read is followed by a watch from the next
 * revision; a compacted or broken watch falls back to a full read. Also published as
 * `@integ/discovery/etcd`.
 */
import { InvalidArgumentError, linkSignals } from '@integ/core';
import type { EndpointInit } from './endpoint.js';
import { DiscoverySourceError } from './errors.js';
import {
  cancelOnAbort,
  checkLimit,
  checkToken,
  failureText,
  readJson,
  refuse,
  tooLarge,
  untilAbort,
} from './internal/body.js';
import { MAX_TIMER } from './internal/timer.js';
import { checkServerUrl, checkUrl } from './internal/url.js';
import type { Snapshot, Source, SourceContext } from './source.js';

/** Options of {@link etcd}. */
export interface EtcdOptions {
  /** The key prefix whose keys are the endpoints, e.g. `/services/api/`. */
  readonly prefix: string;
  /** etcd client URLs, tried in order. @default ['http://127.0.0.1:2379'] */
  readonly endpoints?: readonly string[];
  /** URL scheme for values given as `host:port`. @default 'http' */
  readonly protocol?: string;
  /** Re-read everything at least this often even if the watch is quiet, in ms, at most 2^31 - 1. @default 300000 */
  readonly resyncInterval?: number;
  /** Per-request timeout for reads, in ms, at most 2^31 - 1 (~24.8 days). @default 5000 */
  readonly timeout?: number;
  /** An auth token sent as `Authorization` (never logged). @default none */
  readonly token?: string;
  /**
   * Largest range answer, and largest single watch message, read in bytes; past it the request is cut off
   * and reported as `ERR_DISCOVERY_SOURCE` (a watch is then re-read from scratch), and the last endpoints
   * stay in use. @default 16777216 (16 MiB)
   */
  readonly maxResponseBytes?: number;
  /** The fetch to use. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function b64(bytes: Uint8Array): string {
  let s = '';
  for (const byte of bytes) s += String.fromCharCode(byte);
  return btoa(s);
}

function unb64(value: unknown): string {
  if (typeof value !== 'string') return '';
  const bin = atob(value);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return decoder.decode(bytes);
}

/**
 * The range end covering every key with `prefix` (etcd's GetPrefixRangeEnd): its last byte + 1. UTF-8 has no 0xff
 * byte, so there is no trailing 0xff to drop first; '' (every key) is [0].
 */
export function prefixRangeEnd(prefix: string): Uint8Array {
  const end = encoder.encode(prefix);
  if (!end.length) return new Uint8Array([0]);
  end[end.length - 1] = (end[end.length - 1] as number) + 1;
  return end;
}

function parseValue(key: string, value: string, protocol: string): EndpointInit | undefined {
  const text = value.trim();
  try {
    if (text.startsWith('{')) {
      const parsed = JSON.parse(text) as { url?: unknown; weight?: unknown; priority?: unknown };
      const url = checkUrl(parsed.url, `etcd key ${key}`);
      return {
        url,
        ...(typeof parsed.weight === 'number' ? { weight: parsed.weight } : {}),
        ...(typeof parsed.priority === 'number' ? { priority: parsed.priority } : {}),
        meta: { 'etcd.key': key },
      };
    }
    const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `${protocol}://${text}`;
    return { url: checkUrl(url, `etcd key ${key}`), meta: { 'etcd.key': key } };
  } catch {
    return undefined;
  }
}

interface KeyValue {
  readonly key?: string;
  readonly value?: string;
}

/**
 * Endpoints stored in etcd under a key prefix, kept current with a watch.
 *
 * @throws InvalidArgumentError for an empty prefix or bad options
 * @example
 * ```ts
 * // etcdctl put /services/api/a '{"url":"http://10.0.0.1:8080","weight":2}'
 * createRegistry({ services: { api: etcd({ prefix: '/services/api/', endpoints: ['http://etcd:2379'] }) } });
 * ```
 */
export function etcd(prefixOrOptions: string | EtcdOptions, more: Omit<EtcdOptions, 'prefix'> = {}): Source {
  const options: EtcdOptions =
    typeof prefixOrOptions === 'string' ? { ...more, prefix: prefixOrOptions } : prefixOrOptions;
  if (
    typeof options !== 'object' ||
    options === null ||
    typeof options.prefix !== 'string' ||
    options.prefix === ''
  )
    throw new InvalidArgumentError('etcd prefix', "a key prefix such as '/services/api/'", options?.prefix);
  const list = options.endpoints ?? ['http://127.0.0.1:2379'];
  if (!Array.isArray(list) || list.length === 0)
    throw new InvalidArgumentError('etcd endpoints', 'a non-empty array of URLs', list);
  const servers = list.map((u, i) => checkServerUrl(u, `etcd endpoints[${i}]`));
  const protocol = options.protocol ?? 'http';
  const resyncInterval = options.resyncInterval ?? 300_000;
  const timeout = options.timeout ?? 5_000;
  // A runtime fires a timer past 2^31 - 1 ms after 1 ms: on a clock the registry did not cap, every range
  // would time out, or the resync re-read, at once.
  if (!(resyncInterval > 0 && resyncInterval <= MAX_TIMER))
    throw new InvalidArgumentError('etcd resyncInterval', `ms in (0, ${MAX_TIMER}]`, resyncInterval);
  if (!(timeout > 0 && timeout <= MAX_TIMER))
    throw new InvalidArgumentError('etcd timeout', `ms in (0, ${MAX_TIMER}]`, timeout);
  const maxBytes = checkLimit(options.maxResponseBytes, 'etcd maxResponseBytes');
  checkToken(options.token, 'etcd token');
  const prefix = options.prefix;
  const key = b64(encoder.encode(prefix));
  const rangeEnd = b64(prefixRangeEnd(prefix));
  return {
    kind: 'etcd',
    description: `etcd prefix ${prefix} at ${servers.map((s) => new URL(s).host).join(', ')}`,
    open(ctx: SourceContext) {
      const doFetch = options.fetch ?? globalThis.fetch;
      const kvs = new Map<string, EndpointInit>();
      let synced = false;
      // The range's revision, an int64 that etcd's JSON gateway sends as a decimal string: a BigInt keeps it
      // exact (a Number rounds past 2^53, and the watch started at a neighbour of revision + 1, replaying or
      // skipping events). One that is no integer fails the range, as malformed JSON does.
      let revision = 0n;
      let server = 0;
      let watch: AbortController | undefined;
      let watchError: unknown;
      let wake: (() => void) | undefined;
      let changed = false;
      const headers = (): Record<string, string> => ({
        'content-type': 'application/json',
        ...(options.token ? { authorization: options.token } : {}),
      });
      const notify = (): void => {
        changed = true;
        wake?.();
      };
      // One key-value of an answer (untrusted): a key or value that is not base64, or a value that is not
      // a URL, is skipped and counted; the other keys still count. One warn per answer or watch message
      // gives the count (an answer can hold thousands of keys: one line each flooded the log).
      let skipped = 0;
      const apply = (kv: unknown, deleted: boolean): void => {
        let k: string;
        let value: string;
        try {
          k = unb64((kv as KeyValue | null)?.key);
          value = unb64((kv as KeyValue | null)?.value);
        } catch {
          skipped++;
          return;
        }
        if (deleted) kvs.delete(k);
        else {
          const endpoint = parseValue(k, value, protocol);
          if (endpoint === undefined) {
            skipped++;
            kvs.delete(k);
          } else kvs.set(k, endpoint);
        }
      };
      const warnSkipped = (): void => {
        if (skipped)
          ctx.logger.warn(
            { service: ctx.service, source: 'etcd', skipped },
            'etcd: skipped keys or values that are not base64 or not a URL',
          );
        skipped = 0;
      };
      const snapshot = (): Snapshot => ({ endpoints: [...kvs.values()], ttlMs: 0 });

      const range = async (signal: AbortSignal): Promise<void> => {
        let lastError: unknown;
        for (let attempt = 0; attempt < servers.length; attempt++) {
          const base = servers[(server + attempt) % servers.length] as string;
          const timer = new AbortController();
          const handle = ctx.clock.setTimeout(
            () => timer.abort(new DiscoverySourceError('etcd', `range timed out after ${timeout} ms`)),
            timeout,
          );
          const linked = linkSignals(signal, timer.signal);
          try {
            const response = await untilAbort(
              doFetch(`${base}/v3/kv/range`, {
                method: 'POST',
                headers: headers(),
                body: JSON.stringify({ key, range_end: rangeEnd }),
                signal: linked.signal,
              }),
              linked.signal,
            );
            if (!response.ok) await refuse(response, 'etcd', `range: HTTP ${response.status}`);
            const body = (await readJson(response, maxBytes, 'etcd', `range ${prefix}`, linked.signal)) as {
              header?: { revision?: string };
              kvs?: unknown;
            } | null;
            // An empty prefix omits kvs (or sends null); anything else that is no list of keys is a malformed
            // answer, and so are keys of which none is usable: the last endpoints stay (as for Consul).
            const list = body && typeof body === 'object' && !Array.isArray(body) ? (body.kvs ?? []) : 0;
            if (!Array.isArray(list))
              throw new DiscoverySourceError('etcd', `range ${prefix}: not a range answer`);
            kvs.clear();
            for (const kv of list) apply(kv, false);
            warnSkipped();
            if (list.length && !kvs.size)
              throw new DiscoverySourceError('etcd', `range ${prefix}: no key holds a valid URL`);
            revision = BigInt(body?.header?.revision ?? 0);
            server = (server + attempt) % servers.length;
            return;
          } catch (error) {
            if (signal.aborted) throw signal.reason;
            lastError = error;
          } finally {
            ctx.clock.clearTimeout(handle);
            linked.dispose();
          }
        }
        if (lastError instanceof DiscoverySourceError) throw lastError;
        throw new DiscoverySourceError('etcd', `range ${prefix}: ${failureText(lastError, options.token)}`, {
          cause: lastError,
        });
      };

      const startWatch = (signal: AbortSignal): void => {
        const controller = new AbortController();
        watch = controller;
        const linked = linkSignals(signal, controller.signal);
        const base = servers[server] as string;
        void (async () => {
          try {
            const response = await doFetch(`${base}/v3/watch`, {
              method: 'POST',
              headers: headers(),
              body: JSON.stringify({
                create_request: {
                  key,
                  range_end: rangeEnd,
                  start_revision: String(revision + 1n),
                },
              }),
              signal: linked.signal,
            });
            // refuse() cancels the body (a custom fetch's, or msw's, is not ended by the abort below) and throws.
            if (!response.ok || response.body === null)
              throw await refuse(response, 'etcd', `watch: HTTP ${response.status}`);
            const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
            cancelOnAbort(reader, linked.signal);
            // A message ends at a newline, or where its top-level object closes (the gateway may not end one
            // with a newline). Each character is looked at once, in its chunk (the buffer is flattened only
            // when the message ends): searching and parsing the whole buffer after every chunk took time
            // quadratic in a message's size (16 MiB sent in chunks ending in '}': minutes of a blocked event loop).
            let buffer = '';
            let depth = 0;
            // 0 outside a string, 1 inside, 2 just after a backslash inside (an escape may end a chunk)
            let quoted = 0;
            for (;;) {
              const { value, done } = await reader.read();
              if (done) break;
              let from = 0;
              for (let i = 0; i < value.length; i++) {
                const c = value[i];
                if (quoted) quoted = quoted > 1 || c !== '"' ? (c === '\\' && quoted < 2 ? 2 : 1) : 0;
                else if (c === '"') quoted = 1;
                else if (c === '{') depth++;
                else if (c === '}') depth--;
                if (c === '\n' || (c === '}' && depth < 1)) {
                  const line = (buffer + value.slice(from, i + 1)).trim();
                  buffer = '';
                  from = i + 1;
                  depth = quoted = 0;
                  // A message ending in this chunk counts too (one chunk can hold all of it)
                  if (line.length > maxBytes) throw tooLarge('etcd', `watch ${prefix}`, maxBytes);
                  if (line) handleMessage(line);
                }
              }
              buffer += value.slice(from);
              // Nor may one still being read (a stream with no newline would be held forever).
              if (buffer.length > maxBytes) throw tooLarge('etcd', `watch ${prefix}`, maxBytes);
            }
            throw new DiscoverySourceError('etcd', 'watch stream ended');
          } catch (error) {
            if (controller.signal.aborted || signal.aborted) return;
            watchError = error;
            synced = false;
            notify();
          } finally {
            // Drops the connection of a failed or finished watch, through the linked signal (which then unlinks
            // itself): unlinked first, as it was, the abort reached neither the fetch nor the reader.
            controller.abort();
          }
        })();
      };

      const handleMessage = (line: string): void => {
        const message = JSON.parse(line) as {
          result?: {
            events?: { type?: string; kv?: KeyValue }[];
            canceled?: boolean;
            compact_revision?: string;
          };
          error?: { message?: string };
        };
        const result = message.result;
        if (
          message.error ||
          result?.canceled ||
          (result?.compact_revision && Number(result.compact_revision) > 0)
        ) {
          // Compacted past our revision, or cancelled: a full read is the only way back.
          synced = false;
          watch?.abort();
          notify();
          return;
        }
        if (!result?.events || result.events.length === 0) return;
        for (const event of result.events) apply(event?.kv, event?.type === 'DELETE');
        warnSkipped();
        notify();
      };

      return {
        async resolve(signal): Promise<Snapshot> {
          // A watch that failed while no lookup waited on it is reported first (cleared, it left a silent
          // re-read loop with no backoff: a gateway sending a malformed message at once, again and again).
          if (!synced && watchError === undefined) {
            watch?.abort();
            await range(signal);
            synced = true;
            changed = false;
            startWatch(signal);
            return snapshot();
          }
          if (!changed) {
            await new Promise<void>((resolve, reject) => {
              const timer = ctx.clock.setTimeout(() => {
                synced = false;
                done();
              }, resyncInterval);
              const onAbort = (): void => {
                ctx.clock.clearTimeout(timer);
                wake = undefined;
                reject(signal.reason);
              };
              const done = (): void => {
                ctx.clock.clearTimeout(timer);
                signal.removeEventListener('abort', onAbort);
                wake = undefined;
                resolve();
              };
              wake = done;
              signal.addEventListener('abort', onAbort, { once: true });
            });
          }
          changed = false;
          if (!synced) {
            if (watchError !== undefined) {
              const error = watchError;
              watchError = undefined;
              throw error instanceof DiscoverySourceError
                ? error
                : new DiscoverySourceError('etcd', `watch failed: ${failureText(error, options.token)}`, {
                    cause: error,
                  });
            }
            return this.resolve(signal);
          }
          return snapshot();
        },
        close() {
          watch?.abort();
          wake?.();
        },
      };
    },
  };
}
