// Native blocks: `[BlockInfo]` (protocol ≥ 51903), varuint columns, varuint rows,
// then per column: name, type, [≥ 54454: custom-serialization byte + kinds],
// and, only when rows > 0, the column's state prefix and body.
import { ChwireError, DecodeError, LimitError, NEED_MORE, isNeedMore } from '../errors.js';
import { Cursor } from '../io/cursor.js';
import { StreamBuffer } from '../io/stream-buffer.js';
import { SlabRecycler } from '../io/slab-recycler.js';
import { Limits } from '../limits.js';
import { type AnyCodec, type Column, type DecodeContext, type ValueOptions, DecodedColumn } from '../columns/column.js';
import { CodecCache } from '../columns/registry.js';
import { readCustomSerialization } from './custom-serialization.js';
import { decodeBinaryType } from '../types/binary-encoding.js';
import { printType } from '../types/printer.js';
import { decodeUtf8 } from '../io/utf8.js';
import type { Block, BlockInfo } from './block-types.js';
import { REVISION_BLOCK_INFO, REVISION_CUSTOM_SERIALIZATION, REVISION_OUT_OF_ORDER_BUCKETS } from './revisions.js';

export interface NativeReadOptions extends ValueOptions {
  /** 0 (default) = FORMAT Native layout; else the negotiated protocol revision. */
  revision?: number;
}

/** Read BlockInfo fields until field 0 [src/Core/BlockInfo.cpp]. */
export function readBlockInfo(c: Cursor, revision: number): BlockInfo {
  const info: BlockInfo = { isOverflows: false, bucketNum: -1 };
  for (;;) {
    const field = c.varuint('BlockInfo field number');
    if (field === 0) return info;
    if (field === 1) info.isOverflows = c.u8() !== 0;
    else if (field === 2) info.bucketNum = c.i32();
    else if (field === 3 && revision >= REVISION_OUT_OF_ORDER_BUCKETS) {
      const n = c.varuint('out-of-order bucket count');
      if (n > 1 << 20) throw new LimitError(`BlockInfo lists ${n} out-of-order buckets`);
      const buckets: number[] = [];
      for (let i = 0; i < n; i++) buckets.push(c.i32());
      info.outOfOrderBuckets = buckets;
    } else throw new DecodeError(`unknown BlockInfo field ${field}`);
  }
}

/** Annotate a decode error with the column it happened in (keeps the code). */
export function columnError(e: unknown, name: string, type: string): unknown {
  if (isNeedMore(e)) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const where = `column ${JSON.stringify(name)} (${type})`;
  if (e instanceof ChwireError) {
    const err = new (e.constructor as new (m: string, code?: string) => ChwireError)(`${where}: ${msg}`, e.code);
    if (err.code !== e.code) return new DecodeError(`${where}: ${msg}`, e.code, { cause: e });
    return err;
  }
  if (e instanceof RangeError) return new LimitError(`${where}: ${msg}`);
  return new DecodeError(`${where}: ${msg}`, 'CHWIRE_MALFORMED_DATA', { cause: e });
}

/**
 * A column's type name: a String of text, or — when a server profile forces
 * output_format_native_encode_types_in_binary_format=1 — ClickHouse's binary
 * type encoding written raw [DataTypesBinaryEncoding.cpp]. A text name is a
 * length followed by a letter; a binary encoding starts with a type code whose
 * next byte is a code, a count or a length (a letter only in rare cases, e.g.
 * binary FixedString(65..122), which this reading mistakes for text).
 */
function readTypeName(c: Cursor): string {
  const start = c.pos;
  c.varuint('column type length');
  if (c.pos >= c.end) c.need(1);
  const first = c.buf[c.pos]!;
  c.pos = start;
  if ((first >= 0x41 && first <= 0x5a) || (first >= 0x61 && first <= 0x7a)) {
    // Text names start with a letter; wait for the whole name (NEED_MORE) before judging.
    const bytes = c.stringBytes('column type');
    return decodeUtf8(bytes, 0, bytes.length);
  }
  return printType(decodeBinaryType(c));
}

interface PartialBlock {
  info?: BlockInfo;
  columnCount: number;
  rowCount: number;
  columns: Column[];
}

