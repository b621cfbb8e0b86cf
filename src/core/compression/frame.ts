// ClickHouse compression frames (protocol-notes.md "Compression frames"; the
// server's CompressedReadBufferBase.cpp / CompressedWriteBuffer.cpp):
//
//   [0, 16)  CityHash128 v1.0.2 of bytes [16, 16 + compressedSize): low 64 bits LE, high 64 bits LE
//   [16]     method byte (0x02 none, 0x82 LZ4, 0x90 ZSTD)
//   [17, 21) compressedSize   UInt32 LE, counts the 9 header bytes [16, 25) plus the payload
//   [21, 25) decompressedSize UInt32 LE
//   [25, 16 + compressedSize) payload
import { CompressionError } from '../errors.js';
import { Limits } from '../limits.js';
import { cityHash128Into, cityHash128Matches } from './cityhash.js';
import { CompressionMethod, sizeMismatch, type CodecSet, type CompressionCodec } from './codec.js';

export const CHECKSUM_BYTES = 16;
/** Method byte plus the two sizes. */
export const HEADER_BYTES = 9;
/** Checksum plus header: the bytes needed before a frame's sizes are known. */
export const FRAME_PREFIX_BYTES = CHECKSUM_BYTES + HEADER_BYTES;
/** ClickHouse's client splits blocks at max_compress_block_size (default 1 MiB). */
export const DEFAULT_MAX_BLOCK_SIZE = 1 << 20;

export interface FrameLimits {
  /** Largest declared decompressed size accepted (default and ceiling: 1 GiB, ClickHouse's cap). */
  maxDecompressedBytes?: number;
  /** Largest declared compressed size accepted, header included (default and ceiling: 1 GiB). */
  maxCompressedBytes?: number;
}

export interface FrameHeader {
  method: number;
  /** Header (9 bytes) plus payload. */
  compressedSize: number;
  decompressedSize: number;
  /** The whole frame on the wire: 16 + compressedSize. */
  frameBytes: number;
}

function hex(b: number): string {
  return '0x' + b.toString(16).padStart(2, '0');
}

export function resolveLimits(limits?: FrameLimits): Required<FrameLimits> {
  const cap = Limits.maxFrameBytes;
  const d = limits?.maxDecompressedBytes ?? cap;
  const c = limits?.maxCompressedBytes ?? cap;
  return { maxDecompressedBytes: Math.min(d, cap), maxCompressedBytes: Math.min(c, cap) };
}

/** ZSTD's largest block output (Block_Maximum_Size, RFC 8878 §3.1.1.2.4). */
const ZSTD_MAX_BLOCK = 128 * 1024;

/**
 * The most bytes a payload of `n` bytes can decompress to in the method's format (methods
 * unknown here: no bound; decodeFrameBody refuses them before allocating). A declared size
 * above it is refused before anything is allocated for it.
 */
function maxDecompressedFor(method: number, n: number): number {
  switch (method) {
    case CompressionMethod.None:
      return n;
    case CompressionMethod.LZ4:
      // Each input byte makes at most 255 output bytes: a literal makes one; a match's
      // token + offset (3 bytes) at most 19, each 255-continuation byte at most 255 more.
      return n * 255;
    case CompressionMethod.ZSTD:
      // Every block that makes output has a 3-byte header and ≥ 1 content byte, and makes ≤ 128 KiB.
      return Math.floor(n / 4) * ZSTD_MAX_BLOCK;
  }
  return Infinity;
}

/**
 * Reads and checks the sizes of the frame at buf[offset] (needs FRAME_PREFIX_BYTES
 * there). Sizes are checked here, before the payload arrives or anything is
 * allocated, so a declared 4 GiB frame is refused at once.
 */
