// Issue 10: ClickHouse 26.7's own native-protocol client — chDB's remote() table function, run in a
// SEPARATE process — against `chwire serve`. Every query's result through remote() must equal the
// same query run locally in that process (meta and data of FORMAT JSONCompact). Also: INSERT INTO
// FUNCTION remote(...), exceptions, LZ4 and ZSTD compression, and sparse columns via the debug switch.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createServer, type ChwireServer } from '../src/server/index.js';
import { hasEngine } from './helpers/engine.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

const SETTINGS =
  "allow_experimental_variant_type=1, allow_experimental_dynamic_type=1, allow_experimental_json_type=1, enable_time_time64_type=1, allow_suspicious_low_cardinality_types=1, session_timezone='UTC', output_format_json_quote_64bit_integers=1, output_format_json_quote_denormals=1";

/** Runs in the child: for each job, local vs remote results, or a statement's outcome. */
const CHILD = `
import { queryAsync } from 'chdb';
const jobs = JSON.parse(process.argv[1]);
const out = [];
const run = async (sql) => {
  try {
    const t = (await queryAsync(sql, { format: 'JSONCompact' })).text();
    if (!t) return { ok: true, meta: [], data: [] };
    const j = JSON.parse(t);
    return { ok: true, meta: j.meta, data: j.data };
  } catch (e) { return { ok: false, error: String(e.message) }; }
};
for (const j of jobs) {
  if (j.compare) out.push({ local: await run(j.local), remote: await run(j.remote) });
  else out.push(await run(j.sql));
}
process.stdout.write(JSON.stringify(out));
`;

interface Outcome {
  ok: boolean;
  meta?: { name: string; type: string }[];
  data?: unknown[][];
  error?: string;
}
type Job = { compare: true; local: string; remote: string } | { compare?: false; sql: string };

function child(jobs: Job[]): Promise<(Outcome | { local: Outcome; remote: Outcome })[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', CHILD, JSON.stringify(jobs)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let so = '';
    let se = '';
    p.stdout.on('data', (b) => (so += b));
    p.stderr.on('data', (b) => (se += b));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`child exited ${code}: ${se}`));
      else resolve(JSON.parse(so));
    });
  });
}

/** The columns and rows of `SELECT` queries: through remote() and locally. */
async function compare(port: number, queries: string[], extra = ''): Promise<{ q: string; local: Outcome; remote: Outcome }[]> {
  const s = ` SETTINGS ${SETTINGS}${extra}`;
  const jobs: Job[] = queries.map((q) => ({
    compare: true,
    local: `SELECT * FROM (${q})${s}`,
    remote: `SELECT * FROM remote('127.0.0.1:${port}', view(${q}))${s}`,
  }));
  const res = (await child(jobs)) as { local: Outcome; remote: Outcome }[];
  return res.map((r, i) => ({ q: queries[i]!, ...r }));
}

