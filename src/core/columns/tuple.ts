// Tuple(T1, ..., Tn) and named Tuple(a T1, ...): each element column in turn.
// Prefixes of all elements come before any element body. An empty Tuple()
// writes one '0' byte per row (as the engine does).
import type { Cursor } from '../io/cursor.js';
import type { TypeNode } from '../types/type-node.js';
import { type Codec, type AnyCodec, type ValueOptions, type ValueReader, RowValueError, describeValue, hasField, mapArray, putOwn, readerOf } from './column.js';
import { skipZeroChars, writeZeroChars } from './nothing.js';

export interface TupleData {
  rows: number;
  elements: unknown[];
}

export function makeTupleCodec(node: TypeNode, typeName: string, elements: AnyCodec[], names: (string | undefined)[]): Codec<TupleData> {
  const named = names.length > 0 && names.every((n) => n !== undefined && n !== '');
  const k = elements.length;
  const nameSet = new Set(names);
  const extraKey = (key: string): string => `has key ${JSON.stringify(key)}, which is not an element of ${typeName} (${names.join(', ')})`;
  const rowValue = (d: TupleData, i: number, o: ValueOptions): unknown => {
    if (named) {
      const obj: Record<string, unknown> = {};
      for (let j = 0; j < k; j++) putOwn(obj, names[j]!, elements[j]!.get(d.elements[j], i, o));
      return obj;
    }
    const out = new Array<unknown>(k);
    for (let j = 0; j < k; j++) out[j] = elements[j]!.get(d.elements[j], i, o);
    return out;
  };
  const reader = (d: TupleData, o: ValueOptions): ValueReader => {
    const rs = elements.map((e, j) => readerOf(e, d.elements[j], o));
    if (named)
      return (i) => {
        const obj: Record<string, unknown> = {};
        for (let j = 0; j < k; j++) putOwn(obj, names[j]!, rs[j]!(i));
        return obj;
      };
    return (i) => {
      const out = new Array<unknown>(k);
      for (let j = 0; j < k; j++) out[j] = rs[j]!(i);
      return out;
    };
  };
  return {
    typeName,
    node,
    readPrefix: (c, ctx) => elements.map((e) => e.readPrefix(c, ctx)),
    decode(c: Cursor, rows, prefix, ctx) {
      if (k === 0) {
        skipZeroChars(c, rows);
        return { rows, elements: [] };
      }
      const ps = prefix as unknown[];
      return { rows, elements: elements.map((e, j) => e.decode(c, rows, ps[j], ctx)) };
    },
    length: (d) => d.rows,
    get: rowValue,
    reader,
    toArray(d, o) {
      return mapArray(d.rows, reader(d, o));
    },
    fromValues(values) {
      const n = values.length;
      const cols: unknown[][] = elements.map(() => new Array<unknown>(n));
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (Array.isArray(v)) {
          if (v.length !== k) throw new RowValueError(i, v, `tuple has ${v.length} elements, expected ${k}`);
          for (let j = 0; j < k; j++) cols[j]![i] = v[j];
        } else if (named && v !== null && typeof v === 'object') {
          for (let j = 0; j < k; j++) {
            const name = names[j]!;
            if (!hasField(v, name)) throw new RowValueError(i, v, `tuple element '${name}' is missing`);
            cols[j]![i] = (v as Record<string, unknown>)[name];
          }
          // A key that is no element would be dropped silently: refuse it, as insert() does for row keys.
          for (const key of Object.keys(v)) if (!nameSet.has(key)) throw new RowValueError(i, v, extraKey(key));
        } else throw new RowValueError(i, v, named ? 'not an array or object for a named tuple' : 'not an array for a tuple');
      }
      const out: unknown[] = [];
      for (let j = 0; j < k; j++) {
        try {
          out.push(elements[j]!.fromValues(cols[j]!));
        } catch (e) {
          if (e instanceof RowValueError) throw new RowValueError(e.row, values[e.row], `element ${names[j] ?? j + 1}: ${describeValue(e.value)} ${e.reason}`);
          throw e;
        }
      }
      return { rows: n, elements: out };
    },
    writePrefix(w, d, ctx) {
      for (let j = 0; j < k; j++) elements[j]!.writePrefix(w, d.elements[j], ctx);
    },
    encode(w, d, ctx) {
      if (k === 0) return writeZeroChars(w, d.rows);
      for (let j = 0; j < k; j++) elements[j]!.encode(w, d.elements[j], ctx);
    },
    defaultValue() {
      if (named) {
        const o: Record<string, unknown> = {};
        for (let j = 0; j < k; j++) o[names[j]!] = elements[j]!.defaultValue();
        return o;
      }
      return elements.map((e) => e.defaultValue());
    },
  };
}
