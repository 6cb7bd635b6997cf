/**
 * DNS sources: SRV (RFC 2782: priority tiers, weights) and A/AAAA, with the records' real TTLs, read
 * with a small UDP/TCP client because node's `resolveSrv` gives no TTL. Node only (`node:dgram`,
 * `node:net` and dns-packet load on first use). Also published as `@integ/discovery/dns`.
 */
import { InvalidArgumentError } from '@integ/core';
import type { Answer, DecodedPacket, SrvAnswer } from 'dns-packet';
import { DiscoverySourceError } from './errors.js';
import { type DnsServer, parseServer, type QueryOptions, query, rcodeOf } from './internal/dns-client.js';
import { nodeImport } from './internal/node-import.js';
import { MAX_TIMER } from './internal/timer.js';
import { authority, HOST } from './internal/url.js';
import type { Snapshot, Source, SourceContext } from './source.js';

/** Options shared by {@link dnsSrv} and {@link dnsA}. */
export interface DnsOptions {
  /** DNS servers as `host` or `host:port` (`[v6]:port`); one string or a list. @default the system's (`dns.getServers()`) */
  readonly servers?: string | readonly string[];
  /** Per-query timeout in ms, at most 2^31 - 1 (~24.8 days). @default 2000 */
  readonly timeout?: number;
  /** Rounds over the server list before giving up. @default 2 */
  readonly attempts?: number;
  /** URL scheme of the endpoints. @default 'http' */
  readonly protocol?: string;
  /** Address families to ask for: 4 (A), 6 (AAAA) or 0 (both). @default 0 */
  readonly family?: 0 | 4 | 6;
}

/** Options of {@link dnsSrv}. */
export interface DnsSrvOptions extends DnsOptions {
  /**
   * Resolve SRV targets to addresses (from the additional section, else A/AAAA queries) and put the
   * address in `url` (the target stays in `endpoint.hostname`). `false` puts the target name in `url`.
   * @default true
   */
  readonly resolveTargets?: boolean;
}

/** Options of {@link dnsA}. */
export interface DnsAOptions extends DnsOptions {
  /** The port of every endpoint. @default 80 (443 when protocol is 'https') */
  readonly port?: number;
}

// RFC 1035 §2.3.4: labels of 1-63 characters, at most 253 in all without the final dot. dns-packet writes a
// longer label's length over the pointer bits and an empty one ('a..b') as the name's end: the query was
// malformed, or asked about another name, and every lookup failed.
function checkName(name: unknown, what: string): string {
  const host = typeof name === 'string' ? name.replace(/\.$/, '') : '';
  if (!/^([\w-]{1,63}\.)*[\w-]{1,63}$/.test(host) || host.length > 253)
    throw new InvalidArgumentError(what, 'a DNS name such as _http._tcp.api.example.com', name);
  return host;
}

function baseOptions(options: DnsOptions): {
  timeout: number;
  attempts: number;
  protocol: string;
  family: 0 | 4 | 6;
} {
  const timeout = options.timeout ?? 2000;
  const attempts = options.attempts ?? 2;
  const protocol = options.protocol ?? 'http';
  const family = options.family ?? 0;
  // A runtime fires a timer past 2^31 - 1 ms after 1 ms: on a clock the registry did not cap, every query
  // would time out at once.
  if (!(timeout > 0 && timeout <= MAX_TIMER))
    throw new InvalidArgumentError('timeout', `ms in (0, ${MAX_TIMER}]`, timeout);
  if (!Number.isInteger(attempts) || attempts < 1)
    throw new InvalidArgumentError('attempts', 'an integer >= 1', attempts);
  if (!/^[a-z][a-z0-9+.-]*$/.test(protocol))
    throw new InvalidArgumentError('protocol', "a URL scheme like 'http'", protocol);
  if (family !== 0 && family !== 4 && family !== 6)
    throw new InvalidArgumentError('family', '0, 4 or 6', family);
  return { timeout, attempts, protocol, family };
}

function parseServers(list: string | readonly string[] | undefined): DnsServer[] | undefined {
  if (list === undefined) return undefined;
  const servers = typeof list === 'string' ? [list] : list;
  if (!Array.isArray(servers) || servers.length === 0)
    throw new InvalidArgumentError('servers', "a non-empty array like ['127.0.0.1:53']", servers);
  return servers.map((s) => {
    const parsed = typeof s === 'string' ? parseServer(s) : undefined;
    if (parsed === undefined)
      throw new InvalidArgumentError('servers', "entries like '10.0.0.2' or '127.0.0.1:5353'", s);
    return parsed;
  });
}

