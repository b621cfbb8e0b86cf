// Issue 9: HTTP transport behaviour that ClickHouse 18.16 cannot show, against a small local HTTP
// fixture: compress=1 responses (ClickHouse frames of real FORMAT Native output, framed by chwire's
// encoder and validated by the real server as a decompress=1 insert), exceptions inside frames and
// in the modern formats (X-ClickHouse-Exception-Code, __exception__), server-side param_ on newer
// servers, X-ClickHouse-Progress / -Summary, the stale keep-alive socket retry (never an INSERT),
// and what goes on the wire (User-Agent, auth, custom headers, URL parameters).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { createClient, ClickHouseError, TimeoutError } from '../src/index.js';
import { decodeNative, encodeFrames, encodeNative } from '../src/core/index.js';
import { createNodeCodecs } from '../src/transport/compression.js';
import { serverQuery, testServer } from './helpers/server.js';

interface Seen {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: Buffer;
  socketRequest: number;
}

type Handler = (req: Seen, res: ServerResponse) => void | Promise<void>;

async function fixture(handler: Handler): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const perSocket = new WeakMap<Socket, number>();
  const server: Server = createServer(async (req, res) => {
    const n = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, n);
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    const s: Seen = { method: req.method!, url: new URL(req.url!, 'http://x'), headers: req.headers, body: Buffer.concat(parts), socketRequest: n };
    seen.push(s);
    if (s.body.toString() === 'SELECT version(), timezone()') {
      res.end('24.3.1.1\tUTC\n');
      return;
    }
    try {
      await handler(s, res);
    } catch (e) {
      res.statusCode = 599;
      res.end(String(e));
    }
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes bytes in small pieces, so that frames and blocks are split across chunks. */
async function writeSlowly(res: ServerResponse, bytes: Uint8Array, piece = 997): Promise<void> {
  for (let i = 0; i < bytes.length; i += piece) {
    res.write(bytes.subarray(i, i + piece));
    if (i % (piece * 50) === 0) await sleep(1);
  }
}

function concatAll(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

const SQL = "SELECT number AS n, toString(number) AS s, [toUInt64(number % 7)] AS a FROM numbers(200000)";

describe('HTTP transport against a local fixture', { concurrency: false }, () => {
  let native: Uint8Array;
  let realServer = false;

  before(async () => {
    const srv = await testServer();
    if (srv) {
      // Real FORMAT Native output of ClickHouse 18.16.
      const r = await fetch(`http://${srv.host}:${srv.httpPort}/?max_block_size=65536`, { method: 'POST', body: `${SQL} FORMAT Native` });
      native = new Uint8Array(await r.arrayBuffer());
      realServer = true;
    } else {
      const n = Array.from({ length: 200000 }, (_, i) => BigInt(i));
      native = encodeNative({ columns: [{ name: 'n', type: 'UInt64', values: n }, { name: 's', type: 'String', values: n.map(String) }, { name: 'a', type: 'Array(UInt64)', values: n.map((x) => [x % 7n]) }] });
    }
  });

  for (const [name, method] of [['LZ4', 0x82], ['ZSTD', 0x90]] as const) {
    test(`compress=1 responses: ${name} frames (validated by the real server) decode block by block`, async () => {
      const codecs = await createNodeCodecs();
      const frames = concatAll(encodeFrames(native, method, codecs, { maxBlockSize: 100_000 }));
      const srv = await testServer();
      if (srv && realServer) {
        // The real server accepts exactly these frames (checksums, codec) as a decompress=1 body.
        const tb = `default.chwire_http_frames_${process.pid}_${name}`;
        await fetch(`http://${srv.host}:${srv.httpPort}/`, { method: 'POST', body: `CREATE TABLE ${tb} (n UInt64, s String, a Array(UInt64)) ENGINE = Memory` });
        try {
          const ins = await fetch(`http://${srv.host}:${srv.httpPort}/?decompress=1&query=${encodeURIComponent(`INSERT INTO ${tb} FORMAT Native`)}`, { method: 'POST', body: frames as BodyInit });
          assert.equal(ins.status, 200, await ins.clone().text());
          assert.deepEqual(await serverQuery(`SELECT count(), sum(n), sum(length(s)), sum(a[1]) FROM ${tb}`), await serverQuery(`SELECT count(), sum(n), sum(length(s)), sum(a[1]) FROM (${SQL})`));
        } finally {
          await fetch(`http://${srv.host}:${srv.httpPort}/`, { method: 'POST', body: `DROP TABLE ${tb}` });
        }
      }
      const fx = await fixture(async (req, res) => {
        assert.equal(req.url.searchParams.get('compress'), '1');
        assert.equal(req.url.searchParams.get('default_format'), 'Native');
        await writeSlowly(res, frames);
        res.end();
      });
      const c = createClient({ url: fx.url, compression: name === 'LZ4' ? 'lz4' : 'zstd' });
      try {
        const rs = await c.query({ query: SQL });
        let blocks = 0;
        let rows = 0;
        const got: unknown[] = [];
        for await (const b of rs) {
          blocks++;
          rows += b.rowCount;
          if (got.length < 3) got.push(...(b.columns[1]!.toArray() as unknown[]).slice(0, 3 - got.length));
        }
        const expected = decodeNative(native);
        assert.equal(rows, 200000);
        assert.equal(blocks, expected.length);
        assert.deepEqual(got, ['0', '1', '2']);
        assert.deepEqual(rs.meta, [{ name: 'n', type: 'UInt64' }, { name: 's', type: 'String' }, { name: 'a', type: 'Array(UInt64)' }]);
      } finally {
        await c.close();
        await fx.close();
      }
    });
  }

  test('compress=1: an exception after the first frames surfaces as ClickHouseError; a cut frame is an error', async () => {
    const codecs = await createNodeCodecs();
    const firstBlock = encodeNative(decodeNative(native)[0]!);
    const exception = new TextEncoder().encode("Code: 395. DB::Exception: Value passed to 'throwIf' function is non-zero. (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO) (version 24.3.1.1)\n");
    const body = concatAll([...encodeFrames(firstBlock, 0x82, codecs), ...encodeFrames(exception, 0x82, codecs)]);
    const fx = await fixture(async (req, res) => {
      if (req.body.toString().includes('cut')) {
        res.end(body.subarray(0, body.length - 10));
        return;
      }
      await writeSlowly(res, body, 333);
      res.end();
    });
    const c = createClient({ url: fx.url, compression: 'lz4' });
    try {
      let rows = 0;
      await assert.rejects(
        (async () => {
          for await (const b of await c.query({ query: 'SELECT 1' })) rows += b.rowCount;
        })(),
        (e: unknown) => e instanceof ClickHouseError && e.code === 395 && e.message === "DB::Exception: Value passed to 'throwIf' function is non-zero. (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO)",
      );
      assert.equal(rows, 65536);
      await assert.rejects(c.query({ query: 'SELECT cut' }).then((r) => r.json()), (e: unknown) => !(e instanceof ClickHouseError));
    } finally {
      await c.close();
      await fx.close();
    }
  });

  test('modern error forms: X-ClickHouse-Exception-Code on 500, __exception__ block after 200', async () => {
    const block = encodeNative({ columns: [{ name: 'x', type: 'UInt8', values: [1, 2, 3] }] });
    const fx = await fixture((req, res) => {
      if (req.body.toString().includes('missing')) {
        res.statusCode = 404;
        res.setHeader('X-ClickHouse-Exception-Code', '60');
        res.end("Code: 60. DB::Exception: Table default.missing does not exist. (UNKNOWN_TABLE) (version 24.3.1.1)\n");
        return;
      }
      res.setHeader('X-ClickHouse-Exception-Tag', 'abcdefghabcdefgh');
      res.write(block);
      const msg = 'Code: 241. DB::Exception: Memory limit exceeded. (MEMORY_LIMIT_EXCEEDED) (version 25.8.1.1)';
      res.end(`__exception__\r\nabcdefghabcdefgh\r\n${msg}\n${msg.length} abcdefghabcdefgh\r\n__exception__\r\n`);
    });
    const c = createClient({ url: fx.url });
    try {
      await assert.rejects(c.query({ query: 'SELECT * FROM missing' }), (e: unknown) => e instanceof ClickHouseError && e.code === 60 && e.type === 'DB::Exception' && /does not exist\. \(UNKNOWN_TABLE\)$/.test(e.message));
      let rows = 0;
      await assert.rejects(
        (async () => {
          for await (const b of await c.query({ query: 'SELECT x' })) rows += b.rowCount;
        })(),
        (e: unknown) => e instanceof ClickHouseError && e.code === 241,
      );
      assert.equal(rows, 3);
    } finally {
      await c.close();
      await fx.close();
    }
  });

  test('query parameters go as param_<name> to servers that support them (≥ 19.11)', async () => {
    const fx = await fixture((req, res) => {
      res.end(encodeNative({ columns: [{ name: 's', type: 'String', values: [req.url.searchParams.get('param_s') ?? ''] }, { name: 'a', type: 'String', values: [req.url.searchParams.get('param_a') ?? ''] }] }));
    });
    const c = createClient({ url: fx.url });
    try {
      const sql = 'SELECT {s:String} AS s, {a:Array(String)} AS a';
      const rows = await (await c.query({ query: sql, query_params: { s: "it's\ttab", a: ["x'y", 'z'] } })).json();
      assert.deepEqual(rows, [{ s: "it's\\ttab", a: "['x\\'y','z']" }]);
      const q = fx.seen.at(-1)!;
      assert.equal(q.body.toString(), sql, 'the query text is sent unbound');
    } finally {
      await c.close();
      await fx.close();
    }
  });

  test('X-ClickHouse-Progress headers feed on_progress (as deltas); X-ClickHouse-Summary the totals', async () => {
    const fx = await fixture((_req, res) => {
      res.setHeader('X-ClickHouse-Progress', [
        '{"read_rows":"100","read_bytes":"800","written_rows":"0","written_bytes":"0","total_rows_to_read":"1000"}',
        '{"read_rows":"600","read_bytes":"4800","written_rows":"0","written_bytes":"0","total_rows_to_read":"1000"}',
      ]);
      res.setHeader('X-ClickHouse-Summary', '{"read_rows":"1000","read_bytes":"8000","written_rows":"0","written_bytes":"0","total_rows_to_read":"1000","elapsed_ns":"123456"}');
      res.end(encodeNative({ columns: [{ name: 'x', type: 'UInt8', values: [1] }] }));
    });
    const c = createClient({ url: fx.url });
    try {
      const seen: number[] = [];
      const rs = await c.query({ query: 'SELECT 1', on_progress: (p) => seen.push(p.rows) });
      assert.deepEqual(await rs.json(), [{ x: 1 }]);
      assert.equal(fx.seen.at(-1)!.url.searchParams.get('send_progress_in_http_headers'), '1');
      assert.deepEqual(seen, [100, 500, 400]);
      assert.equal(rs.summary.progress.rows, 1000);
      assert.equal(rs.summary.progress.bytes, 8000);
      assert.equal(rs.summary.progress.totalRows, 1000);
      // Without on_progress the headers are not asked for.
      await (await c.query({ query: 'SELECT 1' })).json();
      assert.equal(fx.seen.at(-1)!.url.searchParams.get('send_progress_in_http_headers'), null);
    } finally {
      await c.close();
      await fx.close();
    }
  });

  test('a stale keep-alive socket: a query is retried once on a fresh connection, an INSERT never', async () => {
    const block = encodeNative({ columns: [{ name: 'x', type: 'UInt8', values: [7] }] });
    const fx = await fixture((req, res) => {
      // Every second request on a connection finds it closed by the "server".
      if (req.socketRequest === 2) {
        res.socket?.destroy();
        return;
      }
      res.setHeader('Keep-Alive', 'timeout=10');
      res.end(req.method === 'POST' && req.url.searchParams.get('query')?.startsWith('INSERT') ? '' : block);
    });
    const c = createClient({ url: fx.url, max_open_connections: 1 } as never);
    try {
      assert.deepEqual(await (await c.query({ query: 'SELECT 1' })).json(), [{ x: 7 }]);
      assert.deepEqual(await (await c.query({ query: 'SELECT 2' })).json(), [{ x: 7 }]);
      assert.deepEqual(
        fx.seen.map((s) => [s.body.toString(), s.socketRequest]),
        [['SELECT 1', 1], ['SELECT 2', 2], ['SELECT 2', 1]],
      );
      const before = fx.seen.length;
      await assert.rejects(c.insert({ table: 't', native: block }), (e: unknown) => (e as { code?: string }).code === 'CHWIRE_CONNECTION');
      assert.equal(fx.seen.length - before, 1, 'the INSERT was sent once');
    } finally {
      await c.close();
      await fx.close();
    }
  });

  test('on the wire: User-Agent, basic auth / X-ClickHouse headers, custom headers, URL parameters', async () => {
    const fx = await fixture((_req, res) => void res.end());
    const c = createClient({
      url: `${''}http://u%40ser:p%C3%A4ss@127.0.0.1:${new URL(fx.url).port}/mydb`,
      application: 'myapp/1.2',
      http_headers: { 'X-Trace': 'abc' },
      clickhouse_settings: { max_threads: 2, use_uncompressed_cache: false },
    } as never);
    const h = createClient({ url: fx.url, username: 'bob', password: 'pw', http_auth: 'headers' } as never);
    try {
      await c.command({ query: 'SELECT 1', query_id: 'qid-1', session_id: 'sess-1' });
      const r = fx.seen.at(-1)!;
      assert.match(r.headers['user-agent']!, /^myapp\/1\.2 chwire\/\d+\.\d+\.\d+ \(lv:node\/\d+\.\d+\.\d+; os:\w+; arch:\w+\)$/);
      assert.equal(r.headers.authorization, `Basic ${Buffer.from('u@ser:päss').toString('base64')}`);
      assert.equal(r.headers['x-trace'], 'abc');
      assert.equal(r.method, 'POST');
      assert.deepEqual(Object.fromEntries(r.url.searchParams), {
        database: 'mydb',
        query_id: 'qid-1',
        session_id: 'sess-1',
        max_threads: '2',
        use_uncompressed_cache: '0',
        default_format: 'Native',
      });
      await h.command({ query: 'SELECT 1' });
      const r2 = fx.seen.at(-1)!;
      assert.equal(r2.headers['x-clickhouse-user'], 'bob');
      assert.equal(r2.headers['x-clickhouse-key'], 'pw');
      assert.equal(r2.headers.authorization, undefined);
    } finally {
      await c.close();
      await h.close();
      await fx.close();
    }
  });

  test('request_timeout: a body that trickles in (each piece within it) completes; a stall mid-body longer than it is a TimeoutError', async () => {
    // A tenth of the body every 120 ms: the answer takes far longer than the 400 ms deadline, never silent that long.
    let stallAfter = Infinity;
    const piece = Math.ceil(native.length / 10);
    const fx = await fixture(async (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      for (let i = 0; i < native.length; i += piece) {
        if (i >= stallAfter) await sleep(1500);
        res.write(native.subarray(i, i + piece));
        await sleep(120);
      }
      res.end();
    });
    const c = createClient({ url: fx.url, request_timeout: 400 });
    try {
      const t0 = Date.now();
      let rows = 0;
      for await (const b of await c.query({ query: SQL })) rows += b.rowCount;
      assert.equal(rows, 200000);
      assert.ok(Date.now() - t0 > 800, `the answer took ${Date.now() - t0} ms`);
      stallAfter = 2 * piece;
      await assert.rejects(
        (async () => {
          for await (const _ of await c.query({ query: SQL })) {
            /* the stall comes mid-body */
          }
        })(),
        (e: unknown) => e instanceof TimeoutError,
      );
    } finally {
      await c.close();
      await fx.close();
    }
  });
});
