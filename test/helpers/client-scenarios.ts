// The client-behaviour scenarios of issue 6, shared by the real-server suites: ClickHouse 18.16
// (test/tcp-client.test.ts) and `chwire serve` at the newest revision (test/server-client-suite.test.ts).
// query/json/columns/rows/stream, summary/progress, value options, command, inserts (rows, columns
// with TypedArrays, AsyncIterable with a time-based flush, wrong-typed values, raw Native),
// concurrency and the pool (50 queries on 10 connections, waiting for a free connection,
// idle_socket_ttl), abort, request_timeout, wrong password, `application` as client_name, close().
//
// What differs between servers is in the ClientTarget: how to learn which connection (client port)
// served a query and with which client info (18.16: system.processes; chwire serve: its query log),
// the authentication error code, whether the password user is read-only, and written-rows reporting.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { Readable } from 'node:stream';
import { createClient, ClickHouseError, type ClickHouseClient } from '../../src/index.js';

export interface ClientTarget {
  host: string;
  port: number;
  /** clickhouse://host:port */
  url: string;
  /** A user with a password; `readonly`: writes are refused with 164 READONLY. */
  secured: { user: string; password: string; readonly: boolean };
  /** The code of a wrong password (18.16: 193 WRONG_PASSWORD; modern servers: 516 AUTHENTICATION_FAILED). */
  authErrorCode: number;
  /** Out-of-band statements, and a query's rows as ClickHouse's JSONCompact gives them (64-bit integers as strings). */
  exec(sql: string): Promise<unknown>;
  query(sql: string): Promise<unknown[][]>;
  /** SELECT of `cols` (and a `port` column) for a query run with query_id `qid`. */
  probe(qid: string, cols?: string): string;
  /** The client port of the connection that ran `qid` (`rowPort`: what probe()'s `port` column said). */
  portOf(qid: string, rowPort?: number): Promise<number>;
  /** currentDatabase() and the user of a query run on `client` (query_id `qid`). */
  who(client: ClickHouseClient, qid: string): Promise<{ db: string; u: string }[]>;
  /** client_name, interface, has_os_user of a query run on `client` (query_id `qid`). */
  clientInfo(client: ClickHouseClient, qid: string): Promise<{ client_name: string; interface?: number; has_os_user?: number }[]>;
  /** The written rows an `INSERT … SELECT` of n rows reports in its summary. */
  commandWrittenRows(n: number): number;
  commandWrittenRowsNote: string;
}

/** Runs Debian's clickhouse-client against the target (asynchronously: the server may be in this process). */
export function clickhouseClient(tg: { host: string; port: number }, sql: string): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    execFile('clickhouse-client', ['--host', tg.host, '--port', String(tg.port), '-q', sql], { encoding: 'buffer', maxBuffer: 64 << 20 }, (e, out, err) =>
      e ? reject(new Error(`${e.message}: ${err.toString()}`)) : resolve(out),
    ),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Registers the scenarios as one describe(). `setup` gives the target (null: skipped with
 * `skipReason`); `teardown` runs after them.
 */
