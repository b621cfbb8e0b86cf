// Pool slots under abort and request_timeout over TCP, against the real ClickHouse 18.16 server:
// a waiter that gives up while its connection is being opened, an abort while the connection is
// opened or while per-query settings are SET (the query must never be sent), an INSERT aborted
// before it is sent or while its source stalls, and an aborted result nobody reads any more. In
// each case, with max_open_connections = 1, the next query must get the slot at once.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { randomUUID } from 'node:crypto';
import { createClient, AbortError, TimeoutError } from '../src/index.js';
import { serverExec, serverQuery, testServer, type ServerInfo } from './helpers/server.js';
import { watchLeaks } from './helpers/unhandled.js';

const leaks = watchLeaks();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The promise's rejection (null when it resolved): awaited later without an unhandled rejection. */
const failure = (p: Promise<unknown>): Promise<unknown> => p.then(() => null, (e: unknown) => e);

/** Rejects when `p` takes longer than `ms` (a hang must fail the test, not stall it). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const isAbort = (e: unknown) => e instanceof AbortError && e.code === 'CHWIRE_ABORTED';

/**
 * A relay to the real server. `connectDelay` holds each new connection that long before it reaches
 * the server (the pool is "opening" it); `lag` delays client→server bytes; freeze() makes the
 * current connections drop every byte both ways (a server that never answers Cancel).
 */
