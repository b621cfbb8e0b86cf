// Issue 10: other clients against `chwire serve` — chwire's own client at the newest revision
// (modern types, LZ4/ZSTD/none, INSERT, server-side parameters, exceptions, auth, TLS, concurrency,
// connection limit, shutdown), the sans-IO Connection for protocol details (chunked framing,
// ProfileEvents, revision negotiation, Ping, TablesStatus, sparse via the debug switch), Debian's
// clickhouse-client 18.16 (revision 54412) and Python's clickhouse-driver.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type ChwireServer, type ServerOptions } from '../src/server/index.js';
import { createClient, ClickHouseError } from '../src/index.js';
import { Connection, type ConnectionEvent } from '../src/core/connection/connection.js';
import { createNodeCodecs } from '../src/transport/compression.js';
import { hasEngine } from './helpers/engine.js';

/** Drive the sans-IO client Connection over a socket; returns every event until the request ends. */
async function rawSession(
  port: number,
  opts: Partial<ConstructorParameters<typeof Connection>[0]>,
  steps: ((c: Connection) => void)[],
  onRaw?: (b: Buffer) => void,
  onInsertHeader?: (c: Connection) => void,
): Promise<ConnectionEvent[][]> {
  const conn = new Connection({ clientName: 'server-test', ...opts });
  const sock = net.connect(port, '127.0.0.1');
  const results: ConnectionEvent[][] = [];
  let current: ConnectionEvent[] = [];
  let step = 0;
  return new Promise((resolve, reject) => {
    const flush = (): void => {
      for (const b of conn.takeOutput()) sock.write(b);
    };
    const next = (): void => {
      if (step >= steps.length) {
        sock.destroy();
        resolve(results);
        return;
      }
      steps[step++]!(conn);
      flush();
    };
    sock.on('error', reject);
    sock.on('close', () => resolve(results));
    sock.on('data', (b) => {
      onRaw?.(b);
      let evs: ConnectionEvent[];
      try {
        evs = conn.receive(b);
      } catch (e) {
        sock.destroy();
        reject(e);
        return;
      }
      for (const e of evs) {
        current.push(e);
        if (['hello', 'endOfStream', 'exception', 'pong', 'tablesStatus'].includes(e.type)) {
          results.push(current);
          current = [];
          next();
        } else if (e.type === 'insertHeader') onInsertHeader?.(conn);
      }
      flush();
    });
    flush();
  });
}

function rowsOf(events: ConnectionEvent[]): unknown[][] {
  const out: unknown[][] = [];
  for (const e of events) if (e.type === 'data') for (let i = 0; i < e.block.rowCount; i++) out.push(e.block.columns.map((c) => c.get(i)));
  return out;
}

