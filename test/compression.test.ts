import { CH_GO_VECTORS } from './helpers/vectors.js';
// Compression frames (issue 4), core only: CityHash128 v1.0.2, pure LZ4, frames,
// the resumable decoder, hostile input. Node codecs: compression-node.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CompressionMethod,
  FrameDecoder,
  Lz4BlockCompressor,
  codecSet,
  cityHash128,
  decodeFrame,
  decodeFrames,
  encodeFrame,
  encodeFrames,
  lz4CompressBound,
  lz4DecompressBlock,
  noneCodec,
  pureCodecs,
  type CodecSet,
  type CompressionCodec,
} from '../src/core/compression/index.js';
import { CompressionError } from '../src/core/errors.js';
import { cityHash128Into } from '../src/core/compression/cityhash.js';

const VEC = join(CH_GO_VECTORS, 'compress');
const vec = (name: string) => new Uint8Array(readFileSync(join(VEC, name)));

// ---------- deterministic data ----------
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}
function randomBytes(n: number, seed = 1): Uint8Array {
  const r = rng(seed);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r() >>> 24;
  return b;
}
function numbers(n: number): Uint8Array {
  const b = new Uint8Array(n);
  const v = new DataView(b.buffer);
  for (let i = 0; i + 8 <= n; i += 8) v.setUint32(i, (i / 8) * 3, true);
  return b;
}
function logLines(n: number, seed = 7): Uint8Array {
  const r = rng(seed);
  const enc = new TextEncoder();
  const b = new Uint8Array(n);
  const levels = ['INFO', 'WARN', 'DEBUG', 'ERROR'];
  let o = 0;
  while (o < n) {
    const x = r();
    const line = enc.encode(
      `2024-05-${String((x % 28) + 1).padStart(2, '0')} 12:${String(x % 60).padStart(2, '0')} ${levels[x & 3]} ` +
        `request_id=${(r() % 1e6).toString(16)} path=/api/v1/items/${r() % 5000} status=${200 + (x % 5)} took=${r() % 900}ms\n`,
    );
    b.set(line.subarray(0, n - o), o);
    o += line.length;
  }
  return b;
}
const equalBytes = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;

function expectCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CompressionError, `expected CompressionError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

// ---------- CityHash128 ----------
const M64 = (1n << 64n) - 1n;
// An independent, slow BigInt rendering of CityHash v1.0.2's CityHash128, for cross-checking.
function refCity128(s: Uint8Array): [bigint, bigint] {
  const k0 = 0xc3a5c85c97cb3127n, k1 = 0xb492b66fbe98f273n, k2 = 0x9ae16a3b2f90404fn, k3 = 0xc949d7c7509e6557n;
  const dv = new DataView(s.buffer, s.byteOffset, s.length);
  const f64 = (p: number) => dv.getBigUint64(p, true);
  const f32 = (p: number) => BigInt(dv.getUint32(p, true));
  const rot = (v: bigint, n: number) => (n === 0 ? v : ((v >> BigInt(n)) | (v << BigInt(64 - n))) & M64);
  const sm = (v: bigint) => v ^ (v >> 47n);
  const mul = (a: bigint, b: bigint) => (a * b) & M64;
  const add = (...xs: bigint[]) => xs.reduce((a, b) => (a + b) & M64, 0n);
  const h16 = (u: bigint, v: bigint) => {
    const km = 0x9ddfea08eb382d69n;
    let a = mul(u ^ v, km);
    a ^= a >> 47n;
    let b = mul(v ^ a, km);
    b ^= b >> 47n;
    return mul(b, km);
  };
  const h0to16 = (p: number, len: number): bigint => {
    if (len > 8) {
      const a = f64(p), b = f64(p + len - 8);
      return h16(a, rot(add(b, BigInt(len)), len)) ^ b;
    }
    if (len >= 4) return h16(add(BigInt(len), (f32(p) << 3n) & M64), f32(p + len - 4));
    if (len > 0) {
      const y = BigInt(s[p]! + (s[p + (len >> 1)]! << 8));
      const z = BigInt(len + (s[p + len - 1]! << 2));
      return mul(sm(mul(y, k2) ^ mul(z, k3)), k2);
    }
    return k2;
  };
  const weak = (p: number, a: bigint, b: bigint): [bigint, bigint] => {
    const w = f64(p), x = f64(p + 8), y = f64(p + 16), z = f64(p + 24);
    a = add(a, w);
    b = rot(add(b, a, z), 21);
    const c = a;
    a = add(a, x, y);
    b = add(b, rot(a, 44));
    return [add(a, z), add(b, c)];
  };
  const murmur = (p: number, len: number, sl: bigint, sh: bigint): [bigint, bigint] => {
    let a = sl, b = sh, c = 0n, d = 0n, l = len - 16;
    if (l <= 0) {
      a = mul(sm(mul(a, k1)), k1);
      c = add(mul(b, k1), h0to16(p, len));
      d = sm(add(a, len >= 8 ? f64(p) : c));
    } else {
      c = h16(add(f64(p + len - 8), k1), a);
      d = h16(add(b, BigInt(len)), add(c, f64(p + len - 16)));
      a = add(a, d);
      do {
        a ^= mul(sm(mul(f64(p), k1)), k1);
        a = mul(a, k1);
        b ^= a;
        c ^= mul(sm(mul(f64(p + 8), k1)), k1);
        c = mul(c, k1);
        d ^= c;
        p += 16;
        l -= 16;
      } while (l > 0);
    }
    a = h16(a, c);
    b = h16(d, b);
    return [a ^ b, h16(b, a)];
  };
  const withSeed = (p: number, len: number, sl: bigint, sh: bigint): [bigint, bigint] => {
    if (len < 128) return murmur(p, len, sl, sh);
    let x = sl, y = sh, z = mul(BigInt(len), k1);
    let v: [bigint, bigint] = [0n, 0n], w: [bigint, bigint] = [0n, 0n];
    v[0] = add(mul(rot(y ^ k1, 49), k1), f64(p));
    v[1] = add(mul(rot(v[0], 42), k1), f64(p + 8));
    w[0] = add(mul(rot(add(y, z), 35), k1), x);
    w[1] = mul(rot(add(x, f64(p + 88)), 53), k1);
    do {
      for (let half = 0; half < 2; half++) {
        x = mul(rot(add(x, y, v[0], f64(p + 16)), 37), k1);
        y = mul(rot(add(y, v[1], f64(p + 48)), 42), k1);
        x ^= w[1];
        y ^= v[0];
        z = rot(z ^ w[0], 33);
        v = weak(p, mul(v[1], k1), add(x, w[0]));
        w = weak(p + 32, add(z, w[1]), y);
        [z, x] = [x, z];
        p += 64;
      }
      len -= 128;
    } while (len >= 128);
    y = add(y, mul(rot(w[0], 37), k0), z);
    x = add(x, mul(rot(add(v[0], z), 49), k0));
    for (let done = 0; done < len; ) {
      done += 32;
      y = add(mul(rot((y - x) & M64, 42), k0), v[1]);
      w[0] = add(w[0], f64(p + len - done + 16));
      x = add(mul(rot(x, 49), k0), w[0]);
      w[0] = add(w[0], v[0]);
      v = weak(p + len - done, v[0], v[1]);
    }
    x = h16(x, v[0]);
    y = h16(y, w[0]);
    return [add(h16(add(x, v[1]), w[1]), y), h16(add(x, w[1]), add(y, v[1]))];
  };
  const len = s.length;
  if (len >= 16) return withSeed(16, len - 16, f64(0) ^ k3, f64(8));
  if (len >= 8) return withSeed(0, 0, f64(0) ^ mul(BigInt(len), k0), f64(len - 8) ^ k1);
  return withSeed(0, len, k0, k1);
}

test('CityHash128 v1.0.2: the four vectors of protocol-notes.md', () => {
  const enc = new TextEncoder();
  const cases: [Uint8Array, bigint, bigint][] = [
    [new Uint8Array(0), 0x3df09dfc64c09a2bn, 0x3cb540c392e51e29n],
    [enc.encode('Hello, World!'), 0x703dabf8d081ec00n, 0xa196e28f28c3ee09n],
    [enc.encode('The quick brown fox jumps over the lazy dog'), 0x69102202d326a2fdn, 0xe4b1346bbee531a1n],
    [new Uint8Array(200).fill(0xab), 0xb29e1d196fe650dfn, 0x3dae10d6a77e0432n],
  ];
  for (const [data, lo, hi] of cases) {
    assert.deepEqual(cityHash128(data), { lo, hi });
    assert.deepEqual(refCity128(data), [lo, hi]);
  }
});

test('CityHash128 agrees with the BigInt reference at every length 0..600 and some large ones', () => {
  const data = randomBytes(70_000, 42);
  const lens = [...Array(601).keys(), 1023, 1024, 1025, 4096 + 77, 65_536, 70_000];
  for (const n of lens) {
    // Odd start offset: reads must not assume alignment.
    const s = data.subarray(3, 3 + Math.min(n, data.length - 3));
    const [lo, hi] = refCity128(s);
    assert.deepEqual(cityHash128(s), { lo, hi }, `length ${s.length}`);
  }
});

test('cityHash128Into writes low then high, little-endian; range arguments respected', () => {
  const data = randomBytes(300, 5);
  const out = new Uint8Array(20);
  cityHash128Into(data, 10, 250, out, 2);
  const { lo, hi } = cityHash128(data.subarray(10, 250));
  const v = new DataView(out.buffer);
  assert.equal(v.getBigUint64(2, true), lo);
  assert.equal(v.getBigUint64(10, true), hi);
  assert.throws(() => cityHash128(data, 5, 400), RangeError);
});

// ---------- ch-go vectors ----------
test('ch-go frames (none, LZ4, LZ4HC) decode to data_raw.raw; ZSTD frame checksum verifies', () => {
  const raw = vec('data_raw.raw');
  const codecs = pureCodecs();
  for (const name of ['data_compressed_none.raw', 'data_compressed_lz4.raw', 'data_compressed_lz4hc.raw', 'data_compressed_lz4_hc.raw']) {
    const frame = vec(name);
    const { data, frameBytes } = decodeFrame(frame, codecs);
    assert.equal(frameBytes, frame.length, name);
    assert.ok(equalBytes(data, raw), name);
  }
  // Without a ZSTD codec the checksum still verifies, then the method is refused by name.
  expectCode(() => decodeFrame(vec('data_compressed_zstd.raw'), codecs), 'CHWIRE_UNKNOWN_COMPRESSION_METHOD');
  assert.throws(() => decodeFrame(vec('data_compressed_zstd.raw'), codecs), /0x90/);
});

test("the 'none' frame is reproduced byte for byte", () => {
  const frames = encodeFrames(vec('data_raw.raw'), CompressionMethod.None, pureCodecs());
  assert.equal(frames.length, 1);
  assert.ok(equalBytes(frames[0]!, vec('data_compressed_none.raw')));
});

// ---------- LZ4 ----------
const SIZES = [0, 1, 2, 5, 12, 13, 14, 15, 16, 17, 31, 64, 255, 256, 1000, 65_535, 65_536, 70_000, 300_000];
test('pure LZ4 round trips random, numeric, log-like and repetitive data of many sizes', () => {
  const c = new Lz4BlockCompressor();
  for (const make of [randomBytes, numbers, logLines, (n: number) => new Uint8Array(n).fill(7)]) {
    for (const n of SIZES) {
      const d = make(n);
      const z = c.compress(d);
      assert.ok(z.length <= lz4CompressBound(n));
      const out = new Uint8Array(n);
      assert.equal(lz4DecompressBlock(z, 0, z.length, out, 0, n), n);
      assert.ok(equalBytes(out, d), `${make.name} ${n}`);
    }
  }
  // Compression actually compresses.
  assert.ok(c.compress(logLines(100_000)).length < 50_000);
  assert.ok(c.compress(numbers(100_000)).length < 60_000);
});

test('LZ4 decompression of the C reference: lz4 CLI blocks', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const probe = spawnSync('lz4', ['--version']);
  if (probe.status !== 0) return t.skip('lz4 CLI not installed');
  const input = logLines(200_000, 3);
  for (const level of ['-1', '-9']) {
    // Independent blocks, no checksums: the frame is a list of plain LZ4 blocks.
    const r = spawnSync('lz4', [level, '-c', '-BI', '-B4', '--no-frame-crc'], { input });
    assert.equal(r.status, 0);
    const blocks = lz4FrameBlocks(new Uint8Array(r.stdout));
    const out = new Uint8Array(input.length);
    let op = 0;
    for (const b of blocks) {
      if (b.raw) {
        out.set(b.data, op);
        op += b.data.length;
      } else {
        op += lz4DecompressBlock(b.data, 0, b.data.length, out, op, Math.min(out.length, op + 65_536));
      }
    }
    assert.equal(op, input.length);
    assert.ok(equalBytes(out, input), `lz4 ${level}`);
  }
});

test('LZ4 blocks from the pure compressor are read by the C reference (lz4 -d)', async (t) => {
  const { spawnSync } = await import('node:child_process');
  if (spawnSync('lz4', ['--version']).status !== 0) return t.skip('lz4 CLI not installed');
  const c = new Lz4BlockCompressor();
  for (const input of [logLines(600_000, 9), numbers(300_000), randomBytes(100_000), new Uint8Array(0)]) {
    const parts: Uint8Array[] = [new Uint8Array([0x04, 0x22, 0x4d, 0x18, 0x60, 0x50, 0xfb])]; // FLG 0x60, BD 256 KiB, HC as lz4 writes it
    for (let p = 0; p < input.length; p += 256 * 1024) {
      const z = c.compress(input.subarray(p, Math.min(input.length, p + 256 * 1024)));
      const size = new Uint8Array(4);
      new DataView(size.buffer).setUint32(0, z.length, true);
      parts.push(size, z);
    }
    parts.push(new Uint8Array(4));
    const r = spawnSync('lz4', ['-d', '-c'], { input: Buffer.concat(parts), maxBuffer: 1 << 26 });
    assert.equal(r.status, 0, r.stderr.toString());
    assert.ok(equalBytes(new Uint8Array(r.stdout), input));
  }
});

function lz4FrameBlocks(f: Uint8Array): { raw: boolean; data: Uint8Array }[] {
  const v = new DataView(f.buffer, f.byteOffset, f.length);
  assert.equal(v.getUint32(0, true), 0x184d2204);
  const flg = f[4]!;
  let p = 7 + (flg & 0x08 ? 8 : 0);
  const out: { raw: boolean; data: Uint8Array }[] = [];
  for (;;) {
    const w = v.getUint32(p, true);
    p += 4;
    if (w === 0) break;
    const n = w & 0x7fffffff;
    out.push({ raw: (w & 0x80000000) !== 0, data: f.subarray(p, p + n) });
    p += n;
  }
  return out;
}

test('hostile LZ4 payloads error cleanly and never write outside the declared output', () => {
  const cases: [string, number[], number][] = [
    ['offset 0', [0x10, 0x61, 0x00, 0x00], 10],
    ['offset beyond the output', [0x10, 0x61, 0x05, 0x00], 10],
    ['literal run past the input', [0x50, 0x61, 0x62], 10],
    ['literal run past the output', [0x50, 0x61, 0x62, 0x63, 0x64, 0x65], 3],
    ['match past the output', [0x1f, 0x61, 0x01, 0x00, 0x40], 10],
    ['truncated offset', [0x10, 0x61, 0x01], 10],
    ['truncated literal length', [0xf0, 0xff], 400],
    ['truncated match length', [0x1f, 0x61, 0x01, 0x00, 0xff], 400],
    ['empty input', [], 0],
  ];
  for (const [name, bytes, size] of cases) {
    // Guard bytes around the output window must stay untouched.
    const dst = new Uint8Array(size + 16).fill(0xee);
    expectCode(() => lz4DecompressBlock(new Uint8Array(bytes), 0, bytes.length, dst, 8, 8 + size), 'CHWIRE_LZ4_CORRUPT');
    for (let i = 0; i < 8; i++) assert.equal(dst[i], 0xee, name);
    for (let i = 8 + size; i < dst.length; i++) assert.equal(dst[i], 0xee, name);
  }
  // A match may not reach before dstStart even if the array has bytes there.
  const dst = new Uint8Array(32);
  expectCode(() => lz4DecompressBlock(new Uint8Array([0x10, 0x61, 0x02, 0x00, 0x00]), 0, 5, dst, 16, 32), 'CHWIRE_LZ4_CORRUPT');
  // Random garbage never escapes its window either.
  const r = rng(99);
  for (let i = 0; i < 3000; i++) {
    const junk = randomBytes(1 + (r() % 64), i + 1);
    const out = new Uint8Array(200).fill(0xee);
    try {
      lz4DecompressBlock(junk, 0, junk.length, out, 50, 150);
    } catch (e) {
      assert.ok(e instanceof CompressionError);
    }
    for (let k = 0; k < 50; k++) assert.equal(out[k], 0xee);
    for (let k = 150; k < 200; k++) assert.equal(out[k], 0xee);
  }
});

test('long overlapping matches (RLE) decompress correctly', () => {
  // 'ab' then a 1000-byte match at offset 2, then 5 literals.
  const lenBytes = [0xff, 0xff, 0xff, 1000 - 4 - 15 - 765];
  const block = new Uint8Array([0x2f, 0x61, 0x62, 0x02, 0x00, ...lenBytes, 0x50, 0x63, 0x63, 0x63, 0x63, 0x63]);
  const out = new Uint8Array(1007);
  assert.equal(lz4DecompressBlock(block, 0, block.length, out, 0, out.length), 1007);
  for (let i = 0; i < 1002; i++) assert.equal(out[i], i % 2 === 0 ? 0x61 : 0x62);
  // Every offset 1..40 with a long match.
  for (let off = 1; off <= 40; off++) {
    const d = new Uint8Array(5000);
    for (let i = 0; i < d.length; i++) d[i] = i < off ? i + 1 : d[i - off]!;
    const z = new Lz4BlockCompressor().compress(d);
    const o = new Uint8Array(d.length);
    lz4DecompressBlock(z, 0, z.length, o, 0, o.length);
    assert.ok(equalBytes(o, d), `offset ${off}`);
  }
});

// ---------- frames ----------
test('frames round trip through none and pure LZ4; multi-frame > 1 MiB splits at 1 MiB', () => {
  const codecs = pureCodecs();
  for (const method of [CompressionMethod.None, CompressionMethod.LZ4]) {
    for (const d of [new Uint8Array(0), new Uint8Array([42]), randomBytes(5000), logLines(100_000), numbers(2_500_000)]) {
      const frames = encodeFrames(d, method, codecs);
      assert.equal(frames.length, Math.ceil(d.length / (1 << 20)));
      const joined = new Uint8Array(Buffer.concat(frames));
      assert.ok(equalBytes(decodeFrames(joined, codecs), d));
      for (const f of frames) assert.equal(f[16], method);
    }
  }
  const small = encodeFrames(randomBytes(10_000), CompressionMethod.LZ4, codecs, { maxBlockSize: 4096 });
  assert.equal(small.length, 3);
  // A single empty frame is still valid.
  assert.equal(decodeFrame(encodeFrame(new Uint8Array(0), CompressionMethod.LZ4, codecs), codecs).data.length, 0);
});

test('frames: unknown method byte, bad checksum, lying sizes, truncation, 4 GiB bombs', () => {
  const codecs = pureCodecs();
  const good = encodeFrame(logLines(3000), CompressionMethod.LZ4, codecs);
  const mutate = (f: (b: Uint8Array, v: DataView) => void, rehash = true) => {
    const b = good.slice();
    const v = new DataView(b.buffer);
    f(b, v);
    if (rehash) cityHash128Into(b, 16, 16 + v.getUint32(17, true), b, 0);
    return b;
  };
  // Flipped checksum byte, and a flipped payload byte.
  for (const i of [0, 7, 8, 15, 30, good.length - 1]) {
    const b = good.slice();
    b[i]! ^= 0x01;
    expectCode(() => decodeFrame(b, codecs), 'CHWIRE_BAD_CHECKSUM');
  }
  // Unknown method (checksum valid): named in hex.
  const unk = mutate((b) => (b[16] = 0x91));
  expectCode(() => decodeFrame(unk, codecs), 'CHWIRE_UNKNOWN_COMPRESSION_METHOD');
  assert.throws(() => decodeFrame(unk, codecs), /0x91/);
  // Lying decompressed size (checksum valid): too small and too large.
  expectCode(() => decodeFrame(mutate((_, v) => v.setUint32(21, 2999, true)), codecs), 'CHWIRE_LZ4_CORRUPT');
  expectCode(() => decodeFrame(mutate((_, v) => v.setUint32(21, 3001, true)), codecs), 'CHWIRE_DECOMPRESSED_SIZE_MISMATCH');
  // None with sizes that disagree.
  const none = encodeFrame(randomBytes(100), CompressionMethod.None, codecs);
  const noneBad = none.slice();
  new DataView(noneBad.buffer).setUint32(21, 99, true);
  cityHash128Into(noneBad, 16, noneBad.length, noneBad, 0);
  expectCode(() => decodeFrame(noneBad, codecs), 'CHWIRE_DECOMPRESSED_SIZE_MISMATCH');
  // Compressed size below the header, above 1 GiB; decompressed 4 GiB - 1 and over a lower limit.
  expectCode(() => decodeFrame(mutate((_, v) => v.setUint32(17, 8, true), false), codecs), 'CHWIRE_FRAME_SIZE');
  expectCode(() => decodeFrame(mutate((_, v) => v.setUint32(17, 0x40000001, true), false), codecs), 'CHWIRE_FRAME_SIZE');
  expectCode(() => decodeFrame(mutate((_, v) => v.setUint32(21, 0xffffffff, true), false), codecs), 'CHWIRE_FRAME_SIZE');
  expectCode(() => decodeFrame(good, codecs, 0, { maxDecompressedBytes: 2999 }), 'CHWIRE_FRAME_SIZE');
  assert.equal(decodeFrame(good, codecs, 0, { maxDecompressedBytes: 3000 }).data.length, 3000);
  // Truncated: one-shot decode errors.
  for (const n of [0, 10, 24, 25, good.length - 1]) expectCode(() => decodeFrame(good.subarray(0, n), codecs), 'CHWIRE_FRAME_TRUNCATED');
  // Encoding with a method not in the set.
  expectCode(() => encodeFrame(new Uint8Array(3), CompressionMethod.ZSTD, codecs), 'CHWIRE_UNKNOWN_COMPRESSION_METHOD');
});

test('a declared 4 GiB frame is refused by the resumable decoder from its 25-byte header, allocating nothing big', () => {
  const bomb = new Uint8Array(25);
  const v = new DataView(bomb.buffer);
  bomb[16] = CompressionMethod.LZ4;
  v.setUint32(17, 1000, true);
  v.setUint32(21, 0xffffffff, true);
  const d = new FrameDecoder(pureCodecs());
  assert.deepEqual(d.push(bomb.subarray(0, 24)), []);
  assert.equal(d.bufferedBytes, 24);
  expectCode(() => d.push(bomb.subarray(24)), 'CHWIRE_FRAME_SIZE');
  // The decoder stays failed.
  expectCode(() => d.push(new Uint8Array(1)), 'CHWIRE_FRAME_SIZE');
  // A declared ~1 GiB compressed frame under a lower limit: refused before buffering it.
  const d2 = new FrameDecoder(pureCodecs(), { maxCompressedBytes: 1 << 20 });
  v.setUint32(17, 1 << 30, true);
  v.setUint32(21, 10, true);
  expectCode(() => d2.push(bomb), 'CHWIRE_FRAME_SIZE');
});

test('resumable decoder: every chunking gives the same payloads, each frame decompressed once', () => {
  const base = pureCodecs();
  let calls = 0;
  const lz4 = base.get(CompressionMethod.LZ4)!;
  const counting: CompressionCodec = { ...lz4, decompress: (s, d) => (calls++, lz4.decompress(s, d)) };
  const codecs: CodecSet = codecSet(noneCodec(), counting);
  const payloads = [logLines(5000), randomBytes(1), numbers(40_000), new Uint8Array(0), randomBytes(3000)];
  const frames = payloads.map((p, i) => encodeFrame(p, i % 2 ? CompressionMethod.None : CompressionMethod.LZ4, codecs));
  const stream = new Uint8Array(Buffer.concat(frames));
  const lz4Frames = payloads.filter((_, i) => i % 2 === 0).length;
  for (const size of [1, 2, 3, 7, 64, 1000, stream.length]) {
    const d = new FrameDecoder(codecs);
    const got: Uint8Array[] = [];
    calls = 0;
    for (let p = 0; p < stream.length; p += size) got.push(...d.push(stream.subarray(p, p + size)));
    d.end();
    assert.equal(got.length, payloads.length, `chunk ${size}`);
    got.forEach((g, i) => assert.ok(equalBytes(g, payloads[i]!), `chunk ${size} frame ${i}`));
    assert.equal(calls, lz4Frames, `chunk ${size}: decompressions`);
    assert.ok(d.idle);
  }
  // Irregular chunking, too.
  const r = rng(5);
  for (let round = 0; round < 20; round++) {
    const d = new FrameDecoder(codecs);
    const got: Uint8Array[] = [];
    for (let p = 0; p < stream.length; ) {
      const n = r() % 300;
      got.push(...d.push(stream.subarray(p, p + n)));
      p += n;
    }
    assert.equal(got.length, payloads.length);
    got.forEach((g, i) => assert.ok(equalBytes(g, payloads[i]!)));
  }
});

test('resumable decoder: truncated stream waits, then end() reports it; memory bounded by one frame', () => {
  const codecs = pureCodecs();
  const f = encodeFrame(logLines(50_000), CompressionMethod.LZ4, codecs);
  const d = new FrameDecoder(codecs);
  assert.deepEqual(d.push(f.subarray(0, f.length - 1)), []);
  assert.equal(d.bufferedBytes, f.length - 1);
  expectCode(() => d.end(), 'CHWIRE_FRAME_TRUNCATED');
  const out = d.push(f.subarray(f.length - 1));
  assert.equal(out.length, 1);
  assert.equal(d.bufferedBytes, 0);
  // A corrupt frame in the middle of a stream fails at that frame.
  const bad = f.slice();
  bad[100]! ^= 0xff;
  const d2 = new FrameDecoder(codecs);
  assert.equal(d2.push(f).length, 1);
  expectCode(() => d2.push(bad), 'CHWIRE_BAD_CHECKSUM');
});