export function clientScenarios(
  title: string,
  setup: () => Promise<ClientTarget | null>,
  teardown: () => Promise<void>,
  skipReason: string,
  authCode: number,
): void {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  const uniq = `${process.pid}_${Date.now() % 1e6}`;

  describe(title, { concurrency: false }, () => {
    let tg: ClientTarget | null = null;
    let client: ClickHouseClient;
    const url = () => tg!.url;
    const tables: string[] = [];
    const table = (name: string) => {
      const t = `default.chwire_cl_${name}_${uniq}`;
      tables.push(t);
      return t;
    };

    before(async () => {
      tg = await setup();
      if (tg) client = createClient({ url: url() });
    });
    after(async () => {
      await client?.close();
      if (tg && tables.length) for (const t of tables) await tg.exec(`DROP TABLE IF EXISTS ${t}`);
      await teardown();
    });

    test('query → json / columns / rows / stream / blocks, meta and summary', async (t) => {
      if (!tg) return t.skip(skipReason);
      const sql = "SELECT number AS n, toString(number) AS s, [number, 1] AS a FROM numbers(25000) SETTINGS max_block_size = 10000";
      const progress: number[] = [];
      const rs = await client.query({ query: sql, on_progress: (p) => progress.push(p.rows) });
      const rows = await rs.json<{ n: bigint; s: string; a: bigint[] }>();
      assert.equal(rows.length, 25000);
      assert.deepEqual(rows[12345], { n: 12345n, s: '12345', a: [12345n, 1n] });
      assert.deepEqual(rs.meta, [
        { name: 'n', type: 'UInt64' },
        { name: 's', type: 'String' },
        { name: 'a', type: 'Array(UInt64)' },
      ]);
      // Progress counts rows *read* (numbers() reads whole blocks: 3 × 10000 here).
      assert.ok(rs.summary.progress.rows >= 25000);
      assert.equal(progress.reduce((a, b) => a + b, 0), rs.summary.progress.rows);
      assert.equal(rs.summary.profileInfo?.rows, 25000);
      assert.ok(rs.summary.profileInfo!.blocks >= 3);
      await assert.rejects(rs.json(), /only once/);

      const cols = await (await client.query({ query: sql })).columns();
      assert.deepEqual(Object.keys(cols), ['n', 's', 'a']);
      assert.equal(cols.n!.length, 25000);
      assert.equal(cols.s![24999], '24999');

      let count = 0;
      for await (const r of (await client.query({ query: sql })).rows<{ n: bigint }>()) {
        assert.equal(r.n, BigInt(count));
        count++;
      }
      assert.equal(count, 25000);

      const stream = (await client.query({ query: sql })).stream() as Readable;
      assert.ok(stream instanceof Readable);
      let sn = 0;
      for await (const r of stream) {
        assert.equal((r as { s: string }).s, String(sn));
        sn++;
      }
      assert.equal(sn, 25000);

      const sizes: number[] = [];
      for await (const b of await client.query({ query: sql })) {
        sizes.push(b.rowCount);
        assert.ok(b.columns[0]!.toArray() instanceof BigUint64Array, 'UInt64 column as BigUint64Array');
      }
      assert.deepEqual(sizes, [10000, 10000, 5000]);

      // rows: 'array' and the value options.
      const c2 = createClient({ url: url(), rows: 'array', int64: 'number', decimal: 'number', dates: 'string' });
      try {
        const r = await (await c2.query({ query: "SELECT toUInt64(42) AS u, toDecimal32('1.25', 2) AS d, toDateTime('2020-01-02 03:04:05', 'UTC') AS t" })).json();
        assert.deepEqual(r, [[42, 1.25, '2020-01-02 03:04:05']]);
        // int64: 'number' never rounds: beyond 2^53 a value stays a bigint.
        const big = await (await c2.query({ query: 'SELECT toUInt64(9007199254740991) AS a, toUInt64(9007199254740993) AS b, toInt64(-9007199254740993) AS c, toInt64(-9007199254740991) AS d' })).json();
        assert.deepEqual(big, [[9007199254740991, 9007199254740993n, -9007199254740993n, -9007199254740991]]);
      } finally {
        await c2.close();
      }
      // An empty result still has meta.
      const empty = await client.query({ query: 'SELECT number AS x FROM numbers(10) WHERE x > 100' });
      assert.deepEqual(await empty.json(), []);
      assert.deepEqual(empty.meta, [{ name: 'x', type: 'UInt64' }]);
    });

    test('rows(), rowBatches() and stream(): the rows of json(); leaving early ends the query and frees the connection; errors reach the consumer', async (t) => {
      if (!tg) return t.skip(skipReason);
      const sql =
        "SELECT number AS n, toString(number) AS s, toDateTime(1600000000 + number, 'UTC') AS t, [number, 1] AS a, if(number % 3 = 0, NULL, number) AS m FROM numbers(30000) SETTINGS max_block_size = 7000";
      const all = await (await client.query({ query: sql })).json();
      assert.equal(all.length, 30000);
      const viaRows: unknown[] = [];
      for await (const r of (await client.query({ query: sql })).rows()) viaRows.push(r);
      assert.deepEqual(viaRows, all);
      const viaStream: unknown[] = [];
      for await (const r of (await client.query({ query: sql })).stream() as Readable) viaStream.push(r);
      assert.deepEqual(viaStream, all);
      // rowBatches(): one batch per block, rows made as a batch is iterated.
      const viaBatches: unknown[] = [];
      const sizes: number[] = [];
      let kept: Iterable<unknown> | undefined;
      for await (const batch of (await client.query({ query: sql })).rowBatches()) {
        sizes.push(batch.length);
        for (const r of batch) viaBatches.push(r);
        kept ??= batch;
      }
      assert.deepEqual(viaBatches, all);
      assert.deepEqual(sizes, [7000, 7000, 7000, 7000, 2000]);
      // A batch iterated after the next one was asked for would read reused buffers: it refuses.
      assert.throws(() => [...kept!], (e: unknown) => (e as { code?: string }).code === 'CHWIRE_STALE_BATCH');
      // next() calls made without waiting are answered in order.
      const it = (await client.query({ query: sql })).rows();
      const firsts = await Promise.all(Array.from({ length: 7005 }, () => it.next()));
      assert.deepEqual(
        firsts.map((r) => r.value),
        all.slice(0, 7005),
      );
      await it.return!();

      // One connection: each early exit must give it back (else the next query waits for request_timeout).
      const one = createClient({ url: tg.url, max_open_connections: 1, request_timeout: 20_000 });
      try {
        const endless = 'SELECT number AS n FROM system.numbers SETTINGS max_block_size = 1000';
        let seen = 0;
        for await (const r of (await one.query({ query: endless })).rows<{ n: bigint }>()) if (++seen === 2500) break;
        assert.equal(seen, 2500);
        let batches = 0;
        for await (const b of (await one.query({ query: endless })).rowBatches()) {
          for (const r of b) assert.ok((r as { n: bigint }).n >= 0n);
          if (++batches === 3) break;
        }
        const s = (await one.query({ query: endless })).stream() as Readable;
        let got = 0;
        for await (const r of s) {
          assert.equal((r as { n: bigint }).n, BigInt(got));
          if (++got === 3000) break; // destroys the stream
        }
        assert.ok(s.destroyed);
        const s2 = (await one.query({ query: endless })).stream() as Readable;
        await new Promise<void>((resolve, reject) => {
          s2.once('data', () => {
            s2.destroy();
            resolve();
          });
          s2.once('error', reject);
        });
        const t0 = Date.now();
        assert.deepEqual(await (await one.query({ query: 'SELECT 7 AS x' })).json(), [{ x: 7 }]);
        assert.ok(Date.now() - t0 < 10_000, 'the connection came back at once');

        // A server exception after some rows: rows() rejects, stream() emits the error, with the server's code.
        const failing = 'SELECT number AS n FROM numbers(100000) WHERE throwIf(number = 50000) = 0 SETTINGS max_block_size = 1000';
        let before = 0;
        await assert.rejects(
          (async () => {
            for await (const _ of (await one.query({ query: failing })).rows()) before++;
          })(),
          (e: unknown) => e instanceof ClickHouseError && e.code === 395,
        );
        assert.ok(before >= 1000 && before <= 50000, `rows before the error: ${before}`);
        let batched = 0;
        await assert.rejects(
          (async () => {
            for await (const b of (await one.query({ query: failing })).rowBatches()) for (const _ of b) batched++;
          })(),
          (e: unknown) => e instanceof ClickHouseError && e.code === 395,
        );
        assert.ok(batched <= 50000);
        let streamed = 0;
        await assert.rejects(
          (async () => {
            for await (const _ of (await one.query({ query: failing })).stream() as Readable) streamed++;
          })(),
          (e: unknown) => e instanceof ClickHouseError && e.code === 395,
        );
        assert.ok(streamed <= 50000);
        assert.deepEqual(await (await one.query({ query: 'SELECT 8 AS x' })).json(), [{ x: 8 }]);
      } finally {
        await one.close();
      }
    });

    test('connection options: url with user and database, host/port/username/database', async (t) => {
      if (!tg) return t.skip(skipReason);
      const a = createClient({ url: `clickhouse://default@${tg.host}:${tg.port}/system` });
      const b = createClient({ host: tg.host, port: tg.port, username: 'default', database: 'system' });
      const s = createClient({ url: `tcp://${tg.secured.user}:${encodeURIComponent(tg.secured.password)}@${tg.host}:${tg.port}` });
      try {
        assert.deepEqual(await tg.who(a, `chwire-who-a-${uniq}`), [{ db: 'system', u: 'default' }]);
        assert.deepEqual(await tg.who(b, `chwire-who-b-${uniq}`), [{ db: 'system', u: 'default' }]);
        assert.deepEqual(await tg.who(s, `chwire-who-s-${uniq}`), [{ db: 'default', u: tg.secured.user }]);
        if (tg.secured.readonly) {
          // readonly=2 user: writes refused with the server's code (164 READONLY).
          await assert.rejects(s.command({ query: `CREATE TABLE default.chwire_cl_ro_${uniq} (x UInt8) ENGINE = Memory` }), (e: unknown) => e instanceof ClickHouseError && e.code === 164);
        }
      } finally {
        await Promise.all([a.close(), b.close(), s.close()]);
      }
    });

    test('command: DDL, INSERT … SELECT and its summary', async (t) => {
      if (!tg) return t.skip(skipReason);
      const tb = table('cmd');
      await client.command({ query: `CREATE TABLE ${tb} (id UInt64) ENGINE = Memory` });
      const sum = await client.command({ query: `INSERT INTO ${tb} SELECT number FROM numbers(1000)` });
      assert.equal(typeof sum.elapsedMs, 'number');
      assert.equal(sum.progress.writtenRows, tg.commandWrittenRows(1000), tg.commandWrittenRowsNote);
      assert.deepEqual(await tg!.query(`SELECT count(), sum(id) FROM ${tb}`), [['1000', '499500']]);
    });

    test('insert: row objects, row arrays, columns with TypedArrays, read back exactly', async (t) => {
      if (!tg) return t.skip(skipReason);
      const tb = table('ins');
      await tg!.exec(`CREATE TABLE ${tb} (id UInt64, name String, f Float64, i32 Int32, dt DateTime, tags Array(String), n Nullable(UInt8)) ENGINE = Memory`);
      const r1 = await client.insert({
        table: tb,
        values: [
          { id: 1n, name: 'one', f: 1.5, i32: -1, dt: new Date('2020-01-01T00:00:00Z'), tags: ['a'], n: null },
          { id: 2, name: "t'wo", f: -0.25, i32: 2147483647, dt: 1600000000, tags: [], n: 7 },
        ],
      });
      assert.equal(r1.rows, 2);
      await client.insert({ table: tb, values: [[3n, 'three', 3, 3, new Date('2021-06-01T12:00:00Z'), ['x', 'y'], 255]] });
      const N = 100_000;
      const ids = new BigUint64Array(N);
      const f = new Float64Array(N);
      const i32 = new Int32Array(N);
      const names: string[] = new Array(N);
      const dts: Date[] = new Array(N);
      const tags: string[][] = new Array(N);
      const ns: (number | null)[] = new Array(N);
      for (let i = 0; i < N; i++) {
        ids[i] = BigInt(1000 + i);
        f[i] = i / 4;
        i32[i] = -i;
        names[i] = `n${i}`;
        dts[i] = new Date(Date.UTC(2022, 0, 1) + i * 1000);
        tags[i] = i % 3 ? ['t'] : [];
        ns[i] = i % 2 ? null : i % 256;
      }
      const r2 = await client.insert({ table: tb, columns: { id: ids, name: names, f, i32, dt: dts, tags, n: ns } });
      assert.equal(r2.rows, N);
      assert.deepEqual(await tg!.query(`SELECT id, name, f, i32, toString(dt), tags, n FROM ${tb} WHERE id < 10 ORDER BY id`), [
        ['1', 'one', 1.5, -1, '2020-01-01 00:00:00', ['a'], null],
        ['2', "t'wo", -0.25, 2147483647, '2020-09-13 12:26:40', [], 7],
        ['3', 'three', 3, 3, '2021-06-01 12:00:00', ['x', 'y'], 255],
      ]);
      const [[cnt, sid, sf, si, sdt, ntags, nn]] = (await tg!.query(
        `SELECT count(), sum(id), sum(f), sum(i32), sum(toUInt32(dt)), sum(length(tags)), countIf(isNull(n)) FROM ${tb} WHERE id >= 1000`,
      )) as [[string, string, number, string, string, string, string]];
      assert.equal(cnt, String(N));
      assert.equal(sid, String((1000n * 2n + BigInt(N - 1)) * BigInt(N) / 2n));
      assert.equal(sf, ((N - 1) * N) / 2 / 4);
      assert.equal(si, String(-((N - 1) * N) / 2));
      assert.equal(sdt, String(N * (Date.UTC(2022, 0, 1) / 1000) + ((N - 1) * N) / 2));
      assert.equal(ntags, String(N - Math.ceil(N / 3)));
      assert.equal(nn, String(N / 2));
    });

    test('insert: wrong-typed values are rejected naming column and row; nothing is inserted', async (t) => {
      if (!tg) return t.skip(skipReason);
      const tb = table('bad');
      await tg!.exec(`CREATE TABLE ${tb} (id UInt32, name String, d Date) ENGINE = Memory`);
      const good = { id: 1, name: 'ok', d: '2020-01-01' };
      const cases: [unknown[], RegExp][] = [
        [[good, { id: 'abc', name: 'x', d: '2020-01-01' }], /id/],
        [[good, good, { id: -5, name: 'x', d: '2020-01-01' }], /id/],
        [[good, { id: 2, name: { not: 'a string' }, d: '2020-01-01' }], /name/],
        [[good, good, good, { id: 2, name: null, d: '2020-01-01' }], /name/],
        [[good, { id: 2, name: 'x', d: 'not a date' }], /\bd\b/],
        [[good, { id: 4294967296, name: 'x', d: '2020-01-01' }], /id/],
      ];
      for (const [values, col] of cases) {
        const badRow = values.length - 1;
        await assert.rejects(client.insert({ table: tb, values }), (e: unknown) => {
          assert.ok(e instanceof Error);
          assert.match(e.message, col, e.message);
          assert.match(e.message, new RegExp(`row ${badRow}\\b`), e.message);
          return true;
        });
      }
      // A batch of columns with a bad value, too.
      await assert.rejects(client.insert({ table: tb, columns: { id: [1, 2, 'x'], name: ['a', 'b', 'c'], d: ['2020-01-01', '2020-01-01', '2020-01-01'] } }), /id[\s\S]*row 2|row 2[\s\S]*id/);
      assert.deepEqual(await tg!.query(`SELECT count() FROM ${tb}`), [['0']]);
      // The client still works, and the table takes good rows.
      await client.insert({ table: tb, values: [good] });
      assert.deepEqual(await tg!.query(`SELECT count() FROM ${tb}`), [['1']]);
    });

    test('insert: AsyncIterable with a slow source lands data by time (insert_batch_ms)', async (t) => {
      if (!tg) return t.skip(skipReason);
      const tb = table('slow');
      await tg!.exec(`CREATE TABLE ${tb} (id UInt32, s String) ENGINE = Memory`);
      const c = createClient({ url: url(), insert_batch_ms: 200 });
      // The server squashes inserted blocks up to min_insert_block_size_* before writing; with
      // squashing off, what the client sent is visible at once.
      const noSquash = { min_insert_block_size_rows: 1, min_insert_block_size_bytes: 1 };
      const seenMidway: number[] = [];
      async function* slow() {
        for (let i = 0; i < 12; i++) {
          yield { id: i, s: `r${i}` };
          await sleep(100);
          if (i === 8) seenMidway.push(Number((await tg!.query(`SELECT count() FROM ${tb}`))[0]![0]));
        }
      }
      try {
        const r = await c.insert({ table: tb, values: slow(), clickhouse_settings: noSquash });
        assert.equal(r.rows, 12);
      } finally {
        await c.close();
      }
      assert.ok(seenMidway[0]! >= 4, `rows visible while the source was still producing: ${seenMidway[0]}`);
      assert.deepEqual(await tg!.query(`SELECT count(), sum(id) FROM ${tb}`), [['12', '66']]);
    });

    test('insert: raw Native bytes made by the server are inserted as they are', async (t) => {
      if (!tg) return t.skip(skipReason);
      const tb = table('native');
      await tg!.exec(`CREATE TABLE ${tb} (id UInt64, s String, a Array(Nullable(Int8))) ENGINE = Memory`);
      const sql = "SELECT number AS id, concat('v', toString(number)) AS s, [toInt8(number % 100), NULL] AS a FROM numbers(50000) SETTINGS max_block_size = 20000";
      const bytes = await clickhouseClient(tg, `${sql} FORMAT Native`);
      assert.ok(bytes.length > 500_000);
      const r = await client.insert({ table: tb, native: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) });
      assert.equal(r.rows, 50000);
      const tsv = async (q: string) => (await clickhouseClient(tg!, `${q} FORMAT TSV`)).toString();
      const expected = await tsv(`SELECT * FROM (${sql.replace(/ SETTINGS.*/, '')}) ORDER BY id`);
      assert.equal(expected.split('\n').length, 50001);
      assert.equal(await tsv(`SELECT * FROM ${tb} ORDER BY id`), expected);
      // An iterable of several Native buffers (each holding whole blocks) too.
      const one = await clickhouseClient(tg, 'SELECT toUInt64(7) AS id, \'x\' AS s, [NULL, toInt8(-1)] AS a FORMAT Native');
      await client.insert({ table: tb, native: [one, one, one] });
      assert.deepEqual(await tg!.query(`SELECT count(), toString(groupArray(a)) FROM ${tb} WHERE id = 7 AND s = 'x'`), [['3', '[[NULL,-1],[NULL,-1],[NULL,-1]]']]);
    });

    test('50 concurrent queries on max_open_connections = 10', async (t) => {
      if (!tg) return t.skip(skipReason);
      const c = createClient({ url: url(), max_open_connections: 10 });
      try {
        const started = Date.now();
        const results = await Promise.all(
          Array.from({ length: 50 }, async (_, i) => {
            const qid = `chwire-conc-${uniq}-${i}`;
            const rs = await c.query({ query: tg!.probe(qid, `${i} AS i, sleep(0.2) AS z`), query_id: qid });
            const r = await rs.json<{ i: number; port: number }>();
            return Promise.all(r.map(async (x) => ({ ...x, port: await tg!.portOf(qid, x.port) })));
          }),
        );
        const elapsed = Date.now() - started;
        const ports = new Set<number>();
        results.forEach((r, i) => {
          assert.equal(r.length, 1);
          assert.equal(r[0]!.i, i);
          ports.add(r[0]!.port);
        });
        assert.ok(ports.size <= 10, `${ports.size} connections used`);
        assert.ok(ports.size >= 5, `${ports.size} connections used`);
        assert.ok(elapsed >= 1000, `50 × 0.2 s on ≤ 10 connections cannot take ${elapsed} ms`);
        assert.ok(elapsed < 8000, `${elapsed} ms`);
      } finally {
        await c.close();
      }
    });

    test('a request waits for a free connection (request_timeout bounds the wait)', async (t) => {
      if (!tg) return t.skip(skipReason);
      const c = createClient({ url: url(), max_open_connections: 1, request_timeout: 2000 });
      try {
        const qa = `chwire-wait-a-${uniq}`;
        const qb = `chwire-wait-b-${uniq}`;
        const first = c.query({ query: tg.probe(qa, 'sleep(0.5)'), query_id: qa }).then(async (r) => (await r.json<{ port: number }>()).map((x) => x.port));
        const t0 = Date.now();
        const second = (await (await c.query({ query: tg.probe(qb), query_id: qb })).json<{ port: number }>()).map((x) => x.port);
        assert.ok(Date.now() - t0 >= 400, 'the second query waited for the first');
        assert.equal(await tg.portOf(qb, second[0]), await tg.portOf(qa, (await first)[0]), 'the same connection');
        // The holder keeps the only connection longer than request_timeout: the waiter times out.
        const c2 = createClient({ url: url(), max_open_connections: 1, request_timeout: 300 });
        try {
          const rs = await c2.query({ query: 'SELECT number FROM system.numbers' });
          const it = rs[Symbol.asyncIterator]();
          await it.next();
          await assert.rejects(c2.query({ query: 'SELECT 1' }), (e: unknown) => (e as { code?: string }).code === 'CHWIRE_TIMEOUT');
          await it.return?.();
          assert.deepEqual(await (await c2.query({ query: 'SELECT 1 AS x' })).json(), [{ x: 1 }]);
        } finally {
          await c2.close();
        }
      } finally {
        await c.close();
      }
    });

    test('abort: AbortError within 1 s (even while the server sleeps), then the connection is reused', async (t) => {
      if (!tg) return t.skip(skipReason);
      const c = createClient({ url: url(), max_open_connections: 1 });
      try {
        // Before any packet: the server is inside sleep(3).
        const qid = `chwire-abort-sleep-${uniq}`;
        const ac = new AbortController();
        const p = c.query({ query: tg.probe(qid, 'sleep(3)'), query_id: qid, abort_signal: ac.signal }).then((r) => r.json());
        await sleep(300);
        const port = await tg.portOf(qid);
        const t0 = Date.now();
        ac.abort();
        await assert.rejects(p, (e: unknown) => e instanceof Error && (e as { code?: string }).code === 'CHWIRE_ABORTED' && e.name !== 'ClickHouseError');
        assert.ok(Date.now() - t0 < 1000, `AbortError after ${Date.now() - t0} ms`);
        const q2 = `chwire-abort-next-${uniq}`;
        const r = await (await c.query({ query: tg.probe(q2), query_id: q2 })).json<{ port: number }>();
        assert.equal(await tg.portOf(q2, r[0]!.port), port, 'the aborted query’s connection served the next one');
        // An already-aborted signal rejects at once.
        await assert.rejects(c.query({ query: 'SELECT 1', abort_signal: AbortSignal.abort() }), (e: unknown) => (e as { code?: string }).code === 'CHWIRE_ABORTED');
        // Abort while waiting for a free connection.
        const hold = await c.query({ query: 'SELECT number FROM system.numbers' });
        const it = hold[Symbol.asyncIterator]();
        await it.next();
        const ac2 = new AbortController();
        const waiting = c.query({ query: 'SELECT 1', abort_signal: ac2.signal });
        setTimeout(() => ac2.abort(), 100);
        await assert.rejects(waiting, (e: unknown) => (e as { code?: string }).code === 'CHWIRE_ABORTED');
        await it.return?.();
      } finally {
        await c.close();
      }
    });

    test('request_timeout: a slow consumer is not timed out; a silent server is', async (t) => {
      if (!tg) return t.skip(skipReason);
      const c = createClient({ url: url(), request_timeout: 300 });
      try {
        let rows = 0;
        let blocks = 0;
        for await (const b of await c.query({ query: 'SELECT number FROM numbers(2000000)', clickhouse_settings: { max_block_size: 20000 } })) {
          rows += b.rowCount;
          if (++blocks % 10 === 0) await sleep(400); // longer than request_timeout, while the socket is paused
        }
        assert.equal(rows, 2_000_000);
        const t0 = Date.now();
        await assert.rejects(c.query({ query: 'SELECT sleep(2)' }).then((r) => r.json()), (e: unknown) => (e as { code?: string }).code === 'CHWIRE_TIMEOUT');
        assert.ok(Date.now() - t0 < 1500, `TimeoutError after ${Date.now() - t0} ms`);
      } finally {
        await c.close();
      }
    });

    test('idle_socket_ttl closes idle connections', async (t) => {
      if (!tg) return t.skip(skipReason);
      const c = createClient({ url: url(), max_open_connections: 1, idle_socket_ttl: 200 });
      try {
        const q = async (n: number) => {
          const qid = `chwire-ttl-${uniq}-${n}`;
          return tg!.portOf(qid, (await (await c.query({ query: tg!.probe(qid), query_id: qid })).json<{ port: number }>())[0]!.port);
        };
        const p1 = await q(1);
        assert.equal(await q(2), p1, 'reused while fresh');
        await sleep(1500);
        assert.notEqual(await q(3), p1, 'a new connection after the idle TTL');
      } finally {
        await c.close();
      }
    });

    test(`wrong password: ClickHouseError ${authCode}, and the password appears nowhere`, async (t) => {
      if (!tg) return t.skip(skipReason);
      const password = `S3cr3t-${uniq}-pw`;
      for (const opts of [
        { url: `clickhouse://${tg.secured.user}:${password}@${tg.host}:${tg.port}` },
        { host: tg.host, port: tg.port, username: tg.secured.user, password },
      ]) {
        const c = createClient(opts);
        try {
          const e = await c.query({ query: 'SELECT 1' }).then(
            () => undefined,
            (x: unknown) => x,
          );
          assert.ok(e instanceof ClickHouseError, String(e));
          assert.equal(e.code, tg.authErrorCode);
          const text = [e.message, e.stack, String(e), JSON.stringify(e), e.serverStackTrace, JSON.stringify(c.endpoints.map(({ password: _p, ...rest }) => rest))].join('\n');
          assert.ok(!text.includes(password), 'the password leaked into the error');
        } finally {
          await c.close();
        }
      }
      // Not in a refused-connection error either.
      const c = createClient({ url: `clickhouse://u:${password}@127.0.0.1:1` });
      const e = await c.ping().then(
        () => undefined,
        (x: unknown) => x as Error,
      );
      assert.ok(e instanceof Error);
      assert.ok(![e.message, e.stack, String(e)].join('\n').includes(password));
      await c.close();
      // And not in a bad URL error.
      assert.throws(() => createClient({ url: `clickhouse://u:${password}@[bad` }), (x: unknown) => x instanceof Error && !x.message.includes(password));
    });

    test('application shows up as client_name in system.processes', async (t) => {
      if (!tg) return t.skip(skipReason);
      const c = createClient({ url: url(), application: 'my-app/1.2.3' });
      try {
        const qid = `chwire-app-${uniq}`;
        const r = await tg.clientInfo(c, qid);
        assert.equal(r.length, 1);
        assert.match(r[0]!.client_name, /^my-app\/1\.2\.3 chwire\/\d+\.\d+\.\d+$/);
        assert.deepEqual({ ...r[0], client_name: undefined }, { client_name: undefined, interface: 1, has_os_user: 1 });
        const plain = await tg.clientInfo(client, `chwire-app2-${uniq}`);
        assert.match(plain[0]!.client_name, /^chwire\/\d+\.\d+\.\d+$/);
      } finally {
        await c.close();
      }
    });

    test('close(): later calls reject with CHWIRE_CLIENT_CLOSED; close is idempotent', async (t) => {
      if (!tg) return t.skip(skipReason);
      const c = createClient({ url: url() });
      assert.equal(await c.ping(), true);
      await c.close();
      await c.close();
      await assert.rejects(c.query({ query: 'SELECT 1' }), (e: unknown) => (e as { code?: string }).code === 'CHWIRE_CLIENT_CLOSED');
      await assert.rejects(c.insert({ table: 'x', values: [{ a: 1 }] }), (e: unknown) => (e as { code?: string }).code === 'CHWIRE_CLIENT_CLOSED');
    });

    test('no unhandled rejections in this file', async () => {
      await sleep(50);
      process.off('unhandledRejection', onUnhandled);
      assert.deepEqual(unhandled, []);
    });
  });
}
