// Issue 6, failure modes with real sockets: a refused port, a silent peer (before and after a real
// handshake), a peer that answers garbage, a peer that closes mid-response. Every failure must be a
// rejected promise of the right class — never a crash, a hang or an unhandled rejection.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { createClient, ConnectionError, TimeoutError, ChwireError, DecodeError, ProtocolError } from '../src/index.js';
import { testServer, type ServerInfo } from './helpers/server.js';
import { watchLeaks } from './helpers/unhandled.js';

const leaks = watchLeaks({ uncaught: true });

/** A local peer; `onConn` decides what it does with each accepted socket. */
async function peer(onConn: (s: net.Socket) => void): Promise<{ port: number; close(): Promise<void>; sockets: net.Socket[] }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    s.on('close', () => ((s as { closedByPeer?: boolean }).closedByPeer = true));
    onConn(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * A peer that relays to the real server until the client's first Query packet (code 1 after the
 * handshake), then applies `after` to the rest: the handshake bytes are the real server's.
 */
async function relayThen(targetPort: number, after: (client: net.Socket, upstream: net.Socket) => void) {
  return peer((client) => {
    const up = net.connect({ host: '127.0.0.1', port: targetPort });
    up.on('error', () => {});
    let helloDone = false;
    let switched = false;
    up.on('data', (b) => {
      if (switched) return;
      helloDone = true;
      client.write(b);
    });
    client.on('data', (b) => {
      if (!switched && helloDone && b[0] === 1) {
        switched = true;
        after(client, up);
        return;
      }
      if (!switched) up.write(b);
    });
    client.on('close', () => up.destroy());
  });
}

/** A protocol or decode failure (the classes the issue names), not a timeout or a generic error. */
function isBadPeer(e: unknown): boolean {
  return e instanceof ProtocolError || e instanceof DecodeError;
}

