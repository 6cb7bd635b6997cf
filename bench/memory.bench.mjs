// Memory of @integ/retry, @integ/breaker and @integ/sse side by side with the peers of their issues, in one
// run: retained heap per unit (calls parked in a backoff wait, breakers, parsers holding a half line, open
// SSE connections), bytes allocated per successful retry call, one breaker's heap after 1M calls, and the
// peak heap of a parser reading 16 MiB. Ratios are ours / peer (below 1: we hold less).
//
// Method (decision 0226): every (case, library) runs in a child process of its own (memory-child.mjs), so no
// library's code, caches or heap fragmentation are in another's reading, and each library starts from the same
// fresh heap; the children of one round run in a random order, and there are REPEATS rounds (median, range).
// In a child: the library is imported and its paths warmed up, then a reading (six full GCs a macrotask turn
// apart, process.memoryUsage(): heapUsed + external, which includes arrayBuffers) is the baseline; the units
// are made and kept alive in a preallocated array, and the second reading minus the baseline, divided by the
// units, is the retained size. Bytes allocated per call: heapUsed growth over batches of 10,000 calls run with
// a 64 MiB young generation and a v8.GCProfiler watching; a batch in which any GC ran is thrown away.
//
//   node bench/run.mjs memory                  (Node 20)
//   npx -y -p node@24 node bench/run.mjs memory
//   MEM_REPEATS=3 node --expose-gc bench/memory.bench.mjs
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { median } from './memory-measure.mjs';

const dir = fileURLToPath(new URL('.', import.meta.url));
const REPEATS = Number(process.env.MEM_REPEATS ?? 3);
const OURS = /^@integ\//;

