/**
 * Review round 39: what Stryker's surviving mutants of src/dns.ts changed without a test noticing, and a defect
 * they led to. Each test was seen failing on the mutants it names (applied by hand) and passing on the code as it is.
 */
import { InvalidArgumentError } from '@integ/core';
import { dnsA, dnsSrv } from '@integ/discovery/dns';
import { describe, expect, it } from 'vitest';

/** The InvalidArgumentError `make()` throws. */
function refusal(make: () => unknown): InvalidArgumentError {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    return error as InvalidArgumentError;
  }
  throw new Error('not refused');
}

describe('dnsSrv and dnsA names (RFC 1035 §2.3.4)', () => {
  // 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 characters, the longest name.
  const longest = `${`${'a'.repeat(63)}.`.repeat(3)}${'a'.repeat(61)}`;

  it('refuses a label over 63 characters or an empty one, which dns-packet cannot write (the query asked another name)', () => {
    for (const name of [`${'a'.repeat(64)}.example`, 'a..b.example', '.example', '..'])
      expect(refusal(() => dnsA(name)).message).toBe(
        'Invalid dnsA hostname: expected a DNS name such as _http._tcp.api.example.com, received a string',
      );
    expect(dnsA(`${'a'.repeat(63)}.example`).kind).toBe('dns');
  });

  it('takes a name of 253 characters, also written with its final dot, and refuses 254', () => {
    expect(longest).toHaveLength(253);
    expect(dnsA(longest).description).toBe(`A/AAAA ${longest}:80`);
    expect(dnsA(`${longest}.`).description).toBe(`A/AAAA ${longest}:80`);
    expect(dnsSrv(`${longest}.`).description).toBe(`SRV ${longest}`);
    expect(refusal(() => dnsSrv(`${longest}a`)).argument).toBe('dnsSrv name');
    expect(refusal(() => dnsA(`${longest}a.`)).argument).toBe('dnsA hostname');
  });

  it('refuses a name that is not a string, or holds a character no host name has, with what it takes', () => {
    expect(refusal(() => dnsSrv(42 as never)).message).toBe(
      'Invalid dnsSrv name: expected a DNS name such as _http._tcp.api.example.com, received 42',
    );
    for (const name of ['_http._tcp.a/b.example', 'a b.example', 'user@api.example'])
      expect(refusal(() => dnsSrv(name)).argument).toBe('dnsSrv name');
  });
});
