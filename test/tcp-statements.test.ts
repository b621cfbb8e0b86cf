// Statements a user sends through query()/command() that need more than a SELECT's flow, against
// the real ClickHouse 18.16 server: INSERTs with rows in their text (the server waits for Data
// blocks), SET / temporary tables with and without session_id, close() while requests run, raw
// Native inserts split anywhere, placeholders without values, a FORMAT clause over HTTP, and a
// column named __proto__.
import { test } from 'node:test';
import * as net from 'node:net';
import assert from 'node:assert/strict';
import { ConnectionError, createClient, encodeNative } from '../src/index.js';
import { serverExec, serverQuery, serverTestFile } from './helpers/server.js';
import { leadingWords, replaceTrailingFormat } from '../src/transport/common.js';

const file = serverTestFile();
const { unhandled } = file;
const url = () => `clickhouse://${file.server()!.host}:${file.server()!.tcpPort}`;
const httpUrl = () => `http://${file.server()!.host}:${file.server()!.httpPort}`;

test('INSERT with rows in its text: a prompt CHWIRE_INSERT_NEEDS_DATA, nothing inserted, the pool keeps working', async (t) => {
  if (!file.server()) return t.skip('no ClickHouse server');
  await serverExec('DROP TABLE IF EXISTS default.chwire_stmt_ins');
  await serverExec('CREATE TABLE default.chwire_stmt_ins (a UInt32, s String) ENGINE = Memory');
  const c = createClient({ url: url(), max_open_connections: 1, request_timeout: 20_000 });
  try {
    const statements = [
      "INSERT INTO default.chwire_stmt_ins VALUES (1, 'a')",
      "/* c */ insert INTO default.chwire_stmt_ins (a, s) VALUES (2, 'b')",
      'INSERT INTO default.chwire_stmt_ins FORMAT CSV\n3,c',
      'INSERT INTO default.chwire_stmt_ins FORMAT TSV',
    ];
    for (const query of statements) {
      for (const run of [() => c.command({ query }), async () => (await c.query({ query })).json()]) {
        const started = Date.now();
        await assert.rejects(run(), (e: Error & { code?: string }) => {
          assert.equal(e.code, 'CHWIRE_INSERT_NEEDS_DATA', e.message);
          assert.match(e.message, /revision 54412/);
          assert.match(e.message, /client\.insert/);
          return true;
        });
        assert.ok(Date.now() - started < 5_000, `${query}: ${Date.now() - started} ms`);
      }
    }
    // INSERT … SELECT runs as a statement (the server's block of no columns is not a header).
    await c.command({ query: "INSERT INTO default.chwire_stmt_ins SELECT 7, 'x'" });
    await (await c.query({ query: "INSERT INTO default.chwire_stmt_ins SELECT 8, 'y'" })).json();
    assert.deepEqual(await serverQuery('SELECT a, s FROM default.chwire_stmt_ins ORDER BY a'), [
      [7, 'x'],
      [8, 'y'],
    ]);
    assert.deepEqual(await (await c.query({ query: 'SELECT 1 AS one' })).json(), [{ one: 1 }]);
  } finally {
    await c.close();
    await serverExec('DROP TABLE IF EXISTS default.chwire_stmt_ins');
  }
});

test('leadingWords skips comments and parentheses', () => {
  assert.deepEqual(leadingWords('  -- x\n# y\n/* a /* nested */ b */ (insert  into t'), ['INSERT', 'INTO']);
  assert.deepEqual(leadingWords('SET max_threads = 1'), ['SET', 'MAX_THREADS']);
  assert.deepEqual(leadingWords('create temporary table t'), ['CREATE', 'TEMPORARY']);
  assert.deepEqual(leadingWords(''), []);
});

const threads = "SELECT value FROM system.settings WHERE name = 'max_threads'";

