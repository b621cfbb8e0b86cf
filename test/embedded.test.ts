// The embedded engine transport (chdb:) against the engine's own JSON output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, ClickHouseError, AbortError } from '../src/index.js';
import { encodeNative } from '../src/core/native/writer.js';
import { ENGINE_DEFAULT_SETTINGS, engineJSON, hasEngine } from './helpers/engine.js';

const has = await hasEngine();
const skip = has ? false : 'chdb is not installed';

/** Our JS value → the value engineJSON gives (exact-JSON settings). */
function jsonish(v: unknown, type: string): unknown {
  if (v === null || v === undefined) return null;
  const inner = type.replace(/^(Nullable|LowCardinality)\((.*)\)$/, '$2').replace(/^(Nullable|LowCardinality)\((.*)\)$/, '$2');
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'nan';
    if (v === Infinity) return 'inf';
    if (v === -Infinity) return '-inf';
    return v;
  }
  if (typeof v === 'string' && inner.startsWith('Decimal')) return v.includes('.') ? v.replace(/0+$/, '').replace(/\.$/, '') : v;
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), jsonish(x, '')]));
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.from(v as ArrayLike<unknown>, (x) => jsonish(x, inner.replace(/^Array\((.*)\)$/, '$1')));
  if (typeof v === 'object' && !(v instanceof Date)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonish(x, '')]));
  return v;
}

const CASES: string[] = [
  'toInt8(-8) a, toInt16(-1600) b, toInt32(-320000) c, toInt64(-9223372036854775808) d, toUInt64(18446744073709551615) e',
  'toInt128(-170141183460469231731687303715884105728) a, toUInt256(115792089237316195423570985008687907853269984665640564039457584007913129639935) b',
  'toFloat64(0.1) a, toFloat64(-1e300) b, 1/0 c, -1/0 d, toFloat64(1e-7) e',
  "toDecimal32(1.5, 2) a, toDecimal64(-12345.678, 4) b, toDecimal128('1234567890123456789.123', 5) c",
  "'a\\'b\\\\c\\n' a, toFixedString('ab', 4) b, true c, false d",
  "toDate('2024-02-29') a, toDate32('1900-01-01') b, toDateTime('2020-01-02 03:04:05', 'UTC') c, toDateTime64('2020-01-02 03:04:05.123456', 6, 'UTC') d",
  "toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0') a, toIPv4('1.2.3.4') b, toIPv6('2001:db8::ff00:42:8329') c, CAST('y' AS Enum8('x' = 1, 'y' = 2)) d",
  "CAST(NULL AS Nullable(Int32)) a, CAST(5 AS Nullable(Int32)) b, toLowCardinality('lc') c, CAST(NULL AS Nullable(String)) d",
  "[1, 2, 3] a, [[1], [], [2, 3]] b, ['x', NULL] c, map('k', 1, 'l', 2) d, tuple(1, 'x') e, CAST((1, 'x') AS Tuple(n UInt8, s String)) f",
];

test('embedded: values match the engine\'s own JSON for a broad set of types', { skip }, async () => {
  const c = createClient({ url: 'chdb:', dates: 'string', decimal: 'string' });
  try {
    for (const expr of CASES) {
      const sql = `SELECT ${expr} FROM numbers(2)`;
      const rs = await c.query({ query: sql, clickhouse_settings: ENGINE_DEFAULT_SETTINGS });
      const got = await rs.json<Record<string, unknown>>();
      const want = await engineJSON(sql);
      // (types agree up to a time zone equal to the session's, which Native output may leave out)
      assert.deepEqual(rs.meta.map((m) => m.name), want.meta.map((m) => m.name), sql);
      const types = Object.fromEntries(want.meta.map((m) => [m.name, m.type]));
      assert.deepEqual(
        got.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, jsonish(v, types[k]!)]))),
        want.data,
        sql,
      );
    }
  } finally {
    await c.close();
  }
});