/** Type coverage, in the spirit of the Native codec tests. */
const TYPE_QUERIES = [
  "SELECT toInt8(-8) i8, toInt16(-16) i16, toInt32(-32) i32, toInt64(-64) i64, toInt128('-170141183460469231731687303715884105728') i128, toInt256('-57896044618658097711785492504343953926634992332820282019728792003956564819968') i256",
  "SELECT toUInt8(255) u8, toUInt16(65535) u16, toUInt32(4294967295) u32, toUInt64('18446744073709551615') u64, toUInt128('340282366920938463463374607431768211455') u128, toUInt256(1) u256",
  "SELECT toFloat32(1.5) f32, toFloat64(-2.25) f64, nan fnan, inf finf, toBFloat16(1.5) bf",
  "SELECT toDecimal32('1.23', 2) d32, toDecimal64('-12345.678', 3) d64, toDecimal128('1.000000000000000001', 18) d128, toDecimal256('3.14', 40) d256",
  "SELECT true b, 'héllo\\0x' s, toFixedString('ab', 4) fs, toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0') u",
  "SELECT toDate('2024-02-29') d, toDate32('1900-01-01') d32, toDateTime('2024-01-02 03:04:05', 'UTC') dt, toDateTime('2024-01-02 03:04:05', 'Asia/Tokyo') dtz, toDateTime64('2024-01-02 03:04:05.123456', 6, 'UTC') dt64",
  "SELECT CAST('b', 'Enum8(\\'a\\' = 1, \\'b\\' = 2)') e8, CAST('y', 'Enum16(\\'x\\' = -300, \\'y\\' = 1000)') e16, toIPv4('1.2.3.4') v4, toIPv6('2001:db8::1') v6",
  'SELECT number n, if(number % 3 = 0, NULL, number) nn, toString(number) s, [number, number + 1] a, (number, toString(number)) t FROM numbers(5)',
  "SELECT map('a', [1, 2], 'b', []) m, [[1], [2, 3]] aa, [NULL, 'x'] an, CAST((1, 'z'), 'Tuple(a UInt8, b String)') nt",
  "SELECT toLowCardinality('lc') lc, CAST(NULL, 'LowCardinality(Nullable(String))') lcn, arrayMap(x -> toLowCardinality(toString(x)), range(3)) alc",
  "SELECT CAST(42::UInt64, 'Variant(String, UInt64)') v1, CAST('s', 'Variant(String, UInt64)') v2, CAST(NULL, 'Variant(String, UInt64)') v3",
  "SELECT dyn FROM (SELECT CAST(number, 'Dynamic') dyn FROM numbers(3) UNION ALL SELECT CAST('str', 'Dynamic')) ORDER BY toString(dyn)",
  'SELECT CAST(\'{"a": 1, "b": {"c": "x"}}\', \'JSON\') j',
  "SELECT CAST((1.5, 2.5), 'Point') pt, CAST([(0, 0), (1, 1)], 'Ring') rg, CAST([[(0, 0), (1, 0), (1, 1)]], 'Polygon') pg",
  "SELECT CAST('12:34:56', 'Time') tm, CAST('01:02:03.456', 'Time64(3)') tm64, toIntervalDay(3) iv",
  'SELECT number, toString(number) s, number * 1.5 f FROM numbers(200000)',
];

