/**
 * Credentials out of text the queue keeps: a job's `lastError` is stored, listed and shown in dashboards
 * long after the process that failed, so the secrets failure messages commonly carry are replaced by
 * `[redacted]` before it is written (decision 0035).
 */
const REDACTIONS: readonly (readonly [RegExp, string])[] = [
  // URL userinfo (https://user:pass@host, https://token@host) and query strings, which often carry tokens.
  [/(\/\/)[^\s/?#@]+@/g, '$1[redacted]@'],
  [/(\/\/[^\s?#]*)\?[^\s#"'<>]*/g, '$1?[redacted]'],
  // A cookie header's value to the end of the line (several pairs).
  [/\b((?:set-)?cookie["']?\s*:\s*)[^\r\n"']+/gi, '$1[redacted]'],
  // Authorization-style headers and name=value / "name": "value" pairs whose name says credential.
  [
    /\b((?:proxy-)?authorization|[\w-]*(?:token|secret|passw(?:or)?d|api[-_]?key|signature)[\w-]*)(["']?\s*[:=]\s*["']?)(?:(?:bearer|basic|digest)\s+)?[^\s"',;&]+/gi,
    '$1$2[redacted]',
  ],
  [/\b(bearer\s+)[\w.~+/=-]+/gi, '$1[redacted]'],
];

/** `text` with URL credentials, query strings and credential-like values replaced by `[redacted]`. */
export function redact(text: string): string {
  for (const [pattern, replacement] of REDACTIONS) text = text.replace(pattern, replacement);
  return text;
}
