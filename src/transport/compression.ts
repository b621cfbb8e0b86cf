// Node's choice of compression implementations, by measurement (bench/compression.ts):
//  - LZ4 (0x82): the lz4-napi binding (Rust lz4_flex, safe decoder) when installed,
//    else the core's pure TypeScript LZ4.
//  - ZSTD (0x90): node:zlib's zstd (Node >= 22.15 / 24) when present, else the
//    @bokuweb/zstd-wasm build of the reference C library when installed.
// Optional packages are loaded lazily with require() so that a missing one only
// narrows the set; nothing here keeps module-global state.
import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import {
  CompressionMethod,
  codecSet,
  noneCodec,
  pureLz4Codec,
  sizeMismatch,
  type CodecSet,
  type CompressionCodec,
} from '../core/compression/index.js';
import { CompressionError } from '../core/errors.js';

const require = createRequire(import.meta.url);

/** ClickHouse's network_zstd_compression_level default. */
export const DEFAULT_ZSTD_LEVEL = 1;

export interface NodeCodecOptions {
  /** 'auto' (default): lz4-napi if installed, else pure TypeScript. */
  lz4?: 'auto' | 'napi' | 'pure';
  /** 'auto' (default): node:zlib if it has zstd, else @bokuweb/zstd-wasm if installed, else no ZSTD. */
  zstd?: 'auto' | 'zlib' | 'wasm' | 'none';
  zstdLevel?: number;
}

function wrapError(what: string, e: unknown, code: string): CompressionError {
  const msg = e instanceof Error ? e.message : String(e);
  return new CompressionError(`${what}: ${msg}`, code);
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

interface Lz4Napi {
  compressSync(data: Buffer): Buffer;
  uncompressSync(data: Buffer): Buffer;
}

/** LZ4 through lz4-napi, or undefined when the package is not installed. */
export function napiLz4Codec(): CompressionCodec | undefined {
  let m: Lz4Napi;
  try {
    m = require('lz4-napi') as Lz4Napi;
  } catch {
    return undefined;
  }
  return {
    method: CompressionMethod.LZ4,
    name: 'lz4-napi',
    // lz4-napi frames a block as [uncompressed size UInt32 LE][LZ4 block].
    compress: (src) => m.compressSync(asBuffer(src)).subarray(4),
    decompress(src, dst) {
      const input = Buffer.allocUnsafe(4 + src.length);
      input.writeUInt32LE(dst.length, 0);
      input.set(src, 4);
      let out: Buffer;
      try {
        out = m.uncompressSync(input);
      } catch (e) {
        throw wrapError('LZ4', e, 'CHWIRE_LZ4_CORRUPT');
      }
      if (out.length !== dst.length) throw sizeMismatch('LZ4', out.length, dst.length);
      dst.set(out);
    },
    // ClickHouse's frame header ends with the decompressed size as UInt32 LE, which is
    // exactly lz4-napi's own prefix: decompress straight from the frame, keep its output.
    decompressPrefixed(sizeAndPayload) {
      try {
        return m.uncompressSync(asBuffer(sizeAndPayload));
      } catch (e) {
        throw wrapError('LZ4', e, 'CHWIRE_LZ4_CORRUPT');
      }
    },
  };
}

type ZlibZstd = {
  zstdCompressSync(b: Buffer, o?: object): Buffer;
  zstdDecompressSync(b: Buffer, o?: object): Buffer;
  constants: Record<string, number>;
};

/** ZSTD through node:zlib (Node >= 22.15), or undefined on older Node. */
export function zlibZstdCodec(level = DEFAULT_ZSTD_LEVEL): CompressionCodec | undefined {
  const z = zlib as unknown as Partial<ZlibZstd>;
  if (typeof z.zstdCompressSync !== 'function' || typeof z.zstdDecompressSync !== 'function') return undefined;
  const zz = z as ZlibZstd;
  const levelParam = zz.constants['ZSTD_c_compressionLevel']!;
  return {
    method: CompressionMethod.ZSTD,
    name: 'zstd-zlib',
    compress: (src) => zz.zstdCompressSync(asBuffer(src), { params: { [levelParam]: level } }),
    decompress(src, dst) {
      checkZstdContentSize(src, dst.length);
      let out: Buffer;
      try {
        // maxOutputLength bounds memory whatever the payload claims.
        out = zz.zstdDecompressSync(asBuffer(src), { maxOutputLength: Math.max(1, dst.length) });
      } catch (e) {
        throw wrapError('ZSTD', e, 'CHWIRE_ZSTD_CORRUPT');
      }
      if (out.length !== dst.length) throw sizeMismatch('ZSTD', out.length, dst.length);
      dst.set(out);
    },
  };
}

interface ZstdWasm {
  init(): Promise<void>;
  compress(b: Uint8Array, level?: number): Uint8Array;
  decompress(b: Uint8Array, opts?: { defaultHeapSize: number }): Uint8Array;
}

/**
 * The package's wasm instance is process-global inside the package, and calling
 * its init() again re-instantiates it under codecs already handed out, so it is
 * initialised once: this write-once promise is the only module-level state here.
 */
let zstdWasmReady: Promise<ZstdWasm | undefined> | undefined;
function loadZstdWasm(): Promise<ZstdWasm | undefined> {
  zstdWasmReady ??= (async () => {
    try {
      const m = require('@bokuweb/zstd-wasm') as ZstdWasm;
      await m.init();
      return m;
    } catch {
      return undefined;
    }
  })();
  return zstdWasmReady;
}

/** ZSTD through @bokuweb/zstd-wasm, or undefined when the package is not installed. */
export async function wasmZstdCodec(level = DEFAULT_ZSTD_LEVEL): Promise<CompressionCodec | undefined> {
  const m = await loadZstdWasm();
  if (m === undefined) return undefined;
  return {
    method: CompressionMethod.ZSTD,
    name: 'zstd-wasm',
    compress: (src) => m.compress(src, level),
    decompress(src, dst) {
      // The package sizes its output buffer from the zstd frame's own content size
      // when present (checked equal to the declared size here), else from
      // defaultHeapSize (the declared size): either way bounded by the frame header.
      checkZstdContentSize(src, dst.length);
      let out: Uint8Array;
      try {
        out = m.decompress(src, { defaultHeapSize: dst.length });
      } catch (e) {
        throw wrapError('ZSTD', e, 'CHWIRE_ZSTD_CORRUPT');
      }
      if (out.length !== dst.length) throw sizeMismatch('ZSTD', out.length, dst.length);
      dst.set(out);
    },
  };
}

/**
 * Reads Frame_Content_Size from a zstd frame header (RFC 8878 §3.1.1.1) and
 * checks it against the ClickHouse frame's declared size. Returns the size, or
 * undefined when the zstd frame does not record it.
 */
export function checkZstdContentSize(src: Uint8Array, declared: number): number | undefined {
  if (src.length < 5 || src[0] !== 0x28 || src[1] !== 0xb5 || src[2] !== 0x2f || src[3] !== 0xfd) {
    throw new CompressionError('ZSTD: payload does not start with a zstd frame', 'CHWIRE_ZSTD_CORRUPT');
  }
  const fhd = src[4]!;
  const fcsFlag = fhd >>> 6;
  const singleSegment = (fhd >>> 5) & 1;
  const dictFlag = fhd & 3;
  const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
  if (fcsBytes === 0) return undefined;
  let p = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][dictFlag]!;
  if (p + fcsBytes > src.length) throw new CompressionError('ZSTD: truncated frame header', 'CHWIRE_ZSTD_CORRUPT');
  let size = 0;
  for (let i = fcsBytes - 1; i >= 0; i--) size = size * 256 + src[p + i]!;
  if (fcsBytes === 2) size += 256;
  p += fcsBytes;
  if (size !== declared) {
    throw new CompressionError(
      `ZSTD: content size ${size} differs from the frame's declared ${declared}`,
      'CHWIRE_DECOMPRESSED_SIZE_MISMATCH',
    );
  }
  return size;
}