async function systemServers(): Promise<DnsServer[]> {
  const dns = await nodeImport<typeof import('node:dns')>('node:dns');
  const list = dns.getServers();
  const parsed = list.map(parseServer).filter((s): s is DnsServer => s !== undefined);
  if (parsed.length === 0)
    throw new DiscoverySourceError('dns', 'no DNS servers configured on this system; pass { servers }');
  return parsed;
}

const lower = (name: string): string => name.toLowerCase().replace(/\.$/, '');

function addressesFrom(
  answers: readonly Answer[],
  name: string,
  family: 0 | 4 | 6,
): { address: string; ttl: number }[] {
  const out: { address: string; ttl: number }[] = [];
  const want = lower(name);
  for (const a of answers) {
    if (lower(a.name) !== want) continue;
    if ((a.type === 'A' && family !== 6) || (a.type === 'AAAA' && family !== 4))
      out.push({ address: (a as { data: string }).data, ttl: (a as { ttl?: number }).ttl ?? 0 });
  }
  return out;
}

/** An address found, with its TTL in s. */
interface Found {
  address: string;
  ttl: number;
}

/** Seconds to whole ms: a TTL less an elapsed time of whole ms is whole ms, read back exactly (decision 0191). */
const toMs = (s: number): number => Math.round(s * 1000);

/**
 * The addresses of a resolver's last answer by name with their TTLs as of then (`prev`), the ms elapsed since
 * (`d`, a clock stepping back counts as none: decision 0150), and those of the answer being built (`next`).
 * Whole ms, as the TTLs kept (decision 0191): on a clock at a fraction of a ms, seconds less a fractional
 * elapsed time kept an expired address for 1e-15 s, or put the lookup at its end a hair after that end.
 */
interface Memo {
  readonly d: number;
  readonly prev: Map<string, Found[]>;
  readonly next: Map<string, Found[]>;
}

async function resolveAddresses(
  name: string,
  family: 0 | 4 | 6,
  q: QueryOptions,
  hints: readonly Answer[],
  memo: Memo,
): Promise<{ addresses: string[]; ttl: number; nx: boolean }> {
  let found: Found[] = addressesFrom(hints, name, family);
  let chain: readonly Answer[] = [];
  let nx = false;
  if (found.length === 0) {
    const types: ('A' | 'AAAA')[] = family === 4 ? ['A'] : family === 6 ? ['AAAA'] : ['A', 'AAAA'];
    // One family failing (a resolver that SERVFAILs or drops AAAA) must not hide the other's addresses, as
    // with getaddrinfo; with no address found the failure stands (a target that failed is not empty).
    const settled = await Promise.allSettled(types.map((t) => query(name, t, q)));
    const answers = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    // The name does not exist (rather than has no address): dnsA says so, as dnsSrv does.
    nx = answers.some((r) => rcodeOf(r) === 'NXDOMAIN');
    found = answers.flatMap((r: DecodedPacket) =>
      addressesFrom([...(r.answers ?? []), ...(r.additionals ?? [])], name, family),
    );
    if (found.length === 0) {
      // A CNAME chain the server resolved for us: take the addresses it returned for the final name.
      chain = answers.flatMap((r) => r.answers ?? []);
      found = chain
        .filter((a) => (a.type === 'A' && family !== 6) || (a.type === 'AAAA' && family !== 4))
        .map((a) => ({ address: (a as { data: string }).data, ttl: (a as { ttl?: number }).ttl ?? 0 }));
    }
    const failed = settled.find((r) => r.status === 'rejected');
    // When the other family answered, a family whose query failed keeps its last addresses until their TTL
    // ends (stale on error, bounded; decision 0159): a failure is no answer, and must not drain that family.
    // Only with family 0 can one query fail and the other answer: the failed one is AAAA when A answered.
    // NXDOMAIN is for every type (RFC 8020): the name is gone, so nothing stale is kept and the other family's
    // failure is not the reason (it hid NXDOMAIN behind a SERVFAIL or timeout, and failed a dnsSrv lookup).
    if (failed && answers.length && !nx)
      for (const f of memo.prev.get(lower(name)) ?? []) {
        const left = toMs(f.ttl) - memo.d;
        if (left > 0 && f.address.includes(':') === (settled[0]?.status === 'fulfilled'))
          found.push({ address: f.address, ttl: left / 1000 });
      }
    if (!found.length && failed && !nx) throw failed.reason;
  }
  memo.next.set(lower(name), found);
  return {
    addresses: [...new Set(found.map((f) => f.address))],
    // The answer holds only as long as every link of a chain: a CNAME's TTL counts too (a short-lived
    // failover CNAME in front of hour-long A records must be asked again after its own TTL).
    ttl: Math.min(
      ...found.map((f) => f.ttl),
      ...chain.map((a) => (a.type === 'CNAME' ? (a.ttl ?? 0) : 1 / 0)),
    ),
    nx,
  };
}

