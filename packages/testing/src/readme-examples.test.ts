/**
 * Every TypeScript example in packages/*\/README.md compiles, and the ones marked `<!-- example: runs -->` run.
 *
 * Users copy README examples first, so each ```ts / ```typescript block (and each ```js block that imports
 * `@integ/*`) is type-checked as a module of its own, with the strict flags of tsconfig.base.json, and
 * `@integ/<pkg>` and its subpaths resolved to the sources the way each package.json "exports" publishes them.
 * A comment on the line before the fence says more about a block:
 * - `<!-- example: runs -->`: self-contained and quick (loopback servers it starts itself, fake clocks, no
 *   real timer much above 100 ms): it is also transpiled and imported. A block that imports `vitest` is a test
 *   file of its own: its tests run here, inside a describe block.
 * - `<!-- example: fragment -->`: a piece of a larger program on purpose: not type-checked (use sparingly).
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const packagesDir = join(root, 'packages');

type Mark = 'runs' | 'fragment' | undefined;
interface Block {
  pkg: string;
  line: number; // 1-based line of the opening fence
  lang: 'ts' | 'js';
  code: string;
  mark: Mark;
}

function extractBlocks(pkg: string, markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i] ?? '');
    if (!open) continue;
    const info = open[1] ?? '';
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end] ?? '')) end++;
    const code = lines.slice(i + 1, end).join('\n');
    const lang = info === 'ts' || info === 'typescript' ? 'ts' : info === 'js' ? 'js' : undefined;
    if (lang === 'ts' || (lang === 'js' && /from ['"]@integ\//.test(code))) {
      const marker = /^<!--\s*example:\s*(runs|fragment)\s*-->\s*$/.exec(lines[i - 1] ?? '');
      blocks.push({ pkg, line: i + 1, lang, code, mark: marker?.[1] as Mark });
    }
    i = end;
  }
  return blocks;
}

const packages = readdirSync(packagesDir).filter((name) => {
  try {
    readFileSync(join(packagesDir, name, 'package.json'));
    return true;
  } catch {
    return false;
  }
});

const blocks: Block[] = packages.flatMap((pkg) => {
  let markdown: string;
  try {
    markdown = readFileSync(join(packagesDir, pkg, 'README.md'), 'utf8');
  } catch {
    return [];
  }
  return extractBlocks(pkg, markdown);
});

const nameOf = (block: Block): string => `${block.pkg}/README.md:${block.line}`;

/** `@integ/<pkg>` and `@integ/<pkg>/<sub>` -> src/index.ts and src/<sub>.ts, for every entry "exports" lists. */
function pathsFromExports(): Record<string, string[]> {
  const paths: Record<string, string[]> = {};
  for (const pkg of packages) {
    const manifest = JSON.parse(readFileSync(join(packagesDir, pkg, 'package.json'), 'utf8')) as {
      name: string;
      exports?: Record<string, unknown>;
    };
    for (const subpath of Object.keys(manifest.exports ?? { '.': null })) {
      if (subpath === './package.json') continue;
      const file = subpath === '.' ? 'index' : subpath.slice(2);
      const specifier = subpath === '.' ? manifest.name : `${manifest.name}/${file}`;
      paths[specifier] = [join(packagesDir, pkg, 'src', `${file}.ts`)];
    }
  }
  return paths;
}

function compilerOptions(): ts.CompilerOptions {
  const configPath = join(root, 'tsconfig.base.json');
  const read = ts.readConfigFile(configPath, (file) => ts.sys.readFile(file));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root, undefined, configPath);
  return {
    ...parsed.options,
    paths: pathsFromExports(),
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
    types: ['node'],
    noEmit: true,
    // A README block exports nothing: these two only shape .d.ts output.
    declaration: false,
    isolatedDeclarations: false,
    // Every block is a module of its own (top-level await, no leaking declarations), even without an import.
    moduleDetection: ts.ModuleDetectionKind.Force,
    allowJs: true,
    checkJs: true,
  };
}

/** A virtual file per block, next to its README, so bare imports resolve from that package. */
const fileOf = (block: Block): string =>
  join(packagesDir, block.pkg, `README.md.${block.line}.${block.lang === 'ts' ? 'ts' : 'mjs'}`);

