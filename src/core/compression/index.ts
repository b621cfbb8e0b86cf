export { cityHash128, cityHash128Into, cityHash128Matches } from './cityhash.js';
export { Lz4BlockCompressor, lz4CompressBound, lz4DecompressBlock } from './lz4.js';
export {
  CompressionMethod,
  codecSet,
  noneCodec,
  pureCodecs,
  pureLz4Codec,
  sizeMismatch,
  type CodecSet,
  type CompressionCodec,
  type CompressionMethodByte,
} from './codec.js';
export {
  CHECKSUM_BYTES,
  DEFAULT_MAX_BLOCK_SIZE,
  FRAME_PREFIX_BYTES,
  HEADER_BYTES,
  decodeFrame,
  decodeFrameBody,
  decodeFrames,
  encodeFrame,
  encodeFrames,
  readFrameHeader,
  resolveLimits,
  type EncodeOptions,
  type FrameHeader,
  type FrameLimits,
} from './frame.js';
export { FrameDecoder } from './decoder.js';
