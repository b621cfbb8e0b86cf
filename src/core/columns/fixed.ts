// Shared machinery for fixed-width columns: the body is `rows × width` bytes,
// decoded zero-copy as a view; a TypedArray is made lazily (a view when the
// bytes are aligned, one copy otherwise).
import type { Cursor } from '../io/cursor.js';
import type { Writer } from '../io/writer.js';
import type { DecodeContext, EncodeContext } from './column.js';

export interface FixedData {
  /** rows × width bytes (may alias the input buffer). */
  bytes: Uint8Array;
  rows: number;
  /** Lazily created typed view or aligned copy of `bytes`. */
  typed?: ArrayLike<number | bigint>;
}

export type TypedCtor = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): ArrayLike<number | bigint>;
  new (length: number): ArrayLike<number | bigint>;
  BYTES_PER_ELEMENT: number;
};

/**
 * The body of a fixed-width codec: `rows × width` bytes read as one view. `rowBytes` lets the
 * block reader await a partial body by its size (Codec.rowBytes); both come from one width.
 */
export function fixedBody(width: number): { rowBytes: number; decode: (c: Cursor, rows: number) => FixedData } {
  return { rowBytes: width, decode: (c, rows) => readFixed(c, rows, width) };
}

export function readFixed(c: Cursor, rows: number, width: number): FixedData {
  if (width > 1) c.alignPos = c.pos;
  const n = c.needItems(rows, width);
  const bytes = c.buf.subarray(c.pos, c.pos + n);
  c.pos += n;
  return { bytes, rows };
}

/** The data as `ctor` elements: zero-copy when aligned, else copied once and cached. */
export function typedOf<T extends ArrayLike<number | bigint>>(d: FixedData, ctor: TypedCtor): T {
  if (d.typed) return d.typed as T;
  const { bytes } = d;
  const w = ctor.BYTES_PER_ELEMENT;
  let t: ArrayLike<number | bigint>;
  if (bytes.byteOffset % w === 0) t = new ctor(bytes.buffer, bytes.byteOffset, bytes.length / w);
  else {
    // Not bytes.slice(): on a Node Buffer (the TCP reader's slabs) that is a view, not a copy.
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    t = new ctor(copy.buffer, 0, bytes.length / w);
  }
  d.typed = t;
  return t as T;
}

export function writeFixed(w: Writer, d: FixedData, _ctx?: EncodeContext): void {
  w.raw(d.bytes, false);
}

export function fixedFromTyped(t: ArrayBufferView, rows: number): FixedData {
  return { bytes: new Uint8Array(t.buffer, t.byteOffset, t.byteLength), rows, typed: t as unknown as ArrayLike<number> };
}

export function unusedCtx(_ctx: DecodeContext): void {}
