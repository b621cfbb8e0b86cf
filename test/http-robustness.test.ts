// HTTP transport robustness against ClickHouse 18.16 and small real-socket fixtures: close() ends
// running and queued requests (CHWIRE_CLIENT_CLOSED, queries killed on the server, promptly);
// refused hosts are failed over for INSERT-like requests too; a connection lost mid-body is a
// ConnectionError; KILL QUERY goes to the host that ran the query; exec() abort/cancel kill the
// query and its request_timeout ignores a slow consumer; a wait for a free connection settles
// (and keeps the process alive meanwhile); every failed host is named; http_headers replace
// built-in headers whatever their case; a session's concurrent requests run one after another.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createClient } from '../src/index.js';
import { encodeNative } from '../src/core/index.js';
import { testServer, type ServerInfo } from './helpers/server.js';
import { watchLeaks } from './helpers/unhandled.js';

const leaks = watchLeaks();
const uniq = `${process.pid}_${Date.now() % 1e6}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `p`'s error (fails when it resolves), or 'PENDING' when it has not settled within `ms`. */
async function rejection(p: Promise<unknown>, ms = 5_000): Promise<{ code?: unknown; message: string; name: string } | 'PENDING'> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'PENDING'>((r) => (t = setTimeout(() => r('PENDING'), ms)));
  try {
    const r = await Promise.race([p.then(() => assert.fail('resolved')), timeout]);
    return r as 'PENDING';
  } catch (e) {
    const err = e as Error & { code?: unknown };
    return { code: err.code, message: err.message, name: err.constructor.name };
  } finally {
    clearTimeout(t);
  }
}

/** A local HTTP server; `close()` ends its connections. */
async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { port, server, close: () => (server.closeAllConnections(), new Promise<void>((r) => server.close(() => r()))) };
}

/** A port nothing listens on (connections are refused). */
async function refusedPort(): Promise<number> {
  const s = await listen(() => undefined);
  await s.close();
  return s.port;
}

describe('HTTP transport robustness', { concurrency: false }, () => {
  let srv: ServerInfo | null = null;
  const tables: string[] = [];
  const urlA = () => `http://${srv!.host}:${srv!.httpPort}`;
  const urlT = () => `http://${srv!.host}:${srv!.httpPortT}`;
  /** Runs SQL on a server's HTTP port, outside chwire; the body as text. */
  const sqlOn = async (port: number, sql: string): Promise<string> => {
    const r = await fetch(`http://${srv!.host}:${port}/`, { method: 'POST', body: sql });
    const text = await r.text();
    if (r.status !== 200) throw new Error(text);
    return text.trim();
  };
  const running = async (port: number, qid: string) => Number(await sqlOn(port, `SELECT count() FROM system.processes WHERE query_id = '${qid}'`));
  /** Waits (up to 3 s) until the query is gone from the server's processes; returns whether it is. */
  const stopsOn = async (port: number, qid: string): Promise<boolean> => {
    for (let i = 0; i < 30; i++) {
      if ((await running(port, qid)) === 0) return true;
      await sleep(100);
    }
    return false;
  };
  const killAll = (qid: string) =>
    Promise.all([srv!.httpPort, srv!.httpPortT].map((p) => sqlOn(p, `KILL QUERY WHERE query_id = '${qid}' ASYNC`).catch(() => undefined)));

  before(async () => {
    srv = await testServer();
  });
  after(async () => {
    if (srv) for (const t of tables) await sqlOn(srv.httpPort, `DROP TABLE IF EXISTS ${t}`);
    // Nothing any test did left an unhandled rejection behind.
    await leaks.assertNone(200);
  });

  test('close(): running and queued requests reject with CHWIRE_CLIENT_CLOSED at once; their queries stop on the server', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const c = createClient({ url: urlA(), max_open_connections: 2 });
    const q1 = `chwire_close_stream_${uniq}`;
    const q2 = `chwire_close_wait_${uniq}`;
    const q3 = `chwire_close_queued_${uniq}`;
    try {
      const rs = await c.query({ query: 'SELECT number, sleepEachRow(0.00001) FROM numbers(1000000000)', query_id: q1 });
      let blocks = 0;
      const reading = (async () => {
        for await (const _ of rs) {
          blocks++;
          await sleep(5);
        }
      })();
      reading.catch(() => undefined);
      // Headers not yet received (the server computes), and one waiting for a free connection.
      const waiting = c.query({ query: 'SELECT count() FROM (SELECT sleepEachRow(0.001) FROM numbers(30000) SETTINGS max_block_size = 1000)', query_id: q2 });
      waiting.catch(() => undefined);
      await sleep(300);
      const queued = c.query({ query: 'SELECT 1', query_id: q3 });
      queued.catch(() => undefined);
      await sleep(100);
      assert.equal(await running(srv.httpPort, q2), 1);
      const t0 = Date.now();
      await c.close();
      const closeMs = Date.now() - t0;
      const results = await Promise.all([reading, waiting, queued].map((p) => rejection(p, 2_000)));
      for (const r of results) assert.notEqual(r, 'PENDING');
      for (const r of results) assert.equal(r !== 'PENDING' && r.code, 'CHWIRE_CLIENT_CLOSED');
      assert.ok(closeMs < 800, `close() took ${closeMs} ms`);
      const n = blocks;
      await sleep(200);
      assert.equal(blocks, n, 'no block after close()');
      assert.ok(await stopsOn(srv.httpPort, q1), 'the streaming query still runs');
      assert.ok(await stopsOn(srv.httpPort, q2), 'the computing query still runs');
    } finally {
      await c.close();
      for (const q of [q1, q2, q3]) await killAll(q);
    }
  });

  test('a refused host is failed over (and marked failed) by INSERT-like requests too', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const table = `default.chwire_http_rob_fo_${uniq}`;
    tables.push(table);
    await sqlOn(srv.httpPort, `CREATE TABLE ${table} (x UInt8) ENGINE = Memory`);
    const down = await refusedPort();
    const count = async () => Number(await sqlOn(srv!.httpPort, `SELECT count() FROM ${table}`));
    for (const step of ['exec', 'command', 'native', 'values'] as const) {
      const c = createClient({ hosts: [`http://127.0.0.1:${down}`, urlA()] });
      try {
        const before = await count();
        if (step === 'exec') await c.exec({ query: `INSERT INTO ${table} FORMAT CSV`, body: '1\n2\n' });
        if (step === 'command') await c.command({ query: `INSERT INTO ${table} SELECT 1 FROM numbers(2)` });
        // A streamed body: the first chunk that fetch read before the refused connect is sent again.
        if (step === 'native') {
          const block = encodeNative({ columns: [{ name: 'x', type: 'UInt8', values: [1] }] });
          await c.insert({ table, native: (async function* () { yield block; yield block; })() });
        }
        if (step === 'values') await c.insert({ table, values: [{ x: 1 }, { x: 2 }] });
        assert.equal(await count(), before + 2, step);
        // Marked failed: the next INSERT goes to the live host first.
        await c.command({ query: `INSERT INTO ${table} SELECT 1` });
        assert.equal(await count(), before + 3, step);
      } finally {
        await c.close();
      }
    }
  });

  test('every host that failed is named, each with its own failure', async () => {
    const [a, b] = [await refusedPort(), await refusedPort()];
    const c = createClient({ hosts: [`http://127.0.0.1:${a}`, `http://u:secretpw@127.0.0.1:${b}`] });
    try {
      const r = await rejection(c.query({ query: 'SELECT 1' }));
      assert.notEqual(r, 'PENDING');
      if (r === 'PENDING') return;
      assert.equal(r.code, 'CHWIRE_CONNECTION_REFUSED');
      assert.match(r.message, new RegExp(`127\\.0\\.0\\.1:${a}: connect ECONNREFUSED 127\\.0\\.0\\.1:${a}`));
      assert.match(r.message, new RegExp(`127\\.0\\.0\\.1:${b}: connect ECONNREFUSED 127\\.0\\.0\\.1:${b}`));
      assert.doesNotMatch(r.message, /secretpw/);
    } finally {
      await c.close();
    }
  });

  test('a connection lost mid-body is a ConnectionError naming the host (query and exec)', async () => {
    const block = encodeNative({ columns: [{ name: 'x', type: 'UInt64', values: [1n, 2n, 3n] }] });
    const fx = await listen((req, res) => {
      req.resume();
      req.on('end', () => {
        if (String(req.url).includes('SELECT')) return res.end('24.3.1.1\tUTC\n');
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        res.write(block);
        setTimeout(() => req.socket.destroy(), 50);
      });
    });
    const c = createClient({ url: `http://127.0.0.1:${fx.port}` });
    try {
      let blocks = 0;
      const r1 = await rejection(
        (async () => {
          for await (const _ of await c.query({ query: 'SELECT x' })) blocks++;
        })(),
      );
      assert.equal(blocks, 1);
      assert.notEqual(r1, 'PENDING');
      if (r1 === 'PENDING') return;
      assert.equal(r1.name, 'ConnectionError');
      assert.equal(r1.code, 'CHWIRE_CONNECTION_CLOSED');
      assert.match(r1.message, new RegExp(`127\\.0\\.0\\.1:${fx.port}`));
      const r2 = await rejection(c.exec({ query: 'SELECT x FORMAT TSV' }).then((r) => r.text()));
      assert.notEqual(r2, 'PENDING');
      if (r2 === 'PENDING') return;
      assert.equal(r2.code, 'CHWIRE_CONNECTION_CLOSED');
      assert.match(r2.message, new RegExp(`127\\.0\\.0\\.1:${fx.port}`));
    } finally {
      await c.close();
      await fx.close();
    }
  });

  test('abort with several hosts: KILL QUERY goes to the host running the query', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const c = createClient({ hosts: [urlA(), urlT()], host_selection: 'round_robin' });
    try {
      for (let i = 0; i < 2; i++) {
        const qid = `chwire_rr_kill_${i}_${uniq}`;
        const ac = new AbortController();
        const p = c.query({ query: 'SELECT count() FROM (SELECT sleepEachRow(0.001) FROM numbers(30000) SETTINGS max_block_size = 1000)', query_id: qid, abort_signal: ac.signal });
        await sleep(300);
        ac.abort();
        const r = await rejection(p);
        assert.equal(r !== 'PENDING' && r.code, 'CHWIRE_ABORTED');
        try {
          assert.ok(await stopsOn(srv.httpPort, qid), `query ${i} still runs on A`);
          assert.ok(await stopsOn(srv.httpPortT, qid), `query ${i} still runs on T`);
        } finally {
          await killAll(qid);
        }
      }
    } finally {
      await c.close();
    }
  });

  test('exec(): abort before the headers, abort mid-body, cancel() and leaving a for-await kill the query', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const c = createClient({ url: urlA() });
    const slow = 'SELECT count() FROM (SELECT sleepEachRow(0.001) FROM numbers(30000) SETTINGS max_block_size = 1000) FORMAT TSV';
    const stream = 'SELECT number, sleepEachRow(0.00001) FROM numbers(100000000) SETTINGS max_block_size = 10000 FORMAT TSV';
    try {
      for (const how of ['abort-before-headers', 'abort-mid-body', 'cancel', 'break'] as const) {
        const qid = `chwire_exec_kill_${how.replace(/-/g, '_')}_${uniq}`;
        const ac = new AbortController();
        try {
          if (how === 'abort-before-headers') {
            const p = c.exec({ query: slow, query_id: qid, abort_signal: ac.signal });
            await sleep(300);
            ac.abort();
            const r = await rejection(p);
            assert.equal(r !== 'PENDING' && r.code, 'CHWIRE_ABORTED');
          } else {
            const r = await c.exec({ query: stream, query_id: qid, abort_signal: ac.signal });
            if (how === 'break') {
              for await (const _ of r) break;
            } else {
              const rd = r.stream.getReader();
              await rd.read();
              if (how === 'cancel') await rd.cancel();
              else {
                ac.abort();
                const e = await rejection((async () => {
                  while (!(await rd.read()).done);
                })());
                assert.equal(e !== 'PENDING' && e.code, 'CHWIRE_ABORTED');
              }
            }
          }
          assert.ok(await stopsOn(srv.httpPort, qid), `${how}: the query still runs`);
        } finally {
          await killAll(qid);
        }
      }
    } finally {
      await c.close();
    }
  });

  test('exec(): request_timeout does not fire while a slow consumer holds the data', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const c = createClient({ url: urlA(), request_timeout: 500 });
    try {
      const r = await c.exec({ query: 'SELECT number, toString(number) FROM numbers(3000000) FORMAT TSV' });
      let bytes = 0;
      let n = 0;
      for await (const chunk of r) {
        bytes += chunk.length;
        if (++n <= 2) await sleep(900);
      }
      assert.ok(bytes > 20_000_000, `${bytes} bytes`);
    } finally {
      await c.close();
    }
  });

  test('a request waiting for a free connection settles (TimeoutError) and keeps the process alive until then', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const index = fileURLToPath(new URL('../src/index.ts', import.meta.url));
    const code = `
      const { createClient } = await import(${JSON.stringify(index)});
      const c = createClient({ url: ${JSON.stringify(urlA())}, max_open_connections: 1, request_timeout: 700 });
      const held = await c.query({ query: 'SELECT number FROM numbers(50000000)' });
      const t0 = Date.now();
      try { await c.query({ query: 'SELECT 1' }); console.log('RESOLVED'); }
      catch (e) { console.log('SETTLED', e.code, Date.now() - t0, e.message); }
      await held.close();
      // An idle client that is not closed does not keep the process alive.
      await (await c.query({ query: 'SELECT 1' })).json();
      console.log('IDLE');`;
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 });
    const out = r.stdout;
    const m = /SETTLED (\S+) (\d+) (.*)/.exec(out);
    assert.ok(m, `child output: ${out} ${r.stderr}`);
    assert.equal(m[1], 'CHWIRE_TIMEOUT');
    assert.match(m[3]!, /no connection became free within 700 ms \(max_open_connections = 1\)/);
    assert.ok(Number(m[2]) >= 650 && Number(m[2]) < 3_000, `${m[2]} ms`);
    assert.match(out, /IDLE/);
    assert.equal(r.status, 0);
    assert.ok(Date.now() - t0 < 15_000);
  });

  test('http_headers replace the built-in Authorization and User-Agent whatever their case', async () => {
    let headers: Record<string, string | string[] | undefined> = {};
    const fx = await listen((req, res) => {
      headers = req.headers;
      req.resume();
      req.on('end', () => res.end('Ok.\n'));
    });
    const c = createClient({
      url: `http://u:pw@127.0.0.1:${fx.port}`,
      http_headers: { 'X-Custom': 'yes', 'user-agent': 'mine/1.0', authorization: 'Bearer tok' },
    });
    try {
      assert.equal(await c.ping(), true);
      assert.equal(headers['authorization'], 'Bearer tok');
      assert.equal(headers['user-agent'], 'mine/1.0');
      assert.equal(headers['x-custom'], 'yes');
    } finally {
      await c.close();
      await fx.close();
    }
  });

  test('session_id: concurrent requests of one session run one after another (no "Session is locked")', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const c = createClient({ url: urlA() });
    const session_id = `chwire_rob_session_${uniq}`;
    try {
      await c.command({ query: 'SET max_threads = 3', session_id });
      await c.command({ query: 'CREATE TEMPORARY TABLE tmp1 (x UInt8)', session_id });
      const values = await Promise.all(
        Array.from({ length: 8 }, () =>
          c.query({ query: "SELECT value, sleepEachRow(0.05) FROM system.settings WHERE name = 'max_threads'", session_id }).then((r) => r.json<{ value: string }>()),
        ),
      );
      assert.deepEqual(values.map((v) => v[0]?.value), Array(8).fill('3'));
      await Promise.all(Array.from({ length: 4 }, () => c.command({ query: 'INSERT INTO tmp1 SELECT 1', session_id })));
      const [row] = await (await c.query({ query: 'SELECT count() AS n FROM tmp1', session_id })).json<{ n: bigint }>();
      assert.equal(row?.n, 4n);
    } finally {
      await c.close();
    }
  });
});
