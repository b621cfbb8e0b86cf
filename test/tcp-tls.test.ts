// Issue 6, TLS against the real 18.16 server: clickhouses:// with the test CA and SNI, certificate
// verification on by default (wrong CA / wrong name / no CA rejected), mTLS on the strict port
// (client certificate accepted; none or a rogue one rejected).
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, ConnectionError, type ClickHouseClient } from '../src/index.js';
import { serverExec, serverQuery, testServer, type ServerInfo } from './helpers/server.js';
import { watchLeaks } from './helpers/unhandled.js';

const leaks = watchLeaks();

async function using<T>(c: ClickHouseClient, f: (c: ClickHouseClient) => Promise<T>): Promise<T> {
  try {
    return await f(c);
  } finally {
    await c.close();
  }
}

describe('TLS and mTLS against ClickHouse 18.16', { concurrency: false }, () => {
  let srv: ServerInfo | null = null;
  before(async () => {
    srv = await testServer();
  });

  test('clickhouses:// with the CA and servername: queries, inserts, compression over TLS', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    await using(createClient({ url: `clickhouses://${srv.host}:${srv.tlsPort}`, tls: { ca_cert: srv.ca, servername: srv.servername }, compression: 'lz4' }), async (c) => {
      assert.equal(await c.ping(), true);
      const rs = await c.query({ query: 'SELECT number, toString(number) AS s FROM numbers(200000)' });
      let n = 0;
      for await (const b of rs) n += b.rowCount;
      assert.equal(n, 200000);
      const qid = `chwire-tls-${process.pid}`;
      const r = await (await c.query({ query: `SELECT interface, client_name FROM system.processes WHERE query_id = '${qid}'`, query_id: qid })).json<{ interface: number }>();
      assert.equal(r[0]!.interface, 1);
      const tb = `default.chwire_tls_${process.pid}`;
      await serverExec(`CREATE TABLE ${tb} (id UInt32, s String) ENGINE = Memory`);
      try {
        await c.insert({ table: tb, columns: { id: new Uint32Array([1, 2, 3]), s: ['a', 'b', 'c'] } });
        assert.deepEqual(await serverQuery(`SELECT sum(id), groupArray(s) FROM ${tb}`), [['6', ['a', 'b', 'c']]]);
      } finally {
        await serverExec(`DROP TABLE ${tb}`);
      }
    });
    // The CA as bytes, and the `host` + `tls` form.
    await using(createClient({ host: srv.host, port: srv.tlsPort, tls: { ca_cert: new TextEncoder().encode(srv.ca), servername: srv.servername } }), async (c) => {
      assert.deepEqual(await (await c.query({ query: 'SELECT 1 AS x' })).json(), [{ x: 1 }]);
    });
    // 'localhost' in the URL: the servername defaults to the host name.
    await using(createClient({ url: `clickhouses://localhost:${srv.tlsPort}`, tls: { ca_cert: srv.ca } }), async (c) => {
      assert.equal(await c.ping(), true);
    });
  });

  test('verification is on by default: no CA, a wrong CA, or a wrong servername are rejected', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const cases: [string, object][] = [
      ['no CA', {}],
      ['wrong CA', { ca_cert: srv.rogueCert, servername: srv.servername }],
      ['wrong servername', { ca_cert: srv.ca, servername: 'not-the-server.example' }],
    ];
    for (const [name, tls] of cases) {
      await using(createClient({ url: `clickhouses://${srv.host}:${srv.tlsPort}`, tls }), async (c) => {
        await assert.rejects(c.query({ query: 'SELECT 1' }), (e: unknown) => {
          assert.ok(e instanceof ConnectionError, `${name}: ${String(e)}`);
          assert.match((e as Error).message, /certificate|self[- ]signed|altnames|issuer|verify/i, name);
          return true;
        });
      });
    }
    // reject_unauthorized: false is the explicit opt-out.
    await using(createClient({ url: `clickhouses://${srv.host}:${srv.tlsPort}`, tls: { reject_unauthorized: false } }), async (c) => {
      assert.equal(await c.ping(), true);
    });
    // Plain TCP to the TLS port is not a success either.
    await using(createClient({ url: `clickhouse://${srv.host}:${srv.tlsPort}`, connect_timeout: 2000, request_timeout: 2000 }), async (c) => {
      await assert.rejects(c.ping());
    });
  });

  test('mTLS on the strict port: the CA-signed client certificate is accepted; none or a rogue one is not', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const url = `clickhouses://${srv.host}:${srv.tlsPortStrict}`;
    await using(createClient({ url, tls: { ca_cert: srv.ca, servername: srv.servername, cert: srv.clientCert, key: srv.clientKey } }), async (c) => {
      assert.deepEqual(await (await c.query({ query: 'SELECT 40 + 2 AS x' })).json(), [{ x: 42 }]);
      assert.equal(await c.ping(), true);
    });
    for (const [name, extra] of [
      ['no client certificate', {}],
      ['a rogue client certificate', { cert: srv.rogueCert, key: srv.rogueKey }],
      // Refused by Node's TLS itself before connecting: still a ConnectionError naming the host.
      ['a key that does not match its certificate', { cert: srv.clientCert, key: srv.rogueKey }],
    ] as const) {
      await using(createClient({ url, tls: { ca_cert: srv.ca, servername: srv.servername, ...extra }, connect_timeout: 3000 }), async (c) => {
        await assert.rejects(c.query({ query: 'SELECT 1' }), (e: unknown) => {
          assert.ok(e instanceof ConnectionError, `${name}: ${String(e)}`);
          assert.ok(e.message.includes(`${srv!.host}:${srv!.tlsPortStrict}`), e.message);
          return true;
        });
      });
    }
  });

  test('no unhandled rejections in this file', () => leaks.assertNone(50));
});