describe('chDB remote() (ClickHouse 26.7 client, separate process) against chwire serve', { concurrency: false }, () => {
  let server: ChwireServer | undefined;
  let port = 0;
  before(async () => {
    if (!(await hasEngine())) return;
    server = createServer({ port: 0, sparseColumns: ['sp', 'spn'] });
    port = (await server.listen()).port;
  });
  after(async () => {
    await server?.close();
  });

  test('every type: remote() result equals the local result', async (t) => {
    if (!server) return t.skip('chdb is not installed');
    const res = await compare(port, TYPE_QUERIES);
    const failed = res.filter((r) => !r.local.ok || !r.remote.ok || JSON.stringify([r.local.meta, r.local.data]) !== JSON.stringify([r.remote.meta, r.remote.data]));
    if (failed.length) console.log(JSON.stringify(failed.map((f) => ({ q: f.q, l: f.local.error ?? f.local.data, r: f.remote.error ?? f.remote.data })), null, 1).slice(0, 4000));
    for (const r of res) {
      assert.ok(r.local.ok, `local failed: ${r.q}: ${r.local.error}`);
      assert.ok(r.remote.ok, `remote failed: ${r.q}: ${r.remote.error}`);
      assert.deepEqual(r.remote.meta, r.local.meta, r.q);
      assert.deepEqual(r.remote.data, r.local.data, r.q);
    }
  });

  test('ZSTD network compression (network_compression_method)', async (t) => {
    if (!server) return t.skip('chdb is not installed');
    const res = await compare(port, [TYPE_QUERIES[7]!, TYPE_QUERIES[15]!], ", network_compression_method='zstd'");
    for (const r of res) {
      assert.ok(r.remote.ok, r.remote.error);
      assert.deepEqual(r.remote.data, r.local.data);
    }
  });

  test('exceptions carry the engine code, name and message', async (t) => {
    if (!server) return t.skip('chdb is not installed');
    const [a, b] = (await child([
      { sql: `SELECT * FROM remote('127.0.0.1:${port}', view(SELECT throwIf(number = 3, 'boom-42') FROM numbers(10)))` },
      { sql: `SELECT * FROM remote('127.0.0.1:${port}', default, no_such_table)` },
    ])) as Outcome[];
    assert.equal(a!.ok, false);
    assert.match(a!.error!, /Code: 395/);
    assert.match(a!.error!, /boom-42/);
    assert.equal(b!.ok, false);
    // remote() asks TablesStatus first; the server reports no such table, as ClickHouse does.
    assert.match(b!.error!, /no_such_table/);
  });

  test('INSERT INTO FUNCTION remote(...) lands in the server engine; a bad block commits nothing', async (t) => {
    if (!server) return t.skip('chdb is not installed');
    const r = `remote('127.0.0.1:${port}', default, rt)`;
    // DDL through the server itself (chwire's own client).
    const { createClient } = await import('../src/index.js');
    const c = createClient({ url: `clickhouse://127.0.0.1:${port}` });
    try {
      await c.command({ query: 'DROP TABLE IF EXISTS rt' });
      await c.command({ query: "CREATE TABLE rt (k UInt64, s String, d DateTime64(3, 'UTC'), a Array(Nullable(String)), m Map(String, UInt8)) ENGINE = MergeTree ORDER BY k" });
      const src = "SELECT number k, repeat('x', number % 5) s, toDateTime64(number, 3, 'UTC') d, [toString(number), NULL] a, map('k', number % 7) m FROM numbers(1000)";
      const out = (await child([
        { sql: `INSERT INTO FUNCTION ${r} ${src}` },
        { compare: true, local: `${src} ORDER BY k SETTINGS ${SETTINGS}`, remote: `SELECT * FROM ${r} ORDER BY k SETTINGS ${SETTINGS}` },
        // A value the table cannot take: the whole statement fails, nothing of it is committed.
        { sql: `INSERT INTO FUNCTION remote('127.0.0.1:${port}', default, rt, 'default', '', 'k UInt64, s String, d String, a Array(Nullable(String)), m Map(String, UInt8)') SELECT 5000, 'z', 'not a date', [], map()` },
        { sql: `SELECT count() FROM ${r} SETTINGS ${SETTINGS}` },
      ])) as [Outcome, { local: Outcome; remote: Outcome }, Outcome, Outcome];
      assert.ok(out[0].ok, out[0].error);
      assert.ok(out[1].remote.ok, out[1].remote.error);
      assert.deepEqual(out[1].remote.data, out[1].local.data);
      assert.equal(out[2].ok, false);
      assert.match(out[2].error!, /Code: \d+/);
      assert.deepEqual(out[3].data, [['1000']]);
    } finally {
      await c.close();
    }
  });

  test('sparse serialization (debug switch) is read correctly by ClickHouse 26.7', async (t) => {
    if (!server) return t.skip('chdb is not installed');
    const res = await compare(port, [
      "SELECT number n, if(number % 10 = 3, number, 0) sp, if(number % 4 = 0, toString(number), NULL) spn FROM numbers(100)",
      "SELECT if(number % 7 = 0, 'x', '') sp, if(number = 5, 1.5, NULL) spn FROM numbers(20)",
      'SELECT toUInt32(0) sp FROM numbers(5)',
    ]);
    for (const r of res) {
      assert.ok(r.remote.ok, `${r.q}: ${r.remote.error}`);
      assert.deepEqual(r.remote.meta, r.local.meta);
      assert.deepEqual(r.remote.data, r.local.data, r.q);
    }
  });
});