export function readFrameHeader(buf: Uint8Array, offset: number, limits: Required<FrameLimits>): FrameHeader {
  if (buf.length - offset < FRAME_PREFIX_BYTES) {
    throw new CompressionError(
      `compressed frame truncated: ${buf.length - offset} bytes, the header needs ${FRAME_PREFIX_BYTES}`,
      'CHWIRE_FRAME_TRUNCATED',
    );
  }
  const v = new DataView(buf.buffer, buf.byteOffset + offset + CHECKSUM_BYTES, HEADER_BYTES);
  const method = v.getUint8(0);
  const compressedSize = v.getUint32(1, true);
  const decompressedSize = v.getUint32(5, true);
  if (compressedSize < HEADER_BYTES) {
    throw new CompressionError(
      `compressed frame declares size ${compressedSize}, less than its own ${HEADER_BYTES}-byte header`,
      'CHWIRE_FRAME_SIZE',
    );
  }
  if (compressedSize > limits.maxCompressedBytes) {
    throw new CompressionError(
      `compressed frame declares ${compressedSize} compressed bytes, over the limit of ${limits.maxCompressedBytes}`,
      'CHWIRE_FRAME_SIZE',
    );
  }
  if (decompressedSize > limits.maxDecompressedBytes) {
    throw new CompressionError(
      `compressed frame declares ${decompressedSize} decompressed bytes, over the limit of ${limits.maxDecompressedBytes}`,
      'CHWIRE_FRAME_SIZE',
    );
  }
  const most = maxDecompressedFor(method, compressedSize - HEADER_BYTES);
  if (decompressedSize > most) {
    throw new CompressionError(
      `compressed frame declares ${decompressedSize} decompressed bytes, more than ${hex(method)} can make of ${compressedSize - HEADER_BYTES} payload bytes (${most})`,
      'CHWIRE_FRAME_SIZE',
    );
  }
  return { method, compressedSize, decompressedSize, frameBytes: CHECKSUM_BYTES + compressedSize };
}

/**
 * Decodes the complete frame at buf[offset, offset + h.frameBytes) whose header
 * has been read: checksum first, then the method, then exactly one
 * decompression into a new array of the declared size.
 */
export function decodeFrameBody(buf: Uint8Array, offset: number, h: FrameHeader, codecs: CodecSet): Uint8Array {
  const start = offset + CHECKSUM_BYTES;
  if (!cityHash128Matches(buf, offset, start, start + h.compressedSize)) {
    throw new CompressionError('compressed frame checksum mismatch (CityHash128): corrupt data', 'CHWIRE_BAD_CHECKSUM');
  }
  const codec = codecs.get(h.method);
  if (codec === undefined) {
    throw new CompressionError(
      `unknown compression method byte ${hex(h.method)} (known here: ${codecs.codecs.map((c) => hex(c.method)).join(', ')})`,
      'CHWIRE_UNKNOWN_COMPRESSION_METHOD',
    );
  }
  if (h.method === CompressionMethod.ZSTD) checkZstdFrameSize(buf, start + HEADER_BYTES, start + h.compressedSize, h.decompressedSize);
  if (codec.decompressPrefixed) {
    // The 4 bytes before the payload are the decompressed size: no copy of the input.
    const out = codec.decompressPrefixed(buf.subarray(start + HEADER_BYTES - 4, start + h.compressedSize), h.decompressedSize);
    if (out.length !== h.decompressedSize) throw sizeMismatch(codec.name, out.length, h.decompressedSize);
    return out;
  }
  const out = new Uint8Array(h.decompressedSize);
  codec.decompress(buf.subarray(start + HEADER_BYTES, start + h.compressedSize), out);
  return out;
}

/**
 * A zstd frame records its content size (Frame_Content_Size, RFC 8878 §3.1.1.1; ClickHouse
 * writes it) in its header: when present it must equal the declared size, checked before the
 * output is allocated. When absent the size-for-payload bound of readFrameHeader holds.
 */
function checkZstdFrameSize(buf: Uint8Array, p: number, end: number, declared: number): void {
  if (end - p < 5 || buf[p] !== 0x28 || buf[p + 1] !== 0xb5 || buf[p + 2] !== 0x2f || buf[p + 3] !== 0xfd) {
    throw new CompressionError('ZSTD: payload does not start with a zstd frame', 'CHWIRE_ZSTD_CORRUPT');
  }
  const fhd = buf[p + 4]!;
  const singleSegment = (fhd >>> 5) & 1;
  const fcsFlag = fhd >>> 6;
  const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
  if (fcsBytes === 0) return;
  const at = p + 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][fhd & 3]!;
  if (at + fcsBytes > end) throw new CompressionError('ZSTD: truncated frame header', 'CHWIRE_ZSTD_CORRUPT');
  let size = 0;
  for (let i = fcsBytes - 1; i >= 0; i--) size = size * 256 + buf[at + i]!;
  if (fcsBytes === 2) size += 256;
  if (size !== declared) {
    throw new CompressionError(`ZSTD: content size ${size} differs from the frame's declared ${declared}`, 'CHWIRE_DECOMPRESSED_SIZE_MISMATCH');
  }
}