describe('chwire serve against chwire, clickhouse-client 18.16 and clickhouse-driver', { concurrency: false }, () => {
  let server: ChwireServer | undefined;
  let port = 0;
  const url = (): string => `clickhouse://127.0.0.1:${port}`;

  before(async () => {
    if (!(await hasEngine())) return;
    server = createServer({ port: 0, users: [{ name: 'default', password: '' }, { name: 'alice', password: 's3cret' }], sparseColumns: ['sp'] });
    port = (await server.listen()).port;
  });
  after(async () => {
    await server?.close();
  });

  test('chwire client: modern types at the newest revision, LZ4 / ZSTD / none', async (t) => {
    if (!server) return t.skip('chdb is not installed');
    for (const compression of ['none', 'lz4', 'zstd'] as const) {
      const c = createClient({ url: url(), compression });
      try {
        const rs = await c.query({
          query: `SELECT CAST(42::UInt64, 'Variant(String, UInt64)') v, CAST('x', 'Dynamic') dyn, CAST('{"a": {"b": 1}}', 'JSON') j,
                         map('k', 1) m, toDateTime64('2024-05-06 07:08:09.123', 3, 'UTC') dt, toIPv6('2001:db8::1') ip,
                         number n FROM numbers(3)`,
        });
        const rows = (await rs.json()) as Record<string, unknown>[];
        assert.equal(rows.length, 3, compression);
        assert.equal(rows[2]!.n, 2n);
        assert.equal(rows[0]!.v, 42n);
        assert.equal(rows[0]!.dyn, 'x');
        assert.equal(rows[0]!.ip, '2001:db8::1');
        assert.deepEqual(rows[0]!.m, new Map([['k', 1]]));
        assert.ok(JSON.stringify(rows[0]!.j, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)).includes('"b":1'));
        const big = await c.query({ query: 'SELECT number, toString(number) s FROM numbers(300000)' });
        let count = 0;
        for await (const b of big) count += b.rowCount;
        assert.equal(count, 300000);
      } finally {
        await c.close();
      }
    }
  });

  test('chwire client: DDL, INSERT, read back, server-side parameters, exceptions', async (t) => {
    if (!server) return t.skip('chdb is not installed');
    const c = createClient({ url: url(), compression: 'lz4' });
    try {
      await c.command({ query: 'DROP TABLE IF EXISTS ct' });
      await c.command({ query: "CREATE TABLE ct (id UInt32, name String, at DateTime64(3, 'UTC'), tags Array(String)) ENGINE = MergeTree ORDER BY id" });
      await c.insert({ table: 'ct', values: [{ id: 1, name: "it's", at: '2024-01-01 00:00:00.500', tags: ['a'] }, { id: 2, name: 'b\tc', at: '2024-01-02 00:00:00.000', tags: [] }] });
      const rows = (await (await c.query({ query: 'SELECT id, name, tags FROM ct WHERE name = {n:String} ORDER BY id', query_params: { n: "it's" } })).json()) as Record<string, unknown>[];
      assert.deepEqual(rows, [{ id: 1, name: "it's", tags: ['a'] }]);
      const r2 = (await (await c.query({ query: 'SELECT {a:Array(String)} a, {d:DateTime64(3)} d', query_params: { a: ["x'y", 'z\\'], d: '2024-01-02 03:04:05.678' } })).json()) as Record<string, unknown>[];
      assert.deepEqual(r2[0]!.a, ["x'y", 'z\\']);
      // A failing insert block is an exception; nothing of it is committed; the connection stays usable.
      await assert.rejects(c.insert({ table: 'ct', values: [{ id: 3, name: 'x', at: 'not a date', tags: [] }] }));
      const n = (await (await c.query({ query: 'SELECT count() c FROM ct' })).json()) as { c: bigint }[];
      assert.equal(n[0]!.c, 2n);
      await assert.rejects(c.query({ query: 'SELECT * FROM no_such_table' }).then((r) => r.json()), (e: unknown) => {
        assert.ok(e instanceof ClickHouseError);
        assert.equal(e.code, 60);
        assert.match(e.message, /no_such_table/);
        return true;
      });
      await assert.rejects(c.query({ query: "SELECT throwIf(1, 'boom')" }).then((r) => r.json()), (e: unknown) => e instanceof ClickHouseError && e.code === 395);
      // Settings from the query reach the engine.
      const s = (await (await c.query({ query: "SELECT getSetting('max_threads') t", clickhouse_settings: { max_threads: 3 } })).json()) as { t: unknown }[];
      assert.equal(String(s[0]!.t), '3');
      const s2 = (await (await c.query({ query: "SELECT getSetting('max_threads') = getSetting('max_threads') t, getSetting('max_block_size') b" })).json()) as { b: unknown }[];
      assert.notEqual(String(s2[0]!.b), '');
    } finally {
      await c.close();
    }
  });

  test('users: wrong password → 516 AUTHENTICATION_FAILED; a right one works; unknown database → 81', async (t) => {
    if (!server) return t.skip('chdb is not installed');
    // On the wire: the Hello is answered with Exception 516, then the server closes (as ClickHouse does).
    const [ex] = await rawSession(port, { user: 'alice', password: 'nope' }, []);
    const e516 = ex![0] as Extract<ConnectionEvent, { type: 'exception' }>;
    assert.equal(e516.type, 'exception');
    assert.equal(e516.exception.code, 516);
    assert.match(e516.exception.message, /AUTHENTICATION_FAILED/);
    const bad = createClient({ url: url(), username: 'alice', password: 'nope' });
    await assert.rejects(bad.query({ query: 'SELECT 1' }).then((r) => r.json()));
    await bad.close();
    const good = createClient({ url: url(), username: 'alice', password: 's3cret' });
    assert.deepEqual(await (await good.query({ query: 'SELECT 1 x' })).json(), [{ x: 1 }]);
    await good.close();
    const [ex81] = await rawSession(port, { database: 'nope_db' }, []);
    assert.equal((ex81![0] as Extract<ConnectionEvent, { type: 'exception' }>).exception.code, 81);
  });

  test('many concurrent connections; queued engine work', async (t) => {
    if (!server) return t.skip('chdb is not installed');
    const clients = Array.from({ length: 12 }, () => createClient({ url: url() }));
    try {
      const res = await Promise.all(clients.map(async (c, i) => (await (await c.query({ query: `SELECT sum(number) s FROM numbers(${1000 * (i + 1)})` })).json()) as { s: bigint }[]));
      res.forEach((r, i) => {
        const n = BigInt(1000 * (i + 1));
        assert.equal(r[0]!.s, (n * (n - 1n)) / 2n);
      });
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  test('protocol: Hello at the newest revision, Ping, TablesStatus, ProfileEvents, Progress, ProfileInfo', async (t) => {
    if (!server) return t.skip('chdb is not installed');
    const [hello, pong, status, q] = await rawSession(port, {}, [
      (c) => c.ping(),
      (c) => c.tablesStatus([{ database: 'system', table: 'one' }, { database: 'default', table: 'missing' }]),
      (c) => c.query({ query: 'SELECT number FROM numbers(10)' }),
    ]);
    const h = hello![0] as Extract<ConnectionEvent, { type: 'hello' }>;
    assert.equal(h.revision, 54491);
    assert.equal(h.hello.serverName, 'ClickHouse');
    assert.equal(h.hello.versionMajor, 26);
    assert.equal(h.hello.displayName, 'chwire');
    assert.equal(pong![0]!.type, 'pong');
    const st = status![0] as Extract<ConnectionEvent, { type: 'tablesStatus' }>;
    assert.deepEqual(st.tables.map((x) => x.table), ['one']);
    const types = q!.map((e) => e.type);
    assert.ok(types.includes('progress') && types.includes('profileInfo') && types.includes('profileEvents'), types.join());
    assert.deepEqual(rowsOf(q!).map((r) => r[0]), Array.from({ length: 10 }, (_, i) => BigInt(i)));
    const pe = q!.find((e) => e.type === 'profileEvents') as Extract<ConnectionEvent, { type: 'profileEvents' }>;
    assert.deepEqual(pe.block.columns.map((c) => c.name), ['host_name', 'current_time', 'thread_id', 'type', 'name', 'value']);
  });

  test('protocol: negotiating down (revision 54412 and 54460 clients)', async (t) => {
    if (!server) return t.skip('chdb is not installed');
    for (const revision of [54412, 54460]) {
      const [hello, q] = await rawSession(port, { revision }, [(c) => c.query({ query: "SELECT toLowCardinality('a') lc, [1, 2] a, 'x' s" })]);
      assert.equal((hello![0] as Extract<ConnectionEvent, { type: 'hello' }>).revision, revision);
      assert.deepEqual(rowsOf(q!), [['a', [1, 2], 'x']]);
    }
  });

  test('protocol: compressed INSERT through the sans-IO client (ZSTD both ways)', async (t) => {
    if (!server) return t.skip('chdb is not installed');
    const codecs = await createNodeCodecs();
    const onHeader = (c: Connection): void => {
      c.sendBlock({ columns: [{ name: 'x', type: 'UInt64', values: [1n, 2n, 3n] }, { name: 's', type: 'String', values: ['a', 'b', 'c'] }] });
      c.endInsert();
    };
    const [, , ins, q] = await rawSession(
      port,
      { compression: 'zstd', codecs },
      [
        (c) => c.query({ query: 'CREATE TABLE IF NOT EXISTS zt (x UInt64, s String) ENGINE = Memory' }),
        (c) => c.startInsert({ query: 'INSERT INTO zt (x, s) VALUES' }),
        (c) => c.query({ query: 'SELECT x, s FROM zt ORDER BY x' }),
      ],
      undefined,
      onHeader,
    );
    const header = ins!.find((e) => e.type === 'insertHeader') as Extract<ConnectionEvent, { type: 'insertHeader' }>;
    assert.deepEqual(header.block.columns.map((c) => [c.name, c.type]), [['x', 'UInt64'], ['s', 'String']]);
    assert.equal(ins![ins!.length - 1]!.type, 'endOfStream');
    assert.deepEqual(rowsOf(q!), [[1n, 'a'], [2n, 'b'], [3n, 'c']]);
  });

  test('chunked framing when the server insists (both directions)', async (t) => {
    if (!server) return t.skip('chdb is not installed');
    const s2 = createServer({ port: 0, chunkedSend: 'chunked', chunkedRecv: 'chunked' });
    const p2 = (await s2.listen()).port;
    try {
      const raw: Buffer[] = [];
      const [hello, q] = await rawSession(p2, {}, [(c) => c.query({ query: 'SELECT number n, toString(number) s FROM numbers(1000)' })], (b) => raw.push(b));
      assert.equal((hello![0] as Extract<ConnectionEvent, { type: 'hello' }>).hello.chunkedSend, 'chunked');
      assert.equal(rowsOf(q!).length, 1000);
      const c = createClient({ url: `clickhouse://127.0.0.1:${p2}`, compression: 'lz4' });
      assert.deepEqual(await (await c.query({ query: 'SELECT 7 x' })).json(), [{ x: 7 }]);
      await c.close();
    } finally {
      await s2.close();
    }
  });

  test('sparse columns via the debug switch (chwire decodes what ClickHouse 26.7 reads)', async (t) => {
    if (!server) return t.skip('chdb is not installed');
    const [, q] = await rawSession(port, {}, [(c) => c.query({ query: 'SELECT number n, if(number % 5 = 2, number, 0) sp FROM numbers(12)' })]);
    const data = q!.filter((e) => e.type === 'data') as Extract<ConnectionEvent, { type: 'data' }>[];
    assert.deepEqual(
      rowsOf(q!).map((r) => r[1]),
      Array.from({ length: 12 }, (_, i) => BigInt(i % 5 === 2 ? i : 0)),
    );
    assert.ok(data.length >= 1);
  });

  test('TLS', async (t) => {
    if (!server) return t.skip('chdb is not installed');
    let dir = '';
    try {
      dir = mkdtempSync(join(tmpdir(), 'chwire-tls-'));
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    } catch {
      return t.skip('openssl is not available');
    }
    const cert = readFileSync(join(dir, 'cert.pem'));
    const s3 = createServer({ port: 0, tls: { cert, key: readFileSync(join(dir, 'key.pem')) } });
    const p3 = (await s3.listen()).port;
    try {
      const c = createClient({ url: `clickhouses://127.0.0.1:${p3}`, tls: { ca_cert: cert, servername: 'localhost' } });
      assert.deepEqual(await (await c.query({ query: 'SELECT 1 x' })).json(), [{ x: 1 }]);
      await c.close();
    } finally {
      await s3.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('connection limit and clean shutdown', async (t) => {
    if (!server) return t.skip('chdb is not installed');
    const s4 = createServer({ port: 0, maxConnections: 1 });
    const p4 = (await s4.listen()).port;
    const a = createClient({ url: `clickhouse://127.0.0.1:${p4}` });
    const b = createClient({ url: `clickhouse://127.0.0.1:${p4}` });
    try {
      assert.deepEqual(await (await a.query({ query: 'SELECT 1 x' })).json(), [{ x: 1 }]);
      const [ex] = await rawSession(p4, {}, []);
      assert.equal((ex![0] as Extract<ConnectionEvent, { type: 'exception' }>).exception.code, 203);
      await assert.rejects(b.query({ query: 'SELECT 1' }).then((r) => r.json()));
      const running = a.query({ query: 'SELECT count() c FROM numbers(20000000)' }).then((r) => r.json());
      await new Promise((r) => setTimeout(r, 50));
      await s4.close(10000);
      assert.equal(s4.connections, 0);
      await running.catch(() => undefined);
    } finally {
      await a.close();
      await b.close();
      await s4.close();
    }
  });

  test("Debian clickhouse-client 18.16 (revision 54412)", async (t) => {
    if (!server) return t.skip('chdb is not installed');
    if (!existsSync('/usr/bin/clickhouse-client')) return t.skip('clickhouse-client is not installed');
    const run = (args: string[]): Promise<{ code: number; out: string; err: string }> =>
      new Promise((resolve) => {
        execFile('/usr/bin/clickhouse-client', ['--port', String(port), ...args], { timeout: 30000 }, (e, out, err) =>
          resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }),
        );
      });
    let r = await run(['-q', "SELECT number, toString(number) s, [number] a, toLowCardinality('x') lc, toDecimal64(1.25, 2) d FROM numbers(3) FORMAT TSV"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '0\t0\t[0]\tx\t1.25\n1\t1\t[1]\tx\t1.25\n2\t2\t[2]\tx\t1.25\n');
    r = await run(['-q', 'SELECT number FROM numbers(5) WHERE 0 FORMAT TSVWithNamesAndTypes']);
    assert.equal(r.out, 'number\nUInt64\n');
    await run(['-q', 'CREATE TABLE IF NOT EXISTS old_t (x UInt64, s String) ENGINE = MergeTree ORDER BY x']);
    r = await run(['-q', "INSERT INTO old_t VALUES (1, 'a'), (2, 'b')"]);
    assert.equal(r.code, 0, r.err);
    r = await run(['--compression', '1', '-q', 'SELECT * FROM old_t ORDER BY x FORMAT TSV']);
    assert.equal(r.out, '1\ta\n2\tb\n');
    r = await run(['-q', "SELECT throwIf(1, 'old-boom')"]);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /Code: 395/);
    assert.match(r.err, /old-boom/);
    r = await run(['--user', 'alice', '--password', 'wrong', '-q', 'SELECT 1']);
    assert.match(r.err, /Code: 516/);
  });

  test("Python clickhouse-driver", async (t) => {
    if (!server) return t.skip('chdb is not installed');
    try {
      execFileSync('/usr/bin/python3', ['-c', 'import clickhouse_driver'], { stdio: 'ignore' });
    } catch {
      return t.skip('python3-clickhouse-driver is not installed');
    }
    const script = `
import json, sys
from clickhouse_driver import Client
c = Client('127.0.0.1', port=${port})
out = {}
out['rows'] = c.execute("SELECT number, toString(number), [number, 1] FROM numbers(3)")
c.execute('CREATE TABLE IF NOT EXISTS py_t (x UInt64, s String, d Date) ENGINE = Memory')
import datetime
c.execute('INSERT INTO py_t (x, s, d) VALUES', [(1, 'a', datetime.date(2024, 1, 2)), (2, "b'c", datetime.date(2024, 1, 3))])
out['back'] = [[r[0], r[1], str(r[2])] for r in c.execute('SELECT * FROM py_t ORDER BY x')]
out['param'] = c.execute('SELECT %(a)s AS a', {'a': "it's"})
try:
    c.execute('SELECT * FROM nope_table')
except Exception as e:
    out['code'] = e.code
print(json.dumps(out))
`;
    // Asynchronously: the server runs in this process.
    const text = await new Promise<string>((resolve, reject) =>
      execFile('/usr/bin/python3', ['-c', script], { encoding: 'utf8', timeout: 30000 }, (e, out, err) => (e ? reject(new Error(`${e.message}: ${err}`)) : resolve(out))),
    );
    const out = JSON.parse(text);
    assert.deepEqual(out.rows, [[0, '0', [0, 1]], [1, '1', [1, 1]], [2, '2', [2, 1]]]);
    assert.deepEqual(out.back, [[1, 'a', '2024-01-02'], [2, "b'c", '2024-01-03']]);
    assert.deepEqual(out.param, [["it's"]]);
    assert.equal(out.code, 60);
  });
});