// The breakers each breaker case measures, and which of ours each peer is compared with.
const BREAKERS = {
  peers: [
    '@integ/breaker',
    '@integ/breaker + slidingWindow()',
    "@integ/breaker + slidingWindow({ type: 'time' })",
    'cockatiel ConsecutiveBreaker(5)',
    'cockatiel CountBreaker(100)',
    'cockatiel SamplingBreaker(60 s)',
    'opossum',
  ],
  pairs: {
    'cockatiel ConsecutiveBreaker(5)': '@integ/breaker',
    'cockatiel CountBreaker(100)': '@integ/breaker + slidingWindow()',
    'cockatiel SamplingBreaker(60 s)': "@integ/breaker + slidingWindow({ type: 'time' })",
    opossum: '@integ/breaker',
  },
};
const sections = [
  {
    id: 'retry-parked',
    title: 'retry: 10,000 calls parked in a 60 s backoff wait (fn failed once; real timers, no signal)',
    peers: ['@integ/retry', 'p-retry', 'cockatiel'],
    columns: [['parked', 'bytes/call']],
  },
  {
    id: 'retry-parked-signal',
    title: 'retry: the same with one shared AbortSignal, aborted at the end',
    peers: ['@integ/retry', 'p-retry', 'cockatiel'],
    columns: [
      ['parked', 'bytes/call'],
      ['afterAbort', 'left after abort + GC, bytes/call'],
    ],
    note: "cockatiel's backoff wait does not listen to the signal (it cannot be aborted): its calls stay parked",
  },
  {
    id: 'retry-success',
    title: 'retry: bytes allocated per successful call (fn resolves at once; constant(0) backoff for all)',
    peers: ['bare await', '@integ/retry', '@integ/retry (no options)', 'p-retry', 'cockatiel'],
    columns: [['allocated', 'bytes allocated/call']],
    flags: ['--min-semi-space-size=64', '--max-semi-space-size=64'],
    overBaseline: 'bare await',
  },
  {
    id: 'breaker-instances',
    title: 'breaker: 10,000 instances, default options',
    ...BREAKERS,
    columns: [
      ['fresh', 'bytes/instance (new)'],
      ['afterOneCall', 'bytes/instance (after 1 call each)'],
    ],
  },
  {
    id: 'breaker-1M',
    title: "breaker: one breaker's heap growth after 100k and 1M calls (1 in 10 fails; from after 1k calls)",
    ...BREAKERS,
    columns: [
      ['at100k', 'bytes after 100k calls'],
      ['at1M', 'bytes after 1M calls'],
    ],
    repeats: 3,
    ratio: false,
    note: "Bounded means the 1M column is no larger than the 100k one. opossum with rollingPercentilesEnabled: false here (its default sorts every latency of its 10 s window on each failure: quadratic: 1M calls had not finished after several minutes). A few hundred kB either way is V8's code and inline caches, not the breaker",
  },
  {
    id: 'sse-parsers',
    title:
      'sse: 10,000 parsers, each fed one 589-byte chunk (8 events, then an event cut in its second data line)',
    peers: ['@integ/sse', 'eventsource-parser'],
    columns: [['retained', 'bytes/parser']],
  },
  {
    id: 'sse-stream',
    title: 'sse: one parser reading 16 MiB of the bench corpus in 64 KiB chunks (peak over baseline)',
    peers: ['@integ/sse', 'eventsource-parser'],
    columns: [
      ['peakLive', 'peak live bytes (GC after each chunk)'],
      ['peakUsed', 'peak heapUsed, no forced GC'],
    ],
    repeats: 3,
  },
  {
    id: 'sse-stream-one-event',
    title: 'sse: one parser reading one 16 MiB event in 64 KiB chunks (peak over baseline)',
    peers: ['@integ/sse', 'eventsource-parser'],
    columns: [
      ['peakLive', 'peak live bytes (GC after each chunk)'],
      ['peakUsed', 'peak heapUsed, no forced GC'],
    ],
    repeats: 3,
  },
  {
    id: 'sse-chunk-retention',
    title: 'sse: what a parser keeps between 64 KiB chunks (50 parsers read the same 4 MiB; per parser)',
    peers: ['@integ/sse', 'eventsource-parser'],
    columns: [
      ['between', 'bytes/parser (median of 8 readings)'],
      ['most', 'largest reading'],
    ],
    note: "A line cut by the chunk's end is kept as a slice of the chunk, which keeps the whole chunk alive in V8 (both parsers)",
  },
  {
    id: 'sse-clients',
    title: 'sse: 200 open connections to a loopback server in another process (each has read one event)',
    peers: [
      '@integ/sse connect()',
      '@integ/sse EventSource',
      'eventsource 4.1.1',
      'fetch() + body reader (floor)',
    ],
    pairs: {
      'eventsource 4.1.1': '@integ/sse EventSource',
      'fetch() + body reader (floor)': '@integ/sse connect()',
    },
    columns: [
      ['open', 'bytes/connection'],
      ['afterClose', 'left 0.5 s after close() + GC, bytes/connection'],
    ],
  },
];

const only = process.argv.slice(2);
const chosen = sections.filter((s) => only.length === 0 || only.some((o) => s.id.startsWith(o)));

