// Array(T): UInt64 cumulative end offsets per row, then all elements flattened.
import { DecodeError, LimitError } from '../errors.js';
import type { Cursor } from '../io/cursor.js';
import type { Writer } from '../io/writer.js';
import type { TypeNode } from '../types/type-node.js';
import { Limits } from '../limits.js';
import { type Codec, type AnyCodec, type ValueOptions, type ValueReader, RowValueError, describeValue, mapArray, readerOf } from './column.js';

export interface ArrayData {
  /** ends[i] = end offset of row i in the flattened elements. */
  ends: Uint32Array;
  inner: unknown;
}

/** Read rows UInt64 offsets; checks they are non-decreasing and below the element limit. */
export function readOffsets(c: Cursor, rows: number, what: string): Uint32Array {
  c.needItems(rows, 8);
  const ends = new Uint32Array(rows);
  const at = c.buf.byteOffset + c.pos;
  const max = Limits.maxArrayElements;
  let prev = 0;
  if (at % 4 === 0) {
    // Aligned: read the little-endian halves through a view (as typedOf does), not a DataView call each.
    const u = new Uint32Array(c.buf.buffer, at, rows * 2);
    for (let i = 0; i < rows; i++) {
      const lo = u[2 * i]!;
      if (u[2 * i + 1] !== 0 || lo > max || lo < prev) offsetError(what, i, prev, lo, u[2 * i + 1]!);
      ends[i] = prev = lo;
    }
  } else {
    const dv = c.view;
    for (let i = 0, p = c.pos; i < rows; i++, p += 8) {
      const lo = dv.getUint32(p, true);
      const hi = dv.getUint32(p + 4, true);
      if (hi !== 0 || lo > max || lo < prev) offsetError(what, i, prev, lo, hi);
      ends[i] = prev = lo;
    }
  }
  c.pos += rows * 8;
  return ends;
}

function offsetError(what: string, row: number, prev: number, lo: number, hi: number): never {
  if (hi !== 0 || lo > Limits.maxArrayElements) throw new LimitError(`${what} offset at row ${row} exceeds ${Limits.maxArrayElements} elements`);
  throw new DecodeError(`${what} offsets decrease at row ${row} (${prev} then ${lo})`);
}

export function writeOffsets(w: Writer, ends: Uint32Array): void {
  const n = ends.length;
  w.ensure(n * 8);
  const dv = w.slabView();
  let p = w.pos;
  for (let i = 0; i < n; i++, p += 8) {
    dv.setUint32(p, ends[i]!, true);
    dv.setUint32(p + 4, 0, true);
  }
  w.pos = p;
}

/** Flatten row values (arrays/iterables) into elements and end offsets. */
export function flattenRows(values: ArrayLike<unknown>, what: string): { ends: Uint32Array; flat: unknown[]; rowOf: (k: number) => number } {
  const n = values.length;
  const ends = new Uint32Array(n);
  // Arrays and typed arrays (the usual rows) are sized first, so the flat list is filled in place.
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))) total += (v as ArrayLike<unknown>).length;
  }
  const flat = new Array<unknown>(total);
  let p = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))) {
      const a = v as ArrayLike<unknown>;
      for (let k = 0; k < a.length; k++) flat[p++] = a[k];
    } else if (v != null && typeof v === 'object' && Symbol.iterator in v && typeof v !== 'string') {
      for (const x of v as Iterable<unknown>) flat[p++] = x;
    } else throw new RowValueError(i, v, `not an array for ${what}`);
    ends[i] = p;
  }
  // The row of flat element k (for error messages only): the first row whose end is beyond k.
  const rowOf = (k: number): number => {
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ends[mid]! > k) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  return { ends, flat, rowOf };
}

export function makeArrayCodec(node: TypeNode, inner: AnyCodec): Codec<ArrayData> {
  const typeName = `Array(${inner.typeName})`;
  /** Rows as arrays (or, with arrays: 'typed', views of a fixed-width inner column). */
  const reader = (d: ArrayData, o: ValueOptions): ValueReader => {
    const { ends } = d;
    if (o.arrays === 'typed') {
      const all = inner.toArray(d.inner, o);
      if (ArrayBuffer.isView(all)) {
        const t = all as unknown as Uint8Array;
        return (i) => t.subarray(i === 0 ? 0 : ends[i - 1]!, ends[i]!);
      }
    }
    const r = readerOf(inner, d.inner, o);
    return (i) => {
      const s = i === 0 ? 0 : ends[i - 1]!;
      const e = ends[i]!;
      const out = new Array<unknown>(e - s);
      for (let k = s; k < e; k++) out[k - s] = r(k);
      return out;
    };
  };
  // get() with arrays: 'typed' looks at the inner column's values once per data and options.
  const innerValues = new WeakMap<ArrayData, { o: ValueOptions; all: ArrayLike<unknown> }>();
  const rowValue = (d: ArrayData, i: number, o: ValueOptions): unknown => {
    const s = i === 0 ? 0 : d.ends[i - 1]!;
    const e = d.ends[i]!;
    if (o.arrays === 'typed') {
      let c = innerValues.get(d);
      if (c?.o !== o) innerValues.set(d, (c = { o, all: inner.toArray(d.inner, o) }));
      if (ArrayBuffer.isView(c.all)) return (c.all as unknown as Uint8Array).subarray(s, e);
      return Array.prototype.slice.call(c.all, s, e);
    }
    const out = new Array<unknown>(e - s);
    for (let k = s; k < e; k++) out[k - s] = inner.get(d.inner, k, o);
    return out;
  };
  return {
    typeName,
    node,
    readPrefix: (c, ctx) => inner.readPrefix(c, ctx),
    decode(c, rows, prefix, ctx) {
      const ends = readOffsets(c, rows, typeName);
      const n = rows ? ends[rows - 1]! : 0;
      return { ends, inner: inner.decode(c, n, prefix, ctx) };
    },
    length: (d) => d.ends.length,
    get: rowValue,
    reader,
    toArray(d, o) {
      return mapArray(d.ends.length, reader(d, o));
    },
    fromValues(values) {
      const { ends, flat, rowOf } = flattenRows(values, typeName);
      try {
        return { ends, inner: inner.fromValues(flat) };
      } catch (e) {
        if (e instanceof RowValueError) {
          const r = rowOf(e.row);
          throw new RowValueError(r, values[r], `element ${e.row - (r ? ends[r - 1]! : 0)}: ${describeValue(e.value)} ${e.reason}`);
        }
        throw e;
      }
    },
    writePrefix: (w, d, ctx) => inner.writePrefix(w, d.inner, ctx),
    encode(w, d, ctx) {
      writeOffsets(w, d.ends);
      inner.encode(w, d.inner, ctx);
    },
    defaultValue: () => [],
  };
}
