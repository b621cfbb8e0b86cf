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

/** A column of plain values whose codec writes them straight into the output (Codec.writeValues). */
interface ValuesColumn {
  name: string;
  codec: AnyCodec;
  values: ArrayLike<unknown>;
}

function inputCodec(input: ColumnInput, cache: CodecCache): AnyCodec {
  if (!('values' in input)) throw new EncodeError(`column ${JSON.stringify((input as { name: string }).name)} has no values`);
  try {
    return cache.get(input.type);
  } catch (e) {
    if (e instanceof ChwireError) throw new EncodeError(`column ${JSON.stringify(input.name)}: ${e.message}`, e.code);
    throw e;
  }
}

/** A conversion error as the EncodeError that names the column, row and value. */
function columnValueError(e: unknown, name: string, codec: AnyCodec): unknown {
  if (e instanceof RowValueError) return new EncodeError(`column ${JSON.stringify(name)} (${codec.typeName}) row ${e.row}: ${describeValue(e.value)} ${e.reason}`);
  return e;
}

/** Convert one input column to codec + data; conversion errors name the column, row and value. */
export function prepareColumn(col: ColumnInput | Column, cache: CodecCache): EncodedColumn {
  if (col instanceof DecodedColumn) return { name: col.name, codec: col.codec, data: col.data };
  const input = col as ColumnInput;
  return converted(input, inputCodec(input, cache));
}

function converted(input: ColumnInput, codec: AnyCodec): EncodedColumn {
  try {
    return { name: input.name, codec, data: codec.fromValues(input.values) };
  } catch (e) {
    throw columnValueError(e, input.name, codec);
  }
}

/** The block's row count (`declared`, else the first column's), checking every column has as many. */
function checkedRows(columns: (EncodedColumn | ValuesColumn)[], declared?: number): number {
  const length = (c: EncodedColumn | ValuesColumn) => ('values' in c ? c.values.length : c.codec.length(c.data));
  const rows = declared ?? (columns.length ? length(columns[0]!) : 0);
  for (const c of columns) {
    const n = length(c);
    if (n !== rows)
      throw new EncodeError(`column ${JSON.stringify(c.name)} has ${n} rows, but the block has ${rows}`, 'CHWIRE_COLUMN_LENGTH_MISMATCH');
  }
  return rows;
}

/** Write a block of prepared columns (or of values written straight in, see encodeNative). */
export function writeBlock(w: Writer, columns: (EncodedColumn | ValuesColumn)[], rows: number, ctx: EncodeContext, info?: BlockInfo): void {
  if (ctx.revision >= REVISION_BLOCK_INFO) writeBlockInfo(w, info, ctx.revision);
  w.varuint(columns.length);
  w.varuint(rows);
  for (const col of columns) {
    w.string(col.name);
    w.string(col.codec.typeName);
    if (ctx.revision >= REVISION_CUSTOM_SERIALIZATION) w.u8(0);
    if (rows === 0) continue;
    if ('values' in col) {
      try {
        col.codec.writeValues!(w, col.values);
      } catch (e) {
        throw columnValueError(e, col.name, col.codec);
      }
    } else {
      col.codec.writePrefix(w, col.data, ctx);
      col.codec.encode(w, col.data, ctx);
    }
  }
}

/**
 * Convert a block's values for writing, checking its columns have equal lengths. `serverTimezone`:
 * where DateTime strings without a zone (of their column or their own) are read, as the server
 * would read them; UTC when undefined.
 */
export function prepareBlock(block: Block | BlockInput, cache: CodecCache, serverTimezone?: string): { columns: EncodedColumn[]; rows: number } {
  const columns = withInsertZone(serverTimezone, () => block.columns.map((c) => prepareColumn(c, cache)));
  return { columns, rows: checkedRows(columns, 'rowCount' in block ? block.rowCount : undefined) };
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
    if ('rowCount' in b) {
      const { columns, rows } = prepareBlock(b, cache, options.serverTimezone);
      writeBlock(w, columns, rows, ctx, b.info);
      continue;
    }
    // Plain inputs: a column whose codec can write values straight into the output does so
    // (one pass, no intermediate copy of the column); the others are converted first.
    withInsertZone(options.serverTimezone, () => {
      const columns = b.columns.map((c): EncodedColumn | ValuesColumn => {
        if (c instanceof DecodedColumn) return prepareColumn(c, cache);
        const input = c as ColumnInput;
        const codec = inputCodec(input, cache);
        return codec.writeValues ? { name: input.name, codec, values: input.values } : converted(input, codec);
      });
      writeBlock(w, columns, checkedRows(columns), ctx, b.info);
    });
  }
  return w.toBytes();
}
