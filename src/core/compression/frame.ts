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
import { sizeMismatch, type CodecSet, type CompressionCodec } from './codec.js';

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
