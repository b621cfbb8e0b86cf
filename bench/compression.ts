// Compression benchmark (issue 4): CityHash128 throughput, LZ4 / ZSTD compress and
// decompress per implementation on Native-like blocks, and the C reference (Debian's
// lz4 / zstd CLIs, `-b1`) on the same bytes as a ratio.
//
//   node --import tsx bench/compression.ts          (prints a table and JSON)
//   import { runCompressionBench } from './compression.js'   (structured results)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CompressionMethod,
  codecSet,
  cityHash128Into,
  decodeFrames,
  encodeFrames,
  pureLz4Codec,
  type CompressionCodec,
} from '../src/core/compression/index.js';
import { createNodeCodecs, napiLz4Codec, wasmZstdCodec, zlibZstdCodec } from '../src/transport/compression.js';

export interface CodecBench {
  codec: string;
  data: string;
  ratio: number;
  compressMBps: number;
  decompressMBps: number;
}
export interface ReferenceBench {
  tool: 'lz4' | 'zstd';
  data: string;
  compressMBps: number;
  decompressMBps: number;
}
export interface CompressionBenchResult {
  node: string;
  cityHash128GBps: number;
  codecs: CodecBench[];
  reference: ReferenceBench[];
  /** Default Node LZ4 decompression speed / C lz4's, per data set (target >= 0.5). */
  lz4DecompressVsC: Record<string, number>;
  /** Frame decode (checksum + LZ4) with the default Node set, MB/s of payload. */
  frameDecodeMBps: Record<string, number>;
  defaults: { lz4: string; zstd: string | null };
}

export interface BenchOptions {
  /** Bytes per data set (default 8 MiB). */
  bytes?: number;
  /** Time per measurement in ms (default 200). */
  ms?: number;
}

const BLOCK = 1 << 20;

/** A Native UInt64 column body: mostly increasing ids with small jitter. */
function nativeNumbers(n: number): Uint8Array {
  const b = new Uint8Array(n);
  const v = new DataView(b.buffer);
  let x = 1_700_000_000_000;
  let s = 1;
  for (let i = 0; i + 8 <= n; i += 8) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x += s % 1000;
    v.setUint32(i, x % 4294967296, true);
    v.setUint32(i + 4, Math.floor(x / 4294967296), true);
  }
  return b;
}

/** A Native String column body of log lines (varuint length + bytes each). */
function nativeLogStrings(n: number): Uint8Array {
  const enc = new TextEncoder();
  const b = new Uint8Array(n);
  const levels = ['INFO', 'WARN', 'DEBUG', 'ERROR'];
  const paths = ['/api/v1/items', '/api/v1/users', '/health', '/api/v2/search', '/static/app.js'];
  let s = 7;
  const r = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  let o = 0;
  while (o < n) {
    const x = r();
    const line = enc.encode(
      `2024-05-${String((x % 28) + 1).padStart(2, '0')}T12:${String(x % 60).padStart(2, '0')}:${String(r() % 60).padStart(2, '0')}Z ` +
        `${levels[x & 3]} http request_id=${r().toString(16)} method=GET path=${paths[r() % 5]}/${r() % 5000} ` +
        `status=${[200, 200, 200, 404, 500][r() % 5]} duration_ms=${r() % 900} user_agent="Mozilla/5.0"`,
    );
    if (o + 1 + line.length > n) break;
    b[o++] = line.length; // < 128: a one-byte varuint
    b.set(line, o);
    o += line.length;
  }
  return b.subarray(0, o);
}

function timeIt(ms: number, f: () => void): number {
  f();
  let runs = 0;
  const t0 = performance.now();
  let t = t0;
  do {
    f();
    runs++;
    t = performance.now();
  } while (t - t0 < ms);
  return (t - t0) / runs;
}

function blocks(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let p = 0; p < data.length; p += BLOCK) out.push(data.subarray(p, Math.min(data.length, p + BLOCK)));
  return out;
}

function benchCodec(codec: CompressionCodec, name: string, data: Uint8Array, ms: number): CodecBench {
  const parts = blocks(data);
  let compressed = parts.map((p) => codec.compress(p));
  const cms = timeIt(ms, () => {
    compressed = parts.map((p) => codec.compress(p));
  });
  const outs = parts.map((p) => new Uint8Array(p.length));
  // Measure the path frame decoding takes: decompressPrefixed where the codec has it
  // (the frame's last 4 header bytes are the size prefix), else decompress into dst.
  const prefixed = codec.decompressPrefixed
    ? compressed.map((z, i) => {
        const b = new Uint8Array(4 + z.length);
        new DataView(b.buffer).setUint32(0, parts[i]!.length, true);
        b.set(z, 4);
        return b;
      })
    : undefined;
  const dms = timeIt(ms, () => {
    if (prefixed) for (let i = 0; i < parts.length; i++) codec.decompressPrefixed!(prefixed[i]!, parts[i]!.length);
    else for (let i = 0; i < parts.length; i++) codec.decompress(compressed[i]!, outs[i]!);
  });
  const zbytes = compressed.reduce((a, c) => a + c.length, 0);
  const mbps = (t: number) => Math.round(data.length / 1e6 / (t / 1e3));
  return { codec: codec.name, data: name, ratio: +(data.length / zbytes).toFixed(3), compressMBps: mbps(cms), decompressMBps: mbps(dms) };
}

