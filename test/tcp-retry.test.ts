// Retries: a query whose connection dies before anything reached the caller is retried once on
// a fresh connection; an INSERT never is. The fault is a real proxy in front of the real server
// that drops the first connection as soon as the client sends its query.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { createClient, ConnectionError } from '../src/index.js';
import { serverTestFile, serverQuery, type ServerInfo } from './helpers/server.js';

const file = serverTestFile();
const { unhandled } = file;

/** A proxy whose first connection is cut right after the handshake, when the client sends again. */
async function flakyProxy(target: ServerInfo): Promise<{ port: number; connections: () => number; close: () => void }> {
  let n = 0;
  const server = net.createServer((client) => {
    const id = ++n;
    const upstream = net.connect({ host: target.host, port: target.tcpPort });
    let helloSeen = false;
    upstream.on('data', (b) => {
      helloSeen = true;
      client.write(b);
    });
    client.on('data', (b) => {
      if (id === 1 && helloSeen) {
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(b);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, connections: () => n, close: () => server.close() };
}

test('a SELECT whose connection dies before any byte of its result is retried once', async (t) => {
  const srv = file.server();
  if (!srv) return t.skip('no ClickHouse server');
  const proxy = await flakyProxy(srv);
  const c = createClient({ url: `clickhouse://127.0.0.1:${proxy.port}` });
  try {
    const rows = await (await c.query({ query: 'SELECT number FROM system.numbers LIMIT 3' })).json();
    assert.deepEqual(rows, [{ number: 0n }, { number: 1n }, { number: 2n }]);
    assert.equal(proxy.connections(), 2, 'the first connection was dropped, the second served the query');
  } finally {
    await c.close();
    proxy.close();
  }
});

test('command() and ping() on a connection that dies before any reply are retried once, as a SELECT', async (t) => {
  const srv = file.server();
  if (!srv) return t.skip('no ClickHouse server');
  for (const run of [(c: ReturnType<typeof createClient>) => c.command({ query: 'SELECT 1' }), (c: ReturnType<typeof createClient>) => c.ping()]) {
    const proxy = await flakyProxy(srv);
    const c = createClient({ url: `clickhouse://127.0.0.1:${proxy.port}` });
    try {
      await run(c);
      assert.equal(proxy.connections(), 2, 'the first connection was dropped, the second served it');
    } finally {
      await c.close();
      proxy.close();
    }
  }
});

test('command() with an INSERT … SELECT is never retried', async (t) => {
  const srv = file.server();
  if (!srv) return t.skip('no ClickHouse server');
  const table = `chwire_retry_cmd_${process.pid}`;
  await serverQuery(`CREATE TABLE IF NOT EXISTS ${table} (x UInt8) ENGINE = Memory`);
  const proxy = await flakyProxy(srv);
  const c = createClient({ url: `clickhouse://127.0.0.1:${proxy.port}` });
  try {
    await assert.rejects(c.command({ query: `INSERT INTO ${table} SELECT 1` }), (e: unknown) => e instanceof ConnectionError);
    assert.equal(proxy.connections(), 1, 'no second attempt');
  } finally {
    await c.close();
    proxy.close();
    await serverQuery(`DROP TABLE IF EXISTS ${table}`);
  }
});

test('an INSERT is never retried: it rejects and inserts nothing', async (t) => {
  const srv = file.server();
  if (!srv) return t.skip('no ClickHouse server');
  const table = `chwire_retry_${process.pid}`;
  await serverQuery(`CREATE TABLE IF NOT EXISTS ${table} (x UInt8) ENGINE = Memory`);
  const proxy = await flakyProxy(srv);
  const c = createClient({ url: `clickhouse://127.0.0.1:${proxy.port}` });
  try {
    await assert.rejects(c.insert({ table, values: [{ x: 1 }] }), (e: unknown) => e instanceof ConnectionError);
    assert.equal(proxy.connections(), 1, 'no second attempt');
    assert.deepEqual(await serverQuery(`SELECT count() FROM ${table}`), [['0']]);
  } finally {
    await c.close();
    proxy.close();
    await serverQuery(`DROP TABLE IF EXISTS ${table}`);
  }
});

test('no unhandled rejections', () => assert.deepEqual(unhandled, []));