test('embedded: query_params, settings, empty results, several blocks, ping', { skip }, async () => {
  const c = createClient({ url: 'chdb:' });
  try {
    assert.equal(await c.ping(), true);
    const rs = await c.query({ query: 'SELECT {a:UInt32} + 1 AS x, {s:String} AS s, {arr:Array(String)} AS arr', query_params: { a: 41, s: "it's \\ ok", arr: ['x', "y'"] } });
    assert.deepEqual(await rs.json(), [{ x: 42, s: "it's \\ ok", arr: ['x', "y'"] }]);
    // settings: as a SETTINGS clause on SELECT …
    const st = await c.query({ query: "SELECT getSetting('max_threads') AS m;", clickhouse_settings: { max_threads: 3 } });
    assert.equal(String(((await st.json()) as { m: unknown }[])[0]!.m), '3');
    await assert.rejects(
      async () => (await c.query({ query: 'SELECT number FROM numbers(10)', clickhouse_settings: { max_result_rows: 1, result_overflow_mode: 'throw' } })).json(),
      (e: unknown) => e instanceof ClickHouseError && e.code === 396,
    );
    // … and SET/restore around other statements (the setting does not leak).
    await c.command({ query: 'CREATE TABLE emb_lc (x LowCardinality(UInt8)) ENGINE = Memory', clickhouse_settings: { allow_suspicious_low_cardinality_types: 1 } });
    const leaked = await c.query({ query: "SELECT changed FROM system.settings WHERE name = 'allow_suspicious_low_cardinality_types'" });
    assert.deepEqual(await leaked.json(), [{ changed: 0 }]);
    await c.command({ query: 'DROP TABLE emb_lc' });
    // empty result: zero bytes of Native, an empty ResultSet
    const empty = await c.query({ query: 'SELECT number FROM numbers(10) WHERE number > 100' });
    assert.deepEqual(await empty.json(), []);
    // several blocks, decoded lazily; a trailing FORMAT clause is ignored
    const big = await c.query({ query: 'SELECT number FROM numbers(200000) FORMAT JSON', clickhouse_settings: { max_block_size: 65536 } });
    let blocks = 0;
    let rows = 0;
    for await (const b of big) {
      blocks++;
      rows += b.rowCount;
    }
    assert.equal(rows, 200000);
    assert.ok(blocks >= 2);
    assert.ok(big.summary.progress.rows >= 200000);
  } finally {
    await c.close();
  }
});

test('embedded: insert rows, columns, blocks and raw Native; read back', { skip }, async () => {
  const c = createClient({ url: 'chdb:', dates: 'string' });
  try {
    await c.command({ query: 'DROP TABLE IF EXISTS emb_ins' });
    await c.command({
      query: "CREATE TABLE emb_ins (id UInt64, s String, d DateTime('UTC'), a Array(Nullable(Int32)), m Map(String, Float64), twice UInt64 MATERIALIZED id * 2) ENGINE = MergeTree ORDER BY id",
    });
    let r = await c.insert({ table: 'emb_ins', values: [{ id: 1, s: 'nul\0byte', d: '2020-01-02 03:04:05', a: [1, null], m: new Map([['k', 1.5]]) }, [2, 'two', new Date(Date.UTC(2021, 0, 1)), [], {}]], columns: ['id', 's', 'd', 'a', 'm'] });
    assert.equal(r.rows, 2);
    r = await c.insert({ table: 'emb_ins', columns: { id: [3n, 4n], s: ['c', 'd'], d: [0, 1], a: [[], [7]], m: [new Map(), new Map([['z', -0.5]])] } });
    assert.equal(r.rows, 2);
    // only some columns (the others take defaults)
    r = await c.insert({ table: 'emb_ins', values: [{ id: 5, s: 'five' }], columns: ['id', 's'] });
    assert.equal(r.rows, 1);
    // raw Native bytes
    const native = encodeNative({ columns: [{ name: 'id', type: 'UInt64', values: [6n] }, { name: 's', type: 'String', values: ['six'] }] });
    r = await c.insert({ table: 'emb_ins', native, columns: ['id', 's'] });
    assert.equal(r.rows, 1);
    const rows = await (await c.query({ query: 'SELECT id, s, d, a, m, twice FROM emb_ins ORDER BY id' })).json();
    assert.deepEqual(rows, [
      { id: 1n, s: 'nul\0byte', d: '2020-01-02 03:04:05', a: [1, null], m: new Map([['k', 1.5]]), twice: 2n },
      { id: 2n, s: 'two', d: '2021-01-01 00:00:00', a: [], m: new Map(), twice: 4n },
      { id: 3n, s: 'c', d: '1970-01-01 00:00:00', a: [], m: new Map(), twice: 6n },
      { id: 4n, s: 'd', d: '1970-01-01 00:00:01', a: [7], m: new Map([['z', -0.5]]), twice: 8n },
      { id: 5n, s: 'five', d: '1970-01-01 00:00:00', a: [], m: new Map(), twice: 10n },
      { id: 6n, s: 'six', d: '1970-01-01 00:00:00', a: [], m: new Map(), twice: 12n },
    ]);
    // an unknown column, a bad value: nothing is inserted
    await assert.rejects(c.insert({ table: 'emb_ins', values: [{ nope: 1 }], columns: ['nope'] }), (e: unknown) => e instanceof ClickHouseError && e.code === 16);
    await assert.rejects(c.insert({ table: 'emb_ins', values: [{ id: 'x', s: 's' }], columns: ['id', 's'] }), /id/);
    const n = await (await c.query({ query: 'SELECT count() AS n FROM emb_ins' })).json();
    assert.deepEqual(n, [{ n: 6n }]);
    await c.command({ query: 'DROP TABLE emb_ins' });
  } finally {
    await c.close();
  }
});

