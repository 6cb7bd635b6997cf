/**
 * Review 36 (B2): the packed @integ/queue installed with npm 11.19 into a scratch project on Node 20.20,
 * 22.13.0, 22.23 and 24.21 (/tmp/consumer-scripts). What StoreUnavailableError said when better-sqlite3 could
 * not be loaded did not match what the user had:
 * - npm 11 runs better-sqlite3's install script at install (with a notice that it is "not yet covered by
 *   allowScripts"): the message blamed npm 11 for skipping it, also for an addon built for another Node;
 * - an addon built for another Node was shown as its error's first line only, `The module '.../x.node'`, which
 *   names no problem (the NODE_MODULE_VERSIONs are on the next lines); an unbuilt one as `... Tried:`;
 * - with `driver: 'better-sqlite3'` on a Node that has node:sqlite it said to run on Node >= 22.13, and with
 *   `driver: 'node:sqlite'` on Node 20 to install better-sqlite3, which that driver does not use.
 * The loader is stubbed (as in sqlite.test.ts) so each case runs on any Node.
 */
import { StoreUnavailableError } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { afterEach, describe, expect, it, vi } from 'vitest';

const realGetBuiltin = process.getBuiltinModule;
/**
 * `require('better-sqlite3')` inside the store returns `better` (or throws it when it is an Error), and
 * `node:sqlite` is there (`nodeSqlite: true`, a stand-in that is never opened here) or not.
 */
const stub = (better: unknown, nodeSqlite: boolean): void => {
  vi.spyOn(process, 'getBuiltinModule').mockImplementation(((id: string) => {
    if (id === 'node:module')
      return {
        createRequire: () => (request: string) => {
          if (request !== 'better-sqlite3') throw new Error(`unexpected require(${request})`);
          if (better instanceof Error) throw better;
          return better;
        },
      };
    if (id === 'node:sqlite') return nodeSqlite ? { DatabaseSync: class {} } : undefined;
    return realGetBuiltin(id);
  }) as typeof process.getBuiltinModule);
};
/** A better-sqlite3 whose constructor fails the way it does when its addon cannot be loaded. */
const failing = (error: Error) =>
  function Database() {
    throw error;
  };
const missing = Object.assign(new Error("Cannot find module 'better-sqlite3'\nRequire stack:\n- /app/x.js"), {
  code: 'MODULE_NOT_FOUND',
});
const unbuilt = new Error(
  'Could not locate the bindings file. Tried:\n → /app/node_modules/better-sqlite3/build/better_sqlite3.node',
);
// Node 22.13.0's own words for an addon built on Node 20.20 (checked in the consumer).
const otherNode = Object.assign(
  new Error(
    "The module '/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\nNODE_MODULE_VERSION 127. Please try re-compiling or re-installing\nthe module (for instance, using `npm rebuild` or `npm install`).",
  ),
  { code: 'ERR_DLOPEN_FAILED' },
);

function messageOf(open: () => unknown): string {
  try {
    open();
  } catch (error) {
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    return (error as Error).message;
  }
  throw new Error('sqliteStore() did not throw');
}

describe('review 36 (B2): what StoreUnavailableError says about better-sqlite3', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('an addon built for another Node: names both module versions and says to rebuild, not that a script was skipped', () => {
    stub(failing(otherNode), false);
    const message = messageOf(() => sqliteStore({ path: ':memory:', driver: 'better-sqlite3' }));
    expect(message).toContain('NODE_MODULE_VERSION 115');
    expect(message).toContain('127');
    expect(message).toContain('npm rebuild better-sqlite3');
    expect(message).toContain('pnpm rebuild better-sqlite3');
    expect(message).not.toMatch(/skip/);
    expect(message).not.toContain('/app/node_modules'); // the path says nothing the user does not know
  });

  it('an unbuilt addon: says its install script did not run without blaming npm 11, which runs it', () => {
    stub(failing(unbuilt), false);
    const message = messageOf(() => sqliteStore({ path: ':memory:', driver: 'auto' }));
    expect(message).not.toMatch(/npm 11/);
    expect(message).toContain('pnpm 10');
    expect(message).toContain('--ignore-scripts');
    expect(message).toContain('Could not locate the bindings file');
    expect(message).not.toContain('Tried:');
    expect(message).toContain('npm install-scripts approve better-sqlite3 && npm rebuild better-sqlite3');
    expect(message).toContain('pnpm approve-builds');
    expect(message).not.toContain('pnpm rebuild'); // approve-builds builds what it approves: a second build is wasted
    expect(message).toContain('or run on Node >= 22.13 for node:sqlite');
  });

  it('an addon that does not load for another reason (another platform): its own first line, and rebuild', () => {
    const elf = Object.assign(
      new Error('/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node: invalid ELF header'),
      { code: 'ERR_DLOPEN_FAILED' },
    );
    stub(failing(elf), false);
    const message = messageOf(() => sqliteStore({ path: ':memory:' }));
    expect(message).toContain('invalid ELF header');
    expect(message).toContain('npm rebuild better-sqlite3');
    expect(message).not.toContain('install script');
  });

  it('driver better-sqlite3 on a Node that has node:sqlite: points to driver auto, not to a Node it already runs', () => {
    for (const error of [missing, unbuilt, otherNode]) {
      stub(failing(error), true);
      const message = messageOf(() => sqliteStore({ path: ':memory:', driver: 'better-sqlite3' }));
      expect(message).not.toContain('Node >= 22.13');
      expect(message).toContain("driver: 'auto'");
      vi.restoreAllMocks();
    }
  });

  it('driver node:sqlite on a Node without it: says what that driver needs, not to install better-sqlite3 alone', () => {
    stub(missing, false);
    const message = messageOf(() => sqliteStore({ path: ':memory:', driver: 'node:sqlite' }));
    expect(message).toContain('Node >= 22.13');
    expect(message).toContain("driver: 'auto'");
    expect(message).not.toContain('; install better-sqlite3');
  });

  it('better-sqlite3 not installed on Node 20: still says to install it (unchanged)', () => {
    stub(missing, false);
    const message = messageOf(() => sqliteStore({ path: ':memory:' }));
    expect(message).toContain("better-sqlite3: Cannot find module 'better-sqlite3'");
    expect(message).toContain('npm i better-sqlite3');
    expect(message).toContain('or run on Node >= 22.13 for node:sqlite');
  });
});

