/**
 * Credentials out of text the queue keeps: a job's `lastError` is stored, listed and shown in dashboards
 * long after the process that failed, so the secrets failure messages commonly carry are replaced by
 * `[redacted]` before it is written (decision 0035).
 */

// A name that says credential (`password`, `x-api-key`, `Authorization`, ...), then `:` or `=` (a JSON key's
// closing quote allowed). $1 is the name, $2 the separator. A name starts only where a run of word characters
// and dashes starts: `\b` also started one after each dash inside a run, and each start backtracked over the
// rest of it ('token-token-...': 4 KB took ~0.8 s per pattern, cubic).
const CREDENTIAL = String.raw`((?<![\w-])[\w-]*(?:token|secret|passw(?:or)?d|pwd|passphrase|private[-_]?key|credential|api[-_]?key|signature)[\w-]*|\b(?:proxy-)?authorization)(["']?\s*[:=]\s*)`;

const REDACTIONS: readonly (readonly [RegExp, string])[] = [
  // URL userinfo (https://user:pass@host, https://token@host) and query strings, which often carry tokens.
  // Userinfo ends at the authority's last '@', as a URL parser reads `admin:P@ss@host` (the first left `ss`).
  [/(\/\/)[^\s/?#\\]+@/g, '$1[redacted]@'],
  [/(\/\/[^\s?#]*)\?[^\s#"'<>]*/g, '$1?[redacted]'],
  // A cookie header's value to the end of the line (several pairs).
  [/\b((?:set-)?cookie["']?\s*:\s*)[^\r\n"']+/gi, '$1[redacted]'],
  // A quoted credential to its closing quote: a passphrase has spaces, a password commas (escapes skipped).
  [new RegExp(String.raw`${CREDENTIAL}(["'])(?:(?!\3)[^\\\r\n]|\\.)*\3?`, 'gi'), '$1$2$3[redacted]$3'],
  // An Authorization value with its scheme, whatever it is: `token ghp_...` (GitHub), `Token ...`, `Bot ...`.
  [/\b((?:proxy-)?authorization["']?\s*[:=]\s*)(?:[\w-]+[ \t]+)?[^\s"',;&]+/gi, '$1[redacted]'],
  [
    new RegExp(String.raw`${CREDENTIAL}(?:(?:bearer|basic|digest)[ \t]+)?[^\s"',;&]+`, 'gi'),
    '$1$2[redacted]',
  ],
  [/\b(bearer\s+)[\w.~+/=-]+/gi, '$1[redacted]'],
];

/** `text` with URL credentials, query strings and credential-like values replaced by `[redacted]`. */
export function redact(text: string): string {
  for (const [pattern, replacement] of REDACTIONS) text = text.replace(pattern, replacement);
  return text;
}
