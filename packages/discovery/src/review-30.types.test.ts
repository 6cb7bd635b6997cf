/**
 * Review round 30: the types of the `clock` and `logger` options (and of a source's context) can be named from
 * @integ/discovery, without installing @integ/core, which pnpm's strict node_modules does not let a user import
 * unless it is their own dependency (as @integ/retry does since 413a8a5). Checked by `npx tsc -p tsconfig.json
 * --noEmit`; the runtime assertions only make sure the values typed here are taken by the code too.
 */
import {
  type Clock,
  createRegistry,
  type LogFn,
  type Logger,
  type RegistryOptions,
  type SourceContext,
  type TimerHandle,
} from '@integ/discovery';
import { describe, expect, expectTypeOf, it } from 'vitest';

describe('the clock and logger types, from @integ/discovery', () => {
  it('are the types of the options and of a source context', () => {
    expectTypeOf<NonNullable<RegistryOptions['clock']>>().toEqualTypeOf<Clock>();
    expectTypeOf<NonNullable<RegistryOptions['logger']>>().toEqualTypeOf<Logger>();
    expectTypeOf<SourceContext['clock']>().toEqualTypeOf<Clock>();
    expectTypeOf<SourceContext['logger']>().toEqualTypeOf<Logger>();
    expectTypeOf<ReturnType<Clock['setTimeout']>>().toEqualTypeOf<TimerHandle>();
    expectTypeOf<Logger['warn']>().toEqualTypeOf<LogFn>();
  });

  it('type a browser clock wrapper and a console logger a registry takes', () => {
    const clock: Clock = {
      now: () => Date.now(),
      setTimeout: (fn, ms): TimerHandle => setTimeout(fn, ms),
      clearTimeout: (handle: TimerHandle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    };
    const quiet: LogFn = () => {};
    const logger: Logger = { debug: quiet, info: quiet, warn: quiet, error: quiet };
    const registry = createRegistry({ clock, logger, services: { s: { url: 'http://a:1' } } });
    expect(registry.url('s')).toBe('http://a:1');
    registry.close();
  });
});