test('SET without session_id does not leak into pooled connections; with session_id it holds for the session', async (t) => {
  if (!file.server()) return t.skip('no ClickHouse server');
  const c = createClient({ url: url(), max_open_connections: 3 });
  const value = async (session_id?: string) =>
    ((await (await c.query({ query: threads, ...(session_id ? { session_id } : {}) })).json()) as { value: string }[])[0]!.value;
  try {
    const before = await value();
    assert.notEqual(before, '1');
    await c.command({ query: 'SET max_threads = 1' });
    assert.deepEqual(await Promise.all([value(), value(), value()]), [before, before, before]);

    await c.command({ query: 'SET max_threads = 1', session_id: 'chwire-s1' });
    await c.command({ query: 'CREATE TEMPORARY TABLE chwire_tmp (a UInt8)', session_id: 'chwire-s1' });
    await c.command({ query: 'INSERT INTO chwire_tmp SELECT 5', session_id: 'chwire-s1' });
    // Concurrent requests of one session queue on its connection, in order.
    assert.deepEqual(await Promise.all([value('chwire-s1'), value('chwire-s1'), value('chwire-s1')]), ['1', '1', '1']);
    const tmp = await Promise.all(
      [0, 1, 2].map(async () => (await c.query({ query: 'SELECT a FROM chwire_tmp', session_id: 'chwire-s1' })).json()),
    );
    assert.deepEqual(tmp, [[{ a: 5 }], [{ a: 5 }], [{ a: 5 }]]);
    // Other sessions and session-less queries do not see it.
    assert.equal(await value('chwire-s2'), before);
    assert.equal(await value(), before);
    await assert.rejects(c.query({ query: 'SELECT a FROM chwire_tmp' }).then((r) => r.json()), { code: 60 });
    // A session's queued request that is aborted leaves the order intact.
    const ac = new AbortController();
    const slow = c.query({ query: 'SELECT sleep(0.5)', session_id: 'chwire-s1' }).then((r) => r.json());
    const gaveUp = c.query({ query: 'SELECT 1', session_id: 'chwire-s1', abort_signal: ac.signal });
    const third = c.query({ query: 'SELECT a FROM chwire_tmp', session_id: 'chwire-s1' }).then((r) => r.json());
    ac.abort();
    await assert.rejects(gaveUp, { name: 'AbortError' });
    assert.deepEqual(await third, [{ a: 5 }]);
    await slow;
  } finally {
    await c.close();
  }
});

test('close() ends requests still running: they reject with CHWIRE_CLIENT_CLOSED and the server stops the query', async (t) => {
  if (!file.server()) return t.skip('no ClickHouse server');
  const c = createClient({ url: url() });
  const qid = `chwire-close-${Date.now()}`;
  const rs = await c.query({ query: 'SELECT count() FROM system.numbers', query_id: qid });
  const result = rs.json().catch((e: unknown) => e);
  const running = async () => Number((await serverQuery(`SELECT count() FROM system.processes WHERE query_id = '${qid}'`))[0]![0]);
  for (let i = 0; i < 50 && (await running()) === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await running(), 1);
  const started = Date.now();
  await c.close();
  const e = (await result) as Error & { code?: string };
  assert.equal(e.code, 'CHWIRE_CLIENT_CLOSED');
  assert.ok(Date.now() - started < 1000);
  let left = 1;
  for (let i = 0; i < 50 && left > 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    left = await running();
  }
  assert.equal(left, 0, 'the server still runs the query');
});

test('raw Native insert: chunks that split blocks anywhere', async (t) => {
  if (!file.server()) return t.skip('no ClickHouse server');
  await serverExec('DROP TABLE IF EXISTS default.chwire_stmt_native');
  await serverExec('CREATE TABLE default.chwire_stmt_native (id UInt64, s String) ENGINE = Memory');
  const blocks = [0, 1, 2].map((b) => ({
    columns: [
      { name: 'id', type: 'UInt64', values: Array.from({ length: 1000 }, (_, i) => BigInt(b * 1000 + i)) },
      { name: 's', type: 'String', values: Array.from({ length: 1000 }, (_, i) => `v${b * 1000 + i}`) },
    ],
  }));
  const bytes = encodeNative(blocks);
  const c = createClient({ url: url() });
  try {
    for (const size of [7, 4096]) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.slice(i, i + size));
      const r = await c.insert({ table: 'default.chwire_stmt_native', native: chunks });
      assert.equal(r.rows, 3000);
    }
    assert.deepEqual(await serverQuery('SELECT count(), sum(id), countIf(s = concat(\'v\', toString(id))) FROM default.chwire_stmt_native'), [
      ['6000', String(2 * ((2999 * 3000) / 2)), '6000'],
    ]);
    // Bytes that end inside a block: an error, and the cut block is not inserted.
    await assert.rejects(c.insert({ table: 'default.chwire_stmt_native', native: [bytes.subarray(0, bytes.length - 3)] }), { code: 'CHWIRE_TRUNCATED' });
  } finally {
    await c.close();
    await serverExec('DROP TABLE IF EXISTS default.chwire_stmt_native');
  }
});

