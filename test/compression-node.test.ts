import { CH_GO_VECTORS } from './helpers/vectors.js';
// Compression frames through the Node codec set (src/transport/compression.ts):
// every implementation present on this machine, frames from each decoded by the
// others, the ch-go ZSTD vector, and Native bytes from the real engine (chDB).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import {
  CompressionMethod,
  FrameDecoder,
  codecSet,
  decodeFrame,
  decodeFrames,
  encodeFrames,
  noneCodec,
  pureLz4Codec,
  type CompressionCodec,
} from '../src/core/compression/index.js';
import { CompressionError } from '../src/core/errors.js';
import {
  checkZstdContentSize,
  createNodeCodecs,
  createNodeCodecsSync,
  napiLz4Codec,
  wasmZstdCodec,
  zlibZstdCodec,
} from '../src/transport/compression.js';

const VEC = join(CH_GO_VECTORS, 'compress');
const vec = (name: string) => new Uint8Array(readFileSync(join(VEC, name)));
const eq = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

function data(): [string, Uint8Array][] {
  let s = 12345;
  const r = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  const rand = new Uint8Array(300_000).map(() => r() >>> 24);
  const nums = new Uint8Array(2_400_000);
  const v = new DataView(nums.buffer);
  for (let i = 0; i < nums.length; i += 8) v.setUint32(i, (i / 8) * 7, true);
  const logs = new TextEncoder().encode(
    Array.from({ length: 8000 }, (_, i) => `2024-05-01 10:${i % 60} INFO svc[${r() % 9}] req=${r().toString(16)} ok in ${r() % 500}ms`).join('\n'),
  );
  return [
    ['empty', new Uint8Array(0)],
    ['1 byte', new Uint8Array([7])],
    ['random', rand],
    ['numbers (multi-frame)', nums],
    ['log lines', logs],
  ];
}

async function implementations(): Promise<CompressionCodec[]> {
  const list: (CompressionCodec | undefined)[] = [pureLz4Codec(), napiLz4Codec(), zlibZstdCodec(), await wasmZstdCodec()];
  return list.filter((c): c is CompressionCodec => c !== undefined);
}

test('which implementations this machine has', async (t) => {
  const impls = await implementations();
  t.diagnostic(`node ${process.version}: ${impls.map((c) => c.name).join(', ')}`);
  const set = await createNodeCodecs();
  t.diagnostic(`default set: ${set.codecs.map((c) => c.name).join(', ')}`);
  // ZSTD must be decodable everywhere chwire runs: zlib (Node >= 22.15) or the wasm package,
  // enforced once package.json lists it.
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  const listed = ['dependencies', 'optionalDependencies'].some((k) => pkg[k]?.['@bokuweb/zstd-wasm'] !== undefined);
  if (listed || set.get(CompressionMethod.ZSTD)) {
    assert.ok(set.get(CompressionMethod.ZSTD), 'no ZSTD implementation: install @bokuweb/zstd-wasm');
  } else {
    t.diagnostic('no ZSTD here: @bokuweb/zstd-wasm is not yet a dependency and node:zlib lacks zstd');
  }
  assert.ok(set.get(CompressionMethod.LZ4));
  const sync = createNodeCodecsSync();
  assert.equal(sync.get(CompressionMethod.ZSTD)?.name, zlibZstdCodec() === undefined ? undefined : 'zstd-zlib');
});

test('ch-go vectors decode with the Node set, ZSTD included', async () => {
  const set = await createNodeCodecs();
  const raw = vec('data_raw.raw');
  const names = ['none', 'lz4', 'lz4hc'];
  if (set.get(CompressionMethod.ZSTD)) names.push('zstd');
  for (const n of names) {
    assert.ok(eq(decodeFrame(vec(`data_compressed_${n}.raw`), set).data, raw), n);
  }
  for (const impl of await implementations()) {
    if (impl.method !== CompressionMethod.ZSTD) continue;
    assert.ok(eq(decodeFrame(vec('data_compressed_zstd.raw'), codecSet(impl)).data, raw), impl.name);
  }
});

test('round trips through every implementation; frames of each decoded by every other of its method', async () => {
  const impls = await implementations();
  for (const [label, d] of data()) {
    for (const enc of impls) {
      const frames = encodeFrames(d, enc.method, codecSet(noneCodec(), enc));
      assert.equal(frames.length, Math.ceil(d.length / (1 << 20)), label);
      const joined = new Uint8Array(Buffer.concat(frames));
      for (const dec of impls.filter((c) => c.method === enc.method)) {
        assert.ok(eq(decodeFrames(joined, codecSet(dec)), d), `${label}: ${enc.name} -> ${dec.name}`);
      }
    }
  }
});

