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

/**
 * {@link checkUrl} for the address of a server we call ourselves (Consul, etcd). Credentials or a query
 * in it are refused: fetch cannot send a URL with user:password@ (it throws, quoting the URL), and a
 * query would be cut off by the API path we append.
 */
export function checkServerUrl(value: unknown, setting: string): string {
  const url = checkUrl(value, setting);
  const parsed = new URL(url);
  if (parsed.username !== '' || parsed.password !== '' || parsed.search !== '' || parsed.hash !== '')
    throw new InvalidUrlError(
      setting,
      'it has credentials or a query; give the scheme, host and port only, and a token as the token option',
    );
  return url.replace(/\/+$/, '');
}

/**
 * A URL fit for logs, errors and `inspect()`: user:password@ becomes `***@` and a query `?***` (tokens
 * often ride there). Anything that does not parse is replaced whole.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(invalid URL)';
  }
  if (parsed.username === '' && parsed.password === '' && parsed.search === '' && parsed.hash === '')
    return url;
  const auth = parsed.username !== '' || parsed.password !== '' ? '***@' : '';
  return `${parsed.protocol}//${auth}${parsed.host}${parsed.pathname}${parsed.search === '' ? '' : '?***'}`;
}

/**
 * Masks every URL quoted in a message (a foreign error's text may quote the URL it was given, as undici
 * does for user:password@). A password may hold any character (the URL parser percent-encodes it), so
 * userinfo is masked first the WHATWG way, up to the last `@` before `/`, `?`, `#` or `\`: a quote or a
 * space in it no longer ends the URL early and leaves the rest of the password in the text. A `'` may
 * be part of a query too.
 */
export function redactText(text: string): string {
  return (
    text
      // A scheme starts after a character no scheme holds: each start then scans once, so a long word
      // costs linear time (starting inside it too made 100,000 letters take 10-20 s).
      .replace(/(^|[^a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/)[^/?#\\]*@/gi, '$1$2***@')
      .replace(
        /(^|[^a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/[^\s"<>`]+)/gi,
        (_, before: string, url: string) => before + redactUrl(url),
      )
  );
}

/** The host and port of a URL (default ports filled in for WHATWG's special schemes: ftp, http, https, ws, wss). */
export function hostPort(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  // The URL parser drops a special scheme's default port (ws://h:80, ftp://h:21 have port ''): put it back.
  const port =
    parsed.port !== ''
      ? Number(parsed.port)
      : ({ 'ftp:': 21, 'http:': 80, 'https:': 443, 'ws:': 80, 'wss:': 443 }[parsed.protocol] ?? 0);
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  return { host, port };
}

/** A host name or an IP literal, nothing that could add a path, userinfo or a port to a URL built from it. */
export const HOST: RegExp = /^(?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]+)$/;

/** Formats host:port as a URL authority (brackets for IPv6). */
export function authority(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
