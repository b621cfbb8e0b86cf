// Nullable(T): null map (1 byte per row, non-zero = NULL), then T for every row
// (NULL rows hold T's default).
import type { Cursor } from '../io/cursor.js';
import type { Writer } from '../io/writer.js';
import type { TypeNode } from '../types/type-node.js';
import { type Codec, type AnyCodec, RowValueError, readerOf } from './column.js';

export interface NullableData {
  nulls: Uint8Array;
  inner: unknown;
}

export function makeNullableCodec(node: TypeNode, inner: AnyCodec): Codec<NullableData> {
  return {
    typeName: `Nullable(${inner.typeName})`,
    node,
    readPrefix: (c, ctx) => inner.readPrefix(c, ctx),
    decode(c: Cursor, rows, prefix, ctx) {
      const nulls = c.bytes(rows);
      return { nulls, inner: inner.decode(c, rows, prefix, ctx) };
    },
    length: (d) => d.nulls.length,
    get: (d, i, o) => (d.nulls[i] ? null : inner.get(d.inner, i, o)),
    reader(d, o) {
      const { nulls } = d;
      const r = readerOf(inner, d.inner, o);
      return (i) => (nulls[i] ? null : r(i));
    },
    toArray(d, o) {
      const { nulls } = d;
      const n = nulls.length;
      const r = readerOf(inner, d.inner, o);
      const out = new Array<unknown>(n);
      for (let i = 0; i < n; i++) out[i] = nulls[i] ? null : r(i);
      return out;
    },
    fromValues(values) {
      const n = values.length;
      const nulls = new Uint8Array(n);
      const filled = new Array<unknown>(n);
      let dflt: unknown;
      let haveDefault = false;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v === null || v === undefined) {
          nulls[i] = 1;
          if (!haveDefault) {
            dflt = inner.defaultValue();
            haveDefault = true;
          }
          filled[i] = dflt;
        } else filled[i] = v;
      }
      try {
        return { nulls, inner: inner.fromValues(filled) };
      } catch (e) {
        if (e instanceof RowValueError) throw new RowValueError(e.row, values[e.row], e.reason);
        throw e;
      }
    },
    writePrefix: (w, d, ctx) => inner.writePrefix(w, d.inner, ctx),
    encode(w: Writer, d, ctx) {
      w.raw(d.nulls, false);
      inner.encode(w, d.inner, ctx);
    },
    defaultValue: () => null,
  };
}
