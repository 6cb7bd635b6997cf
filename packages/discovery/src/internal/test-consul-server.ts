/**
 * Test helper: a Consul-compatible HTTP server on 127.0.0.1 (node:http) serving
 * `/v1/health/service/<name>` with blocking-query semantics: with `index=N` equal to the current index
 * the request hangs until the data changes or `wait` elapses; every answer carries `X-Consul-Index`.
 * Not exported.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface ConsulInstance {
  readonly address: string;
  readonly port: number;
  readonly passing?: boolean;
  readonly tags?: string[];
  readonly weight?: number;
  readonly node?: string;
}

export interface TestConsul {
  readonly url: string;
  /** Every request as path + query, in order. */
  readonly requests: string[];
  /** Headers of the last request. */
  lastHeaders: IncomingMessage['headers'];
  /** Replaces a service's instances and bumps (or sets) the index, waking blocked queries. */
  set(service: string, instances: ConsulInstance[], index?: number): void;
  /** Sets the index answered next without changing data (e.g. backwards, or 0), waking blocked queries. */
  setIndex(index: number): void;
  /** Answers every request with this status while set. */
  failWith: number | undefined;
  /** How many requests are hanging. */
  readonly blocked: number;
  close(): Promise<void>;
}

function parseWait(value: string | null): number {
  if (value === null) return 300_000;
  const m = /^(\d+)(ms|s|m)?$/.exec(value);
  if (!m) return 300_000;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

export async function startConsul(): Promise<TestConsul> {
  const services = new Map<string, ConsulInstance[]>();
  let index = 10;
  const waiters = new Set<() => void>();
  const requests: string[] = [];
  const state: { failWith: number | undefined; lastHeaders: IncomingMessage['headers'] } = {
    failWith: undefined,
    lastHeaders: {},
  };
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  const answer = (res: ServerResponse, service: string, passingOnly: boolean): void => {
    const list = (services.get(service) ?? []).filter((i) => !passingOnly || i.passing !== false);
    const body = list.map((i, n) => ({
      Node: { Node: i.node ?? `node-${n}`, Address: i.address },
      Service: {
        ID: `${service}-${n}`,
        Service: service,
        Address: n % 2 === 0 ? i.address : '', // odd instances rely on the node address, as Consul allows
        Port: i.port,
        Tags: i.tags ?? [],
        Meta: {},
        Weights: { Passing: i.weight ?? 1, Warning: 1 },
      },
      Checks: [{ Status: i.passing === false ? 'critical' : 'passing' }],
    }));
    res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': String(index) });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://consul');
    requests.push(`${url.pathname}${url.search}`);
    state.lastHeaders = req.headers;
    const match = /^\/v1\/health\/service\/([^/]+)$/.exec(url.pathname);
    if (!match) {
      res.writeHead(404).end();
      return;
    }
    if (state.failWith !== undefined) {
      res.writeHead(state.failWith).end('error');
      return;
    }
    const service = decodeURIComponent(match[1] as string);
    const passingOnly = url.searchParams.has('passing');
    const wanted = Number(url.searchParams.get('index') ?? '0');
    if (!(wanted > 0) || wanted !== index) {
      answer(res, service, passingOnly);
      return;
    }
    const done = (): void => {
      waiters.delete(done);
      clearTimeout(timer);
      if (!res.writableEnded) answer(res, service, passingOnly);
    };
    const timer = setTimeout(done, parseWait(url.searchParams.get('wait')));
    waiters.add(done);
    req.on('close', () => {
      waiters.delete(done);
      clearTimeout(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get lastHeaders() {
      return state.lastHeaders;
    },
    set lastHeaders(h) {
      state.lastHeaders = h;
    },
    get failWith() {
      return state.failWith;
    },
    set failWith(v) {
      state.failWith = v;
    },
    get blocked() {
      return waiters.size;
    },
    set(service, instances, next) {
      services.set(service, instances);
      index = next ?? index + 1;
      wake();
    },
    setIndex(next) {
      index = next;
      wake();
    },
    async close() {
      wake();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