async function relay(targetPort: number) {
  const sockets: net.Socket[] = [];
  const frozen = new Set<net.Socket>();
  const state = { connectDelay: 0, lag: 0, accepted: 0 };
  const server = net.createServer((client) => {
    state.accepted++;
    sockets.push(client);
    client.on('error', () => {});
    client.pause();
    setTimeout(() => {
      if (client.destroyed) return;
      const up = net.connect({ host: '127.0.0.1', port: targetPort });
      sockets.push(up);
      up.on('error', () => {});
      up.on('data', (b) => {
        if (!frozen.has(client)) client.write(b);
      });
      client.on('data', (b) => {
        if (frozen.has(client)) return;
        if (state.lag > 0) setTimeout(() => up.write(b), state.lag);
        else up.write(b);
      });
      up.on('close', () => client.destroy());
      client.on('close', () => up.destroy());
      client.resume();
    }, state.connectDelay);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return Object.assign(state, {
    url: `clickhouse://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    freeze: () => sockets.forEach((s) => frozen.add(s)),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  });
}

/** Which of these query ids the server logged (log_queries = 1 on the client). */
async function logged(...ids: string[]): Promise<string[]> {
  await serverExec('SYSTEM FLUSH LOGS');
  const rows = await serverQuery(`SELECT DISTINCT query_id FROM system.query_log WHERE query_id IN (${ids.map((id) => `'${id}'`).join(', ')}) ORDER BY query_id`);
  return rows.map((r) => String(r[0])).sort();
}

async function running(id: string): Promise<number> {
  return Number((await serverQuery(`SELECT count() FROM system.processes WHERE query_id = '${id}'`))[0]?.[0]);
}

/** Starts a request with a signal aborted 50 ms later: it must reject with an AbortError within limitMs of starting. */
async function abortedAfter50ms(start: (signal: AbortSignal) => Promise<unknown>, limitMs: number): Promise<void> {
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  const t0 = Date.now();
  const e = await failure(start(ac.signal));
  assert.ok(isAbort(e), String(e));
  assert.ok(Date.now() - t0 < limitMs, `rejected after ${Date.now() - t0} ms`);
}

describe('pool slots under abort and request_timeout (ClickHouse 18.16)', () => {
  let srv: ServerInfo | null = null;
  before(async () => {
    srv = await testServer();
  });

  /** The next query gets the only slot promptly and its right result. */
  async function nextQueryWorks(c: ReturnType<typeof createClient>, maxMs: number, queryId?: string): Promise<void> {
    const t = Date.now();
    const rs = await c.query({ query: 'SELECT 42 AS x', ...(queryId ? { query_id: queryId } : {}) });
    assert.deepEqual(await rs.json(), [{ x: 42 }]);
    assert.ok(Date.now() - t < maxMs, `the next query took ${Date.now() - t} ms`);
  }

  test('a waiter aborted while its connection is being opened: the connection goes idle, the slot stays', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const r = await relay(srv.tcpPort);
    const c = createClient({ url: r.url, max_open_connections: 1, request_timeout: 1000 });
    try {
      // A per-query setting is SET on the connection (18.16): it is dropped, not reused, at release.
      const a = await c.query({ query: 'SELECT 1', clickhouse_settings: { max_block_size: 5 } });
      const ac = new AbortController();
      const b = failure(c.query({ query: 'SELECT 2 AS y', abort_signal: ac.signal }));
      await sleep(50);
      r.connectDelay = 300;
      await a.json(); // A's connection is dropped: the pool opens one for B
      await sleep(50);
      ac.abort(); // B gives up while that connection is being opened
      assert.ok(isAbort(await b), String(await b));
      await sleep(400); // the connection opened for B is idle now
      r.connectDelay = 0;
      await nextQueryWorks(c, 300);
      assert.equal(r.accepted, 2, 'the connection opened for B was reused');
    } finally {
      await c.close();
      await r.close();
    }
  });

  test('a waiter whose request_timeout fires while its connection is being opened: the next waiter gets it', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const r = await relay(srv.tcpPort);
    const c = createClient({ url: r.url, max_open_connections: 1, request_timeout: 400 });
    try {
      const a = await c.query({ query: 'SELECT 1', clickhouse_settings: { max_block_size: 5 } });
      const b = failure(c.query({ query: 'SELECT 2 AS y' })); // queued, times out at ~400 ms
      await sleep(100);
      r.connectDelay = 450;
      await a.json(); // the pool opens a connection for B: ready at ~550 ms
      const e = await b;
      assert.ok(e instanceof TimeoutError && e.code === 'CHWIRE_TIMEOUT', String(e));
      r.connectDelay = 0;
      await nextQueryWorks(c, 400); // queued behind the connection being opened
      assert.equal(r.accepted, 2);
    } finally {
      await c.close();
      await r.close();
    }
  });

  test('an abort while the pool opens the connection: AbortError at once, the query is never sent', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const r = await relay(srv.tcpPort);
    r.connectDelay = 300;
    const c = createClient({ url: r.url, max_open_connections: 1, request_timeout: 1500, clickhouse_settings: { log_queries: 1 } });
    const qid = randomUUID();
    const next = randomUUID();
    try {
      await abortedAfter50ms((signal) => c.query({ query: 'SELECT sleep(2) AS s', query_id: qid, abort_signal: signal }), 250);
      r.connectDelay = 0;
      // The connection still being opened serves the next query: it is not busy with sleep(2).
      await nextQueryWorks(c, 1000, next);
      assert.equal(await running(qid), 0);
      assert.deepEqual(await logged(qid, next), [next], 'the aborted query never reached the server');
    } finally {
      await c.close();
      await r.close();
    }
  });

  test('an abort during the SET of per-query settings: AbortError at once, the query is never sent', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const r = await relay(srv.tcpPort);
    const c = createClient({ url: r.url, max_open_connections: 1, request_timeout: 1500, clickhouse_settings: { log_queries: 1 } });
    const qid = randomUUID();
    const next = randomUUID();
    try {
      assert.equal(await c.ping(), true); // the connection is open: only the SET stands before the query
      r.lag = 200;
      await abortedAfter50ms((signal) => c.query({ query: 'SELECT sleep(2) AS s', query_id: qid, abort_signal: signal, clickhouse_settings: { max_block_size: 1000 } }), 150);
      r.lag = 0;
      await nextQueryWorks(c, 1000, next);
      assert.equal(await running(qid), 0);
      assert.deepEqual(await logged(qid, next), [next], 'the aborted query never reached the server');
    } finally {
      await c.close();
      await r.close();
    }
  });

  test('an INSERT aborted while its connection opens sends nothing and frees the slot', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const tb = `pool_abort_${process.pid}_a`;
    await serverExec(`DROP TABLE IF EXISTS ${tb}; CREATE TABLE ${tb} (x UInt32) ENGINE = Memory`);
    const r = await relay(srv.tcpPort);
    r.connectDelay = 300;
    const c = createClient({ url: r.url, max_open_connections: 1, request_timeout: 1500 });
    try {
      await abortedAfter50ms((signal) => c.insert({ table: tb, values: [{ x: 1 }], abort_signal: signal }), 250);
      r.connectDelay = 0;
      await nextQueryWorks(c, 1000);
      assert.deepEqual(await serverQuery(`SELECT count() FROM ${tb}`), [['0']]);
    } finally {
      await c.close();
      await r.close();
      await serverExec(`DROP TABLE IF EXISTS ${tb}`);
    }
  });

  test('an INSERT aborted while its source stalls rejects at once and frees the slot', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const tb = `pool_abort_${process.pid}_b`;
    await serverExec(`DROP TABLE IF EXISTS ${tb}; CREATE TABLE ${tb} (x UInt32) ENGINE = Memory`);
    const c = createClient({ url: `clickhouse://${srv.host}:${srv.tcpPort}`, max_open_connections: 1, request_timeout: 1000 });
    let unstall!: () => void;
    const stall = new Promise<void>((r) => (unstall = r));
    async function* rows() {
      yield { x: 1 };
      await stall; // a source that has nothing more for now
    }
    try {
      const ac = new AbortController();
      const ins = failure(c.insert({ table: tb, values: rows(), abort_signal: ac.signal }));
      await sleep(200);
      const t0 = Date.now();
      ac.abort();
      const e = await within(ins, 3000, 'the aborted INSERT');
      assert.ok(isAbort(e), String(e));
      assert.ok(Date.now() - t0 < 150, `rejected ${Date.now() - t0} ms after the abort`);
      await nextQueryWorks(c, 500);
      assert.deepEqual(await serverQuery(`SELECT count() FROM ${tb}`), [['0']]);
    } finally {
      unstall();
      await c.close();
      await serverExec(`DROP TABLE IF EXISTS ${tb}`);
    }
  });

  test('an aborted result nobody reads frees its slot once the cancel completes; read later, it rejects', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const c = createClient({ url: `clickhouse://${srv.host}:${srv.tcpPort}`, max_open_connections: 1, request_timeout: 1000 });
    try {
      const ac = new AbortController();
      const rs = await c.query({ query: 'SELECT number FROM numbers(10000000)', abort_signal: ac.signal });
      ac.abort(); // and nobody reads rs for now
      await nextQueryWorks(c, 1000);
      await assert.rejects(within(rs.json(), 3000, 'reading the aborted result'), isAbort);
      await nextQueryWorks(c, 300);
    } finally {
      await c.close();
    }
  });

  test('an aborted result whose server never answers the Cancel frees its slot when the socket is dropped', { timeout: 20_000 }, async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const r = await relay(srv.tcpPort);
    const c = createClient({ url: r.url, max_open_connections: 1, request_timeout: 8000 });
    try {
      const ac = new AbortController();
      const rs = await c.query({ query: 'SELECT sleep(3) AS s', abort_signal: ac.signal });
      r.freeze(); // neither the Cancel nor any answer gets through any more
      ac.abort();
      // The drain gives up after CANCEL_DRAIN_MS (5 s) and drops the connection: the slot is free.
      await nextQueryWorks(c, 7000);
      assert.equal(r.accepted, 2);
      await assert.rejects(within(rs.json(), 3000, 'reading the aborted result'), isAbort);
    } finally {
      await c.close();
      await r.close();
    }
  });

  test('no unhandled rejections in this file', () => leaks.assertNone(100));
});