/** Decodes one whole frame at buf[offset]; errors (code CHWIRE_FRAME_TRUNCATED) if buf ends before it does. */
export function decodeFrame(
  buf: Uint8Array,
  codecs: CodecSet,
  offset = 0,
  limits?: FrameLimits,
): { data: Uint8Array; frameBytes: number } {
  const h = readFrameHeader(buf, offset, resolveLimits(limits));
  if (buf.length - offset < h.frameBytes) {
    throw new CompressionError(
      `compressed frame truncated: ${buf.length - offset} of ${h.frameBytes} bytes`,
      'CHWIRE_FRAME_TRUNCATED',
    );
  }
  return { data: decodeFrameBody(buf, offset, h, codecs), frameBytes: h.frameBytes };
}

/** Decodes a buffer holding whole frames only, concatenating their payloads. */
export function decodeFrames(buf: Uint8Array, codecs: CodecSet, limits?: FrameLimits): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let pos = 0; pos < buf.length; ) {
    const { data, frameBytes } = decodeFrame(buf, codecs, pos, limits);
    parts.push(data);
    total += data.length;
    pos += frameBytes;
  }
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function codecFor(method: number, codecs: CodecSet): CompressionCodec {
  const codec = codecs.get(method);
  if (codec === undefined) {
    throw new CompressionError(
      `no codec for compression method byte ${hex(method)} in this codec set`,
      'CHWIRE_UNKNOWN_COMPRESSION_METHOD',
    );
  }
  return codec;
}

function writeHeader(frame: Uint8Array, method: number, payloadBytes: number, decompressedSize: number): void {
  const compressedSize = HEADER_BYTES + payloadBytes;
  if (compressedSize > Limits.maxFrameBytes) {
    throw new CompressionError(`frame of ${compressedSize} bytes exceeds ClickHouse's 1 GiB cap`, 'CHWIRE_FRAME_SIZE');
  }
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  v.setUint8(CHECKSUM_BYTES, method);
  v.setUint32(CHECKSUM_BYTES + 1, compressedSize, true);
  v.setUint32(CHECKSUM_BYTES + 5, decompressedSize, true);
  cityHash128Into(frame, CHECKSUM_BYTES, CHECKSUM_BYTES + compressedSize, frame, 0);
}

/** Encodes data as exactly one frame with the codec for `method`. */
export function encodeFrame(data: Uint8Array, method: number, codecs: CodecSet): Uint8Array {
  const codec = codecFor(method, codecs);
  if (data.length > Limits.maxFrameBytes) {
    throw new CompressionError(`block of ${data.length} bytes exceeds ClickHouse's 1 GiB frame cap`, 'CHWIRE_FRAME_SIZE');
  }
  let frame: Uint8Array;
  let payload: number;
  if (codec.compressInto !== undefined && codec.maxCompressedLength !== undefined) {
    const room = new Uint8Array(FRAME_PREFIX_BYTES + codec.maxCompressedLength(data.length));
    payload = codec.compressInto(data, room, FRAME_PREFIX_BYTES);
    frame = room.subarray(0, FRAME_PREFIX_BYTES + payload);
  } else {
    const body = codec.compress(data);
    payload = body.length;
    frame = new Uint8Array(FRAME_PREFIX_BYTES + payload);
    frame.set(body, FRAME_PREFIX_BYTES);
  }
  writeHeader(frame, method, payload, data.length);
  return frame;
}

export interface EncodeOptions {
  /** Split input into frames of at most this many uncompressed bytes (default 1 MiB, as ClickHouse's client). */
  maxBlockSize?: number;
}

/**
 * Encodes data as frames of at most maxBlockSize uncompressed bytes each (none
 * for empty input, as ClickHouse's CompressedWriteBuffer writes nothing then).
 */
export function encodeFrames(data: Uint8Array, method: number, codecs: CodecSet, options?: EncodeOptions): Uint8Array[] {
  const step = options?.maxBlockSize ?? DEFAULT_MAX_BLOCK_SIZE;
  if (!(Number.isInteger(step) && step > 0 && step <= Limits.maxFrameBytes - 65536)) {
    throw new RangeError(`maxBlockSize must be an integer in [1, 1 GiB - 64 KiB], got ${step}`);
  }
  codecFor(method, codecs);
  const frames: Uint8Array[] = [];
  for (let pos = 0; pos < data.length; pos += step) {
    frames.push(encodeFrame(data.subarray(pos, Math.min(data.length, pos + step)), method, codecs));
  }
  return frames;
}
