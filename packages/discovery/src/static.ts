/**
 * Static and environment sources: the seed's `SERVICES = { auth: { url: env AUTH_SERVICE or default } }`.
 */
import { InvalidArgumentError } from '@integ/core';
import type { EndpointInit } from './endpoint.js';
import { InvalidUrlError } from './errors.js';
import { checkUrl } from './internal/url.js';
import type { Source } from './source.js';

/**
 * A fixed list of endpoints. `createRegistry` builds one for `{ url }` and `{ urls }` services; use it
 * directly to give weights or priorities.
 *
 * @throws InvalidUrlError when a URL is not absolute
 * @example
 * ```ts
 * createRegistry({ services: { api: staticSource([{ url: 'http://a:80', weight: 3 }, 'http://b:80']) } });
 * ```
 */
export function staticSource(
  endpoints: readonly (string | EndpointInit)[],
  setting = 'staticSource',
): Source {
  if (!Array.isArray(endpoints)) throw new InvalidArgumentError(setting, 'an array of URLs', endpoints);
  const list = endpoints.map((entry, i): EndpointInit => {
    const where = `${setting}[${i}]`;
    if (typeof entry === 'string') return { url: checkUrl(entry, where) };
    if (typeof entry !== 'object' || entry === null)
      throw new InvalidUrlError(where, 'expected a URL or { url }');
    // A mistyped weight or priority must not quietly become the default.
    for (const key of ['weight', 'priority'] as const) {
      const value = entry[key];
      if (value !== undefined && !(Number.isFinite(value) && (key === 'priority' || value >= 0)))
        throw new InvalidArgumentError(`${where}.${key}`, 'a finite number (weight >= 0)', value);
    }
    return { ...entry, url: checkUrl(entry.url, `${where}.url`) };
  });
  // The registry keeps one endpoint per URL: in your own list, a second entry (another weight, priority or
  // meta, or a repeat meant as weight) would be dropped unseen. Dynamic answers keep the first (README).
  const first = new Map<string, number>();
  list.forEach(({ url }, i) => {
    const j = first.get(url) ?? i;
    if (j < i)
      throw new InvalidArgumentError(
        `${setting}[${i}]`,
        `a URL not given in [${j}] already (one endpoint per URL)`,
        url,
      );
    first.set(url, i);
  });
  return { kind: 'static', description: `${list.length} static endpoint(s)`, endpoints: list };
}

/** Options of {@link fromEnv}. */
export interface FromEnvOptions {
  /** The variable to read. @default `<SERVICE>_SERVICE`, from the service name (`auth` -> `AUTH_SERVICE`) */
  readonly variable?: string;
  /** Used when the variable is unset or empty: a URL or a list of URLs. @default none (unset is an error) */
  readonly default?: string | readonly string[];
  /** Where variables come from. @default process.env (or an empty object where there is no process) */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** A source read from an environment variable; resolved against the service name by `createRegistry`. */
export interface EnvSource extends Source {
  readonly kind: 'env';
  /** The variable name, or `undefined` when it is derived from the service name. */
  readonly variable: string | undefined;
  /** Reads and validates the variable for `service` (throws {@link InvalidUrlError} naming the variable). */
  forService(service: string): Source;
}

/** The variable name `fromEnv()` reads for a service: `auth` -> `AUTH_SERVICE`, `user-db` -> `USER_DB_SERVICE`. */
export function envVariableFor(service: string): string {
  return `${service.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_SERVICE`;
}

/**
 * Endpoints from an environment variable holding a URL or a comma-separated list of URLs
 * (`AUTH_SERVICE=http://a:8001,http://b:8001`), with a default when it is unset: the seed's
 * `env AUTH_SERVICE or "http://localhost:8001"`. Validated in `createRegistry`: an invalid URL throws
 * an {@link InvalidUrlError} that names the variable.
 *
 * @example
 * ```ts
 * const registry = createRegistry({ services: { auth: fromEnv('AUTH_SERVICE', 'http://localhost:8001') } });
 * registry.url('auth'); // $AUTH_SERVICE, or http://localhost:8001 when unset
 * ```
 */
export function fromEnv(
  variable?: string | FromEnvOptions,
  fallback?: string | readonly string[] | FromEnvOptions,
  options: FromEnvOptions = {},
): EnvSource {
  // fromEnv('AUTH_SERVICE', { default, env }) is accepted too.
  const fallbackIsOptions = typeof fallback === 'object' && fallback !== null && !Array.isArray(fallback);
  const extra: FromEnvOptions = fallbackIsOptions ? (fallback as FromEnvOptions) : options;
  const opts: FromEnvOptions =
    typeof variable === 'object' && variable !== null
      ? variable
      : { ...extra, ...(variable === undefined ? {} : { variable }) };
  const name = opts.variable;
  const fallbackValue = fallbackIsOptions
    ? opts.default
    : ((fallback as string | readonly string[] | undefined) ?? opts.default);
  if (
    fallbackValue !== undefined &&
    typeof fallbackValue !== 'string' &&
    !(Array.isArray(fallbackValue) && fallbackValue.every((v) => typeof v === 'string'))
  )
    throw new InvalidArgumentError('fromEnv default', 'a URL or an array of URLs', fallbackValue);
  if (name !== undefined && (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)))
    throw new InvalidArgumentError(
      'fromEnv variable',
      'an environment variable name like AUTH_SERVICE',
      name,
    );
  const forService = (service: string): Source => {
    const varName = name ?? envVariableFor(service);
    const env = opts.env ?? readProcessEnv();
    // As text: an env of another kind (a parsed config, Workers bindings) may hold a number or an object,
    // which must fail as a bad URL naming the variable, not as a TypeError; null is unset.
    const raw = `${env[varName] ?? ''}`;
    if (raw.trim() !== '') {
      const parts = raw.split(',').map((part) => part.trim());
      const list = parts.map((part, i) =>
        checkUrl(
          part,
          parts.length > 1 ? `env ${varName} (entry ${i + 1} of ${parts.length})` : `env ${varName}`,
          varName,
        ),
      );
      return {
        kind: 'env',
        description: `env ${varName} (${list.length} URL(s))`,
        endpoints: list.map((url) => ({ url })),
      };
    }
    if (fallbackValue === undefined)
      throw new InvalidUrlError(
        `env ${varName}`,
        'the variable is not set and no default was given',
        varName,
      );
    const defaults = typeof fallbackValue === 'string' ? [fallbackValue] : fallbackValue;
    const list = defaults.map((url, i) =>
      checkUrl(url, `the default of env ${varName}${defaults.length > 1 ? `[${i}]` : ''}`),
    );
    return {
      kind: 'env',
      description: `env ${varName} unset, default (${list.length} URL(s))`,
      endpoints: list.map((url) => ({ url })),
    };
  };
  return {
    kind: 'env',
    variable: name,
    description: `env ${name ?? '<SERVICE>_SERVICE'}`,
    forService,
    open(): never {
      throw new InvalidArgumentError(
        'fromEnv()',
        'to be used as a service in createRegistry({ services })',
        'open()',
      );
    },
  };
}

function readProcessEnv(): Readonly<Record<string, string | undefined>> {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env ?? {};
}
