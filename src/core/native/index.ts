export type { Block, BlockInfo, NativeFormatOptions } from './block-types.js';
export { BlockDecoder, NativeStreamDecoder, decodeNative, readBlockInfo, type NativeReadOptions } from './reader.js';
export {
  encodeNative,
  writeBlock,
  writeBlockInfo,
  prepareBlock,
  prepareColumn,
  type BlockInput,
  type ColumnInput,
  type EncodedColumn,
  type NativeWriteOptions,
} from './writer.js';
