/**
 * Review round 9: a source's IntegError reaching the caller unmasked (and its code lost across two copies of
 * @integ/core), httpCheck given a `%` that starts no escape, and an unknown service name of any length.
 */
import { isIntegError, type Logger, TimeoutError } from '@integ/core';
import { createRegistry, type Endpoint, httpCheck, type Source } from '@integ/discovery';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const SECRETS = /hunter2|s3cr3t|user:/;
const leakyUrl = 'https://user:hunter2@registry.internal/v1?token=s3cr3t';

function failing(thrown: unknown): Source {
  return { kind: 'custom', description: 'x', open: () => ({ resolve: () => Promise.reject(thrown) }) };
}

function recorder(): { logger: Logger; lines: unknown[] } {
  const lines: unknown[] = [];
  const log = (...args: unknown[]): void => {
    lines.push(args);
  };
  return { logger: { debug: log, info: log, warn: log, error: log }, lines };
}

const settle = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (err: unknown) => err,
  );

/** What `error` shows: its text, its stack and its own fields (a cause may keep the original, as thrown). */
function shown(error: unknown): string {
  const e = error as Error;
  return JSON.stringify([String(e), e.stack, { ...e, cause: undefined }]);
}

describe('createRegistry, given a source failing with an IntegError that quotes a URL with credentials', () => {
  it('masks it in ready(), refresh(), pick(), inspect() and the log, keeps its code and keeps it as cause', async () => {
    const thrown = new TimeoutError(2000, `GET ${leakyUrl}`);
    const { logger, lines } = recorder();
    const registry = createRegistry({ services: { b: failing(thrown) }, logger });
    try {
      const fromReady = await settle(registry.ready('b'));
      const fromRefresh = await settle(registry.refresh('b'));
      let fromPick: unknown;
      try {
        registry.pick('b');
      } catch (error) {
        fromPick = error;
      }
      for (const error of [fromReady, fromRefresh]) {
        // Before: the TimeoutError itself, 'GET https://user:hunter2@registry.internal/v1?token=s3cr3t timed out ...'.
        expect(isIntegError(error, 'ERR_TIMEOUT')).toBe(true);
        expect((error as Error).message).toBe(
          'GET https://***@registry.internal/v1?*** timed out after 2000 ms; allow more time or make it faster',
        );
        expect((error as TimeoutError).retryable).toBe(true);
        expect((error as Error).cause).toBe(thrown);
        expect(shown(error)).not.toMatch(SECRETS);
      }
      expect(isIntegError(fromPick, 'ERR_NO_ENDPOINTS')).toBe(true);
      expect(shown(fromPick)).not.toMatch(SECRETS);
      expect(shown((fromPick as Error).cause)).not.toMatch(SECRETS);
      const inspection = registry.inspect('b');
      expect(inspection.lastError?.code).toBe('ERR_TIMEOUT');
      expect(JSON.stringify([inspection, lines])).not.toMatch(SECRETS);
      expect((lines[0] as unknown[])[0]).toMatchObject({ code: 'ERR_TIMEOUT' });
    } finally {
      registry.close();
    }
  });

  it('masks it in refresh() too when the registry was closed during the lookup', async () => {
    let fail: (error: unknown) => void = () => {};
    const thrown = new TimeoutError(2000, `GET ${leakyUrl}`);
    const source: Source = {
      kind: 'custom',
      description: 'x',
      open: () => ({
        resolve: () =>
          new Promise((_, reject) => {
            fail = reject;
          }),
      }),
    };
    const registry = createRegistry({ services: { b: source } });
    const refreshed = settle(registry.refresh('b'));
    registry.close();
    fail(thrown);
    const error = await refreshed;
    // Since review 30 (docs/decisions/0169) close() ends the lookup in flight at once, as it does ready(): the
    // source's failure after it is not what refresh() says (it was, masked: ERR_TIMEOUT with it as cause).
    expect(isIntegError(error, 'ERR_NO_ENDPOINTS')).toBe(true);
    expect((error as Error).message).toMatch(/the registry was closed/);
    expect(shown(error)).not.toMatch(SECRETS);
  });

  it('passes an IntegError with nothing to mask through as thrown', async () => {
    const thrown = new TimeoutError(2000, 'GET https://registry.internal/v1');
    const registry = createRegistry({ services: { b: failing(thrown) } });
    try {
      expect(await settle(registry.ready('b'))).toBe(thrown);
    } finally {
      registry.close();
    }
  });

  it('keeps the code of an IntegError from another copy of @integ/core (the string brand, not instanceof)', async () => {
    // What an error of a second @integ/core copy looks like to this one: the brand, not our prototype.
    const foreign = Object.assign(new Error('quota exceeded'), {
      '@@integ/error': true,
      code: 'ERR_QUOTA',
      retryable: false,
    });
    const masked = Object.assign(new Error(`quota exceeded at ${leakyUrl}`), {
      '@@integ/error': true,
      code: 'ERR_QUOTA',
      retryable: false,
    });
    const { logger, lines } = recorder();
    const registry = createRegistry({ services: { a: failing(foreign), b: failing(masked) }, logger });
    try {
      // Before: wrapped as an unknown failure, ERR_DISCOVERY_SOURCE 'custom: quota exceeded'.
      expect(await settle(registry.ready('a'))).toBe(foreign);
      expect(registry.inspect('a').lastError).toEqual({ code: 'ERR_QUOTA', message: 'quota exceeded' });
      const error = await settle(registry.ready('b'));
      expect(error).toMatchObject({
        code: 'ERR_QUOTA',
        retryable: false,
        message: 'quota exceeded at https://***@registry.internal/v1?***',
        cause: masked,
      });
      expect(shown(error)).not.toMatch(SECRETS);
      expect(lines.map((line) => (line as [{ code: string }])[0].code)).toEqual(['ERR_QUOTA', 'ERR_QUOTA']);
    } finally {
      registry.close();
    }
  });
});

