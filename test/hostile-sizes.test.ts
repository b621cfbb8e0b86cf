// Hostile declared sizes: a few bytes declaring a huge block body, String, dictionary, aggregate
// column or compression frame must give a ChwireError with a code (never a raw RangeError), and
// must not make chwire allocate more than Limits.maxAllocAheadBytes ahead of the bytes received.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { createClient } from '../src/index.js';
import {
  ChwireError,
  CompressionMethod,
  Connection,
  FrameDecoder,
  Limits,
  NativeStreamDecoder,
  Writer,
  cityHash128Into,
  codecSet,
  decodeFrame,
  decodeNative,
  encodeFrame,
  noneCodec,
  pureCodecs,
  pureLz4Codec,
  type CompressionCodec,
} from '../src/core/index.js';
import { encodeServerHello } from '../src/core/protocol/index.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
/** Largest single inbound allocation allowed for a hostile header: the cap plus a read's slack. */
const BOUND = Limits.maxAllocAheadBytes + 4 * 1024 * 1024;

function varu(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const str = (s: string) => [...varu(Buffer.byteLength(s)), ...Buffer.from(s)];

/** FORMAT Native block (no BlockInfo): one column `a` of `type`, `rows` rows, then `body`. */
const nativeBlock = (rows: number, type: string, body: number[]) => new Uint8Array([1, ...varu(rows), ...str('a'), ...str(type), ...body]);

/** An allocator that records the largest request. */
function recording() {
  const r = { max: 0, alloc: (n: number) => ((r.max = Math.max(r.max, n)), new Uint8Array(n)) };
  return r;
}

function assertChwire(e: unknown, code?: string): true {
  assert.ok(e instanceof ChwireError, `expected a ChwireError, got ${String(e)}`);
  if (code) assert.equal(e.code, code, e.message);
  return true;
}

// A LowCardinality(String) column declaring a dictionary of 0x7fffffff keys.
const LC_HUGE_DICT = [1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 1, 2];

describe('NativeStreamDecoder: declared sizes do not allocate ahead of the bytes', () => {
  test('1e12 rows of UInt64 with 3 body bytes: CHWIRE_TRUNCATED, no RangeError', () => {
    const bytes = hex('0180a094a58d1d01610655496e743634010203');
    assert.throws(() => decodeNative(bytes), (e) => assertChwire(e, 'CHWIRE_TRUNCATED'));
    const r = recording();
    const d = new NativeStreamDecoder({}, r.alloc);
    assert.deepEqual(d.push(bytes), []);
    assert.throws(() => d.end(), (e) => assertChwire(e, 'CHWIRE_TRUNCATED'));
    assert.ok(r.max <= BOUND, `allocated ${r.max}`);
  });

  for (const [name, bytes] of [
    ['5e8 rows of UInt64 (4 GB body)', hex('0180cab5ee0101610655496e743634010203')],
    ['a String of 2^30 - 1 bytes', nativeBlock(1, 'String', [...varu(2 ** 30 - 1), 1, 2])],
    ['a LowCardinality dictionary of 0x7fffffff keys', nativeBlock(2, 'LowCardinality(String)', LC_HUGE_DICT)],
  ] as const) {
    test(`${name}: at most the cap allocated, byte by byte and whole`, () => {
      for (const step of [1, bytes.length]) {
        const r = recording();
        const d = new NativeStreamDecoder({}, r.alloc);
        for (let i = 0; i < bytes.length; i += step) assert.deepEqual(d.push(bytes.slice(i, i + step)), []);
        assert.ok(r.max <= BOUND, `allocated ${r.max} for ${bytes.length} bytes`);
        assert.throws(() => d.end(), (e) => assertChwire(e, 'CHWIRE_TRUNCATED'));
      }
      assert.throws(() => decodeNative(bytes), (e) => assertChwire(e, 'CHWIRE_TRUNCATED'));
    });
  }

  test('a body larger than the cap still decodes, in buffers that grow with the bytes', () => {
    const rows = (Limits.maxAllocAheadBytes / 8) * 1.5;
    const body = new BigUint64Array(rows);
    for (let i = 0; i < rows; i += 4099) body[i] = BigInt(i) * 3n;
    body[rows - 1] = 77n;
    const header = nativeBlock(rows, 'UInt64', []);
    const r = recording();
    const d = new NativeStreamDecoder({}, r.alloc);
    assert.deepEqual(d.push(header), []);
    assert.ok(r.max <= BOUND);
    const raw = new Uint8Array(body.buffer);
    const blocks = [];
    for (let i = 0; i < raw.length; i += 1 << 20) blocks.push(...d.push(raw.slice(i, i + (1 << 20))));
    d.end();
    assert.equal(blocks.length, 1);
    const out = blocks[0]!.columns[0]!.toArray() as BigUint64Array;
    assert.equal(out.length, rows);
    assert.equal(out[4099], 4099n * 3n);
    assert.equal(out[rows - 1], 77n);
    // Geometric growth: never more than twice the body (plus the read slack).
    assert.ok(r.max <= 2 * raw.length + (1 << 20), `allocated ${r.max} for a ${raw.length}-byte body`);
  });
});

test('AggregateFunction: no per-row arrays for rows the bytes cannot hold', () => {
  // 1e9 rows of count() states in 3 bytes: truncated, without 2 × Uint32Array(1e9) first.
  const before = process.memoryUsage().arrayBuffers;
  assert.throws(() => decodeNative(nativeBlock(1e9, 'AggregateFunction(count)', [1, 2, 3])), (e) => assertChwire(e, 'CHWIRE_TRUNCATED'));
  const grew = process.memoryUsage().arrayBuffers - before;
  assert.ok(grew < 1e9, `grew by ${grew} bytes`);
  // 5e9 rows: truncated too (not the RangeError of an impossible array, renamed a limit).
  assert.throws(() => decodeNative(nativeBlock(5e9, 'AggregateFunction(count)', [1, 2, 3])), (e) => assertChwire(e, 'CHWIRE_TRUNCATED'));
  // Real states still decode.
  const ok = decodeNative(nativeBlock(3, 'AggregateFunction(count)', [1, 2, 0x81, 1]));
  assert.deepEqual([...(ok[0]!.columns[0]!.toArray() as Uint8Array[])].map((s) => [...s]), [[1], [2], [0x81, 1]]);
});

// ---------------------------------------------------------------- Connection

/** A server Hello at revision 54460 (BlockInfo, custom serialization, no chunked framing). */
function serverHello(): Uint8Array {
  const w = new Writer(64);
  encodeServerHello(w, { serverName: 'hostile', versionMajor: 24, versionMinor: 1, revision: 54460, timezone: 'UTC', displayName: 'h', versionPatch: 1 }, 54460);
  return w.toBytes();
}
/** A Data packet: empty table name, BlockInfo, then one column `a`. */
const dataPacket = (rows: number, type: string, body: number[]) =>
  new Uint8Array([1, 0, 1, 0, 2, 0xff, 0xff, 0xff, 0xff, 0, 1, ...varu(rows), ...str('a'), ...str(type), 0, ...body]);

describe('Connection: a hostile Data packet after a valid Hello', () => {
  const cases = [
    ['1e12 rows of UInt64', dataPacket(1e12, 'UInt64', [1, 2, 3])],
    ['5e8 rows of UInt64', dataPacket(5e8, 'UInt64', [1, 2, 3])],
    ['a String of 2^30 - 1 bytes', dataPacket(1, 'String', [...varu(2 ** 30 - 1), 1, 2])],
    ['a LowCardinality dictionary of 0x7fffffff keys', dataPacket(2, 'LowCardinality(String)', LC_HUGE_DICT)],
  ] as const;
  test('the repro packet is the tester\'s bytes', () => {
    assert.equal(Buffer.from(cases[0][1]).toString('hex'), '0100010002ffffffff000180a094a58d1d01610655496e74363400010203');
  });
  for (const [name, pkt] of cases) {
    for (const path of ['receive', 'readTarget'] as const) {
      test(`${name} via ${path}(): waits for bytes, allocates at most the cap`, () => {
        const r = recording();
        const conn = new Connection({ clientName: 't', alloc: r.alloc });
        conn.takeOutput();
        conn.receive(serverHello());
        assert.equal(conn.state, 'idle');
        conn.query({ query: 'SELECT 1' });
        for (let i = 0; i < pkt.length; i += 4) {
          const chunk = pkt.slice(i, i + 4);
          if (path === 'receive') assert.deepEqual(conn.receive(chunk), []);
          else {
            const t = conn.readTarget(chunk.length)!;
            t.set(chunk.subarray(0, Math.min(t.length, chunk.length)));
            assert.deepEqual(conn.received(Math.min(t.length, chunk.length)), []);
          }
        }
        assert.equal(conn.state, 'query');
        assert.ok(r.max <= BOUND, `allocated ${r.max}`);
        // A read target stays bounded while the body is "still arriving".
        if (path === 'readTarget') assert.ok(conn.readTarget(64 * 1024)!.length <= BOUND);
      });
    }
  }
});

describe('over a real socket: a hostile server after a valid Hello', { concurrency: false }, () => {
  /** Answers Hello, then `packet` once the client has sent its query, then closes. */
  async function hostile(packet: Uint8Array) {
    const server = net.createServer((s) => {
      s.on('error', () => {});
      let seen = 0;
      s.on('data', (b) => {
        // The client's Hello, then (after ours) its addendum, Query and empty data block.
        if (seen++ === 0) s.write(serverHello());
        else setTimeout(() => s.end(packet), 30);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { port: (server.address() as net.AddressInfo).port, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  for (const [name, rows] of [
    ['1e12 rows of UInt64', 1e12],
    ['5e8 rows of UInt64', 5e8],
  ] as const) {
    test(`${name}: query() rejects with a ChwireError, not a RangeError, without a 4 GB buffer`, async () => {
      const srv = await hostile(dataPacket(rows, 'UInt64', [1, 2, 3]));
      const client = createClient({ url: `clickhouse://127.0.0.1:${srv.port}`, request_timeout: 5000, connect_timeout: 2000 });
      const before = process.memoryUsage().arrayBuffers;
      try {
        await assert.rejects(
          (async () => (await client.query({ query: 'SELECT 1' })).json())(),
          (e) => assertChwire(e),
        );
        const grew = process.memoryUsage().arrayBuffers - before;
        assert.ok(grew < 1e9, `inbound buffers grew by ${grew} bytes`);
      } finally {
        await client.close();
        await srv.close();
      }
    });
  }
});

// ---------------------------------------------------------------- compression frames

/** `frame` with its sizes replaced and its checksum made valid again. */
function patchFrame(frame: Uint8Array, decompressed: number, compressed?: number): Uint8Array {
  const f = frame.slice();
  const v = new DataView(f.buffer);
  if (compressed !== undefined) v.setUint32(17, compressed, true);
  v.setUint32(21, decompressed, true);
  cityHash128Into(f, 16, f.length, f, 0);
  return f;
}

/** A codec for `method` that records the output sizes it was asked for. */
function spyCodec(method: number): CompressionCodec & { asked: number[] } {
  const asked: number[] = [];
  return { method, name: 'spy', asked, compress: (s) => s, decompress: (_s, d) => void asked.push(d.length) };
}

describe('compression frames: declared sizes are checked against the payload', () => {
  test('LZ4: 1 GiB declared for a few hundred payload bytes is refused before allocating', () => {
    const frame = encodeFrame(new Uint8Array(300).map((_, i) => (i * 7919) & 255), CompressionMethod.LZ4, pureCodecs());
    const payload = frame.length - 25;
    const spy = spyCodec(CompressionMethod.LZ4);
    for (const declared of [1 << 30, payload * 255 + 1]) {
      const bad = patchFrame(frame, declared);
      assert.throws(() => decodeFrame(bad, codecSet(spy)), (e) => assertChwire(e, 'CHWIRE_FRAME_SIZE'));
      assert.throws(() => decodeFrame(bad, pureCodecs()), (e) => assertChwire(e, 'CHWIRE_FRAME_SIZE'));
      assert.throws(() => new FrameDecoder(pureCodecs()).push(bad), (e) => assertChwire(e, 'CHWIRE_FRAME_SIZE'));
    }
    assert.deepEqual(spy.asked, []);
    // At the bound the size is the codec's to check.
    assert.throws(() => decodeFrame(patchFrame(frame, payload * 255), codecSet(pureLz4Codec())), (e) => assertChwire(e));
    // The best real ratio stays under the bound.
    const zeros = new Uint8Array(1 << 20);
    assert.deepEqual(decodeFrame(encodeFrame(zeros, CompressionMethod.LZ4, pureCodecs()), pureCodecs()).data, zeros);
  });

  test('None: a decompressed size other than the payload is refused', () => {
    const frame = encodeFrame(new Uint8Array(10), CompressionMethod.None, codecSet(noneCodec()));
    assert.throws(() => decodeFrame(patchFrame(frame, 1 << 30), pureCodecs()), (e) => assertChwire(e, 'CHWIRE_FRAME_SIZE'));
  });

  test('ZSTD: the frame content size must match the declared size; without it the block bound holds', () => {
    const spy = spyCodec(CompressionMethod.ZSTD);
    // zstd frame: magic, FHD 0x20 (single segment, 1-byte content size) = 100, then a raw last block of 0 bytes.
    const withFcs = [0x28, 0xb5, 0x2f, 0xfd, 0x20, 100, 1, 0, 0];
    const frame = (payload: number[], declared: number) => {
      const f = new Uint8Array(25 + payload.length);
      f[16] = CompressionMethod.ZSTD;
      f.set(payload, 25);
      return patchFrame(f, declared, 9 + payload.length);
    };
    assert.throws(() => decodeFrame(frame(withFcs, 1 << 30), codecSet(spy)), (e) => assertChwire(e, 'CHWIRE_FRAME_SIZE'));
    assert.throws(() => decodeFrame(frame(withFcs, 200_000), codecSet(spy)), (e) => assertChwire(e, 'CHWIRE_DECOMPRESSED_SIZE_MISMATCH'));
    assert.deepEqual(spy.asked, []);
    decodeFrame(frame(withFcs, 100), codecSet(spy));
    assert.deepEqual(spy.asked, [100]);
    // No content size (FHD 0x00, window byte): 10 payload bytes make at most 2 blocks of 128 KiB.
    const noFcs = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x50, 1, 0, 0, 0];
    assert.throws(() => decodeFrame(frame(noFcs, 2 * 131072 + 1), codecSet(spy)), (e) => assertChwire(e, 'CHWIRE_FRAME_SIZE'));
    decodeFrame(frame(noFcs, 2 * 131072), codecSet(spy));
    assert.deepEqual(spy.asked, [100, 2 * 131072]);
  });

  test('FrameDecoder: a header declaring 1 GiB allocates at most the cap; the frame still completes', () => {
    const data = new Uint8Array(3 << 20).map((_, i) => (i * 2654435761) >>> 24);
    const frame = encodeFrame(data, CompressionMethod.None, codecSet(noneCodec()));
    const head = frame.slice(0, 25);
    head[16] = CompressionMethod.LZ4;
    const hostile = patchFrame(head, 1 << 30, (1 << 30) - 16);
    const keep: FrameDecoder[] = [];
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 4; i++) {
      const d = new FrameDecoder(pureCodecs());
      assert.deepEqual(d.push(hostile), []);
      keep.push(d);
    }
    const grew = process.memoryUsage().arrayBuffers - before;
    assert.ok(grew <= 4 * BOUND, `4 headers grew buffers by ${grew} bytes`);
    assert.throws(() => keep[0]!.end(), (e) => assertChwire(e, 'CHWIRE_FRAME_TRUNCATED'));
    // A real frame split anywhere still decodes.
    for (const cut of [3, 25, 1000, frame.length - 1]) {
      const d = new FrameDecoder(pureCodecs());
      const out = [...d.push(frame.subarray(0, cut)), ...d.push(frame.subarray(cut))];
      d.end();
      assert.equal(out.length, 1);
      assert.deepEqual(out[0], data);
    }
  });
});