/**
 * Decodes one block from a cursor, resumably: on NEED_MORE the cursor is left
 * at the first unfinished column (header and finished columns are kept), so the
 * caller keeps only bytes from `c.pos` and calls `read` again with more.
 * Leaf decoders resume inside a column via the memo (strings). A retry is
 * skipped outright until the byte the last attempt wanted has arrived.
 */
export class BlockDecoder {
  private partial: PartialBlock | undefined;
  /** Absolute stream offset the last attempt needed. */
  wantAbs = 0;
  /** Absolute offset of the fixed-width body the last attempt waited for (-1: none). */
  alignAbs = -1;
  /** Where the last attempt expects its unfinished column to end (an estimate; -1: none). */
  expectAbs = -1;
  private readonly memo = new Map<number, unknown>();
  private readonly cache: CodecCache;

  constructor(
    private readonly revision: number,
    private readonly options: ValueOptions = {},
    cache?: CodecCache,
  ) {
    this.cache = cache ?? new CodecCache();
  }

  /** True when a block is partially read. */
  get inProgress(): boolean {
    return this.partial !== undefined;
  }

  /** True while the byte the last attempt needed lies at or beyond `absEnd`: retrying is pointless. */
  waiting(absEnd: number): boolean {
    return absEnd < this.wantAbs;
  }

  /** `base` = absolute stream offset of c.buf[0] (memo keys survive buffer moves). Throws NEED_MORE on partial input. */
  read(c: Cursor, base = 0): Block {
    const b = this.tryRead(c, base);
    if (!b) throw NEED_MORE;
    return b;
  }

  /**
   * As read(), but undefined (instead of a throw) while more bytes are needed: what was read
   * is kept, `c.pos` rewinds to the first byte not taken, wantAbs/alignAbs/expectAbs say what
   * is awaited. A fixed-width column's partial body is recognised without any throw.
   */
  tryRead(c: Cursor, base = 0): Block | undefined {
    if (this.waiting(base + c.end)) {
      c.wantPos = this.wantAbs - base;
      return undefined;
    }
    const ctx: DecodeContext = { revision: this.revision, memo: this.memo, base };
    c.alignPos = -1;
    c.expectPos = -1;
    this.expectAbs = -1;
    let p = this.partial;
    if (!p) {
      const start = c.pos;
      try {
        const info = this.revision >= REVISION_BLOCK_INFO ? readBlockInfo(c, this.revision) : undefined;
        const columnCount = c.varuint('column count');
        const rowCount = c.varuint('row count');
        if (columnCount > Limits.maxColumns) throw new LimitError(`block declares ${columnCount} columns (limit ${Limits.maxColumns})`);
        if (rowCount > Limits.maxRows) throw new LimitError(`block declares ${rowCount} rows (limit ${Limits.maxRows})`);
        p = { info, columnCount, rowCount, columns: [] };
        this.partial = p;
      } catch (e) {
        if (isNeedMore(e)) {
          this.wantAbs = base + c.wantPos;
          c.pos = start;
          return undefined;
        }
        throw e;
      }
    }
    while (p.columns.length < p.columnCount) {
      const colStart = c.pos;
      let name = '';
      let type = '';
      try {
        name = c.string('column name');
        type = readTypeName(c);
        let codec: AnyCodec = this.cache.get(type);
        if (this.revision >= REVISION_CUSTOM_SERIALIZATION && c.u8() !== 0) codec = readCustomSerialization(c, codec, this.revision);
        let data: unknown;
        if (p.rowCount > 0) {
          const prefix = codec.readPrefix(c, ctx);
          const rb = codec.rowBytes;
          if (rb !== undefined && c.pos + p.rowCount * rb > c.end) {
            // The body is not all here yet (the common case while a large block streams in).
            c.wantPos = c.pos + p.rowCount * rb;
            if (rb > 1) c.alignPos = c.pos;
            return this.needMore(c, base, colStart);
          }
          data = codec.decode(c, p.rowCount, prefix, ctx);
        } else data = codec.fromValues([]);
        p.columns.push(new DecodedColumn(name, codec, data, this.options));
      } catch (e) {
        if (isNeedMore(e)) return this.needMore(c, base, colStart);
        this.reset();
        throw columnError(e, name, type);
      }
      // Memo entries belong to the column just finished.
      if (this.memo.size) this.memo.clear();
    }
    this.partial = undefined;
    this.wantAbs = 0;
    this.expectAbs = -1;
    const block: Block = { rowCount: p.rowCount, columns: p.columns };
    if (p.info) block.info = p.info;
    return block;
  }