test('Native bytes from the real engine (chDB) round trip through every implementation, chunked', async (t) => {
  let chdb: { queryAsync(sql: string, opts: { format: string }): Promise<{ bytes(): Uint8Array }> };
  try {
    chdb = (await import('chdb' as string)) as typeof chdb;
  } catch {
    return t.skip('chdb is not installed');
  }
  const res = await chdb.queryAsync('SELECT number, toString(number) FROM numbers(100000)', { format: 'Native' });
  const native = res.bytes();
  assert.ok(native.length > 1_000_000);
  for (const impl of await implementations()) {
    const frames = encodeFrames(native, impl.method, codecSet(impl));
    const stream = new Uint8Array(Buffer.concat(frames));
    assert.ok(stream.length < native.length, `${impl.name} compresses`);
    const dec = new FrameDecoder(codecSet(impl));
    const parts: Uint8Array[] = [];
    for (let p = 0; p < stream.length; p += 65_537) parts.push(...dec.push(stream.subarray(p, p + 65_537)));
    dec.end();
    assert.ok(eq(new Uint8Array(Buffer.concat(parts)), native), impl.name);
  }
});

test('ZSTD payloads are read by the C reference (zstd CLI) and vice versa', async (t) => {
  const { spawnSync } = await import('node:child_process');
  if (spawnSync('zstd', ['--version']).status !== 0) return t.skip('zstd CLI not installed');
  const input = data()[4]![1];
  const zs = (await implementations()).filter((c) => c.method === CompressionMethod.ZSTD);
  for (const z of zs) {
    const r = spawnSync('zstd', ['-d', '-c'], { input: z.compress(input) });
    assert.equal(r.status, 0);
    assert.ok(eq(new Uint8Array(r.stdout), input), z.name);
    const c = spawnSync('zstd', ['-1', '-c', '--content-size'], { input });
    const out = new Uint8Array(input.length);
    z.decompress(new Uint8Array(c.stdout), out);
    assert.ok(eq(out, input), `C -> ${z.name}`);
  }
});

test('hostile ZSTD and LZ4 payloads through the Node implementations: clean CompressionErrors', async () => {
  const impls = await implementations();
  const input = new TextEncoder().encode('hello hello hello hello hello hello hello hello');
  for (const impl of impls) {
    const good = impl.compress(input);
    // Declared size larger / smaller than the real output.
    for (const size of [input.length + 1, input.length - 1, 0]) {
      assert.throws(() => impl.decompress(good, new Uint8Array(size)), CompressionError, `${impl.name} size ${size}`);
    }
    // Truncated and garbage payloads.
    assert.throws(() => impl.decompress(good.subarray(0, good.length - 3), new Uint8Array(input.length)), CompressionError, impl.name);
    const junk = good.slice();
    for (let i = 6; i < junk.length; i += 3) junk[i]! ^= 0x5a;
    try {
      const out = new Uint8Array(input.length);
      impl.decompress(junk, out);
    } catch (e) {
      assert.ok(e instanceof CompressionError, `${impl.name}: ${String(e)}`);
    }
  }
  // A zstd frame whose own content size claims 4 GiB is refused before decompressing.
  const lying = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
  assert.throws(() => checkZstdContentSize(lying, 100), (e: unknown) => e instanceof CompressionError && e.code === 'CHWIRE_DECOMPRESSED_SIZE_MISMATCH');
  if (typeof (zlib as Record<string, unknown>)['zstdCompressSync'] === 'function') {
    assert.ok(zlibZstdCodec());
  }
});

test('createNodeCodecs honours explicit choices', async () => {
  assert.equal((await createNodeCodecs({ lz4: 'pure' })).get(CompressionMethod.LZ4)!.name, 'lz4-pure');
  assert.equal((await createNodeCodecs({ zstd: 'none' })).get(CompressionMethod.ZSTD), undefined);
  if (napiLz4Codec()) assert.equal((await createNodeCodecs()).get(CompressionMethod.LZ4)!.name, 'lz4-napi');
  if (zlibZstdCodec()) assert.equal((await createNodeCodecs()).get(CompressionMethod.ZSTD)!.name, 'zstd-zlib');
});