test('embedded: insert into Nested columns, kept whole (flatten_nested = 0) and flattened', { skip }, async () => {
  const c = createClient({ url: 'chdb:' });
  try {
    await c.command({ query: 'DROP TABLE IF EXISTS emb_nested_whole' });
    await c.command({ query: 'DROP TABLE IF EXISTS emb_nested_flat' });
    await c.command({ query: 'CREATE TABLE emb_nested_whole (i UInt8, n Nested(a UInt8, b String)) ENGINE = Memory', clickhouse_settings: { flatten_nested: 0 } });
    await c.command({ query: 'CREATE TABLE emb_nested_flat (i UInt8, n Nested(a UInt8, b String)) ENGINE = Memory' });
    await c.insert({ table: 'emb_nested_whole', values: [{ i: 2, n: [{ a: 1, b: 'x' }, { a: 3, b: 'y' }] }] });
    await c.insert({ table: 'emb_nested_flat', values: [{ i: 2, 'n.a': [1, 3], 'n.b': ['x', 'y'] }] });
    for (const t of ['emb_nested_whole', 'emb_nested_flat']) {
      const [r] = await (await c.query({ query: `SELECT i, toString(n.a) AS a, toString(n.b) AS b FROM ${t}` })).json();
      assert.deepEqual(r, { i: 2, a: '[1,3]', b: "['x','y']" }, t);
    }
  } finally {
    await c.command({ query: 'DROP TABLE IF EXISTS emb_nested_whole' });
    await c.command({ query: 'DROP TABLE IF EXISTS emb_nested_flat' });
    await c.close();
  }
});

test('embedded: after a statement fails part-way, the next one gets its own result (not the failed one\'s rows)', { skip }, async () => {
  const c = createClient({ url: 'chdb:' });
  try {
    for (const next of ['json', 'columns', 'insert'] as const) {
      await assert.rejects(
        c.query({ query: 'SELECT number AS n, throwIf(number = 25000) AS t FROM numbers(100000)', clickhouse_settings: { max_block_size: 1000 } }).then((r) => r.json()),
        (e: unknown) => e instanceof ClickHouseError && e.code === 395,
      );
      if (next === 'json') assert.deepEqual(await (await c.query({ query: 'SELECT 1 AS x' })).json(), [{ x: 1 }]);
      else if (next === 'columns') assert.deepEqual(await (await c.query({ query: 'SELECT 1 AS x' })).columns(), { x: [1] });
      else {
        await c.command({ query: 'DROP TABLE IF EXISTS emb_after_fail' });
        await c.command({ query: 'CREATE TABLE emb_after_fail (x UInt8) ENGINE = Memory' });
        await assert.rejects(c.query({ query: 'SELECT throwIf(number = 5000) FROM numbers(10000)', clickhouse_settings: { max_block_size: 100 } }).then((r) => r.json()));
        await c.insert({ table: 'emb_after_fail', values: [{ x: 7 }] });
        assert.deepEqual(await (await c.query({ query: 'SELECT x FROM emb_after_fail' })).json(), [{ x: 7 }]);
        await c.command({ query: 'DROP TABLE emb_after_fail' });
      }
    }
  } finally {
    await c.close();
  }
});