  /** Note what the column starting at `colStart` waits for and rewind to it. */
  private needMore(c: Cursor, base: number, colStart: number): undefined {
    this.wantAbs = base + c.wantPos;
    this.alignAbs = c.alignPos >= 0 ? base + c.alignPos : -1;
    this.expectAbs = c.expectPos >= 0 ? base + c.expectPos : -1;
    c.pos = colStart;
    return undefined;
  }

  reset(): void {
    this.partial = undefined;
    this.wantAbs = 0;
    this.expectAbs = -1;
    this.memo.clear();
  }
}

/**
 * Decode a whole Native stream (FORMAT Native: no BlockInfo; or protocol blocks
 * back to back with `revision`). Truncated input is an error.
 */
export function decodeNative(bytes: Uint8Array, options: NativeReadOptions = {}): Block[] {
  const decoder = new BlockDecoder(options.revision ?? 0, options);
  const c = new Cursor(bytes);
  const blocks: Block[] = [];
  while (c.pos < c.end) {
    try {
      blocks.push(decoder.read(c));
    } catch (e) {
      if (isNeedMore(e)) throw new DecodeError(`Native data is truncated: block ${blocks.length + 1} needs byte ${c.wantPos}, only ${bytes.length} present`, 'CHWIRE_TRUNCATED');
      throw e;
    }
  }
  return blocks;
}

/** Incremental Native stream decoding: push chunks of any size, get blocks as they complete. */
export class NativeStreamDecoder {
  private readonly input: StreamBuffer;
  private readonly decoder: BlockDecoder;
  private readonly recycler: SlabRecycler | undefined;
  /**
   * With `slab` given: blocks completed from now on are tracked, and the buffers
   * under them reused once each is release()d (blocks completed before stay intact).
   */
  recycleBlocks = false;
  /** Absolute stream offset just after the last complete block. */
  boundary = 0;

  /**
   * `alloc` may return uninitialised memory (e.g. Buffer.allocUnsafeSlow in Node).
   * `slab`: gather bytes in buffers of at least this size that can be recycled
   * (see recycleBlocks).
   */
  constructor(options: NativeReadOptions = {}, alloc?: (n: number) => Uint8Array, slab?: number) {
    if (slab) {
      this.recycler = new SlabRecycler(alloc ?? ((n) => new Uint8Array(n)), slab);
      this.input = new StreamBuffer(this.recycler.take, slab);
      this.input.onRetire = this.recycler.retire;
    } else this.input = new StreamBuffer(alloc);
    this.decoder = new BlockDecoder(options.revision ?? 0, options);
  }

  push(chunk: Uint8Array): Block[] {
    this.input.push(chunk);
    const out: Block[] = [];
    const buf = this.input;
    while (buf.available > 0 && !this.decoder.waiting(buf.absEnd)) {
      const c = buf.cursor();
      if (!this.decoder.inProgress) this.recycler?.blockStart(buf.buf);
      const block = this.decoder.tryRead(c, buf.base);
      if (!block) {
        buf.consumeTo(c.pos);
        buf.reserve(this.decoder.wantAbs, this.decoder.alignAbs, this.decoder.expectAbs);
        break;
      }
      this.recycler?.blockEnd(block, buf.buf, this.recycleBlocks);
      out.push(block);
      this.boundary = buf.base + c.pos;
      buf.consumeTo(c.pos);
    }
    return out;
  }

  /** The consumer is done with a block (see recycleBlocks). */
  release(block: Block): void {
    this.recycler?.release(block);
  }

  /** True when the input so far ends inside a block. */
  get incomplete(): boolean {
    return this.input.available > 0 || this.decoder.inProgress;
  }

  /** Call at end of input: throws if a block was cut short. */
  end(): void {
    if (this.incomplete)
      throw new DecodeError(`Native stream ended inside a block (${this.input.available} bytes unread)`, 'CHWIRE_TRUNCATED');
  }
}
