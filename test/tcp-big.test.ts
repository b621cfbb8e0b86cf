// The big cases against the real 18.16 server: a 100M-row columnar stream (count and sum), a slow
// consumer of a large result in bounded memory (backpressure), and 10M rows inserted from an
// AsyncIterable in flat memory.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '../src/index.js';
import { serverExec, serverQuery, testServer, type ServerInfo } from './helpers/server.js';
import { watchLeaks } from './helpers/unhandled.js';

const leaks = watchLeaks();

const MB = 1 << 20;
const uniq = `${process.pid}_${Date.now() % 1e6}`;
const gc = (globalThis as { gc?: () => void }).gc;

/** Samples RSS every 50 ms; `peak - base` is the growth. */
function rssMonitor() {
  gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().rss);
      return { base, peak, growth: peak - base };
    },
  };
}

describe('big results and inserts against ClickHouse 18.16', { concurrency: false }, () => {
  let srv: ServerInfo | null = null;
  const url = () => `clickhouse://${srv!.host}:${srv!.tcpPort}`;
  const tb = `default.chwire_big_${uniq}`;
  before(async () => {
    srv = await testServer();
  });
  after(async () => {
    if (srv) await serverExec(`DROP TABLE IF EXISTS ${tb}`);
  });

  test('100M-row stream, columnar: count and sum exact', { timeout: 120_000 }, async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const c = createClient({ url: url() });
    try {
      const mon = rssMonitor();
      let count = 0;
      let sum = 0; // < 2^53 for 0..1e8-1, so exact in a double
      let blocks = 0;
      for await (const b of await c.query({ query: 'SELECT number FROM system.numbers LIMIT 100000000' })) {
        const col = b.columns[0]!.toArray() as BigUint64Array;
        assert.ok(col instanceof BigUint64Array);
        // Read the 64-bit values as (lo, hi) 32-bit halves: no BigInt arithmetic per row.
        const w = new Uint32Array(col.buffer, col.byteOffset, col.length * 2);
        for (let i = 0; i < w.length; i += 2) sum += w[i]! + w[i + 1]! * 4294967296;
        count += b.rowCount;
        blocks++;
      }
      const m = mon.stop();
      assert.equal(count, 100_000_000);
      assert.equal(sum, 4999999950000000);
      assert.ok(blocks >= 100_000_000 / 65536, `${blocks} blocks`);
      // 800 MB went by; memory stays flat.
      assert.ok(m.growth < 300 * MB, `RSS grew by ${Math.round(m.growth / MB)} MB`);
    } finally {
      await c.close();
    }
  });

  test('backpressure: a slow consumer of a large result keeps RSS bounded', { timeout: 120_000 }, async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const c = createClient({ url: url() });
    try {
      // ≈ 12M rows × (8 + 65) bytes ≈ 870 MB of column data, read slowly.
      const sql = `SELECT number, concat(toString(number), '${'x'.repeat(56)}') AS s FROM system.numbers LIMIT 12000000`;
      const mon = rssMonitor();
      let rows = 0;
      let bytes = 0;
      const started = Date.now();
      const qid = `chwire-bp-${uniq}`;
      let serverMidway: string[] | undefined;
      for await (const b of await c.query({ query: sql, query_id: qid })) {
        rows += b.rowCount;
        const s = b.columns[1]!.toArray() as string[];
        bytes += b.rowCount * (8 + 1 + s[0]!.length);
        await new Promise((r) => setTimeout(r, 8)); // slower than the server and the network
        if (!serverMidway && rows >= 6_000_000) serverMidway = (await serverQuery(`SELECT read_rows FROM system.processes WHERE query_id = '${qid}'`))[0] as string[] | undefined;
      }
      const m = mon.stop();
      assert.equal(rows, 12_000_000);
      assert.ok(bytes > 800 * MB, `${Math.round(bytes / MB)} MB streamed`);
      assert.ok(Date.now() - started > 1000, 'the consumer was the bottleneck');
      // Halfway through, the server is still running the query, held back by the paused socket
      // (it could produce all 12M rows in well under a second).
      assert.ok(serverMidway, 'the query was still running on the server halfway through');
      assert.ok(Number(serverMidway[0]) < 12_000_000, `server had read ${serverMidway[0]} rows`);
      // Loose: garbage collection decides the exact figure; without backpressure the decoded
      // result (> 1 GB of JS strings) would be held.
      assert.ok(m.growth < 400 * MB, `RSS grew by ${Math.round(m.growth / MB)} MB while ${Math.round(bytes / MB)} MB went through`);
    } finally {
      await c.close();
    }
  });

  test('10M rows from an AsyncIterable, in flat memory', { timeout: 180_000 }, async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    await serverExec(`CREATE TABLE ${tb} (id UInt64, s String, f Float64) ENGINE = Null`);
    // A Null table keeps the server's memory out of it; a materialized view sums what arrives.
    await serverExec(`CREATE MATERIALIZED VIEW ${tb}_mv ENGINE = SummingMergeTree ORDER BY tuple() AS SELECT count() AS n, sum(id) AS ids, sum(f) AS fs FROM ${tb}`);
    const c = createClient({ url: url(), compression: 'lz4' });
    const N = 10_000_000;
    async function* rows() {
      for (let i = 0; i < N; i++) {
        yield { id: i, s: 'row', f: i % 7 };
        if ((i & 0xffff) === 0) await Promise.resolve();
      }
    }
    try {
      const mon = rssMonitor();
      const r = await c.insert({ table: tb, values: rows() });
      const m = mon.stop();
      assert.equal(r.rows, N);
      const [[n, ids, fs]] = (await serverQuery(`SELECT sum(n), sum(ids), sum(fs) FROM ${tb}_mv`)) as [[string, string, number]];
      assert.equal(n, String(N));
      assert.equal(ids, String((N * (N - 1)) / 2));
      let f = 0;
      for (let i = 0; i < N; i++) f += i % 7;
      assert.equal(fs, f);
      // 10M row objects held at once would take well over 1 GB.
      assert.ok(m.growth < 300 * MB, `RSS grew by ${Math.round(m.growth / MB)} MB`);
    } finally {
      await c.close();
      await serverExec(`DROP TABLE IF EXISTS ${tb}_mv`);
    }
  });

  test('no unhandled rejections in this file', () => leaks.assertNone(50));
});
