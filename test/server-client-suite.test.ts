// Issue 10: chwire's own client at the newest revision against `chwire serve` — the whole client
// suite that runs against ClickHouse 18.16 (test/tcp-client.test.ts, scenarios in
// helpers/client-scenarios.ts). Server-specific: which connection served a query and its client
// info come from the server's query log (onQuery) instead of system.processes; a wrong password is
// 516 AUTHENTICATION_FAILED (18.16: 193); the password user is not read-only.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ChwireServer, type QueryLogEntry } from '../src/server/index.js';
import { createClient, type ClickHouseClient } from '../src/index.js';
import { clientScenarios, type ClientTarget } from './helpers/client-scenarios.js';
import { hasEngine } from './helpers/engine.js';

let server: ChwireServer | undefined;
let oob: ClickHouseClient | undefined;

/** Values as ClickHouse's JSONCompact prints them (64-bit integers quoted). */
const jsonCompact = (v: unknown): unknown => (typeof v === 'bigint' ? String(v) : Array.isArray(v) ? v.map(jsonCompact) : v);

clientScenarios(
  'client API against chwire serve (newest revision)',
  async () => {
    if (!(await hasEngine())) return null;
    const log = new Map<string, QueryLogEntry>();
    const secured = { user: 'alice', password: 'pa$$ w0rd', readonly: false };
    server = createServer({ port: 0, users: [{ name: 'default', password: '' }, { name: secured.user, password: secured.password }], onQuery: (e) => log.set(e.queryId, e) });
    const { host, port } = await server.listen();
    const url = `clickhouse://${host}:${port}`;
    const c = createClient({ url, rows: 'array' });
    oob = c;
    const entry = async (qid: string): Promise<QueryLogEntry> => {
      for (let i = 0; i < 100 && !log.has(qid); i++) await new Promise((r) => setTimeout(r, 10));
      const e = log.get(qid);
      if (!e) throw new Error(`query ${qid} never reached the server`);
      return e;
    };
    const target: ClientTarget = {
      host,
      port,
      url,
      secured,
      authErrorCode: 516,
      exec: (sql) => c.command({ query: sql }),
      query: async (sql) => ((await (await c.query({ query: sql })).json()) as unknown[][]).map((r) => r.map(jsonCompact)),
      probe: (_qid, cols) => `SELECT toUInt16(0) AS port${cols ? `, ${cols}` : ''}`,
      portOf: async (qid) => (await entry(qid)).remotePort,
      who: async (client, qid) => {
        const rows = await (await client.query({ query: 'SELECT currentDatabase() AS db', query_id: qid })).json<{ db: string }>();
        const e = await entry(qid);
        return rows.map((r) => ({ db: r.db, u: e.user }));
      },
      clientInfo: async (client, qid) => {
        await (await client.query({ query: 'SELECT 1', query_id: qid })).json();
        const e = await entry(qid);
        return [{ client_name: e.clientName, interface: e.interface, has_os_user: e.osUser !== '' ? 1 : 0 }];
      },
      // chDB reports no written rows for a statement run whole (INSERT … SELECT): 0, where a
      // ClickHouse server would say n. (INSERTs with client data do report theirs.)
      commandWrittenRows: () => 0,
      commandWrittenRowsNote: 'chwire serve cannot learn the rows an INSERT … SELECT wrote from the engine',
    };
    return target;
  },
  async () => {
    await oob?.close();
    await server?.close();
  },
  'chdb is not installed',
  516,
);

describe('chwire serve: Progress while streaming, Cancel, streamed parameters', { concurrency: false }, () => {
  let s: ChwireServer | undefined;
  let url = '';
  before(async () => {
    if (!(await hasEngine())) return;
    s = createServer({ port: 0 });
    url = `clickhouse://127.0.0.1:${(await s.listen()).port}`;
  });
  after(async () => {
    await s?.close();
  });

  test('Progress arrives block by block while the query runs, not only at the end', async (t) => {
    if (!s) return t.skip('chdb is not installed');
    const c = createClient({ url });
    try {
      let progressRows = 0;
      let progressEvents = 0;
      const seen: number[] = [];
      const rs = await c.query({ query: 'SELECT number FROM numbers(100000)', clickhouse_settings: { max_block_size: 10000 }, on_progress: (p) => ((progressRows += p.rows), progressEvents++) });
      let rows = 0;
      for await (const b of rs) {
        rows += b.rowCount;
        seen.push(progressRows);
      }
      assert.equal(rows, 100000);
      assert.equal(seen.length, 10);
      // Each block's Progress came before the block itself.
      assert.deepEqual(seen, Array.from({ length: 10 }, (_, i) => (i + 1) * 10000));
      assert.ok(progressEvents >= 10);
      assert.equal(rs.summary.progress.rows, 100000);
      assert.ok(rs.summary.progress.bytes > 800000);
    } finally {
      await c.close();
    }
  });

  test('Cancel: an endless query aborted by the client stops on the server; the connection is reused at once', async (t) => {
    if (!s) return t.skip('chdb is not installed');
    const c = createClient({ url, max_open_connections: 1 });
    try {
      for (let round = 0; round < 3; round++) {
        const ac = new AbortController();
        const rs = await c.query({ query: 'SELECT number FROM system.numbers', abort_signal: ac.signal, clickhouse_settings: { max_block_size: 1000 } });
        const it = rs[Symbol.asyncIterator]();
        assert.equal((await it.next()).done, false);
        const t0 = Date.now();
        ac.abort();
        await assert.rejects(it.next(), (e: unknown) => (e as { code?: string }).code === 'CHWIRE_ABORTED');
        // The same (only) connection and the same engine session: answered only if the endless query stopped.
        assert.deepEqual(await (await c.query({ query: 'SELECT 1 AS x' })).json(), [{ x: 1 }]);
        assert.ok(Date.now() - t0 < 1000, `reused after ${Date.now() - t0} ms`);
      }
      assert.equal(s.connections, 1);
    } finally {
      await c.close();
    }
  });

  test('a query with parameters streams block by block, the parameter text bound exactly', async (t) => {
    if (!s) return t.skip('chdb is not installed');
    const c = createClient({ url });
    try {
      const v = "a'b\\c\td\n\\N";
      const rs = await c.query({ query: 'SELECT number AS n, {v:String} AS v, {k:UInt64} AS k FROM numbers(50000)', query_params: { v, k: 7 }, clickhouse_settings: { max_block_size: 10000 } });
      const sizes: number[] = [];
      for await (const b of rs) {
        sizes.push(b.rowCount);
        assert.equal(b.columns[1]!.get(0), v);
        assert.equal(b.columns[2]!.get(b.rowCount - 1), 7n);
      }
      assert.deepEqual(sizes, [10000, 10000, 10000, 10000, 10000]);
      // Aborting a parameterized stream releases the engine's parameter lock.
      const ac = new AbortController();
      const r2 = await c.query({ query: 'SELECT {v:String} AS v FROM system.numbers', query_params: { v }, abort_signal: ac.signal, clickhouse_settings: { max_block_size: 1000 } });
      const it = r2[Symbol.asyncIterator]();
      await it.next();
      ac.abort();
      await assert.rejects(it.next());
      assert.deepEqual(await (await c.query({ query: 'SELECT {a:Int32} AS a', query_params: { a: -5 } })).json(), [{ a: -5 }]);
    } finally {
      await c.close();
    }
  });
});
