/** URL validation shared by the static, env and dynamic sources. */
import { InvalidUrlError } from '../errors.js';

/**
 * Checks that `value` is an absolute URL with a host; returns it trimmed. Throws an
 * {@link InvalidUrlError} naming `setting` (and `variable`) without echoing the value.
 */
export function checkUrl(value: unknown, setting: string, variable?: string): string {
  if (typeof value !== 'string')
    throw new InvalidUrlError(setting, `expected a string, got ${typeof value}`, variable);
  const trimmed = value.trim();
  if (trimmed === '') throw new InvalidUrlError(setting, 'it is empty', variable);
  let parsed: URL;
  try {
    parsed = new URL(trimmed);
  } catch {
    throw new InvalidUrlError(setting, 'it does not parse as an absolute URL', variable);
  }
  if (parsed.hostname === '') throw new InvalidUrlError(setting, 'it has no host', variable);
  return trimmed;
}

/** The host and port of a URL (default ports filled in for http/https). */
export function hostPort(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  const port =
    parsed.port !== ''
      ? Number(parsed.port)
      : parsed.protocol === 'https:'
        ? 443
        : parsed.protocol === 'http:'
          ? 80
          : 0;
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  return { host, port };
}

/** Formats host:port as a URL authority (brackets for IPv6). */
export function authority(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
