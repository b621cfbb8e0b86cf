// npm run bench [-- --only NAME[,NAME]] [--quick] [--profile]
// chwire against its peers, side by side, alternating A B A B after a warm-up,
// medians of several runs; writes bench/results/<stamp>.json and docs/benchmarks.md
// (+ docs/benchmarks.svg). Peers: clickhouse-client (C++), @clickhouse/client (HTTP),
// clickhouse-js-tcp, Python clickhouse-driver — all installed by this harness or as
// dev dependencies.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
// The built package (what users run; built by `npm run bench` first).
import { createClient } from '../dist/index.js';
import { runCodecBench, type CodecCase } from './codecs.js';
import { runCompressionBench } from './compression.js';

const ROOT = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const PROFILE = args.includes('--profile');
const ONLY = (args[args.indexOf('--only') + 1] ?? '').split(',').filter((s) => args.includes('--only') && s);
const RUNS = QUICK ? 1 : Number(process.env.CHWIRE_BENCH_RUNS ?? 3);
/** Short cases whose times swing most on this shared machine get more runs. */
const FAST_RUNS = RUNS >= 3 ? Math.max(RUNS, 7) : RUNS;
/** The 300 M-row SELECT, whose samples fall into a slow mode now and then (both clients): its median wants more. */
const SELECT_RUNS = RUNS >= 3 ? Math.max(RUNS, 11) : RUNS;
const HOST = '127.0.0.1';
let PORT = 19000;
let HTTP_PORT = 18123;

interface Sample {
  seconds: number;
  rows: number;
  p50?: number;
  p99?: number;
  rssMB?: number;
}
export interface PeerResult {
  peer: string;
  samples: Sample[];
  medianSeconds?: number;
  minSeconds?: number;
  maxSeconds?: number;
  rowsPerSec?: number;
  p50?: number;
  p99?: number;
  rssMB?: number;
  note?: string;
}
export interface CaseResult {
  name: string;
  description: string;
  /** 'rate' (rows/s, higher better) or 'latency' (ms, lower better) or 'memory'. */
  metric: 'rate' | 'latency' | 'memory';
  results: PeerResult[];
  /** Timed runs per peer, when not the record's `runs`. */
  runs?: number;
  /** chwire speed / peer speed, by peer. */
  ratios: Record<string, number>;
}

type Runner = () => Promise<Sample>;
interface Peer {
  name: string;
  run?: Runner;
  note?: string;
}

function sh(cmd: string, argv: string[], input?: string | Buffer): Promise<{ stdout: string; stderr: string; code: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const p = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ stdout, stderr, code: code ?? 1, seconds: (performance.now() - t) / 1000 }));
    if (input !== undefined) p.stdin.end(input);
    else p.stdin.end();
  });
}

/** clickhouse-client --time prints the server-side elapsed seconds on stderr (3 decimals). */
async function cpp(query: string, extra: string[] = [], input?: Buffer): Promise<Sample & { times: number[] }> {
  const r = await sh('clickhouse-client', ['--host', HOST, '--port', String(PORT), '--time', ...extra, '-q', query], input);
  if (r.code !== 0) throw new Error(`clickhouse-client failed: ${r.stderr.slice(0, 300)}`);
  const times = r.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^\d+(\.\d+)?$/.test(l))
    .map(Number);
  return { seconds: times.reduce((a, b) => a + b, 0) || r.seconds, rows: 0, times };
}