function shuffle(list) {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

function runChild(section, peer) {
  const args = ['--expose-gc', ...(section.flags ?? []), 'memory-child.mjs', section.id, peer];
  for (let attempt = 1; ; attempt++) {
    const result = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', timeout: 300_000 });
    const line = result.stdout.split('\n').find((l) => l.startsWith('{'));
    if (result.status === 0 && line) return JSON.parse(line);
    // Other jobs rebuild the packages' dist/ now and then: a missing module is worth another try.
    if (attempt < 3 && /ERR_MODULE_NOT_FOUND/.test(result.stderr)) {
      spawnSync('sleep', ['10']);
      continue;
    }
    return {
      error: (result.stderr || result.error?.message || `exit ${result.status}`)
        .trim()
        .split('\n')
        .slice(-3)
        .join(' '),
    };
  }
}

// Rounds: every child of a round in a random order, so no library always runs first (or last) on the box.
const samples = new Map();
const rounds = Math.max(...chosen.map((s) => s.repeats ?? REPEATS));
for (let round = 1; round <= rounds; round++) {
  const jobs = [];
  for (const section of chosen) {
    if (round > (section.repeats ?? REPEATS)) continue;
    for (const peer of section.peers) jobs.push({ section, peer });
  }
  shuffle(jobs);
  process.stderr.write(`round ${round}/${rounds}: ${jobs.length} children\n`);
  for (const { section, peer } of jobs) {
    const key = `${section.id}\u0000${peer}`;
    if (!samples.has(key)) samples.set(key, []);
    samples.get(key).push(runChild(section, peer));
  }
}

const readingOf = (reading) => reading?.total ?? reading?.value;

function fmt(n) {
  if (!Number.isFinite(n)) return '-';
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(1);
}

const report = [];
for (const section of chosen) {
  const rows = [];
  for (const peer of section.peers) {
    const runs = samples.get(`${section.id}\u0000${peer}`) ?? [];
    const errors = runs.filter((r) => r.error).map((r) => r.error);
    const row = { peer, runs: runs.length, errors, values: {} };
    for (const [metric] of section.columns) {
      const values = runs.filter((r) => !r.error).map((r) => readingOf(r.metrics[metric]));
      row.values[metric] = {
        median: median(values),
        min: Math.min(...values),
        max: Math.max(...values),
        all: values,
      };
    }
    rows.push(row);
  }
  const first = section.columns[0][0];
  const byPeer = Object.fromEntries(rows.map((r) => [r.peer, r]));
  const firstOurs = section.peers.find((p) => OURS.test(p));
  for (const row of rows) {
    if (OURS.test(row.peer) || row.peer === section.overBaseline) continue;
    const ours = byPeer[section.pairs?.[row.peer] ?? firstOurs];
    row.oursName = ours.peer;
    row.ratio = ours.values[first].median / row.values[first].median;
    if (section.overBaseline) {
      const base = byPeer[section.overBaseline].values[first].median;
      row.ratioOverBaseline = (ours.values[first].median - base) / (row.values[first].median - base);
    }
  }
  const head = [
    'library',
    ...section.columns.map(([, label]) => `${label} (median)`),
    'range (first column)',
  ];
  if (section.overBaseline) head.push(`above ${section.overBaseline}`);
  if (section.ratio !== false) head.push('ours / peer');
  if (section.overBaseline) head.push('ours / peer, above baseline');
  const lines = [`\n### ${section.title} (node ${process.versions.node})\n`];
  lines.push(
    `| ${head.join(' | ')} |`,
    `|---|${head
      .slice(1)
      .map(() => '---:')
      .join('|')}|`,
  );
  for (const row of rows) {
    if (row.errors.length) {
      lines.push(`| ${row.peer} | error: ${row.errors[0].slice(0, 200)} |`);
      continue;
    }
    const v = row.values[first];
    const cells = [
      row.peer,
      ...section.columns.map(([m]) => fmt(row.values[m].median)),
      `${fmt(v.min)}-${fmt(v.max)} (${v.all.length} runs)`,
    ];
    if (section.overBaseline) cells.push(fmt(v.median - byPeer[section.overBaseline].values[first].median));
    if (section.ratio !== false)
      cells.push(row.ratio === undefined ? '' : `${row.ratio.toFixed(2)} (${row.oursName})`);
    if (section.overBaseline)
      cells.push(row.ratioOverBaseline === undefined ? '' : row.ratioOverBaseline.toFixed(2));
    lines.push(`| ${cells.join(' | ')} |`);
  }
  if (section.note) lines.push('', `${section.note}.`);
  console.log(lines.join('\n'));
  report.push({ id: section.id, title: section.title, columns: section.columns, rows });
}

// One results file per Node major, as the harness names them; each run is appended (keep both runs of a day).
const resultsDir = new URL('./results/', import.meta.url);
mkdirSync(resultsDir, { recursive: true });
const file = new URL(`memory.node${process.versions.node.split('.')[0]}.json`, resultsDir);
const previous = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { name: 'memory', runs: [] };
previous.runs.push({
  node: process.versions.node,
  date: new Date().toISOString(),
  repeats: REPEATS,
  sections: report,
});
writeFileSync(file, `${JSON.stringify(previous, null, 2)}\n`);
