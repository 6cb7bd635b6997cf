import {
  abortReason,
  IntegError,
  InvalidArgumentError,
  isAbortError,
  isIntegError,
  linkSignals,
  TimeoutError,
  throwIfAborted,
} from '@integ/core';
import { describe, expect, it } from 'vitest';

describe('IntegError', () => {
  it('carries a stable code, the cause and the retryable hint', () => {
    const cause = new Error('socket hang up');
    const error = new IntegError('ERR_UPSTREAM', 'Upstream failed', { cause, retryable: true });
    expect(error.code).toBe('ERR_UPSTREAM');
    expect(error.cause).toBe(cause);
    expect(error.retryable).toBe(true);
    expect(error.name).toBe('IntegError');
    expect(error).toBeInstanceOf(Error);
  });

  it('keeps URL credentials and query strings out of a TimeoutError message', () => {
    const error = new TimeoutError(100, 'health check of https://svc:hunter2@10.0.0.5/health?key=s3cr3t');
    expect(error.message).toContain('health check of https://');
    expect(error.message).toContain('10.0.0.5/health?');
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('s3cr3t');
    // a JavaScript caller's label that is no string is printed as before, not a TypeError from the timer
    expect(new TimeoutError(1, 42 as unknown as string).message).toMatch(/^42 timed out/);
    expect(new TimeoutError(100, 'Attempt 2').message).toBe(
      'Attempt 2 timed out after 100 ms; allow more time or make it faster',
    );
  });

  it('names subclasses after the class', () => {
    expect(new TimeoutError(10).name).toBe('TimeoutError');
    expect(new TimeoutError(10).retryable).toBe(true);
  });
});

describe('isIntegError', () => {
  it('recognises errors from another copy of the package by their string brand', () => {
    const foreign = Object.assign(new Error('x'), { '@@integ/error': true, code: 'ERR_X' });
    expect(isIntegError(foreign)).toBe(true);
    expect(isIntegError(foreign, 'ERR_X')).toBe(true);
    expect(isIntegError(foreign, 'ERR_Y')).toBe(false);
  });

  it('rejects plain errors and non-objects', () => {
    expect(isIntegError(new Error('x'))).toBe(false);
    expect(isIntegError(null)).toBe(false);
    expect(isIntegError('ERR_X')).toBe(false);
  });
});

describe('InvalidArgumentError', () => {
  it('says which argument, what was expected and what was received', () => {
    const error = new InvalidArgumentError('attempts', 'an integer >= 1', 0);
    expect(error.message).toBe('Invalid attempts: expected an integer >= 1, received 0');
    expect(error.code).toBe('ERR_INVALID_ARGUMENT');
    expect(error.retryable).toBe(false);
  });

  it('shows primitives, cuts long strings and never prints the contents of objects or functions', () => {
    const received = (value: unknown) =>
      new InvalidArgumentError('x', 'y', value).message.replace('Invalid x: expected y, received ', '');
    expect(received('abc')).toBe('"abc"');
    expect(received('s'.repeat(100))).toBe(JSON.stringify(`${'s'.repeat(25)}…`));
    expect(received('s'.repeat(28))).toBe(JSON.stringify('s'.repeat(28)));
    expect(received(Number.NaN)).toBe('NaN');
    expect(received(null)).toBe('null');
    expect(received(undefined)).toBe('undefined');
    expect(received({ password: 'hunter2' })).toBe('an object');
    expect(received(['hunter2'])).toBe('an object');
    expect(received(() => 'hunter2')).toBe('a function');
  });

  it('never prints URL credentials, query strings or a whole token', () => {
    const received = (value: unknown) => new InvalidArgumentError('x', 'y', value).message;
    // a string where a function or a number was expected: a service URL, a signed URL, a token
    const withUser = received('postgres://app:hunter2@db.internal');
    expect(withUser).not.toContain('hunter2');
    expect(withUser).not.toContain('app:');
    expect(withUser).toContain('db.internal');
    // the cut must not leave the start of a long password in: credentials go before the cut
    const longPassword = received(`https://u:${'p'.repeat(60)}@h`);
    expect(longPassword).not.toContain('pppp');
    const signed = received('/v1/x?token=s3cr3t&sig=abc');
    expect(signed).not.toContain('s3cr3t');
    expect(signed).toContain('/v1/x?');
    expect(received('https://h/cb#access_token=s3cr3t')).not.toContain('s3cr3t');
    // a 40-character token (a GitHub classic token, an AWS secret key) is not printed whole
    const token = `ghp_${'A1b2C3d4E5'.repeat(3)}xyz123`;
    expect(token).toHaveLength(40);
    expect(received(token)).not.toContain(token);
    // masking takes linear time: a long run of '#' or '/' does not make the regex backtrack (100 000 '#' took ~10 s)
    const start = performance.now();
    for (const hostile of [
      '#'.repeat(100_000),
      '/'.repeat(100_000),
      `/${'a'.repeat(100_000)}`,
      '?#'.repeat(50_000),
    ])
      new InvalidArgumentError('x', 'y', hostile);
    new TimeoutError(1, '#'.repeat(100_000));
    expect(performance.now() - start).toBeLessThan(1000);
    // what helps fix a typo stays readable
    expect(received('ful')).toContain('"ful"');
    expect(received('Job #12')).toContain('"Job #12"');
    expect(received('ready?')).toContain('"ready?"');
  });
});

describe('abort helpers', () => {
  it('throwIfAborted throws signal.reason as is', () => {
    const controller = new AbortController();
    const reason = { custom: true };
    controller.abort(reason);
    expect(() => throwIfAborted(controller.signal)).toThrow();
    try {
      throwIfAborted(controller.signal);
    } catch (error) {
      expect(error).toBe(reason);
    }
    expect(abortReason(controller.signal)).toBe(reason);
  });

  it('abortReason keeps a null reason (abort(null)) and the same one on every call', () => {
    const controller = new AbortController();
    controller.abort(null);
    expect(abortReason(controller.signal)).toBeNull();
    let thrown: unknown = 'nothing';
    try {
      throwIfAborted(controller.signal);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeNull();
    const old = { aborted: true, reason: undefined } as unknown as AbortSignal;
    expect(abortReason(old)).toMatchObject({ name: 'AbortError' });
  });

  it('isAbortError recognises AbortError by name and by the signal reason', () => {
    const controller = new AbortController();
    controller.abort('why');
    expect(isAbortError('why', controller.signal)).toBe(true);
    expect(isAbortError(new DOMException('x', 'AbortError'))).toBe(true);
    expect(isAbortError(new Error('x'))).toBe(false);
  });

  it('linkSignals follows the first source to abort and detaches on dispose', () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = linkSignals(a.signal, undefined, b.signal);
    b.abort('b');
    expect(linked.signal.reason).toBe('b');
    a.abort('a');
    expect(linked.signal.reason).toBe('b');

    const c = new AbortController();
    const other = linkSignals(c.signal);
    other.dispose();
    c.abort('late');
    expect(other.signal.aborted).toBe(false);
  });

  it('linkSignals is aborted at once when a source already is', () => {
    const a = new AbortController();
    a.abort('early');
    expect(linkSignals(a.signal).signal.reason).toBe('early');
  });
});