describe('failure modes with real sockets', { concurrency: false }, () => {
  let srv: ServerInfo | null = null;
  before(async () => {
    srv = await testServer();
  });

  test('a refused port: ConnectionError CHWIRE_CONNECTION_REFUSED, for every method', async () => {
    const probe = await peer(() => {});
    const port = probe.port;
    await probe.close();
    const c = createClient({ url: `clickhouse://127.0.0.1:${port}` });
    try {
      for (const call of [() => c.ping(), () => c.query({ query: 'SELECT 1' }), () => c.command({ query: 'SELECT 1' }), () => c.insert({ table: 't', values: [{ a: 1 }] })]) {
        await assert.rejects(call(), (e: unknown) => {
          assert.ok(e instanceof ConnectionError, String(e));
          assert.equal((e as ConnectionError).code, 'CHWIRE_CONNECTION_REFUSED');
          assert.match((e as Error).message, new RegExp(`127\\.0\\.0\\.1:${port}`));
          return true;
        });
      }
    } finally {
      await c.close();
    }
  });

  test('a silent peer that accepts and never answers: connect_timeout → TimeoutError', async () => {
    const p = await peer(() => {});
    const c = createClient({ url: `clickhouse://127.0.0.1:${p.port}`, connect_timeout: 300 });
    try {
      const t0 = Date.now();
      await assert.rejects(c.query({ query: 'SELECT 1' }), (e: unknown) => e instanceof TimeoutError && (e as TimeoutError).code === 'CHWIRE_TIMEOUT');
      const took = Date.now() - t0;
      assert.ok(took >= 250 && took < 2000, `${took} ms`);
      assert.equal(p.sockets.length, 1);
      // The timed-out socket was closed by the client.
      p.sockets[0]!.resume();
      await new Promise((r) => setTimeout(r, 100));
      assert.ok((p.sockets[0] as { closedByPeer?: boolean }).closedByPeer, 'the client closed its socket');
    } finally {
      await c.close();
      await p.close();
    }
  });

  test('a peer that does the real handshake then goes silent: request_timeout → TimeoutError; ping too', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const p = await relayThen(srv.tcpPort, () => {});
    const c = createClient({ url: `clickhouse://127.0.0.1:${p.port}`, request_timeout: 400 });
    try {
      const t0 = Date.now();
      await assert.rejects(c.query({ query: 'SELECT 1' }), (e: unknown) => e instanceof TimeoutError);
      assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);
      await assert.rejects(c.command({ query: 'SELECT 1' }), (e: unknown) => e instanceof TimeoutError);
      await assert.rejects(c.insert({ table: 'default.x', values: [{ a: 1 }] }), (e: unknown) => e instanceof ChwireError);
    } finally {
      await c.close();
      await p.close();
    }
  });

  test('a response that trickles in (each piece within request_timeout, the whole far longer) does not time out', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    // Relays the real server both ways, but once the Query is out, its answer goes on in 64 KiB
    // pieces every 120 ms: ≈ 1.5 s in all against a request_timeout of 400 ms.
    const timers: NodeJS.Timeout[] = [];
    const p = await peer((client) => {
      const up = net.connect({ host: '127.0.0.1', port: srv!.tcpPort });
      up.on('error', () => {});
      let slow = false;
      let pending = Buffer.alloc(0);
      const timer = setInterval(() => {
        if (!pending.length) return;
        client.write(pending.subarray(0, 64 * 1024));
        pending = pending.subarray(64 * 1024);
      }, 120);
      timers.push(timer);
      client.on('data', (b) => {
        if (b[0] === 1) slow = true;
        up.write(b);
      });
      up.on('data', (b) => {
        if (slow) pending = Buffer.concat([pending, b]);
        else client.write(b);
      });
      client.on('close', () => (clearInterval(timer), up.destroy()));
    });
    const c = createClient({ url: `clickhouse://127.0.0.1:${p.port}`, request_timeout: 400 });
    try {
      const t0 = Date.now();
      let rows = 0;
      for await (const b of await c.query({ query: 'SELECT number FROM system.numbers LIMIT 100000' })) rows += b.rowCount;
      assert.equal(rows, 100000);
      assert.ok(Date.now() - t0 > 800, `the answer took ${Date.now() - t0} ms, more than twice request_timeout`);
    } finally {
      for (const x of timers) clearInterval(x);
      await c.close();
      await p.close();
    }
  });

  for (const [name, bytes] of [
    ['random bytes instead of a Hello', Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')],
    ['an unknown packet code', Buffer.from([0x63, 1, 2, 3])],
    ['a Hello with an absurd string length', Buffer.from([0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])],
  ] as const) {
    test(`a peer that answers garbage (${name}): a ChwireError, no crash`, async () => {
      const p = await peer((s) => s.once('data', () => s.write(bytes)));
      const c = createClient({ url: `clickhouse://127.0.0.1:${p.port}`, connect_timeout: 2000 });
      try {
        await assert.rejects(c.query({ query: 'SELECT 1' }), (e: unknown) => {
          assert.ok(isBadPeer(e), `${(e as Error).name}: ${(e as Error).message}`);
          return true;
        });
      } finally {
        await c.close();
        await p.close();
      }
    });
  }

  test('garbage after a real handshake: a ChwireError; the broken connection is not reused', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    let n = 0;
    const p = await relayThen(srv.tcpPort, (client) => {
      n++;
      client.write(Buffer.from([0x01, 0x00, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x01, 0x02]));
    });
    const c = createClient({ url: `clickhouse://127.0.0.1:${p.port}`, max_open_connections: 1, request_timeout: 2000 });
    try {
      for (let i = 0; i < 3; i++) await assert.rejects(c.query({ query: 'SELECT 1' }).then((r) => r.json()), (e: unknown) => isBadPeer(e));
      assert.equal(n, 3, 'each query had a fresh connection');
      assert.equal(p.sockets.length, 3);
    } finally {
      await c.close();
      await p.close();
    }
  });

  test('a peer that closes mid-response: ConnectionError; the client then works against the real server', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    // Relay the real response for a while, then cut the connection in the middle of a packet.
    const p = await peer((client) => {
      const up = net.connect({ host: '127.0.0.1', port: srv!.tcpPort });
      up.on('error', () => {});
      let sent = 0;
      let query = false;
      client.on('data', (b) => {
        if (b[0] === 1 && sent > 0) query = true;
        up.write(b);
      });
      up.on('data', (b) => {
        if (!query) {
          sent += b.length;
          client.write(b);
          return;
        }
        client.write(b.subarray(0, Math.min(b.length, 1000)));
        client.destroy();
        up.destroy();
      });
    });
    const c = createClient({ url: `clickhouse://127.0.0.1:${p.port}` });
    try {
      await assert.rejects(
        c.query({ query: 'SELECT number, toString(number) FROM numbers(100000)' }).then((r) => r.json()),
        (e: unknown) => e instanceof ConnectionError && /closed|reset|ECONNRESET/i.test((e as Error).message),
      );
    } finally {
      await c.close();
      await p.close();
    }
    const ok = createClient({ url: `clickhouse://${srv.host}:${srv.tcpPort}` });
    assert.equal(await ok.ping(), true);
    await ok.close();
  });

  test('no unhandled rejections or uncaught exceptions in this file', () => leaks.assertNone(100));
});
