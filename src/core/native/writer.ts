// Block encoding, the mirror of reader.ts.
import { EncodeError, ChwireError } from '../errors.js';
import { Writer } from '../io/writer.js';
import { type AnyCodec, type Column, type EncodeContext, DecodedColumn, RowValueError, describeValue } from '../columns/column.js';
import { CodecCache } from '../columns/registry.js';
import { withInsertZone } from '../columns/timezone.js';
import type { Block, BlockInfo } from './block-types.js';
import { REVISION_BLOCK_INFO, REVISION_CUSTOM_SERIALIZATION, REVISION_OUT_OF_ORDER_BUCKETS } from './revisions.js';

/** A column given as plain JS values (value-mapping.md forms) or a TypedArray. */
export interface ColumnInput {
  name: string;
  type: string;
  values: ArrayLike<unknown>;
}

export interface BlockInput {
  info?: BlockInfo;
  columns: (ColumnInput | Column)[];
}

/** A column ready to write: codec + wire data. */
export interface EncodedColumn {
  name: string;
  codec: AnyCodec;
  data: unknown;
}

export function writeBlockInfo(w: Writer, info: BlockInfo | undefined, revision: number): void {
  w.varuint(1);
  w.u8(info?.isOverflows ? 1 : 0);
  w.varuint(2);
  w.i32(info?.bucketNum ?? -1);
  if (revision >= REVISION_OUT_OF_ORDER_BUCKETS && info?.outOfOrderBuckets) {
    w.varuint(3);
    w.varuint(info.outOfOrderBuckets.length);
    for (const b of info.outOfOrderBuckets) w.i32(b);
  }
  w.varuint(0);
}

/** Convert one input column to codec + data; conversion errors name the column, row and value. */
export function prepareColumn(col: ColumnInput | Column, cache: CodecCache): EncodedColumn {
  if (col instanceof DecodedColumn) return { name: col.name, codec: col.codec, data: col.data };
  const input = col as ColumnInput;
  if (!('values' in input)) throw new EncodeError(`column ${JSON.stringify(col.name)} has no values`);
  let codec: AnyCodec;
  try {
    codec = cache.get(input.type);
  } catch (e) {
    if (e instanceof ChwireError) throw new EncodeError(`column ${JSON.stringify(input.name)}: ${e.message}`, e.code);
    throw e;
  }
  try {
    return { name: input.name, codec, data: codec.fromValues(input.values) };
  } catch (e) {
    if (e instanceof RowValueError)
      throw new EncodeError(`column ${JSON.stringify(input.name)} (${codec.typeName}) row ${e.row}: ${describeValue(e.value)} ${e.reason}`);
    throw e;
  }
}

/** Write a block of prepared columns. */
export function writeBlock(w: Writer, columns: EncodedColumn[], rows: number, ctx: EncodeContext, info?: BlockInfo): void {
  if (ctx.revision >= REVISION_BLOCK_INFO) writeBlockInfo(w, info, ctx.revision);
  w.varuint(columns.length);
  w.varuint(rows);
  for (const col of columns) {
    w.string(col.name);
    w.string(col.codec.typeName);
    if (ctx.revision >= REVISION_CUSTOM_SERIALIZATION) w.u8(0);
    if (rows > 0) {
      col.codec.writePrefix(w, col.data, ctx);
      col.codec.encode(w, col.data, ctx);
    }
  }
}

/** Prepare all columns of a block input, checking they have equal lengths. */
/**
 * Convert a block's values for writing. `serverTimezone`: where DateTime strings without a zone
 * (of their column or their own) are read, as the server would read them; UTC when undefined.
 */
export function prepareBlock(block: Block | BlockInput, cache: CodecCache, serverTimezone?: string): { columns: EncodedColumn[]; rows: number } {
  const columns = withInsertZone(serverTimezone, () => block.columns.map((c) => prepareColumn(c, cache)));
  let rows = 'rowCount' in block ? block.rowCount : columns.length ? columns[0]!.codec.length(columns[0]!.data) : 0;
  for (const c of columns) {
    const n = c.codec.length(c.data);
    if (n !== rows)
      throw new EncodeError(`column ${JSON.stringify(c.name)} has ${n} rows, but the block has ${rows}`, 'CHWIRE_COLUMN_LENGTH_MISMATCH');
  }
  return { columns, rows };
}

export interface NativeWriteOptions {
  /** 0 (default) = FORMAT Native layout; else a protocol revision. */
  revision?: number;
  /** Where DateTime strings without a zone of their column or their own are read (default UTC). */
  serverTimezone?: string;
}

/** Encode blocks (decoded Blocks round-trip losslessly; plain inputs are converted) as Native bytes. */
export function encodeNative(blocks: (Block | BlockInput)[] | Block | BlockInput, options: NativeWriteOptions = {}): Uint8Array {
  const list = Array.isArray(blocks) ? blocks : [blocks];
  const cache = new CodecCache();
  const ctx: EncodeContext = { revision: options.revision ?? 0 };
  const w = new Writer(64 * 1024);
  for (const b of list) {
    const { columns, rows } = prepareBlock(b, cache, options.serverTimezone);
    writeBlock(w, columns, rows, ctx, b.info);
  }
  return w.toBytes();
}