test('embedded: close() ends an insert still reading its source', { skip }, async () => {
  const c = createClient({ url: 'chdb:' });
  await c.command({ query: 'DROP TABLE IF EXISTS emb_close_ins' });
  await c.command({ query: 'CREATE TABLE emb_close_ins (x UInt64) ENGINE = Memory' });
  let finalized = false;
  async function* endless() {
    try {
      for (let i = 0; ; i++) {
        await new Promise((r) => setTimeout(r, 5));
        yield { x: i };
      }
    } finally {
      finalized = true;
    }
  }
  const pending = c.insert({ table: 'emb_close_ins', values: endless() }).catch((e: unknown) => e);
  await new Promise((r) => setTimeout(r, 200));
  const started = Date.now();
  await c.close();
  const e = (await pending) as Error & { code?: string };
  assert.equal(e.code, 'CHWIRE_CLIENT_CLOSED', String(e));
  assert.ok(Date.now() - started < 1000);
  // The source is closed once its pending next() settles (an async generator's return() waits for it).
  for (let i = 0; i < 150 && !finalized; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(finalized, 'the source was closed');
  const d = createClient({ url: 'chdb:' });
  try {
    assert.deepEqual(await (await d.query({ query: 'SELECT count() AS n FROM emb_close_ins' })).json(), [{ n: 0n }]);
    await d.command({ query: 'DROP TABLE emb_close_ins' });
  } finally {
    await d.close();
  }
});

test('embedded: errors carry the engine code and name', { skip }, async () => {
  const c = createClient({ url: 'chdb:' });
  try {
    await assert.rejects(c.query({ query: 'SELECT * FROM no_such_table_x' }), (e: unknown) => {
      assert.ok(e instanceof ClickHouseError);
      assert.equal(e.code, 60);
      assert.equal(e.type, 'DB::Exception');
      assert.match(e.message, /^DB::Exception: .*no_such_table_x.*\(UNKNOWN_TABLE\)/s);
      return true;
    });
    await assert.rejects(c.command({ query: 'SELEC 1' }), (e: unknown) => e instanceof ClickHouseError && e.code === 62);
  } finally {
    await c.close();
  }
});

test('embedded: abort rejects promptly with AbortError', { skip }, async () => {
  const c = createClient({ url: 'chdb:' });
  try {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = Date.now();
    await assert.rejects(c.query({ query: 'SELECT count() FROM numbers(3000000000) WHERE cityHash64(number) = 0', abort_signal: ac.signal }), AbortError);
    assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
    const pre = new AbortController();
    pre.abort();
    await assert.rejects(c.query({ query: 'SELECT 1', abort_signal: pre.signal }), AbortError);
  } finally {
    await c.close();
    const chdb = (await import('chdb' as string)) as { drainPending(): Promise<void> };
    await chdb.drainPending();
  }
});

// Last: opening a Session takes the engine from the module-level connection until it closes.
test('embedded: chdb:/path keeps data across clients, and abort kills the query there', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chwire-emb-'));
  try {
    const c = createClient({ url: `chdb:${dir}` });
    await c.command({ query: 'CREATE TABLE keep (x UInt32) ENGINE = MergeTree ORDER BY x' });
    await c.insert({ table: 'keep', values: [[1], [2]] });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 150);
    await assert.rejects(c.query({ query: 'SELECT count() FROM numbers(100000000000) WHERE cityHash64(number) = 0', abort_signal: ac.signal }), AbortError);
    // Killed in the engine: the next query does not wait for it to finish.
    const t0 = Date.now();
    assert.deepEqual(await (await c.query({ query: 'SELECT sum(x) AS s FROM keep' })).json(), [{ s: 3n }]);
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    await c.close();
    const chdb = (await import('chdb' as string)) as { drainPending(): Promise<void> };
    await chdb.drainPending();
    const d = createClient({ url: `chdb:${dir}` });
    assert.deepEqual(await (await d.query({ query: 'SELECT count() AS n FROM keep' })).json(), [{ n: 2n }]);
    await d.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
