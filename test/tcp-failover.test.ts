// Issue 6, two real 18.16 instances: failover (`hosts: [B, A]` with B stopped mid-run), round-robin,
// and a server killed mid-query (the promise rejects with ConnectionError; the pool recovers once the
// server is back). Instance B is always restarted in after().
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, ConnectionError, type ClickHouseClient } from '../src/index.js';
import { serverExec, serverPid, startServer, stopServer, testServer, portAccepts, type ServerInfo } from './helpers/server.js';
import { watchLeaks } from './helpers/unhandled.js';

const leaks = watchLeaks();

const uniq = `${process.pid}_${Date.now() % 1e6}`;
const marker = `chwire_fo_marker_${uniq}`;

describe('failover and server loss with two ClickHouse 18.16 instances', { concurrency: false }, () => {
  let srv: ServerInfo | null = null;
  /** Which instance answered: the marker table exists on A only. */
  const whichServer = async (c: ClickHouseClient): Promise<'A' | 'B'> => {
    const r = await (await c.query({ query: `SELECT count() AS n FROM system.tables WHERE database = 'default' AND name = '${marker}'` })).json<{ n: bigint }>();
    return r[0]!.n === 1n ? 'A' : 'B';
  };

  before(async () => {
    srv = await testServer();
    if (!srv) return;
    await startServer('B');
    await serverExec(`CREATE TABLE default.${marker} (x UInt8) ENGINE = Memory`);
  });
  after(async () => {
    if (!srv) return;
    await startServer('B');
    await serverExec(`DROP TABLE IF EXISTS default.${marker}`);
  });

  test('hosts: [B, A] — B first; B stopped mid-run → queries keep working on A', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const c = createClient({ hosts: [`${srv.host}:${srv.tcpPortB}`, `${srv.host}:${srv.tcpPort}`], max_open_connections: 4, connect_timeout: 2000 });
    try {
      assert.equal(await whichServer(c), 'B', 'in order: B first');
      // A steady stream of queries while B goes down.
      let stop = false;
      const outcomes: ('A' | 'B' | 'error')[] = [];
      const loop = (async () => {
        while (!stop) {
          outcomes.push(await whichServer(c).catch(() => 'error' as const));
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      await new Promise((r) => setTimeout(r, 200));
      await stopServer('B');
      assert.equal(await portAccepts(srv.host, srv.tcpPortB), false, 'B is down');
      const downAt = outcomes.length;
      await new Promise((r) => setTimeout(r, 800));
      stop = true;
      await loop;
      const before = outcomes.slice(0, downAt);
      const afterDown = outcomes.slice(downAt);
      assert.ok(before.includes('B'), JSON.stringify(before));
      assert.ok(afterDown.length >= 5, JSON.stringify(afterDown));
      // At most the queries in flight on B's pooled connections may fail; after that, A serves all.
      assert.ok(afterDown.filter((x) => x === 'error').length <= 4, JSON.stringify(afterDown));
      assert.deepEqual(afterDown.slice(-5), ['A', 'A', 'A', 'A', 'A']);
      assert.equal(await whichServer(c), 'A');
      assert.equal(await c.ping(), true);
    } finally {
      await c.close();
      await startServer('B');
    }
  });

  test('round_robin spreads new connections over both hosts', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const c = createClient({ hosts: [`${srv.host}:${srv.tcpPort}`, `${srv.host}:${srv.tcpPortB}`], host_selection: 'round_robin', max_open_connections: 4 });
    try {
      // Four concurrent queries need four connections: two on each host.
      const who = await Promise.all(
        Array.from({ length: 4 }, async () => {
          const r = await (await c.query({ query: `SELECT count() AS n, sleep(0.2) AS z FROM system.tables WHERE database = 'default' AND name = '${marker}'` })).json<{ n: bigint }>();
          return r[0]!.n === 1n ? 'A' : 'B';
        }),
      );
      assert.deepEqual([...who].sort(), ['A', 'A', 'B', 'B']);
    } finally {
      await c.close();
    }
  });

  test('a server killed (SIGKILL) mid-query: the stream rejects with ConnectionError; the pool recovers after restart', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const pid = await serverPid('B');
    assert.ok(pid, 'B is running');
    const kill = async () => {
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100 && (await portAccepts(srv!.host, srv!.tcpPortB, 200)); i++) await new Promise((r) => setTimeout(r, 50));
    };
    const c = createClient({ url: `clickhouse://${srv.host}:${srv.tcpPortB}`, max_open_connections: 2, connect_timeout: 2000 });
    try {
      const rs = await c.query({ query: 'SELECT number FROM system.numbers' });
      let rows = 0;
      let stopping: Promise<void> | undefined;
      await assert.rejects(
        (async () => {
          for await (const b of rs) {
            rows += b.rowCount;
            stopping ??= kill();
            await new Promise((r) => setTimeout(r, 5));
          }
        })(),
        (e: unknown) => {
          assert.ok(e instanceof ConnectionError, String(e));
          return true;
        },
      );
      await stopping;
      assert.ok(rows > 0);
      // While B is down: a clear ConnectionError (refused), no hang.
      await assert.rejects(c.query({ query: 'SELECT 1' }), (e: unknown) => e instanceof ConnectionError && (e as ConnectionError).code === 'CHWIRE_CONNECTION_REFUSED');
      await startServer('B');
      assert.deepEqual(await (await c.query({ query: 'SELECT 7 AS x' })).json(), [{ x: 7 }]);
      assert.equal(await c.ping(), true);
    } finally {
      await c.close();
      await startServer('B');
    }
  });

  test('no unhandled rejections in this file', () => leaks.assertNone(50));
});