function cReference(tool: 'lz4' | 'zstd', file: string, name: string): ReferenceBench | undefined {
  const r = spawnSync(tool, ['-b1', '-i1', file], { encoding: 'latin1', timeout: 60_000 });
  if (r.status !== 0) return undefined;
  // Progress lines are separated by \r; the last "C MB/s , D MB/s" is the result.
  const text = (r.stdout + r.stderr).replace(/\r/g, '\n');
  const all = [...text.matchAll(/([\d.]+) MB\/s\s*,\s*([\d.]+) MB\/s/g)];
  const m = all[all.length - 1];
  if (m === undefined) return undefined;
  return { tool, data: name, compressMBps: Number(m[1]), decompressMBps: Number(m[2]) };
}

export async function runCompressionBench(options: BenchOptions = {}): Promise<CompressionBenchResult> {
  const bytes = options.bytes ?? 8 << 20;
  const ms = options.ms ?? 200;
  const sets: [string, Uint8Array][] = [
    ['numbers', nativeNumbers(bytes)],
    ['log-strings', nativeLogStrings(bytes)],
  ];

  // CityHash128 over 16 MiB (the hash of one large frame).
  const big = new Uint8Array(16 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  const out = new Uint8Array(16);
  const hms = timeIt(ms, () => cityHash128Into(big, 0, big.length, out));
  const cityHash128GBps = +(big.length / 1e9 / (hms / 1e3)).toFixed(2);

  const impls: CompressionCodec[] = [pureLz4Codec()];
  const napi = napiLz4Codec();
  if (napi) impls.push(napi);
  const zz = zlibZstdCodec();
  if (zz) impls.push(zz);
  const zw = await wasmZstdCodec();
  if (zw) impls.push(zw);
  const defaults = await createNodeCodecs();
  const defLz4 = defaults.get(CompressionMethod.LZ4)!;

  const codecs: CodecBench[] = [];
  const reference: ReferenceBench[] = [];
  const lz4DecompressVsC: Record<string, number> = {};
  const frameDecodeMBps: Record<string, number> = {};
  const dir = mkdtempSync(join(tmpdir(), 'chwire-bench-'));
  try {
    for (const [name, data] of sets) {
      for (const c of impls) codecs.push(benchCodec(c, name, data, ms));
      const file = join(dir, name);
      writeFileSync(file, data);
      for (const tool of ['lz4', 'zstd'] as const) {
        const ref = cReference(tool, file, name);
        if (ref) reference.push(ref);
      }
      const mine = codecs.find((c) => c.codec === defLz4.name && c.data === name)!;
      const ref = reference.find((r) => r.tool === 'lz4' && r.data === name);
      if (ref) lz4DecompressVsC[name] = +(mine.decompressMBps / ref.decompressMBps).toFixed(2);
      const stream = new Uint8Array(Buffer.concat(encodeFrames(data, CompressionMethod.LZ4, codecSet(defLz4))));
      const fms = timeIt(ms, () => decodeFrames(stream, defaults));
      frameDecodeMBps[name] = Math.round(data.length / 1e6 / (fms / 1e3));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    node: process.version,
    cityHash128GBps,
    codecs,
    reference,
    lz4DecompressVsC,
    frameDecodeMBps,
    defaults: { lz4: defLz4.name, zstd: defaults.get(CompressionMethod.ZSTD)?.name ?? null },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await runCompressionBench();
  console.log(`node ${r.node}  CityHash128: ${r.cityHash128GBps} GB/s  defaults: ${r.defaults.lz4}, ${r.defaults.zstd}`);
  for (const c of r.codecs) {
    console.log(`${c.data.padEnd(12)} ${c.codec.padEnd(10)} ratio ${c.ratio.toFixed(2).padStart(6)}  compress ${String(c.compressMBps).padStart(5)} MB/s  decompress ${String(c.decompressMBps).padStart(5)} MB/s`);
  }
  for (const c of r.reference) {
    console.log(`${c.data.padEnd(12)} ${('C ' + c.tool).padEnd(10)}               compress ${String(c.compressMBps).padStart(5)} MB/s  decompress ${String(c.decompressMBps).padStart(5)} MB/s`);
  }
  console.log('LZ4 decompress, default vs C:', r.lz4DecompressVsC, ' frame decode MB/s:', r.frameDecodeMBps);
  console.log(JSON.stringify(r));
}