async function python(spec: Record<string, unknown>): Promise<Sample> {
  const r = await sh('/usr/bin/python3', [join(ROOT, 'bench/peers/python_driver.py'), JSON.stringify({ host: HOST, port: PORT, ...spec })]);
  if (r.code !== 0) throw new Error(`python clickhouse-driver failed: ${r.stderr.slice(-300)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Sample;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * A garbage collection outside the timed region (`npm run bench` runs node with --expose-gc):
 * 'full' (mark-compact) or 'minor' (the young generation only). A forced full collection also
 * makes V8 drop optimized code that embedded objects of the previous run, so the next run
 * starts partly unoptimized (measured: +10 % on select_uint64, +15–25 % on streamed rows) —
 * a cost no application pays per query; it is forced only where a sample leaves a large kept
 * result behind.
 */
function settleHeap(kind: 'full' | 'minor'): void {
  const gc = (globalThis as { gc?: (o?: { type: 'major' | 'minor' }) => void }).gc;
  if (!gc) return;
  if (kind === 'full') gc();
  else gc({ type: 'minor' });
}

/**
 * `settle`: the collection before every sample — 'full' where a sample keeps its whole result
 * (hundreds of MB of rows left for the next one), else 'minor'. Every case starts with a full one.
 */
async function runCase(name: string, description: string, metric: CaseResult['metric'], peers: Peer[], runs = RUNS, settle: 'full' | 'minor' = 'minor'): Promise<CaseResult> {
  settleHeap('full');
  const results: PeerResult[] = peers.map((p) => ({ peer: p.name, samples: [], ...(p.note ? { note: p.note } : {}) }));
  // Under --profile only chwire runs, so the profile shows chwire's time alone.
  const chwireOnly = process.env.CHWIRE_BENCH_CHWIRE_ONLY === '1';
  const active = peers.map((p, i) => [p, results[i]!] as const).filter(([p], i) => p.run && (!chwireOnly || i === 0));
  // Warm-up once each, then alternate A B A B …
  for (const [p, r] of active) {
    try {
      await p.run!();
    } catch (e) {
      r.note = `failed: ${(e as Error).message.slice(0, 200)}`;
    }
  }
  for (let k = 0; k < runs; k++) {
    for (const [p, r] of active) {
      if (r.note?.startsWith('failed')) continue;
      // Every sample starts from a collected heap: garbage an earlier in-process peer left would
      // otherwise be collected (concurrently, on the server's second core) during the next one.
      settleHeap(settle);
      try {
        r.samples.push(await p.run!());
      } catch (e) {
        r.note = `failed: ${(e as Error).message.slice(0, 200)}`;
      }
    }
  }
  for (const r of results) {
    if (!r.samples.length) continue;
    const secs = r.samples.map((s) => s.seconds);
    r.medianSeconds = median(secs);
    r.minSeconds = Math.min(...secs);
    r.maxSeconds = Math.max(...secs);
    r.rowsPerSec = median(r.samples.map((s) => s.rows / s.seconds));
    if (r.samples[0]!.p50 !== undefined) {
      r.p50 = median(r.samples.map((s) => s.p50!));
      r.p99 = median(r.samples.map((s) => s.p99!));
    }
    if (r.samples[0]!.rssMB !== undefined) r.rssMB = median(r.samples.map((s) => s.rssMB!));
  }
  const me = results[0]!;
  const ratios: Record<string, number> = {};
  for (const r of results.slice(1)) {
    if (!r.samples.length || !me.samples.length) continue;
    ratios[r.peer] = metric === 'latency' ? r.p50! / me.p50! : me.rowsPerSec! / r.rowsPerSec!;
  }
  const out: CaseResult = { name, description, metric, results, ...(runs !== RUNS ? { runs } : {}), ratios };
  printCase(out);
  return out;
}

function fmtRate(r: number): string {
  return r >= 1e6 ? `${(r / 1e6).toFixed(1)} M rows/s` : `${(r / 1e3).toFixed(1)} K rows/s`;
}

function printCase(c: CaseResult): void {
  console.log(`\n## ${c.name} — ${c.description}`);
  for (const r of c.results) {
    let line = `  ${r.peer.padEnd(24)}`;
    if (r.samples.length) {
      if (c.metric === 'latency') line += `p50 ${r.p50!.toFixed(3)} ms  p99 ${r.p99!.toFixed(3)} ms`;
      else line += `${fmtRate(r.rowsPerSec!).padEnd(18)} median ${r.medianSeconds!.toFixed(3)} s (min ${r.minSeconds!.toFixed(3)}, max ${r.maxSeconds!.toFixed(3)})`;
      if (r.rssMB !== undefined) line += `  peak RSS ${r.rssMB.toFixed(0)} MB`;
      if (c.ratios[r.peer] !== undefined) line += `  → chwire ${c.ratios[r.peer]!.toFixed(2)}×`;
    }
    if (r.note) line += `  (${r.note})`;
    console.log(line);
  }
}

// ------------------------------------------------------------------ setup

function ensurePeers(): void {
  if (spawnSync('which', ['clickhouse-client']).status !== 0 || spawnSync('/usr/bin/python3', ['-c', 'import clickhouse_driver']).status !== 0) {
    console.log('installing peers from Debian packages (clickhouse-client, python3-clickhouse-driver)…');
    spawnSync('apt-get', ['install', '-y', '-q', 'clickhouse-server', 'clickhouse-client', 'python3-clickhouse-driver', 'lz4', 'zstd'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  const r = spawnSync('bash', [join(ROOT, 'scripts/clickhouse-server.sh'), 'start', 'A'], { stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('could not start the ClickHouse server');
  const envFile = join(ROOT, '.tmp/clickhouse/env');
  if (existsSync(envFile)) {
    for (const line of readFileSync(envFile, 'utf8').split('\n')) {
      const m = /^CHWIRE_TEST_(TCP_PORT|HTTP_PORT)=['"]?(\d+)/.exec(line);
      if (m?.[1] === 'TCP_PORT') PORT = Number(m[2]);
      if (m?.[1] === 'HTTP_PORT') HTTP_PORT = Number(m[2]);
    }
  }
}

const url = () => `clickhouse://${HOST}:${PORT}`;
const httpUrl = () => `http://${HOST}:${HTTP_PORT}`;

async function chwireColumnar(query: string, compression: 'none' | 'lz4' = 'none', over = url()): Promise<Sample> {
  const c = createClient({ url: over, compression, request_timeout: 600_000 });
  try {
    await c.ping();
    const t = performance.now();
    let rows = 0;
    let check = 0n;
    // A block-by-block consumer: reuse_buffers lets chwire recycle inbound buffers (as C++ does).
    for await (const b of await c.query({ query, reuse_buffers: true })) {
      const a = b.columns[0]!.toArray() as BigUint64Array;
      rows += a.length;
      check += a[a.length - 1]!;
    }
    if (check < 0n) throw new Error('unreachable');
    return { seconds: (performance.now() - t) / 1000, rows };
  } finally {
    await c.close();
  }
}

async function chwireRows(query: string, over = url()): Promise<Sample> {
  const c = createClient({ url: over, request_timeout: 600_000 });
  try {
    await c.ping();
    const t = performance.now();
    const rows = await (await c.query({ query })).json();
    return { seconds: (performance.now() - t) / 1000, rows: rows.length };
  } finally {
    await c.close();
  }
}

/**
 * Rows streamed to a consumer that keeps none: each row object is handed over,
 * one field read, and dropped (the same consumer for every peer).
 */
async function chwireStreamRows(query: string, over = url(), batches = false): Promise<Sample> {
  const c = createClient({ url: over, request_timeout: 600_000 });
  try {
    await c.ping();
    const t = performance.now();
    let rows = 0;
    let check = 0;
    const rs = await c.query({ query });
    if (batches)
      for await (const batch of rs.rowBatches<{ name: string }>())
        for (const r of batch) {
          rows++;
          check += r.name.length;
        }
    else
      for await (const r of rs.rows<{ name: string }>()) {
        rows++;
        check += r.name.length;
      }
    if (check < 0) throw new Error('unreachable');
    return { seconds: (performance.now() - t) / 1000, rows };
  } finally {
    await c.close();
  }
}

/** The official client's streaming: chunks of rows, each parsed with row.json(). */
async function officialStreamRows(query: string): Promise<Sample> {
  const c = await officialClient();
  try {
    await c.ping();
    const t = performance.now();
    let rows = 0;
    let check = 0;
    const rs = await c.query({ query, format: 'JSONEachRow' });
    for await (const chunk of rs.stream() as AsyncIterable<{ json(): { name: string } }[]>)
      for (const row of chunk) {
        rows++;
        check += row.json().name.length;
      }
    if (check < 0) throw new Error('unreachable');
    return { seconds: (performance.now() - t) / 1000, rows };
  } finally {
    await c.close();
  }
}

async function officialClient(): Promise<any> {
  const m = await import('@clickhouse/client');
  return m.createClient({
    url: `http://${HOST}:${HTTP_PORT}`,
    request_timeout: 600_000,
    compression: { response: false, request: false },
    log: { level: m.ClickHouseLogLevel.OFF },
  });
}

/**
 * The floor for rows as objects in this V8: the same row objects (bigint, string,
 * number, Date, array of bigints, bigint or null) built from values already in
 * memory — no I/O, no decoding. No client can materialise these values faster.
 */
async function v8MixedFloor(n: number, keep = true): Promise<Sample> {
  const B = 65536;
  const id = new BigUint64Array(B);
  const score = new Float64Array(B);
  const ts = new Uint32Array(B);
  const starts = new Uint32Array(B + 1);
  let text = '';
  for (let i = 0; i < B; i++) {
    id[i] = BigInt(i);
    score[i] = i * 1.5;
    ts[i] = 1600000000 + i;
    text += `name-${i}`;
    starts[i + 1] = text.length;
  }
  text = text.split('').join(''); // flat, like a decoded column
  const t = performance.now();
  const out: object[] = [];
  let check = 0;
  for (let done = 0; done < n; done += B) {
    const m = Math.min(B, n - done);
    for (let i = 0; i < m; i++) {
      const k = done + i;
      const row = { id: id[i]!, name: text.substring(starts[i]!, starts[i + 1]!), score: score[i]!, ts: new Date(ts[i]! * 1000), tags: [BigInt(k % 7), BigInt(k % 11)], maybe: k % 3 === 0 ? null : id[i]! };
      if (keep) out.push(row);
      else check += row.name.length;
    }
  }
  if (check < 0) throw new Error('unreachable');
  return { seconds: (performance.now() - t) / 1000, rows: keep ? out.length : n };
}

/** The same floor for the strings case: { url, line } objects cut from flat texts (as decoded columns are). */
async function v8StringsFloor(n: number): Promise<Sample> {
  const B = 65536;
  const cut = (f: (i: number) => string): [string, Uint32Array] => {
    const starts = new Uint32Array(B + 1);
    const parts: string[] = [];
    let len = 0;
    for (let i = 0; i < B; i++) {
      const s = f(i);
      parts.push(s);
      len += s.length;
      starts[i + 1] = len;
    }
    return [parts.join(''), starts];
  };
  const [urls, us] = cut((i) => `https://example.com/catalog/item/${i}?ref=${(i * 2654435761).toString(16).toUpperCase()}`);
  const [lines, ls] = cut((i) => `2024-06-01T12:00:00Z INFO request ${i % 1000} served in ${i % 97} ms`);
  const t = performance.now();
  const out: object[] = [];
  for (let done = 0; done < n; done += B) {
    const m = Math.min(B, n - done);
    for (let i = 0; i < m; i++) out.push({ url: urls.substring(us[i]!, us[i + 1]!), line: lines.substring(ls[i]!, ls[i + 1]!) });
  }
  return { seconds: (performance.now() - t) / 1000, rows: out.length };
}

async function officialRows(query: string, format = 'JSONEachRow'): Promise<Sample> {
  const c = await officialClient();
  try {
    await c.ping();
    const t = performance.now();
    const rs = await c.query({ query, format });
    const rows = (await rs.json()) as unknown[];
    return { seconds: (performance.now() - t) / 1000, rows: rows.length };
  } finally {
    await c.close();
  }
}

/** clickhouse-js-tcp throws from a socket callback on old servers, so probe it in a child process. */
async function jsTcpProbe(): Promise<string> {
  const code = `import m from 'clickhouse-js-tcp';const c=m.createClient({url:'http://${HOST}:${PORT}'});await c.query({query:'SELECT 1'});await c.close();console.log('ok')`;
  const r = await sh(process.execPath, ['--input-type=module', '-e', code]);
  if (r.code === 0 && r.stdout.includes('ok')) return '';
  const msg = /Error: ([^\n]+)/.exec(r.stderr)?.[1] ?? r.stderr.slice(-200);
  return `cannot connect: ${msg}`;
}

// ------------------------------------------------------------------ cases

/** --profile: run the chosen cases again under --cpu-prof (chwire only matters) and print where time goes. */
async function profileMain(): Promise<void> {
  const { rmSync } = await import('node:fs');
  const { pickProfile, summarize } = await import('./profile.js');
  const cases = ONLY.length ? ONLY : ['mixed_rows', 'select_uint64_lz4'];
  for (const name of cases) {
    const dir = join(ROOT, '.tmp/profile', name);
    rmSync(dir, { recursive: true, force: true });
    const argv = ['--expose-gc', '--cpu-prof', `--cpu-prof-dir=${dir}`, '--import', 'tsx', join(ROOT, 'bench/run.ts'), '--only', name, ...(QUICK ? ['--quick'] : [])];
    const r = spawnSync(process.execPath, argv, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, CHWIRE_BENCH_RUNS: '1', CHWIRE_BENCH_CHWIRE_ONLY: '1' } });
    if (r.status !== 0) throw new Error(`profiling ${name} failed`);
    const file = pickProfile(dir);
    console.log(`\n## profile: ${name} (${file})`);
    if (file) for (const x of summarize(file)) console.log(`  ${(x.share * 100).toFixed(1).padStart(5)}%  ${x.fn}`);
  }
}

async function main(): Promise<void> {
  if (PROFILE) return profileMain();
  ensurePeers();
  const started = new Date();
  const want = (n: string) => ONLY.length === 0 || ONLY.includes(n);
  const cases: CaseResult[] = [];
  const jsTcpNote = await jsTcpProbe();
  const jsTcp: Peer = { name: 'clickhouse-js-tcp', note: jsTcpNote || 'not measured' };
  const info = await (async () => {
    const c = createClient({ url: url() });
    try {
      const rs = await c.query({ query: 'SELECT version()' });
      return String(((await rs.json()) as { 'version()': string }[])[0]!['version()']);
    } finally {
      await c.close();
    }
  })();

  const N = QUICK ? 5_000_000 : 300_000_000;
  const PEER_N = QUICK ? 200_000 : 3_000_000; // slow peers read fewer rows; compared by rows/s
  const numbers = (n: number) => `SELECT number FROM system.numbers LIMIT ${n}`;

  if (want('select_uint64'))
    cases.push(
      await runCase('select_uint64', `columnar SELECT of ${N.toLocaleString('en')} UInt64, no compression (chwire: reuse_buffers)`, 'rate', [
        { name: 'chwire', run: () => chwireColumnar(numbers(N)) },
        { name: 'clickhouse-client (C++)', run: async () => ({ ...(await cpp(numbers(N), ['--compression=0', '--format', 'Null'])), rows: N }) },
        // JSONCompactEachRow does not exist in 18.16; JSONEachRow is the official client's default.
        { name: '@clickhouse/client', run: () => officialRows(numbers(PEER_N)) },
        { name: 'python clickhouse-driver', run: () => python({ mode: 'columnar', query: numbers(QUICK ? 1_000_000 : 20_000_000) }).then((s) => ({ ...s, rows: QUICK ? 1_000_000 : 20_000_000 })) },
        jsTcp,
      ], SELECT_RUNS),
    );
  if (want('select_uint64_lz4'))
    cases.push(
      await runCase('select_uint64_lz4', `columnar SELECT of ${N.toLocaleString('en')} UInt64, LZ4 (chwire: reuse_buffers)`, 'rate', [
        { name: 'chwire', run: () => chwireColumnar(numbers(N), 'lz4') },
        { name: 'clickhouse-client (C++)', run: async () => ({ ...(await cpp(numbers(N), ['--compression=1', '--format', 'Null'])), rows: N }) },
      ], FAST_RUNS),
    );

  const M = QUICK ? 100_000 : 2_000_000;
  const mixed = (n: number) =>
    `SELECT number AS id, concat('name-', toString(number)) AS name, number * 1.5 AS score, toDateTime(1600000000 + number, 'UTC') AS ts, [number % 7, number % 11] AS tags, if(number % 3 = 0, NULL, number) AS maybe FROM system.numbers LIMIT ${n}`;
  if (want('mixed_rows'))
    cases.push(
      await runCase('mixed_rows', `${M.toLocaleString('en')} mixed-type rows (UInt64, String, Float64, DateTime, Array, Nullable) materialised as JS objects`, 'rate', [
        { name: 'chwire', run: () => chwireRows(mixed(M)) },
        { name: '@clickhouse/client', run: () => officialRows(mixed(Math.min(M, PEER_N))) },
        { name: 'python clickhouse-driver', run: () => python({ mode: 'rows', query: mixed(M) }) },
        { name: 'V8 floor (same objects from memory, no I/O)', run: () => v8MixedFloor(M) },
        jsTcp,
      ], RUNS, 'full'),
    );
  if (want('mixed_rows_stream'))
    cases.push(
      await runCase('mixed_rows_stream', `the same ${M.toLocaleString('en')} mixed-type rows streamed as JS objects to a consumer that keeps none (chwire: for await … of rs.rows())`, 'rate', [
        { name: 'chwire', run: () => chwireStreamRows(mixed(M)) },
        { name: '@clickhouse/client', run: () => officialStreamRows(mixed(Math.min(M, PEER_N))) },
        { name: 'python clickhouse-driver', run: () => python({ mode: 'stream_rows', query: mixed(M) }) },
        { name: 'V8 floor (same objects from memory, no I/O)', run: () => v8MixedFloor(M, false) },
      ], FAST_RUNS),
    );
  if (want('mixed_rows_batches'))
    cases.push(
      await runCase('mixed_rows_batches', `the same ${M.toLocaleString('en')} rows streamed in batches, as the official client's stream() gives them (chwire: rs.rowBatches(), a batch per block)`, 'rate', [
        { name: 'chwire', run: () => chwireStreamRows(mixed(M), url(), true) },
        { name: '@clickhouse/client', run: () => officialStreamRows(mixed(Math.min(M, PEER_N))) },
        { name: 'V8 floor (same objects from memory, no I/O)', run: () => v8MixedFloor(M, false) },
      ], FAST_RUNS),
    );
  if (want('http_mixed_rows'))
    cases.push(
      await runCase('http_mixed_rows', `HTTP: ${M.toLocaleString('en')} mixed-type rows materialised as JS objects (chwire: FORMAT Native over HTTP; both on the same port)`, 'rate', [
        { name: 'chwire', run: () => chwireRows(mixed(M), httpUrl()) },
        { name: '@clickhouse/client', run: () => officialRows(mixed(Math.min(M, PEER_N))) },
        { name: 'V8 floor (same objects from memory, no I/O)', run: () => v8MixedFloor(M) },
      ], RUNS, 'full'),
    );
  if (want('http_mixed_rows_stream'))
    cases.push(
      await runCase('http_mixed_rows_stream', `HTTP: the same ${M.toLocaleString('en')} rows streamed in batches to a consumer that keeps none (chwire: rs.rowBatches(); both on the same port)`, 'rate', [
        { name: 'chwire', run: () => chwireStreamRows(mixed(M), httpUrl(), true) },
        { name: '@clickhouse/client', run: () => officialStreamRows(mixed(Math.min(M, PEER_N))) },
      ], FAST_RUNS),
    );
  if (want('http_select_uint64'))
    cases.push(
      await runCase('http_select_uint64', `HTTP: columnar SELECT of ${(N / 10).toLocaleString('en')} UInt64, no compression (same port)`, 'rate', [
        { name: 'chwire', run: () => chwireColumnar(numbers(N / 10), 'none', httpUrl()) },
        { name: '@clickhouse/client', run: () => officialRows(numbers(PEER_N)) },
      ], FAST_RUNS),
    );

  const S = QUICK ? 200_000 : 5_000_000;
  const strings = (n: number) =>
    `SELECT concat('https://example.com/catalog/item/', toString(number), '?ref=', hex(number * 2654435761)) AS url, concat('2024-06-01T12:00:00Z INFO request ', toString(number % 1000), ' served in ', toString(number % 97), ' ms') AS line FROM system.numbers LIMIT ${n}`;
  if (want('strings'))
    cases.push(
      await runCase('strings', `String-heavy result (URLs and log lines), ${S.toLocaleString('en')} rows as objects`, 'rate', [
        { name: 'chwire', run: () => chwireRows(strings(S)) },
        { name: '@clickhouse/client', run: () => officialRows(strings(Math.min(S, PEER_N))) },
        { name: 'python clickhouse-driver', run: () => python({ mode: 'rows', query: strings(S) }) },
        { name: 'V8 floor (same objects from memory, no I/O)', run: () => v8StringsFloor(S) },
      ], RUNS, 'full'),
    );

  const I = QUICK ? 200_000 : 5_000_000;
  if (want('insert_columnar')) {
    const admin = createClient({ url: url() });
    await admin.command({ query: 'CREATE TABLE IF NOT EXISTS bench_insert (id UInt64, name String, score Float64, ts DateTime) ENGINE = Null' });
    const id = new BigUint64Array(I);
    const score = new Float64Array(I);
    const name = new Array<string>(I);
    const ts = new Uint32Array(I);
    for (let i = 0; i < I; i++) {
      id[i] = BigInt(i);
      score[i] = i * 1.5;
      name[i] = `name-${i}`;
      ts[i] = 1_700_000_000 + i;
    }
    const { encodeNative } = await import('../src/index.js');
    const native = Buffer.from(
      encodeNative({ columns: [{ name: 'id', type: 'UInt64', values: id }, { name: 'name', type: 'String', values: name }, { name: 'score', type: 'Float64', values: score }, { name: 'ts', type: 'DateTime', values: Array.from(ts) }] }),
    );
    const tsValues = Array.from(ts);
    cases.push(
      await runCase('insert_columnar', `columnar INSERT of ${I.toLocaleString('en')} rows (UInt64, String, Float64, DateTime)`, 'rate', [
        {
          name: 'chwire',
          run: async () => {
            const c = createClient({ url: url(), request_timeout: 600_000 });
            try {
              await c.ping();
              const t = performance.now();
              await c.insert({ table: 'bench_insert', columns: { id, name, score, ts: tsValues } });
              return { seconds: (performance.now() - t) / 1000, rows: I };
            } finally {
              await c.close();
            }
          },
        },
        { name: 'clickhouse-client (C++)', run: async () => ({ ...(await cpp('INSERT INTO bench_insert FORMAT Native', [], native)), rows: I }) },
      ]),
    );
    await admin.close();
  }

  const R = QUICK ? 100_000 : 1_000_000;
  if (want('insert_rows')) {
    const admin = createClient({ url: url() });
    await admin.command({ query: 'CREATE TABLE IF NOT EXISTS bench_insert (id UInt64, name String, score Float64, ts DateTime) ENGINE = Null' });
    await admin.close();
    const rowsData = Array.from({ length: R }, (_, i) => ({ id: i, name: `name-${i}`, score: i * 1.5, ts: 1_700_000_000 + i }));
    cases.push(
      await runCase('insert_rows', `row-object INSERT of ${R.toLocaleString('en')} rows`, 'rate', [
        {
          name: 'chwire',
          run: async () => {
            const c = createClient({ url: url(), request_timeout: 600_000, insert_batch_rows: 100_000 });
            try {
              await c.ping();
              const t = performance.now();
              await c.insert({ table: 'bench_insert', values: rowsData });
              return { seconds: (performance.now() - t) / 1000, rows: R };
            } finally {
              await c.close();
            }
          },
        },
        {
          name: '@clickhouse/client',
          run: async () => {
            const c = await officialClient();
            try {
              await c.ping();
              const t = performance.now();
              await c.insert({ table: 'bench_insert', values: rowsData, format: 'JSONEachRow' });
              return { seconds: (performance.now() - t) / 1000, rows: R };
            } finally {
              await c.close();
            }
          },
        },
        { name: 'python clickhouse-driver', run: () => python({ mode: 'insert', table: 'bench_insert', rows: R }) },
      ]),
    );
  }

  const L = QUICK ? 200 : 2000;
  if (want('latency')) {
    const pct = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return { p50: s[Math.floor(s.length / 2)]!, p99: s[Math.floor(s.length * 0.99)]! };
    };
    cases.push(
      await runCase('latency', `SELECT 1 round trip on a warm connection, ${L} runs`, 'latency', [
        {
          name: 'chwire',
          run: async () => {
            const c = createClient({ url: url() });
            try {
              await c.ping();
              const lat: number[] = [];
              for (let i = 0; i < L; i++) {
                const t = performance.now();
                await (await c.query({ query: 'SELECT 1' })).json();
                lat.push(performance.now() - t);
              }
              return { seconds: lat.reduce((a, b) => a + b, 0) / 1000, rows: L, ...pct(lat) };
            } finally {
              await c.close();
            }
          },
        },
        {
          name: 'clickhouse-client (C++)',
          // It prints per-query times in whole milliseconds only, so its latency is the mean from
          // wall time: (time for L+1 queries − time for 1 query) / L, reported as p50 = p99.
          note: 'mean per query (the C++ client has no sub-ms per-query timer)',
          run: async () => {
            const t0 = performance.now();
            await cpp('SELECT 1', ['--format', 'Null']);
            const one = performance.now() - t0;
            const t1 = performance.now();
            await cpp(Array(L + 1).fill('SELECT 1').join(';'), ['--multiquery', '--format', 'Null']);
            const mean = (performance.now() - t1 - one) / L;
            return { seconds: (mean * L) / 1000, rows: L, p50: mean, p99: mean };
          },
        },
        {
          name: '@clickhouse/client',
          run: async () => {
            const c = await officialClient();
            try {
              await c.ping();
              const lat: number[] = [];
              for (let i = 0; i < L; i++) {
                const t = performance.now();
                await (await c.query({ query: 'SELECT 1', format: 'JSONEachRow' })).json();
                lat.push(performance.now() - t);
              }
              return { seconds: lat.reduce((a, b) => a + b, 0) / 1000, rows: L, ...pct(lat) };
            } finally {
              await c.close();
            }
          },
        },
        { name: 'python clickhouse-driver', run: () => python({ mode: 'latency', n: L }) },
      ]),
    );
  }

  const B = QUICK ? 20_000_000 : 1_000_000_000;
  if (want('stream_memory')) {
    cases.push(
      await runCase('stream_memory', `peak RSS while streaming ${B.toLocaleString('en')} rows (child process; reuse_buffers)`, 'memory', [
        {
          name: 'chwire',
          run: async () => {
            const r = await sh(process.execPath, [join(ROOT, 'bench/stream-child.mjs'), url(), String(B)]);
            if (r.code !== 0) throw new Error(r.stderr.slice(-300));
            return JSON.parse(r.stdout.trim().split('\n').pop()!) as Sample;
          },
        },
      ]),
    );
  }

  const micro: Record<string, unknown> = {};
  if (want('codecs')) {
    // In fresh processes (a heap left by the cases above would skew the collector), on this Node
    // and on Node 24 (whose collector handles millions of short strings much better).
    const rows = QUICK ? 200_000 : 1_000_000;
    const reps = QUICK ? 2 : 9;
    const args = ['--expose-gc', '--import', 'tsx', join(ROOT, 'bench/codecs.ts'), String(rows), String(reps)];
    const child = (cmd: string, pre: string[]): CodecCase[] | undefined => {
      const r = spawnSync(cmd, [...pre, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 24 });
      if (r.status !== 0) return undefined;
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as CodecCase[];
    };
    micro.codecs = child(process.execPath, []) ?? runCodecBench(rows, reps);
    micro.codecsNode = process.version;
    const n24 = process.version.startsWith('v24.') ? undefined : child('npx', ['-y', 'node@24']);
    if (n24) {
      micro.codecsNode24 = n24;
      micro.node24 = spawnSync('npx', ['-y', 'node@24', '--version'], { encoding: 'utf8' }).stdout.trim();
    }
    for (const [label, list] of [[process.version, micro.codecs], [String(micro.node24 ?? ''), n24]] as const) {
      if (!list) continue;
      console.log(`\n## codecs (${label}) — Native decode/encode next to a plain copy`);
      for (const r of list as CodecCase[])
        console.log(`  ${r.type.padEnd(24)} decode ${r.decodeGBps.toFixed(2)} GB/s (${r.decodeMRowsPerSec.toFixed(1)} M rows/s, ${r.decodeVsCopy.toFixed(2)}× copy${r.unalignedDecodeVsCopy ? `, unaligned input ${r.unalignedDecodeVsCopy.toFixed(2)}×` : ''}${r.floorMRowsPerSec ? `, V8 floor ${r.floorMRowsPerSec.toFixed(1)} M rows/s, decode ${r.decodeVsFloor!.toFixed(2)}× of it` : ''})  encode ${r.encodeGBps.toFixed(2)} GB/s (${r.encodeVsDecode.toFixed(2)}× decode)`);
    }
  }
  if (want('compression')) {
    micro.compression = await runCompressionBench(QUICK ? { bytes: 1 << 20 } : {});
    const c = micro.compression as Awaited<ReturnType<typeof runCompressionBench>>;
    console.log(`\n## compression — CityHash128 ${c.cityHash128GBps.toFixed(2)} GB/s; LZ4 decompress vs C: ${JSON.stringify(c.lz4DecompressVsC)}`);
  }

  const record = {
    date: started.toISOString(),
    quick: QUICK,
    runs: RUNS,
    machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, memoryGB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.arch()}` },
    server: `ClickHouse ${info}`,
    cases,
    micro,
  };
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const file = join(ROOT, `bench/results/${QUICK ? 'quick-' : ONLY.length ? 'partial-' : ''}${stamp}.json`);
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
  console.log(`\nrecord: ${file}`);
  if (!QUICK && ONLY.length === 0) {
    const { writeReport } = await import('./report.js');
    writeReport(record as never, ROOT);
    console.log('wrote docs/benchmarks.md and docs/benchmarks.svg');
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