/** An endpoint of one SRV target (`weight` is its share of the target's weight). */
interface Resolved {
  url: string;
  priority: number;
  weight: number;
  hostname: string;
}

// An SRV answer can name thousands of targets (a 64 KiB TCP answer holds ~2,800): resolving them all at
// once would open a socket per target and family, enough to hit the process's file limit.
const TARGET_CONCURRENCY = 16;

/** `fn` over `items` in order, at most `limit` at a time; takes no more after a failure or once `enough()`. */
async function eachLimit<T>(
  items: readonly T[],
  limit: number,
  enough: () => boolean,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length && !enough()) {
      try {
        await fn(items[next++] as T);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function queryOptions(
  ctx: SourceContext,
  servers: DnsServer[],
  base: { timeout: number; attempts: number },
  signal: AbortSignal,
): QueryOptions {
  return {
    servers,
    timeout: base.timeout,
    attempts: base.attempts,
    clock: ctx.clock,
    random: ctx.random,
    signal,
  };
}

/**
 * Endpoints from DNS SRV records (RFC 2782): each record's priority becomes the endpoint's priority
 * tier (lower first; the registry uses the best tier with healthy endpoints) and its weight the
 * endpoint's weight, split evenly across the target's addresses (use the `weighted` balancer for RFC 2782
 * selection within a tier). Refreshed on the smallest TTL of the records used. An empty answer or
 * NXDOMAIN is an error, so the last good endpoints keep being served.
 *
 * @throws InvalidArgumentError for a malformed name or option
 * @example
 * ```ts
 * import { dnsSrv } from '@integ/discovery/dns';
 * createRegistry({ services: { api: dnsSrv('_http._tcp.api.service.consul') }, balancer: 'weighted' });
 * ```
 */
export function dnsSrv(name: string, options: DnsSrvOptions = {}): Source {
  const srvName = checkName(name, 'dnsSrv name');
  const base = baseOptions(options);
  const servers = parseServers(options.servers);
  const resolveTargets = options.resolveTargets ?? true;
  return {
    kind: 'dns-srv',
    description: `SRV ${srvName}${servers ? ` via ${servers.map((s) => authority(s.host, s.port)).join(', ')}` : ''}`,
    open(ctx) {
      let prev = new Map<string, Found[]>();
      let last = 0;
      return {
        async resolve(signal): Promise<Snapshot> {
          const q = queryOptions(ctx, servers ?? (await systemServers()), base, signal);
          const now = ctx.clock.now();
          const memo: Memo = { d: Math.round(Math.max(0, now - last)), prev, next: new Map() };
          const response = await query(srvName, 'SRV', q);
          const answers = response.answers ?? [];
          const records = answers.filter((a) => a.type === 'SRV');
          if (rcodeOf(response) === 'NXDOMAIN' || records.length === 0)
            throw new DiscoverySourceError(
              'dns-srv',
              `SRV ${srvName}: ${rcodeOf(response) === 'NXDOMAIN' ? 'NXDOMAIN' : 'no SRV records'}`,
            );
          // An SRV name behind a CNAME (a blue/green switch) holds only as long as the CNAME, as in dnsA.
          let ttl = Number.POSITIVE_INFINITY;
          for (const a of answers) if (a.type === 'CNAME') ttl = Math.min(ttl, a.ttl ?? 0);
          const hints = response.additionals ?? [];
          const max = ctx.maxEndpoints ?? Number.POSITIVE_INFINITY;
          const urls = new Set<string>();
          const found = new Map<SrvAnswer, Resolved[]>();
          // Past maxEndpoints the registry keeps the lowest priority tiers, answer order within a tier
          // (decision 0059). Targets are looked up in that order, and no more once more than maxEndpoints
          // distinct URLs are known: later ones could not be kept (the one extra lets the registry log its
          // cut). So an answer naming thousands of targets costs the lookups of those kept, not thousands.
          const sorted = [...records].sort((a, b) => (a.data.priority ?? 0) - (b.data.priority ?? 0));
          await eachLimit(
            sorted,
            TARGET_CONCURRENCY,
            () => urls.size > max,
            async (record) => {
              const { data } = record;
              const list: Resolved[] = [];
              found.set(record, list);
              const hostname = data.target.replace(/\.$/, '');
              // The answer is untrusted: a label may hold any byte, and a target such as `user@evil/x` would
              // put another host, userinfo or a path into the URL. Such a record is skipped, like a bad entry,
              // and so is port 0, which nothing can connect to (Consul entries need 1-65535 too). So is a target
              // of "." (RFC 2782: the service is decidedly not available at this domain): '' is no host.
              if (!HOST.test(hostname) || !data.port) return;
              ttl = Math.min(ttl, record.ttl ?? 0);
              let addresses = [hostname];
              if (resolveTargets) {
                const lookup = await resolveAddresses(data.target, base.family, q, hints, memo);
                ttl = Math.min(ttl, lookup.ttl);
                addresses = lookup.addresses;
              }
              for (const address of addresses) {
                const url = `${base.protocol}://${authority(address, data.port)}`;
                // An address always makes a valid URL, so this counts what the registry will count; a target
                // name may not, and costs no lookup anyway.
                if (resolveTargets) urls.add(url);
                list.push({ url, priority: data.priority ?? 0, weight: 0, hostname });
              }
            },
          );
          // Answer order, as before: when targets were left out there are more than maxEndpoints, and the
          // registry sorts them by priority itself. Targets sharing an address and port make one endpoint
          // (the registry keeps one per URL): in the best tier that has it, with those targets' shares added,
          // so no target loses its share of that address (decision 0157).
          const merged = new Map<string, Resolved>();
          for (const r of records)
            for (const e of found.get(r) ?? []) {
              const seen = merged.get(e.url);
              if (seen === undefined || e.priority < seen.priority) {
                // In the better tier's place in the answer, where the registry's maxEndpoints cut looks for it.
                merged.delete(e.url);
                merged.set(e.url, e);
              }
            }
          const endpoints = [...merged.values()];
          // The URLs the registry keeps: past maxEndpoints, the first ones by priority (decision 0059; every
          // address makes a valid URL). Target names may not, so without lookups every name counts.
          const kept = new Set(
            resolveTargets ? [...endpoints].sort((a, b) => a.priority - b.priority).slice(0, max) : endpoints,
          );
          // RFC 2782 weights choose among targets: a target's share must not grow with its number of addresses,
          // so its weight is split across them (50/50 stays 50/50 with 4 addresses against 1, decision 0155),
          // across those kept (a cut must not shrink it), and added where targets share one (decision 0157).
          for (const r of records) {
            const mine = (found.get(r) ?? []).filter((e) => kept.has(merged.get(e.url) as Resolved));
            for (const e of mine) {
              const m = merged.get(e.url) as Resolved;
              if (m.priority === e.priority) m.weight += (r.data.weight ?? 0) / mine.length;
            }
          }
          if (endpoints.length === 0)
            throw new DiscoverySourceError('dns-srv', `SRV ${srvName}: no usable targets`);
          prev = memo.next;
          last = now;
          return { endpoints, ttlMs: toMs(Number.isFinite(ttl) ? ttl : 0) };
        },
      };
    },
  };
}

/**
 * Endpoints from a host name's A/AAAA records, all on one port, refreshed on their TTL.
 *
 * @throws InvalidArgumentError for a malformed name or option
 * @example
 * ```ts
 * import { dnsA } from '@integ/discovery/dns';
 * createRegistry({ services: { api: dnsA('api.internal', { port: 8080 }) }, balancer: 'peak-ewma' });
 * ```
 */
export function dnsA(hostname: string, options: DnsAOptions = {}): Source {
  const host = checkName(hostname, 'dnsA hostname');
  const base = baseOptions(options);
  const servers = parseServers(options.servers);
  const port = options.port ?? (base.protocol === 'https' ? 443 : 80);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new InvalidArgumentError('port', 'an integer in [1, 65535]', port);
  return {
    kind: 'dns',
    description: `${base.family === 4 ? 'A' : base.family === 6 ? 'AAAA' : 'A/AAAA'} ${host}:${port}`,
    open(ctx) {
      let prev = new Map<string, Found[]>();
      let last = 0;
      return {
        async resolve(signal): Promise<Snapshot> {
          const q = queryOptions(ctx, servers ?? (await systemServers()), base, signal);
          const now = ctx.clock.now();
          const memo: Memo = { d: Math.round(Math.max(0, now - last)), prev, next: new Map() };
          const { addresses, ttl, nx } = await resolveAddresses(host, base.family, q, [], memo);
          if (addresses.length === 0)
            throw new DiscoverySourceError('dns', `${host}: ${nx ? 'NXDOMAIN' : 'no address records'}`);
          prev = memo.next;
          last = now;
          return {
            endpoints: addresses.map((address) => ({
              url: `${base.protocol}://${authority(address, port)}`,
              hostname: host,
            })),
            ttlMs: toMs(ttl),
          };
        },
      };
    },
  };
}