function typeCheck(checked: Block[], overrides: ts.CompilerOptions = {}): Map<Block, string[]> {
  const options = { ...compilerOptions(), ...overrides };
  const virtual = new Map(checked.map((block) => [fileOf(block), block]));
  const host = ts.createCompilerHost(options, true);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (file) => virtual.has(file) || fileExists.call(host, file);
  host.readFile = (file) => virtual.get(file)?.code ?? readFile.call(host, file);
  host.getSourceFile = (file, language, onError, shouldCreate) => {
    const block = virtual.get(file);
    if (block) return ts.createSourceFile(file, block.code, language, true);
    return getSourceFile.call(host, file, language, onError, shouldCreate);
  };
  const program = ts.createProgram([...virtual.keys()], options, host);
  const errors = new Map<Block, string[]>(checked.map((block) => [block, []]));
  // The blocks' own diagnostics, and those that would fail any file; not those of the packages' sources,
  // which their own typecheck covers.
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...[...virtual.keys()].flatMap((file) => {
      const source = program.getSourceFile(file);
      return source
        ? [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
        : [];
    }),
  ];
  for (const diagnostic of diagnostics) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const block = diagnostic.file && virtual.get(diagnostic.file.fileName);
    if (!block || !diagnostic.file) {
      // A diagnostic outside the blocks (a global one, or in a source) would fail every block: show it once.
      errors.get(checked[0] as Block)?.push(`(global) TS${diagnostic.code}: ${message}`);
      continue;
    }
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    // The README line: the fence is block.line, the block's first line is the next one.
    errors.get(block)?.push(`line ${block.line + 1 + line}: TS${diagnostic.code}: ${message}`);
  }
  return errors;
}

/** Runnable blocks are written to a git-ignored tmp/ directory and imported through vitest's own transform. */
const tmpDir = join(packagesDir, 'testing', 'tmp', `readme-examples-${process.pid}`);
afterAll(() => {
  rmSync(tmpDir, { recursive: true, force: true });
  try {
    rmdirSync(dirname(tmpDir)); // tmp/ itself, when no other run is using it
  } catch {}
});

function writeRunnable(block: Block): string {
  const file = join(tmpDir, `${block.pkg}-${block.line}.${block.lang === 'ts' ? 'ts' : 'mjs'}`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, block.code);
  return file;
}

describe('README examples', () => {
  it('finds the examples of every package README', () => {
    const withReadme = packages.filter((pkg) => blocks.some((block) => block.pkg === pkg));
    expect(withReadme.length).toBeGreaterThan(0);
    expect(blocks.length).toBeGreaterThan(withReadme.length);
  });

  it('marks at least the first example (the quick start) of each package as runnable', () => {
    const firsts = new Map<string, Block>();
    for (const block of blocks) if (!firsts.has(block.pkg)) firsts.set(block.pkg, block);
    const notRunning = [...firsts.values()].filter((block) => block.mark !== 'runs').map(nameOf);
    expect(notRunning).toEqual([]);
  });

  it("names every @integ package an example imports in the README's install lines", () => {
    // A strict pnpm project makes importable only what was added (review 36: retry's FAQ example needs
    // @integ/testing, breaker's @integ/retry, and `pnpm add` of the package alone gave "Cannot find package").
    const missing: string[] = [];
    for (const pkg of packages) {
      let markdown: string;
      try {
        markdown = readFileSync(join(packagesDir, pkg, 'README.md'), 'utf8');
      } catch {
        continue;
      }
      const installed = new Set(
        markdown
          .split('\n')
          .filter((line) => /^(pnpm add|npm (install|i)) /.test(line))
          .flatMap((line) => line.replace(/#.*/, '').match(/@integ\/[a-z-]+/g) ?? []),
      );
      for (const block of blocks.filter((b) => b.pkg === pkg))
        for (const [, name] of block.code.matchAll(/from ['"](@integ\/[a-z-]+)/g))
          if (!installed.has(name as string)) missing.push(`${nameOf(block)} imports ${name}`);
    }
    expect(missing).toEqual([]);
  });

  const checked = blocks.filter((block) => block.mark !== 'fragment');
  // JavaScript users write no parameter types: their blocks are checked as strictly, less implicit `any`.
  const errors = new Map([
    ...typeCheck(checked.filter((block) => block.lang === 'ts')),
    ...typeCheck(
      checked.filter((block) => block.lang === 'js'),
      { noImplicitAny: false },
    ),
  ]);
  for (const block of checked) {
    it(`${nameOf(block)} compiles`, () => {
      expect(errors.get(block)).toEqual([]);
    });
  }
});

/** The examples print what they got, for the reader: keep it out of the test output. */
afterEach(() => {
  vi.restoreAllMocks();
});

function quiet(): void {
  for (const method of ['log', 'info', 'warn', 'error'] as const) {
    vi.spyOn(console, method).mockImplementation(() => undefined);
  }
}

for (const block of blocks.filter((block) => block.mark === 'runs')) {
  if (/from ['"]vitest['"]/.test(block.code)) {
    // A test file: its beforeAll/it/afterAll register inside this describe block.
    describe(`${nameOf(block)} runs`, async () => {
      beforeEach(quiet);
      await import(/* @vite-ignore */ writeRunnable(block));
    });
  } else {
    it(`${nameOf(block)} runs`, async () => {
      quiet();
      await import(/* @vite-ignore */ writeRunnable(block));
    });
  }
}