test('a placeholder without a value is named, over TCP and HTTP (client-side binding)', async (t) => {
  if (!file.server()) return t.skip('no ClickHouse server');
  for (const u of [url(), httpUrl()]) {
    const c = createClient({ url: u });
    try {
      for (const query_params of [undefined, {}]) {
        await assert.rejects(
          c.query({ query: 'SELECT {x:UInt8} AS x', ...(query_params ? { query_params } : {}) }).then((r) => r.json()),
          (e: Error & { code?: string }) => e.code === 'CHWIRE_MISSING_PARAM' && /'x'/.test(e.message),
        );
      }
      // Braces that are not placeholders are left alone.
      assert.deepEqual(await (await c.query({ query: "SELECT '{x:UInt8}' AS s" })).json(), [{ s: '{x:UInt8}' }]);
    } finally {
      await c.close();
    }
  }
});

test('HTTP query(): a trailing FORMAT clause is read as Native, as over TCP', async (t) => {
  if (!file.server()) return t.skip('no ClickHouse server');
  assert.equal(replaceTrailingFormat("SELECT 'FORMAT JSON' FORMAT JSONEachRow; -- c", 'Native'), "SELECT 'FORMAT JSON' FORMAT Native; -- c");
  assert.equal(replaceTrailingFormat('SELECT format FROM t', 'Native'), 'SELECT format FROM t');
  assert.equal(replaceTrailingFormat('SELECT 1 AS format', 'Native'), 'SELECT 1 AS format');
  for (const u of [httpUrl(), url()]) {
    const c = createClient({ url: u });
    try {
      for (const q of ['SELECT 1 AS x FORMAT JSONEachRow', 'SELECT 1 AS x FORMAT TSV -- c', 'SELECT 1 AS x\nFORMAT RowBinary;']) {
        assert.deepEqual(await (await c.query({ query: q })).json(), [{ x: 1 }], `${u}: ${q}`);
      }
    } finally {
      await c.close();
    }
  }
});

test('a column named __proto__ stays a key in json() and columns()', async (t) => {
  if (!file.server()) return t.skip('no ClickHouse server');
  const c = createClient({ url: url() });
  try {
    const q = 'SELECT 1 AS __proto__, 2 AS a';
    const cols = await (await c.query({ query: q })).columns();
    assert.deepEqual(Object.keys(cols), ['__proto__', 'a']);
    assert.deepEqual(Object.getOwnPropertyDescriptor(cols, '__proto__')?.value, [1]);
    assert.equal(Object.getPrototypeOf(cols), Object.prototype);
    const rows = (await (await c.query({ query: q })).json()) as Record<string, unknown>[];
    assert.deepEqual(Object.keys(rows[0]!), ['__proto__', 'a']);
  } finally {
    await c.close();
  }
});

test('rows as arrays: duplicate column names give no key warning', async (t) => {
  if (!file.server()) return t.skip('no ClickHouse server');
  const warn = console.warn;
  const warnings: unknown[] = [];
  console.warn = (...a: unknown[]) => warnings.push(a);
  const c = createClient({ url: url(), rows: 'array' });
  try {
    assert.deepEqual(await (await c.query({ query: 'SELECT x, x FROM (SELECT 1 AS x)' })).json(), [[1, 1]]);
    assert.deepEqual(warnings, []);
  } finally {
    console.warn = warn;
    await c.close();
  }
});

