// Issue 9: the HTTP transport against ClickHouse 18.16's HTTP port — the same end-to-end cases as
// over TCP: typed values (checked against chwire over TCP and clickhouse-client), 1M-row streams,
// exceptions (also mid-stream after HTTP 200), inserts, parameters (bound client-side: 18.16 has no
// param_), auth (basic, X-ClickHouse headers, failures), abort (with the server-side KILL),
// request_timeout, 20 concurrent requests, sessions, query_id, User-Agent, raw formats in and out,
// decompress=1 inserts with LZ4 and ZSTD frames, gzip responses, HTTPS with a CA and client certs.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, ClickHouseError, type ClickHouseClient } from '../src/index.js';
import { encodeNative } from '../src/core/index.js';
import { serverExec, serverQuery, testServer, type ServerInfo } from './helpers/server.js';
import { watchLeaks } from './helpers/unhandled.js';

const leaks = watchLeaks();

const uniq = `${process.pid}_${Date.now() % 1e6}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('HTTP transport against ClickHouse 18.16', { concurrency: false }, () => {
  let srv: ServerInfo | null = null;
  let client: ClickHouseClient;
  const url = () => `http://${srv!.host}:${srv!.httpPort}`;
  const tables: string[] = [];
  const table = (name: string) => {
    const t = `default.chwire_http_${name}_${uniq}`;
    tables.push(t);
    return t;
  };

  before(async () => {
    srv = await testServer();
    if (srv) client = createClient({ url: url() });
  });
  after(async () => {
    await client?.close();
    if (srv && tables.length) await serverExec(tables.map((t) => `DROP TABLE IF EXISTS ${t}`).join(';\n'));
  });

  test('kind, ping, serverInfo', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    assert.equal(client.kind, 'http');
    assert.equal(await client.ping(), true);
  });

  test('typed values equal chwire over TCP and clickhouse-client', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const sql = `SELECT number AS u64, toInt8(number - 2) AS i8, toFloat64(number) / 3 AS f, toString(number) AS s,
      toFixedString('ab', 3) AS fs, [number, number * 2] AS arr, if(number % 2 = 0, NULL, number) AS n,
      toDecimal64(number / 3, 4) AS d, toDate('2024-01-02') + number AS dd, toDateTime('2024-01-02 03:04:05', 'Asia/Tokyo') AS dt,
      toLowCardinality(toString(number % 3)) AS lc, (number, 'x') AS tup, toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0') AS uu,
      CAST('b', 'Enum8(\\'a\\' = 1, \\'b\\' = 2)') AS e, toInt64(-number) * 1000000000000 AS i64
      FROM numbers(5)`;
    const viaHttp = await (await client.query({ query: sql })).json();
    const tcp = createClient({ url: `clickhouse://${srv.host}:${srv.tcpPort}` });
    try {
      const viaTcp = await (await tcp.query({ query: sql })).json();
      assert.deepEqual(viaHttp, viaTcp);
    } finally {
      await tcp.close();
    }
    const oracle = await serverQuery(`SELECT toString(u64), toString(i8), toString(d), toString(dd), toString(dt), toString(i64), s, lc FROM (${sql})`);
    viaHttp.forEach((r, i) => {
      const row = r as Record<string, unknown>;
      const o = oracle[i]!;
      assert.equal(String(row.u64), o[0]);
      assert.equal(String(row.i8), o[1]);
      assert.equal(Number(row.d as string).toFixed(4), Number(o[2]).toFixed(4));
      assert.equal(row.dd, o[3]);
      assert.equal(String(row.i64), o[5]);
      assert.equal(row.s, o[6]);
      assert.equal(row.lc, o[7]);
    });
  });

  test('1M rows stream block by block', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    let rows = 0;
    let blocks = 0;
    let sum = 0n;
    const started = Date.now();
    let firstBlockAt = 0;
    const rs = await client.query({ query: 'SELECT number, toString(number) AS s FROM numbers(1000000)', clickhouse_settings: { max_block_size: 65536 } });
    for await (const b of rs) {
      if (!firstBlockAt) firstBlockAt = Date.now();
      blocks++;
      rows += b.rowCount;
      const col = b.columns[0]!.toArray() as ArrayLike<bigint>;
      for (let i = 0; i < col.length; i++) sum += col[i]!;
    }
    assert.equal(rows, 1_000_000);
    assert.equal(sum, 499999500000n);
    assert.ok(blocks >= 15, `${blocks} blocks`);
    assert.ok(firstBlockAt - started < Date.now() - started, 'the first block arrived before the body ended');
  });

  test('exceptions: code, type and message as over TCP', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const tcp = createClient({ url: `clickhouse://${srv.host}:${srv.tcpPort}` });
    try {
      for (const sql of ['SELECT throwIf(1)', 'SELECT * FROM default.no_such_table_chwire', 'SELEC 1']) {
        const overTcp = await tcp.query({ query: sql }).then((r) => r.json()).catch((e: unknown) => e as ClickHouseError);
        const overHttp = await client.query({ query: sql }).then((r) => r.json()).catch((e: unknown) => e as ClickHouseError);
        assert.ok(overHttp instanceof ClickHouseError, String(overHttp));
        assert.ok(overTcp instanceof ClickHouseError);
        assert.equal(overHttp.code, overTcp.code);
        assert.equal(overHttp.type, overTcp.type);
        if (overTcp.code !== 62) assert.equal(overHttp.message, overTcp.message);
        else assert.match(overHttp.message, /^DB::Exception: Syntax error/);
      }
    } finally {
      await tcp.close();
    }
    await assert.rejects(client.command({ query: 'SELECT throwIf(1)' }), (e: unknown) => e instanceof ClickHouseError && e.code === 395);
  });

  test('an exception after HTTP 200, mid-stream, surfaces after the blocks before it', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const rs = await client.query({
      query: 'SELECT number, toString(number) FROM system.numbers WHERE throwIf(number = 3000000) = 0 LIMIT 4000000',
      clickhouse_settings: { max_block_size: 10000 },
    });
    let rows = 0;
    await assert.rejects(
      (async () => {
        for await (const b of rs) rows += b.rowCount;
      })(),
      (e: unknown) => e instanceof ClickHouseError && e.code === 395 && /throwIf/.test(e.message),
    );
    assert.ok(rows > 0 && rows <= 3_000_000, `${rows} rows before the exception`);
  });

  test('inserts: rows, columns with TypedArrays, AsyncIterable, raw Native; read back exactly', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const tb = table('ins');
    await client.command({ query: `CREATE TABLE ${tb} (id UInt32, s String, a Array(Int16), n Nullable(Float64), m UInt8 MATERIALIZED 7) ENGINE = MergeTree ORDER BY id` });
    const r1 = await client.insert({ table: tb, values: [{ id: 1, s: 'one', a: [1, -2], n: null }, { id: 2, s: "t'wo", a: [], n: 2.5 }] });
    assert.equal(r1.rows, 2);
    await client.insert({ table: tb, columns: { id: new Uint32Array([3, 4]), s: ['three', 'four'], a: [[3], [4, 4]], n: [3, null] } });
    await client.insert({
      table: tb,
      values: (async function* () {
        for (let i = 5; i < 1005; i++) yield [i, `v${i}`, [i % 100], i / 2];
      })(),
      columns: ['id', 's', 'a', 'n'],
    });
    const native = encodeNative({ columns: [{ name: 'id', type: 'UInt32', values: [2000] }, { name: 's', type: 'String', values: ['raw'] }, { name: 'a', type: 'Array(Int16)', values: [[9]] }, { name: 'n', type: 'Nullable(Float64)', values: [null] }] });
    // Its rows are counted by the client (18.16 sends no X-ClickHouse-Summary).
    assert.equal((await client.insert({ table: tb, native })).rows, 1);
    const rows = await serverQuery(`SELECT id, s, a, n, m FROM ${tb} WHERE id IN (1, 2, 3, 4, 1004, 2000) ORDER BY id`);
    assert.deepEqual(rows, [
      [1, 'one', [1, -2], null, 7],
      [2, "t'wo", [], 2.5, 7],
      [3, 'three', [3], 3, 7],
      [4, 'four', [4, 4], null, 7],
      [1004, 'v1004', [4], 502, 7],
      [2000, 'raw', [9], null, 7],
    ]);
    assert.deepEqual(await serverQuery(`SELECT count() FROM ${tb}`), [['1005']]);
    // A wrong-typed value fails before anything is sent.
    await assert.rejects(client.insert({ table: tb, values: [{ id: 'x', s: 1, a: [], n: null }] }));
    assert.deepEqual(await serverQuery(`SELECT count() FROM ${tb}`), [['1005']]);
    // A source that throws midway: the request is aborted, the partial block is not inserted.
    await assert.rejects(
      client.insert({
        table: tb,
        values: (async function* () {
          yield { id: 5000, s: 'a', a: [], n: null };
          throw new Error('source broke');
        })(),
      }),
      /source broke/,
    );
    assert.deepEqual(await serverQuery(`SELECT count() FROM ${tb} WHERE id = 5000`), [['0']]);
  });

  test('query parameters, bound client-side on 18.16 (no param_ there)', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const rs = await client.query({
      query: 'SELECT {s:String} AS s, {n:UInt64} AS n, {a:Array(Int32)} AS a, {d:Date} AS d, {x:Nullable(String)} AS x',
      query_params: { s: "it's a \\ {test}", n: 18446744073709551615n, a: [1, -2], d: new Date(Date.UTC(2024, 0, 2)), x: null },
    });
    const [row] = await rs.json<Record<string, unknown>>();
    assert.equal(row!.s, "it's a \\ {test}");
    assert.equal(row!.n, 18446744073709551615n);
    assert.deepEqual(row!.a, [1, -2]);
    assert.equal(row!.d, '2024-01-02');
    assert.equal(row!.x, null);
  });

  test('auth: secured user by basic auth, X-ClickHouse headers and URL; wrong password → 193', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const { user, password } = srv.secured;
    for (const http_auth of ['basic', 'headers', 'query'] as const) {
      const c = createClient({ url: url(), username: user, password, http_auth } as never);
      try {
        const [row] = await (await c.query({ query: "SELECT value AS v FROM system.settings WHERE name = 'readonly'" })).json<{ v: string }>();
        assert.equal(row!.v, '2', http_auth);
        // readonly=2: writes are refused.
        await assert.rejects(c.command({ query: 'CREATE TABLE default.chwire_http_ro (x UInt8) ENGINE = Memory' }), (e: unknown) => e instanceof ClickHouseError && e.code === 164);
      } finally {
        await c.close();
      }
    }
    const bad = createClient({ url: `http://${user}:${encodeURIComponent('wrong pass')}@${srv.host}:${srv.httpPort}` });
    try {
      const e = await bad.query({ query: 'SELECT 1' }).catch((x: unknown) => x);
      assert.ok(e instanceof ClickHouseError, String(e));
      assert.equal(e.code, 193);
      assert.ok(!String(e.message).includes('wrong pass') && !String(e.stack).includes('wrong pass'));
    } finally {
      await bad.close();
    }
  });

  test('abort: AbortError quickly, and the query is killed on the server', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const ac = new AbortController();
    const qid = `chwire-http-abort-${uniq}`;
    const started = Date.now();
    setTimeout(() => ac.abort(), 300);
    await assert.rejects(
      client.query({ query: 'SELECT sum(number) FROM system.numbers', query_id: qid, abort_signal: ac.signal, clickhouse_settings: { max_execution_time: 20 } }).then((r) => r.json()),
      (e: unknown) => (e as { code?: string }).code === 'CHWIRE_ABORTED',
    );
    assert.ok(Date.now() - started < 1500);
    let running = true;
    for (let i = 0; i < 20 && running; i++) {
      await sleep(100);
      running = (await serverQuery(`SELECT count() FROM system.processes WHERE query_id = '${qid}'`))[0]![0] !== '0';
    }
    assert.equal(running, false, 'KILL QUERY stopped it');
    // An already-aborted signal sends nothing.
    await assert.rejects(client.query({ query: 'SELECT 1', abort_signal: AbortSignal.abort() }), /aborted/);
    assert.deepEqual(await (await client.query({ query: 'SELECT 1 AS x' })).json(), [{ x: 1 }]);
  });

  test('request_timeout: a silent server times out; a slow consumer does not', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const c = createClient({ url: url(), request_timeout: 400 });
    try {
      await assert.rejects(c.query({ query: 'SELECT sleep(1.5)' }).then((r) => r.json()), (e: unknown) => (e as { code?: string }).code === 'CHWIRE_TIMEOUT');
      let n = 0;
      for await (const b of await c.query({ query: 'SELECT number FROM numbers(300000)', clickhouse_settings: { max_block_size: 100000 } })) {
        n += b.rowCount;
        await sleep(250);
      }
      assert.equal(n, 300000);
    } finally {
      await c.close();
    }
  });

  test('20 concurrent requests', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => client.query({ query: `SELECT ${i} AS i, count() AS c FROM numbers(${(i + 1) * 10000})` }).then((r) => r.json<{ i: number; c: bigint }>())),
    );
    results.forEach((r, i) => assert.deepEqual(r, [{ i, c: BigInt((i + 1) * 10000) }]));
  });

  test('session_id keeps temporary tables; query_id and User-Agent reach the server', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const session_id = `chwire-session-${uniq}`;
    await client.command({ query: 'CREATE TEMPORARY TABLE tmp_http (x UInt8)', session_id });
    await client.command({ query: 'INSERT INTO tmp_http VALUES (7)', session_id });
    assert.deepEqual(await (await client.query({ query: 'SELECT x FROM tmp_http', session_id })).json(), [{ x: 7 }]);
    await assert.rejects(client.query({ query: 'SELECT x FROM tmp_http' }), (e: unknown) => e instanceof ClickHouseError && e.code === 60);

    const c = createClient({ url: url(), application: 'myapp/1.2' });
    try {
      const qid = `chwire-qid-${uniq}`;
      const [row] = await (await c.query({ query: `SELECT query_id, http_user_agent FROM system.processes WHERE query_id = '${qid}'`, query_id: qid })).json<{ query_id: string; http_user_agent: string }>();
      assert.equal(row!.query_id, qid);
      assert.match(row!.http_user_agent, /^myapp\/1\.2 chwire\/\d+\.\d+\.\d+ \(lv:node\/\d+\.\d+\.\d+; os:\w+; arch:\w+\)$/);
    } finally {
      await c.close();
    }
  });

  test('exec: raw formats out (JSONEachRow, CSV) and in (CSV string, TSV stream)', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const out = await client.exec({ query: 'SELECT number AS n, toString(number) AS s FROM numbers(3) FORMAT JSONEachRow' });
    assert.equal(await out.text(), '{"n":"0","s":"0"}\n{"n":"1","s":"1"}\n{"n":"2","s":"2"}\n');
    const csv = await client.exec({ query: 'SELECT {x:String} AS x FORMAT CSV', query_params: { x: 'a,"b"' } });
    assert.equal(await csv.text(), '"a,""b"""\n');
    const tb = table('raw');
    await client.command({ query: `CREATE TABLE ${tb} (id UInt32, s String) ENGINE = Memory` });
    await (await client.exec({ query: `INSERT INTO ${tb} FORMAT CSV`, body: '1,"one"\n2,"two, 2"\n' })).text();
    const enc = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 3; i < 1003; i++) c.enqueue(enc.encode(`${i}\tv${i}\n`));
        c.close();
      },
    });
    await (await client.exec({ query: `INSERT INTO ${tb} FORMAT TabSeparated`, body: stream })).bytes();
    assert.deepEqual(await serverQuery(`SELECT count(), min(id), max(id), anyIf(s, id = 2) FROM ${tb}`), [['1002', 1, 1002, 'two, 2']]);
    await assert.rejects(client.exec({ query: 'SELECT nope' }), (e: unknown) => e instanceof ClickHouseError && e.code === 47);
    // RowBinary out, in bytes.
    const rb = await (await client.exec({ query: 'SELECT toUInt32(258) FORMAT RowBinary' })).bytes();
    assert.deepEqual([...rb], [2, 1, 0, 0]);
  });

  test('compression: decompress=1 inserts with LZ4 and ZSTD frames; gzip responses', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const tb = table('cmp');
    await client.command({ query: `CREATE TABLE ${tb} (id UInt32, s String) ENGINE = Memory` });
    for (const compression of ['lz4', 'zstd'] as const) {
      const c = createClient({ url: url(), compression });
      try {
        const base = compression === 'lz4' ? 0 : 100000;
        const res = await c.insert({ table: tb, columns: { id: Uint32Array.from({ length: 100000 }, (_, i) => base + i), s: Array.from({ length: 100000 }, (_, i) => `row ${i % 50}`) } });
        assert.equal(res.rows, 100000);
        await (await c.exec({ query: `INSERT INTO ${tb} FORMAT CSV`, body: `${900000 + base},"csv ${compression}"\n` })).text();
        // 18.x cannot send compress=1 responses: the client asks for gzip instead.
        const out = await c.exec({ query: `SELECT count() FROM ${tb} WHERE id >= ${base} AND id < ${base + 100000} FORMAT TSV` });
        assert.equal(out.headers.get('content-encoding'), 'gzip');
        assert.equal(await out.text(), '100000\n');
        const rows = await (await c.query({ query: `SELECT id, s FROM ${tb} WHERE id = ${base + 77}` })).json();
        assert.deepEqual(rows, [{ id: base + 77, s: 'row 27' }]);
      } finally {
        await c.close();
      }
    }
    assert.deepEqual(await serverQuery(`SELECT count(), countIf(s LIKE 'csv%') FROM ${tb}`), [['200002', '2']]);
    const g = createClient({ url: url(), http_response_compression: 'gzip' } as never);
    try {
      let n = 0;
      for await (const b of await g.query({ query: 'SELECT number FROM numbers(200000)' })) n += b.rowCount;
      assert.equal(n, 200000);
    } finally {
      await g.close();
    }
    // This server's compress=1 responses are empty: frames asked for explicitly are refused, never an empty result.
    const f = createClient({ url: url(), http_response_compression: 'frames' } as never);
    try {
      await assert.rejects(f.query({ query: 'SELECT 1' }), (e: unknown) => (e as { code?: string }).code === 'CHWIRE_BAD_OPTION' && /19 or later/.test(String(e)));
    } finally {
      await f.close();
    }
  });

  test('HTTPS: custom CA; strict mTLS with a client certificate; wrong certificates rejected', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const q = async (c: ClickHouseClient) => {
      try {
        return await (await c.query({ query: 'SELECT 1 AS x' })).json();
      } finally {
        await c.close();
      }
    };
    const h = srv.servername;
    assert.deepEqual(await q(createClient({ url: `https://${h}:${srv.httpsPort}`, tls: { ca_cert: srv.ca } })), [{ x: 1 }]);
    await assert.rejects(q(createClient({ url: `https://${h}:${srv.httpsPort}` })), (e: unknown) => (e as { code?: string }).code === 'CHWIRE_CONNECTION');
    assert.deepEqual(await q(createClient({ url: `https://${h}:${srv.httpsPortStrict}`, tls: { ca_cert: srv.ca, cert: srv.clientCert, key: srv.clientKey } })), [{ x: 1 }]);
    await assert.rejects(q(createClient({ url: `https://${h}:${srv.httpsPortStrict}`, tls: { ca_cert: srv.ca, cert: srv.rogueCert, key: srv.rogueKey } })));
    await assert.rejects(q(createClient({ url: `https://${h}:${srv.httpsPortStrict}`, tls: { ca_cert: srv.ca } })));
  });

  test('close(): later calls reject with CHWIRE_CLIENT_CLOSED', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const c = createClient({ url: url() });
    await c.ping();
    await c.close();
    await c.close();
    await assert.rejects(c.query({ query: 'SELECT 1' }), (e: unknown) => (e as { code?: string }).code === 'CHWIRE_CLIENT_CLOSED');
  });

  test('no unhandled rejections in this file', () => leaks.assertNone(50));
});
