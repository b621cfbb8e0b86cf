// The codec interface of the compression layer. Implementations are passed in
// as a CodecSet (never registered globally): the core ships the pure ones
// (pureCodecs()); the Node transport builds a faster set (createNodeCodecs()).
import { CompressionError } from '../errors.js';
import { Lz4BlockCompressor, lz4CompressBound, lz4DecompressBlock } from './lz4.js';

/**
 * Method bytes of ClickHouse compression frames (CompressionMethodByte in the
 * server's src/Compression/CompressionInfo.h). 0x91 and up are column codecs
 * that appear only in storage, never on the wire.
 */
export const CompressionMethod = {
  None: 0x02,
  LZ4: 0x82,
  ZSTD: 0x90,
} as const;
export type CompressionMethodByte = (typeof CompressionMethod)[keyof typeof CompressionMethod];

export interface CompressionCodec {
  /** The frame's method byte. */
  readonly method: number;
  /** The implementation, for diagnostics and benchmarks (e.g. 'lz4-pure', 'zstd-zlib'). */
  readonly name: string;
  /** Compresses a whole block into a new array. */
  compress(src: Uint8Array): Uint8Array;
  /**
   * Decompresses src into dst, which is sized exactly to the declared decompressed
   * size; throws CompressionError unless the output fills dst exactly.
   */
  decompress(src: Uint8Array, dst: Uint8Array): void;
  /**
   * Optional copy-free path for frame decoding: `sizeAndPayload` is the frame's
   * UInt32 LE decompressed size (the last 4 header bytes) followed by the payload;
   * returns a new array that must hold exactly `size` bytes (the caller checks).
   */
  decompressPrefixed?(sizeAndPayload: Uint8Array, size: number): Uint8Array;
  /** Optional copy-free path: the largest output compressInto can write for n bytes. */
  maxCompressedLength?(n: number): number;
  /** Optional copy-free path: compresses src into dst at dstOffset and returns the length written. */
  compressInto?(src: Uint8Array, dst: Uint8Array, dstOffset: number): number;
}

/** The codecs one connection may use, by method byte. Immutable once built. */
export interface CodecSet {
  get(method: number): CompressionCodec | undefined;
  /** Every codec in the set, in the order given. */
  readonly codecs: readonly CompressionCodec[];
}

/** A CodecSet over the given codecs; a later codec with the same method wins. */
export function codecSet(...codecs: CompressionCodec[]): CodecSet {
  const byMethod = new Map<number, CompressionCodec>();
  for (const c of codecs) byMethod.set(c.method, c);
  const list = Object.freeze([...byMethod.values()]);
  return Object.freeze({ get: (m: number) => byMethod.get(m), codecs: list });
}

export function sizeMismatch(name: string, got: number, want: number): CompressionError {
  return new CompressionError(
    `${name}: decompressed ${got} bytes but the frame declares ${want}`,
    'CHWIRE_DECOMPRESSED_SIZE_MISMATCH',
  );
}

/** Method 0x02: the payload is the data itself. */
export function noneCodec(): CompressionCodec {
  return {
    method: CompressionMethod.None,
    name: 'none',
    compress: (src) => src.slice(),
    decompress(src, dst) {
      if (src.length !== dst.length) throw sizeMismatch('none', src.length, dst.length);
      dst.set(src);
    },
    maxCompressedLength: (n) => n,
    compressInto(src, dst, off) {
      dst.set(src, off);
      return src.length;
    },
  };
}

/** Method 0x82 in pure TypeScript (lz4.ts). Each codec owns its compressor's hash table. */
export function pureLz4Codec(): CompressionCodec {
  const compressor = new Lz4BlockCompressor();
  return {
    method: CompressionMethod.LZ4,
    name: 'lz4-pure',
    compress: (src) => compressor.compress(src),
    decompress(src, dst) {
      const n = lz4DecompressBlock(src, 0, src.length, dst, 0, dst.length);
      if (n !== dst.length) throw sizeMismatch('LZ4', n, dst.length);
    },
    maxCompressedLength: lz4CompressBound,
    compressInto: (src, dst, off) => compressor.compressInto(src, dst, off),
  };
}

/** The zero-dependency set: 'none' and pure LZ4 (no ZSTD). */
export function pureCodecs(): CodecSet {
  return codecSet(noneCodec(), pureLz4Codec());
}