/** The fastest LZ4 available: lz4-napi if installed (measured ~1.7-2x pure TS on decompression), else pure. */
export function nodeLz4Codec(choice: NodeCodecOptions['lz4'] = 'auto'): CompressionCodec {
  if (choice === 'pure') return pureLz4Codec();
  const n = napiLz4Codec();
  if (n !== undefined) return n;
  if (choice === 'napi') throw new CompressionError('lz4-napi is not installed', 'CHWIRE_CODEC_UNAVAILABLE');
  return pureLz4Codec();
}

/** Synchronous variant: ZSTD only where node:zlib has it. */
export function createNodeCodecsSync(options: NodeCodecOptions = {}): CodecSet {
  const codecs = [noneCodec(), nodeLz4Codec(options.lz4)];
  if (options.zstd !== 'none' && options.zstd !== 'wasm') {
    const z = zlibZstdCodec(options.zstdLevel);
    if (z !== undefined) codecs.push(z);
    else if (options.zstd === 'zlib') throw new CompressionError('node:zlib has no zstd here', 'CHWIRE_CODEC_UNAVAILABLE');
  }
  return codecSet(...codecs);
}

/** The codec set the Node transport uses: none, LZ4, and ZSTD when any implementation is available. */
export async function createNodeCodecs(options: NodeCodecOptions = {}): Promise<CodecSet> {
  const codecs = [noneCodec(), nodeLz4Codec(options.lz4)];
  const want = options.zstd ?? 'auto';
  let z: CompressionCodec | undefined;
  if (want === 'auto' || want === 'zlib') z = zlibZstdCodec(options.zstdLevel);
  if (z === undefined && (want === 'auto' || want === 'wasm')) z = await wasmZstdCodec(options.zstdLevel);
  if (z === undefined && want !== 'auto' && want !== 'none') {
    throw new CompressionError(`ZSTD implementation '${want}' is not available`, 'CHWIRE_CODEC_UNAVAILABLE');
  }
  if (z !== undefined && want !== 'none') codecs.push(z);
  return codecSet(...codecs);
}