describe('httpCheck, given credentials with a % that starts no escape', () => {
  const endpoint = (url: string): Endpoint => ({ url, service: 'a', weight: 1, priority: 0 });
  const basic = (pair: string): string => `Basic ${Buffer.from(pair).toString('base64')}`;
  const signal = new AbortController().signal;
  async function sent(url: string): Promise<string | null> {
    let auth: string | null = null;
    const check = httpCheck({
      fetch: (async (_input: URL, init: RequestInit) => {
        auth = new Headers(init.headers).get('authorization');
        return new Response(null, { status: 204 });
      }) as typeof fetch,
    });
    await expect(check(endpoint(url), { signal })).resolves.toBe(true);
    return auth;
  }

  it('sends the % as written (as curl does) instead of failing every check with a URIError', async () => {
    // Before: decodeURIComponent threw 'URI malformed' and the endpoint stayed unhealthy for ever.
    expect(await sent('http://u:50%off@10.0.0.1/')).toBe(basic('u:50%off'));
    expect(await sent('http://u%:p%2@10.0.0.1/')).toBe(basic('u%:p%2'));
    // Valid escapes still decode, to UTF-8 bytes: %25 is a %, %C3%A9 an é.
    expect(await sent('http://u:50%25%C3%A9%40@10.0.0.1/')).toBe(basic('u:50%é@'));
  });

  it('never fails on a % in the password, and sends one that starts no escape as written (property)', async () => {
    const chars = fc.constantFrom('%', 'a', 'F', '0', '9', 'z', '!', '~');
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: chars }), async (raw) => {
        const auth = await sent(`http://u:${raw}@10.0.0.1/`);
        if (!/%[\da-f]{2}/i.test(raw)) expect(auth).toBe(basic(`u:${raw}`));
      }),
      { seed: 9, numRuns: 300 },
    );
  });

  it('sends any password given percent-encoded as its UTF-8 bytes (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'grapheme' }),
        fc.string({ unit: 'grapheme' }),
        async (user, pass) => {
          const url = `http://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@10.0.0.1/`;
          expect(await sent(url)).toBe(basic(`${user}:${pass}`));
        },
      ),
      { seed: 9, numRuns: 200 },
    );
  });
});

describe('UnknownServiceError, given a very long name', () => {
  it('quotes the start of the name with an ellipsis and still lists the known names', () => {
    const registry = createRegistry({ services: { auth: 'http://localhost:8001', billing: 'http://b:1' } });
    const name = `${'x'.repeat(1_000_000)}"\n`;
    let error: unknown;
    try {
      registry.url(name);
    } catch (err) {
      error = err;
    }
    registry.close();
    expect(isIntegError(error, 'ERR_UNKNOWN_SERVICE')).toBe(true);
    const message = (error as Error).message;
    // Before: the whole name, 1 MB in a message (and in every log line showing it).
    expect(message.length).toBeLessThan(300);
    expect(message).toBe(
      `Unknown service "${'x'.repeat(64)}…"; known services: auth, billing. Add it to createRegistry({ services })`,
    );
    expect((error as { service: string }).service).toBe(name);
  });

  it('quotes a name of up to 64 characters (a DNS label, a Kubernetes service name) whole', () => {
    const registry = createRegistry({ services: { auth: 'http://localhost:8001' } });
    expect(() => registry.pick('y'.repeat(64))).toThrow(`Unknown service "${'y'.repeat(64)}"; known`);
    expect(() => registry.pick('y'.repeat(65))).toThrow(`Unknown service "${'y'.repeat(64)}…"; known`);
    registry.close();
  });
});