describe('review 36 (B2): better-sqlite3 13 on a Node with Node-API 9', () => {
  // `pnpm add better-sqlite3` (the README's line) took 13.2.0, the registry's latest, outside the peer range
  // ^12: its prebuilt addon is Node-API 10, and on Node 20.20 and 22.13.0 (Node-API 9) opening a database killed
  // the process with SIGSEGV (exit 139), before any error could be thrown; on 22.23 and 24.21 it worked.
  const realNapi = Object.getOwnPropertyDescriptor(process.versions, 'napi') as PropertyDescriptor;
  const setNapi = (value: string): void => {
    Object.defineProperty(process.versions, 'napi', { ...realNapi, value });
  };
  afterEach(() => {
    Object.defineProperty(process.versions, 'napi', realNapi);
    vi.restoreAllMocks();
  });
  /** better-sqlite3 of `version` whose constructor counts its calls (13 on Node-API 9 would crash there). */
  const betterOf = (version: string, withNodeSqlite = false) => {
    const opened: string[] = [];
    const Database = function Database(this: object, path: string) {
      opened.push(path);
      Object.assign(this, {
        exec() {},
        prepare: () => ({
          run: () => ({ changes: 0, lastInsertRowid: 0 }),
          get: () => undefined,
          all: () => [],
        }),
        close() {},
        inTransaction: false,
      });
    };
    vi.spyOn(process, 'getBuiltinModule').mockImplementation(((id: string) => {
      if (id === 'node:module')
        return {
          createRequire: () => (request: string) => {
            if (request === 'better-sqlite3') return Database;
            if (request === 'better-sqlite3/package.json') return { version };
            throw new Error(`unexpected require(${request})`);
          },
        };
      if (id === 'node:sqlite')
        return withNodeSqlite
          ? {
              DatabaseSync: function DatabaseSync(path: string) {
                opened.push(`node:sqlite ${path}`);
                throw new Error('stand-in');
              },
            }
          : undefined;
      return realGetBuiltin(id);
    }) as typeof process.getBuiltinModule);
    return opened;
  };

  it('is refused before it is opened, with a StoreUnavailableError that says to install better-sqlite3@12', () => {
    setNapi('9');
    const opened = betterOf('13.2.0');
    const message = messageOf(() => sqliteStore({ path: ':memory:' }));
    expect(opened).toEqual([]);
    expect(message).toContain('better-sqlite3 13.2.0');
    expect(message).toContain('Node-API 10');
    expect(message).toContain('better-sqlite3@12');
  });

  it("driver 'auto' falls back to node:sqlite (Node 22.13: Node-API 9, node:sqlite there)", () => {
    setNapi('9');
    const opened = betterOf('13.2.0', true);
    expect(() => sqliteStore({ path: ':memory:' })).toThrow();
    expect(opened).toEqual(['node:sqlite :memory:']);
  });

  it('is opened where Node-API is 10, and 12 is opened on Node-API 9', () => {
    setNapi('10');
    const on10 = betterOf('13.2.0');
    const open = (): void => {
      try {
        void sqliteStore({ path: ':memory:' }).close();
      } catch {} // the stand-in is hardly a database: only the constructor call counts
    };
    open();
    expect(on10).toEqual([':memory:']);
    vi.restoreAllMocks();
    setNapi('9');
    const twelve = betterOf('12.11.1');
    open();
    expect(twelve).toEqual([':memory:']);
  });
});