test('one failure reaching several callers: each gets its own error with its own caller', async () => {
  // A port nobody listens on, over HTTP with compression: the server-info step that picks the
  // response compression is shared by the callers waiting for it.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const c = createClient({ url: `http://127.0.0.1:${port}`, compression: 'lz4' });
  try {
    const errors = await Promise.all([0, 1, 2, 3].map(() => c.query({ query: 'SELECT 1' }).then(() => null, (e: Error) => e)));
    for (const e of errors) {
      assert.ok(e instanceof ConnectionError, String(e));
      assert.equal(e.code, 'CHWIRE_CONNECTION_REFUSED');
      assert.equal(e.stack!.split('--- caller ---').length, 2, e.stack);
    }
    assert.equal(new Set(errors).size, 4, 'four error objects');
  } finally {
    await c.close();
  }
});

test('INSERT: an exception the server sends while rows still go is the error (not the ended INSERT); close() ends an INSERT with CHWIRE_CLIENT_CLOSED', async (t) => {
  if (!file.server()) return t.skip('no ClickHouse server');
  await serverExec('DROP TABLE IF EXISTS default.chwire_stmt_mv');
  await serverExec('DROP TABLE IF EXISTS default.chwire_stmt_src');
  await serverExec('CREATE TABLE default.chwire_stmt_src (x UInt64) ENGINE = Memory');
  await serverExec('CREATE MATERIALIZED VIEW default.chwire_stmt_mv ENGINE = Memory AS SELECT x, throwIf(x = 25) AS t FROM default.chwire_stmt_src');
  const c = createClient({ url: url(), insert_batch_rows: 10 });
  async function* slow(n: number) {
    for (let i = 0; i < n; i++) {
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
      yield { x: i };
    }
  }
  try {
    await assert.rejects(
      c.insert({ table: 'default.chwire_stmt_src', values: slow(1000), clickhouse_settings: { min_insert_block_size_rows: 1, min_insert_block_size_bytes: 1 } }),
      (e: unknown) => e instanceof Error && (e as { code?: unknown }).code === 395 && /throwIf/.test(e.message),
    );
    // close() while an INSERT waits for its source.
    const pending = c.insert({ table: 'default.chwire_stmt_src', values: slow(1e9) }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    await c.close();
    const e = (await pending) as Error & { code?: string };
    assert.equal(e.code, 'CHWIRE_CLIENT_CLOSED', String(e));
    assert.ok(Date.now() - started < 1000);
  } finally {
    await c.close();
    await serverExec('DROP TABLE IF EXISTS default.chwire_stmt_mv');
    await serverExec('DROP TABLE IF EXISTS default.chwire_stmt_src');
  }
});

test('summary.elapsedMs counts from the query() call, also while the server has not answered yet', async (t) => {
  if (!file.server()) return t.skip('no ClickHouse server');
  for (const u of [url(), httpUrl()]) {
    const c = createClient({ url: u });
    try {
      const rs = await c.query({ query: 'SELECT sleep(0.3) AS s' });
      await rs.json();
      assert.ok(rs.summary.elapsedMs >= 280, `${u}: ${rs.summary.elapsedMs} ms`);
    } finally {
      await c.close();
    }
  }
});

test('insert() with session_id fills that session\'s temporary table (TCP and HTTP)', async (t) => {
  if (!file.server()) return t.skip('no ClickHouse server');
  for (const u of [url(), httpUrl()]) {
    const c = createClient({ url: u });
    const session_id = `chwire-ins-${Math.floor(Math.random() * 1e9)}`;
    try {
      await c.command({ query: 'CREATE TEMPORARY TABLE chwire_tmp_ins (a UInt8, s String)', session_id });
      await c.insert({ table: 'chwire_tmp_ins', values: [{ a: 1, s: 'x' }, { a: 2, s: 'y' }], session_id });
      await c.insert({ table: 'chwire_tmp_ins', columns: { a: new Uint8Array([3]), s: ['z'] }, session_id });
      assert.deepEqual(await (await c.query({ query: 'SELECT a, s FROM chwire_tmp_ins ORDER BY a', session_id })).json(), [
        { a: 1, s: 'x' },
        { a: 2, s: 'y' },
        { a: 3, s: 'z' },
      ], u);
    } finally {
      await c.close();
    }
  }
});

test('no unhandled rejections', () => assert.deepEqual(unhandled, []));
